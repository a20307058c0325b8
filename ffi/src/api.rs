//! The exported `extern "C"` functions: thin `float` / `double`
//! instantiations of [`crate::imp`], each documented for the C header.
//!
//! Written out by hand (not by a macro) so cbindgen sees every function and
//! its doc comment.

use crate::imp;
use crate::status::wmf_status;
use crate::types::{
    wmf_cell_update_f32, wmf_cell_update_f64, wmf_cg_report, wmf_dense_f32, wmf_dense_f64,
    wmf_items_f32, wmf_items_f64, wmf_row_f32, wmf_row_f64, wmf_whitened_f32, wmf_whitened_f64,
};

// ---------------------------------------------------------------- dense block

/// Weighted residual of a dense block: `r = C ∘ (X − W Hᵀ)`, i.e.
/// `r[i*n + j] = c[i*n + j] * (x[i*n + j] − Σ_a w[i*k + a] h[j*k + a])`.
///
/// - `d`: the problem (see `wmf_dense_f32`), borrowed for the call.
/// - `r`: output, `m * n` elements, row-major, caller-owned.
///
/// Returns `WMF_STATUS_OK`, or: `ZERO_DIMENSION` / `DIMENSION_TOO_LARGE` (m,
/// n, k), `NON_FINITE` (an input is NaN/inf), `NEGATIVE` (a confidence),
/// `NON_FINITE_RESULT` (overflow: `r` is then zero-filled), and the pointer
/// statuses. On any other error `r` is not written.
///
/// # Safety
/// Every pointer must point to the number of elements stated for it and be
/// valid for the call; `r` must not overlap the inputs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_dense_residual_f32(
    d: *const wmf_dense_f32,
    r: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::dense_residual(d, r) }
}

/// `double` version of `wmf_dense_residual_f32` (same sizes, statuses and contract).
///
/// # Safety
/// As `wmf_dense_residual_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_dense_residual_f64(
    d: *const wmf_dense_f64,
    r: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::dense_residual(d, r) }
}

/// Loss of a dense block:
/// `f = Σ_ij C_ij (X_ij − W_i·H_j)² + lambda (|W|² + |H|²)`, written to `*loss`.
///
/// - `d`: the problem; `lambda >= 0`, finite.
/// - `loss`: output, one element.
///
/// Returns `WMF_STATUS_OK`, or: `ZERO_DIMENSION` / `DIMENSION_TOO_LARGE`,
/// `NON_FINITE` (input or `lambda`), `NEGATIVE` (a confidence or `lambda`),
/// `NON_FINITE_RESULT` (overflow), and the pointer statuses. `*loss` is
/// written only on success.
///
/// # Safety
/// As `wmf_dense_residual_f32`; `loss` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_dense_loss_f32(
    d: *const wmf_dense_f32,
    lambda: f32,
    loss: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::dense_loss(d, lambda, loss) }
}

/// `double` version of `wmf_dense_loss_f32`.
///
/// # Safety
/// As `wmf_dense_loss_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_dense_loss_f64(
    d: *const wmf_dense_f64,
    lambda: f64,
    loss: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::dense_loss(d, lambda, loss) }
}

/// Gradient of the dense loss with respect to the user factors:
/// `g = ∂f/∂W = −2 R H + 2 lambda W` with `R = C ∘ (X − W Hᵀ)`.
///
/// - `d`: the problem; `lambda >= 0`, finite.
/// - `g`: output, `m * k` elements, row-major.
///
/// Returns as `wmf_dense_loss_f32`; on `NON_FINITE_RESULT` `g` is zero-filled,
/// on any other error it is not written.
///
/// # Safety
/// As `wmf_dense_residual_f32`; `g` holds `m * k` elements and overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_dense_grad_w_f32(
    d: *const wmf_dense_f32,
    lambda: f32,
    g: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::dense_grad_w(d, lambda, g) }
}

/// `double` version of `wmf_dense_grad_w_f32`.
///
/// # Safety
/// As `wmf_dense_grad_w_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_dense_grad_w_f64(
    d: *const wmf_dense_f64,
    lambda: f64,
    g: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::dense_grad_w(d, lambda, g) }
}

/// Gradient of the dense loss with respect to the item factors:
/// `g = ∂f/∂H = −2 Rᵀ W + 2 lambda H` with `R = C ∘ (X − W Hᵀ)`.
///
/// - `d`: the problem; `lambda >= 0`, finite.
/// - `g`: output, `n * k` elements, row-major.
///
/// Returns as `wmf_dense_loss_f32`; on `NON_FINITE_RESULT` `g` is zero-filled,
/// on any other error it is not written.
///
/// # Safety
/// As `wmf_dense_residual_f32`; `g` holds `n * k` elements and overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_dense_grad_h_f32(
    d: *const wmf_dense_f32,
    lambda: f32,
    g: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::dense_grad_h(d, lambda, g) }
}

