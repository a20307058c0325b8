//! Dense block kernels: the seed formula for a general (dense) confidence matrix.
//!
//! ```text
//! M = X − W Hᵀ,   R = C ∘ M
//! f(W,H) = Σ_ij C_ij M_ij² + λ (|W|_F² + |H|_F²)
//! ∂f/∂W = −2 R H + 2 λ W,   ∂f/∂H = −2 Rᵀ W + 2 λ H
//! ```
//!
//! Derivation: `∂/∂W_ia Σ_j C_ij (X_ij − Σ_b W_ib H_jb)² = Σ_j 2 C_ij M_ij (−H_ja)
//! = −2 (R H)_ia`, and symmetrically for `H`. All matrices are row-major:
//! `X`, `C`, `R` are `m x n`, `W` is `m x k`, `H` is `n x k`. Costs are
//! O(m n k); the host runs the same formulas on BLAS `gemm` in row blocks.

use crate::check;
use crate::error::Result;
use crate::real::{Real, axpy, dot};

/// A validated dense block problem: `X`, `C` (`m x n`), `W` (`m x k`), `H` (`n x k`).
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a, T> {
    x: &'a [T],
    c: &'a [T],
    w: &'a [T],
    h: &'a [T],
    m: usize,
    n: usize,
    k: usize,
}

impl<'a, T: Real> Dense<'a, T> {
    /// Checks shapes (`m, n >= 1`, `1 <= k <= MAX_K`, no size overflow), that
    /// every value is finite and that every confidence is `>= 0`.
    ///
    /// # Errors
    /// The first problem, naming `x`, `c`, `w` or `h` and the element index.
    ///
    /// ```
    /// use wmf_kernel::Dense;
    /// let (x, c) = ([1.0f64, 0.0], [2.0, 1.0]); // m = 1, n = 2
    /// let (w, h) = ([1.0], [1.0, 0.0]);         // k = 1
    /// let d = Dense::new(&x, &c, &w, &h, 1, 2, 1).unwrap();
    /// assert_eq!(d.loss(0.0).unwrap(), 0.0);
    /// assert_eq!(d.loss(0.5).unwrap(), 1.0); // 0.5 * (1 + 1)
    /// ```
    pub fn new(
        x: &'a [T],
        c: &'a [T],
        w: &'a [T],
        h: &'a [T],
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Self> {
        check::rank(k)?;
        check::dim(m, "m")?;
        check::dim(n, "n")?;
        let mn = check::product(m, n, "x")?;
        check::len(x, mn, "x")?;
        check::len(c, mn, "c")?;
        check::len(w, check::product(m, k, "w")?, "w")?;
        check::len(h, check::product(n, k, "h")?, "h")?;
        check::finite(x, "x")?;
        check::nonneg(c, "c")?;
        check::finite(w, "w")?;
        check::finite(h, "h")?;
        Ok(Self {
            x,
            c,
            w,
            h,
            m,
            n,
            k,
        })
    }

    /// `(m, n, k)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.m, self.n, self.k)
    }

    #[inline]
    fn residual(&self, i: usize, j: usize) -> T {
        let k = self.k;
        let wi = &self.w[i * k..(i + 1) * k];
        let hj = &self.h[j * k..(j + 1) * k];
        self.c[i * self.n + j] * (self.x[i * self.n + j] - dot(wi, hj))
    }

    /// Weighted residual `R = C ∘ (X − W Hᵀ)` into `r` (`m * n`).
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] for `r`; [`crate::Error::NonFiniteResult`] on overflow.
    pub fn weighted_residual(&self, r: &mut [T]) -> Result<()> {
        check::len(r, self.m * self.n, "r")?;
        for (i, r_row) in r.chunks_exact_mut(self.n).enumerate() {
            for (j, rij) in r_row.iter_mut().enumerate() {
                *rij = self.residual(i, j);
            }
        }
        check::result(r, "r")
    }

    /// Loss `Σ_ij C_ij M_ij² + λ (|W|² + |H|²)`.
    ///
    /// # Errors
    /// [`crate::Error::Negative`] / [`crate::Error::NonFinite`] for `lambda`;
    /// [`crate::Error::NonFiniteResult`] on overflow.
    pub fn loss(&self, lambda: T) -> Result<T> {
        check::scalar_nonneg(lambda, "lambda")?;
        let k = self.k;
        let mut total = T::ZERO;
        for i in 0..self.m {
            let wi = &self.w[i * k..(i + 1) * k];
            for j in 0..self.n {
                let e = self.x[i * self.n + j] - dot(wi, &self.h[j * k..(j + 1) * k]);
                total += self.c[i * self.n + j] * e * e;
            }
        }
        total += lambda * (dot(self.w, self.w) + dot(self.h, self.h));
        check::result(core::slice::from_ref(&total), "loss")?;
        Ok(total)
    }

    /// `∂f/∂W = −2 R H + 2 λ W` into `g` (`m * k`).
    ///
    /// # Errors
    /// As [`Dense::loss`], plus [`crate::Error::LengthMismatch`] for `g`.
    pub fn grad_w(&self, lambda: T, g: &mut [T]) -> Result<()> {
        check::scalar_nonneg(lambda, "lambda")?;
        let k = self.k;
        check::len(g, self.m * k, "grad_w")?;
        let two = T::ONE + T::ONE;
        for (i, gi) in g.chunks_exact_mut(k).enumerate() {
            for (gv, wv) in gi.iter_mut().zip(&self.w[i * k..(i + 1) * k]) {
                *gv = two * lambda * *wv;
            }
            for j in 0..self.n {
                let r = self.residual(i, j);
                axpy(-two * r, &self.h[j * k..(j + 1) * k], gi);
            }
        }
        check::result(g, "grad_w")
    }

    /// `∂f/∂H = −2 Rᵀ W + 2 λ H` into `g` (`n * k`).
    ///
    /// # Errors
    /// As [`Dense::loss`], plus [`crate::Error::LengthMismatch`] for `g`.
    pub fn grad_h(&self, lambda: T, g: &mut [T]) -> Result<()> {
        check::scalar_nonneg(lambda, "lambda")?;
        let k = self.k;
        check::len(g, self.n * k, "grad_h")?;
        let two = T::ONE + T::ONE;
        for (gv, hv) in g.iter_mut().zip(self.h) {
            *gv = two * lambda * *hv;
        }
        for i in 0..self.m {
            let wi = &self.w[i * k..(i + 1) * k];
            for (j, gj) in g.chunks_exact_mut(k).enumerate() {
                let r = self.residual(i, j);
                axpy(-two * r, wi, gj);
            }
        }
        check::result(g, "grad_h")
    }
}

