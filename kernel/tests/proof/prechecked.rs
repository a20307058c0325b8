//! Checking a matrix once instead of each row on every call:
//! `check_csr_rows` gives exactly the error `Items::check_row` gives for the
//! first failing row (or for `indptr`), and `solve_rows_cg_prechecked` is
//! `solve_rows_cg` bit for bit on checked rows, and fails cleanly (no panic,
//! no non-finite `x`, the documented errors) on rows that would not pass.

use proptest::prelude::*;
use rand::Rng;
use wmf_kernel::{
    Baseline, CgParams, Error, Factors, Items, Real, Row, check_csr_rows, solve_row_cg,
    solve_rows_cg_prechecked,
};

use crate::common::rng;
use crate::hostile::{Case, Corruption, Target, all_finite, corrupt, corruption};

/// Few cases under Miri (each case is interpreted), no failure files, no forking.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 512 },
        failure_persistence: None,
        fork: false,
        ..ProptestConfig::default()
    }
}

/// What can go wrong with a matrix in CSR form.
#[derive(Debug, Clone, Copy)]
enum Defect {
    None,
    /// An item index `>= n` at a cell.
    OutOfRange(usize),
    /// A cell's index repeated from the cell before it (within a row or across a row start).
    Repeat(usize),
    /// A cell swapped with the one before it.
    Swap(usize),
    /// A confidence set to a bad value.
    Conf(usize, f32),
    /// An offset lowered below the one before it.
    OffsetDown(usize),
    /// The last offset past the end of the cells.
    PastEnd,
}

fn defect() -> impl Strategy<Value = Defect> {
    prop_oneof![
        2 => Just(Defect::None),
        1 => (0usize..1000).prop_map(Defect::OutOfRange),
        1 => (0usize..1000).prop_map(Defect::Repeat),
        1 => (0usize..1000).prop_map(Defect::Swap),
        1 => (
            0usize..1000,
            prop_oneof![Just(-1.0f32), Just(-0.0), Just(f32::NAN), Just(f32::INFINITY)]
        )
            .prop_map(|(p, v)| Defect::Conf(p, v)),
        1 => (0usize..1000).prop_map(Defect::OffsetDown),
        1 => Just(Defect::PastEnd),
    ]
}

/// A random matrix: `rows` rows over `n` items, each row a strictly
/// ascending random subset (some empty, some long enough for the 16-lane
/// chunks), positive confidences.
fn matrix(seed: u64, rows: usize, n: usize) -> (Vec<u64>, Vec<u32>, Vec<f32>) {
    let mut r = rng(seed);
    let mut indptr = vec![0u64];
    let mut items = Vec::new();
    for _ in 0..rows {
        let p = [0.0, 0.1, 0.5, 0.9][r.gen_range(0..4)];
        items.extend((0..n as u32).filter(|_| r.gen_bool(p)));
        indptr.push(items.len() as u64);
    }
    let conf = items.iter().map(|_| r.gen_range(0.0..5.0f32)).collect();
    (indptr, items, conf)
}

