//! The exact dense gradient for a general dense confidence matrix `C`, on
//! BLAS `gemm` in row blocks (memory O(block · n)).
//!
//! ```text
//! M = X − W Hᵀ,  R = C ∘ M
//! f = Σ_ij C_ij M_ij² + λ(|W|² + |H|²)
//! ∂f/∂W = −2 R H + 2λW,   ∂f/∂H = −2 Rᵀ W + 2λH
//! ```
//!
//! The formulas are the kernel's ([`wmf_kernel::Dense`]); here each block of
//! `b` users costs three `gemm`s: `W_b Hᵀ` (`b x n`), `R_b H` (`b x k`) and
//! `R_bᵀ W_b` accumulated into `∂f/∂H` (`n x k`).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Zip, s};

use crate::error::{Error, Result};
use crate::gramian::Float;

/// Loss and both gradients of a dense problem.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseGradient<T> {
    /// `f(W, H)`, summed in `f64`.
    pub loss: f64,
    /// `∂f/∂W` (`m x k`).
    pub grad_w: Array2<T>,
    /// `∂f/∂H` (`n x k`).
    pub grad_h: Array2<T>,
}

fn finite<T: Float>(a: &ArrayView2<'_, T>, what: &'static str, nonneg: bool) -> Result<()> {
    for ((i, j), v) in a.indexed_iter() {
        if !v.is_finite() || (nonneg && *v < T::ZERO) {
            return Err(Error::invalid(
                what,
                format!(
                    "[{i}, {j}] = {v} must be finite{}",
                    if nonneg { " and >= 0" } else { "" }
                ),
            ));
        }
    }
    Ok(())
}

/// Loss and gradients of `f(W,H)` for dense `x`, `c` (`m x n`), `w` (`m x k`),
/// `h` (`n x k`), processing `block_rows` rows of `X` at a time.
///
/// # Errors
/// [`Error::Invalid`] for mismatched shapes, non-finite inputs, negative
/// confidences or `lambda`, or `block_rows = 0`; [`Error::Kernel`]
/// (`NonFiniteResult`) on overflow.
///
/// ```
/// use ndarray::array;
/// let (x, c) = (array![[1.0f64, 0.0]], array![[2.0, 1.0]]);
/// let (w, h) = (array![[1.0]], array![[1.0], [0.0]]);
/// let g = wmf_host::dense::dense_gradient(x.view(), c.view(), w.view(), h.view(), 0.5, 64).unwrap();
/// assert_eq!(g.loss, 1.0);
/// assert_eq!(g.grad_w, array![[1.0]]);
/// ```
pub fn dense_gradient<T: Float>(
    x: ArrayView2<'_, T>,
    c: ArrayView2<'_, T>,
    w: ArrayView2<'_, T>,
    h: ArrayView2<'_, T>,
    lambda: T,
    block_rows: usize,
) -> Result<DenseGradient<T>> {
    let (m, n) = x.dim();
    let k = w.ncols();
    if c.dim() != (m, n) || w.nrows() != m || h.dim() != (n, k) {
        return Err(Error::invalid(
            "shapes",
            format!(
                "x {:?}, c {:?}, w {:?}, h {:?} (need m x n, m x n, m x k, n x k)",
                x.dim(),
                c.dim(),
                w.dim(),
                h.dim()
            ),
        ));
    }
    if block_rows == 0 {
        return Err(Error::invalid("block_rows", "must be at least 1"));
    }
    if !lambda.is_finite() || lambda < T::ZERO {
        return Err(Error::invalid(
            "lambda",
            format!("{lambda} must be finite and >= 0"),
        ));
    }
    finite(&x, "x", false)?;
    finite(&c, "c", true)?;
    finite(&w, "w", false)?;
    finite(&h, "h", false)?;
    let two = T::ONE + T::ONE;
    let mut grad_w = w.to_owned() * (two * lambda);
    let mut grad_h = h.to_owned() * (two * lambda);
    let sq = |a: &ArrayView2<'_, T>| a.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>();
    let mut loss = lambda.to_f64() * (sq(&w) + sq(&h));
    let mut r = Array2::<T>::zeros((block_rows.min(m), n));
    let mut start = 0;
    while start < m {
        let end = (start + block_rows).min(m);
        let b = end - start;
        let mut rb = r.slice_mut(s![..b, ..]);
        let wb = w.slice(s![start..end, ..]);
        // rb = X_b − W_b Hᵀ
        rb.assign(&x.slice(s![start..end, ..]));
        general_mat_mul(-T::ONE, &wb, &h.t(), T::ONE, &mut rb);
        // loss += Σ C M²; rb = C ∘ M
        let mut block_loss = 0.0f64;
        Zip::from(&mut rb)
            .and(&c.slice(s![start..end, ..]))
            .for_each(|rv, &cv| {
                let mv = *rv;
                block_loss += (cv * mv * mv).to_f64();
                *rv = cv * mv;
            });
        loss += block_loss;
        let rb = r.slice(s![..b, ..]);
        general_mat_mul(
            -two,
            &rb,
            &h,
            T::ONE,
            &mut grad_w.slice_mut(s![start..end, ..]),
        );
        general_mat_mul(-two, &rb.t(), &wb, T::ONE, &mut grad_h);
        start = end;
    }
    if !loss.is_finite() || grad_w.iter().chain(grad_h.iter()).any(|v| !v.is_finite()) {
        return Err(Error::kernel(
            "computing the dense gradient",
            wmf_kernel::Error::NonFiniteResult { what: "gradient" },
        ));
    }
    Ok(DenseGradient {
        loss,
        grad_w,
        grad_h,
    })
}

