"""Trains implicit 0.7.3's CPU ALS on a wmf train.npy and reports timings (one JSON line).

Confidence: implicit uses the stored value as the confidence C itself (and
the unobserved weight 1), so we store C = 1 + alpha * r and set its own
alpha to 1: the same objective as `wmf train --confidence linear --alpha a
--c0 1`.
"""
import argparse
import json
import os
import time

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-npy", required=True)
    ap.add_argument("-k", type=int, required=True)
    ap.add_argument("--iterations", type=int, required=True)
    ap.add_argument("--lambda", dest="lam", type=float, required=True)
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--solver", choices=["cg", "cholesky"], required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out-dir")
    ap.add_argument("--recommend", action="store_true")
    a = ap.parse_args()
    t = np.load(a.train_npy)
    users = t[:, 0].astype(np.int32)
    items = t[:, 1].astype(np.int32)
    m, n = int(users.max()) + 1, int(items.max()) + 1
    conf = (1.0 + a.alpha * t[:, 2]).astype(np.float32)
    cui = sp.csr_matrix((conf, (users, items)), shape=(m, n), dtype=np.float32)
    del t, users, items, conf
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=a.k,
        regularization=a.lam,
        alpha=1.0,
        iterations=a.iterations,
        use_cg=(a.solver == "cg"),
        num_threads=a.threads,
        random_state=a.seed,
        calculate_training_loss=False,
    )
    iters = []
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        model.fit(cui, show_progress=False, callback=lambda it, el, loss: iters.append(el))
        fit_s = time.perf_counter() - start
        rec_s, rec_all = None, None
        if a.recommend:
            uid = np.arange(m)
            rec_all = []
            for _ in range(3):
                start = time.perf_counter()
                model.recommend(uid, cui, N=10, filter_already_liked_items=True)
                rec_all.append(time.perf_counter() - start)
            rec_s = sorted(rec_all)[1]
    if a.out_dir:
        os.makedirs(a.out_dir, exist_ok=True)
        np.save(os.path.join(a.out_dir, "user_factors.npy"), np.ascontiguousarray(model.user_factors, dtype=np.float32))
        np.save(os.path.join(a.out_dir, "item_factors.npy"), np.ascontiguousarray(model.item_factors, dtype=np.float32))
    print(json.dumps({"iter_s": iters, "fit_s": fit_s, "recommend_s": rec_s, "recommend_all_s": rec_all}))


if __name__ == "__main__":
    main()