/// The definition: `indptr` ascending and within the cells, then every row
/// through `Items::check_row`, the first failure named.
fn reference(indptr: &[u64], items: &[u32], conf: &[f32], n: usize) -> Result<(), (usize, Error)> {
    let end = items.len().min(conf.len());
    for (i, w) in indptr.windows(2).enumerate() {
        if w[1] < w[0] {
            return Err((
                i,
                Error::NotAscending {
                    what: "indptr",
                    position: i + 1,
                },
            ));
        }
    }
    for (i, &p) in indptr.iter().enumerate() {
        if p as usize > end {
            return Err((
                i.saturating_sub(1),
                Error::IndexOutOfRange {
                    what: "indptr",
                    position: i,
                    index: p as usize,
                    bound: end,
                },
            ));
        }
    }
    let h = vec![0.0f32; n];
    let g0 = [0.0f32];
    let fixed = Items::new(Factors::new(&h, n, 1).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
    for (i, w) in indptr.windows(2).enumerate() {
        let (a, b) = (w[0] as usize, w[1] as usize);
        fixed
            .check_row(&Row::implicit(&items[a..b], &conf[a..b]))
            .map_err(|e| (i, e))?;
    }
    Ok(())
}

/// `Defect` applied to a valid matrix (a no-op where it does not apply).
fn apply(d: Defect, indptr: &mut [u64], items: &mut [u32], conf: &mut [f32], n: usize) {
    let cells = items.len();
    match d {
        Defect::None => {}
        Defect::OutOfRange(p) if cells > 0 => items[p % cells] = n as u32 + (p % 3) as u32,
        Defect::Repeat(p) if cells > 1 => {
            let p = 1 + p % (cells - 1);
            items[p] = items[p - 1];
        }
        Defect::Swap(p) if cells > 1 => items.swap(p % (cells - 1), p % (cells - 1) + 1),
        Defect::Conf(p, v) if cells > 0 => conf[p % cells] = v,
        Defect::OffsetDown(p) if indptr.len() > 2 => {
            let i = 1 + p % (indptr.len() - 2);
            if indptr[i - 1] > 0 {
                indptr[i] = indptr[i - 1] - 1;
            }
        }
        Defect::PastEnd => {
            if let Some(last) = indptr.last_mut() {
                *last += 1;
            }
        }
        _ => {}
    }
}

fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

/// `solve_rows_cg_prechecked` (one row) beside `solve_row_cg` on one case.
fn one_row<T: Real>(seed: u64, n: usize, k: usize, c: &Corruption) -> Result<(), TestCaseError> {
    let mut case = Case::<T>::new(seed, n, k);
    let (expected, short) = corrupt(&mut case, c, Target::Cg);
    let items = case.items();
    let params = CgParams {
        steps: 2 * k,
        tol: 0.0,
    };
    let len = if short { 3 * k - 1 } else { 3 * k };
    let mut want_x = case.w.clone();
    let want = solve_row_cg(
        &items,
        &case.row(),
        case.lambda,
        &mut want_x,
        params,
        &mut vec![T::ZERO; len],
    );
    let mut x = case.w.clone();
    let [got] = solve_rows_cg_prechecked::<T, _, 1>(
        &items,
        &[case.row()],
        &[case.lambda],
        &mut x,
        params,
        &mut vec![T::ZERO; len],
    );
    match expected {
        // A valid call: the checked solve's report (or overflow) and bits.
        None => {
            prop_assert_eq!(got, want, "{:?}", c);
            prop_assert_eq!(bits(&x), bits(&want_x), "{:?}", c);
        }
        // Still checked: the same error, x untouched.
        Some(
            e @ (Error::Negative { what: "lambda", .. }
            | Error::NonFinite { what: "lambda", .. }
            | Error::LengthMismatch {
                what: "x" | "scratch",
                ..
            }),
        ) => {
            prop_assert_eq!(got, Err(e), "{:?}", c);
            prop_assert_eq!(bits(&x), bits(&case.w), "{:?}", c);
        }
        // A non-finite value where the checked solve names it: the first
        // residual is non-finite, x untouched.
        Some(Error::NonFinite {
            what: "conf" | "pref" | "x",
            ..
        }) => {
            prop_assert_eq!(
                got,
                Err(Error::NonFiniteResult { what: "residual" }),
                "{:?}",
                c
            );
            prop_assert_eq!(bits(&x), bits(&case.w), "{:?}", c);
        }
        // Anything else the checks would have caught (a cell out of range,
        // unsorted or repeated items, a negative confidence, lengths that
        // differ): no panic, and x finite whatever the outcome.
        Some(e) => {
            let clean = matches!(got, Ok(_) | Err(Error::NonFiniteResult { .. }));
            prop_assert!(clean, "{:?} (checked: {:?}): {:?}", c, e, got);
            prop_assert!(all_finite(&x), "{:?}: non-finite x", c);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// `check_csr_rows` is the row-by-row definition, on valid matrices and
    /// with one defect: the same `Ok` or the same first error.
    #[test]
    fn check_csr_rows_is_check_row_for_every_row(
        seed in any::<u64>(),
        rows in 0usize..12,
        n in prop_oneof![1usize..6, 30usize..41],
        d in defect(),
        sub in any::<bool>(),
    ) {
        let (mut indptr, mut items, mut conf) = matrix(seed, rows, n);
        apply(d, &mut indptr, &mut items, &mut conf, n);
        let want = reference(&indptr, &items, &conf, n);
        prop_assert_eq!(check_csr_rows(&indptr, &items, &conf, n), want, "{:?}", d);
        // A block of rows (offsets that do not start at 0), as the host checks.
        if sub && indptr.len() > 2 {
            let block = &indptr[1..];
            let want = reference(block, &items, &conf, n);
            prop_assert_eq!(check_csr_rows(block, &items, &conf, n), want, "block, {:?}", d);
        }
    }

    /// The prechecked lock-step CG against the checked single-row CG, one
    /// corruption of a valid call at a time (see `one_row`).
    #[test]
    fn prechecked_cg_agrees_or_fails_cleanly(
        seed in any::<u64>(),
        n in prop_oneof![1usize..9, 30usize..41],
        k in prop_oneof![1usize..7, 16usize..19],
        c in corruption(),
    ) {
        one_row::<f32>(seed, n, k, &c)?;
        // Under Miri the f32 instantiation only (see main.rs).
        if !cfg!(miri) {
            one_row::<f64>(seed, n, k, &c)?;
        }
    }
}
