//! The entry points, written once over the scalar type. Each one checks its
//! pointers, builds the kernel's views, calls the kernel and maps the result;
//! `api.rs` instantiates them for `float` and `double`.
//!
//! Outputs are written only on success. Outputs of at most `MAX_K` elements
//! and in/out vectors are computed in a stack temporary and copied out at the
//! end. Larger outputs are computed in place after every input has been
//! validated, so the only failure that can follow a write is
//! `WMF_STATUS_NON_FINITE_RESULT`, and then the output is zero-filled (and
//! `WMF_STATUS_NOT_POSITIVE_DEFINITE` from `wmf_whiten_*`, whose factor is
//! found not to exist while it is computed: both outputs zero-filled too).

use crate::panic::boundary;
use crate::ptr;
use crate::status::wmf_status::{self, *};
use crate::types::{
    baseline, factors, wmf_cell_update, wmf_cg_report, wmf_dense, wmf_items, wmf_row, wmf_whitened,
};
use wmf_kernel::{CgParams, Error, MAX_K, PortableFold, Real};

/// Zero-fills `out` when `res` is `NonFiniteResult` (the kernel had written
/// into it), then maps `res` to a status.
fn zero_on_overflow<T: Real>(
    res: Result<(), Error>,
    outs: &mut [&mut [T]],
) -> Result<(), wmf_status> {
    if let Err(Error::NonFiniteResult { .. }) = res {
        for out in outs.iter_mut() {
            out.fill(T::ZERO);
        }
    }
    Ok(res?)
}

/// The first `n` elements of `s`, or all of `s` when it is shorter (the kernel
/// then reports the length mismatch).
fn prefix_mut<T>(s: &mut [T], n: usize) -> &mut [T] {
    let len = s.len();
    s.split_at_mut(n.min(len)).0
}

/// A zeroed stack vector of `k <= MAX_K` elements.
fn temp<T: Real>(buf: &mut [T; MAX_K], k: usize) -> Result<&mut [T], wmf_status> {
    buf.get_mut(..k).ok_or(WMF_STATUS_INTERNAL)
}

// SAFETY (for every function below): the caller guarantees the contract of the
// matching `wmf_*` function in the header: every pointer is NULL (where the
// header allows it) or points to the documented number of elements, valid for
// the call, and outputs overlap no other argument. The `ptr` helpers check
// NULL, alignment and sizes; the kernel checks everything else.

/// Checks the whole item side once and marks it `WMF_ITEMS_CHECKED`.
pub(crate) unsafe fn items_check<T: Real>(items: *mut wmf_items<T>) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract; `items` is writable.
        let it = unsafe { ptr::reference(items) }?;
        let mut full = *it;
        full.checked = 0;
        // SAFETY: the struct's own contract.
        let _ = unsafe { full.view() }?;
        // SAFETY: `items` was checked non-NULL and aligned above.
        unsafe { (*items).checked = crate::types::WMF_ITEMS_CHECKED };
        Ok(())
    })
}

/// `R = C ∘ (X − W Hᵀ)`.
pub(crate) unsafe fn dense_residual<T: Real>(d: *const wmf_dense<T>, r: *mut T) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let d = unsafe { ptr::reference(d) }?;
        let dense = unsafe { d.view() }?;
        let r = unsafe { ptr::slice_mut(r, ptr::product(d.m, d.n)?) }?;
        zero_on_overflow(dense.weighted_residual(r), &mut [r])
    })
}

/// Dense loss.
pub(crate) unsafe fn dense_loss<T: Real>(
    d: *const wmf_dense<T>,
    lambda: T,
    loss: *mut T,
) -> wmf_status {
    boundary(|| {
        ptr::check_out(loss)?;
        // SAFETY: see the module-level contract.
        let dense = unsafe { ptr::reference(d)?.view() }?;
        let value = dense.loss(lambda)?;
        // SAFETY: see the module-level contract.
        unsafe { ptr::write(loss, value) }
    })
}

/// `∂f/∂W` (`m x k`).
pub(crate) unsafe fn dense_grad_w<T: Real>(
    d: *const wmf_dense<T>,
    lambda: T,
    g: *mut T,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let d = unsafe { ptr::reference(d) }?;
        let dense = unsafe { d.view() }?;
        let g = unsafe { ptr::slice_mut(g, ptr::product(d.m, d.k)?) }?;
        zero_on_overflow(dense.grad_w(lambda, g), &mut [g])
    })
}

