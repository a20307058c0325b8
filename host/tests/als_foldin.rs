//! Fold-in and partial refit agree with a full user half-iteration.

mod common;

use common::random_values;
use wmf_host::foldin::{recalculate_user, refit_items, refit_users};
use wmf_host::ids::IdMap;
use wmf_host::{Solver, TrainConfig};

#[test]
fn fold_in_and_refit_match_a_user_half() {
    let values = random_values(40, 30, 0.2, 12);
    let cfg = TrainConfig {
        k: 5,
        iterations: 3,
        lambda: 0.2,
        solver: Solver::Cholesky,
        threads: 2,
        ..TrainConfig::default()
    };
    let model = wmf_host::als::train_model(
        &values,
        IdMap::sequential(40),
        IdMap::sequential(30),
        &cfg,
        &mut |_| {},
    )
    .unwrap();
    // a full user half, as the reference
    let mut full = model.clone();
    let all: Vec<u32> = (0..40).collect();
    refit_users(&mut full, &values, &all).unwrap();
    // refit of a few users changes exactly those rows, to the full half's values
    let mut part = model.clone();
    refit_users(&mut part, &values, &[3, 17]).unwrap();
    for u in 0..40 {
        let want = if u == 3 || u == 17 {
            full.user_factors.row(u)
        } else {
            model.user_factors.row(u)
        };
        assert_eq!(part.user_factors.row(u), want, "user {u}");
    }
    assert_eq!(part.item_factors, model.item_factors);
    // fold-in of user 3's interactions reproduces their refitted row
    let (items, vals) = values.row(3);
    let pairs: Vec<(u32, f32)> = items.iter().copied().zip(vals.iter().copied()).collect();
    let w = recalculate_user(&model, &pairs, Some(Solver::Cholesky), None).unwrap();
    for (a, b) in w.iter().zip(full.user_factors.row(3)) {
        assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    }
    // CG with k steps from zero gets close too
    let w_cg = recalculate_user(&model, &pairs, Some(Solver::cg(20)), None).unwrap();
    for (a, b) in w_cg.iter().zip(&w) {
        assert!((a - b).abs() <= 1e-3 * (1.0 + b.abs()), "{a} vs {b}");
    }
    // items: after the users moved, re-solving two items equals the full item half on those rows
    let mut items_part = full.clone();
    refit_items(&mut items_part, &values, &[0, 29]).unwrap();
    let mut items_full = full.clone();
    refit_items(&mut items_full, &values, &(0..30).collect::<Vec<u32>>()).unwrap();
    assert_eq!(items_part.user_factors, full.user_factors);
    for j in 0..30 {
        let want = if j == 0 || j == 29 {
            items_full.item_factors.row(j)
        } else {
            full.item_factors.row(j)
        };
        assert_eq!(items_part.item_factors.row(j), want, "item {j}");
    }
    // bad input
    assert!(
        recalculate_user(&model, &[(30, 1.0)], None, None)
            .unwrap_err()
            .to_string()
            .contains("out of range")
    );
    assert!(recalculate_user(&model, &[(1, f32::NAN)], None, None).is_err());
    assert!(refit_users(&mut part, &values, &[40]).is_err());
}
