//! A user with no interactions, as each function's docs say.

use crate::common::{Model, Spec, reference, rel_err, rng, tol};
use wmf_kernel::{
    Baseline, CgParams, Factors, Items, Row, gradient_step_row, row_gradient, row_loss,
    row_normal_equations, solve_row_cg, solve_row_cholesky, solve_row_eals,
};

fn model() -> Model<f64> {
    Model::random(
        &mut rng(800),
        Spec {
            m: 1,
            n: 7,
            k: 3,
            per_item_c0: true,
            explicit_pref: false,
            density: 0.0,
        },
    )
}

#[test]
fn empty_row_loss_gradient_and_normal_equations() {
    let model = model();
    let items = model.items();
    let (k, lambda) = (model.k, 0.3);
    let w = [0.5, -1.0, 0.25];
    let empty = Row::empty();
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    // loss = wᵀ G0 w + λ|w|², which is also the dense row loss with every cell unobserved
    let gw = reference::matvec(&model.g0, &w);
    let want = reference::dot(&w, &gw) + lambda * reference::dot(&w, &w);
    let f = row_loss(&items, &empty, lambda, &w).unwrap();
    assert!((f - want).abs() <= tol::implicit_form() * want.abs());
    let (x, c) = model.rows[0].dense(model.n, &model.c0);
    assert!(
        (f - reference::row_loss(&x, &c, &model.h, &w, lambda)).abs()
            <= tol::implicit_form() * want
    );
    // gradient = 2 (G0 + λI) w
    let mut g = [0.0; 3];
    row_gradient(&items, &empty, lambda, &w, &mut g).unwrap();
    let want: Vec<f64> = gw
        .iter()
        .zip(&w)
        .map(|(a, wi)| 2.0 * (a + lambda * wi))
        .collect();
    assert!(rel_err(&g, &want) <= tol::implicit_form());
    // A = G0 + λI, b = 0
    let (mut a, mut b) = ([9.0; 9], [9.0; 3]);
    row_normal_equations(&items, &empty, lambda, &mut a, &mut b).unwrap();
    for p in 0..k {
        for q in 0..k {
            let want = model.g0[p * k + q] + if p == q { lambda } else { 0.0 };
            assert!((a[p * k + q] - want).abs() <= 1e-15 * want.abs().max(1.0));
        }
    }
    assert_eq!(b, [0.0; 3]);
}

#[test]
fn empty_row_solvers() {
    let model = model();
    let items = model.items();
    let empty = Row::empty();
    // Cholesky: x = 0, scratch untouched, even when λ = 0 and G0 = 0 (singular).
    let h = [1.0f64, 2.0, 3.0, 4.0];
    let g0 = [0.0; 4];
    let singular =
        Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(0.0)).unwrap();
    let (mut scratch, mut x) = ([5.0; 4], [3.0, 3.0]);
    solve_row_cholesky(&singular, &empty, 0.0, &mut scratch, &mut x).unwrap();
    assert_eq!((scratch, x), ([5.0; 4], [0.0, 0.0]));
    let mut scratch = [5.0; 9];
    let mut x = [1.0; 3];
    solve_row_cholesky(&items, &empty, 0.5, &mut scratch, &mut x).unwrap();
    assert_eq!((scratch, x), ([5.0; 9], [0.0; 3]));

    // CG: a zero warm start stays zero in zero steps; a non-zero one moves to 0.
    let mut cg = [0.0; 9];
    let mut x = [0.0; 3];
    let rep = solve_row_cg(
        &items,
        &empty,
        0.5,
        &mut x,
        CgParams { steps: 5, tol: 0.0 },
        &mut cg,
    )
    .unwrap();
    assert_eq!((rep.steps, rep.residual_sq, x), (0, 0.0, [0.0; 3]));
    let mut x = [1.0, -2.0, 0.5];
    solve_row_cg(
        &items,
        &empty,
        0.5,
        &mut x,
        CgParams {
            steps: 12,
            tol: 0.0,
        },
        &mut cg,
    )
    .unwrap();
    assert!(crate::common::norm(&x) <= 1e-10, "{x:?}");

    // eALS: drives w to zero with λ > 0; the cache may be empty.
    let mut w = [1.0, -2.0, 0.5];
    solve_row_eals(&items, &empty, 0.5, &mut w, 500, &mut []).unwrap();
    assert!(crate::common::norm(&w) <= 1e-10, "{w:?}");

    // gradient step: shrinks w towards zero.
    let w0 = [1.0, -2.0, 0.5];
    let mut w = w0;
    let mut g = [0.0; 3];
    gradient_step_row(&items, &empty, 0.5, &mut w, 0.01, &mut g).unwrap();
    assert!(crate::common::norm(&w) < crate::common::norm(&w0));
}
