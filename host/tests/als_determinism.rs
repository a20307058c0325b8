//! Same seed and threads: identical factors; `threads` honoured exactly.

mod common;

use common::random_values;
use wmf_host::als::Als;
use wmf_host::{BaselineWeight, Solver, TrainConfig};

fn run(threads: usize, seed: u64, solver: Solver) -> (Vec<f32>, Vec<f32>, Vec<f64>) {
    let values = random_values(120, 90, 0.1, 8);
    let cfg = TrainConfig {
        k: 6,
        iterations: 4,
        solver,
        seed,
        threads,
        baseline: BaselineWeight::Popularity {
            c0: 20.0,
            beta: 0.5,
        },
        ..TrainConfig::default()
    };
    let mut als = Als::<f32>::new(&values, &cfg).unwrap();
    assert_eq!(als.threads(), threads);
    let mut losses = Vec::new();
    als.run(&mut |r| losses.push(r.loss.expect("loss every iteration")))
        .unwrap();
    (
        als.w.iter().copied().collect(),
        als.h.iter().copied().collect(),
        losses,
    )
}

#[test]
fn deterministic_for_seed_and_threads() {
    for solver in [Solver::Cholesky, Solver::cg(3), Solver::Eals { sweeps: 1 }] {
        let a = run(2, 5, solver);
        assert_eq!(a, run(2, 5, solver), "{solver:?}");
        // rows are independent of scheduling, so even the thread count does not matter
        assert_eq!(a, run(1, 5, solver), "{solver:?}");
        assert_eq!(a, run(3, 5, solver), "{solver:?}");
        assert_ne!(a.0, run(2, 6, solver).0, "{solver:?}: the seed must matter");
    }
}

#[test]
fn bad_configs_are_rejected_before_work() {
    let values = random_values(5, 5, 0.5, 1);
    let cases: Vec<(TrainConfig, &str)> = vec![
        (
            TrainConfig {
                k: 0,
                ..TrainConfig::default()
            },
            "-k",
        ),
        (
            TrainConfig {
                k: 257,
                ..TrainConfig::default()
            },
            "-k",
        ),
        (
            TrainConfig {
                iterations: 0,
                ..TrainConfig::default()
            },
            "--iterations",
        ),
        (
            TrainConfig {
                lambda: -1.0,
                ..TrainConfig::default()
            },
            "--lambda",
        ),
        (
            TrainConfig {
                threads: 0,
                ..TrainConfig::default()
            },
            "--threads",
        ),
        (
            TrainConfig {
                solver: Solver::cg(0),
                ..TrainConfig::default()
            },
            "--cg-steps",
        ),
    ];
    for (cfg, flag) in cases {
        let err = Als::<f32>::new(&values, &cfg).unwrap_err().to_string();
        assert!(err.contains(flag), "{err} should name {flag}");
    }
    let empty = wmf_host::Csr::from_triplets(3, 3, &[]).unwrap();
    let err = Als::<f32>::new(&empty, &TrainConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no interactions"), "{err}");
}

#[test]
fn singular_system_names_the_row() {
    // lambda = 0 and c0 = 0: a user with one interaction has a rank-1 system
    // for k = 2, so Cholesky must fail with the row named. (k larger than the
    // items with lambda = 0 is refused before training: als::check_rank.)
    let values = wmf_host::Csr::from_triplets(
        3,
        3,
        &[
            (0, 0, 1.0),
            (0, 1, 2.0),
            (1, 2, 1.0),
            (2, 0, 1.0),
            (2, 2, 3.0),
        ],
    )
    .unwrap();
    let cfg = TrainConfig {
        k: 2,
        lambda: 0.0,
        baseline: wmf_host::BaselineWeight::Uniform { c0: 0.0 },
        solver: Solver::Cholesky,
        iterations: 1,
        threads: 1,
        ..TrainConfig::default()
    };
    let ids = wmf_host::ids::IdMap::sequential(3);
    let items = wmf_host::ids::IdMap::sequential(3);
    let err = wmf_host::als::train_model(&values, ids, items, &cfg, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("solving user 1 (id \"1\")") && err.contains("--lambda"),
        "{err}"
    );
}

/// `with_loss_every(3)` over 7 iterations evaluates the loss after
/// iterations 3, 6 and 7 only, with the values an every-iteration run
/// reports there, and trains the same factors bit for bit.
#[test]
fn loss_every_n_skips_evaluations_not_work() {
    let values = random_values(120, 90, 0.1, 8);
    let cfg = TrainConfig {
        k: 6,
        iterations: 7,
        solver: Solver::cg(3),
        threads: 2,
        ..TrainConfig::default()
    };
    let train = |every: usize| {
        let mut als = Als::<f32>::new(&values, &cfg)
            .unwrap()
            .with_loss_every(every);
        let mut reports = Vec::new();
        als.run(&mut |r| reports.push((r.iteration, r.loss)))
            .unwrap();
        (als.w, als.h, reports)
    };
    let (w1, h1, each) = train(1);
    let (w3, h3, some) = train(3);
    assert_eq!((w1, h1), (w3, h3), "the loss never changes the factors");
    let evaluated: Vec<usize> = some
        .iter()
        .filter(|(_, l)| l.is_some())
        .map(|(it, _)| *it)
        .collect();
    assert_eq!(evaluated, [3, 6, 7]);
    for ((it, l3), (_, l1)) in some.iter().zip(&each) {
        assert!(l1.is_some(), "iteration {it}: every-iteration run");
        if l3.is_some() {
            assert_eq!(l3, l1, "iteration {it}");
        }
    }
    assert!(
        wmf_host::als::loss_due(2, 5, 0),
        "0 counts as every iteration"
    );
}
