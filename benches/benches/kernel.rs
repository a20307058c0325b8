//! criterion benchmarks of the kernel's row solvers and block kernels, f32,
//! at k = 8, 16, 32, 64.
//!
//! Every benchmark sets `Throughput::Elements` to its floating-point operation
//! count, so criterion's "elem/s" is flop/s (divide by 1e9 for GFLOP/s). A
//! multiply-add counts as 2 flops; comparisons, square roots, divisions and
//! copies are not counted. With `n_u` observed items in the user's row:
//!
//! | benchmark            | flops                                               |
//! |----------------------|-----------------------------------------------------|
//! | `normal_equations`   | `n_u (k² + 3k)` (lower-triangle rank-1 updates + `b`) |
//! | `solve_cholesky`     | `n_u (k² + 3k) + k³/3 + 2k²` (form, factor, 2 triangular solves) |
//! | `solve_low_rank`     | `n_u (n_u + 1) k + n_u³/3 + 2 n_u² + 6 n_u k + k²` (`I + V Vᵀ`, its factor and solves, `b̂`, `V b̂`, `Vᵀ w`, `L⁻ᵀ`; the same solution as `solve_cholesky`) |
//! | `solve_low_rank_short` | `solve_low_rank` for a row of `N_SHORT = 24` cells (the host's short rows at k = 64 are 1-32 cells; at k = 8 and 16 the row is past the low-rank cutoff, timed all the same) |
//! | `solve_low_rank_group16` | 16 x `solve_low_rank_short` (sixteen rows side by side, `solve_rows_low_rank_folded`, as the host's low-rank groups) |
//! | `solve_cg3`          | `2k² + 6 n_u k + 3 (2k² + 4 n_u k + 10k)` (initial residual, 3 steps of `A p` + vector ops) |
//! | `solve_cg3_group4`   | 4 x `solve_cg3` (four rows in lock-step, `solve_rows_cg`, as the host's CG groups) |
//! | `solve_cg3_group4_prechecked` | the same, `solve_rows_cg_prechecked` (rows checked once, outside the loop) |
//! | `solve_eals1`        | `2 n_u k + k (10 n_u + 2k)` (prediction cache, one sweep) |
//! | `online_update`      | `k² + 3k + 2k²` (rank-1 update of `A`, `b`, one coordinate sweep) |
//! | `gramian`            | `n (k² + k)` (lower-triangle rank-1 update per item) |
//! | `cholesky_factor`    | `n³/3` (`cholesky_in_place` of an `n x n` `I + V Vᵀ`, `V` `n x 64`, as the low-rank solve's capacitance matrix; the copy of the input is timed too) |
//! | `dense_grad_w`       | `m n (4k + 2) + 2 m k` (residual dot, axpy per cell)  |
//!
//! Sizes: `n = 1000` items, `n_u = 50` observations per row, dense block
//! `m = 64` x `n = 256`. Run:
//! `cargo bench -p wmf-benches --bench kernel -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wmf_kernel::{
    Baseline, CellUpdate, CgParams, Dense, Factors, Items, LOW_RANK_GROUP, PortableFold, Row,
    Whitened, cg_rows_scratch_len, cg_scratch_len, check_csr_rows, cholesky_in_place,
    eals_online_update, gramian, low_rank_group_scratch_len, low_rank_scratch_len,
    row_normal_equations, solve_row_cg, solve_row_cholesky, solve_row_eals, solve_row_low_rank,
    solve_rows_cg, solve_rows_cg_prechecked, solve_rows_low_rank_folded, whiten_rows,
};

const KS: [usize; 4] = [8, 16, 32, 64];
const N_ITEMS: usize = 1000;
const N_U: usize = 50;
const N_SHORT: usize = 24;
const DENSE_M: usize = 64;
const DENSE_N: usize = 256;

fn values(rng: &mut StdRng, len: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..len).map(|_| rng.gen_range(lo..hi)).collect()
}

/// Item factors, their Gramian (c0 = 1) and one user's row of `N_U` items.
struct Problem {
    k: usize,
    h: Vec<f32>,
    g0: Vec<f32>,
    items: Vec<u32>,
    conf: Vec<f32>,
    w: Vec<f32>,
}

