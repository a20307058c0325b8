//! The weighted Gramian `G = Fᵀ diag(c0) F` at full scale, and the scalar
//! trait the host's numeric code is generic over.
//!
//! The kernel's [`wmf_kernel::gramian`] is the reference (O(n k²) scalar
//! loops); here the same matrix is the `syrk`-shaped multiply-adds of
//! [`crate::tiles::gram_lower_add`] per block of rows of
//! `diag(sqrt(c0)) F`, so memory stays O(block · k). The result is made exactly
//! symmetric (lower triangle mirrored), as the kernel's is.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows per BLAS call when the rows must be scaled first.
const BLOCK_ROWS: usize = 4096;

/// A float the host trains in: [`f32`] (the model's type) or [`f64`] (the
/// reference precision in tests). Sealed by its supertraits.
pub trait Float:
    wmf_kernel::Real + ndarray::LinalgScalar + ndarray::ScalarOperand + Send + Sync + std::iter::Sum
{
    /// Converts from `f32` (exact for both types).
    fn of_f32(v: f32) -> Self;
    /// Converts to `f32` (rounding for `f64`).
    fn to_f32(self) -> f32;
    /// Converts a vector from `f32`: for `f32` the same vector (its allocation
    /// is kept, no copy), for `f64` a new one.
    fn vec_of_f32(v: Vec<f32>) -> Vec<Self>;
    /// `rows = rows · L⁻ᵀ` in place for the lower-triangular row-major
    /// `k x k` factor `l` (its strict upper triangle is not read), where
    /// `rows` is `rows.len() / k` rows of `k` (BLAS `trsm`, right side,
    /// lower, transposed, non-unit): each row `h` becomes `L⁻¹ h`, as
    /// [`wmf_kernel::whiten_rows`] computes it. Does nothing for mismatched
    /// lengths.
    fn trsm_right_lower_trans(l: &[Self], k: usize, rows: &mut [Self]);
}

/// BLAS integer arguments, or `None` when a size does not fit.
fn blas_dims(rows: usize, k: usize) -> Option<(std::os::raw::c_int, std::os::raw::c_int)> {
    Some((
        std::os::raw::c_int::try_from(rows).ok()?,
        std::os::raw::c_int::try_from(k).ok()?,
    ))
}

/// The BLAS-backed method of [`Float`] for one type, given its `trsm` (the
/// two impls differ only in that name).
macro_rules! blas_methods {
    ($trsm:ident) => {
        fn trsm_right_lower_trans(l: &[Self], k: usize, rows: &mut [Self]) {
            let n = rows.len() / k.max(1);
            let Some((r, kk)) = blas_dims(n, k) else {
                return;
            };
            if n == 0 || rows.len() != n * k || l.len() != k * k {
                return;
            }
            // SAFETY: `rows` holds `n * k` and `l` holds `k * k` elements
            // (checked above), matching the sizes and leading dimensions passed.
            unsafe {
                cblas_sys::$trsm(
                    cblas_sys::CblasRowMajor,
                    cblas_sys::CblasRight,
                    cblas_sys::CblasLower,
                    cblas_sys::CblasTrans,
                    cblas_sys::CblasNonUnit,
                    r,
                    kk,
                    1.0,
                    l.as_ptr(),
                    kk,
                    rows.as_mut_ptr(),
                    kk,
                );
            }
        }
    };
}

impl Float for f32 {
    blas_methods!(cblas_strsm);
    #[inline(always)]
    fn of_f32(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    fn vec_of_f32(v: Vec<f32>) -> Vec<Self> {
        v
    }
}

impl Float for f64 {
    blas_methods!(cblas_dtrsm);
    #[inline(always)]
    fn of_f32(v: f32) -> Self {
        v as f64
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn vec_of_f32(v: Vec<f32>) -> Vec<Self> {
        v.into_iter().map(f64::from).collect()
    }
}

/// Copies the lower triangle of a square matrix onto its upper triangle.
fn mirror_lower<T: Float>(g: &mut Array2<T>) {
    let k = g.nrows();
    for r in 0..k {
        for c in (r + 1)..k {
            g[[r, c]] = g[[c, r]];
        }
    }
}

fn check_finite<T: Float>(g: &Array2<T>) -> Result<()> {
    if g.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::kernel(
            "computing the Gramian",
            wmf_kernel::Error::NonFiniteResult { what: "g" },
        ))
    }
}

