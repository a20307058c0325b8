//! Scoring and top-N against a sort-based reference, ties and exclusions included.

use crate::common::{reference, rng, trials};
use rand::Rng;
use wmf_kernel::{
    Error, Factors, TOP_N_ONE_PASS, score_items, select_top_n_into, top_n, top_n_into,
};

/// Item factors with small integer entries so that many scores tie exactly.
fn tied_case(seed: u64) -> (Vec<f64>, Vec<f64>, usize, usize, Vec<u32>) {
    let mut r = rng(seed + 900);
    let n = r.gen_range(1..if crate::common::MIRI { 8 } else { 40 });
    let k = r.gen_range(1..4);
    let h: Vec<f64> = (0..n * k)
        .map(|_| r.gen_range(-2i32..3) as f64 * 0.5)
        .collect();
    let w: Vec<f64> = (0..k).map(|_| r.gen_range(-1i32..3) as f64).collect();
    let exclude: Vec<u32> = (0..n as u32).filter(|_| r.gen_bool(0.25)).collect();
    (h, w, n, k, exclude)
}

#[test]
fn top_n_into_matches_sort_reference_with_ties() {
    for seed in 0..trials(60, 4) as u64 {
        let (h, w, n, k, exclude) = tied_case(seed);
        let f = Factors::new(&h, n, k).unwrap();
        let mut scores = vec![0.0; n];
        score_items(&f, &w, &mut scores).unwrap();
        for (j, s) in scores.iter().enumerate() {
            assert_eq!(*s, reference::dot(&w, &h[j * k..(j + 1) * k]));
        }
        for cap in [1, 2, 3, n, n + 4] {
            let (mut items, mut sc) = (vec![u32::MAX; cap], vec![-7.0; cap]);
            let got = top_n_into(&f, &w, &exclude, &mut items, &mut sc).unwrap();
            let want = reference::top_n(&scores, &exclude, cap);
            assert_eq!(got, want.len(), "seed {seed} cap {cap}");
            assert_eq!(got, cap.min(n - exclude.len()));
            let pairs: Vec<(u32, f64)> = items
                .iter()
                .copied()
                .zip(sc.iter().copied())
                .take(got)
                .collect();
            assert_eq!(pairs, want, "seed {seed} cap {cap}");
            // beyond the count, outputs are untouched
            assert!(
                items[got..].iter().all(|&i| i == u32::MAX) && sc[got..].iter().all(|&s| s == -7.0)
            );
        }
    }
}

#[test]
fn top_n_heapless_equals_top_n_into() {
    for seed in 0..trials(30, 2) as u64 {
        let (h, w, n, k, exclude) = tied_case(seed);
        let f = Factors::new(&h, n, k).unwrap();
        let v = top_n::<f64, 5>(&f, &w, &exclude).unwrap();
        let (mut items, mut sc) = ([0u32; 5], [0.0; 5]);
        let got = top_n_into(&f, &w, &exclude, &mut items, &mut sc).unwrap();
        assert_eq!(v.len(), got);
        for (t, s) in v.iter().enumerate() {
            assert_eq!((s.item, s.score), (items[t], sc[t]));
        }
    }
}

#[test]
fn top_n_edge_cases() {
    // all equal: ascending item order
    let h = [1.0f32; 6];
    let f = Factors::new(&h, 6, 1).unwrap();
    let best = top_n::<f32, 4>(&f, &[2.0], &[1, 4]).unwrap();
    assert_eq!(
        best.iter().map(|s| s.item).collect::<Vec<_>>(),
        [0, 2, 3, 5]
    );
    // everything excluded: nothing written
    let (mut items, mut sc) = ([9u32; 2], [9.0f32; 2]);
    assert_eq!(
        top_n_into(&f, &[1.0], &[0, 1, 2, 3, 4, 5], &mut items, &mut sc),
        Ok(0)
    );
    assert_eq!((items, sc), ([9; 2], [9.0; 2]));
    // negative zero ties with zero
    let h = [0.0f64, -0.0, 1.0];
    let f = Factors::new(&h, 3, 1).unwrap();
    let best = top_n::<f64, 3>(&f, &[1.0], &[]).unwrap();
    assert_eq!(best.iter().map(|s| s.item).collect::<Vec<_>>(), [2, 0, 1]);
    // errors, outputs untouched
    let (mut items, mut sc) = ([9u32; 2], [9.0f64; 2]);
    assert_eq!(
        top_n_into(&f, &[1.0], &[2, 1], &mut items, &mut sc),
        Err(Error::NotAscending {
            what: "exclude",
            position: 1
        })
    );
    assert_eq!(
        top_n_into(&f, &[1.0], &[3], &mut items, &mut sc),
        Err(Error::IndexOutOfRange {
            what: "exclude",
            position: 0,
            index: 3,
            bound: 3
        })
    );
    assert_eq!(
        top_n_into(&f, &[1.0], &[], &mut items, &mut [0.0; 1]),
        Err(Error::LengthMismatch {
            what: "out_scores",
            expected: 2,
            actual: 1
        })
    );
    assert_eq!(
        top_n_into(&f, &[1.0], &[], &mut [], &mut []),
        Err(Error::ZeroDimension { what: "capacity" })
    );
    assert_eq!((items, sc), ([9; 2], [9.0; 2]));
    // overflowing scores are an error, not an inf in the ranking
    let h = [3e38f32, 3e38, 1.0, 1.0];
    let f = Factors::new(&h, 2, 2).unwrap();
    assert_eq!(
        top_n::<f32, 2>(&f, &[1.0, 1.0], &[]),
        Err(Error::NonFiniteResult { what: "scores" })
    );
    assert_eq!(
        score_items(&f, &[1.0, 1.0], &mut [0.0; 2]),
        Err(Error::NonFiniteResult { what: "scores" })
    );
}