impl Problem {
    fn new(k: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(k as u64);
        let scale = 1.0 / (k as f32).sqrt();
        let h = values(&mut rng, N_ITEMS * k, -scale, scale);
        let mut g0 = vec![0.0; k * k];
        let factors = Factors::new(&h, N_ITEMS, k).expect("valid factors");
        gramian(&factors, Baseline::Uniform(1.0), &mut g0).expect("gramian");
        let step = (N_ITEMS / N_U) as u32;
        let items: Vec<u32> = (0..N_U as u32)
            .map(|t| t * step + rng.gen_range(0..step))
            .collect();
        let conf = values(&mut rng, N_U, 1.0, 40.0);
        let w = values(&mut rng, k, -0.1, 0.1);
        Self {
            k,
            h,
            g0,
            items,
            conf,
            w,
        }
    }

    fn items(&self) -> Items<'_, f32> {
        let factors = Factors::new(&self.h, N_ITEMS, self.k).expect("valid factors");
        Items::new(factors, &self.g0, Baseline::Uniform(1.0)).expect("valid items")
    }

    fn row(&self) -> Row<'_, f32> {
        Row::implicit(&self.items, &self.conf)
    }
}

fn flops(name: &str, k: usize) -> u64 {
    let (k, nu, n) = (k as u64, N_U as u64, N_ITEMS as u64);
    let (m, dn) = (DENSE_M as u64, DENSE_N as u64);
    match name {
        "normal_equations" => nu * (k * k + 3 * k),
        "solve_cholesky" => nu * (k * k + 3 * k) + k * k * k / 3 + 2 * k * k,
        "solve_low_rank" => nu * (nu + 1) * k + nu * nu * nu / 3 + 2 * nu * nu + 6 * nu * k + k * k,
        "solve_low_rank_short" => {
            let nu = N_SHORT as u64;
            nu * (nu + 1) * k + nu * nu * nu / 3 + 2 * nu * nu + 6 * nu * k + k * k
        }
        "solve_low_rank_group16" => 16 * flops("solve_low_rank_short", k as usize),
        "solve_cg3" => 2 * k * k + 6 * nu * k + 3 * (2 * k * k + 4 * nu * k + 10 * k),
        "solve_cg3_group4" | "solve_cg3_group4_prechecked" => 4 * flops("solve_cg3", k as usize),
        "solve_eals1" => 2 * nu * k + k * (10 * nu + 2 * k),
        "online_update" => k * k + 3 * k + 2 * k * k,
        "gramian" => n * (k * k + k),
        // here `k` is the matrix order
        "cholesky_factor" => k * k * k / 3,
        "dense_grad_w" => m * dn * (4 * k + 2) + 2 * m * k,
        _ => unreachable!("unknown benchmark {name}"),
    }
}

