//! The C entry points, called through their Rust symbols (wmf-ffi rlib) with
//! buffers as long as each call declares (the C contract) but arbitrary sizes,
//! values, ids, scratch lengths and NULL pointers. No call may panic (the
//! panic boundary would turn it into `WMF_STATUS_PANIC`; libFuzzer's panic hook
//! aborts first), and `WMF_STATUS_OK` outputs are finite.
#![no_main]

use std::ptr;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wmf_ffi::*;

#[derive(Arbitrary, Debug)]
struct Input {
    n: u8,
    k: u16,
    h: Vec<i16>,
    raw: Option<(u16, f32)>,
    per_item_c0: Option<Vec<i16>>,
    c0_uniform: i16,
    items: Vec<u32>,
    valid_ids: bool,
    conf: Vec<i16>,
    pref: Option<Vec<i16>>,
    lambda: i16,
    w: Vec<i16>,
    /// Bit i: pass NULL for the i-th optional pointer.
    nulls: u16,
    scratch_extra: i8,
    steps: u8,
    sweeps: u8,
    capacity: u8,
    exclude: Vec<u32>,
    m_dense: u8,
    /// Mark the items `WMF_ITEMS_CHECKED` without checking them (the
    /// unscanned path must still never return a non-finite output).
    pretend_checked: bool,
}

fn fill(src: &[i16], len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            src.get(i % src.len().max(1))
                .map_or(0.0, |&v| f32::from(v) / 1000.0)
        })
        .collect()
}

fn ptr_or_null<T>(v: &[T], null: bool) -> *const T {
    if null { ptr::null() } else { v.as_ptr() }
}

fn mut_or_null<T>(v: &mut [T], null: bool) -> *mut T {
    if null {
        ptr::null_mut()
    } else {
        v.as_mut_ptr()
    }
}

/// The values' bit patterns, for exact comparisons.
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn ok_finite(s: wmf_status, out: &[f32], what: &str) {
    assert_ne!(s, wmf_status::WMF_STATUS_PANIC, "{what} panicked");
    if s == wmf_status::WMF_STATUS_OK {
        assert!(
            out.iter().all(|v| v.is_finite()),
            "{what}: OK with non-finite output"
        );
    }
}

