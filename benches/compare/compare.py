"""wmf vs implicit 0.7.3 (CPU ALS), and with --spark vs Spark MLlib's ALS, side by
side, interleaved, on one machine.

Every model's factors are scored by ONE code path, `wmf eval-factors`
(precision@10, nDCG@10 on a shared per-user 20% holdout). See README.md.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = {  # name: (users, items, interactions before the split)
    "tiny": (3000, 1500, 60_000),
    "50k": (50_000, 20_000, 2_000_000),
    "ml20m": (138_000, 27_000, 20_000_000),
}
NATIVE_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def env_for(blas, extra=None):
    env = dict(os.environ)
    if blas == "native":  # unset both, only for this benchmark command
        for v in NATIVE_ENV:
            env.pop(v, None)
    env.update(extra or {})
    return env


def timed(cmd, env):
    """Runs cmd under /usr/bin/time; returns (stdout, peak_rss_MiB, cpu_s, wall_s)."""
    full = ["/usr/bin/time", "-f", "@@TIME %M %U %S %e"] + [str(c) for c in cmd]
    r = subprocess.run(full, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(full)} failed:\n{r.stderr[-3000:]}")
    line = [l for l in r.stderr.splitlines() if l.startswith("@@TIME")][-1].split()
    return r.stdout, int(line[1]) / 1024, float(line[2]) + float(line[3]), float(line[4])


def generate(args, name):
    m, n, nnz = SIZES[name]
    d = os.path.join(args.out, "data", name)
    if not os.path.exists(os.path.join(d, "train.npy")):
        log(f"generating {name}: {m} x {n}, {nnz} interactions")
        subprocess.run([args.wmf, "generate-split", "--users", str(m), "--items", str(n),
                        "--interactions", str(nnz), "-o", d], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(d, "train.csv")) as f:
        train_nnz = sum(1 for _ in f)
    return d, train_nnz


def evaluate(args, data_dir, fac_dir, ids):
    cmd = [args.wmf, "eval-factors", "--user-factors", os.path.join(fac_dir, "user_factors.npy"),
           "--item-factors", os.path.join(fac_dir, "item_factors.npy"),
           "--train", os.path.join(data_dir, "train.csv"), "--test", os.path.join(data_dir, "test.csv"),
           "--at", "10", "--json"]
    if ids:
        cmd += ["--user-ids", os.path.join(fac_dir, "user_ids.txt"), "--item-ids", os.path.join(fac_dir, "item_ids.txt")]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def run_wmf(args, data_dir, k, solver, iters, threads, blas, tag, do_eval, do_rec=False, extra=()):
    if solver == "cg-bf16":
        # CG whose passes read the fixed side's rows in bfloat16
        solver, extra = "cg", (*extra, "--cg-rows", "bf16")
    model = os.path.join(args.out, "models", f"{tag}.wmf")
    os.makedirs(os.path.dirname(model), exist_ok=True)
    cmd = [args.wmf, "train", os.path.join(data_dir, "train.csv"), "-k", k, "--iterations", iters,
           "--lambda", args.lam, "--alpha", args.alpha, "--solver", solver, "--threads", threads,
           "--json", "-o", model, "--loss-every", iters, *extra]
    out, rss, cpu, wall = timed(cmd, env_for(blas))
    its = [json.loads(l) for l in out.splitlines() if l.startswith("{") and '"iteration"' in l]
    res = {"lib": "wmf", "iter_s": [r["solve_s"] for r in its], "fit_s": its[-1]["elapsed_s"],
           "rss_mib": rss, "cpu_s": cpu, "wall_s": wall}
    if do_eval:
        fac = os.path.join(args.out, "factors", tag)
        subprocess.run([args.wmf, "export", "-m", model, "--to", "npy", "-o", fac], check=True,
                       capture_output=True)
        res["eval"] = evaluate(args, data_dir, fac, ids=True)
    if do_rec:
        # In process (scoring, seen-item exclusion, top 10; wmf's --timings) like
        # implicit's recommend(); the whole process (load model + seen file, write
        # text) as well. Three runs each, medians.
        inproc, whole = [], []
        for _ in range(3):
            r = subprocess.run(["/usr/bin/time", "-f", "@@TIME %e", args.wmf, "recommend", "-m", model, "--all",
                                "-n", "10", "--seen", os.path.join(data_dir, "train.csv"), "--timings"],
                               env=env_for(blas), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
            lines = r.stderr.splitlines()
            inproc.append(json.loads([l for l in lines if l.startswith("{")][-1])["recommend_s"])
            whole.append(float([l for l in lines if l.startswith("@@TIME")][-1].split()[1]))
        res["recommend_s"] = statistics.median(inproc)
        res["recommend_all_s"] = inproc
        res["recommend_process_s"] = statistics.median(whole)
    return res


def run_implicit(args, data_dir, k, solver, iters, threads, blas, tag, do_eval, do_rec=False):
    solver = "cg" if solver == "cg-bf16" else solver  # implicit's CG beside wmf's cg-bf16
    fac = os.path.join(args.out, "factors", tag)
    cmd = [sys.executable, os.path.join(HERE, "implicit_fit.py"), "--train-npy", os.path.join(data_dir, "train.npy"),
           "-k", k, "--iterations", iters, "--lambda", args.lam, "--alpha", args.alpha, "--solver", solver,
           "--threads", threads]
    if do_eval:
        cmd += ["--out-dir", fac]
    if do_rec:
        cmd += ["--recommend"]
    out, rss, cpu, wall = timed(cmd, env_for(blas, {"OPENBLAS_NUM_THREADS": "1"}))
    r = json.loads(out.strip().splitlines()[-1])
    res = {"lib": "implicit", "iter_s": r["iter_s"], "fit_s": r["fit_s"], "rss_mib": rss, "cpu_s": cpu,
           "wall_s": wall}
    if r.get("recommend_s") is not None:
        res["recommend_s"] = r["recommend_s"]
        res["recommend_all_s"] = r["recommend_all_s"]
    if do_eval:
        res["eval"] = evaluate(args, data_dir, fac, ids=False)
    return res


def run_spark(args, data_dir, k, iters, threads, tag, do_eval):
    """One JVM: a warm-up fit(1), then fit(1) and fit(iters); see spark_fit.py."""
    fac = os.path.join(args.out, "factors", tag)
    cmd = [sys.executable, os.path.join(HERE, "spark_fit.py"), "--train-csv", os.path.join(data_dir, "train.csv"),
           "-k", k, "--iterations", iters, "--lambda", args.lam, "--alpha", args.alpha, "--threads", threads,
           "--blocks", args.spark_blocks, "--driver-memory", args.spark_driver_memory]
    if do_eval:
        cmd += ["--out-dir", fac]
    out, _, _, wall = timed(cmd, env_for("haswell", {"OPENBLAS_NUM_THREADS": "1", "SPARK_LOCAL_IP": "127.0.0.1"}))
    r = json.loads(out.strip().splitlines()[-1])
    res = {"lib": "spark", "iter_s": r["iter_s"], "fit_s": r["fit_s"][0], "util": r["cpu_use"][0],
           "cpu_s": r["cpu_use"][0] * r["fit_s"][0],  # the JVM during fit(N)
           "rss_mib": r["jvm_peak_rss_mib"] + r["python_peak_rss_mib"], "wall_s": wall, "spark": r}
    if do_eval:
        res["eval"] = evaluate(args, data_dir, fac, ids=False)
    return res


def spark_rows(args, size, data_dir):
    """wmf (Cholesky and CG, frequency-scaled lambda as Spark's) vs Spark, interleaved."""
    rows, raw = [], []
    iters = args.spark_iterations or args.iterations
    for k in [int(x) for x in args.spark_k.split(",")]:
        runs = {"cholesky": [], "cg": [], "spark": []}
        for rep in range(args.spark_reps):
            for name in ("cholesky", "cg", "spark"):
                tag = f"{size}-k{k}-{name}-vs-spark-{rep}"
                t0 = time.time()
                if name == "spark":
                    try:
                        r = run_spark(args, data_dir, k, iters, args.threads, tag, rep == 0)
                    except RuntimeError as e:
                        # One failed JVM (it happens: a long lineage's stack
                        # overflow) costs its repetition, not the whole run.
                        log(f"{tag}: Spark failed, repetition left out: {str(e).splitlines()[0][:200]}")
                        raw.append(dict(size=size, k=k, solver=name, rep=rep, iterations=iters, failed=True))
                        continue
                else:
                    r = run_wmf(args, data_dir, k, name, iters, args.threads, "haswell", tag, rep == 0,
                                extra=("--reg-scaling", "1"))
                r.update(size=size, k=k, solver=name, rep=rep, iterations=iters)
                raw.append(r)
                runs[name].append(r)
                log(f"{tag}: median {statistics.median(r['iter_s']):.3f} s/iter, {time.time() - t0:.0f} s wall"
                    + (f", nDCG@10 {r['eval']['metrics']['ndcg']:.4f}" if "eval" in r else ""))
        if not runs["spark"]:
            log(f"{size} k = {k}: every Spark repetition failed; no row")
            continue
        sums = {name: summary(v) for name, v in runs.items()}
        sp = [r["spark"] for r in runs["spark"]]
        rows.append(dict(size=size, k=k, iters=iters, reps=len(runs["spark"]), vs_spark=True, **sums,
                         spark_info={
                             "jvm_start_s": statistics.median(x["jvm_start_s"] for x in sp),
                             "load_s": statistics.median(x["load_s"] for x in sp),
                             "first_fit_s": statistics.median(x["first_fit_s"] for x in sp),
                             "fit1_s": statistics.median(y for x in sp for y in x["fit1_s"]),
                             "blocks": sp[0]["blocks"], "blas": sp[0]["blas"], "lapack": sp[0]["lapack"],
                             "versions": sp[0]["versions"]}))
    return rows, raw


def flops_per_iteration(solver, k, m, n, nnz, cg_steps=3):
    """Useful flops of one ALS iteration (both halves), as in BENCHMARKS.md."""
    gram = 2 * (m + n) * k * k  # Gramians, full gemm
    if solver == "cholesky":
        # rank updates n_u k^2 per row (syrk, both halves: 2 nnz k^2), factorisation k^3/3, two solves 2k^2
        return 2 * nnz * k * k + (m + n) * (k ** 3 / 3 + 2 * k * k) + gram
    # CG: (steps + 1) applications of A (gemv 2k^2 + 4 n_u k each), per row, both halves
    return (cg_steps + 1) * ((m + n) * 2 * k * k + 2 * nnz * 4 * k) + gram


def wmf_cholesky_flops(k, lens_u, lens_i, cutoff=None):
    """Flops wmf's Cholesky executes in one iteration (both halves), with the
    row lengths (numpy arrays of cells per user and per item): rows of at most
    `cutoff` (default k) cells through the low-rank solve (V V^T n^2 k, its
    factor n^3/3 and solves 2 n^2, V b and V^T w 4 n k, L^-T k^2), longer rows
    through the normal equations as in flops_per_iteration; per half the
    whitening (trsm, n_fixed k^2) and the factor of G0 + lambda I (k^3/3);
    Gramians (m + n) k (k + 1) (syrk: the lower triangle). Empty rows cost
    nothing."""
    cutoff = k if cutoff is None else cutoff
    m, n = len(lens_u), len(lens_i)
    total = 1.0 * (m + n) * k * (k + 1)
    for lens, n_fixed in ((lens_u, n), (lens_i, m)):
        lens = lens.astype("float64")
        short, long_ = lens[(lens > 0) & (lens <= cutoff)], lens[lens > cutoff]
        total += n_fixed * k * k + k ** 3 / 3
        total += float((short * short * k + short ** 3 / 3 + 2 * short * short + 4 * short * k + k * k).sum())
        total += float((long_ * k * k + k ** 3 / 3 + 2 * k * k).sum())
    return total


def row_lengths(data_dir):
    """Cells per user and per item of train.npy (rows user, item, value)."""
    import numpy as np
    a = np.load(os.path.join(data_dir, "train.npy"))
    return np.bincount(a[:, 0].astype(np.int64)), np.bincount(a[:, 1].astype(np.int64))


def wmf_blas(args, blas):
    """`wmf info --json`'s BLAS report under this BLAS setting: the kernels wmf
    runs (it forces wider ones when OpenBLAS fell back to kernels without AVX2
    on a CPU it does not know; wmf_host::blas)."""
    r = subprocess.run([args.wmf, "info", "--json"], env=env_for(blas), capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["blas"]


def sgemm_rates(args):
    """The sgemm ceiling of each BLAS setting, measured with the kernels wmf
    runs under it (OPENBLAS_CORETYPE as wmf sets it for itself, if it does)."""
    rates = {}
    for blas in args.blas:
        info = wmf_blas(args, blas)
        extra = {"OPENBLAS_CORETYPE": info["coretype_env"]} if info.get("retargeted_from") else {}
        if extra:
            log(f"wmf under {blas}: OpenBLAS chose {info['retargeted_from']}, wmf runs {info['core']}")
        for t in (1, 2):
            r = subprocess.run([sys.executable, os.path.join(HERE, "sgemm.py"), str(t)], env=env_for(blas, extra),
                               capture_output=True, text=True, check=True)
            rates[(blas, t)] = json.loads(r.stdout)
            log(f"sgemm {blas} {t} thread(s): {rates[(blas, t)]['gflops']:.1f} GFLOP/s ({rates[(blas, t)]['core']})")
    return rates


def summary(runs):
    its = [x for r in runs for x in r["iter_s"]]
    return {
        "med": statistics.median(its), "lo": min(its), "hi": max(its), "n": len(its),
        "fit": statistics.median(r["fit_s"] for r in runs),
        "rss": max(r["rss_mib"] for r in runs),
        "cpu": statistics.median(r["cpu_s"] for r in runs),
        "util": statistics.median(r["util"] if "util" in r else r["cpu_s"] / r["wall_s"] for r in runs),
        "eval": next((r["eval"] for r in runs if "eval" in r), None),
        "rec": next((r["recommend_s"] for r in runs if "recommend_s" in r), None),
        "rec_all": next((r["recommend_all_s"] for r in runs if "recommend_all_s" in r), None),
        "rec_process": next((r["recommend_process_s"] for r in runs if "recommend_process_s" in r), None),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--wmf", required=True)
    ap.add_argument("--sizes", default="50k")
    ap.add_argument("--k", default="64,128")
    ap.add_argument("--solvers", default="cg,cholesky",
                    help="cg, cholesky, cg-bf16 (wmf --cg-rows bf16 beside implicit's CG)")
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--big-iterations", type=int, default=3, help="iterations at the ml20m size")
    ap.add_argument("--reps", type=int, default=2, help="interleaved repetitions per configuration")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.1)
    ap.add_argument("--alpha", type=float, default=2.0)
    ap.add_argument("--blas", default="haswell,native",
                    help="haswell: the environment as it is; native: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
    ap.add_argument("--native-iterations", type=int, default=5, help="iterations of the native-BLAS Cholesky runs")
    ap.add_argument("--native-big", action="store_true",
                    help="also run the native-BLAS Cholesky at the ml20m size (--big-iterations, one repetition)")
    ap.add_argument("--scaling", action="store_true", help="also time wmf with 1 thread (1 -> 2 thread speedup)")
    ap.add_argument("--quick", action="store_true", help="tiny size, 3 iterations, 1 rep (a smoke test)")
    ap.add_argument("--spark", action="store_true",
                    help="also compare with Spark MLlib ALS (local[threads]) on the --spark-sizes among --sizes")
    ap.add_argument("--only", choices=["all", "spark"], default="all",
                    help="spark: only the wmf vs Spark runs (implies --spark; no implicit, no sgemm)")
    ap.add_argument("--spark-sizes", default="tiny,50k", help="sizes where Spark runs (it is slow)")
    ap.add_argument("--spark-k", default="64")
    ap.add_argument("--spark-iterations", type=int, default=0, help="N of Spark's fit(N) and wmf's runs beside it (0: --iterations)")
    ap.add_argument("--spark-reps", type=int, default=3, help="interleaved wmf, wmf, Spark repetitions (one JVM each)")
    ap.add_argument("--spark-blocks", type=int, default=10, help="Spark ALS numUserBlocks = numItemBlocks")
    ap.add_argument("--spark-driver-memory", default="8g")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.iterations, args.reps, args.native_iterations = "tiny", 3, 1, 2
        args.spark_reps = 1
    if args.only == "spark":
        args.spark = True
    args.blas = args.blas.split(",")
    os.makedirs(args.out, exist_ok=True)
    env0 = {v: os.environ.get(v) for v in NATIVE_ENV}
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "?")
    log(f"machine: {model}, {os.cpu_count()} CPUs, {platform.platform()}; env {env0}")
    rates = sgemm_rates(args) if args.only == "all" else {}
    rows, raw = [], []
    for size in args.sizes.split(","):
        data_dir, nnz = generate(args, size)
        m, n, _ = SIZES[size]
        lens = row_lengths(data_dir) if "cholesky" in args.solvers.split(",") else None
        big = size == "ml20m"
        if args.spark and size in args.spark_sizes.split(","):
            r, w = spark_rows(args, size, data_dir)
            rows += r
            raw += w
            with open(os.path.join(args.out, "results.json"), "w") as f:
                json.dump({"machine": model, "rows": rows, "raw": raw}, f, indent=1)
        for k in ([] if args.only == "spark" else [int(x) for x in args.k.split(",")]):
            for solver in args.solvers.split(","):
                for blas in args.blas:
                    if blas != "haswell" and (solver != "cholesky" or (big and not args.native_big)):
                        continue  # the native-BLAS variant matters for the BLAS-heavy path only
                    iters = args.big_iterations if big else (args.iterations if blas == "haswell" else args.native_iterations)
                    reps = 1 if big or blas != "haswell" or (solver == "cholesky" and k >= 128) else args.reps
                    runs = {"wmf": [], "implicit": []}
                    for rep in range(reps):
                        for lib, fn in (("wmf", run_wmf), ("implicit", run_implicit)):
                            tag = f"{size}-k{k}-{solver}-{blas}-{lib}-{rep}"
                            do_eval = rep == 0 and blas == "haswell"
                            do_rec = rep == 0 and blas == "haswell" and solver == "cg" and k == 64 and not big
                            t0 = time.time()
                            r = fn(args, data_dir, k, solver, iters, args.threads, blas, tag, do_eval, do_rec)
                            r.update(size=size, k=k, solver=solver, blas=blas, rep=rep, iterations=iters)
                            raw.append(r)
                            runs[lib].append(r)
                            log(f"{tag}: median {statistics.median(r['iter_s']):.3f} s/iter, "
                                f"{time.time() - t0:.0f} s wall" + (f", nDCG@10 {r['eval']['metrics']['ndcg']:.4f}" if 'eval' in r else ""))
                    ws, is_ = summary(runs["wmf"]), summary(runs["implicit"])
                    fl = flops_per_iteration(solver, k, m, n, nnz)
                    # wmf's Cholesky solves rows shorter than k by the low-rank
                    # path: its GFLOP/s counts the flops it executes.
                    wfl = wmf_cholesky_flops(k, *lens) if solver == "cholesky" else fl
                    # Each repetition's wmf run beside the implicit run right
                    # after it: on a machine whose speed drifts over minutes the
                    # ratio of such neighbours moves less than the ratio of the
                    # pooled medians, where one library's repetition may have
                    # fallen into a slow phase the other's missed.
                    paired = [statistics.median(w["iter_s"]) / statistics.median(i["iter_s"])
                              for w, i in zip(runs["wmf"], runs["implicit"])]
                    rows.append(dict(size=size, k=k, solver=solver, blas=blas, iters=iters, reps=reps,
                                     wmf=ws, implicit=is_, ratio=ws["med"] / is_["med"], flops=fl,
                                     wmf_flops=wfl, paired=paired))
                    with open(os.path.join(args.out, "results.json"), "w") as f:
                        json.dump({"machine": model, "rows": rows, "raw": raw,
                                   "sgemm": {f"{b}-{t}": v for (b, t), v in rates.items()}}, f, indent=1)
        if args.scaling and not big and args.only == "all":
            for solver in args.solvers.split(","):
                t = {}
                for th in (1, 2, 1, 2, 1, 2):
                    r = run_wmf(args, data_dir, 64, solver, 5, th, "haswell", f"scale-{size}-{solver}-{th}", False)
                    t.setdefault(th, []).extend(r["iter_s"])
                s = statistics.median(t[1]) / statistics.median(t[2])
                rows.append(dict(size=size, k=64, solver=solver, scaling=s, t1=statistics.median(t[1]),
                                 t2=statistics.median(t[2]), best=min(t[1]) / min(t[2]),
                                 min1=min(t[1]), min2=min(t[2])))
                log(f"scaling {size} {solver}: 1 thread {statistics.median(t[1]):.3f} s, 2 threads {statistics.median(t[2]):.3f} s, {s:.2f}x")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": model, "rows": rows, "raw": raw,
                   "sgemm": {f"{b}-{t}": v for (b, t), v in rates.items()}}, f, indent=1)
    print_table(rows, rates, model)


