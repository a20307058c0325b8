//! One gradient step on a user's row, for devices too small for a k x k solve.

use crate::check;
use crate::error::{Error, Result};
use crate::factors::{Items, Row};
use crate::real::Real;
use crate::row::row_gradient;

/// `w ← w − lr · ∇f_u(w)` with the exact implicit-form gradient
/// (see [`crate::row_gradient`]), using `grad_scratch` (`k`). O(n_u k + k²),
/// O(k) memory: no `k x k` matrix is formed.
///
/// The step decreases `f_u` when `0 < lr < 1 / λ_max(A)`; `lr = 0` leaves `w`
/// unchanged. An empty row shrinks `w` towards zero.
///
/// # Errors
/// Row and `w` validation errors, [`Error::Negative`] / [`Error::NonFinite`]
/// for `lr`, [`Error::NonFiniteResult`] if the step would overflow; `w` is
/// written only on success.
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Items, Row, gradient_step_row};
/// let h = [1.0f64];
/// let g0 = [1.0];
/// let items = Items::new(Factors::new(&h, 1, 1).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// let mut w = [0.0];
/// let mut g = [0.0];
/// // f(w) = 3 (1 - w)^2; gradient at 0 is -6; step 0.1 moves to 0.6
/// gradient_step_row(&items, &Row::implicit(&[0], &[3.0]), 0.0, &mut w, 0.1, &mut g).unwrap();
/// assert!((w[0] - 0.6).abs() < 1e-12);
/// ```
pub fn gradient_step_row<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    w: &mut [T],
    lr: T,
    grad_scratch: &mut [T],
) -> Result<()> {
    check::scalar_nonneg(lr, "lr")?;
    row_gradient(items, row, lambda, w, grad_scratch)?;
    // `w + (−lr) g` is `w − lr g` exactly (negation is exact)
    if !check::axpy_all_finite(-lr, grad_scratch, w) {
        return Err(Error::NonFiniteResult { what: "w" });
    }
    for (wi, gi) in w.iter_mut().zip(grad_scratch.iter()) {
        *wi -= lr * *gi;
    }
    Ok(())
}
