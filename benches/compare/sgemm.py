"""sgemm rate of the system OpenBLAS that wmf links (cblas_sgemm via ctypes): one JSON line."""
import ctypes
import json
import sys
import time

import numpy as np

lib = ctypes.CDLL("libopenblas.so.0")
threads = int(sys.argv[1])
size = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
lib.openblas_set_num_threads(threads)
a = np.random.default_rng(0).random((size, size), dtype=np.float32)
b = np.random.default_rng(1).random((size, size), dtype=np.float32)
c = np.zeros((size, size), dtype=np.float32)
p = lambda x: x.ctypes.data_as(ctypes.c_void_p)
f = ctypes.c_float
best = float("inf")
for _ in range(5):
    t = time.perf_counter()
    # RowMajor=101, NoTrans=111
    lib.cblas_sgemm(101, 111, 111, size, size, size, f(1.0), p(a), size, p(b), size, f(0.0), p(c), size)
    best = min(best, time.perf_counter() - t)
lib.openblas_get_corename.restype = ctypes.c_char_p
print(json.dumps({"threads": threads, "size": size, "gflops": 2 * size**3 / best / 1e9,
                  "core": lib.openblas_get_corename().decode()}))
