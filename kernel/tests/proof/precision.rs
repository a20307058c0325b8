//! f32 against f64 on the same (f32-representable) inputs.

use crate::common::{Model, Spec, rel_err_floor, rng, tol, trials, wide};
use wmf_kernel::{
    CgParams, Dense, Real, gramian, row_gradient, row_loss, row_normal_equations, score_items,
    solve_row_cg, solve_row_cholesky, solve_row_eals,
};

/// Every row operation of a model in precision `T`, widened to f64.
fn run<T: Real>(model: &Model<T>) -> Vec<(String, Vec<f64>)> {
    let items = model.items();
    let k = model.k;
    let lambda = T::from_f64(0.5);
    let mut out = vec![("gramian".to_string(), wide(&model.g0))];
    let mut g = vec![T::ZERO; k * k];
    gramian(&model.factors(), model.baseline(), &mut g).unwrap();
    assert_eq!(g, model.g0);
    for (u, rd) in model.rows.iter().enumerate() {
        let row = rd.row();
        let w = model.w_row(u);
        out.push((
            format!("row_loss {u}"),
            vec![row_loss(&items, &row, lambda, w).unwrap().to_f64()],
        ));
        let mut grad = vec![T::ZERO; k];
        row_gradient(&items, &row, lambda, w, &mut grad).unwrap();
        out.push((format!("row_gradient {u}"), wide(&grad)));
        let (mut a, mut b) = (vec![T::ZERO; k * k], vec![T::ZERO; k]);
        row_normal_equations(&items, &row, lambda, &mut a, &mut b).unwrap();
        out.push((format!("A {u}"), wide(&a)));
        out.push((format!("b {u}"), wide(&b)));
        let mut x = vec![T::ZERO; k];
        solve_row_cholesky(&items, &row, lambda, &mut a, &mut x).unwrap();
        out.push((format!("solve cholesky {u}"), wide(&x)));
        let mut x = w.to_vec();
        let mut s = vec![T::ZERO; 3 * k];
        solve_row_cg(
            &items,
            &row,
            lambda,
            &mut x,
            CgParams { steps: 3, tol: 0.0 },
            &mut s,
        )
        .unwrap();
        out.push((format!("solve cg3 {u}"), wide(&x)));
        let mut x = w.to_vec();
        solve_row_eals(
            &items,
            &row,
            lambda,
            &mut x,
            2,
            &mut vec![T::ZERO; rd.items.len()],
        )
        .unwrap();
        out.push((format!("solve eals2 {u}"), wide(&x)));
        let mut sc = vec![T::ZERO; model.n];
        score_items(&model.factors(), w, &mut sc).unwrap();
        out.push((format!("scores {u}"), wide(&sc)));
    }
    let (x, c) = model.dense();
    let (xt, ct) = (crate::common::cast::<T>(&x), crate::common::cast::<T>(&c));
    let d = Dense::new(&xt, &ct, &model.w, &model.h, model.m, model.n, k).unwrap();
    out.push(("dense loss".into(), vec![d.loss(lambda).unwrap().to_f64()]));
    let mut gw = vec![T::ZERO; model.m * k];
    d.grad_w(lambda, &mut gw).unwrap();
    out.push(("dense grad_w".into(), wide(&gw)));
    let mut gh = vec![T::ZERO; model.n * k];
    d.grad_h(lambda, &mut gh).unwrap();
    out.push(("dense grad_h".into(), wide(&gh)));
    out
}

#[test]
fn f32_agrees_with_f64() {
    for seed in 0..trials(6, 1) as u64 {
        for per_item_c0 in [false, true] {
            let spec = Spec {
                m: if crate::common::MIRI { 2 } else { 5 },
                n: if crate::common::MIRI { 6 } else { 20 },
                k: if crate::common::MIRI { 2 } else { 8 },
                per_item_c0,
                explicit_pref: seed % 2 == 1,
                density: 0.3,
            };
            let m64 = Model::random(&mut rng(seed + 1100), spec);
            let m32 = m64.cast::<f32>();
            for ((name, a), (_, b)) in run(&m32).iter().zip(run(&m64).iter()) {
                let op = if name.starts_with("solve") {
                    "solve"
                } else {
                    "accumulate"
                };
                // relative, or absolute below 1: an empty row's solution is
                // 0, where a relative error would only compare rounding noise
                let err = rel_err_floor(a, b);
                assert!(
                    err <= tol::f32_vs_f64(op),
                    "seed {seed} {name}: f32 vs f64 {err:e}"
                );
            }
        }
    }
}
