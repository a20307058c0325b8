//! Element-wise ALS (eALS, He et al. 2016): exact coordinate minimisation of a
//! user's quadratic, one latent dimension at a time, and its O(k²) online
//! update for a new interaction.
//!
//! # Derivation
//!
//! With `A`, `b` the user's normal equations (see [`crate::row`]),
//! `f_u(w) = wᵀ A w − 2 bᵀ w + const`. Minimising over the single coordinate
//! `w_f` with the others fixed gives
//!
//! ```text
//! w_f ← (b_f − Σ_{l≠f} A_fl w_l) / A_ff
//! ```
//!
//! Expanding `A` without forming it, with the prediction cache `ŝ_j = w·h_j`
//! for the observed items and `ŝ_j^f = ŝ_j − w_f h_jf`:
//!
//! ```text
//! numerator   = Σ_obs [c_uj x_uj − (c_uj − c0_j) ŝ_j^f] h_jf − Σ_{l≠f} G0_fl w_l
//! denominator = Σ_obs (c_uj − c0_j) h_jf² + G0_ff + λ
//! ```
//!
//! which is He et al.'s update (their eq. 12, with `x_uj = 1`). One sweep over
//! `f = 0..k` costs O(n_u k + k²) and never increases `f_u`; sweeps converge to
//! the same solution as Cholesky when `A` is positive definite (Gauss–Seidel on
//! a symmetric positive definite system).
//!
//! For an on-device stream of new interactions, keeping `A` and `b` themselves
//! (k² + k numbers, from [`crate::row_normal_equations`]) makes each new or
//! changed cell a rank-1 update, `A += (c_new − c_old) h_i h_iᵀ`,
//! `b += (c_new x_new − c_old x_old) h_i` (a previously unobserved cell has
//! `c_old = c0_i`, `x_old = 0`), followed by coordinate sweeps on `A w = b`:
//! O(k²) each, independent of the user's history length.

use crate::check;
use crate::error::{Error, Result};
use crate::factors::{Items, Row};
use crate::real::{Real, dot, mirror_lower, positive, syr_lower};

/// Minimum length of the prediction cache [`solve_row_eals`] needs: `n_u`.
pub const fn eals_scratch_len(n_u: usize) -> usize {
    n_u
}

/// Runs `sweeps` eALS coordinate sweeps on user factor `w` (`k`, updated in
/// place from its current value), using `pred_scratch` (at least `n_u`) for the
/// prediction cache. O(sweeps · (n_u k + k²)).
///
/// A coordinate whose denominator is not positive (possible only with `λ = 0`
/// and a degenerate `G0`) is left unchanged. An empty row with `λ > 0` or a
/// positive definite `G0` drives `w` to zero.
///
/// # Errors
/// Row and `w` validation errors; [`Error::LengthMismatch`] for a short
/// `pred_scratch`; [`Error::NonFiniteResult`] if an update would overflow
/// (`w` then keeps the last finite coordinates).
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Items, Row, solve_row_eals};
/// let h = [1.0f64, 0.0, 0.0, 1.0];
/// let g0 = [1.0, 0.0, 0.0, 1.0];
/// let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// let mut w = [0.0; 2];
/// let mut cache = [0.0; 1];
/// solve_row_eals(&items, &Row::implicit(&[0], &[3.0]), 1.0, &mut w, 1, &mut cache).unwrap();
/// assert_eq!(w, [0.75, 0.0]); // orthogonal items: one sweep is exact
/// ```
#[inline(always)]
pub fn solve_row_eals<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    w: &mut [T],
    sweeps: usize,
    pred_scratch: &mut [T],
) -> Result<()> {
    items.check_row(row)?;
    check::scalar_nonneg(lambda, "lambda")?;
    let k = items.k();
    check::len(w, k, "w")?;
    check::finite(w, "w")?;
    let nu = row.len();
    check::min_len(pred_scratch, eals_scratch_len(nu), "pred_scratch")?;
    let pred = &mut pred_scratch[..nu];
    for (t, p) in pred.iter_mut().enumerate() {
        let (j, _, _) = row.cell(t);
        *p = dot(w, items.h.row(j));
    }
    for _ in 0..sweeps {
        for f in 0..k {
            let wf = w[f];
            let mut num = T::ZERO;
            let mut den = items.g0[f * k + f] + lambda;
            for (t, p) in pred.iter().enumerate() {
                let (j, c, x) = row.cell(t);
                let hjf = items.h.row(j)[f];
                let dc = c - items.c0.at(j);
                num += (c * x - dc * (*p - wf * hjf)) * hjf;
                den += dc * hjf * hjf;
            }
            let g_row = &items.g0[f * k..(f + 1) * k];
            num -= dot(g_row, w) - g_row[f] * wf;
            if !num.is_finite() || !den.is_finite() {
                // Overflow, or a non-finite factor behind `Factors::with_shape`.
                return Err(Error::NonFiniteResult { what: "w" });
            }
            if !positive(den) {
                continue;
            }
            let new = num / den;
            if !new.is_finite() {
                return Err(Error::NonFiniteResult { what: "w" });
            }
            let delta = new - wf;
            for (t, p) in pred.iter_mut().enumerate() {
                let (j, _, _) = row.cell(t);
                *p += delta * items.h.row(j)[f];
            }
            w[f] = new;
        }
    }
    Ok(())
}