/// `double` version of `wmf_dense_grad_h_f32`.
///
/// # Safety
/// As `wmf_dense_grad_h_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_dense_grad_h_f64(
    d: *const wmf_dense_f64,
    lambda: f64,
    g: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::dense_grad_h(d, lambda, g) }
}

// ---------------------------------------------------------------- item side

/// Checks a model's item side once, in full (O(n k): every pointer, size and
/// value of `h`, `g0` and `c0`), and on success sets `items->checked` to
/// `WMF_ITEMS_CHECKED`, so later calls skip the O(n k) scan of `h` (a device
/// folding in many users against one model in flash).
///
/// Returns `WMF_STATUS_OK`, or the status the first failing check gives (as
/// any call taking `wmf_items_f32`); then `items->checked` is not written.
///
/// # Safety
/// `items` must point to a writable `wmf_items_f32` whose pointers satisfy its
/// contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_items_check_f32(items: *mut wmf_items_f32) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::items_check(items) }
}

/// `double` version of `wmf_items_check_f32`.
///
/// # Safety
/// As `wmf_items_check_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_items_check_f64(items: *mut wmf_items_f64) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::items_check(items) }
}

// ---------------------------------------------------------------- Gramian

/// Weighted Gramian of the item factors: `g = Hᵀ diag(c0) H = Σ_j c0_j h_j h_jᵀ`
/// (`k x k`, symmetric). O(n k²). Its result is the `g0` of `wmf_items_f32`.
///
/// - `h`: item factors, `n * k` elements, row-major.
/// - `c0`: `n` per-item weights (finite, `>= 0`), or NULL for `c0_uniform` everywhere.
/// - `g`: output, `k * k` elements, row-major.
///
/// Returns `WMF_STATUS_OK`, or: `ZERO_DIMENSION` / `DIMENSION_TOO_LARGE` (n,
/// k), `NON_FINITE` (h or c0), `NEGATIVE` (c0), `NON_FINITE_RESULT` (overflow:
/// `g` is zero-filled), and the pointer statuses. On any other error `g` is not written.
///
/// # Safety
/// Every pointer must point to the number of elements stated for it; `g`
/// overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_gramian_f32(
    h: *const f32,
    n: usize,
    k: usize,
    c0: *const f32,
    c0_uniform: f32,
    g: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::gramian(h, n, k, c0, c0_uniform, g) }
}

/// `double` version of `wmf_gramian_f32`.
///
/// # Safety
/// As `wmf_gramian_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_gramian_f64(
    h: *const f64,
    n: usize,
    k: usize,
    c0: *const f64,
    c0_uniform: f64,
    g: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::gramian(h, n, k, c0, c0_uniform, g) }
}

// ---------------------------------------------------------------- one user (row)

/// One user's loss in the implicit-feedback form, in O(n_u k + k²):
/// `f_u(w) = wᵀ G0 w + Σ_obs [c (x − w·h_j)² − c0_j (w·h_j)²] + lambda |w|²`
/// (the item regulariser `lambda |H|²` is not included).
///
/// - `items`, `row`: the model's item side and the user's interactions.
/// - `w`: the user's factor, `k` elements. `loss`: output, one element.
///
/// Returns `WMF_STATUS_OK`, or the item/row statuses (`ZERO_DIMENSION`,
/// `DIMENSION_TOO_LARGE`, `LENGTH_MISMATCH`, `INDEX_OUT_OF_RANGE`,
/// `NOT_ASCENDING`, `NON_FINITE`, `NEGATIVE` for a confidence, c0 or lambda),
/// `NON_FINITE_RESULT`, and the pointer statuses. `*loss` is written only on success.
///
/// # Safety
/// The structs' pointers follow their documented contracts; `w` holds `k` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_row_loss_f32(
    items: *const wmf_items_f32,
    row: *const wmf_row_f32,
    lambda: f32,
    w: *const f32,
    loss: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::row_loss(items, row, lambda, w, loss) }
}

/// `double` version of `wmf_row_loss_f32`.
///
/// # Safety
/// As `wmf_row_loss_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_row_loss_f64(
    items: *const wmf_items_f64,
    row: *const wmf_row_f64,
    lambda: f64,
    w: *const f64,
    loss: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::row_loss(items, row, lambda, w, loss) }
}

/// One user's gradient `grad = ∇f_u(w) = 2 (A w − b)` (see
/// `wmf_row_normal_equations_f32` for `A`, `b`), in O(n_u k + k²) without forming `A`.
///
/// - `w`: the user's factor, `k` elements. `grad`: output, `k` elements.
///
/// Returns as `wmf_row_loss_f32`. `grad` is written only on success.
///
/// # Safety
/// As `wmf_row_loss_f32`; `grad` holds `k` elements and overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_row_gradient_f32(
    items: *const wmf_items_f32,
    row: *const wmf_row_f32,
    lambda: f32,
    w: *const f32,
    grad: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::row_gradient(items, row, lambda, w, grad) }
}