/// `∂f/∂H` (`n x k`).
pub(crate) unsafe fn dense_grad_h<T: Real>(
    d: *const wmf_dense<T>,
    lambda: T,
    g: *mut T,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let d = unsafe { ptr::reference(d) }?;
        let dense = unsafe { d.view() }?;
        let g = unsafe { ptr::slice_mut(g, ptr::product(d.n, d.k)?) }?;
        zero_on_overflow(dense.grad_h(lambda, g), &mut [g])
    })
}

/// `G0 = Hᵀ diag(c0) H` (`k x k`).
pub(crate) unsafe fn gramian<T: Real>(
    h: *const T,
    n: usize,
    k: usize,
    c0: *const T,
    c0_uniform: T,
    g: *mut T,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let f = unsafe { factors(h, n, k) }?;
        let c0 = unsafe { baseline(c0, c0_uniform, n) }?;
        let g = unsafe { ptr::slice_mut(g, ptr::product(k, k)?) }?;
        zero_on_overflow(wmf_kernel::gramian(&f, c0, g), &mut [g])
    })
}

/// One user's loss.
pub(crate) unsafe fn row_loss<T: Real>(
    items: *const wmf_items<T>,
    row: *const wmf_row<T>,
    lambda: T,
    w: *const T,
    loss: *mut T,
) -> wmf_status {
    boundary(|| {
        ptr::check_out(loss)?;
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        let row = unsafe { ptr::reference(row)?.view() }?;
        let w = unsafe { ptr::slice(w, items.k()) }?;
        let value = wmf_kernel::row_loss(&items, &row, lambda, w)?;
        // SAFETY: see the module-level contract.
        unsafe { ptr::write(loss, value) }
    })
}

/// One user's gradient (`k`).
pub(crate) unsafe fn row_gradient<T: Real>(
    items: *const wmf_items<T>,
    row: *const wmf_row<T>,
    lambda: T,
    w: *const T,
    grad: *mut T,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        let row = unsafe { ptr::reference(row)?.view() }?;
        let k = items.k();
        let w = unsafe { ptr::slice(w, k) }?;
        let grad = unsafe { ptr::slice_mut(grad, k) }?;
        let mut buf = [T::ZERO; MAX_K];
        let tmp = temp(&mut buf, k)?;
        wmf_kernel::row_gradient(&items, &row, lambda, w, tmp)?;
        grad.copy_from_slice(tmp);
        Ok(())
    })
}

/// One user's normal equations `A` (`k x k`), `b` (`k`).
pub(crate) unsafe fn row_normal_equations<T: Real>(
    items: *const wmf_items<T>,
    row: *const wmf_row<T>,
    lambda: T,
    a: *mut T,
    b: *mut T,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        let row = unsafe { ptr::reference(row)?.view() }?;
        let k = items.k();
        let a = unsafe { ptr::slice_mut(a, ptr::product(k, k)?) }?;
        let b = unsafe { ptr::slice_mut(b, k) }?;
        let res = wmf_kernel::row_normal_equations(&items, &row, lambda, a, b);
        zero_on_overflow(res, &mut [a, b])
    })
}

/// Exact fold-in by Cholesky.
pub(crate) unsafe fn solve_row_cholesky<T: Real>(
    items: *const wmf_items<T>,
    row: *const wmf_row<T>,
    lambda: T,
    a_scratch: *mut T,
    a_scratch_len: usize,
    x: *mut T,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        let row = unsafe { ptr::reference(row)?.view() }?;
        let k = items.k();
        let scratch = unsafe { ptr::slice_mut(a_scratch, a_scratch_len) }?;
        let x = unsafe { ptr::slice_mut(x, k) }?;
        let scratch = prefix_mut(scratch, ptr::product(k, k)?);
        // The kernel writes `x` only on success.
        Ok(wmf_kernel::solve_row_cholesky(
            &items, &row, lambda, scratch, x,
        )?)
    })
}

