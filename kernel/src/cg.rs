//! Iterative row solve: conjugate gradient on the normal equations without
//! forming `A` (Takács et al. 2011; the solver `implicit` uses by default).

use crate::check;
use crate::error::Result;
use crate::factors::{Items, Row};
use crate::real::{Real, axpy, dot, positive, symv};
use crate::row::apply_a;

/// Tuning knobs of [`solve_row_cg`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgParams {
    /// Maximum number of CG steps (each costs O(n_u k + k²)). Three warm-started
    /// steps per ALS half-iteration is the usual setting.
    pub steps: usize,
    /// Stop early once `|r|² <= tol² · |b|²` (relative residual). `0` never
    /// stops early except on an exactly zero residual.
    pub tol: f64,
}

impl Default for CgParams {
    fn default() -> Self {
        Self {
            steps: 3,
            tol: 1e-10,
        }
    }
}

/// What a CG solve did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgReport {
    /// Steps taken (`<= params.steps`).
    pub steps: usize,
    /// Squared residual norm `|b − A x|²` after the last step (as tracked by the recurrence).
    pub residual_sq: f64,
}

/// Scratch length [`solve_row_cg`] needs: `3 k` (residual, direction, `A p`).
pub const fn cg_scratch_len(k: usize) -> usize {
    3 * k
}

/// Improves `x` (`k`, the warm start, e.g. the previous iteration's factors)
/// towards the solution of the user's normal equations `A x = b` by at most
/// `params.steps` conjugate-gradient steps. `A p` is applied as
/// `G0 p + Σ_obs (c − c0_j)(h_j·p) h_j + λ p`, so a step costs O(n_u k + k²)
/// and `A` is never formed.
///
/// With `steps >= k` and exact arithmetic CG reaches the exact solution; in
/// practice a few more steps than `k` reach it to rounding.
///
/// An empty row with a zero warm start stays zero (the residual is zero).
/// A breakdown (`pᵀ A p <= 0`, only possible when `λ = 0` and `A` is singular)
/// stops early and keeps the last finite iterate.
///
/// # Errors
/// Row and `x` validation errors, [`crate::Error::NonFinite`] /
/// [`crate::Error::Negative`] for `params.tol` (`what: "tol"`),
/// [`crate::Error::LengthMismatch`] when `scratch` is shorter than
/// [`cg_scratch_len`]`(k)`, [`crate::Error::NonFiniteResult`] when a step
/// would overflow (`what: "x"`) or the residual overflows (`what: "residual"`;
/// at the start `x` is then untouched, later it keeps the last finite
/// iterate). On success the reported `residual_sq` is finite.
///
/// ```
/// use wmf_kernel::{Baseline, CgParams, Factors, Items, Row, solve_row_cg};
/// let h = [1.0f64, 0.0, 0.0, 1.0];
/// let g0 = [1.0, 0.0, 0.0, 1.0];
/// let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// let mut x = [0.0; 2];
/// let mut scratch = [0.0; 6];
/// let params = CgParams { steps: 2, tol: 0.0 };
/// solve_row_cg(&items, &Row::implicit(&[0], &[3.0]), 1.0, &mut x, params, &mut scratch).unwrap();
/// assert!((x[0] - 0.75).abs() < 1e-12 && x[1].abs() < 1e-12);
/// ```
#[inline(always)]
pub fn solve_row_cg<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    x: &mut [T],
    params: CgParams,
    scratch: &mut [T],
) -> Result<CgReport> {
    items.check_row(row)?;
    check::scalar_nonneg(lambda, "lambda")?;
    let k = items.k();
    check::len(x, k, "x")?;
    check::finite(x, "x")?;
    check::scalar_nonneg(params.tol, "tol")?;
    if scratch.len() < cg_scratch_len(k) {
        return Err(crate::Error::LengthMismatch {
            what: "scratch",
            expected: cg_scratch_len(k),
            actual: scratch.len(),
        });
    }
    let (r, rest) = scratch.split_at_mut(k);
    let (p, rest) = rest.split_at_mut(k);
    let ap = &mut rest[..k];

    // One pass over the observed cells gives both b = Σ c x h (into p, for
    // |b|) and r = b − A x = Σ (c x − (c − c0_j) h_j·x) h_j − (G0 + λ I) x.
    symv(items.g0, x, ap, k);
    axpy(lambda, x, ap);
    for (ri, ai) in r.iter_mut().zip(ap.iter()) {
        *ri = -*ai;
    }
    p.fill(T::ZERO);
    for t in 0..row.len() {
        let (j, c, pref) = row.cell(t);
        let hj = items.h.row(j);
        let cx = c * pref;
        let coef = cx - (c - items.c0.at(j)) * dot(hj, x);
        axpy(coef, hj, r);
        axpy(cx, hj, p);
    }
    let b_sq = dot(p, p);
    p.copy_from_slice(r);
    let mut rr = dot(r, r);
    if !rr.is_finite() {
        // `A x` or `b` overflowed: nothing sensible to iterate on, `x` untouched.
        return Err(crate::Error::NonFiniteResult { what: "residual" });
    }
    let tol_sq = T::from_f64(params.tol * params.tol) * b_sq;
    let mut steps = 0;
    // Candidate iterate kept in `x` only while finite.
    while steps < params.steps && rr > tol_sq && rr > T::ZERO {
        apply_a(items, row, lambda, p, ap);
        let pap = dot(p, ap);
        if !positive(pap) || !pap.is_finite() {
            break;
        }
        let alpha = rr / pap;
        if !alpha.is_finite() {
            break;
        }
        // Apply the step only if every new coordinate stays finite.
        if x.iter()
            .zip(p.iter())
            .any(|(xi, pi)| !(*xi + alpha * *pi).is_finite())
        {
            return Err(crate::Error::NonFiniteResult { what: "x" });
        }
        axpy(alpha, p, x);
        axpy(-alpha, ap, r);
        let rr_new = dot(r, r);
        if !rr_new.is_finite() {
            // `x` holds the last finite iterate; its residual is not representable.
            return Err(crate::Error::NonFiniteResult { what: "residual" });
        }
        steps += 1;
        let beta = rr_new / rr;
        rr = rr_new;
        for (pi, ri) in p.iter_mut().zip(r.iter()) {
            *pi = *ri + beta * *pi;
        }
    }
    Ok(CgReport {
        steps,
        residual_sq: rr.to_f64(),
    })
}
