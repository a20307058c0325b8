//! The parameter structs of the C API and their conversion to kernel views.
//!
//! Each struct is generic over the scalar in Rust and appears in the header
//! twice, as `*_f32` (`float`) and `*_f64` (`double`).

#![allow(non_camel_case_types)] // the C names of the API

use crate::ptr;
use crate::status::wmf_status;
use wmf_kernel::{Baseline, CellUpdate, Dense, Factors, Items, Real, Row, Whitened};

/// A dense block problem (`_f32`: `float`, `_f64`: `double`). All matrices are
/// row-major and borrowed for the duration of one call:
/// `x` and `c` are `m * n` elements (preferences and confidences, every
/// confidence `>= 0`), `w` is `m * k` (user factors), `h` is `n * k` (item
/// factors). `1 <= m, n <= UINT32_MAX`, `1 <= k <= WMF_MAX_K`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wmf_dense<T> {
    /// Preferences `X`, `m * n` elements.
    pub x: *const T,
    /// Confidences `C >= 0`, `m * n` elements.
    pub c: *const T,
    /// User factors `W`, `m * k` elements.
    pub w: *const T,
    /// Item factors `H`, `n * k` elements.
    pub h: *const T,
    /// Rows (users) `m`.
    pub m: usize,
    /// Columns (items) `n`.
    pub n: usize,
    /// Latent factors `k`.
    pub k: usize,
}

/// A dense block problem over `float`.
pub type wmf_dense_f32 = wmf_dense<f32>;
/// A dense block problem over `double`.
pub type wmf_dense_f64 = wmf_dense<f64>;

/// The item side of a model, as a fold-in needs it (`_f32`: `float`,
/// `_f64`: `double`), borrowed for one call: item factors `h` (`n * k`,
/// row-major), their weighted Gramian `g0 = hᵀ diag(c0) h` (`k * k`, from
/// `wmf_gramian_*`) and the weight `c0` of unobserved cells.
///
/// `c0` is either an array of `n` per-item weights (each finite and `>= 0`),
/// or NULL, in which case every item has the weight `c0_uniform`. Every call
/// that takes this struct checks all of it (O(n k)): values finite,
/// `1 <= k <= WMF_MAX_K`, `1 <= n <= UINT32_MAX` — unless `checked` holds
/// `WMF_ITEMS_CHECKED`, set by `wmf_items_check_f32` after one full check: then
/// calls check shapes, pointers, `g0` and `c0` (O(n + k²)) but not the n·k item
/// factors. Initialise `checked` to 0 (e.g. with `= {0}` or designated
/// initialisers). A value made non-finite after the check is still never
/// returned as NaN: the call that reads it reports `NON_FINITE_RESULT`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wmf_items<T> {
    /// Item factors `H`, `n * k` elements, row `j` at `h[j*k .. j*k+k]`.
    pub h: *const T,
    /// Number of items `n`.
    pub n: usize,
    /// Latent factors `k`.
    pub k: usize,
    /// Gramian `G0 = Hᵀ diag(c0) H`, `k * k` elements, symmetric.
    pub g0: *const T,
    /// Per-item weights of unobserved cells, `n` elements; NULL means `c0_uniform` for every item.
    pub c0: *const T,
    /// The weight of every unobserved cell when `c0` is NULL (ignored otherwise).
    pub c0_uniform: T,
    /// `WMF_ITEMS_CHECKED` once `wmf_items_check_*` accepted the struct; 0 otherwise.
    pub checked: u32,
}

/// The value of `wmf_items_*.checked` after a successful `wmf_items_check_*`.
pub const WMF_ITEMS_CHECKED: u32 = 0x574D_4643;

/// The item side of a model over `float`.
pub type wmf_items_f32 = wmf_items<f32>;
/// The item side of a model over `double`.
pub type wmf_items_f64 = wmf_items<f64>;