/// The whitened item side: `l = chol(G0 + λ I)`, `hw = H L⁻ᵀ`.
pub(crate) unsafe fn whiten<T: Real>(
    items: *const wmf_items<T>,
    lambda: T,
    l: *mut T,
    l_len: usize,
    hw: *mut T,
    hw_len: usize,
) -> wmf_status {
    boundary(|| {
        if !lambda.is_finite() {
            return Err(WMF_STATUS_NON_FINITE);
        }
        if lambda < T::ZERO {
            return Err(WMF_STATUS_NEGATIVE);
        }
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        let (n, k) = (items.n(), items.k());
        let l = unsafe { ptr::slice_mut(l, l_len) }?;
        let hw = unsafe { ptr::slice_mut(hw, hw_len) }?;
        if l.len() != ptr::product(k, k)? || hw.len() != ptr::product(n, k)? {
            return Err(WMF_STATUS_LENGTH_MISMATCH);
        }
        // Every input is valid from here on: a failure now (a matrix that
        // is not positive definite, an overflow) zero-fills both outputs.
        let res = wmf_kernel::whitening_factor(items.gramian(), lambda, k, l).and_then(|()| {
            hw.copy_from_slice(items.factors().as_slice());
            wmf_kernel::whiten_rows(l, k, hw)
        });
        if res.is_err() {
            l.fill(T::ZERO);
            hw.fill(T::ZERO);
        }
        Ok(res?)
    })
}

/// Low-rank fold-in of a short row through the whitened item side.
pub(crate) unsafe fn solve_row_low_rank<T: Real>(
    whitened: *const wmf_whitened<T>,
    row: *const wmf_row<T>,
    scratch: *mut T,
    scratch_len: usize,
    x: *mut T,
    solved: *mut u32,
) -> wmf_status {
    boundary(|| {
        ptr::check_out(solved)?;
        // SAFETY: see the module-level contract.
        let w = unsafe { ptr::reference(whitened)?.view() }?;
        let row = unsafe { ptr::reference(row)?.view() }?;
        let x = unsafe { ptr::slice_mut(x, w.k()) }?;
        let scratch = unsafe { ptr::slice_mut(scratch, scratch_len) }?;
        // The kernel writes `x` only when it solves the row.
        let done = wmf_kernel::solve_row_low_rank(&w, &row, scratch, x)?;
        // SAFETY: see the module-level contract.
        unsafe { ptr::write(solved, u32::from(done)) }
    })
}

/// Low-rank fold-in of up to `LOW_RANK_GROUP` short rows side by side.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn solve_rows_low_rank<T: Real>(
    whitened: *const wmf_whitened<T>,
    rows: *const wmf_row<T>,
    n_rows: usize,
    scratch: *mut T,
    scratch_len: usize,
    xs: *mut T,
    statuses: *mut wmf_status,
    solved: *mut u32,
) -> wmf_status {
    use core::mem::MaybeUninit;
    use wmf_kernel::{LOW_RANK_GROUP, Row};
    boundary(|| {
        if n_rows > LOW_RANK_GROUP {
            return Err(WMF_STATUS_DIMENSION_TOO_LARGE);
        }
        // SAFETY: see the module-level contract. The per-row outputs are
        // viewed as uninitialised: C may hand over any bytes there.
        let w = unsafe { ptr::reference(whitened)?.view() }?;
        let k = w.k();
        let rows_in = unsafe { ptr::slice(rows, n_rows) }?;
        let statuses =
            unsafe { ptr::slice_mut(statuses.cast::<MaybeUninit<wmf_status>>(), n_rows) }?;
        let solved = unsafe { ptr::slice_mut(solved, n_rows) }?;
        let xs = unsafe { ptr::slice_mut(xs, ptr::product(n_rows, k)?) }?;
        let scratch = unsafe { ptr::slice_mut(scratch, scratch_len) }?;
        let mut views = [Row::empty(); LOW_RANK_GROUP];
        for (view, row) in views.iter_mut().zip(rows_in) {
            // SAFETY: the row struct's own contract.
            *view = unsafe { row.view() }?;
        }
        let views = &views[..n_rows];
        let n_max = views.iter().map(Row::len).max().unwrap_or(0);
        if scratch.len() < wmf_kernel::low_rank_group_scratch_len(n_max, k) {
            return Err(WMF_STATUS_LENGTH_MISMATCH);
        }
        // The kernel writes row `v`'s `x` only when it solves that row.
        let got = wmf_kernel::solve_rows_low_rank_folded(&w, views, scratch, xs, PortableFold);
        for ((st, done), got) in statuses.iter_mut().zip(solved.iter_mut()).zip(got) {
            let (status, d) = match got {
                Ok(d) => (WMF_STATUS_OK, u32::from(d)),
                Err(e) => (e.into(), 0),
            };
            st.write(status);
            *done = d;
        }
        Ok(())
    })
}