/// Lists up to [`TOP_N_ONE_PASS`] long (one pass, kept on the stack) and
/// longer ones (the outputs as the list, after a checking pass) rank alike,
/// and a score that overflows, at an excluded item or not, anywhere in the
/// scan, fails both with nothing written.
#[test]
fn one_pass_and_two_pass_lists_agree() {
    let n = if crate::common::MIRI { 40 } else { 90 };
    let mut r = rng(4242);
    let k = 3;
    let h: Vec<f32> = (0..n * k)
        .map(|_| r.gen_range(-3i32..4) as f32 * 0.25)
        .collect();
    let w = [1.0f32, -0.5, 2.0];
    let exclude: Vec<u32> = (0..n as u32).filter(|j| j % 7 == 3).collect();
    let f = Factors::new(&h, n, k).unwrap();
    let mut scores = vec![0.0; n];
    score_items(&f, &w, &mut scores).unwrap();
    let scores64: Vec<f64> = scores.iter().map(|&s| f64::from(s)).collect();
    let t = TOP_N_ONE_PASS;
    for cap in [1, t - 1, t, t + 1, 2 * t, n] {
        let (mut items, mut sc) = (vec![u32::MAX; cap], vec![-7.0f32; cap]);
        let got = top_n_into(&f, &w, &exclude, &mut items, &mut sc).unwrap();
        let want = crate::common::reference::top_n(&scores64, &exclude, cap);
        let pairs: Vec<(u32, f64)> = (0..got).map(|i| (items[i], f64::from(sc[i]))).collect();
        assert_eq!(pairs, want, "cap {cap}");
        for bad in [0, n / 2, n - 1, 3 /* excluded */] {
            let mut hb = h.clone();
            hb[bad * k..(bad + 1) * k].copy_from_slice(&[3e38, 0.0, 3e38]);
            let fb = Factors::new(&hb, n, k).unwrap();
            let (mut items, mut sc) = (vec![u32::MAX; cap], vec![-7.0f32; cap]);
            assert_eq!(
                top_n_into(&fb, &w, &exclude, &mut items, &mut sc),
                Err(Error::NonFiniteResult { what: "scores" }),
                "cap {cap}, item {bad}"
            );
            assert!(items.iter().all(|&i| i == u32::MAX) && sc.iter().all(|&s| s == -7.0));
        }
    }
}

#[test]
fn select_top_n_into_equals_top_n_into_and_the_reference() {
    for seed in 0..trials(60, 4) as u64 {
        let (h, w, n, k, exclude) = tied_case(seed);
        let f = Factors::new(&h, n, k).unwrap();
        let mut scores = vec![0.0; n];
        score_items(&f, &w, &mut scores).unwrap();
        for cap in [1, 2, 3, n, n + 4] {
            let (mut a_items, mut a_sc) = (vec![u32::MAX; cap], vec![-7.0; cap]);
            let (mut b_items, mut b_sc) = (vec![u32::MAX; cap], vec![-7.0; cap]);
            let a = top_n_into(&f, &w, &exclude, &mut a_items, &mut a_sc).unwrap();
            let b = select_top_n_into(&scores, &exclude, &mut b_items, &mut b_sc).unwrap();
            assert_eq!(
                (a, &a_items, &a_sc),
                (b, &b_items, &b_sc),
                "seed {seed} cap {cap}"
            );
            let want = reference::top_n(&scores, &exclude, cap);
            let got: Vec<(u32, f64)> = b_items.iter().copied().zip(b_sc).take(b).collect();
            assert_eq!(got, want, "seed {seed} cap {cap}");
        }
    }
}

#[test]
fn select_top_n_into_rejects_bad_input_and_writes_nothing() {
    let (mut items, mut sc) = ([9u32; 2], [9.0f32; 2]);
    let nan = [1.0f32, 2.0, f32::NAN];
    assert_eq!(
        select_top_n_into(&nan, &[], &mut items, &mut sc),
        Err(Error::NonFinite {
            what: "scores",
            index: 2
        })
    );
    let inf = [f32::NEG_INFINITY, 0.0];
    assert_eq!(
        select_top_n_into(&inf, &[], &mut items, &mut sc),
        Err(Error::NonFinite {
            what: "scores",
            index: 0
        })
    );
    let ok = [1.0f32, 2.0, 3.0];
    assert_eq!(
        select_top_n_into(&ok, &[3], &mut items, &mut sc),
        Err(Error::IndexOutOfRange {
            what: "exclude",
            position: 0,
            index: 3,
            bound: 3
        })
    );
    assert_eq!(
        select_top_n_into(&ok, &[1, 1], &mut items, &mut sc),
        Err(Error::NotAscending {
            what: "exclude",
            position: 1
        })
    );
    assert_eq!(
        select_top_n_into::<f32>(&[], &[], &mut items, &mut sc),
        Err(Error::ZeroDimension { what: "scores" })
    );
    assert_eq!(
        select_top_n_into(&ok, &[], &mut [], &mut []),
        Err(Error::ZeroDimension { what: "capacity" })
    );
    assert!(matches!(
        select_top_n_into(&ok, &[], &mut items, &mut [0.0f32; 3]),
        Err(Error::LengthMismatch { .. })
    ));
    assert_eq!((items, sc), ([9; 2], [9.0; 2]));
    // everything excluded: nothing written, count 0
    assert_eq!(
        select_top_n_into(&ok, &[0, 1, 2], &mut items, &mut sc),
        Ok(0)
    );
    assert_eq!((items, sc), ([9; 2], [9.0; 2]));
}