/// The item side whitened for the low-rank fold-in of short rows
/// (`wmf_solve_row_low_rank_*`; `_f32`: `float`, `_f64`: `double`),
/// borrowed for one call, as `wmf_whiten_*` writes it from a `wmf_items_*`
/// and a `lambda`: `l`, the Cholesky factor of `G0 + lambda I` (`k * k`,
/// row-major, lower triangle read), and `hw = H L⁻ᵀ` (`n * k`, row `j` is
/// `L⁻¹ h_j`), with the item side's baseline weights `c0` (as in
/// `wmf_items_*`: `n` per-item weights, or NULL for `c0_uniform`).
///
/// Every call checks the shapes, `l` (finite, positive diagonal) and `c0`
/// (O(n + k²)) but not the `n * k` values of `hw`, which `wmf_whiten_*`
/// produced finite: a value made non-finite later is reported (as
/// `NON_FINITE` or `NON_FINITE_RESULT`) by the call that reads it, never
/// returned as NaN.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wmf_whitened<T> {
    /// Whitened item factors `H L⁻ᵀ`, `n * k` elements, row `j` at `hw[j*k .. j*k+k]`.
    pub hw: *const T,
    /// Number of items `n`.
    pub n: usize,
    /// Latent factors `k`.
    pub k: usize,
    /// Cholesky factor `L` of `G0 + lambda I`, `k * k` elements (lower triangle read).
    pub l: *const T,
    /// Per-item weights of unobserved cells, `n` elements; NULL means `c0_uniform` for every item.
    pub c0: *const T,
    /// The weight of every unobserved cell when `c0` is NULL (ignored otherwise).
    pub c0_uniform: T,
}

/// The whitened item side over `float`.
pub type wmf_whitened_f32 = wmf_whitened<f32>;
/// The whitened item side over `double`.
pub type wmf_whitened_f64 = wmf_whitened<f64>;

/// One user's observed interactions (`_f32`: `float`, `_f64`: `double`),
/// borrowed for one call: `len` item ids (strictly ascending, each `< n`),
/// their confidences (`>= 0`) and optionally their preferences.
///
/// `items` and `conf` may be NULL only when `len == 0` (a user with no
/// interactions). `pref` NULL means every preference is 1 (implicit feedback,
/// Hu et al. 2008); otherwise it holds `len` finite values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wmf_row<T> {
    /// Item ids, `len` elements, strictly ascending, each `< n`.
    pub items: *const u32,
    /// Confidence of each listed item, `len` elements, each `>= 0`.
    pub conf: *const T,
    /// Preference of each listed item, `len` elements, or NULL for all ones.
    pub pref: *const T,
    /// Number of interactions `n_u` (may be 0).
    pub len: usize,
}

/// One user's interactions over `float`.
pub type wmf_row_f32 = wmf_row<f32>;
/// One user's interactions over `double`.
pub type wmf_row_f64 = wmf_row<f64>;

/// A change to one cell of a user's row, for `wmf_eals_online_update_*`
/// (`_f32`: `float`, `_f64`: `double`). For a new interaction with
/// confidence `c` on an item with baseline weight `c0_i`:
/// `{ .c_new = c, .x_new = 1, .c_old = c0_i, .x_old = 0 }`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wmf_cell_update<T> {
    /// New confidence, `>= 0`.
    pub c_new: T,
    /// New preference (1 for an implicit interaction).
    pub x_new: T,
    /// Previous confidence (`c0_i` for a previously unobserved cell), `>= 0`.
    pub c_old: T,
    /// Previous preference (0 for a previously unobserved cell).
    pub x_old: T,
}

/// A cell update over `float`.
pub type wmf_cell_update_f32 = wmf_cell_update<f32>;
/// A cell update over `double`.
pub type wmf_cell_update_f64 = wmf_cell_update<f64>;

/// What `wmf_solve_row_cg_*` did.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct wmf_cg_report {
    /// Conjugate-gradient steps taken (`<= max_steps`).
    pub steps: usize,
    /// Squared residual norm `|b - A x|²` after the last step.
    pub residual_sq: f64,
}

/// A borrowed model's item factors as a kernel view.
///
/// # Safety
/// `h` must point to `n * k` elements (NULL only when that product is 0).
pub(crate) unsafe fn factors<'a, T: Real>(
    h: *const T,
    n: usize,
    k: usize,
) -> Result<Factors<'a, T>, wmf_status> {
    // SAFETY: forwarded caller contract: `n * k` elements at `h`.
    let data = unsafe { ptr::slice(h, ptr::product(n, k)?) }?;
    Ok(Factors::new(data, n, k)?)
}

/// As [`factors`], checking the shape but not the values
/// (`wmf_kernel::Factors::with_shape`).
///
/// # Safety
/// As [`factors`].
pub(crate) unsafe fn factors_shape<'a, T: Real>(
    h: *const T,
    n: usize,
    k: usize,
) -> Result<Factors<'a, T>, wmf_status> {
    // SAFETY: forwarded caller contract: `n * k` elements at `h`.
    let data = unsafe { ptr::slice(h, ptr::product(n, k)?) }?;
    Ok(Factors::with_shape(data, n, k)?)
}