/// Conjugate-gradient fold-in from a warm start.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn solve_row_cg<T: Real>(
    items: *const wmf_items<T>,
    row: *const wmf_row<T>,
    lambda: T,
    x: *mut T,
    max_steps: usize,
    tol: f64,
    scratch: *mut T,
    scratch_len: usize,
    report: *mut wmf_cg_report,
) -> wmf_status {
    boundary(|| {
        ptr::check_out(report)?;
        if !tol.is_finite() {
            return Err(WMF_STATUS_NON_FINITE);
        }
        if tol < 0.0 {
            return Err(WMF_STATUS_NEGATIVE);
        }
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        let row = unsafe { ptr::reference(row)?.view() }?;
        let k = items.k();
        let x = unsafe { ptr::slice_mut(x, k) }?;
        let scratch = unsafe { ptr::slice_mut(scratch, scratch_len) }?;
        let mut buf = [T::ZERO; MAX_K];
        let tmp = temp(&mut buf, k)?;
        tmp.copy_from_slice(x);
        let params = CgParams {
            steps: max_steps,
            tol,
        };
        let done = wmf_kernel::solve_row_cg(&items, &row, lambda, tmp, params, scratch)?;
        x.copy_from_slice(tmp);
        // SAFETY: see the module-level contract.
        unsafe {
            ptr::write(
                report,
                wmf_cg_report {
                    steps: done.steps,
                    residual_sq: done.residual_sq,
                },
            )
        }
    })
}

/// eALS sweeps on one user.
pub(crate) unsafe fn solve_row_eals<T: Real>(
    items: *const wmf_items<T>,
    row: *const wmf_row<T>,
    lambda: T,
    w: *mut T,
    sweeps: usize,
    scratch: *mut T,
    scratch_len: usize,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        let row = unsafe { ptr::reference(row)?.view() }?;
        let k = items.k();
        let w = unsafe { ptr::slice_mut(w, k) }?;
        let scratch = unsafe { ptr::slice_mut(scratch, scratch_len) }?;
        let mut buf = [T::ZERO; MAX_K];
        let tmp = temp(&mut buf, k)?;
        tmp.copy_from_slice(w);
        wmf_kernel::solve_row_eals(&items, &row, lambda, tmp, sweeps, scratch)?;
        w.copy_from_slice(tmp);
        Ok(())
    })
}

/// eALS online update of cached normal equations and the user factor.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn eals_online_update<T: Real>(
    a: *mut T,
    b: *mut T,
    w: *mut T,
    k: usize,
    h_i: *const T,
    update: wmf_cell_update<T>,
    sweeps: usize,
    scratch: *mut T,
    scratch_len: usize,
) -> wmf_status {
    boundary(|| {
        let kk = ptr::product(k, k)?;
        // SAFETY: see the module-level contract.
        let a = unsafe { ptr::slice_mut(a, kk) }?;
        let b = unsafe { ptr::slice_mut(b, k) }?;
        let w = unsafe { ptr::slice_mut(w, k) }?;
        let h_i = unsafe { ptr::slice(h_i, k) }?;
        let scratch = unsafe { ptr::slice_mut(scratch, scratch_len) }?;
        if k == 0 {
            return Err(WMF_STATUS_ZERO_DIMENSION);
        }
        if k > MAX_K {
            return Err(WMF_STATUS_DIMENSION_TOO_LARGE);
        }
        if scratch.len() < kk {
            return Err(WMF_STATUS_LENGTH_MISMATCH);
        }
        let a_tmp = prefix_mut(scratch, kk);
        a_tmp.copy_from_slice(a);
        let (mut b_buf, mut w_buf) = ([T::ZERO; MAX_K], [T::ZERO; MAX_K]);
        let b_tmp = temp(&mut b_buf, k)?;
        let w_tmp = temp(&mut w_buf, k)?;
        b_tmp.copy_from_slice(b);
        w_tmp.copy_from_slice(w);
        wmf_kernel::eals_online_update(a_tmp, b_tmp, w_tmp, k, h_i, update.into(), sweeps)?;
        a.copy_from_slice(a_tmp);
        b.copy_from_slice(b_tmp);
        w.copy_from_slice(w_tmp);
        Ok(())
    })
}