/// `double` version of `wmf_row_gradient_f32`.
///
/// # Safety
/// As `wmf_row_gradient_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_row_gradient_f64(
    items: *const wmf_items_f64,
    row: *const wmf_row_f64,
    lambda: f64,
    w: *const f64,
    grad: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::row_gradient(items, row, lambda, w, grad) }
}

/// One user's normal equations `A w = b`, in O(n_u k²):
/// `A = G0 + Σ_obs (c_uj − c0_j) h_j h_jᵀ + lambda I` (`k x k`, full symmetric)
/// and `b = Σ_obs c_uj x_uj h_j` (`k`). An empty row gives `A = G0 + lambda I`, `b = 0`.
/// These are the per-user state of `wmf_eals_online_update_f32`.
///
/// - `a`: output, `k * k` elements, row-major. `b`: output, `k` elements.
///
/// Returns as `wmf_row_loss_f32`; on `NON_FINITE_RESULT` both `a` and `b` are
/// zero-filled, on any other error neither is written.
///
/// # Safety
/// As `wmf_row_loss_f32`; `a` and `b` overlap no input and each other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_row_normal_equations_f32(
    items: *const wmf_items_f32,
    row: *const wmf_row_f32,
    lambda: f32,
    a: *mut f32,
    b: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::row_normal_equations(items, row, lambda, a, b) }
}

/// `double` version of `wmf_row_normal_equations_f32`.
///
/// # Safety
/// As `wmf_row_normal_equations_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_row_normal_equations_f64(
    items: *const wmf_items_f64,
    row: *const wmf_row_f64,
    lambda: f64,
    a: *mut f64,
    b: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::row_normal_equations(items, row, lambda, a, b) }
}

/// Exact fold-in of one user: forms the normal equations (see
/// `wmf_row_normal_equations_f32`) in `a_scratch` and solves `A x = b` by
/// Cholesky into `x`. O(n_u k² + k³/3). An empty row gives `x = 0`.
///
/// - `a_scratch`: at least `wmf_solve_row_cholesky_scratch_len(k)` = `k * k`
///   elements, `a_scratch_len` of them; its contents afterwards are unspecified.
/// - `x`: output, `k` elements.
///
/// Returns `WMF_STATUS_OK`, or the statuses of `wmf_row_loss_f32`,
/// `LENGTH_MISMATCH` (scratch too short), `NOT_POSITIVE_DEFINITE` (`A`
/// singular, e.g. `lambda = 0` with too few items: increase `lambda`).
/// `x` is written only on success.
///
/// # Safety
/// As `wmf_row_loss_f32`; `a_scratch` holds `a_scratch_len` elements; outputs
/// and scratch overlap no input and each other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_row_cholesky_f32(
    items: *const wmf_items_f32,
    row: *const wmf_row_f32,
    lambda: f32,
    a_scratch: *mut f32,
    a_scratch_len: usize,
    x: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::solve_row_cholesky(items, row, lambda, a_scratch, a_scratch_len, x) }
}

/// `double` version of `wmf_solve_row_cholesky_f32`.
///
/// # Safety
/// As `wmf_solve_row_cholesky_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_row_cholesky_f64(
    items: *const wmf_items_f64,
    row: *const wmf_row_f64,
    lambda: f64,
    a_scratch: *mut f64,
    a_scratch_len: usize,
    x: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::solve_row_cholesky(items, row, lambda, a_scratch, a_scratch_len, x) }
}

/// Whitens the item side for the low-rank fold-in of short rows
/// (`wmf_solve_row_low_rank_f32`): `l = L`, the Cholesky factor of
/// `G0 + lambda I`, and `hw = H L⁻ᵀ` (row `j` becomes `L⁻¹ h_j`). O(n k²),
/// once per model and `lambda` (a host may compute both and ship them).
///
/// - `items`: the item side (see `wmf_items_f32`).
/// - `lambda`: `>= 0`, finite; the regularisation every fold-in through
///   the result uses.
/// - `l`: output, `l_len = k * k` elements; its lower triangle (diagonal
///   included) holds `L`, its strict upper triangle `G0`'s.
/// - `hw`: output, `hw_len = n * k` elements, row-major.
///
/// Returns `WMF_STATUS_OK`, or: the statuses of `wmf_solve_row_cholesky_f32`
/// for `items`, `NON_FINITE` / `NEGATIVE` for `lambda`, `LENGTH_MISMATCH`
/// when `l_len` or `hw_len` is not the size above, `NOT_POSITIVE_DEFINITE`
/// when `G0 + lambda I` is not (numerically) positive definite (use a larger
/// `lambda`), `NON_FINITE_RESULT` on overflow. On those last two `l` and
/// `hw` are zero-filled; on any other error they are not written.
///
/// # Safety
/// As `wmf_solve_row_cholesky_f32`; `l` and `hw` must be writable and not
/// overlap the inputs or each other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_whiten_f32(
    items: *const wmf_items_f32,
    lambda: f32,
    l: *mut f32,
    l_len: usize,
    hw: *mut f32,
    hw_len: usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::whiten(items, lambda, l, l_len, hw, hw_len) }
}