/// Runs `sweeps` Gauss–Seidel (coordinate-descent) sweeps on `A w = b`
/// (`a` is `k x k` symmetric, `b` and `w` are `k`), updating `w` in place.
/// O(sweeps · k²). A coordinate with `A_ff <= 0` is left unchanged.
///
/// # Errors
/// Dimension, length and finiteness errors for `a`, `b`, `w`;
/// [`Error::NonFiniteResult`] if an update would overflow.
pub fn cd_sweeps<T: Real>(a: &[T], b: &[T], w: &mut [T], k: usize, sweeps: usize) -> Result<()> {
    check::rank(k)?;
    check::len(a, k * k, "a")?;
    check::len(b, k, "b")?;
    check::len(w, k, "w")?;
    check::finite(a, "a")?;
    check::finite(b, "b")?;
    check::finite(w, "w")?;
    cd_unchecked(a, b, w, k, sweeps)
}

fn cd_unchecked<T: Real>(a: &[T], b: &[T], w: &mut [T], k: usize, sweeps: usize) -> Result<()> {
    for _ in 0..sweeps {
        for f in 0..k {
            let a_row = &a[f * k..(f + 1) * k];
            let aff = a_row[f];
            if !positive(aff) {
                continue;
            }
            let off = dot(a_row, w) - aff * w[f];
            let new = (b[f] - off) / aff;
            if !new.is_finite() {
                return Err(Error::NonFiniteResult { what: "w" });
            }
            w[f] = new;
        }
    }
    Ok(())
}

/// A change to one cell of a user's row, for [`eals_online_update`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellUpdate<T> {
    /// The new confidence `c_new >= 0`.
    pub c_new: T,
    /// The new preference `x_new` (1 for an implicit interaction).
    pub x_new: T,
    /// The confidence the cell had: `c0_i` for a previously unobserved cell.
    pub c_old: T,
    /// The preference the cell had: 0 for a previously unobserved cell.
    pub x_old: T,
}

impl<T: Real> CellUpdate<T> {
    /// A new interaction on a previously unobserved cell with baseline weight `c0_i`.
    pub fn new_interaction(c: T, c0_i: T) -> Self {
        Self {
            c_new: c,
            x_new: T::ONE,
            c_old: c0_i,
            x_old: T::ZERO,
        }
    }
}

/// The eALS online update for one new or changed interaction with item
/// factor `h_i` (`k`): the O(k²) rank-1 update of the cached normal equations
/// `A += (c_new − c_old) h_i h_iᵀ`, `b += (c_new x_new − c_old x_old) h_i`,
/// then `sweeps` coordinate sweeps on `A w = b` (see the [module docs](self)).
///
/// `a`, `b` start from [`crate::row_normal_equations`] (they are the state a
/// device keeps per user); `w` is the current user factor. Total cost
/// O(k² (1 + sweeps)), independent of how many interactions the user has.
///
/// # Errors
/// Dimension, length and finiteness errors (`a`, `b`, `w`, `h_i`, the update's
/// fields); [`Error::Negative`] for `c_new` or `c_old`;
/// [`Error::NonFiniteResult`] on overflow; `a` and `b` may then hold the
/// overflowed update: recompute them with [`crate::row_normal_equations`].
/// Validation errors are reported before anything is written.
///
/// ```
/// use wmf_kernel::{CellUpdate, eals_online_update};
/// // k = 1: A = [2], b = [0], w = [0]; a new interaction with h = [1], c = 3, c0 = 1
/// let (mut a, mut b, mut w) = ([2.0f64], [0.0], [0.0]);
/// eals_online_update(&mut a, &mut b, &mut w, 1, &[1.0], CellUpdate::new_interaction(3.0, 1.0), 1).unwrap();
/// assert_eq!((a[0], b[0], w[0]), (4.0, 3.0, 0.75));
/// ```
pub fn eals_online_update<T: Real>(
    a: &mut [T],
    b: &mut [T],
    w: &mut [T],
    k: usize,
    h_i: &[T],
    update: CellUpdate<T>,
    sweeps: usize,
) -> Result<()> {
    check::rank(k)?;
    check::len(a, k * k, "a")?;
    check::len(b, k, "b")?;
    check::len(w, k, "w")?;
    check::len(h_i, k, "h_i")?;
    check::finite(a, "a")?;
    check::finite(b, "b")?;
    check::finite(w, "w")?;
    check::finite(h_i, "h_i")?;
    check::scalar_nonneg(update.c_new, "c_new")?;
    check::scalar_nonneg(update.c_old, "c_old")?;
    check::finite(core::slice::from_ref(&update.x_new), "x_new")?;
    check::finite(core::slice::from_ref(&update.x_old), "x_old")?;
    let dc = update.c_new - update.c_old;
    let db = update.c_new * update.x_new - update.c_old * update.x_old;
    syr_lower(dc, h_i, a, k);
    mirror_lower(a, k);
    for (bi, hi) in b.iter_mut().zip(h_i) {
        *bi += db * *hi;
    }
    check::result(a, "a")?;
    check::result(b, "b")?;
    cd_unchecked(a, b, w, k, sweeps)
}
