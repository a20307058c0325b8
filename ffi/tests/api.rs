//! Rust-side tests of the C ABI: the `extern "C"` functions are called as C
//! would call them (raw pointers) and compared with the kernel called
//! directly. Small sizes, so the suite also runs under Miri:
//! `cargo +nightly miri test -p wmf-ffi --features soft-float,panic-test --test api`.

use core::ffi::CStr;
use core::ptr::{null, null_mut};
use wmf_ffi::*;
use wmf_kernel::{Baseline, CgParams, Error, Factors, Items, Row};

use wmf_status::*;

/// Item side for the tests: n = 5 items, k = 3, per-item c0.
struct Model {
    h: Vec<f64>,
    c0: Vec<f64>,
    g0: Vec<f64>,
}

const N: usize = 5;
const K: usize = 3;

fn model() -> Model {
    let h: Vec<f64> = (0..N * K)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 6.0)
        .collect();
    let c0: Vec<f64> = (0..N).map(|j| 0.5 + j as f64 / 10.0).collect();
    let mut g0 = vec![0.0; K * K];
    let f = Factors::new(&h, N, K).unwrap();
    wmf_kernel::gramian(&f, Baseline::PerItem(&c0), &mut g0).unwrap();
    Model { h, c0, g0 }
}

fn c_items(m: &Model) -> wmf_items_f64 {
    wmf_items_f64 {
        h: m.h.as_ptr(),
        n: N,
        k: K,
        g0: m.g0.as_ptr(),
        c0: m.c0.as_ptr(),
        c0_uniform: 0.0,
        checked: 0,
    }
}

const IDS: [u32; 2] = [1, 3];
const CONF: [f64; 2] = [3.0, 2.0];

fn c_row() -> wmf_row_f64 {
    wmf_row_f64 {
        items: IDS.as_ptr(),
        conf: CONF.as_ptr(),
        pref: null(),
        len: IDS.len(),
    }
}

fn kernel_items(m: &Model) -> Items<'_, f64> {
    Items::new(
        Factors::new(&m.h, N, K).unwrap(),
        &m.g0,
        Baseline::PerItem(&m.c0),
    )
    .unwrap()
}

