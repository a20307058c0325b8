//! Finite-difference checks of every gradient, in f64, on seeded random problems.

use crate::common::{Model, Spec, reference, rel_err, rng, tol, trials, uniform_vec};
use wmf_kernel::{Dense, row_gradient, row_loss};

/// Central difference of `f` at `x` along every coordinate.
fn central_diff(x: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut probe = x.to_vec();
    (0..x.len())
        .map(|i| {
            let step = tol::fd_step(x[i]);
            probe[i] = x[i] + step;
            let up = f(&probe);
            probe[i] = x[i] - step;
            let down = f(&probe);
            probe[i] = x[i];
            (up - down) / (2.0 * step)
        })
        .collect()
}

struct DenseCase {
    x: Vec<f64>,
    c: Vec<f64>,
    w: Vec<f64>,
    h: Vec<f64>,
    shape: (usize, usize, usize),
}

fn dense_case(seed: u64) -> DenseCase {
    let mut r = rng(seed);
    let (m, n, k) = if crate::common::MIRI {
        (2, 3, 2)
    } else {
        (
            rand::Rng::gen_range(&mut r, 1..7),
            rand::Rng::gen_range(&mut r, 1..9),
            rand::Rng::gen_range(&mut r, 1..6),
        )
    };
    DenseCase {
        x: uniform_vec(&mut r, m * n, -1.0, 2.0),
        c: uniform_vec(&mut r, m * n, 0.0, 5.0),
        w: uniform_vec(&mut r, m * k, -1.0, 1.0),
        h: uniform_vec(&mut r, n * k, -1.0, 1.0),
        shape: (m, n, k),
    }
}

#[test]
fn dense_grad_w_matches_finite_differences() {
    for seed in 0..trials(20, 2) as u64 {
        for lambda in [0.0, 0.37] {
            let d = dense_case(seed);
            let (m, n, k) = d.shape;
            let dense = Dense::new(&d.x, &d.c, &d.w, &d.h, m, n, k).unwrap();
            let mut g = vec![0.0; m * k];
            dense.grad_w(lambda, &mut g).unwrap();
            let fd = central_diff(&d.w, |w| {
                reference::loss(&d.x, &d.c, w, &d.h, d.shape, lambda)
            });
            let err = rel_err(&g, &fd);
            assert!(
                err <= tol::gradient_fd(),
                "seed {seed} lambda {lambda}: rel err {err:e}"
            );
        }
    }
}

#[test]
fn dense_grad_h_matches_finite_differences() {
    for seed in 0..trials(20, 2) as u64 {
        for lambda in [0.0, 0.37] {
            let d = dense_case(seed + 1000);
            let (m, n, k) = d.shape;
            let dense = Dense::new(&d.x, &d.c, &d.w, &d.h, m, n, k).unwrap();
            let mut g = vec![0.0; n * k];
            dense.grad_h(lambda, &mut g).unwrap();
            let fd = central_diff(&d.h, |h| {
                reference::loss(&d.x, &d.c, &d.w, h, d.shape, lambda)
            });
            let err = rel_err(&g, &fd);
            assert!(
                err <= tol::gradient_fd(),
                "seed {seed} lambda {lambda}: rel err {err:e}"
            );
        }
    }
}

/// The implicit row gradient against central differences of both the dense
/// row loss (the definition) and the kernel's implicit `row_loss`.
#[test]
fn row_gradient_matches_finite_differences() {
    for seed in 0..trials(12, 1) as u64 {
        for per_item_c0 in [false, true] {
            for explicit_pref in [false, true] {
                for lambda in [0.0, 0.25] {
                    let spec = Spec {
                        m: 2,
                        n: if crate::common::MIRI { 5 } else { 12 },
                        k: if crate::common::MIRI { 2 } else { 5 },
                        per_item_c0,
                        explicit_pref,
                        density: 0.4,
                    };
                    let model = Model::random(&mut rng(seed * 7 + 3), spec);
                    let items = model.items();
                    let c0 = model.c0.clone();
                    for (u, rd) in model.rows.iter().enumerate() {
                        let w = model.w_row(u);
                        let mut g = vec![0.0; model.k];
                        row_gradient(&items, &rd.row(), lambda, w, &mut g).unwrap();
                        let (x, c) = rd.dense(model.n, &c0);
                        let fd_dense =
                            central_diff(w, |w| reference::row_loss(&x, &c, &model.h, w, lambda));
                        let fd_implicit =
                            central_diff(w, |w| row_loss(&items, &rd.row(), lambda, w).unwrap());
                        let ctx = format!(
                            "seed {seed} per_item {per_item_c0} pref {explicit_pref} lambda {lambda} user {u}"
                        );
                        let e1 = rel_err(&g, &fd_dense);
                        let e2 = rel_err(&g, &fd_implicit);
                        assert!(e1 <= tol::gradient_fd(), "{ctx}: vs dense fd {e1:e}");
                        assert!(e2 <= tol::gradient_fd(), "{ctx}: vs implicit fd {e2:e}");
                    }
                }
            }
        }
    }
}
