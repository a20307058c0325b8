//! Exact row solve: Cholesky factorisation `A = L Lᵀ` in place, no heap.

use crate::check;
use crate::error::{Error, Result};
use crate::factors::{Items, Row};
use crate::real::{Real, dot, positive};
use crate::row::normal_equations_unchecked;

/// Factors the symmetric positive definite `a` (`k x k`, row-major) in place:
/// on success its lower triangle (diagonal included) holds `L` with `A = L Lᵀ`;
/// the strict upper triangle is left as it was. Only the lower triangle of `a`
/// is read.
///
/// O(k³/3) flops.
///
/// # Errors
/// [`Error::NotPositiveDefinite`] naming the first pivot `d_p = a_pp − Σ L_pq²`
/// that is not positive (or not finite); `a` then holds a partial factor.
/// [`Error::LengthMismatch`], [`Error::ZeroDimension`], [`Error::DimensionTooLarge`],
/// [`Error::NonFinite`] before anything is written.
///
/// ```
/// let mut a = [4.0f64, 2.0, 2.0, 3.0];
/// wmf_kernel::cholesky_in_place(&mut a, 2).unwrap();
/// assert_eq!([a[0], a[2], a[3]], [2.0, 1.0, 2.0f64.sqrt()]);
/// ```
pub fn cholesky_in_place<T: Real>(a: &mut [T], k: usize) -> Result<()> {
    check::rank(k)?;
    check::len(a, k * k, "a")?;
    check::finite(a, "a")?;
    factor_unchecked(a, k)
}

/// Right-looking (outer-product) Cholesky on the lower triangle: at step `p`
/// the pivot is `d_p = a_pp − Σ_{q<p} L_pq²` (earlier steps have already
/// subtracted the sum), column `p` below it is divided by `sqrt(d_p)`, and the
/// trailing lower triangle gets `a_ij −= L_ip L_jp` (`p < j <= i`). Column
/// `p` is scaled by the reciprocal `1 / sqrt(d_p)`.
///
/// Column `p` is copied into a contiguous stack vector `col` whose entries
/// `0..=p` are zero, so each row's update can start further left, at a
/// length that is a multiple of 16: the extra entries subtract `L_ip · 0`
/// and keep their value, and the `k³/6` multiply-adds run as full-width
/// vector `axpy`s without scalar tails. Only the lower triangle is read or
/// written.
#[inline(always)]
fn factor_unchecked<T: Real>(a: &mut [T], k: usize) -> Result<()> {
    const W: usize = 16;
    let mut col = [T::ZERO; crate::MAX_K];
    let col = &mut col[..k];
    for p in 0..k {
        let d = a[p * k + p];
        if !positive(d) || !d.is_finite() {
            return Err(Error::NotPositiveDefinite { pivot: p });
        }
        let l = d.sqrt();
        a[p * k + p] = l;
        col[p] = T::ZERO;
        // one division per pivot, not per entry (a divide costs ~10 multiplies)
        let inv = T::ONE / l;
        for i in (p + 1)..k {
            let v = a[i * k + p] * inv;
            a[i * k + p] = v;
            col[i] = v;
        }
        for i in (p + 1)..k {
            let s = col[i];
            // columns lo..=i, a multiple of W long where the row allows it
            let len = (i - p).div_ceil(W) * W;
            let lo = (i + 1).saturating_sub(len);
            let row = &mut a[i * k + lo..i * k + i + 1];
            let lj = &col[lo..=i];
            let (rc, rr) = row.as_chunks_mut::<W>();
            let (lc, lr) = lj.as_chunks::<W>();
            for (r, c) in rc.iter_mut().zip(lc) {
                // whole-chunk copies: loads before stores, so the 16 lanes
                // vectorise even where the optimiser cannot prove `a` and
                // `col` apart
                let (mut v, c) = (*r, *c);
                for t in 0..W {
                    v[t] -= s * c[t];
                }
                *r = v;
            }
            for (r, c) in rr.iter_mut().zip(lr) {
                *r -= s * *c;
            }
        }
    }
    Ok(())
}