/// `double` version of `wmf_whiten_f32`.
///
/// # Safety
/// As `wmf_whiten_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_whiten_f64(
    items: *const wmf_items_f64,
    lambda: f64,
    l: *mut f64,
    l_len: usize,
    hw: *mut f64,
    hw_len: usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::whiten(items, lambda, l, l_len, hw, hw_len) }
}

/// Exact fold-in of a short row through the whitened item side (Woodbury:
/// O(n_u² k + n_u³/3 + k²) instead of the normal equations'
/// O(n_u k² + k³/3)): the solution of the same normal equations as
/// `wmf_solve_row_cholesky_f32` with the `lambda` the side was whitened
/// with, in other rounding. It is the kernel solve the host's Cholesky
/// training uses for rows of at most `max(k − 16, k / 2)` cells when every
/// row has the same `lambda` (on whitened factors it computes with BLAS).
///
/// - `whitened`: from `wmf_whiten_f32` (see `wmf_whitened_f32`).
/// - `scratch`: at least `wmf_solve_row_low_rank_scratch_len(n_u, k)` =
///   `n_u k + n_u²` elements, `scratch_len` of them (NULL with 0 for an
///   empty row); contents afterwards unspecified.
/// - `x`: output, `k` elements.
/// - `solved`: output, 1 when the row was solved into `x`; 0 when the
///   method does not apply to it (a cell whose confidence is below its
///   `c0`, or more than `WMF_MAX_K` cells): `x` is then untouched and the
///   row needs `wmf_solve_row_cholesky_f32`. An empty row gives `x = 0`.
///
/// Returns `WMF_STATUS_OK`, or: the row's statuses as in
/// `wmf_solve_row_cholesky_f32`; `NON_FINITE` / `NOT_POSITIVE_DEFINITE` for
/// an `l` with a non-finite value or a diagonal entry that is not positive;
/// `NON_FINITE` / `NEGATIVE` for `c0`; `LENGTH_MISMATCH` for a short
/// `scratch`; `NON_FINITE_RESULT` on overflow. A non-finite value in `hw`
/// (not scanned) that the row reads gives `NON_FINITE` (or
/// `NON_FINITE_RESULT`). `x` and `*solved` are written only on success.
///
/// # Safety
/// Every pointer must point to the number of elements stated for it and be
/// valid for the call; `scratch`, `x` and `solved` must be writable and not
/// overlap the inputs or each other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_row_low_rank_f32(
    whitened: *const wmf_whitened_f32,
    row: *const wmf_row_f32,
    scratch: *mut f32,
    scratch_len: usize,
    x: *mut f32,
    solved: *mut u32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::solve_row_low_rank(whitened, row, scratch, scratch_len, x, solved) }
}

/// `double` version of `wmf_solve_row_low_rank_f32`.
///
/// # Safety
/// As `wmf_solve_row_low_rank_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_row_low_rank_f64(
    whitened: *const wmf_whitened_f64,
    row: *const wmf_row_f64,
    scratch: *mut f64,
    scratch_len: usize,
    x: *mut f64,
    solved: *mut u32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::solve_row_low_rank(whitened, row, scratch, scratch_len, x, solved) }
}

