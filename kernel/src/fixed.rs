//! Fixed-size (const-generic `K`) fold-in for callers that know the rank at
//! compile time: scratch lives on the caller's stack, sized exactly.

use crate::error::{Error, Result};
use crate::factors::{Items, Row};
use crate::real::Real;

fn check_k<T: Real, const K: usize>(items: &Items<'_, T>) -> Result<()> {
    const { assert!(K > 0 && K <= crate::MAX_K, "K must be in 1..=MAX_K") };
    if items.k() != K {
        return Err(Error::LengthMismatch {
            what: "k",
            expected: K,
            actual: items.k(),
        });
    }
    Ok(())
}

/// [`crate::solve_row_cholesky`] with `A` (`K * K`) on the stack; returns `x`.
///
/// # Errors
/// [`Error::LengthMismatch`] (`what: "k"`) when `items.k() != K`, then as
/// [`crate::solve_row_cholesky`].
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Items, Row};
/// let h = [1.0f32, 0.0, 0.0, 1.0];
/// let g0 = [1.0, 0.0, 0.0, 1.0];
/// let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// let x = wmf_kernel::fixed::solve_row_cholesky::<f32, 2>(&items, &Row::implicit(&[0], &[3.0]), 1.0).unwrap();
/// assert_eq!(x, [0.75, 0.0]);
/// ```
pub fn solve_row_cholesky<T: Real, const K: usize>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
) -> Result<[T; K]> {
    check_k::<T, K>(items)?;
    let mut a = [[T::ZERO; K]; K];
    let mut x = [T::ZERO; K];
    crate::solve_row_cholesky(items, row, lambda, a.as_flattened_mut(), &mut x)?;
    Ok(x)
}

/// [`crate::solve_row_cg`] with its `3 K` scratch on the stack; updates the
/// warm start `x` in place.
///
/// # Errors
/// [`Error::LengthMismatch`] (`what: "k"`) when `items.k() != K`, then as
/// [`crate::solve_row_cg`].
pub fn solve_row_cg<T: Real, const K: usize>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    x: &mut [T; K],
    params: crate::CgParams,
) -> Result<crate::CgReport> {
    check_k::<T, K>(items)?;
    let mut scratch = [[T::ZERO; K]; 3];
    crate::solve_row_cg(items, row, lambda, x, params, scratch.as_flattened_mut())
}