fn row_solvers(c: &mut Criterion) {
    let lambda = 0.1f32;
    for name in [
        "normal_equations",
        "solve_cholesky",
        "solve_low_rank",
        "solve_low_rank_short",
        "solve_low_rank_group16",
        "solve_cg3",
        "solve_cg3_group4",
        "solve_cg3_group4_prechecked",
        "solve_eals1",
        "online_update",
    ] {
        let mut group = c.benchmark_group(name);
        for k in KS {
            let p = Problem::new(k);
            let items = p.items();
            let row = p.row();
            group.throughput(Throughput::Elements(flops(name, k)));
            let id = BenchmarkId::from_parameter(k);
            match name {
                "normal_equations" => {
                    let (mut a, mut b) = (vec![0.0; k * k], vec![0.0; k]);
                    group.bench_function(id, |bench| {
                        bench.iter(|| {
                            row_normal_equations(&items, black_box(&row), lambda, &mut a, &mut b)
                                .expect("ok")
                        })
                    });
                }
                "solve_cholesky" => {
                    let (mut a, mut x) = (vec![0.0; k * k], vec![0.0; k]);
                    group.bench_function(id, |bench| {
                        bench.iter(|| {
                            solve_row_cholesky(&items, black_box(&row), lambda, &mut a, &mut x)
                                .expect("ok")
                        })
                    });
                }
                "solve_low_rank" | "solve_low_rank_short" | "solve_low_rank_group16" => {
                    // The per-half setup (L of G0 + λI, Ĥ = H L⁻ᵀ) is not timed.
                    let mut l = p.g0.clone();
                    for d in 0..k {
                        l[d * k + d] += lambda;
                    }
                    cholesky_in_place(&mut l, k).expect("positive definite");
                    let mut hw = p.h.clone();
                    whiten_rows(&l, k, &mut hw).expect("ok");
                    let fac = Factors::new(&hw, N_ITEMS, k).expect("valid factors");
                    let w = Whitened::new(fac, &l, Baseline::Uniform(1.0)).expect("ok");
                    if name == "solve_low_rank_group16" {
                        // sixteen rows of N_SHORT cells: the row's cells
                        // from sixteen starting points
                        let rows: Vec<Row<'_, f32>> = (0..LOW_RANK_GROUP)
                            .map(|v| {
                                let at = v % (N_U - N_SHORT + 1);
                                let cells = at..at + N_SHORT;
                                Row::implicit(&p.items[cells.clone()], &p.conf[cells])
                            })
                            .collect();
                        let mut scratch = vec![0.0; low_rank_group_scratch_len(N_SHORT, k)];
                        let mut xs = vec![0.0; LOW_RANK_GROUP * k];
                        group.bench_function(id, |bench| {
                            bench.iter(|| {
                                let got = solve_rows_low_rank_folded(
                                    &w,
                                    black_box(&rows),
                                    &mut scratch,
                                    &mut xs,
                                    PortableFold,
                                );
                                got.map(|r| r.expect("ok"))
                            })
                        });
                    } else {
                        let row = if name == "solve_low_rank_short" {
                            Row::implicit(&p.items[..N_SHORT], &p.conf[..N_SHORT])
                        } else {
                            row
                        };
                        let mut scratch = vec![0.0; low_rank_scratch_len(row.len(), k)];
                        let mut x = vec![0.0; k];
                        group.bench_function(id, |bench| {
                            bench.iter(|| {
                                solve_row_low_rank(&w, black_box(&row), &mut scratch, &mut x)
                                    .expect("ok")
                            })
                        });
                    }
                }
                "solve_cg3" => {
                    let mut scratch = vec![0.0; cg_scratch_len(k)];
                    let params = CgParams { steps: 3, tol: 0.0 };
                    let mut x = p.w.clone();
                    group.bench_function(id, |bench| {
                        bench.iter(|| {
                            x.copy_from_slice(&p.w); // the same warm start every time
                            solve_row_cg(
                                &items,
                                black_box(&row),
                                lambda,
                                &mut x,
                                params,
                                &mut scratch,
                            )
                            .expect("ok")
                        })
                    });
                }
                "solve_cg3_group4" | "solve_cg3_group4_prechecked" => {
                    // Four rows (the same cells, four warm starts) in lock-step.
                    let mut scratch = vec![0.0; cg_rows_scratch_len(4, k)];
                    let params = CgParams { steps: 3, tol: 0.0 };
                    let x0: Vec<f32> = (0..4)
                        .flat_map(|v| p.w.iter().map(move |w| w * (1.0 + v as f32 * 0.1)))
                        .collect();
                    let mut x = x0.clone();
                    let rows = [row; 4];
                    let lambdas = [lambda; 4];
                    let prechecked = name.ends_with("prechecked");
                    if prechecked {
                        let indptr = [0u64, p.items.len() as u64];
                        check_csr_rows(&indptr, &p.items, &p.conf, N_ITEMS).expect("valid row");
                    }
                    group.bench_function(id, |bench| {
                        bench.iter(|| {
                            x.copy_from_slice(&x0);
                            let reps = if prechecked {
                                solve_rows_cg_prechecked(
                                    &items,
                                    black_box(&rows),
                                    &lambdas,
                                    &mut x,
                                    params,
                                    &mut scratch,
                                )
                            } else {
                                solve_rows_cg(
                                    &items,
                                    black_box(&rows),
                                    &lambdas,
                                    &mut x,
                                    params,
                                    &mut scratch,
                                )
                            };
                            reps.map(|r| r.expect("ok"))
                        })
                    });
                }
                "solve_eals1" => {
                    let mut cache = vec![0.0; N_U];
                    let mut w = p.w.clone();
                    group.bench_function(id, |bench| {
                        bench.iter(|| {
                            w.copy_from_slice(&p.w);
                            solve_row_eals(&items, black_box(&row), lambda, &mut w, 1, &mut cache)
                                .expect("ok")
                        })
                    });
                }
                _ => {
                    // A and b of the user's row, then one new interaction per iteration
                    let (mut a0, mut b0) = (vec![0.0; k * k], vec![0.0; k]);
                    row_normal_equations(&items, &row, lambda, &mut a0, &mut b0).expect("ok");
                    let new_item = (1..N_ITEMS as u32)
                        .find(|j| !p.items.contains(j))
                        .expect("a free item") as usize;
                    let h_i = &p.h[new_item * k..(new_item + 1) * k];
                    let (mut a, mut b, mut w) = (a0.clone(), b0.clone(), p.w.clone());
                    let upd = CellUpdate::new_interaction(5.0, 1.0);
                    group.bench_function(id, |bench| {
                        bench.iter(|| {
                            a.copy_from_slice(&a0);
                            b.copy_from_slice(&b0);
                            w.copy_from_slice(&p.w);
                            eals_online_update(&mut a, &mut b, &mut w, k, black_box(h_i), upd, 1)
                                .expect("ok")
                        })
                    });
                }
            }
        }
        group.finish();
    }
}

