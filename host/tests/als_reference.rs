//! Host ALS against a brute-force dense solve of the weighted problem (f64),
//! and host row solves against direct kernel calls (f32).

mod common;

use common::{dense_solve, random_values};
use ndarray::Array2;
use wmf_host::als::{Als, EigenBasis, Problem, init_factors};
use wmf_host::{Arith, BaselineWeight, Confidence, RegScaling, Solver, TrainConfig};
use wmf_kernel::{Fused, PortableFold};

const K: usize = 4;

fn config(solver: Solver, baseline: BaselineWeight, reg: RegScaling) -> TrainConfig {
    TrainConfig {
        k: K,
        iterations: 2,
        lambda: 0.5,
        reg_scaling: reg,
        confidence: Confidence::Log {
            alpha: 3.0,
            eps: 0.5,
        },
        baseline,
        solver,
        seed: 9,
        threads: 2,
        arith: Arith::Fused,
    }
}

/// Dense reference: row `r` of the side being solved, over ALL columns, with
/// `C = conf` on observed cells and `c0` elsewhere, `X = 1` / `0`.
fn reference_rows(p: &Problem<f64>, fixed: &Array2<f64>, user_side: bool) -> Array2<f64> {
    let (rows, lambdas, side) = if user_side {
        (p.m(), &p.user_lambda, &p.users)
    } else {
        (p.n(), &p.item_lambda, &p.items)
    };
    let ncols = fixed.nrows();
    let mut out = Array2::zeros((rows, K));
    for r in 0..rows {
        let row = side.row(r);
        let mut a = vec![0.0; K * K];
        let mut b = vec![0.0; K];
        for col in 0..ncols {
            let c0 = if user_side { p.c0[col] } else { p.c0[r] };
            let (c, x) = match row.items.binary_search(&(col as u32)) {
                Ok(t) => (row.conf[t], 1.0),
                Err(_) => (c0, 0.0),
            };
            let f = fixed.row(col);
            for i in 0..K {
                b[i] += c * x * f[i];
                for j in 0..K {
                    a[i * K + j] += c * f[i] * f[j];
                }
            }
        }
        for i in 0..K {
            a[i * K + i] += lambdas[r];
        }
        let x = dense_solve(a, b, K);
        for i in 0..K {
            out[[r, i]] = x[i];
        }
    }
    out
}

fn max_rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let scale = b.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0f64, |s, (x, y)| s.max((x - y).abs()))
        / scale
}

#[test]
fn every_solver_converges_to_the_dense_weighted_solution() {
    let values = random_values(13, 17, 0.25, 1);
    for baseline in [
        BaselineWeight::Uniform { c0: 1.0 },
        BaselineWeight::Popularity { c0: 8.0, beta: 0.5 },
    ] {
        for reg in [RegScaling::None, RegScaling::Frequency { nu: 1.0 }] {
            // item factors after two exact iterations, user factors a fresh random start
            let base = config(Solver::Cholesky, baseline, reg);
            let mut warm = Als::<f64>::new(&values, &base).unwrap();
            warm.iterate().unwrap();
            warm.iterate().unwrap();
            let (w0, _) = init_factors::<f64>(values.nrows, values.ncols, K, 77);
            for solver in [
                Solver::Cholesky,
                Solver::cg(60),
                Solver::Eals { sweeps: 3000 },
            ] {
                let cfg = config(solver, baseline, reg);
                let p = Problem::<f64>::new(&values, &cfg).unwrap();
                let mut als =
                    Als::with_factors(p.clone(), &cfg, w0.clone(), warm.h.clone()).unwrap();
                als.user_half(None).unwrap();
                // The half may have rotated H into its Gramian's eigenbasis
                // (Cholesky with a λ per row): the exact solution is then
                // against the rotated H, which must be warm.h times an
                // orthogonal matrix (the same H Hᵀ).
                let (hh, hh0) = (als.h.dot(&als.h.t()), warm.h.dot(&warm.h.t()));
                let e = max_rel(&hh, &hh0);
                assert!(
                    e < 1e-10,
                    "{solver:?} {baseline:?} {reg:?}: H Hᵀ moved by {e:e}"
                );
                let want_w = reference_rows(&p, &als.h, true);
                let e = max_rel(&als.w, &want_w);
                assert!(
                    e < 1e-8,
                    "{solver:?} {baseline:?} {reg:?}: users off by {e:e}"
                );
                als.item_half(None).unwrap();
                let want_h = reference_rows(&p, &als.w, false);
                let e = max_rel(&als.h, &want_h);
                assert!(
                    e < 1e-8,
                    "{solver:?} {baseline:?} {reg:?}: items off by {e:e}"
                );
            }
        }
    }
}

