//! Hostile input at the C ABI (issue 8's table, rows that reach the C entry
//! points): a Gramian or scratch sized for another `k`, `k = 0`, `k > MAX_K`,
//! `lambda < 0`, NaN values. Each returns its exact status, never a panic.
//! Small sizes: also runs under Miri with the ffi's other Rust tests.

use core::ptr::null;
use wmf_ffi::*;

use wmf_status::*;

const N: usize = 4;

fn h(k: usize) -> Vec<f32> {
    (0..N * k)
        .map(|i| ((i * 5 % 7) as f32 - 3.0) / 4.0)
        .collect()
}

fn gramian(h: &[f32], k: usize) -> Vec<f32> {
    let mut g = vec![0.0f32; k * k];
    // SAFETY: h holds N*k values, g k*k.
    let s = unsafe { wmf_gramian_f32(h.as_ptr(), N, k, null(), 1.0, g.as_mut_ptr()) };
    assert_eq!(s, WMF_STATUS_OK);
    g
}

/// Solves one row by Cholesky with `items` and a scratch of `scratch_len`.
fn cholesky(items: &wmf_items_f32, lambda: f32, scratch_len: usize) -> wmf_status {
    let ids = [0u32, 2];
    let conf = [2.0f32, 3.0];
    let row = wmf_row_f32 {
        items: ids.as_ptr(),
        conf: conf.as_ptr(),
        pref: null(),
        len: 2,
    };
    let mut a = vec![0.0f32; scratch_len];
    let mut x = vec![0.0f32; items.k.max(1)];
    // SAFETY: all buffers hold what their lengths and `items` declare.
    unsafe {
        wmf_solve_row_cholesky_f32(items, &row, lambda, a.as_mut_ptr(), a.len(), x.as_mut_ptr())
    }
}

#[test]
fn scratch_sized_for_another_k_is_a_length_mismatch() {
    // A k = 3 model whose caller sized buffers from a k = 2 Gramian.
    let h3 = h(3);
    let g3 = gramian(&h3, 3);
    let items = wmf_items_f32 {
        h: h3.as_ptr(),
        n: N,
        k: 3,
        g0: g3.as_ptr(),
        c0: null(),
        c0_uniform: 1.0,
        checked: 0,
    };
    assert_eq!(cholesky(&items, 0.1, 4), WMF_STATUS_LENGTH_MISMATCH);
    assert_eq!(cholesky(&items, 0.1, 9), WMF_STATUS_OK);
    let ids = [1u32];
    let conf = [1.0f32];
    let row = wmf_row_f32 {
        items: ids.as_ptr(),
        conf: conf.as_ptr(),
        pref: null(),
        len: 1,
    };
    let mut x = [0.0f32; 3];
    let mut scratch = [0.0f32; 6]; // 3 k for k = 2
    let mut report = wmf_cg_report::default();
    // SAFETY: buffers hold what their lengths declare.
    let s = unsafe {
        wmf_solve_row_cg_f32(
            &items,
            &row,
            0.1,
            x.as_mut_ptr(),
            3,
            1e-8,
            scratch.as_mut_ptr(),
            scratch.len(),
            &mut report,
        )
    };
    assert_eq!(s, WMF_STATUS_LENGTH_MISMATCH);
    assert_eq!(x, [0.0; 3], "outputs are untouched on error");
    // No Gramian at all.
    let no_g0 = wmf_items_f32 {
        g0: null(),
        ..items
    };
    assert_eq!(cholesky(&no_g0, 0.1, 9), WMF_STATUS_NULL_POINTER);
}

#[test]
fn bad_k_lambda_and_values_get_their_status() {
    let h3 = h(3);
    let g3 = gramian(&h3, 3);
    let items = wmf_items_f32 {
        h: h3.as_ptr(),
        n: N,
        k: 3,
        g0: g3.as_ptr(),
        c0: null(),
        c0_uniform: 1.0,
        checked: 0,
    };
    assert_eq!(cholesky(&items, -0.1, 9), WMF_STATUS_NEGATIVE);
    assert_eq!(cholesky(&items, f32::NAN, 9), WMF_STATUS_NON_FINITE);
    let k0 = wmf_items_f32 { k: 0, ..items };
    assert_eq!(cholesky(&k0, 0.1, 0), WMF_STATUS_ZERO_DIMENSION);
    let big = h(257);
    let g_big = vec![0.0f32; 257 * 257];
    let k257 = wmf_items_f32 {
        h: big.as_ptr(),
        n: N,
        k: 257,
        g0: g_big.as_ptr(),
        c0: null(),
        c0_uniform: 1.0,
        checked: 0,
    };
    assert_eq!(
        cholesky(&k257, 0.1, 257 * 257),
        WMF_STATUS_DIMENSION_TOO_LARGE
    );
    let mut bad_g = g3.clone();
    bad_g[4] = f32::INFINITY;
    let inf = wmf_items_f32 {
        g0: bad_g.as_ptr(),
        ..items
    };
    assert_eq!(cholesky(&inf, 0.1, 9), WMF_STATUS_NON_FINITE);
    // k larger than the number of items: fine with lambda > 0, singular at 0.
    let h5 = h(5);
    let g5 = gramian(&h5, 5);
    let wide = wmf_items_f32 {
        h: h5.as_ptr(),
        n: N,
        k: 5,
        g0: g5.as_ptr(),
        c0: null(),
        c0_uniform: 1.0,
        checked: 0,
    };
    assert_eq!(cholesky(&wide, 0.1, 25), WMF_STATUS_OK);
    assert_eq!(cholesky(&wide, 0.0, 25), WMF_STATUS_NOT_POSITIVE_DEFINITE);
}