/// `g = alpha · fᵀ f` (when `beta` is 0) or `g = fᵀ f + g` (when `alpha`
/// and `beta` are both 1) on (at least) the lower triangle of `g`: the
/// register tiles of [`crate::tiles::gram_lower_add`] (the multiply-adds
/// of a `syrk`, in about 0.6 of `ssyrk`'s time at 1020 x 128 here), then
/// `alpha` on each sum, when `f` and `g` are contiguous and row-major, as
/// the training's factors and blocks are; else one `gemm`. The callers
/// mirror the lower triangle up.
fn lower_gram<T: Float>(alpha: T, f: ArrayView2<'_, T>, beta: T, g: &mut Array2<T>) {
    let k = f.ncols();
    let tiles = beta == T::ZERO || (beta == T::ONE && alpha == T::ONE);
    match (f.as_slice(), g.as_slice_mut()) {
        (Some(a), Some(c)) if tiles => {
            if beta == T::ZERO {
                c.fill(T::ZERO);
            }
            crate::tiles::gram_lower_add(a, k, c);
            if alpha != T::ONE {
                for r in 0..k {
                    for v in &mut c[r * k..r * k + r + 1] {
                        *v *= alpha;
                    }
                }
            }
        }
        _ => general_mat_mul(alpha, &f.t(), &f, beta, g),
    }
}

/// `G = c0 · Fᵀ F` (`k x k`, symmetric) for `f` (`n x k`), by register
/// tiles (or one `gemm` for a view that is not contiguous and row-major).
///
/// # Errors
/// [`Error::Invalid`] for a negative or non-finite `c0`; [`Error::Kernel`]
/// (`NonFiniteResult`) on overflow.
///
/// ```
/// use ndarray::array;
/// let f = array![[1.0f64, 2.0], [3.0, 4.0]];
/// let g = wmf_host::gramian::gramian_uniform(f.view(), 1.0).unwrap();
/// assert_eq!(g, array![[10.0, 14.0], [14.0, 20.0]]);
/// ```
pub fn gramian_uniform<T: Float>(f: ArrayView2<'_, T>, c0: T) -> Result<Array2<T>> {
    if !c0.is_finite() || c0 < T::ZERO {
        return Err(Error::invalid(
            "c0",
            format!("{c0} must be finite and >= 0"),
        ));
    }
    let k = f.ncols();
    let mut g = Array2::<T>::zeros((k, k));
    lower_gram(c0, f, T::ZERO, &mut g);
    mirror_lower(&mut g);
    check_finite(&g)?;
    Ok(g)
}

/// `G = Fᵀ diag(c0) F = Σ_j c0_j f_j f_jᵀ` (`k x k`, symmetric) for `f`
/// (`n x k`) and `c0` (`n`, finite, `>= 0`): [`crate::tiles::gram_lower_add`]
/// on row blocks of `diag(sqrt(c0)) F`.
///
/// # Errors
/// [`Error::Invalid`] when `c0` has the wrong length or a negative /
/// non-finite entry (naming the index); [`Error::Kernel`] on overflow.
pub fn gramian_weighted<T: Float>(f: ArrayView2<'_, T>, c0: &[T]) -> Result<Array2<T>> {
    let (n, k) = f.dim();
    if c0.len() != n {
        return Err(Error::invalid(
            "c0",
            format!("has {} entries for {n} rows", c0.len()),
        ));
    }
    if let Some(j) = c0.iter().position(|c| !c.is_finite() || *c < T::ZERO) {
        return Err(Error::invalid(
            "c0",
            format!("c0[{j}] = {} must be finite and >= 0", c0[j]),
        ));
    }
    let mut g = Array2::<T>::zeros((k, k));
    let mut scaled = Array2::<T>::zeros((BLOCK_ROWS.min(n), k));
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK_ROWS).min(n);
        let mut blk = scaled.slice_mut(s![..end - start, ..]);
        for (t, mut row) in blk.rows_mut().into_iter().enumerate() {
            let sq = c0[start + t].sqrt();
            row.assign(&f.row(start + t));
            row.mapv_inplace(|v| v * sq);
        }
        lower_gram(T::ONE, scaled.slice(s![..end - start, ..]), T::ONE, &mut g);
        start = end;
    }
    mirror_lower(&mut g);
    check_finite(&g)?;
    Ok(g)
}

/// Upper bound on the number of row blocks of [`gramian_blocked`].
pub const MAX_GRAM_BLOCKS: usize = 64;
/// Rows per block of [`gramian_blocked`] at least (fewer blocks for small `n`).
pub const MIN_GRAM_BLOCK_ROWS: usize = 1024;

/// The fixed row blocks of an `n`-row factor matrix that [`gramian_blocked`]
/// sums over: `B = min(64, ⌈n / 1024⌉)` (at least 1) near-equal ranges. They
/// depend on `n` only, so a distributed run can compute blocks on different
/// ranks and still sum exactly the same numbers in the same order.
pub fn gram_blocks(n: usize) -> Vec<std::ops::Range<usize>> {
    let b = n.div_ceil(MIN_GRAM_BLOCK_ROWS).clamp(1, MAX_GRAM_BLOCKS);
    (0..b).map(|t| (n * t / b)..(n * (t + 1) / b)).collect()
}

/// How [`gramian_blocked`] weights the rows.
#[derive(Debug, Clone, Copy)]
pub enum GramWeights<'a, T> {
    /// `c · Fᵀ F` ([`gramian_uniform`] per block).
    Uniform(T),
    /// `Fᵀ diag(c0) F`, `c0` per row of `F` ([`gramian_weighted`] per block).
    PerRow(&'a [T]),
}