/// The host's parallel user half equals calling the kernel row by row (f32,
/// bit for bit), with separate roundings and with fused multiply-adds (the
/// kernel's `Fused` fold).
#[test]
fn host_row_solves_equal_direct_kernel_calls() {
    let values = random_values(40, 30, 0.2, 2);
    let runs = [Solver::Cholesky, Solver::cg(3), Solver::Eals { sweeps: 2 }]
        .into_iter()
        .flat_map(|s| [Arith::Separate, Arith::Fused].map(|a| (s, a)));
    for (solver, arith) in runs {
        for baseline in [
            BaselineWeight::Uniform { c0: 0.5 },
            BaselineWeight::Popularity { c0: 5.0, beta: 0.4 },
        ] {
            let mut cfg = config(solver, baseline, RegScaling::Frequency { nu: 0.5 });
            cfg.arith = arith;
            // the factors' own basis; the eigenbasis CG has its own test
            // (als_eigenbasis.rs)
            let mut als = Als::<f32>::new(&values, &cfg)
                .unwrap()
                .with_eigen_basis(EigenBasis::AsIs);
            als.iterate().unwrap();
            let (w_before, h) = (als.w.clone(), als.h.clone());
            als.user_half(None).unwrap();
            // direct kernel calls
            let p = &als.problem;
            let (n, k) = h.dim();
            let fac = wmf_kernel::Factors::new(h.as_slice().unwrap(), n, k).unwrap();
            let mut g0 = vec![0f32; k * k];
            let c0: Vec<f32> = p.c0.clone();
            wmf_kernel::gramian(&fac, wmf_kernel::Baseline::PerItem(&c0), &mut g0).unwrap();
            let g0_host = p.item_gramian(h.view()).unwrap();
            // the BLAS Gramian differs from the kernel's by rounding only
            for (a, b) in g0.iter().zip(g0_host.iter()) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()));
            }
            let items = wmf_kernel::Items::new(fac, g0_host.as_slice().unwrap(), p.item_baseline())
                .unwrap();
            let mut a = vec![0f32; k * k];
            let mut scratch = vec![0f32; 3 * k];
            let mut pred = vec![0f32; n];
            for u in 0..p.m() {
                let row = p.users.row(u);
                let lam = p.user_lambda[u];
                let mut x = w_before.row(u).to_vec();
                match solver {
                    Solver::Cholesky => match arith {
                        Arith::Separate => {
                            wmf_kernel::solve_row_cholesky(&items, &row, lam, &mut a, &mut x)
                        }
                        Arith::Fused => wmf_kernel::solve_row_cholesky_folded(
                            &items,
                            &row,
                            lam,
                            &mut a,
                            &mut x,
                            Fused(PortableFold),
                        ),
                    }
                    .unwrap(),
                    Solver::Cg { steps, .. } => {
                        let params = wmf_kernel::CgParams {
                            steps,
                            tol: wmf_host::als::CG_TOL,
                        };
                        let s = &mut scratch;
                        match arith {
                            Arith::Separate => {
                                wmf_kernel::solve_row_cg(&items, &row, lam, &mut x, params, s)
                            }
                            Arith::Fused => {
                                let fused = items.with_fold(Fused(PortableFold));
                                wmf_kernel::solve_row_cg(&fused, &row, lam, &mut x, params, s)
                            }
                        }
                        .unwrap();
                    }
                    Solver::Eals { sweeps } => {
                        wmf_kernel::solve_row_eals(&items, &row, lam, &mut x, sweeps, &mut pred)
                            .unwrap()
                    }
                }
                if solver == Solver::Cholesky && row.len() <= wmf_host::als::low_rank_cutoff(k) {
                    // a short row goes through the kernel's low-rank solve on
                    // the host's whitened factors (another exact method, whose
                    // whitening is a BLAS trsm): equal up to f32 rounding
                    let got = als.w.row(u).to_vec();
                    let scale = x.iter().fold(1f32, |m, v| m.max(v.abs()));
                    for (g, w) in got.iter().zip(&x) {
                        assert!(
                            (g - w).abs() <= 1e-4 * scale,
                            "{solver:?} {arith:?} user {u}: {got:?} vs {x:?}"
                        );
                    }
                } else {
                    assert_eq!(als.w.row(u).to_vec(), x, "{solver:?} {arith:?} user {u}");
                }
            }
        }
    }
}

/// f32 training follows the f64 reference closely.
#[test]
fn f32_training_tracks_f64() {
    let values = random_values(30, 25, 0.2, 4);
    let cfg = config(
        Solver::Cholesky,
        BaselineWeight::Uniform { c0: 1.0 },
        RegScaling::None,
    );
    let mut a = Als::<f32>::new(&values, &cfg).unwrap();
    let mut b = Als::<f64>::new(&values, &cfg).unwrap();
    for _ in 0..3 {
        a.iterate().unwrap();
        b.iterate().unwrap();
    }
    let (la, lb) = (a.loss().unwrap(), b.loss().unwrap());
    assert!((la - lb).abs() <= 1e-4 * lb, "{la} vs {lb}");
    let e = max_rel(&a.h.mapv(|v| v as f64), &b.h);
    assert!(e < 1e-3, "f32 item factors off by {e:e}");
}
