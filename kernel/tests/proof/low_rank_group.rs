//! The low-rank solve of a group of rows side by side
//! (`solve_rows_low_rank_folded` and its eigenbasis twin) against the
//! one-row solve: for every row the same result, bit for bit, in `f64` and
//! `f32`, unfused and fused, whitened and in the eigenbasis; rows it leaves
//! to the normal equations and rows with errors as alone; the group's own
//! argument errors.

use crate::common::{MIRI, Model, RowData, Spec, cast, rng, wide};
use crate::low_rank::eigen;
use wmf_kernel::{
    Baseline, EigenWhitened, Error, Factors, Fused, LOW_RANK_GROUP, LaneFold, PortableFold, Real,
    Row, Whitened, low_rank_group_scratch_len, low_rank_scratch_len,
    solve_row_low_rank_eigen_folded, solve_row_low_rank_folded, solve_rows_low_rank_eigen_folded,
    solve_rows_low_rank_folded, whiten_rows, whitening_factor,
};

/// Rows of every length from empty to past the cutoff, confidences lifted to
/// `c0` and above except in every seventh row (which the low-rank solve
/// declines), some cells exactly at `c0` (no weight).
fn model<T: Real>(seed: u64, k: usize, per_item: bool, explicit: bool, m: usize) -> Model<T> {
    let n = if MIRI { 8 } else { 2 * k + 30 };
    let mut model = Model::random(
        &mut rng(seed),
        Spec {
            m,
            n,
            k,
            per_item_c0: per_item,
            explicit_pref: explicit,
            density: 0.5,
        },
    );
    for (u, r) in model.rows.iter_mut().enumerate() {
        // lengths 0, 1, 2, ... (mod the cutoff and a bit)
        let keep = (u * 5) % (k + 4);
        r.items.truncate(keep);
        r.conf.truncate(keep);
        if let Some(p) = &mut r.pref {
            p.truncate(keep);
        }
        if u % 7 != 6 {
            for (t, c) in r.conf.iter_mut().enumerate() {
                let base = model.c0[r.items[t] as usize];
                *c = if t % 5 == 3 { base } else { base + *c };
            }
        }
    }
    model.cast::<T>()
}