/// `wmf_solve_row_low_rank_f32` for up to `WMF_LOW_RANK_GROUP` (16) rows
/// at once, side by side: row `v`'s result, status and flag are bit for
/// bit what `wmf_solve_row_low_rank_f32` gives for it alone. Each row
/// gathers its `V` and forms `V Vᵀ` as alone; then the rows' small
/// capacitance systems are factored and solved together, one per vector
/// lane, which hides their latency chains: measured at k = 64 on the
/// library's default x86-64 build, 29% less time per row for rows of 8
/// cells, 24% for 16, 18% for 24, 10% for 32 (BENCHMARKS.md, batch 29).
/// A core without vector registers has no lanes to hide them in: there
/// the group is not expected to be faster (not measured on a device).
/// Rows of similar length group best: each system is padded to the
/// longest.
///
/// - `whitened`: from `wmf_whiten_f32` (see `wmf_whitened_f32`).
/// - `rows`: `n_rows <= WMF_LOW_RANK_GROUP` rows (NULL with 0).
/// - `scratch`: at least `wmf_solve_rows_low_rank_scratch_len(n_max, k)`
///   elements, `n_max` the longest row's length; `scratch_len` of them;
///   contents afterwards unspecified.
/// - `xs`: output, `n_rows * k` elements; row `v`'s `x` at `xs[v * k]`,
///   written only when that row is solved.
/// - `statuses`, `solved`: outputs, `n_rows` elements each: row `v`'s
///   status (`WMF_STATUS_OK`, or the status `wmf_solve_row_low_rank_f32`
///   returns for it) and flag (1 when solved into its `x`; 0 when declined
///   or failed, its `x` untouched).
///
/// Returns `WMF_STATUS_OK` when every row has its status and flag, or,
/// writing nothing: `DIMENSION_TOO_LARGE` for `n_rows` above
/// `WMF_LOW_RANK_GROUP`; `NULL_POINTER` / `MISALIGNED_POINTER` /
/// `SIZE_OVERFLOW` for an argument or a row's array; the statuses of
/// `wmf_solve_row_low_rank_f32` for `whitened`; `LENGTH_MISMATCH` for a
/// short `scratch`.
///
/// # Safety
/// Every pointer must point to the number of elements stated for it and be
/// valid for the call; `scratch`, `xs`, `statuses` and `solved` must be
/// writable and not overlap the inputs or each other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_rows_low_rank_f32(
    whitened: *const wmf_whitened_f32,
    rows: *const wmf_row_f32,
    n_rows: usize,
    scratch: *mut f32,
    scratch_len: usize,
    xs: *mut f32,
    statuses: *mut wmf_status,
    solved: *mut u32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        imp::solve_rows_low_rank(
            whitened,
            rows,
            n_rows,
            scratch,
            scratch_len,
            xs,
            statuses,
            solved,
        )
    }
}

/// `double` version of `wmf_solve_rows_low_rank_f32`.
///
/// # Safety
/// As `wmf_solve_rows_low_rank_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_rows_low_rank_f64(
    whitened: *const wmf_whitened_f64,
    rows: *const wmf_row_f64,
    n_rows: usize,
    scratch: *mut f64,
    scratch_len: usize,
    xs: *mut f64,
    statuses: *mut wmf_status,
    solved: *mut u32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        imp::solve_rows_low_rank(
            whitened,
            rows,
            n_rows,
            scratch,
            scratch_len,
            xs,
            statuses,
            solved,
        )
    }
}

/// Improves the warm start `x` towards the solution of the user's normal
/// equations by at most `max_steps` conjugate-gradient steps (each O(n_u k + k²),
/// `A` is never formed), stopping early once `|r|² <= tol² |b|²`.
///
/// - `x`: in/out, `k` elements (the previous factors, or zeros).
/// - `tol`: relative residual tolerance, finite and `>= 0` (0: run all steps).
/// - `scratch`: at least `wmf_solve_row_cg_scratch_len(k)` = `3 k` elements,
///   `scratch_len` of them; contents afterwards unspecified.
/// - `report`: output, steps taken and final squared residual.
///
/// Returns as `wmf_solve_row_cholesky_f32` (without `NOT_POSITIVE_DEFINITE`:
/// a breakdown stops early), plus `NON_FINITE` / `NEGATIVE` for `tol`;
/// `NON_FINITE_RESULT` if a step would overflow. `x` and `*report` are
/// written only on success.
///
/// # Safety
/// As `wmf_solve_row_cholesky_f32`; `report` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_row_cg_f32(
    items: *const wmf_items_f32,
    row: *const wmf_row_f32,
    lambda: f32,
    x: *mut f32,
    max_steps: usize,
    tol: f64,
    scratch: *mut f32,
    scratch_len: usize,
    report: *mut wmf_cg_report,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        imp::solve_row_cg(
            items,
            row,
            lambda,
            x,
            max_steps,
            tol,
            scratch,
            scratch_len,
            report,
        )
    }
}

/// `double` version of `wmf_solve_row_cg_f32`.
///
/// # Safety
/// As `wmf_solve_row_cg_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_row_cg_f64(
    items: *const wmf_items_f64,
    row: *const wmf_row_f64,
    lambda: f64,
    x: *mut f64,
    max_steps: usize,
    tol: f64,
    scratch: *mut f64,
    scratch_len: usize,
    report: *mut wmf_cg_report,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        imp::solve_row_cg(
            items,
            row,
            lambda,
            x,
            max_steps,
            tol,
            scratch,
            scratch_len,
            report,
        )
    }
}