/// One gradient step on a user's factor.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gradient_step_row<T: Real>(
    items: *const wmf_items<T>,
    row: *const wmf_row<T>,
    lambda: T,
    w: *mut T,
    lr: T,
    scratch: *mut T,
    scratch_len: usize,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        let row = unsafe { ptr::reference(row)?.view() }?;
        let k = items.k();
        let w = unsafe { ptr::slice_mut(w, k) }?;
        let scratch = unsafe { ptr::slice_mut(scratch, scratch_len) }?;
        let scratch = prefix_mut(scratch, k);
        // The kernel writes `w` only on success.
        Ok(wmf_kernel::gradient_step_row(
            &items, &row, lambda, w, lr, scratch,
        )?)
    })
}

/// `scores[j] = w·h_j` for every item.
pub(crate) unsafe fn score_items<T: Real>(
    h: *const T,
    n: usize,
    k: usize,
    w: *const T,
    scores: *mut T,
) -> wmf_status {
    boundary(|| {
        // SAFETY: see the module-level contract.
        let f = unsafe { factors(h, n, k) }?;
        let w = unsafe { ptr::slice(w, k) }?;
        let scores = unsafe { ptr::slice_mut(scores, n) }?;
        zero_on_overflow(wmf_kernel::score_items(&f, w, scores), &mut [scores])
    })
}

/// The best `capacity` items by score, skipping `exclude`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn top_n<T: Real>(
    h: *const T,
    n: usize,
    k: usize,
    w: *const T,
    exclude: *const u32,
    n_exclude: usize,
    out_items: *mut u32,
    out_scores: *mut T,
    capacity: usize,
    count: *mut usize,
) -> wmf_status {
    boundary(|| {
        ptr::check_out(count)?;
        // SAFETY: see the module-level contract.
        let f = unsafe { factors(h, n, k) }?;
        // SAFETY: forwarded caller contract.
        unsafe {
            select_top_n(
                &f, w, exclude, n_exclude, out_items, out_scores, capacity, count,
            )
        }
    })
}

/// [`top_n`] over a `wmf_items_*` (its `h` not scanned again once checked).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn top_n_items<T: Real>(
    items: *const wmf_items<T>,
    w: *const T,
    exclude: *const u32,
    n_exclude: usize,
    out_items: *mut u32,
    out_scores: *mut T,
    capacity: usize,
    count: *mut usize,
) -> wmf_status {
    boundary(|| {
        ptr::check_out(count)?;
        // SAFETY: see the module-level contract.
        let items = unsafe { ptr::reference(items)?.view() }?;
        // SAFETY: forwarded caller contract.
        unsafe {
            select_top_n(
                items.factors(),
                w,
                exclude,
                n_exclude,
                out_items,
                out_scores,
                capacity,
                count,
            )
        }
    })
}

/// The part of [`top_n`] and [`top_n_items`] after the item factors' view:
/// the kernel's `top_n_into`, which writes the outputs only on success.
///
/// # Safety
/// As the module-level contract, for the pointers it takes.
#[allow(clippy::too_many_arguments)]
unsafe fn select_top_n<T: Real>(
    f: &wmf_kernel::Factors<'_, T>,
    w: *const T,
    exclude: *const u32,
    n_exclude: usize,
    out_items: *mut u32,
    out_scores: *mut T,
    capacity: usize,
    count: *mut usize,
) -> Result<(), wmf_status> {
    // SAFETY: forwarded caller contract.
    let w = unsafe { ptr::slice(w, f.k()) }?;
    let exclude = unsafe { ptr::slice(exclude, n_exclude) }?;
    let out_items = unsafe { ptr::slice_mut(out_items, capacity) }?;
    let out_scores = unsafe { ptr::slice_mut(out_scores, capacity) }?;
    let got = wmf_kernel::top_n_into(f, w, exclude, out_items, out_scores)?;
    // SAFETY: forwarded caller contract.
    unsafe { ptr::write(count, got) }
}

/// Test-only: panics inside the boundary.
#[cfg(feature = "panic-test")]
pub(crate) fn force_panic() -> wmf_status {
    boundary(|| panic!("wmf_test_panic: forced panic (panic-test feature)"))
}