/// Solves `L Lᵀ x = b` in place (`b` becomes `x`) with the factor from
/// [`cholesky_in_place`]: forward then backward substitution, O(k²).
///
/// # Errors
/// Length and dimension errors; [`Error::NonFinite`] for the lower triangle
/// of `l` (the strict upper triangle is not read) or for `b`;
/// [`Error::NotPositiveDefinite`] if a diagonal entry of `l` is not positive
/// (`l` is not a factor); [`Error::NonFiniteResult`] on overflow.
pub fn cholesky_solve_in_place<T: Real>(l: &[T], b: &mut [T], k: usize) -> Result<()> {
    check::rank(k)?;
    check::len(l, k * k, "l")?;
    check::len(b, k, "b")?;
    // Only the lower triangle (the factor) is read, so only it must be finite.
    for r in 0..k {
        if let Some(c) = l[r * k..r * k + r + 1].iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "l",
                index: r * k + c,
            });
        }
    }
    check::finite(b, "b")?;
    if let Some(pivot) = (0..k).find(|&p| !positive(l[p * k + p]) || !l[p * k + p].is_finite()) {
        return Err(Error::NotPositiveDefinite { pivot });
    }
    substitute_unchecked(l, b, k);
    check::result(b, "x")
}

#[inline(always)]
fn substitute_unchecked<T: Real>(l: &[T], b: &mut [T], k: usize) {
    // L y = b, by rows: y_p = (b_p − L_p,<p · y_<p) / L_pp
    for p in 0..k {
        let s = dot(&l[p * k..p * k + p], &b[..p]);
        b[p] = (b[p] - s) / l[p * k + p];
    }
    // Lᵀ x = y, by columns of Lᵀ (rows of L): once x_q is known, subtract
    // L_qp x_q from every earlier b_p, a contiguous axpy over row q of L.
    for q in (0..k).rev() {
        let xq = b[q] / l[q * k + q];
        b[q] = xq;
        for (bp, lqp) in b[..q].iter_mut().zip(&l[q * k..q * k + q]) {
            *bp -= *lqp * xq;
        }
    }
}

/// Solves `A x = b` for symmetric positive definite `a` in place: `a` is
/// overwritten by its Cholesky factor, `b` by `x`.
///
/// # Errors
/// As [`cholesky_in_place`] and [`cholesky_solve_in_place`].
///
/// ```
/// let mut a = [4.0f64, 2.0, 2.0, 3.0];
/// let mut b = [2.0, 1.0];
/// wmf_kernel::solve_spd_in_place(&mut a, &mut b, 2).unwrap();
/// assert!((b[0] - 0.5).abs() < 1e-15 && b[1].abs() < 1e-15);
/// ```
#[inline(always)]
pub fn solve_spd_in_place<T: Real>(a: &mut [T], b: &mut [T], k: usize) -> Result<()> {
    check::rank(k)?;
    check::len(a, k * k, "a")?;
    check::len(b, k, "b")?;
    check::finite(a, "a")?;
    check::finite(b, "b")?;
    factor_unchecked(a, k)?;
    substitute_unchecked(a, b, k);
    check::result(b, "x")
}

/// Exact fold-in of one user: forms the normal equations
/// (see [`crate::row_normal_equations`]) in `a_scratch` (`k * k`) and solves
/// them by Cholesky into `x` (`k`). O(n_u k² + k³/3).
///
/// An empty row has `b = 0`, so `x = 0` is its solution: `x` is zeroed and
/// `a_scratch` left untouched, without factorising (even when `λ = 0` and `G0`
/// is singular).
///
/// # Errors
/// Row validation errors; [`Error::NotPositiveDefinite`] when `A` is singular
/// (for example `λ = 0` with too few items to span `k` dimensions): increase
/// `lambda`. `x` is written only on success.
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Items, Row, solve_row_cholesky};
/// let h = [1.0f64, 0.0, 0.0, 1.0];
/// let g0 = [1.0, 0.0, 0.0, 1.0];
/// let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// let (mut a, mut x) = ([0.0; 4], [0.0; 2]);
/// solve_row_cholesky(&items, &Row::implicit(&[0], &[3.0]), 1.0, &mut a, &mut x).unwrap();
/// // (G0 + 2 e0 e0ᵀ + I) x = 3 e0  =>  x = (0.75, 0)
/// assert_eq!(x, [0.75, 0.0]);
/// ```
#[inline(always)]
pub fn solve_row_cholesky<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    a_scratch: &mut [T],
    x: &mut [T],
) -> Result<()> {
    items.check_row(row)?;
    check::scalar_nonneg(lambda, "lambda")?;
    let k = items.k();
    check::len(a_scratch, k * k, "a_scratch")?;
    check::len(x, k, "x")?;
    if row.is_empty() {
        x.fill(T::ZERO);
        return Ok(());
    }
    let mut b = [T::ZERO; crate::MAX_K];
    let b = &mut b[..k];
    normal_equations_unchecked(items, row, lambda, a_scratch, b);
    check::result(a_scratch, "a")?;
    check::result(b, "b")?;
    factor_unchecked(a_scratch, k)?;
    substitute_unchecked(a_scratch, b, k);
    check::result(b, "x")?;
    x.copy_from_slice(b);
    Ok(())
}