/// Orders of the `cholesky_factor` benchmark: the short rows of the
/// low-rank solve (at most 48 cells at k = 64) and the k x k normal
/// equations at k = 64 and 128.
const FACTOR_ORDERS: [usize; 6] = [8, 20, 32, 48, 64, 128];

fn block_kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("cholesky_factor");
    for n in FACTOR_ORDERS {
        let mut rng = StdRng::seed_from_u64(200 + n as u64);
        let v = values(&mut rng, n * 64, -0.5, 0.5);
        let mut s0 = vec![0.0f32; n * n];
        for a in 0..n {
            for b in 0..n {
                let dot: f32 = (0..64).map(|t| v[a * 64 + t] * v[b * 64 + t]).sum();
                s0[a * n + b] = dot + if a == b { 1.0 } else { 0.0 };
            }
        }
        let mut s = s0.clone();
        group.throughput(Throughput::Elements(flops("cholesky_factor", n)));
        group.bench_function(BenchmarkId::from_parameter(n), |bench| {
            bench.iter(|| {
                s.copy_from_slice(&s0);
                cholesky_in_place(black_box(&mut s), n).expect("positive definite")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("gramian");
    for k in KS {
        let p = Problem::new(k);
        let factors = Factors::new(&p.h, N_ITEMS, k).expect("valid factors");
        let mut g = vec![0.0; k * k];
        group.throughput(Throughput::Elements(flops("gramian", k)));
        group.bench_function(BenchmarkId::from_parameter(k), |bench| {
            bench.iter(|| gramian(black_box(&factors), Baseline::Uniform(1.0), &mut g).expect("ok"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("dense_grad_w");
    for k in KS {
        let mut rng = StdRng::seed_from_u64(100 + k as u64);
        let x = values(&mut rng, DENSE_M * DENSE_N, 0.0, 1.0);
        let cw = values(&mut rng, DENSE_M * DENSE_N, 1.0, 5.0);
        let w = values(&mut rng, DENSE_M * k, -0.3, 0.3);
        let h = values(&mut rng, DENSE_N * k, -0.3, 0.3);
        let dense = Dense::new(&x, &cw, &w, &h, DENSE_M, DENSE_N, k).expect("valid block");
        let mut g = vec![0.0; DENSE_M * k];
        group.throughput(Throughput::Elements(flops("dense_grad_w", k)));
        group.bench_function(BenchmarkId::from_parameter(k), |bench| {
            bench.iter(|| black_box(&dense).grad_w(0.1, &mut g).expect("ok"))
        });
    }
    group.finish();
}

/// criterion's generated group function has no doc comment of its own.
#[allow(missing_docs)]
mod group {
    use super::{block_kernels, row_solvers};
    criterion::criterion_group!(benches, row_solvers, block_kernels);
}

criterion_main!(group::benches);
