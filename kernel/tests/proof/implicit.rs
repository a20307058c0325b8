//! The implicit (Gramian) form equals the dense formulas: row loss, row
//! gradient, normal equations, the whole objective, and the Gramian itself.

use crate::common::{Model, Spec, reference, rel_err, rel_err1, rng, tol, trials, wide};
use wmf_kernel::{Dense, gramian, row_gradient, row_loss, row_normal_equations};

fn specs() -> Vec<Spec> {
    let (n, k) = if crate::common::MIRI { (6, 2) } else { (15, 6) };
    let mut out = Vec::new();
    for per_item_c0 in [false, true] {
        for explicit_pref in [false, true] {
            out.push(Spec {
                m: if crate::common::MIRI { 2 } else { 5 },
                n,
                k,
                per_item_c0,
                explicit_pref,
                density: 0.3,
            });
        }
    }
    out
}

#[test]
fn implicit_row_form_equals_dense_formulas() {
    for seed in 0..trials(10, 1) as u64 {
        for spec in specs() {
            for lambda in [0.0, 0.4] {
                let model = Model::random(&mut rng(seed + 100), spec);
                let (m, n, k) = (model.m, model.n, model.k);
                let items = model.items();
                let (x, c) = model.dense();
                let dense = Dense::new(&x, &c, &model.w, &model.h, m, n, k).unwrap();
                let mut grad_w = vec![0.0; m * k];
                dense.grad_w(lambda, &mut grad_w).unwrap();
                let ctx = format!("seed {seed} {spec:?} lambda {lambda}");

                let mut total = 0.0;
                for (u, rd) in model.rows.iter().enumerate() {
                    let row = rd.row();
                    let w = model.w_row(u);
                    let (xr, cr) = (&x[u * n..(u + 1) * n], &c[u * n..(u + 1) * n]);

                    let f = row_loss(&items, &row, lambda, w).unwrap();
                    let want = reference::row_loss(xr, cr, &model.h, w, lambda);
                    assert!(
                        rel_err1(f, want) <= tol::implicit_form(),
                        "{ctx} user {u}: row_loss {f} vs {want}"
                    );
                    total += f;

                    let mut g = vec![0.0; k];
                    row_gradient(&items, &row, lambda, w, &mut g).unwrap();
                    let want = &grad_w[u * k..(u + 1) * k];
                    assert!(
                        rel_err(&g, want) <= tol::implicit_form(),
                        "{ctx} user {u}: row_gradient vs Dense::grad_w"
                    );

                    let (mut a, mut b) = (vec![0.0; k * k], vec![0.0; k]);
                    row_normal_equations(&items, &row, lambda, &mut a, &mut b).unwrap();
                    let (ra, rb) = reference::normal_equations(xr, cr, &model.h, k, lambda);
                    assert!(
                        rel_err(&a, &ra) <= tol::implicit_form(),
                        "{ctx} user {u}: A"
                    );
                    assert!(
                        rel_err(&b, &rb) <= tol::implicit_form(),
                        "{ctx} user {u}: b"
                    );
                    // ∇f_u = 2 (A w − b)
                    let aw = reference::matvec(&a, w);
                    let g2: Vec<f64> = aw.iter().zip(&b).map(|(p, q)| 2.0 * (p - q)).collect();
                    assert!(
                        rel_err(&g, &g2) <= tol::implicit_form(),
                        "{ctx} user {u}: grad = 2(Aw-b)"
                    );
                }
                // Σ_u f_u + λ|H|² is the dense objective.
                total += lambda * reference::dot(&model.h, &model.h);
                let want = dense.loss(lambda).unwrap();
                assert!(
                    rel_err1(total, want) <= tol::implicit_form(),
                    "{ctx}: Σ row_loss + λ|H|² = {total} vs Dense::loss {want}"
                );
            }
        }
    }
}

#[test]
fn gramian_equals_reference() {
    for seed in 0..trials(10, 1) as u64 {
        for per_item_c0 in [false, true] {
            let spec = Spec {
                m: 1,
                n: if crate::common::MIRI { 5 } else { 40 },
                k: if crate::common::MIRI { 3 } else { 9 },
                per_item_c0,
                explicit_pref: false,
                density: 0.0,
            };
            let model = Model::random(&mut rng(seed + 200), spec);
            let want = reference::gramian(&model.h, &model.c0, model.n, model.k);
            let err = rel_err(&model.g0, &want);
            assert!(err <= tol::gramian::<f64>(model.n), "seed {seed}: {err:e}");
            let m32 = model.cast::<f32>();
            let err = rel_err(&wide(&m32.g0), &want);
            assert!(
                err <= tol::gramian::<f32>(model.n),
                "seed {seed} f32: {err:e}"
            );
            // symmetric exactly
            let k = model.k;
            for p in 0..k {
                for q in 0..k {
                    assert_eq!(model.g0[p * k + q], model.g0[q * k + p]);
                }
            }
        }
    }
    // c0 = 0 everywhere gives the zero matrix; the output is overwritten, not accumulated.
    let h = [1.0f64, 2.0, 3.0, 4.0];
    let mut g = [9.0; 4];
    gramian(
        &wmf_kernel::Factors::new(&h, 2, 2).unwrap(),
        wmf_kernel::Baseline::Uniform(0.0),
        &mut g,
    )
    .unwrap();
    assert_eq!(g, [0.0; 4]);
}

/// `row_loss` against the dense definition at ranks around the 16-column
/// tiles and 4-row groups of its `wᵀ G0 w` (`k` below, at and past 16, and a
/// multiple of 16 plus a partial group), and with row lengths that leave 0-3
/// cells after the groups of four of its observed-cell dots.
#[test]
fn row_loss_equals_dense_around_its_tiles() {
    let ks: &[usize] = if crate::common::MIRI {
        &[17]
    } else {
        &[1, 3, 4, 15, 16, 17, 20, 33, 35, 64]
    };
    for &k in ks {
        for per_item_c0 in [false, true] {
            let spec = Spec {
                m: if crate::common::MIRI { 2 } else { 6 },
                n: 23,
                k,
                per_item_c0,
                explicit_pref: false,
                density: 0.4,
            };
            let model = Model::random(&mut rng(300 + k as u64), spec);
            let items = model.items();
            let (x, c) = model.dense();
            let n = model.n;
            for (u, rd) in model.rows.iter().enumerate() {
                let w = model.w_row(u);
                let f = row_loss(&items, &rd.row(), 0.3, w).unwrap();
                let want = reference::row_loss(
                    &x[u * n..(u + 1) * n],
                    &c[u * n..(u + 1) * n],
                    &model.h,
                    w,
                    0.3,
                );
                assert!(
                    rel_err1(f, want) <= tol::implicit_form(),
                    "k {k} per-item c0 {per_item_c0} user {u}: row_loss {f} vs {want}"
                );
            }
        }
    }
}
