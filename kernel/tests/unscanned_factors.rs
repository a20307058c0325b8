//! `Factors::with_shape` skips the scan for NaN and infinity; every function
//! that reads the factors must then report the bad value as
//! `NonFiniteResult` (or succeed when the bad row is never read), and never
//! return a non-finite output.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wmf_kernel::{
    Baseline, CgParams, Error, Factors, Items, Row, gradient_step_row, gramian, row_gradient,
    row_loss, row_normal_equations, score_items, solve_row_cg, solve_row_cholesky, solve_row_eals,
    top_n_into,
};

const N: usize = 12;
const K: usize = 4;

fn ok_or_overflow<T>(r: Result<T, Error>, what: &str) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::NonFiniteResult { .. }) => None,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

#[test]
fn a_non_finite_factor_never_becomes_a_non_finite_result() {
    let mut rng = StdRng::seed_from_u64(7);
    let bads = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    // Under Miri every bad value, row kind and target once or twice.
    for case in 0..if cfg!(miri) { 12 } else { 60 } {
        let good: Vec<f64> = (0..N * K).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut g0 = vec![0.0; K * K];
        gramian(
            &Factors::new(&good, N, K).unwrap(),
            Baseline::Uniform(1.0),
            &mut g0,
        )
        .unwrap();
        let mut h = good.clone();
        let bad_at = rng.gen_range(0..N * K);
        h[bad_at] = bads[case % bads.len()];
        let bad_item = (bad_at / K) as u32;
        let f = Factors::with_shape(&h, N, K).unwrap();
        assert_eq!(
            Factors::new(&h, N, K).unwrap_err(),
            Error::NonFinite {
                what: "factors",
                index: bad_at
            }
        );
        let items = Items::new(f, &g0, Baseline::Uniform(1.0)).unwrap();
        // Half the cases the row touches the bad item.
        let row_items: Vec<u32> = if case % 2 == 0 {
            vec![0, bad_item.max(1)]
        } else {
            vec![0, 1, 2]
        };
        let row_items: Vec<u32> = {
            let mut v = row_items;
            v.sort_unstable();
            v.dedup();
            v
        };
        let conf = vec![3.0; row_items.len()];
        let row = Row::implicit(&row_items, &conf);
        let w = [0.3, -0.2, 0.1, 0.5];

        if let Some(l) = ok_or_overflow(row_loss(&items, &row, 0.1, &w), "row_loss") {
            assert!(l.is_finite());
        }
        let mut g = [0.0; K];
        if ok_or_overflow(row_gradient(&items, &row, 0.1, &w, &mut g), "row_gradient").is_some() {
            assert!(all_finite(&g));
        }
        let (mut a, mut b) = ([0.0; K * K], [0.0; K]);
        if ok_or_overflow(
            row_normal_equations(&items, &row, 0.1, &mut a, &mut b),
            "normal",
        )
        .is_some()
        {
            assert!(all_finite(&a) && all_finite(&b));
        }
        let mut x = [0.0; K];
        match solve_row_cholesky(&items, &row, 0.1, &mut a, &mut x) {
            Ok(()) => assert!(all_finite(&x)),
            Err(Error::NonFiniteResult { .. } | Error::NotPositiveDefinite { .. }) => {}
            Err(e) => panic!("cholesky: {e:?}"),
        }
        let mut x = w;
        let mut scratch = [0.0; 3 * K];
        if ok_or_overflow(
            solve_row_cg(
                &items,
                &row,
                0.1,
                &mut x,
                CgParams { steps: 8, tol: 0.0 },
                &mut scratch,
            ),
            "cg",
        )
        .is_some()
        {
            assert!(all_finite(&x));
        }
        let mut x = w;
        let mut pred = [0.0; 3];
        if ok_or_overflow(
            solve_row_eals(&items, &row, 0.1, &mut x, 3, &mut pred),
            "eals",
        )
        .is_some()
        {
            assert!(all_finite(&x));
        }
        let mut x = w;
        if ok_or_overflow(
            gradient_step_row(&items, &row, 0.1, &mut x, 0.01, &mut g),
            "sgd",
        )
        .is_some()
        {
            assert!(all_finite(&x));
        }
        let mut s = [0.0; N];
        assert!(
            ok_or_overflow(score_items(&f, &w, &mut s), "score").is_none(),
            "every item is scored"
        );
        let (mut ti, mut ts) = ([0u32; 3], [0.0; 3]);
        assert!(ok_or_overflow(top_n_into(&f, &w, &[], &mut ti, &mut ts), "top_n").is_none());
        let mut g2 = [0.0; K * K];
        assert!(ok_or_overflow(gramian(&f, Baseline::Uniform(1.0), &mut g2), "gramian").is_none());
    }
}