def print_spark_table(rows):
    rows = [r for r in rows if r.get("vs_spark")]
    if not rows:
        return
    print("\nwmf (--reg-scaling 1) vs Spark MLlib ALS; Spark s/iter = (fit(N) - fit(1)) / (N - 1), one sample per JVM")
    print("| size | k | iterations | lib | solver | s/iter median [min-max] (n) | fit s | peak RSS MiB | CPU use | P@10 | nDCG@10 | Spark s/iter / this |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        for name, lib, solver in (("cholesky", "wmf", "cholesky"), ("cg", "wmf", "cg"), ("spark", "Spark", "cholesky (dppsv)")):
            s = r[name]
            ev = s["eval"]["metrics"] if s["eval"] else None
            ratio = r["spark"]["med"] / s["med"]
            print(f"| {r['size']} | {r['k']} | {r['iters']} | {lib} | {solver} | {s['med']:.3f} [{s['lo']:.3f}-{s['hi']:.3f}] ({s['n']}) "
                  f"| {s['fit']:.1f} | {s['rss']:.0f} | {100 * s['util']:.0f}% | {ev['precision'] if ev else float('nan'):.4f} "
                  f"| {ev['ndcg'] if ev else float('nan'):.4f} | " + (f"**{ratio:.1f}x**" if name != "spark" else "1") + " |")
    for r in rows:
        i = r["spark_info"]
        v = i["versions"]
        print(f"Spark {v['spark']} (Java {v['java']}, Scala {v['scala']}; {r['size']}, k = {r['k']}, {i['blocks']} blocks, BLAS {i['blas']}, LAPACK {i['lapack']}), "
              f"medians: JVM start {i['jvm_start_s']:.1f} s, load + cache train.csv {i['load_s']:.1f} s, "
              f"first (warm-up) fit(1) {i['first_fit_s']:.1f} s, fit(1) {i['fit1_s']:.1f} s")


def print_table(rows, rates, model):
    print_spark_table(rows)
    if not rates:
        return
    print(f"\nmachine: {model}; sgemm (system OpenBLAS, 2048^3): " + ", ".join(
        f"{b} {t}T {v['gflops']:.0f} GFLOP/s ({v['core']})" for (b, t), v in rates.items()))
    print("| size | k | solver | BLAS | lib | s/iter median [min-max] (n) | fit s | peak RSS MiB | CPU use | P@10 | nDCG@10 | GFLOP/s | wmf/implicit | paired [min-max] |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    # GFLOP/s: implicit and wmf CG the flops of flops_per_iteration; wmf
    # Cholesky the flops it executes (wmf_cholesky_flops: fewer, for the short rows).
    for r in rows:
        if "scaling" in r or r.get("vs_spark"):
            continue
        for lib in ("wmf", "implicit"):
            s = r[lib]
            ev = s["eval"]["metrics"] if s["eval"] else None
            print(f"| {r['size']} | {r['k']} | {r['solver']} | {r['blas']} | {lib} | {s['med']:.3f} [{s['lo']:.3f}-{s['hi']:.3f}] ({s['n']}) "
                  f"| {s['fit']:.1f} | {s['rss']:.0f} | {100 * s['util']:.0f}% | {ev['precision'] if ev else float('nan'):.4f} "
                  f"| {ev['ndcg'] if ev else float('nan'):.4f} | {r.get(lib + '_flops', r['flops']) / s['med'] / 1e9:.1f} | "
                  + (f"{r['ratio']:.3f} | {fmt_paired(r.get('paired'))}" if lib == "wmf" else "1 |") + " |")
    for r in rows:
        if "scaling" in r:
            print(f"threads 1 -> 2 ({r['size']}, k = 64, {r['solver']}): median {r['t1']:.3f} s -> {r['t2']:.3f} s per iteration ({r['scaling']:.2f}x); "
                  f"fastest iteration {r['min1']:.3f} s -> {r['min2']:.3f} s ({r['best']:.2f}x)")
    for r in rows:
        if "scaling" not in r and not r.get("vs_spark") and (r["wmf"]["rec"] or r["implicit"]["rec"]):
            w, i = r["wmf"], r["implicit"]
            print(f"recommend top-10 for all users, seen items excluded ({r['size']}, k = {r['k']}, {args_threads(r)} threads), "
                  f"in process, median of 3: wmf {w['rec']:.3f} s {fmt_runs(w['rec_all'])}, implicit recommend() {i['rec']:.3f} s "
                  f"{fmt_runs(i['rec_all'])}: ratio {w['rec'] / i['rec']:.2f}; wmf whole process (load model + seen file, "
                  f"write text) {w['rec_process']:.2f} s; wmf eval-factors scoring + all metrics incl. AUC "
                  f"{w['eval']['eval_seconds']:.2f} s (ratio to implicit recommend() {w['eval']['eval_seconds'] / i['rec']:.2f})")


def args_threads(r):
    return r.get("threads", 2)


def fmt_paired(p):
    """The median of the per-repetition ratios (each repetition's wmf median
    over the implicit median measured right after it) and their range."""
    if not p:
        return ""
    return f"{statistics.median(p):.3f} [{min(p):.3f}-{max(p):.3f}]"


def fmt_runs(xs):
    return "[" + ", ".join(f"{x:.3f}" for x in xs) + "]" if xs else ""


if __name__ == "__main__":
    main()