fuzz_target!(|inp: Input| {
    let n = usize::from(inp.n);
    // Mostly small ranks (fast runs); sometimes up to past MAX_K = 256.
    let k = if inp.k & 0x8000 != 0 {
        usize::from(inp.k % 300)
    } else {
        usize::from(inp.k % 17)
    };
    let null = |i: u32| inp.nulls & (1 << i) != 0;
    let mut h = fill(&inp.h, n * k);
    if let Some((at, v)) = inp.raw
        && !h.is_empty()
    {
        let at = usize::from(at) % h.len();
        h[at] = v;
    }
    let c0v = inp.per_item_c0.as_ref().map(|c| fill(c, n));
    let c0_uniform = f32::from(inp.c0_uniform) / 1000.0;
    let c0_ptr = c0v.as_ref().map_or(ptr::null(), |c| c.as_ptr());
    let mut g0 = vec![0.0f32; k * k];
    // SAFETY: h holds n*k values, c0 (when not NULL) n, g0 k*k.
    let s = unsafe {
        wmf_gramian_f32(
            ptr_or_null(&h, null(0)),
            n,
            k,
            c0_ptr,
            c0_uniform,
            mut_or_null(&mut g0, null(1)),
        )
    };
    ok_finite(s, &g0, "wmf_gramian_f32");
    let items = wmf_items_f32 {
        h: ptr_or_null(&h, null(2)),
        n,
        k,
        g0: ptr_or_null(&g0, null(3)),
        c0: c0_ptr,
        c0_uniform,
        checked: if inp.pretend_checked {
            WMF_ITEMS_CHECKED
        } else {
            0
        },
    };
    let mut ids = inp.items.clone();
    if inp.valid_ids && n > 0 {
        for id in &mut ids {
            *id %= n as u32;
        }
        ids.sort_unstable();
        ids.dedup();
    }
    let conf = fill(&inp.conf, ids.len());
    let pref = inp.pref.as_ref().map(|p| fill(p, ids.len()));
    let row = wmf_row_f32 {
        items: ptr_or_null(&ids, null(4)),
        conf: ptr_or_null(&conf, null(5)),
        pref: pref.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
        len: ids.len(),
    };
    let items_p: *const wmf_items_f32 = if null(6) { ptr::null() } else { &items };
    let row_p: *const wmf_row_f32 = if null(7) { ptr::null() } else { &row };
    let lambda = f32::from(inp.lambda) / 1000.0;
    let w0 = fill(&inp.w, k);
    let scratch_len =
        |want: usize| (want as isize + isize::from(inp.scratch_extra % 3)).max(0) as usize;

    let mut loss = 0.0f32;
    // SAFETY: every pointer is NULL or valid for the length its struct declares.
    let s = unsafe { wmf_row_loss_f32(items_p, row_p, lambda, w0.as_ptr(), &mut loss) };
    ok_finite(s, &[loss], "wmf_row_loss_f32");
    let mut grad = vec![0.0f32; k];
    // SAFETY: as above; grad holds k values.
    let s = unsafe { wmf_row_gradient_f32(items_p, row_p, lambda, w0.as_ptr(), grad.as_mut_ptr()) };
    ok_finite(s, &grad, "wmf_row_gradient_f32");

    let mut a = vec![0.0f32; scratch_len(k * k)];
    let mut x = vec![0.0f32; k];
    // SAFETY: a holds a.len() values, x k.
    let s = unsafe {
        wmf_solve_row_cholesky_f32(
            items_p,
            row_p,
            lambda,
            mut_or_null(&mut a, null(8)),
            a.len(),
            x.as_mut_ptr(),
        )
    };
    ok_finite(s, &x, "wmf_solve_row_cholesky_f32");

    let mut x = w0.clone();
    let mut cg = vec![0.0f32; scratch_len(3 * k)];
    let mut report = wmf_cg_report::default();
    // SAFETY: x holds k values, cg cg.len().
    let s = unsafe {
        wmf_solve_row_cg_f32(
            items_p,
            row_p,
            lambda,
            x.as_mut_ptr(),
            usize::from(inp.steps % 16),
            1e-6,
            mut_or_null(&mut cg, null(9)),
            cg.len(),
            &mut report,
        )
    };
    ok_finite(s, &x, "wmf_solve_row_cg_f32");

    let mut x = w0.clone();
    let mut pred = vec![0.0f32; scratch_len(ids.len())];
    // SAFETY: x holds k values, pred pred.len().
    let s = unsafe {
        wmf_solve_row_eals_f32(
            items_p,
            row_p,
            lambda,
            x.as_mut_ptr(),
            usize::from(inp.sweeps % 4),
            mut_or_null(&mut pred, null(10)),
            pred.len(),
        )
    };
    ok_finite(s, &x, "wmf_solve_row_eals_f32");

    let mut x = w0.clone();
    let mut gs = vec![0.0f32; scratch_len(k)];
    // SAFETY: x holds k values, gs gs.len().
    let s = unsafe {
        wmf_gradient_step_row_f32(
            items_p,
            row_p,
            lambda,
            x.as_mut_ptr(),
            0.01,
            gs.as_mut_ptr(),
            gs.len(),
        )
    };
    ok_finite(s, &x, "wmf_gradient_step_row_f32");

    let mut scores = vec![0.0f32; n];
    // SAFETY: h n*k, w k, scores n.
    let s = unsafe { wmf_score_items_f32(h.as_ptr(), n, k, w0.as_ptr(), scores.as_mut_ptr()) };
    ok_finite(s, &scores, "wmf_score_items_f32");

    let cap = usize::from(inp.capacity % 16);
    let (mut oi, mut os, mut count) = (vec![0u32; cap], vec![0.0f32; cap], usize::MAX);
    // SAFETY: h n*k, w k, exclude its length, outputs cap.
    let s = unsafe {
        wmf_top_n_f32(
            h.as_ptr(),
            n,
            k,
            w0.as_ptr(),
            ptr_or_null(&inp.exclude, null(11)),
            inp.exclude.len(),
            mut_or_null(&mut oi, null(12)),
            os.as_mut_ptr(),
            cap,
            &mut count,
        )
    };
    assert_ne!(s, wmf_status::WMF_STATUS_PANIC);
    if s == wmf_status::WMF_STATUS_OK {
        assert!(count <= cap.min(n));
        assert!(os[..count].iter().all(|v| v.is_finite()));
        assert!(oi[..count].iter().all(|&j| (j as usize) < n));
    }

    // The same through the items struct (checked or not): never a panic, and
    // where both calls succeed, the same list.
    let (mut oi2, mut os2, mut count2) = (vec![0u32; cap], vec![0.0f32; cap], usize::MAX);
    // SAFETY: the items struct as above, w k, exclude its length, outputs cap.
    let s2 = unsafe {
        wmf_top_n_items_f32(
            items_p,
            w0.as_ptr(),
            ptr_or_null(&inp.exclude, null(11)),
            inp.exclude.len(),
            mut_or_null(&mut oi2, null(12)),
            os2.as_mut_ptr(),
            cap,
            &mut count2,
        )
    };
    assert_ne!(
        s2,
        wmf_status::WMF_STATUS_PANIC,
        "wmf_top_n_items_f32 panicked"
    );
    if s2 == wmf_status::WMF_STATUS_OK {
        assert!(count2 <= cap.min(n));
        assert!(os2[..count2].iter().all(|v| v.is_finite()));
        if s == wmf_status::WMF_STATUS_OK {
            assert_eq!((count, &oi, bits(&os)), (count2, &oi2, bits(&os2)));
        }
    }

    // Whitening, then the low-rank fold-in on its result (or, when it
    // failed, on arbitrary factors: `hw` is not scanned by the call).
    let mut l = vec![0.0f32; scratch_len(k * k)];
    let mut hw = vec![0.0f32; n * k];
    // SAFETY: l holds l.len() values, hw n*k.
    let s = unsafe {
        wmf_whiten_f32(
            items_p,
            lambda,
            mut_or_null(&mut l, null(13)),
            l.len(),
            hw.as_mut_ptr(),
            hw.len(),
        )
    };
    ok_finite(s, &l, "wmf_whiten_f32 (l)");
    ok_finite(s, &hw, "wmf_whiten_f32 (hw)");
    if s != wmf_status::WMF_STATUS_OK || l.len() != k * k {
        l = fill(&inp.w, k * k);
        hw.clone_from(&h);
    }
    let whitened = wmf_whitened_f32 {
        hw: hw.as_ptr(),
        n,
        k,
        l: l.as_ptr(),
        c0: c0_ptr,
        c0_uniform,
    };
    let whitened_p: *const wmf_whitened_f32 = if null(14) { ptr::null() } else { &whitened };
    let mut lr = vec![0.0f32; scratch_len(wmf_solve_row_low_rank_scratch_len(ids.len(), k))];
    let mut x = w0.clone();
    let mut solved = 7u32;
    // SAFETY: the structs as declared; lr lr.len() values, x k.
    let s = unsafe {
        wmf_solve_row_low_rank_f32(
            whitened_p,
            row_p,
            mut_or_null(&mut lr, null(15)),
            lr.len(),
            x.as_mut_ptr(),
            &mut solved,
        )
    };
    ok_finite(s, &x, "wmf_solve_row_low_rank_f32");
    if s != wmf_status::WMF_STATUS_OK || solved == 0 {
        assert_eq!(
            bits(&x),
            bits(&w0),
            "x written by a failed or declined low-rank solve"
        );
    }

    // A small dense block: x, c m x n; w m x k; h n x k.
    let m = usize::from(inp.m_dense % 8);
    let xd = fill(&inp.conf, m * n);
    let cd: Vec<f32> = fill(&inp.w, m * n).iter().map(|v| v.abs()).collect();
    let wd = fill(&inp.h, m * k);
    let dense = wmf_dense_f32 {
        x: xd.as_ptr(),
        c: cd.as_ptr(),
        w: wd.as_ptr(),
        h: h.as_ptr(),
        m,
        n,
        k,
    };
    let mut dl = 0.0f32;
    // SAFETY: the dense struct's arrays have the lengths it declares.
    let s = unsafe { wmf_dense_loss_f32(&dense, lambda, &mut dl) };
    ok_finite(s, &[dl], "wmf_dense_loss_f32");
    let mut gw = vec![0.0f32; m * k];
    // SAFETY: gw holds m*k values.
    let s = unsafe { wmf_dense_grad_w_f32(&dense, lambda, gw.as_mut_ptr()) };
    ok_finite(s, &gw, "wmf_dense_grad_w_f32");
    for kk in [0, k, 300] {
        let _ = wmf_solve_row_cg_scratch_len(kk);
        let _ = wmf_solve_row_cholesky_scratch_len(kk);
    }
    assert!(!wmf_status_str(s as core::ffi::c_int).is_null());
});
