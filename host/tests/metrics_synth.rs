//! Synthetic data + split + metrics together: the planted taste (the generator's
//! own draw distribution, a rank-r factorisation) must rank held-out items far
//! better than item popularity, and evaluation must be deterministic.

use wmf_host::metrics::{evaluate, evaluate_popularity};
use wmf_host::split::{Split, split};
use wmf_host::synth::{SynthConfig, generate};

#[test]
fn planted_taste_beats_popularity_on_held_out_items() {
    let s = generate(&SynthConfig {
        users: 1500,
        items: 800,
        nnz: 60_000,
        rank: 8,
        ..SynthConfig::default()
    })
    .unwrap();
    let (train, test) = split(&s.data, Split::Holdout { fraction: 0.2 }, 1).unwrap();
    let oracle = evaluate(s.user_taste.view(), s.item_taste.view(), &train, &test, 10).unwrap();
    let pop = evaluate_popularity(&train, &test, 10).unwrap();
    eprintln!("oracle {oracle:?}\npopularity {pop:?}");
    assert_eq!(oracle.users, pop.users);
    assert!(oracle.users > 1000);
    assert!(
        oracle.ndcg > 1.3 * pop.ndcg,
        "{} vs {}",
        oracle.ndcg,
        pop.ndcg
    );
    assert!(oracle.auc > pop.auc);
    for m in [&oracle, &pop] {
        for v in [m.precision, m.recall, m.ndcg, m.map, m.auc] {
            assert!((0.0..=1.0).contains(&v));
        }
    }
    // Same inputs, same numbers (parallel ranking, ordered reduction).
    let again = evaluate(s.user_taste.view(), s.item_taste.view(), &train, &test, 10).unwrap();
    assert_eq!(again, oracle);
}
