//! All three solvers reach the same loss and held-out quality on a planted
//! dataset, and beat popularity.

mod common;

use common::{planted, planted_config, recall_at};
use wmf_host::Solver;
use wmf_host::als::Als;
use wmf_host::recommend::recommend_all;

fn train(solver: Solver, values: &wmf_host::Csr) -> (f64, Vec<Vec<u32>>) {
    let mut als = Als::<f32>::new(values, &planted_config(solver, 15)).unwrap();
    let mut losses = Vec::new();
    als.run(&mut |r| losses.push(r.loss.expect("loss every iteration")))
        .unwrap();
    assert_eq!(losses.len(), 15);
    // the loss never increases by more than rounding for exact ALS
    if solver == Solver::Cholesky {
        for w in losses.windows(2) {
            assert!(w[1] <= w[0] * (1.0 + 1e-5), "{losses:?}");
        }
    }
    let recs = recommend_all(als.w.view(), als.h.view(), 10, Some(values), 64).unwrap();
    let recs = recs
        .into_iter()
        .map(|r| r.into_iter().map(|s| s.item).collect())
        .collect();
    (*losses.last().unwrap(), recs)
}

#[test]
fn solvers_agree_within_two_percent_and_beat_popularity() {
    let (values, held) = planted(400, 300, 6, 25, 5, 21);
    let (l_chol, r_chol) = train(Solver::Cholesky, &values);
    let (l_cg, r_cg) = train(Solver::cg(3), &values);
    let (l_eals, r_eals) = train(Solver::Eals { sweeps: 1 }, &values);
    let (q_chol, q_cg, q_eals) = (
        recall_at(&r_chol, &held),
        recall_at(&r_cg, &held),
        recall_at(&r_eals, &held),
    );
    // popularity baseline: most frequent training items not seen by the user
    let counts = wmf_host::confidence::column_counts(&values);
    let scores: Vec<f32> = counts.iter().map(|&c| c as f32).collect();
    let pop: Vec<Vec<u32>> = (0..values.nrows)
        .map(|u| {
            wmf_host::recommend::select_top_n(&scores, 10, values.row(u).0)
                .unwrap()
                .into_iter()
                .map(|s| s.item)
                .collect()
        })
        .collect();
    let q_pop = recall_at(&pop, &held);
    println!("loss: cholesky {l_chol:.3} cg {l_cg:.3} eals {l_eals:.3}");
    println!("recall@10: cholesky {q_chol:.4} cg {q_cg:.4} eals {q_eals:.4} popularity {q_pop:.4}");
    for (name, l) in [("cg", l_cg), ("eals", l_eals)] {
        assert!(
            (l - l_chol).abs() <= 0.02 * l_chol,
            "{name} loss {l} vs cholesky {l_chol}"
        );
    }
    for (name, q) in [("cg", q_cg), ("eals", q_eals)] {
        assert!(
            (q - q_chol).abs() <= 0.02 * q_chol.max(q),
            "{name} recall {q} vs cholesky {q_chol}"
        );
    }
    assert!(q_chol > 1.5 * q_pop, "model {q_chol} vs popularity {q_pop}");
}