/// Fixed-size (const-generic) versions of the dense kernels for callers whose
/// block shape is known at compile time; they return their outputs by value
/// on the caller's stack and call the slice kernels above.
pub mod fixed {
    use super::Dense;
    use crate::error::Result;
    use crate::real::Real;

    fn problem<'a, T: Real, const M: usize, const N: usize, const K: usize>(
        x: &'a [[T; N]; M],
        c: &'a [[T; N]; M],
        w: &'a [[T; K]; M],
        h: &'a [[T; K]; N],
    ) -> Result<Dense<'a, T>> {
        Dense::new(
            x.as_flattened(),
            c.as_flattened(),
            w.as_flattened(),
            h.as_flattened(),
            M,
            N,
            K,
        )
    }

    /// `R = C ∘ (X − W Hᵀ)` for an `M x N` block.
    ///
    /// # Errors
    /// As [`Dense::new`] and [`Dense::weighted_residual`].
    ///
    /// ```
    /// let r = wmf_kernel::dense::fixed::weighted_residual(&[[1.0f32, 0.0]], &[[2.0, 1.0]], &[[0.5]], &[[1.0], [1.0]]).unwrap();
    /// assert_eq!(r, [[1.0, -0.5]]);
    /// ```
    pub fn weighted_residual<T: Real, const M: usize, const N: usize, const K: usize>(
        x: &[[T; N]; M],
        c: &[[T; N]; M],
        w: &[[T; K]; M],
        h: &[[T; K]; N],
    ) -> Result<[[T; N]; M]> {
        let mut r = [[T::ZERO; N]; M];
        problem(x, c, w, h)?.weighted_residual(r.as_flattened_mut())?;
        Ok(r)
    }

    /// Loss of an `M x N` block.
    ///
    /// # Errors
    /// As [`Dense::new`] and [`Dense::loss`].
    pub fn loss<T: Real, const M: usize, const N: usize, const K: usize>(
        x: &[[T; N]; M],
        c: &[[T; N]; M],
        w: &[[T; K]; M],
        h: &[[T; K]; N],
        lambda: T,
    ) -> Result<T> {
        problem(x, c, w, h)?.loss(lambda)
    }

    /// `∂f/∂W` of an `M x N` block.
    ///
    /// # Errors
    /// As [`Dense::new`] and [`Dense::grad_w`].
    pub fn grad_w<T: Real, const M: usize, const N: usize, const K: usize>(
        x: &[[T; N]; M],
        c: &[[T; N]; M],
        w: &[[T; K]; M],
        h: &[[T; K]; N],
        lambda: T,
    ) -> Result<[[T; K]; M]> {
        let mut g = [[T::ZERO; K]; M];
        problem(x, c, w, h)?.grad_w(lambda, g.as_flattened_mut())?;
        Ok(g)
    }

    /// `∂f/∂H` of an `M x N` block.
    ///
    /// # Errors
    /// As [`Dense::new`] and [`Dense::grad_h`].
    pub fn grad_h<T: Real, const M: usize, const N: usize, const K: usize>(
        x: &[[T; N]; M],
        c: &[[T; N]; M],
        w: &[[T; K]; M],
        h: &[[T; K]; N],
        lambda: T,
    ) -> Result<[[T; K]; N]> {
        let mut g = [[T::ZERO; K]; N];
        problem(x, c, w, h)?.grad_h(lambda, g.as_flattened_mut())?;
        Ok(g)
    }
}
