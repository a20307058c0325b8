//! Shared helpers of the host's integration tests: seeded data and a plain
//! f64 reference.
#![allow(dead_code)]

use rand::{Rng, SeedableRng, rngs::StdRng};
use wmf_host::{Arith, BaselineWeight, CgRows, Confidence, Csr, RegScaling, Solver, TrainConfig};

/// A random `m x n` interaction matrix with density `p` and values in `1..5`.
pub fn random_values(m: usize, n: usize, p: f64, seed: u64) -> Csr {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut trip = Vec::new();
    for u in 0..m as u32 {
        for j in 0..n as u32 {
            if rng.gen_bool(p) {
                trip.push((u, j, rng.gen_range(1..5) as f32));
            }
        }
    }
    Csr::from_triplets(m, n, &trip).unwrap()
}

/// A planted low-rank dataset: every user interacts with about `per_user`
/// items drawn by taste (`exp(score / temperature)`) times popularity.
/// Returns (train, held-out) with `holdout` items per user held out.
pub fn planted(
    m: usize,
    n: usize,
    rank: usize,
    per_user: usize,
    holdout: usize,
    seed: u64,
) -> (Csr, Vec<Vec<u32>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let gauss = |rng: &mut StdRng| -> f64 {
        // Box-Muller
        let (a, b): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen_range(0.0..1.0));
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    };
    let u: Vec<Vec<f64>> = (0..m)
        .map(|_| (0..rank).map(|_| gauss(&mut rng)).collect())
        .collect();
    let v: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..rank).map(|_| gauss(&mut rng)).collect())
        .collect();
    let pop: Vec<f64> = (0..n).map(|j| 1.0 / (1.0 + j as f64).powf(0.5)).collect();
    let mut train = Vec::new();
    let mut held = vec![Vec::new(); m];
    for i in 0..m {
        let w: Vec<f64> = (0..n)
            .map(|j| {
                let s: f64 = u[i].iter().zip(&v[j]).map(|(a, b)| a * b).sum();
                (s * 1.5).exp() * pop[j]
            })
            .collect();
        let total: f64 = w.iter().sum();
        let mut chosen = std::collections::BTreeSet::new();
        let mut guard = 0;
        while chosen.len() < per_user && guard < 100 * per_user {
            guard += 1;
            let mut r = rng.gen_range(0.0..total);
            let mut j = 0;
            while j + 1 < n && r >= w[j] {
                r -= w[j];
                j += 1;
            }
            chosen.insert(j as u32);
        }
        let mut items: Vec<u32> = chosen.into_iter().collect();
        // hold out `holdout` random items
        for _ in 0..holdout.min(items.len().saturating_sub(1)) {
            let t = rng.gen_range(0..items.len());
            held[i].push(items.swap_remove(t));
        }
        held[i].sort_unstable();
        for j in items {
            train.push((i as u32, j, rng.gen_range(1..4) as f32));
        }
    }
    (Csr::from_triplets(m, n, &train).unwrap(), held)
}

/// Solves the dense system `a x = b` (`k x k`, row-major) by Gaussian
/// elimination with partial pivoting, in f64.
pub fn dense_solve(mut a: Vec<f64>, mut b: Vec<f64>, k: usize) -> Vec<f64> {
    for col in 0..k {
        let piv = (col..k)
            .max_by(|&x, &y| {
                a[x * k + col]
                    .abs()
                    .partial_cmp(&a[y * k + col].abs())
                    .unwrap()
            })
            .unwrap();
        for c in 0..k {
            a.swap(col * k + c, piv * k + c);
        }
        b.swap(col, piv);
        for r in (col + 1)..k {
            let f = a[r * k + col] / a[col * k + col];
            for c in col..k {
                a[r * k + c] -= f * a[col * k + c];
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; k];
    for r in (0..k).rev() {
        let s: f64 = ((r + 1)..k).map(|c| a[r * k + c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r * k + r];
    }
    x
}

/// Recall@n of top-n lists against held-out items, averaged over users with
/// held-out items.
pub fn recall_at(recs: &[Vec<u32>], held: &[Vec<u32>]) -> f64 {
    let mut total = 0.0;
    let mut users = 0;
    for (r, h) in recs.iter().zip(held) {
        if h.is_empty() {
            continue;
        }
        users += 1;
        total += r.iter().filter(|i| h.binary_search(i).is_ok()).count() as f64 / h.len() as f64;
    }
    total / users.max(1) as f64
}

/// `k` of [`cg_config`].
pub const CG_K: usize = 64;

/// The CG training of the bfloat16 and eigenbasis tests: k = [`CG_K`], 3
/// steps over fixed-side rows stored as `rows`, λ 0.5 frequency-scaled
/// (ν = 0.5), linear confidence α = 2, `baseline`, seed 5, 2 iterations.
pub fn cg_config(rows: CgRows, baseline: BaselineWeight, threads: usize) -> TrainConfig {
    TrainConfig {
        k: CG_K,
        iterations: 2,
        lambda: 0.5,
        reg_scaling: RegScaling::Frequency { nu: 0.5 },
        confidence: Confidence::Linear { alpha: 2.0 },
        baseline,
        solver: Solver::Cg { steps: 3, rows },
        seed: 5,
        threads,
        arith: Arith::Fused,
    }
}

/// 1201 users x 70 items at density 0.95: item rows of about 1140 cells,
/// so a group of four items' rows in bfloat16 (4 x 1140 x 64 x 2 B = 584
/// KB) passes the 512 KiB gather threshold and the item half runs on
/// gathered copies; the short user rows run on the side in place. 1201 and
/// 70 leave partial last groups on both sides.
pub fn gathering_values() -> Csr {
    random_values(1201, 70, 0.95, 31)
}

/// The small training of the planted-data tests (`planted`): k = 8, λ 0.1,
/// linear confidence α = 5, `c0` 1, seed 3, 2 threads.
pub fn planted_config(solver: Solver, iterations: usize) -> TrainConfig {
    TrainConfig {
        k: 8,
        iterations,
        lambda: 0.1,
        reg_scaling: RegScaling::None,
        confidence: Confidence::Linear { alpha: 5.0 },
        baseline: BaselineWeight::Uniform { c0: 1.0 },
        solver,
        seed: 3,
        threads: 2,
        arith: Arith::Fused,
    }
}

/// 700 users over 90 items at density 0.15: users of about 13 cells
/// (spread over about 4-25, around the low-rank cutoff of 16 at k = 32,
/// all short at k = 64), items of about 105 cells (all long at k = 32).
pub fn short_and_long_rows() -> Csr {
    random_values(700, 90, 0.15, 17)
}

/// The Cholesky training of the low-rank tests: k = `k`, 1 iteration, λ
/// 0.3 scaled by `reg`, linear confidence α = 2, `c0` 1, seed 4.
pub fn cholesky_config(k: usize, reg: RegScaling, arith: Arith, threads: usize) -> TrainConfig {
    TrainConfig {
        k,
        iterations: 1,
        lambda: 0.3,
        reg_scaling: reg,
        confidence: Confidence::Linear { alpha: 2.0 },
        baseline: BaselineWeight::Uniform { c0: 1.0 },
        solver: Solver::Cholesky,
        seed: 4,
        threads,
        arith,
    }
}