/// Runs `sweeps` element-wise ALS (eALS, He et al. 2016) coordinate sweeps on
/// the user's factor `w`, starting from its current value. O(sweeps (n_u k + k²)).
/// Each sweep never increases `f_u`; sweeps converge to the Cholesky solution.
///
/// - `w`: in/out, `k` elements.
/// - `scratch`: prediction cache, at least `wmf_solve_row_eals_scratch_len(row->len)`
///   = `n_u` elements, `scratch_len` of them (NULL when that is 0).
///
/// Returns as `wmf_row_loss_f32`, plus `LENGTH_MISMATCH` (scratch too short).
/// `w` is written only on success.
///
/// # Safety
/// As `wmf_row_loss_f32`; `w` and `scratch` overlap no input and each other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_row_eals_f32(
    items: *const wmf_items_f32,
    row: *const wmf_row_f32,
    lambda: f32,
    w: *mut f32,
    sweeps: usize,
    scratch: *mut f32,
    scratch_len: usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::solve_row_eals(items, row, lambda, w, sweeps, scratch, scratch_len) }
}

/// `double` version of `wmf_solve_row_eals_f32`.
///
/// # Safety
/// As `wmf_solve_row_eals_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_solve_row_eals_f64(
    items: *const wmf_items_f64,
    row: *const wmf_row_f64,
    lambda: f64,
    w: *mut f64,
    sweeps: usize,
    scratch: *mut f64,
    scratch_len: usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::solve_row_eals(items, row, lambda, w, sweeps, scratch, scratch_len) }
}

/// The eALS online update for one new or changed interaction with item
/// factor `h_i`, in O(k² (1 + sweeps)) regardless of the user's history:
/// `A += (c_new − c_old) h_i h_iᵀ`, `b += (c_new x_new − c_old x_old) h_i`,
/// then `sweeps` coordinate sweeps on `A w = b`.
///
/// - `a`: in/out, `k * k` elements; `b`, `w`: in/out, `k` elements. Start `a`,
///   `b` from `wmf_row_normal_equations_f32`; they are the state a device
///   keeps per user.
/// - `h_i`: the item's factor, `k` elements. `update`: the cell's change.
/// - `scratch`: at least `wmf_eals_online_update_scratch_len(k)` = `k * k`
///   elements, `scratch_len` of them; the update is computed there so that
///   `a`, `b`, `w` change only on success.
///
/// Returns `WMF_STATUS_OK`, or `ZERO_DIMENSION` / `DIMENSION_TOO_LARGE` (k),
/// `LENGTH_MISMATCH` (scratch too short), `NON_FINITE` (a, b, w, h_i or the
/// update), `NEGATIVE` (`c_new`, `c_old`), `NON_FINITE_RESULT` (overflow), and
/// the pointer statuses. `a`, `b`, `w` are written only on success.
///
/// # Safety
/// Every pointer holds the number of elements stated; no two of `a`, `b`,
/// `w`, `h_i`, `scratch` overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_eals_online_update_f32(
    a: *mut f32,
    b: *mut f32,
    w: *mut f32,
    k: usize,
    h_i: *const f32,
    update: wmf_cell_update_f32,
    sweeps: usize,
    scratch: *mut f32,
    scratch_len: usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::eals_online_update(a, b, w, k, h_i, update, sweeps, scratch, scratch_len) }
}

/// `double` version of `wmf_eals_online_update_f32`.
///
/// # Safety
/// As `wmf_eals_online_update_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_eals_online_update_f64(
    a: *mut f64,
    b: *mut f64,
    w: *mut f64,
    k: usize,
    h_i: *const f64,
    update: wmf_cell_update_f64,
    sweeps: usize,
    scratch: *mut f64,
    scratch_len: usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::eals_online_update(a, b, w, k, h_i, update, sweeps, scratch, scratch_len) }
}

/// One gradient step on the user's factor, `w ← w − lr ∇f_u(w)`, for devices
/// too small for a `k x k` solve: O(n_u k + k²) time, O(k) memory. The step
/// decreases `f_u` when `0 < lr < 1 / λ_max(A)`.
///
/// - `w`: in/out, `k` elements. `lr`: step size, finite and `>= 0`.
/// - `scratch`: at least `wmf_gradient_step_row_scratch_len(k)` = `k`
///   elements, `scratch_len` of them.
///
/// Returns as `wmf_row_loss_f32`, plus `LENGTH_MISMATCH` (scratch too short),
/// `NON_FINITE` / `NEGATIVE` for `lr`. `w` is written only on success.
///
/// # Safety
/// As `wmf_row_loss_f32`; `w` and `scratch` overlap no input and each other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_gradient_step_row_f32(
    items: *const wmf_items_f32,
    row: *const wmf_row_f32,
    lambda: f32,
    w: *mut f32,
    lr: f32,
    scratch: *mut f32,
    scratch_len: usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::gradient_step_row(items, row, lambda, w, lr, scratch, scratch_len) }
}

/// `double` version of `wmf_gradient_step_row_f32`.
///
/// # Safety
/// As `wmf_gradient_step_row_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_gradient_step_row_f64(
    items: *const wmf_items_f64,
    row: *const wmf_row_f64,
    lambda: f64,
    w: *mut f64,
    lr: f64,
    scratch: *mut f64,
    scratch_len: usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::gradient_step_row(items, row, lambda, w, lr, scratch, scratch_len) }
}

