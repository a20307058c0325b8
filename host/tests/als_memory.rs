//! The low-memory construction of a training problem (`Problem::from_values`,
//! `Als::from_values`: raw values taken over, confidences in place, item side
//! transposed from the user side, factors not copied) builds exactly what the
//! copying construction builds, and trains to the same bits.

mod common;

use common::random_values;
use ndarray::{Array2, ShapeBuilder};
use wmf_host::als::{Als, Problem, Side, init_factors};
use wmf_host::confidence::confidence_matrix;
use wmf_host::gramian::Float;
use wmf_host::{BaselineWeight, Confidence, Csr, RegScaling, Solver, TrainConfig};

fn configs() -> Vec<TrainConfig> {
    let base = TrainConfig {
        k: 5,
        iterations: 3,
        threads: 2,
        ..TrainConfig::default()
    };
    vec![
        TrainConfig {
            confidence: Confidence::Linear { alpha: 2.0 },
            solver: Solver::cg(3),
            ..base.clone()
        },
        TrainConfig {
            confidence: Confidence::Log {
                alpha: 1.5,
                eps: 0.5,
            },
            reg_scaling: RegScaling::Frequency { nu: 0.5 },
            baseline: BaselineWeight::Popularity { c0: 4.0, beta: 0.5 },
            solver: Solver::Cholesky,
            ..base.clone()
        },
        TrainConfig {
            confidence: Confidence::AsIs,
            solver: Solver::Eals { sweeps: 1 },
            ..base
        },
    ]
}

/// The problem as it was built before `from_values`: a confidence copy, a
/// side copied from it, and a side copied from its `Csr` transpose.
fn copying_reference<T: Float>(values: &Csr, config: &TrainConfig) -> (Side<T>, Side<T>) {
    let conf = confidence_matrix(values, config.confidence).unwrap();
    (Side::from_csr(&conf), Side::from_csr(&conf.transpose()))
}

fn check_same_problem<T: Float + std::fmt::Debug>() {
    let values = random_values(70, 40, 0.15, 3);
    for config in configs() {
        let (users, items) = copying_reference::<T>(&values, &config);
        let p = Problem::<T>::from_values(values.clone(), &config).unwrap();
        assert_eq!(p.users, users, "{config:?}");
        assert_eq!(p.items, items, "{config:?}");
        let q = Problem::<T>::new(&values, &config).unwrap();
        assert_eq!(
            (&p.c0, &p.c0_uniform, &p.user_lambda, &p.item_lambda),
            (&q.c0, &q.c0_uniform, &q.user_lambda, &q.item_lambda),
            "{config:?}"
        );
    }
}

#[test]
fn from_values_builds_the_copying_problem_f32() {
    check_same_problem::<f32>();
}

#[test]
fn from_values_builds_the_copying_problem_f64() {
    check_same_problem::<f64>();
}

#[test]
fn f32_user_side_keeps_the_values_allocation() {
    let values = random_values(50, 30, 0.2, 4);
    let (idx, val) = (values.indices.as_ptr(), values.values.as_ptr());
    let p = Problem::<f32>::from_values(values, &configs()[0]).unwrap();
    assert_eq!(p.users.indices.as_ptr(), idx);
    assert_eq!(p.users.conf.as_ptr(), val.cast());
}

#[test]
fn from_values_trains_to_the_same_bits() {
    let values = random_values(80, 50, 0.12, 5);
    for config in configs() {
        let mut a = Als::<f32>::new(&values, &config).unwrap();
        let mut b = Als::<f32>::from_values(values.clone(), &config).unwrap();
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        a.run(&mut |r| la.push(r.loss.expect("loss every iteration")))
            .unwrap();
        b.run(&mut |r| lb.push(r.loss.expect("loss every iteration")))
            .unwrap();
        assert_eq!(a.w, b.w, "{config:?}");
        assert_eq!(a.h, b.h, "{config:?}");
        assert_eq!(la, lb, "{config:?}");
    }
}

#[test]
fn from_values_reports_bad_values_by_row_and_column() {
    let x = Csr::from_triplets(2, 3, &[(0, 0, 1.0), (1, 2, -1.0)]).unwrap();
    let e = Problem::<f32>::from_values(x, &configs()[0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 1, column 2"), "{e}");
}

#[test]
fn row_major_factors_are_not_copied_and_others_are_converted() {
    let values = random_values(30, 20, 0.3, 6);
    let config = &configs()[0];
    let problem = Problem::<f32>::new(&values, config).unwrap();
    let (w, h) = init_factors::<f32>(30, 20, config.k, config.seed);
    let reference = w.clone();
    let wp = w.as_ptr();
    let als = Als::with_factors(problem.clone(), config, w, h.clone()).unwrap();
    assert_eq!(als.w.as_ptr(), wp, "a row-major W must be kept, not copied");
    assert_eq!(als.w, reference);
    let col_major =
        Array2::from_shape_vec((30, config.k).f(), reference.t().iter().copied().collect())
            .unwrap();
    assert!(!col_major.is_standard_layout());
    let als_f = Als::with_factors(problem, config, col_major, h).unwrap();
    assert!(als_f.w.is_standard_layout());
    assert_eq!(als_f.w, reference);
}
