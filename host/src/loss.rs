//! The full training loss in O(nnz k + (m + n) k²), never O(m n k).
//!
//! `f(W,H) = Σ_u f_u(w_u) + Σ_j lambda_j |h_j|²` where `f_u` is the kernel's
//! [`wmf_kernel::row_loss`] through the Gramian `G0 = Hᵀ diag(c0) H`; with
//! `lambda_j = lambda` this is exactly the dense objective
//! `Σ_ij C_ij (X_ij − W_i·H_j)² + lambda(|W|² + |H|²)` with `X_ij = 1` on
//! observed cells and `C_ij = c0_j` elsewhere.

use ndarray::ArrayView2;
use rayon::prelude::*;
use wmf_kernel::{Baseline, Factors, Items};

use crate::als::{Problem, Side};
use crate::error::{Error, Result};
use crate::gramian::Float;

/// The full training loss
/// `Σ_u f_u(w_u) + Σ_j lambda_j |h_j|²`, with `f_u` the kernel's
/// [`wmf_kernel::row_loss`] (which includes `lambda_u |w_u|²`), in
/// O(nnz k + (m + n) k²). Rows are evaluated in parallel (current pool) and
/// summed in `f64` in row order, so the result is deterministic.
///
/// # Errors
/// [`Error::Kernel`] naming the user whose loss could not be computed.
pub fn training_loss<T: Float>(
    problem: &Problem<T>,
    w: ArrayView2<'_, T>,
    h: ArrayView2<'_, T>,
) -> Result<f64> {
    let g0 = problem.item_gramian(h)?;
    let g0 = g0
        .as_slice()
        .ok_or_else(|| Error::invalid("g0", "layout"))?;
    loss_terms(
        &problem.users,
        &problem.user_lambda,
        w,
        h,
        g0,
        problem.item_baseline(),
        &problem.item_lambda,
        h,
    )
}

/// The loss terms of some users and some items:
/// `Σ_u f_u(w_u) + Σ_j lambda_j |h_j|²` over the rows of `users` (with factors
/// `w`, row-aligned, and `user_lambda`) against the item side `(h, g0, c0)`,
/// plus the regularisation of the items whose factors are `h_own` (row-aligned
/// with `item_lambda`). [`training_loss`] is this with every row; a
/// distributed run calls it with each rank's own rows and sums the parts.
/// Rows are evaluated in parallel (current pool) and summed in `f64` in row
/// order.
///
/// # Errors
/// [`Error::Kernel`] naming the user (by row of `users`) whose loss could not
/// be computed; [`Error::Invalid`] for mismatched shapes.
#[allow(clippy::too_many_arguments)]
pub fn loss_terms<T: Float>(
    users: &Side<T>,
    user_lambda: &[T],
    w: ArrayView2<'_, T>,
    h: ArrayView2<'_, T>,
    g0: &[T],
    c0: Baseline<'_, T>,
    item_lambda: &[T],
    h_own: ArrayView2<'_, T>,
) -> Result<f64> {
    let (n, k) = h.dim();
    if w.nrows() != users.nrows()
        || user_lambda.len() != users.nrows()
        || h_own.nrows() != item_lambda.len()
    {
        return Err(Error::invalid(
            "loss",
            "factor rows do not match the rows and lambdas",
        ));
    }
    let hs = h
        .as_slice()
        .ok_or_else(|| Error::invalid("factors", "must be in standard layout"))?;
    let fac = Factors::new(hs, n, k).map_err(|e| Error::kernel("checking the item factors", e))?;
    let items =
        Items::new(fac, g0, c0).map_err(|e| Error::kernel("checking the item Gramian", e))?;
    let isa = crate::als::isa();
    let per_user: Vec<f64> = (0..users.nrows())
        .into_par_iter()
        .map(|u| {
            let wu = w.row(u);
            let wu = wu.as_slice().unwrap_or(&[]);
            row_loss(isa, &items, &users.row(u), user_lambda[u], wu)
                .map(|l| l.to_f64())
                .map_err(|e| Error::kernel(format!("loss of user {u}"), e))
        })
        .collect::<Result<_>>()?;
    let mut total: f64 = per_user.iter().sum();
    for (j, hj) in h_own.rows().into_iter().enumerate() {
        let sq: f64 = hj.iter().map(|v| v.to_f64() * v.to_f64()).sum();
        total += item_lambda[j].to_f64() * sq;
    }
    Ok(total)
}

crate::als::isa_dispatch! {
    /// [`wmf_kernel::row_loss`] on the widest instruction set the CPU has
    /// (same bits on every one: see [`crate::als::Isa`]).
    fn row_loss<T: Float>(
        items: &Items<'_, T>,
        row: &wmf_kernel::Row<'_, T>,
        lambda: T,
        w: &[T],
    ) -> wmf_kernel::Result<T> = row_loss_generic with fold;
}

#[inline(always)]
fn row_loss_generic<T: Float, F: wmf_kernel::LaneFold>(
    items: &Items<'_, T>,
    row: &wmf_kernel::Row<'_, T>,
    lambda: T,
    w: &[T],
    fold: F,
) -> wmf_kernel::Result<T> {
    wmf_kernel::row_loss(&items.with_fold(fold), row, lambda, w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BaselineWeight, Confidence, RegScaling, TrainConfig};
    use crate::sparse::Csr;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// Sparse loss equals the kernel's dense loss on the full `C`, `X`.
    #[test]
    fn equals_dense_loss() {
        let mut rng = StdRng::seed_from_u64(3);
        let (m, n, k) = (7usize, 9usize, 3usize);
        let mut trip = Vec::new();
        for u in 0..m as u32 {
            for j in 0..n as u32 {
                if rng.gen_bool(0.3) {
                    trip.push((u, j, rng.gen_range(1.0..5.0f32)));
                }
            }
        }
        let values = Csr::from_triplets(m, n, &trip).unwrap();
        for baseline in [
            BaselineWeight::Uniform { c0: 0.7 },
            BaselineWeight::Popularity { c0: 3.0, beta: 0.5 },
        ] {
            let config = TrainConfig {
                k,
                lambda: 0.3,
                confidence: Confidence::Linear { alpha: 2.0 },
                baseline,
                reg_scaling: RegScaling::None,
                ..TrainConfig::default()
            };
            let p = Problem::<f64>::new(&values, &config).unwrap();
            let w = ndarray::Array2::from_shape_fn((m, k), |_| rng.gen_range(-1.0..1.0f64));
            let h = ndarray::Array2::from_shape_fn((n, k), |_| rng.gen_range(-1.0..1.0f64));
            let got = training_loss(&p, w.view(), h.view()).unwrap();
            let mut x = vec![0.0f64; m * n];
            let mut c: Vec<f64> = (0..m * n).map(|t| p.c0[t % n]).collect();
            for u in 0..m {
                let row = p.users.row(u);
                for (t, &j) in row.items.iter().enumerate() {
                    x[u * n + j as usize] = 1.0;
                    c[u * n + j as usize] = row.conf[t];
                }
            }
            let d = wmf_kernel::Dense::new(
                &x,
                &c,
                w.as_slice().unwrap(),
                h.as_slice().unwrap(),
                m,
                n,
                k,
            )
            .unwrap();
            let want = d.loss(0.3f32 as f64).unwrap();
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
        }
    }
}