// ---------------------------------------------------------------- scoring

/// Scores every item for one user: `scores[j] = w·h_j`. O(n k).
///
/// - `h`: item factors, `n * k` elements, row-major. `w`: `k` elements.
/// - `scores`: output, `n` elements.
///
/// Returns `WMF_STATUS_OK`, or `ZERO_DIMENSION` / `DIMENSION_TOO_LARGE` (n,
/// k), `NON_FINITE` (h or w), `NON_FINITE_RESULT` (overflow: `scores` is
/// zero-filled), and the pointer statuses. On any other error `scores` is not written.
///
/// # Safety
/// Every pointer holds the number of elements stated; `scores` overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_score_items_f32(
    h: *const f32,
    n: usize,
    k: usize,
    w: *const f32,
    scores: *mut f32,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::score_items(h, n, k, w, scores) }
}

/// `double` version of `wmf_score_items_f32`.
///
/// # Safety
/// As `wmf_score_items_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_score_items_f64(
    h: *const f64,
    n: usize,
    k: usize,
    w: *const f64,
    scores: *mut f64,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe { imp::score_items(h, n, k, w, scores) }
}

/// The best `capacity` items for one user by score `w·h_j`, best first,
/// skipping the items in `exclude` (e.g. those already seen). Equal scores
/// keep ascending item order. O(n k + n log capacity), no allocation: a
/// `capacity` up to 32 takes one pass over the items (the list on the
/// stack, 256 bytes), a larger one two (a checking pass first).
///
/// - `h`: item factors, `n * k` elements, row-major. `w`: `k` elements.
/// - `exclude`: `n_exclude` item ids, strictly ascending, each `< n` (NULL when `n_exclude` is 0).
/// - `out_items`, `out_scores`: outputs, `capacity >= 1` elements each.
/// - `count`: output, how many were written: `min(capacity, n − n_exclude)`;
///   entries past it are left untouched.
///
/// Returns `WMF_STATUS_OK`, or `ZERO_DIMENSION` (n, k, capacity),
/// `DIMENSION_TOO_LARGE` (n, k), `NON_FINITE` (h or w), `INDEX_OUT_OF_RANGE` /
/// `NOT_ASCENDING` (exclude), `NON_FINITE_RESULT` (a score overflows), and the
/// pointer statuses. Nothing is written unless the status is OK.
///
/// # Safety
/// Every pointer holds the number of elements stated; the outputs overlap no
/// input and each other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_top_n_f32(
    h: *const f32,
    n: usize,
    k: usize,
    w: *const f32,
    exclude: *const u32,
    n_exclude: usize,
    out_items: *mut u32,
    out_scores: *mut f32,
    capacity: usize,
    count: *mut usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        imp::top_n(
            h, n, k, w, exclude, n_exclude, out_items, out_scores, capacity, count,
        )
    }
}

/// `double` version of `wmf_top_n_f32`.
///
/// # Safety
/// As `wmf_top_n_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_top_n_f64(
    h: *const f64,
    n: usize,
    k: usize,
    w: *const f64,
    exclude: *const u32,
    n_exclude: usize,
    out_items: *mut u32,
    out_scores: *mut f64,
    capacity: usize,
    count: *mut usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        imp::top_n(
            h, n, k, w, exclude, n_exclude, out_items, out_scores, capacity, count,
        )
    }
}

/// `wmf_top_n_f32` over a `wmf_items_f32`: the same items, scores and
/// statuses, for a device that checked its model once with
/// `wmf_items_check_f32`. Then only the shapes, `g0` and `c0` are checked
/// per call (O(k² + n)), not the `n k` values of `h`, which
/// `wmf_top_n_f32` scans on every call (on a Cortex-M4 at k = 32 and
/// n = 3000, nearly half of its instructions). A value of `h` that is not
/// finite is then reported as `NON_FINITE_RESULT` by the score that reads it;
/// nothing is written.
///
/// - `items`: the item side (see `wmf_items_f32`; its `g0` and `c0` are
///   checked though not used).
/// - `w`: `items->k` elements. `exclude`, `n_exclude`, `out_items`,
///   `out_scores`, `capacity`, `count`: as in `wmf_top_n_f32`.
///
/// Returns as `wmf_top_n_f32`, with the statuses of `wmf_items_f32` (as in
/// `wmf_solve_row_cholesky_f32`) for `items`.
///
/// # Safety
/// `items` and its arrays as documented for `wmf_items_f32`; the other
/// pointers as in `wmf_top_n_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_top_n_items_f32(
    items: *const wmf_items_f32,
    w: *const f32,
    exclude: *const u32,
    n_exclude: usize,
    out_items: *mut u32,
    out_scores: *mut f32,
    capacity: usize,
    count: *mut usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        imp::top_n_items(
            items, w, exclude, n_exclude, out_items, out_scores, capacity, count,
        )
    }
}