/// The partial Gramian of the rows `rows` of `f`.
///
/// # Errors
/// As [`gramian_uniform`] / [`gramian_weighted`]; [`Error::Invalid`] when
/// `rows` or the weights do not fit `f`.
pub fn gramian_block<T: Float>(
    f: ArrayView2<'_, T>,
    rows: std::ops::Range<usize>,
    weights: GramWeights<'_, T>,
) -> Result<Array2<T>> {
    if rows.end > f.nrows() || rows.start > rows.end {
        return Err(Error::invalid(
            "rows",
            format!("{rows:?} outside {} rows", f.nrows()),
        ));
    }
    let view = f.slice(s![rows.clone(), ..]);
    match weights {
        GramWeights::Uniform(c) => gramian_uniform(view, c),
        GramWeights::PerRow(c0) => {
            let c = c0.get(rows.clone()).ok_or_else(|| {
                Error::invalid(
                    "c0",
                    format!("has {} entries for {} rows", c0.len(), f.nrows()),
                )
            })?;
            gramian_weighted(view, c)
        }
    }
}

/// Sums `k x k` partial Gramians (row-major slices) in the given order, in
/// `f64`, rounding once at the end.
pub fn sum_gramians<'a, T: Float>(parts: impl IntoIterator<Item = &'a [T]>, k: usize) -> Array2<T> {
    let mut acc = vec![0f64; k * k];
    for p in parts {
        for (a, &v) in acc.iter_mut().zip(p) {
            *a += v.to_f64();
        }
    }
    Array2::from_shape_fn((k, k), |(r, c)| T::from_f64(acc[r * k + c]))
}

/// The Gramian as the sum over [`gram_blocks`] of [`gramian_block`], in block
/// order ([`sum_gramians`]). Single-process training uses this so that a
/// distributed run (blocks on different ranks, same sum) gives the same bits.
/// The blocks are computed in parallel on the current rayon pool (one
/// [`crate::tiles::gram_lower_add`] each); the result does not depend on
/// the number of threads.
///
/// # Errors
/// As [`gramian_block`].
///
/// ```
/// use ndarray::array;
/// use wmf_host::gramian::{GramWeights, gramian_blocked};
/// let f = array![[1.0f64, 2.0], [3.0, 4.0]];
/// let g = gramian_blocked(f.view(), GramWeights::Uniform(1.0)).unwrap();
/// assert_eq!(g, array![[10.0, 14.0], [14.0, 20.0]]);
/// ```
pub fn gramian_blocked<T: Float>(
    f: ArrayView2<'_, T>,
    weights: GramWeights<'_, T>,
) -> Result<Array2<T>> {
    let k = f.ncols();
    // The blocks are fixed by `n` alone and summed in block order, so running
    // them in parallel (current rayon pool) gives the same bits as in series.
    let parts = gram_blocks(f.nrows())
        .into_par_iter()
        .map(|rows| gramian_block(f, rows, weights))
        .collect::<Result<Vec<_>>>()?;
    Ok(sum_gramians(
        parts.iter().map(|g| g.as_slice().unwrap_or(&[])),
        k,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn equals_kernel_gramian() {
        let mut rng = StdRng::seed_from_u64(7);
        for &(n, k) in &[(1usize, 1usize), (5, 3), (9000, 7)] {
            let f = Array2::from_shape_fn((n, k), |_| rng.gen_range(-1.0..1.0f64));
            let c0: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..2.0)).collect();
            let fac = wmf_kernel::Factors::new(f.as_slice().unwrap(), n, k).unwrap();
            let mut want = vec![0.0; k * k];
            wmf_kernel::gramian(&fac, wmf_kernel::Baseline::PerItem(&c0), &mut want).unwrap();
            let got = gramian_weighted(f.view(), &c0).unwrap();
            let scale = want.iter().fold(1.0f64, |a, b| a.max(b.abs()));
            for r in 0..k {
                for c in 0..k {
                    assert!((got[[r, c]] - want[r * k + c]).abs() <= 1e-12 * scale * n as f64);
                    assert_eq!(got[[r, c]], got[[c, r]]);
                }
            }
            wmf_kernel::gramian(&fac, wmf_kernel::Baseline::Uniform(0.5), &mut want).unwrap();
            let got = gramian_uniform(f.view(), 0.5).unwrap();
            for r in 0..k {
                for c in 0..k {
                    assert!((got[[r, c]] - want[r * k + c]).abs() <= 1e-12 * scale * n as f64);
                }
            }
        }
        let f = Array2::<f32>::zeros((2, 2));
        assert!(gramian_weighted(f.view(), &[1.0]).is_err());
        assert!(gramian_weighted(f.view(), &[1.0, -1.0]).is_err());
        assert!(gramian_uniform(f.view(), f32::NAN).is_err());
    }
}