/// Rows in groups of `LOW_RANK_GROUP` (the last partial), each group by
/// `group` and each row alone by `alone`: the same entry, the same bits in
/// `x` (and `x` untouched where the row was not taken).
fn same_as_alone<T: Real>(
    rows: &[RowData<T>],
    k: usize,
    lambda_of: impl Fn(usize) -> T,
    group: impl Fn(&[Row<'_, T>], &[T], &mut [T], &mut [T]) -> [Result<bool, Error>; LOW_RANK_GROUP],
    alone: impl Fn(&Row<'_, T>, T, &mut [T], &mut [T]) -> Result<bool, Error>,
) -> usize {
    let mut taken = 0;
    for (c, chunk) in rows.chunks(LOW_RANK_GROUP).enumerate() {
        let first = c * LOW_RANK_GROUP;
        let rs: Vec<Row<'_, T>> = chunk.iter().map(RowData::row).collect();
        let lambdas: Vec<T> = (0..rs.len()).map(|v| lambda_of(first + v)).collect();
        let n_max = rs.iter().map(Row::len).max().unwrap_or(0);
        let mut scratch = vec![T::from_f64(f64::NAN); low_rank_group_scratch_len(n_max, k)];
        let mut xs = vec![T::from_f64(7.0); rs.len() * k];
        let got = group(&rs, &lambdas, &mut scratch, &mut xs);
        for (v, row) in rs.iter().enumerate() {
            let mut one = vec![T::ZERO; low_rank_scratch_len(row.len(), k)];
            let mut x = vec![T::from_f64(7.0); k];
            let want = alone(row, lambdas[v], &mut one, &mut x);
            assert_eq!(got[v], want, "row {}", first + v);
            let gx = &xs[v * k..(v + 1) * k];
            let same = gx
                .iter()
                .zip(&x)
                .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits());
            assert!(
                same,
                "row {} (n_u = {}): {:?} vs {:?}",
                first + v,
                row.len(),
                wide(gx),
                wide(&x)
            );
            taken += usize::from(want == Ok(true));
        }
        assert!(got[rs.len()..].iter().all(|e| *e == Ok(false)));
    }
    taken
}

fn whitened_group<T: Real, F: LaneFold>(m: &Model<T>, lambda: T, fold: F) -> usize {
    let k = m.k;
    let mut l = vec![T::ZERO; k * k];
    whitening_factor(&m.g0, lambda, k, &mut l).unwrap();
    let mut hw = m.h.clone();
    whiten_rows(&l, k, &mut hw).unwrap();
    let w = Whitened::new(Factors::new(&hw, m.n, k).unwrap(), &l, m.baseline()).unwrap();
    same_as_alone(
        &m.rows,
        k,
        |_| lambda,
        |rs, _, scratch, xs| solve_rows_low_rank_folded(&w, rs, scratch, xs, fold),
        |row, _, scratch, x| solve_row_low_rank_folded(&w, row, scratch, x, fold),
    )
}

fn eigen_group<T: Real, F: LaneFold>(m: &Model<T>, fold: F) -> usize {
    let (n, k) = (m.n, m.k);
    let (q, e) = eigen(&wide(&m.g0), k);
    let h = wide(&m.h);
    let hq: Vec<f64> = (0..n * k)
        .map(|i| (0..k).map(|r| h[i / k * k + r] * q[r * k + i % k]).sum())
        .collect();
    let (q, e, hq): (Vec<T>, Vec<T>, Vec<T>) = (cast(&q), cast(&e), cast(&hq));
    let w = EigenWhitened::new(Factors::new(&hq, n, k).unwrap(), &q, &e, m.baseline()).unwrap();
    same_as_alone(
        &m.rows,
        k,
        |u| T::from_f64(0.05 + 0.1 * u as f64),
        |rs, lambdas, scratch, xs| {
            solve_rows_low_rank_eigen_folded(&w, rs, lambdas, scratch, xs, fold)
        },
        |row, lambda, scratch, x| {
            solve_row_low_rank_eigen_folded(&w, row, lambda, scratch, x, fold)
        },
    )
}

fn check_all<T: Real>() {
    let ks: &[usize] = if MIRI { &[3] } else { &[1, 3, 8, 17, 32, 64] };
    let mut taken = 0;
    for (s, &k) in ks.iter().enumerate() {
        for (per_item, explicit) in [(false, false), (true, true)] {
            let rows = if MIRI { 5 } else { 3 * LOW_RANK_GROUP + 5 };
            let m = model::<T>(60 + s as u64, k, per_item, explicit, rows);
            taken += whitened_group(&m, T::from_f64(0.3), PortableFold);
            taken += whitened_group(&m, T::from_f64(0.3), Fused(PortableFold));
            taken += eigen_group(&m, PortableFold);
            if !MIRI {
                taken += eigen_group(&m, Fused(PortableFold));
            }
        }
    }
    assert!(taken > 0);
}

#[test]
#[cfg_attr(miri, ignore = "Miri runs the f32 twin; the f64 one runs natively")]
fn every_row_as_alone_f64() {
    check_all::<f64>();
}

#[test]
fn every_row_as_alone_f32() {
    check_all::<f32>();
}

/// Rows with errors inside a group: each gets its own error (an item out of
/// range, a confidence that overflows `b̂`), the others their results.
#[test]
fn a_bad_row_fails_alone() {
    let k = 4;
    let mut m = model::<f32>(70, k, false, false, LOW_RANK_GROUP);
    m.rows[2].items = vec![0, m.n as u32];
    m.rows[2].conf = vec![2.0, 2.0];
    m.rows[5].items = vec![1, 3];
    m.rows[5].conf = vec![3.0e38, 3.0e38];
    m.rows[9].conf.iter_mut().for_each(|c| *c = f32::NAN);
    let taken = whitened_group(&m, 0.3, PortableFold);
    assert!(taken > 0);
}

#[test]
fn group_argument_errors() {
    let k = 2;
    let h = [1.0f64, 0.0, 0.0, 1.0, 0.5, 0.5];
    let l = [1.0, 0.0, 0.0, 1.0];
    let w = Whitened::new(Factors::new(&h, 3, k).unwrap(), &l, Baseline::Uniform(1.0)).unwrap();
    let (items, conf) = ([0u32, 2], [2.0, 3.0]);
    let row = Row::implicit(&items, &conf);
    let need = low_rank_group_scratch_len(2, k);
    // sizes that do not fit saturate (no overflow, no panic)
    assert_eq!(low_rank_group_scratch_len(usize::MAX, k), usize::MAX);
    assert_eq!(low_rank_group_scratch_len(usize::MAX / 2, 1), usize::MAX);
    let mut scratch = vec![0.0; need];
    // too many rows
    let rows = vec![row; LOW_RANK_GROUP + 1];
    let mut xs = vec![0.0; rows.len() * k];
    let got = solve_rows_low_rank_folded(&w, &rows, &mut scratch, &mut xs, PortableFold);
    assert!(
        got.iter()
            .all(|e| matches!(e, Err(Error::DimensionTooLarge { what: "rows", .. })))
    );
    // xs of the wrong length: every row's entry, nothing written
    let rows = [row; 3];
    let mut xs = vec![5.0; 3 * k + 1];
    let got = solve_rows_low_rank_folded(&w, &rows, &mut scratch, &mut xs, PortableFold);
    assert!(
        got[..3]
            .iter()
            .all(|e| matches!(e, Err(Error::LengthMismatch { what: "xs", .. })))
    );
    assert!(got[3..].iter().all(|e| *e == Ok(false)));
    assert!(xs.iter().all(|&v| v == 5.0));
    // scratch too short
    let mut xs = vec![5.0; 3 * k];
    let got =
        solve_rows_low_rank_folded(&w, &rows, &mut scratch[..need - 1], &mut xs, PortableFold);
    assert!(got[..3].iter().all(|e| matches!(
        e,
        Err(Error::LengthMismatch {
            what: "scratch",
            ..
        })
    )));
    // lambdas of the wrong length (eigenbasis)
    let (q, e) = ([1.0, 0.0, 0.0, 1.0], [1.0, 1.0]);
    let we = EigenWhitened::new(
        Factors::new(&h, 3, k).unwrap(),
        &q,
        &e,
        Baseline::Uniform(1.0),
    )
    .unwrap();
    let got = solve_rows_low_rank_eigen_folded(
        &we,
        &rows,
        &[0.1; 2],
        &mut scratch,
        &mut xs,
        PortableFold,
    );
    assert!(got[..3].iter().all(|e| matches!(
        e,
        Err(Error::LengthMismatch {
            what: "lambdas",
            ..
        })
    )));
    // and the whole group, right
    let got = solve_rows_low_rank_folded(&w, &rows, &mut scratch, &mut xs, PortableFold);
    assert!(got[..3].iter().all(|e| *e == Ok(true)));
}
