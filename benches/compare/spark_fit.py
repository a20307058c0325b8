"""Trains Spark MLlib's ALS (pyspark.ml.recommendation.ALS) on a wmf train.csv
and reports timings (one JSON line on stdout); see README.md here.

Objective. For a stored value r > 0 Spark's implicit ALS uses preference 1
and confidence 1 + alpha |r| (unobserved cells: preference 0, weight 1), so
its `alpha` is wmf's `--alpha` with `--confidence linear --c0 1` (all values
in the harness data are positive integers). Spark always regularises a row
with regParam * n_row (n_row: the row's positive ratings; "ALS-WR"); the
nearest wmf setting is `--reg-scaling 1`, lambda (1 + n_row). The rows are
solved exactly (normal equations in f64, LAPACK dppsv), like wmf's
`--solver cholesky`.

Timing. Spark reports no per-iteration times. One JVM (local[threads])
fits a warm-up model with maxIter = 1 (JIT, caches; reported, not used),
then per repetition a model with maxIter = 1 and one with maxIter = N:
s/iter = (fit(N) - fit(1)) / (N - 1), which leaves out the per-fit set-up
(rating blocks, shuffles) as well as JVM start-up and data loading (those
are reported separately). `fit_s` is the whole fit(N).
"""
import argparse
import json
import os
import resource
import sys
import time

T0 = time.perf_counter()


def proc_cpu_s(pid):
    """User + system CPU seconds of a process (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-csv", required=True, help="user,item,value lines, integer (dense) ids")
    ap.add_argument("-k", type=int, required=True)
    ap.add_argument("--iterations", type=int, required=True, help="N of the maxIter = N fit (>= 2)")
    ap.add_argument("--lambda", dest="lam", type=float, required=True, help="Spark's regParam")
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--threads", type=int, required=True, help="local[threads]")
    ap.add_argument("--reps", type=int, default=1, help="fit(1), fit(N) pairs in this JVM")
    ap.add_argument("--blocks", type=int, default=10, help="numUserBlocks = numItemBlocks (Spark's default: 10)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--netlib", choices=["native", "java"], default="native",
                    help="native: netlib's JNI BLAS/LAPACK on the system libblas.so.3 when it loads (Spark's "
                         "default); java: make that load fail, so Spark uses its pure-Java BLAS")
    ap.add_argument("--out-dir", help="write user_factors.npy / item_factors.npy (rows = dense ids)")
    a = ap.parse_args()
    if a.iterations < 2:
        ap.error("--iterations must be at least 2")
    # Native BLAS, if netlib finds one (libblas.so.3), must not add threads of its own.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    import numpy as np
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import SparkSession

    t = time.perf_counter()
    spark = (SparkSession.builder.master(f"local[{a.threads}]").appName("wmf-compare-spark")
             .config("spark.driver.memory", a.driver_memory)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(a.blocks))
             .config("spark.driver.extraJavaOptions",
                     "-Ddev.ludovic.netlib.blas.nativeLib=none.so -Ddev.ludovic.netlib.lapack.nativeLib=none.so"
                     if a.netlib == "java" else "")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    jvm = spark._jvm
    pid = int(jvm.java.lang.ProcessHandle.current().pid())
    jvm_start_s = time.perf_counter() - t

    def impl(expr):
        try:
            return str(expr().getClass().getName())
        except Exception as e:  # noqa: BLE001 - only a label for the report
            return f"? ({type(e).__name__})"

    blas = impl(lambda: jvm.dev.ludovic.netlib.blas.BLAS.getInstance())
    native_blas = impl(lambda: jvm.dev.ludovic.netlib.blas.NativeBLAS.getInstance())
    lapack = impl(lambda: jvm.dev.ludovic.netlib.lapack.LAPACK.getInstance())

    t = time.perf_counter()
    ratings = (spark.read.csv(a.train_csv, schema="user INT, item INT, rating FLOAT")
               .repartition(a.threads).cache())
    nnz = ratings.count()
    load_s = time.perf_counter() - t

    def fit(iters):
        als = ALS(rank=a.k, maxIter=iters, regParam=a.lam, alpha=a.alpha, implicitPrefs=True,
                  userCol="user", itemCol="item", ratingCol="rating", seed=a.seed,
                  numUserBlocks=a.blocks, numItemBlocks=a.blocks, nonnegative=False)
        c0, w0 = proc_cpu_s(pid), time.perf_counter()
        model = als.fit(ratings)  # ALS.train materialises both factor RDDs before returning
        wall = time.perf_counter() - w0
        return model, wall, (proc_cpu_s(pid) - c0) / wall

    _, first_fit_s, _ = fit(1)
    iter_s, fit1_s, fitn_s, cpu_use = [], [], [], []
    model = None
    for _ in range(a.reps):
        _, w1, _ = fit(1)
        model, wn, util = fit(a.iterations)
        fit1_s.append(w1)
        fitn_s.append(wn)
        iter_s.append((wn - w1) / (a.iterations - 1))
        cpu_use.append(util)

    if a.out_dir:
        os.makedirs(a.out_dir, exist_ok=True)
        ids = ratings.selectExpr("max(user)", "max(item)").first()
        for name, frame, rows in (("user", model.userFactors, ids[0] + 1), ("item", model.itemFactors, ids[1] + 1)):
            dense = np.zeros((rows, a.k), dtype=np.float32)  # a row Spark never saw stays zero
            for r in frame.collect():
                dense[r["id"]] = r["features"]
            np.save(os.path.join(a.out_dir, f"{name}_factors.npy"), dense)

    jvm_rss = proc_peak_rss_mib(pid)
    versions = {"spark": spark.version, "java": str(jvm.java.lang.System.getProperty("java.version")),
                "scala": str(jvm.scala.util.Properties.versionNumberString())}
    spark.stop()
    py_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "iter_s": iter_s, "fit_s": fitn_s, "fit1_s": fit1_s, "first_fit_s": first_fit_s,
        "cpu_use": cpu_use, "jvm_start_s": jvm_start_s, "load_s": load_s, "nnz": nnz,
        "jvm_peak_rss_mib": jvm_rss, "python_peak_rss_mib": py_rss,
        "total_s": time.perf_counter() - T0, "blocks": a.blocks,
        "blas": blas, "native_blas": native_blas, "lapack": lapack, "versions": versions,
    }))


if __name__ == "__main__":
    main()