#[test]
fn status_numbers_and_messages_are_fixed() {
    for (i, s) in ALL_STATUSES.iter().enumerate() {
        assert_eq!(*s as i32, i as i32, "status {s:?} moved");
    }
    let unknown = unsafe { CStr::from_ptr(wmf_status_str(-1)) };
    assert_eq!(unknown.to_str().unwrap(), "unknown wmf_status");
    let mut seen = Vec::new();
    for i in 0..ALL_STATUSES.len() as i32 {
        let m = unsafe { CStr::from_ptr(wmf_status_str(i)) }
            .to_str()
            .unwrap();
        assert!(!m.is_empty() && m != "unknown wmf_status");
        assert!(!seen.contains(&m), "duplicate message {m}");
        seen.push(m);
    }
    assert_eq!(
        unsafe { CStr::from_ptr(wmf_status_str(ALL_STATUSES.len() as i32)) },
        unknown
    );
    let v = unsafe { CStr::from_ptr(wmf_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}

#[test]
fn every_kernel_error_maps_to_its_status() {
    let cases = [
        (
            Error::ZeroDimension { what: "k" },
            WMF_STATUS_ZERO_DIMENSION,
        ),
        (
            Error::DimensionTooLarge {
                what: "k",
                value: 300,
                max: 256,
            },
            WMF_STATUS_DIMENSION_TOO_LARGE,
        ),
        (Error::SizeOverflow { what: "x" }, WMF_STATUS_SIZE_OVERFLOW),
        (
            Error::LengthMismatch {
                what: "x",
                expected: 1,
                actual: 2,
            },
            WMF_STATUS_LENGTH_MISMATCH,
        ),
        (
            Error::IndexOutOfRange {
                what: "items",
                position: 0,
                index: 9,
                bound: 3,
            },
            WMF_STATUS_INDEX_OUT_OF_RANGE,
        ),
        (
            Error::NotAscending {
                what: "items",
                position: 1,
            },
            WMF_STATUS_NOT_ASCENDING,
        ),
        (
            Error::NonFinite {
                what: "h",
                index: 0,
            },
            WMF_STATUS_NON_FINITE,
        ),
        (
            Error::Negative {
                what: "conf",
                index: 0,
            },
            WMF_STATUS_NEGATIVE,
        ),
        (
            Error::NotPositiveDefinite { pivot: 1 },
            WMF_STATUS_NOT_POSITIVE_DEFINITE,
        ),
        (
            Error::NonFiniteResult { what: "x" },
            WMF_STATUS_NON_FINITE_RESULT,
        ),
    ];
    for (e, s) in cases {
        assert_eq!(wmf_status::from(e), s, "{e}");
    }
}

#[test]
fn fold_in_matches_the_kernel_bit_for_bit() {
    let m = model();
    let items = c_items(&m);
    let row = c_row();
    let mut scratch = vec![0.0; wmf_solve_row_cholesky_scratch_len(K)];
    let mut x = [0.0; K];
    let s = unsafe {
        wmf_solve_row_cholesky_f64(
            &items,
            &row,
            0.1,
            scratch.as_mut_ptr(),
            scratch.len(),
            x.as_mut_ptr(),
        )
    };
    assert_eq!(s, WMF_STATUS_OK);
    let (mut a, mut want) = ([0.0; K * K], [0.0; K]);
    wmf_kernel::solve_row_cholesky(
        &kernel_items(&m),
        &Row::implicit(&IDS, &CONF),
        0.1,
        &mut a,
        &mut want,
    )
    .unwrap();
    assert_eq!(x, want);

    // CG from zero, k + 2 steps, reaches the same solution to rounding.
    let mut x_cg = [0.0; K];
    let mut cg = vec![0.0; wmf_solve_row_cg_scratch_len(K)];
    let mut rep = wmf_cg_report::default();
    let s = unsafe {
        wmf_solve_row_cg_f64(
            &items,
            &row,
            0.1,
            x_cg.as_mut_ptr(),
            K + 2,
            0.0,
            cg.as_mut_ptr(),
            cg.len(),
            &mut rep,
        )
    };
    assert_eq!(s, WMF_STATUS_OK);
    let mut x_k = [0.0; K];
    let mut cg_k = [0.0; 3 * K];
    let params = CgParams {
        steps: K + 2,
        tol: 0.0,
    };
    let rep_k = wmf_kernel::solve_row_cg(
        &kernel_items(&m),
        &Row::implicit(&IDS, &CONF),
        0.1,
        &mut x_k,
        params,
        &mut cg_k,
    )
    .unwrap();
    assert_eq!(
        (x_cg, rep.steps, rep.residual_sq),
        (x_k, rep_k.steps, rep_k.residual_sq)
    );
    for (a, b) in x_cg.iter().zip(&want) {
        assert!((a - b).abs() < 1e-10);
    }

    // Top-N excluding the seen items.
    let (mut top, mut score, mut count) = ([0u32; 2], [0.0; 2], 0usize);
    let s = unsafe {
        wmf_top_n_f64(
            m.h.as_ptr(),
            N,
            K,
            x.as_ptr(),
            IDS.as_ptr(),
            IDS.len(),
            top.as_mut_ptr(),
            score.as_mut_ptr(),
            2,
            &mut count,
        )
    };
    assert_eq!((s, count), (WMF_STATUS_OK, 2));
    let (mut kt, mut ks) = ([0u32; 2], [0.0; 2]);
    let got = wmf_kernel::top_n_into(
        &Factors::new(&m.h, N, K).unwrap(),
        &x,
        &IDS,
        &mut kt,
        &mut ks,
    )
    .unwrap();
    assert_eq!((got, kt, ks), (count, top, score));
}

#[test]
fn empty_row_accepts_null_pointers() {
    let m = model();
    let items = c_items(&m);
    let empty = wmf_row_f64 {
        items: null(),
        conf: null(),
        pref: null(),
        len: 0,
    };
    let mut scratch = [0.0; K * K];
    let mut x = [7.0; K];
    let s = unsafe {
        wmf_solve_row_cholesky_f64(
            &items,
            &empty,
            0.1,
            scratch.as_mut_ptr(),
            K * K,
            x.as_mut_ptr(),
        )
    };
    assert_eq!((s, x), (WMF_STATUS_OK, [0.0; K]));
    let mut w = [0.5; K];
    let s =
        unsafe { wmf_solve_row_eals_f64(&items, &empty, 0.1, w.as_mut_ptr(), 2, null_mut(), 0) };
    assert_eq!(s, WMF_STATUS_OK);
}

#[test]
fn bad_pointers_are_statuses_and_write_nothing() {
    let m = model();
    let items = c_items(&m);
    let row = c_row();
    let mut x = [9.0f64; K];
    let mut scratch = [0.0; K * K];
    let call = |items: &wmf_items_f64,
                row: &wmf_row_f64,
                x: &mut [f64; K],
                scratch: &mut [f64],
                len| unsafe {
        wmf_solve_row_cholesky_f64(items, row, 0.1, scratch.as_mut_ptr(), len, x.as_mut_ptr())
    };
    assert_eq!(
        unsafe {
            wmf_solve_row_cholesky_f64(
                null(),
                &row,
                0.1,
                scratch.as_mut_ptr(),
                K * K,
                x.as_mut_ptr(),
            )
        },
        WMF_STATUS_NULL_POINTER
    );
    assert_eq!(
        unsafe {
            wmf_solve_row_cholesky_f64(&items, &row, 0.1, scratch.as_mut_ptr(), K * K, null_mut())
        },
        WMF_STATUS_NULL_POINTER
    );
    let mut bad = row;
    bad.items = null();
    assert_eq!(
        call(&items, &bad, &mut x, &mut scratch, K * K),
        WMF_STATUS_NULL_POINTER
    );
    assert_eq!(
        call(&items, &row, &mut x, &mut scratch, K * K - 1),
        WMF_STATUS_LENGTH_MISMATCH
    );
    let mut bad = items;
    bad.n = usize::MAX / 2;
    assert_eq!(
        call(&bad, &row, &mut x, &mut scratch, K * K),
        WMF_STATUS_SIZE_OVERFLOW
    );
    let ids = [1u32, 5];
    let mut bad = row;
    bad.items = ids.as_ptr();
    assert_eq!(
        call(&items, &bad, &mut x, &mut scratch, K * K),
        WMF_STATUS_INDEX_OUT_OF_RANGE
    );
    let ids = [3u32, 1];
    bad.items = ids.as_ptr();
    assert_eq!(
        call(&items, &bad, &mut x, &mut scratch, K * K),
        WMF_STATUS_NOT_ASCENDING
    );
    let conf = [1.0, -1.0];
    let mut bad = row;
    bad.conf = conf.as_ptr();
    assert_eq!(
        call(&items, &bad, &mut x, &mut scratch, K * K),
        WMF_STATUS_NEGATIVE
    );
    let conf = [1.0, f64::NAN];
    bad.conf = conf.as_ptr();
    assert_eq!(
        call(&items, &bad, &mut x, &mut scratch, K * K),
        WMF_STATUS_NON_FINITE
    );
    assert_eq!(x, [9.0; K], "x written on failure");

    // A misaligned output pointer.
    let mut raw = [0u8; 8 * (N + 1)];
    let misaligned = raw
        .as_mut_ptr()
        .wrapping_add(1 + (8 - raw.as_ptr() as usize % 8) % 8) as *mut f64;
    let s = unsafe { wmf_score_items_f64(m.h.as_ptr(), N, K, x.as_ptr(), misaligned) };
    assert_eq!(s, WMF_STATUS_MISALIGNED_POINTER);
    assert!(raw.iter().all(|b| *b == 0));
}

#[test]
fn overflow_zero_fills_large_outputs_and_leaves_small_ones() {
    let h = [f64::MAX, 1.0];
    let w = [f64::MAX];
    let mut scores = [5.0; 2];
    let s = unsafe { wmf_score_items_f64(h.as_ptr(), 2, 1, w.as_ptr(), scores.as_mut_ptr()) };
    assert_eq!((s, scores), (WMF_STATUS_NON_FINITE_RESULT, [0.0; 2]));

    let (mut a, mut b, mut x) = ([1.0f32], [0.0f32], [3.0f32]);
    let mut scratch = [0.0f32];
    let update = wmf_cell_update_f32 {
        c_new: f32::MAX,
        x_new: 1.0,
        c_old: 0.0,
        x_old: 0.0,
    };
    let hi = [f32::MAX];
    let s = unsafe {
        wmf_eals_online_update_f32(
            a.as_mut_ptr(),
            b.as_mut_ptr(),
            x.as_mut_ptr(),
            1,
            hi.as_ptr(),
            update,
            1,
            scratch.as_mut_ptr(),
            1,
        )
    };
    assert_eq!(s, WMF_STATUS_NON_FINITE_RESULT);
    assert_eq!((a, b, x), ([1.0], [0.0], [3.0]));
}

#[test]
fn online_update_and_gradient_step_match_the_kernel() {
    let m = model();
    let items = c_items(&m);
    let row = c_row();
    let (mut a, mut b) = ([0.0; K * K], [0.0; K]);
    let s =
        unsafe { wmf_row_normal_equations_f64(&items, &row, 0.2, a.as_mut_ptr(), b.as_mut_ptr()) };
    assert_eq!(s, WMF_STATUS_OK);
    let (mut ka, mut kb, mut kw) = (a, b, [0.0; K]);
    let mut w = [0.0; K];
    let update = wmf_cell_update_f64 {
        c_new: 4.0,
        x_new: 1.0,
        c_old: m.c0[4],
        x_old: 0.0,
    };
    let mut scratch = vec![0.0; wmf_eals_online_update_scratch_len(K)];
    let hi = &m.h[4 * K..5 * K];
    let s = unsafe {
        wmf_eals_online_update_f64(
            a.as_mut_ptr(),
            b.as_mut_ptr(),
            w.as_mut_ptr(),
            K,
            hi.as_ptr(),
            update,
            3,
            scratch.as_mut_ptr(),
            scratch.len(),
        )
    };
    assert_eq!(s, WMF_STATUS_OK);
    let ku = wmf_kernel::CellUpdate::new_interaction(4.0, m.c0[4]);
    wmf_kernel::eals_online_update(&mut ka, &mut kb, &mut kw, K, hi, ku, 3).unwrap();
    assert_eq!((a, b, w), (ka, kb, kw));

    let mut w = [0.1, -0.2, 0.3];
    let mut kw = w;
    let mut g = [0.0; K];
    let s = unsafe {
        wmf_gradient_step_row_f64(&items, &row, 0.2, w.as_mut_ptr(), 0.01, g.as_mut_ptr(), K)
    };
    assert_eq!(s, WMF_STATUS_OK);
    wmf_kernel::gradient_step_row(
        &kernel_items(&m),
        &Row::implicit(&IDS, &CONF),
        0.2,
        &mut kw,
        0.01,
        &mut g,
    )
    .unwrap();
    assert_eq!(w, kw);
}

#[test]
fn dense_f32_matches_the_kernel() {
    let (m, n, k) = (2usize, 3usize, 2usize);
    let x = [1.0f32, 0.0, 1.0, 0.0, 1.0, 1.0];
    let c = [2.0f32, 1.0, 0.5, 1.0, 3.0, 1.0];
    let w = [0.1f32, 0.2, -0.3, 0.4];
    let h = [0.5f32, -0.1, 0.2, 0.3, -0.4, 0.6];
    let d = wmf_dense_f32 {
        x: x.as_ptr(),
        c: c.as_ptr(),
        w: w.as_ptr(),
        h: h.as_ptr(),
        m,
        n,
        k,
    };
    let kd = wmf_kernel::Dense::new(&x, &c, &w, &h, m, n, k).unwrap();
    let mut r = [0.0f32; 6];
    assert_eq!(
        unsafe { wmf_dense_residual_f32(&d, r.as_mut_ptr()) },
        WMF_STATUS_OK
    );
    let mut kr = [0.0f32; 6];
    kd.weighted_residual(&mut kr).unwrap();
    assert_eq!(r, kr);
    let mut loss = 0.0f32;
    assert_eq!(
        unsafe { wmf_dense_loss_f32(&d, 0.1, &mut loss) },
        WMF_STATUS_OK
    );
    assert_eq!(loss, kd.loss(0.1).unwrap());
    let (mut gw, mut kgw) = ([0.0f32; 4], [0.0f32; 4]);
    assert_eq!(
        unsafe { wmf_dense_grad_w_f32(&d, 0.1, gw.as_mut_ptr()) },
        WMF_STATUS_OK
    );
    kd.grad_w(0.1, &mut kgw).unwrap();
    assert_eq!(gw, kgw);
    let (mut gh, mut kgh) = ([0.0f32; 6], [0.0f32; 6]);
    assert_eq!(
        unsafe { wmf_dense_grad_h_f32(&d, 0.1, gh.as_mut_ptr()) },
        WMF_STATUS_OK
    );
    kd.grad_h(0.1, &mut kgh).unwrap();
    assert_eq!(gh, kgh);
    let mut bad = d;
    bad.m = usize::MAX / 2;
    assert_eq!(
        unsafe { wmf_dense_residual_f32(&bad, r.as_mut_ptr()) },
        WMF_STATUS_SIZE_OVERFLOW
    );
}

#[cfg(feature = "panic-test")]
#[test]
fn a_panic_becomes_a_status() {
    assert_eq!(wmf_test_panic(), WMF_STATUS_PANIC);
    assert_eq!(wmf_test_panic(), WMF_STATUS_PANIC);
}

/// `wmf_items_check_f64` marks the struct; checked calls give bit-identical
/// results, and a factor made NaN after the check is reported, never returned.
#[test]
fn checked_items_skip_the_scan_but_never_return_nan() {
    let mut m = model();
    let mut items = c_items(&m);
    let row = c_row();
    let solve = |items: &wmf_items_f64| {
        let mut a = [0.0f64; K * K];
        let mut x = [0.0f64; K];
        // SAFETY: every pointer covers the sizes the header states.
        let s = unsafe {
            wmf_solve_row_cholesky_f64(items, &row, 0.5, a.as_mut_ptr(), a.len(), x.as_mut_ptr())
        };
        (s, x)
    };
    let (s0, x0) = solve(&items);
    assert_eq!(s0, wmf_status::WMF_STATUS_OK);
    // SAFETY: `items` is a valid, writable struct.
    assert_eq!(
        unsafe { wmf_items_check_f64(&mut items) },
        wmf_status::WMF_STATUS_OK
    );
    assert_eq!(items.checked, WMF_ITEMS_CHECKED);
    assert_eq!(solve(&items), (wmf_status::WMF_STATUS_OK, x0));

    // Corrupt an item factor the row reads (item IDS[0]) after the check.
    m.h[IDS[0] as usize * K] = f64::NAN;
    let mut stale = c_items(&m);
    stale.checked = WMF_ITEMS_CHECKED;
    let (s, x) = solve(&stale);
    assert_eq!(s, wmf_status::WMF_STATUS_NON_FINITE_RESULT);
    assert_eq!(x, [0.0; K], "outputs untouched");
    // Unchecked, the same struct is rejected up front and cannot be marked.
    let mut fresh = c_items(&m);
    assert_eq!(solve(&fresh).0, wmf_status::WMF_STATUS_NON_FINITE);
    // SAFETY: as above.
    assert_eq!(
        unsafe { wmf_items_check_f64(&mut fresh) },
        wmf_status::WMF_STATUS_NON_FINITE
    );
    assert_eq!(fresh.checked, 0);
}

/// `wmf_top_n_items_*` gives `wmf_top_n_*`'s items, scores and count for
/// unchecked and checked items alike, every capacity and exclusion list;
/// a factor made NaN after the check is reported (nothing written), before
/// it rejected up front; the argument statuses are `wmf_top_n_*`'s.
#[test]
fn top_n_over_items_equals_top_n_over_raw_factors() {
    let mut m = model();
    let w = [0.7, -0.2, 0.4];
    let raw = |m: &Model, exclude: &[u32], cap: usize| {
        let (mut items, mut scores, mut count) = (vec![9u32; cap], vec![9.0; cap], 777usize);
        // SAFETY: every pointer covers the sizes the header states.
        let s = unsafe {
            wmf_top_n_f64(
                m.h.as_ptr(),
                N,
                K,
                w.as_ptr(),
                exclude.as_ptr(),
                exclude.len(),
                items.as_mut_ptr(),
                scores.as_mut_ptr(),
                cap,
                &mut count,
            )
        };
        (s, items, scores, count)
    };
    let over = |it: &wmf_items_f64, exclude: &[u32], cap: usize| {
        let (mut items, mut scores, mut count) = (vec![9u32; cap], vec![9.0; cap], 777usize);
        // SAFETY: as above.
        let s = unsafe {
            wmf_top_n_items_f64(
                it,
                w.as_ptr(),
                exclude.as_ptr(),
                exclude.len(),
                items.as_mut_ptr(),
                scores.as_mut_ptr(),
                cap,
                &mut count,
            )
        };
        (s, items, scores, count)
    };
    let mut checked = c_items(&m);
    // SAFETY: `checked` is a valid, writable struct.
    assert_eq!(unsafe { wmf_items_check_f64(&mut checked) }, WMF_STATUS_OK);
    let excludes: [&[u32]; 4] = [&[], &[1, 3], &[0, 1, 2, 3], &[0, 1, 2, 3, 4]];
    for exclude in excludes {
        for cap in 1..=N + 1 {
            let want = raw(&m, exclude, cap);
            assert_eq!(want.0, WMF_STATUS_OK);
            assert_eq!(over(&c_items(&m), exclude, cap), want);
            assert_eq!(over(&checked, exclude, cap), want);
        }
    }
    // Argument statuses as wmf_top_n_f64's, nothing written.
    let untouched = (vec![9u32; 2], vec![9.0; 2], 777usize);
    for (exclude, status) in [
        (&[3u32, 1][..], WMF_STATUS_NOT_ASCENDING),
        (&[5u32][..], WMF_STATUS_INDEX_OUT_OF_RANGE),
    ] {
        let got = over(&checked, exclude, 2);
        assert_eq!(got.0, status);
        assert_eq!(raw(&m, exclude, 2).0, status);
        assert_eq!((got.1, got.2, got.3), untouched);
    }
    assert_eq!(over(&checked, &[], 0).0, WMF_STATUS_ZERO_DIMENSION);
    let mut count = 0usize;
    // SAFETY: NULL items is the error under test; the rest are valid.
    let s = unsafe {
        wmf_top_n_items_f64(
            null(),
            w.as_ptr(),
            null(),
            0,
            [0u32].as_mut_ptr(),
            [0.0].as_mut_ptr(),
            1,
            &mut count,
        )
    };
    assert_eq!(s, WMF_STATUS_NULL_POINTER);
    // A NaN in h after the check: reported by the score that reads it.
    m.h[2 * K + 1] = f64::NAN;
    let mut stale = c_items(&m);
    stale.checked = WMF_ITEMS_CHECKED;
    let got = over(&stale, &[], 2);
    assert_eq!(got.0, WMF_STATUS_NON_FINITE_RESULT);
    assert_eq!((got.1, got.2, got.3), untouched);
    // Unchecked, the same item side is rejected up front, as the raw call does.
    assert_eq!(over(&c_items(&m), &[], 2).0, WMF_STATUS_NON_FINITE);
    assert_eq!(raw(&m, &[], 2).0, WMF_STATUS_NON_FINITE);
}

/// The `float` entry point: the kernel's `top_n_into` on the same factors.
#[test]
fn top_n_over_items_f32_matches_the_kernel() {
    let m = model();
    let h: Vec<f32> = m.h.iter().map(|&v| v as f32).collect();
    let g0: Vec<f32> = m.g0.iter().map(|&v| v as f32).collect();
    let items = wmf_items_f32 {
        h: h.as_ptr(),
        n: N,
        k: K,
        g0: g0.as_ptr(),
        c0: null(),
        c0_uniform: 1.0,
        checked: 0,
    };
    let w = [0.7f32, -0.2, 0.4];
    let (mut top, mut scores, mut count) = ([0u32; 3], [0f32; 3], 0usize);
    // SAFETY: every pointer covers the sizes the header states.
    let s = unsafe {
        wmf_top_n_items_f32(
            &items,
            w.as_ptr(),
            IDS.as_ptr(),
            IDS.len(),
            top.as_mut_ptr(),
            scores.as_mut_ptr(),
            3,
            &mut count,
        )
    };
    assert_eq!((s, count), (WMF_STATUS_OK, 3));
    let (mut kt, mut ks) = ([0u32; 3], [0f32; 3]);
    let got = wmf_kernel::top_n_into(&Factors::new(&h, N, K).unwrap(), &w, &IDS, &mut kt, &mut ks)
        .unwrap();
    assert_eq!((got, kt, ks), (count, top, scores));
}

#[test]
fn low_rank_fold_in_matches_the_kernel_bit_for_bit() {
    let m = model();
    let items = c_items(&m);
    let lambda = 0.1;
    // Whitening: the kernel's Cholesky factor of G0 + λI and H L⁻ᵀ.
    let (mut l, mut hw) = (vec![0.0; K * K], vec![0.0; N * K]);
    let s = unsafe {
        wmf_whiten_f64(
            &items,
            lambda,
            l.as_mut_ptr(),
            l.len(),
            hw.as_mut_ptr(),
            hw.len(),
        )
    };
    assert_eq!(s, WMF_STATUS_OK);
    let mut want_l = m.g0.clone();
    for d in 0..K {
        want_l[d * K + d] += lambda;
    }
    wmf_kernel::cholesky_in_place(&mut want_l, K).unwrap();
    let mut want_hw = m.h.clone();
    wmf_kernel::whiten_rows(&want_l, K, &mut want_hw).unwrap();
    assert_eq!((&l, &hw), (&want_l, &want_hw));

    // The fold-in: the kernel's bits, and the normal equations' solution to rounding.
    let w = wmf_whitened_f64 {
        hw: hw.as_ptr(),
        n: N,
        k: K,
        l: l.as_ptr(),
        c0: m.c0.as_ptr(),
        c0_uniform: 0.0,
    };
    let row = c_row();
    let len = wmf_solve_row_low_rank_scratch_len(IDS.len(), K);
    assert_eq!(len, IDS.len() * K + IDS.len() * IDS.len());
    let mut scratch = vec![0.0; len];
    let (mut x, mut solved) = ([0.0; K], 7u32);
    let s = unsafe {
        wmf_solve_row_low_rank_f64(
            &w,
            &row,
            scratch.as_mut_ptr(),
            len,
            x.as_mut_ptr(),
            &mut solved,
        )
    };
    assert_eq!((s, solved), (WMF_STATUS_OK, 1));
    let kw = wmf_kernel::Whitened::new(
        Factors::new(&want_hw, N, K).unwrap(),
        &want_l,
        Baseline::PerItem(&m.c0),
    )
    .unwrap();
    let mut want = [0.0; K];
    let mut ks = vec![0.0; len];
    assert!(
        wmf_kernel::solve_row_low_rank(&kw, &Row::implicit(&IDS, &CONF), &mut ks, &mut want)
            .unwrap()
    );
    assert_eq!(x, want);
    let (mut a, mut chol) = ([0.0; K * K], [0.0; K]);
    wmf_kernel::solve_row_cholesky(
        &kernel_items(&m),
        &Row::implicit(&IDS, &CONF),
        lambda,
        &mut a,
        &mut chol,
    )
    .unwrap();
    for (g, c) in x.iter().zip(&chol) {
        assert!(
            (g - c).abs() <= 1e-12 * (1.0 + c.abs()),
            "{x:?} vs {chol:?}"
        );
    }

    // A cell below its c0: declined, x untouched; an empty row: x = 0.
    let low = [0.1, 2.0];
    let low_row = wmf_row_f64 {
        conf: low.as_ptr(),
        ..c_row()
    };
    let mut x2 = [9.0; K];
    let s = unsafe {
        wmf_solve_row_low_rank_f64(
            &w,
            &low_row,
            scratch.as_mut_ptr(),
            len,
            x2.as_mut_ptr(),
            &mut solved,
        )
    };
    assert_eq!((s, solved, x2), (WMF_STATUS_OK, 0, [9.0; K]));
    let empty = wmf_row_f64 {
        items: null(),
        conf: null(),
        pref: null(),
        len: 0,
    };
    solved = 7;
    let s = unsafe {
        wmf_solve_row_low_rank_f64(&w, &empty, null_mut(), 0, x2.as_mut_ptr(), &mut solved)
    };
    assert_eq!((s, solved, x2), (WMF_STATUS_OK, 1, [0.0; K]));

    // Failures write nothing: a short scratch, a NULL flag, a non-positive pivot.
    let mut x3 = [9.0; K];
    solved = 7;
    let s = unsafe {
        wmf_solve_row_low_rank_f64(
            &w,
            &row,
            scratch.as_mut_ptr(),
            len - 1,
            x3.as_mut_ptr(),
            &mut solved,
        )
    };
    assert_eq!(s, WMF_STATUS_LENGTH_MISMATCH);
    let s = unsafe {
        wmf_solve_row_low_rank_f64(
            &w,
            &row,
            scratch.as_mut_ptr(),
            len,
            x3.as_mut_ptr(),
            null_mut(),
        )
    };
    assert_eq!(s, WMF_STATUS_NULL_POINTER);
    let mut l_bad = l.clone();
    l_bad[0] = -1.0;
    let bad = wmf_whitened_f64 {
        l: l_bad.as_ptr(),
        ..w
    };
    let s = unsafe {
        wmf_solve_row_low_rank_f64(
            &bad,
            &row,
            scratch.as_mut_ptr(),
            len,
            x3.as_mut_ptr(),
            &mut solved,
        )
    };
    assert_eq!(s, WMF_STATUS_NOT_POSITIVE_DEFINITE);
    assert_eq!((x3, solved), ([9.0; K], 7));

    // f32: the C ABI's whitening and fold-in are the kernel's too.
    let h32: Vec<f32> = m.h.iter().map(|&v| v as f32).collect();
    let c032: Vec<f32> = m.c0.iter().map(|&v| v as f32).collect();
    let mut g32 = vec![0.0f32; K * K];
    wmf_kernel::gramian(
        &Factors::new(&h32, N, K).unwrap(),
        Baseline::PerItem(&c032),
        &mut g32,
    )
    .unwrap();
    let items32 = wmf_items_f32 {
        h: h32.as_ptr(),
        n: N,
        k: K,
        g0: g32.as_ptr(),
        c0: c032.as_ptr(),
        c0_uniform: 0.0,
        checked: 0,
    };
    let (mut l32, mut hw32) = (vec![0.0f32; K * K], vec![0.0f32; N * K]);
    let s = unsafe {
        wmf_whiten_f32(
            &items32,
            0.1,
            l32.as_mut_ptr(),
            K * K,
            hw32.as_mut_ptr(),
            N * K,
        )
    };
    assert_eq!(s, WMF_STATUS_OK);
    let conf32 = CONF.map(|c| c as f32);
    let row32 = wmf_row_f32 {
        items: IDS.as_ptr(),
        conf: conf32.as_ptr(),
        pref: null(),
        len: IDS.len(),
    };
    let w32 = wmf_whitened_f32 {
        hw: hw32.as_ptr(),
        n: N,
        k: K,
        l: l32.as_ptr(),
        c0: c032.as_ptr(),
        c0_uniform: 0.0,
    };
    let mut s32 = vec![0.0f32; len];
    let mut x32 = [0.0f32; K];
    let s = unsafe {
        wmf_solve_row_low_rank_f32(
            &w32,
            &row32,
            s32.as_mut_ptr(),
            len,
            x32.as_mut_ptr(),
            &mut solved,
        )
    };
    assert_eq!((s, solved), (WMF_STATUS_OK, 1));
    let kw32 = wmf_kernel::Whitened::new(
        Factors::new(&hw32, N, K).unwrap(),
        &l32,
        Baseline::PerItem(&c032),
    )
    .unwrap();
    let mut want32 = [0.0f32; K];
    let mut ks32 = vec![0.0f32; len];
    assert!(
        wmf_kernel::solve_row_low_rank(
            &kw32,
            &Row::implicit(&IDS, &conf32),
            &mut ks32,
            &mut want32
        )
        .unwrap()
    );
    assert_eq!(x32, want32);
}

#[test]
fn whitening_failures_write_nothing_or_zeros() {
    let m = model();
    let items = c_items(&m);
    // One element of room more than the sizes, so that a wrong length passed
    // still describes memory the caller owns.
    let (mut l, mut hw) = (vec![9.0; K * K + 1], vec![9.0; N * K + 1]);
    for (lambda, len_l, len_hw, want) in [
        (-1.0, K * K, N * K, WMF_STATUS_NEGATIVE),
        (f64::NAN, K * K, N * K, WMF_STATUS_NON_FINITE),
        (0.1, K * K - 1, N * K, WMF_STATUS_LENGTH_MISMATCH),
        (0.1, K * K + 1, N * K, WMF_STATUS_LENGTH_MISMATCH),
        (0.1, K * K, N * K + 1, WMF_STATUS_LENGTH_MISMATCH),
    ] {
        let s = unsafe {
            wmf_whiten_f64(
                &items,
                lambda,
                l.as_mut_ptr(),
                len_l,
                hw.as_mut_ptr(),
                len_hw,
            )
        };
        assert_eq!(s, want, "lambda {lambda} lens {len_l} {len_hw}");
        assert!(l.iter().chain(&hw).all(|&v| v == 9.0));
    }
    let s = unsafe { wmf_whiten_f64(null(), 0.1, l.as_mut_ptr(), K * K, hw.as_mut_ptr(), N * K) };
    assert_eq!(s, WMF_STATUS_NULL_POINTER);
    // G0 + λI not positive definite (λ = 0, zero factors): both outputs zeroed.
    let zeros = [0.0; N * K];
    let g_zero = [0.0; K * K];
    let singular = wmf_items_f64 {
        h: zeros.as_ptr(),
        g0: g_zero.as_ptr(),
        ..items
    };
    let s = unsafe {
        wmf_whiten_f64(
            &singular,
            0.0,
            l.as_mut_ptr(),
            K * K,
            hw.as_mut_ptr(),
            N * K,
        )
    };
    assert_eq!(s, WMF_STATUS_NOT_POSITIVE_DEFINITE);
    assert!(l[..K * K].iter().chain(&hw[..N * K]).all(|&v| v == 0.0));
    // The scratch-size helper rejects an invalid k and saturates.
    assert_eq!(wmf_solve_row_low_rank_scratch_len(3, 0), 0);
    assert_eq!(
        wmf_solve_row_low_rank_scratch_len(3, wmf_kernel::MAX_K + 1),
        0
    );
    assert_eq!(
        wmf_solve_row_low_rank_scratch_len(usize::MAX, 4),
        usize::MAX
    );
}

/// `wmf_solve_rows_low_rank_*` against `wmf_solve_row_low_rank_*` row by
/// row: the same status, flag and `x` bits for every row of a group
/// (solved rows of mixed lengths, an empty row, a declined row, rows with
/// bad ids), `x` untouched where not solved; call-level errors write
/// nothing.
macro_rules! rows_low_rank_test {
    ($name:ident, $t:ty, $whiten:ident, $one:ident, $group:ident, $whitened:ident, $row:ident) => {
        #[test]
        fn $name() {
            const N: usize = 40;
            const K: usize = 8;
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            let h: Vec<$t> = (0..N * K).map(|_| (next() - 0.5) as $t).collect();
            let c0: Vec<$t> = (0..N).map(|_| (0.5 + next()) as $t).collect();
            let mut g0 = vec![0.0 as $t; K * K];
            for j in 0..N {
                for a in 0..K {
                    for b in 0..K {
                        g0[a * K + b] += c0[j] * h[j * K + a] * h[j * K + b];
                    }
                }
            }
            let items = wmf_items::<$t> {
                h: h.as_ptr(),
                n: N,
                k: K,
                g0: g0.as_ptr(),
                c0: c0.as_ptr(),
                c0_uniform: 0.0,
                checked: 0,
            };
            let (mut l, mut hw) = (vec![0.0 as $t; K * K], vec![0.0 as $t; N * K]);
            let s = unsafe { $whiten(&items, 0.5, l.as_mut_ptr(), K * K, hw.as_mut_ptr(), N * K) };
            assert_eq!(s, WMF_STATUS_OK);
            let w = $whitened {
                hw: hw.as_ptr(),
                n: N,
                k: K,
                l: l.as_ptr(),
                c0: c0.as_ptr(),
                c0_uniform: 0.0,
            };
            // Sixteen rows: lengths 0..=11, ids ascending, confidences above c0.
            let mut ids: Vec<Vec<u32>> = (0..16)
                .map(|r| {
                    let len = (r * 5) % 12;
                    let mut v: Vec<u32> = (0..len).map(|_| (next() * N as f64) as u32).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                })
                .collect();
            let mut conf: Vec<Vec<$t>> = ids
                .iter()
                .map(|v| {
                    v.iter()
                        .map(|&j| c0[j as usize] + (1.0 + 3.0 * next()) as $t)
                        .collect()
                })
                .collect();
            // row 3: a cell below its c0 (declined); row 6: an id out of
            // range; row 9: ids not ascending; row 12: empty
            conf[3][0] = 0.0;
            *ids[6].last_mut().unwrap() = N as u32;
            ids[9].swap(0, 1);
            ids[12].clear();
            conf[12].clear();
            let rows: Vec<$row> = ids
                .iter()
                .zip(&conf)
                .map(|(i, c)| $row {
                    items: if i.is_empty() { null() } else { i.as_ptr() },
                    conf: if c.is_empty() { null() } else { c.as_ptr() },
                    pref: null(),
                    len: i.len(),
                })
                .collect();
            let n_max = ids.iter().map(Vec::len).max().unwrap();
            let len = wmf_solve_rows_low_rank_scratch_len(n_max, K);
            assert_eq!(len, wmf_kernel::low_rank_group_scratch_len(n_max, K));
            let mut scratch = vec![0.0 as $t; len];
            for g in [16usize, 5, 1, 0] {
                let mut xs = vec![7.0 as $t; g * K];
                let mut statuses = vec![WMF_STATUS_INTERNAL; g];
                let mut solved = vec![9u32; g];
                let s = unsafe {
                    $group(
                        &w,
                        rows.as_ptr(),
                        g,
                        scratch.as_mut_ptr(),
                        len,
                        xs.as_mut_ptr(),
                        statuses.as_mut_ptr(),
                        solved.as_mut_ptr(),
                    )
                };
                assert_eq!(s, WMF_STATUS_OK);
                let mut one_scratch = vec![0.0 as $t; wmf_solve_row_low_rank_scratch_len(n_max, K)];
                for v in 0..g {
                    let (mut x, mut done) = ([7.0 as $t; K], 9u32);
                    let s = unsafe {
                        $one(
                            &w,
                            &rows[v],
                            one_scratch.as_mut_ptr(),
                            one_scratch.len(),
                            x.as_mut_ptr(),
                            &mut done,
                        )
                    };
                    let done = if s == WMF_STATUS_OK { done } else { 0 };
                    assert_eq!((statuses[v], solved[v]), (s, done), "group of {g}, row {v}");
                    let got: Vec<_> = xs[v * K..(v + 1) * K].iter().map(|x| x.to_bits()).collect();
                    let want: Vec<_> = x.iter().map(|x| x.to_bits()).collect();
                    assert_eq!(got, want, "group of {g}, row {v}");
                }
                if g == 16 {
                    assert_eq!(solved.iter().sum::<u32>(), 13);
                    assert_eq!(statuses[6], WMF_STATUS_INDEX_OUT_OF_RANGE);
                    assert_eq!(statuses[9], WMF_STATUS_NOT_ASCENDING);
                    assert_eq!((statuses[3], solved[3]), (WMF_STATUS_OK, 0));
                }
            }
            // Call-level errors: nothing written.
            let mut xs = vec![7.0 as $t; 16 * K];
            let mut statuses = vec![WMF_STATUS_INTERNAL; 16];
            let mut solved = vec![9u32; 16];
            let mut call = |w: *const $whitened,
                            rows: *const $row,
                            g: usize,
                            scratch_len: usize,
                            st: *mut wmf_status| unsafe {
                $group(
                    w,
                    rows,
                    g,
                    scratch.as_mut_ptr(),
                    scratch_len,
                    xs.as_mut_ptr(),
                    st,
                    solved.as_mut_ptr(),
                )
            };
            let st = statuses.as_mut_ptr();
            let many: Vec<$row> = rows.iter().chain(&rows[..1]).copied().collect();
            assert_eq!(
                call(&w, many.as_ptr(), 17, len, st),
                WMF_STATUS_DIMENSION_TOO_LARGE
            );
            assert_eq!(
                call(&w, rows.as_ptr(), 16, len - 1, st),
                WMF_STATUS_LENGTH_MISMATCH
            );
            assert_eq!(
                call(null(), rows.as_ptr(), 16, len, st),
                WMF_STATUS_NULL_POINTER
            );
            assert_eq!(call(&w, null(), 16, len, st), WMF_STATUS_NULL_POINTER);
            assert_eq!(
                call(&w, rows.as_ptr(), 16, len, null_mut()),
                WMF_STATUS_NULL_POINTER
            );
            let mut broken = rows.clone();
            broken[2].items = null();
            assert_eq!(
                call(&w, broken.as_ptr(), 16, len, st),
                WMF_STATUS_NULL_POINTER
            );
            assert!(xs.iter().all(|&x| x == 7.0));
            assert!(statuses.iter().all(|&s| s == WMF_STATUS_INTERNAL));
            assert!(solved.iter().all(|&d| d == 9));
            assert_eq!(wmf_solve_rows_low_rank_scratch_len(0, K), 32 * K);
            assert_eq!(wmf_solve_rows_low_rank_scratch_len(4, 0), 0);
            assert_eq!(
                wmf_solve_rows_low_rank_scratch_len(usize::MAX, K),
                usize::MAX
            );
        }
    };
}

rows_low_rank_test!(
    rows_low_rank_f64_is_each_row_alone,
    f64,
    wmf_whiten_f64,
    wmf_solve_row_low_rank_f64,
    wmf_solve_rows_low_rank_f64,
    wmf_whitened_f64,
    wmf_row_f64
);
rows_low_rank_test!(
    rows_low_rank_f32_is_each_row_alone,
    f32,
    wmf_whiten_f32,
    wmf_solve_row_low_rank_f32,
    wmf_solve_rows_low_rank_f32,
    wmf_whitened_f32,
    wmf_row_f32
);