/// Largest relative error `|g − fd| / max(1, |g|, |fd|)` between an analytic
/// gradient and central finite differences of `loss` (`f64`), over every
/// element of `W` and `H`, with step `eps`. The loss closure gets `(W, H)`.
pub fn finite_difference_error(
    w: &Array2<f64>,
    h: &Array2<f64>,
    grad_w: &Array2<f64>,
    grad_h: &Array2<f64>,
    eps: f64,
    loss: &dyn Fn(&Array2<f64>, &Array2<f64>) -> f64,
) -> f64 {
    let mut worst = 0.0f64;
    let mut wp = w.clone();
    let mut hp = h.clone();
    for idx in 0..w.len() {
        let (i, j) = (idx / w.ncols(), idx % w.ncols());
        let orig = wp[[i, j]];
        wp[[i, j]] = orig + eps;
        let fp = loss(&wp, h);
        wp[[i, j]] = orig - eps;
        let fm = loss(&wp, h);
        wp[[i, j]] = orig;
        let fd = (fp - fm) / (2.0 * eps);
        let g = grad_w[[i, j]];
        worst = worst.max((g - fd).abs() / 1f64.max(g.abs()).max(fd.abs()));
    }
    for idx in 0..h.len() {
        let (i, j) = (idx / h.ncols(), idx % h.ncols());
        let orig = hp[[i, j]];
        hp[[i, j]] = orig + eps;
        let fp = loss(w, &hp);
        hp[[i, j]] = orig - eps;
        let fm = loss(w, &hp);
        hp[[i, j]] = orig;
        let fd = (fp - fm) / (2.0 * eps);
        let g = grad_h[[i, j]];
        worst = worst.max((g - fd).abs() / 1f64.max(g.abs()).max(fd.abs()));
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn random(rng: &mut StdRng, r: usize, c: usize, lo: f64, hi: f64) -> Array2<f64> {
        Array2::from_shape_fn((r, c), |_| rng.gen_range(lo..hi))
    }

    #[test]
    fn equals_kernel_and_finite_differences() {
        let mut rng = StdRng::seed_from_u64(5);
        let (m, n, k) = (11usize, 8usize, 3usize);
        let x = random(&mut rng, m, n, 0.0, 1.0);
        let c = random(&mut rng, m, n, 0.0, 3.0);
        let w = random(&mut rng, m, k, -1.0, 1.0);
        let h = random(&mut rng, n, k, -1.0, 1.0);
        let lambda = 0.25;
        for block in [1, 4, 100] {
            let g = dense_gradient(x.view(), c.view(), w.view(), h.view(), lambda, block).unwrap();
            let d = wmf_kernel::Dense::new(
                x.as_slice().unwrap(),
                c.as_slice().unwrap(),
                w.as_slice().unwrap(),
                h.as_slice().unwrap(),
                m,
                n,
                k,
            )
            .unwrap();
            let (mut gw, mut gh) = (vec![0.0; m * k], vec![0.0; n * k]);
            d.grad_w(lambda, &mut gw).unwrap();
            d.grad_h(lambda, &mut gh).unwrap();
            let lw = d.loss(lambda).unwrap();
            assert!((g.loss - lw).abs() <= 1e-12 * lw);
            for (a, b) in g.grad_w.iter().zip(&gw).chain(g.grad_h.iter().zip(&gh)) {
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            }
            let f = |w: &Array2<f64>, h: &Array2<f64>| {
                dense_gradient(x.view(), c.view(), w.view(), h.view(), lambda, block)
                    .unwrap()
                    .loss
            };
            let err = finite_difference_error(&w, &h, &g.grad_w, &g.grad_h, 1e-5, &f);
            assert!(err < 1e-7, "finite-difference error {err}");
        }
        // f32 agrees with f64
        let g32 = dense_gradient(
            x.mapv(|v| v as f32).view(),
            c.mapv(|v| v as f32).view(),
            w.mapv(|v| v as f32).view(),
            h.mapv(|v| v as f32).view(),
            0.25f32,
            3,
        )
        .unwrap();
        let g64 = dense_gradient(x.view(), c.view(), w.view(), h.view(), lambda, 3).unwrap();
        for (a, b) in g32.grad_w.iter().zip(g64.grad_w.iter()) {
            assert!((*a as f64 - b).abs() <= 1e-4 * (1.0 + b.abs()));
        }
        let bad = dense_gradient(x.view(), (-c.clone()).view(), w.view(), h.view(), lambda, 3);
        assert!(bad.unwrap_err().to_string().contains("c"));
    }
}