/// `double` version of `wmf_top_n_items_f32`.
///
/// # Safety
/// As `wmf_top_n_items_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wmf_top_n_items_f64(
    items: *const wmf_items_f64,
    w: *const f64,
    exclude: *const u32,
    n_exclude: usize,
    out_items: *mut u32,
    out_scores: *mut f64,
    capacity: usize,
    count: *mut usize,
) -> wmf_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        imp::top_n_items(
            items, w, exclude, n_exclude, out_items, out_scores, capacity, count,
        )
    }
}

// ---------------------------------------------------------------- scratch sizes

/// Elements of scratch `wmf_solve_row_cholesky_*` needs for rank `k`: `k * k`.
/// Returns 0 when `k` is 0 or above `WMF_MAX_K` (the solve would reject it).
#[unsafe(no_mangle)]
pub extern "C" fn wmf_solve_row_cholesky_scratch_len(k: usize) -> usize {
    crate::panic::guard(0, || if valid_k(k) { k * k } else { 0 })
}

/// Elements of scratch `wmf_solve_row_cg_*` needs for rank `k`: `3 k`.
/// Returns 0 when `k` is 0 or above `WMF_MAX_K`.
#[unsafe(no_mangle)]
pub extern "C" fn wmf_solve_row_cg_scratch_len(k: usize) -> usize {
    crate::panic::guard(0, || {
        if valid_k(k) {
            wmf_kernel::cg_scratch_len(k)
        } else {
            0
        }
    })
}

/// Elements of scratch `wmf_solve_row_low_rank_*` needs for a row of `n_u`
/// interactions at rank `k`: `n_u k + n_u²` (0 for an empty row, when the
/// scratch may be NULL). Returns 0 when `k` is 0 or above `WMF_MAX_K`, and
/// `SIZE_MAX` when the size does not fit a `size_t`.
#[unsafe(no_mangle)]
pub extern "C" fn wmf_solve_row_low_rank_scratch_len(n_u: usize, k: usize) -> usize {
    crate::panic::guard(0, || {
        if valid_k(k) {
            wmf_kernel::low_rank_scratch_len(n_u, k)
        } else {
            0
        }
    })
}

/// Elements of scratch `wmf_solve_rows_low_rank_*` needs for rows of at
/// most `n_max` interactions at rank `k`: `16 (n_max k + 2 k + N² + 2 N) +
/// n_max²`, `N` = `n_max` rounded up to a multiple of four (`32 k` for
/// empty rows). Returns 0 when `k` is 0 or above `WMF_MAX_K`, and
/// `SIZE_MAX` when the size does not fit a `size_t`.
#[unsafe(no_mangle)]
pub extern "C" fn wmf_solve_rows_low_rank_scratch_len(n_max: usize, k: usize) -> usize {
    crate::panic::guard(0, || {
        if valid_k(k) {
            wmf_kernel::low_rank_group_scratch_len(n_max, k)
        } else {
            0
        }
    })
}

/// Elements of scratch `wmf_solve_row_eals_*` needs for a row of `n_u`
/// interactions: `n_u` (0 for an empty row, when the scratch may be NULL).
#[unsafe(no_mangle)]
pub extern "C" fn wmf_solve_row_eals_scratch_len(n_u: usize) -> usize {
    crate::panic::guard(0, || wmf_kernel::eals_scratch_len(n_u))
}

/// Elements of scratch `wmf_eals_online_update_*` needs for rank `k`: `k * k`.
/// Returns 0 when `k` is 0 or above `WMF_MAX_K`.
#[unsafe(no_mangle)]
pub extern "C" fn wmf_eals_online_update_scratch_len(k: usize) -> usize {
    crate::panic::guard(0, || if valid_k(k) { k * k } else { 0 })
}

/// Elements of scratch `wmf_gradient_step_row_*` needs for rank `k`: `k`.
/// Returns 0 when `k` is 0 or above `WMF_MAX_K`.
#[unsafe(no_mangle)]
pub extern "C" fn wmf_gradient_step_row_scratch_len(k: usize) -> usize {
    crate::panic::guard(0, || if valid_k(k) { k } else { 0 })
}

fn valid_k(k: usize) -> bool {
    (1..=wmf_kernel::MAX_K).contains(&k)
}

/// Test-only (cargo feature `panic-test`, absent from normal builds and from
/// the header): panics inside the panic boundary and returns `WMF_STATUS_PANIC`.
///
/// cbindgen:ignore
#[cfg(feature = "panic-test")]
#[unsafe(no_mangle)]
pub extern "C" fn wmf_test_panic() -> wmf_status {
    imp::force_panic()
}