/// The baseline weights: per item (`n` elements at `c0`) or uniform when `c0` is NULL.
///
/// # Safety
/// `c0` must be NULL or point to `n` elements.
pub(crate) unsafe fn baseline<'a, T: Real>(
    c0: *const T,
    c0_uniform: T,
    n: usize,
) -> Result<Baseline<'a, T>, wmf_status> {
    if c0.is_null() {
        Ok(Baseline::Uniform(c0_uniform))
    } else {
        // SAFETY: forwarded caller contract: `n` elements at `c0`.
        Ok(Baseline::PerItem(unsafe { ptr::slice(c0, n) }?))
    }
}

impl<T: Real> wmf_items<T> {
    /// The kernel view, after checking every pointer and value.
    ///
    /// # Safety
    /// The struct's pointers must satisfy its documented contract.
    pub(crate) unsafe fn view<'a>(&self) -> Result<Items<'a, T>, wmf_status> {
        // SAFETY: forwarded struct contract (h: n*k, g0: k*k, c0: n or NULL).
        unsafe {
            let h = if self.checked == WMF_ITEMS_CHECKED {
                factors_shape(self.h, self.n, self.k)?
            } else {
                factors(self.h, self.n, self.k)?
            };
            let g0 = ptr::slice(self.g0, ptr::product(self.k, self.k)?)?;
            let c0 = baseline(self.c0, self.c0_uniform, self.n)?;
            Ok(Items::new(h, g0, c0)?)
        }
    }
}

impl<T: Real> wmf_whitened<T> {
    /// The kernel view: shapes, `l` and `c0` checked, `hw`'s values not
    /// scanned (`wmf_kernel::Factors::with_shape`).
    ///
    /// # Safety
    /// The struct's pointers must satisfy its documented contract.
    pub(crate) unsafe fn view<'a>(&self) -> Result<Whitened<'a, T>, wmf_status> {
        // SAFETY: forwarded struct contract (hw: n*k, l: k*k, c0: n or NULL).
        unsafe {
            let hw = factors_shape(self.hw, self.n, self.k)?;
            let l = ptr::slice(self.l, ptr::product(self.k, self.k)?)?;
            let c0 = baseline(self.c0, self.c0_uniform, self.n)?;
            Ok(Whitened::new(hw, l, c0)?)
        }
    }
}

impl<T: Real> wmf_row<T> {
    /// The kernel view (checked against the items by the kernel call).
    ///
    /// # Safety
    /// The struct's pointers must satisfy its documented contract.
    pub(crate) unsafe fn view<'a>(&self) -> Result<Row<'a, T>, wmf_status> {
        // SAFETY: forwarded struct contract (items, conf: len; pref: len or NULL).
        unsafe {
            let items = ptr::slice(self.items, self.len)?;
            let conf = ptr::slice(self.conf, self.len)?;
            let pref = if self.pref.is_null() {
                None
            } else {
                Some(ptr::slice(self.pref, self.len)?)
            };
            Ok(Row::new(items, conf, pref))
        }
    }
}

impl<T: Real> wmf_dense<T> {
    /// The kernel's validated dense problem.
    ///
    /// # Safety
    /// The struct's pointers must satisfy its documented contract.
    pub(crate) unsafe fn view<'a>(&self) -> Result<Dense<'a, T>, wmf_status> {
        let mn = ptr::product(self.m, self.n)?;
        let mk = ptr::product(self.m, self.k)?;
        let nk = ptr::product(self.n, self.k)?;
        // SAFETY: forwarded struct contract (x, c: m*n; w: m*k; h: n*k).
        unsafe {
            let x = ptr::slice(self.x, mn)?;
            let c = ptr::slice(self.c, mn)?;
            let w = ptr::slice(self.w, mk)?;
            let h = ptr::slice(self.h, nk)?;
            Ok(Dense::new(x, c, w, h, self.m, self.n, self.k)?)
        }
    }
}

impl<T: Real> From<wmf_cell_update<T>> for CellUpdate<T> {
    fn from(u: wmf_cell_update<T>) -> Self {
        CellUpdate {
            c_new: u.c_new,
            x_new: u.x_new,
            c_old: u.c_old,
            x_old: u.x_old,
        }
    }
}
