//! Iterative row solve: conjugate gradient on the normal equations without
//! forming `A` (Takács et al. 2011; the solver `implicit` uses by default).

use crate::check;
use crate::error::Result;
use crate::factors::{Items, Row, RowTable};
use crate::real::{Real, axpy, dot, gram_multi, positive};
use crate::row::apply_a_observed;

/// Tuning knobs of [`solve_row_cg`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgParams {
    /// Maximum number of CG steps (each costs O(n_u k + k²)). Three warm-started
    /// steps per ALS half-iteration is the usual setting.
    pub steps: usize,
    /// Stop early once `|r|² <= tol² · |b|²` (relative residual). `0` never
    /// stops early except on an exactly zero residual, and saves the solve
    /// the `b = Σ c x h` accumulation that only this test needs (one of the
    /// three vector updates per cell of the first pass over the row).
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
pub fn solve_row_cg<T: Real, H: RowTable<T>>(
    items: &Items<'_, T, H>,
    row: &Row<'_, T>,
    lambda: T,
    x: &mut [T],
    params: CgParams,
    scratch: &mut [T],
) -> Result<CgReport> {
    let [report] = solve_rows_cg::<T, H, 1>(items, &[*row], &[lambda], x, params, scratch);
    report
}

/// Scratch length [`solve_rows_cg`] needs for `g` rows: `g · 3 k`.
pub const fn cg_rows_scratch_len(g: usize, k: usize) -> usize {
    g * cg_scratch_len(k)
}

/// [`solve_row_cg`] for `G` rows that share `items`, in lock-step: row `v`
/// has `rows[v]`, `lambdas[v]` and the warm start `x[v k..(v + 1) k]`, and its
/// result, report and error are exactly, bit for bit, what
/// `solve_row_cg(items, &rows[v], lambdas[v], ..)` gives for it alone.
///
/// The rows step together so that each `G0 p` product of a CG step is done for
/// all `G` directions in one pass over `G0` (`k²` loads for `G` products
/// instead of `G k²`; `O(k)` for a diagonal `G0`, see
/// [`Items::gramian_is_diagonal`]); the per-element order of every sum is
/// that of the single product. Rows that stop early (tolerance, breakdown, error) drop
/// out; the others go on.
///
/// # Errors
/// Per row, the errors of [`solve_row_cg`], in the same order of checks;
/// `x` must have `G k` elements and `scratch` at least
/// [`cg_rows_scratch_len`]`(G, k)`.
#[inline(always)]
pub fn solve_rows_cg<T: Real, H: RowTable<T>, const G: usize>(
    items: &Items<'_, T, H>,
    rows: &[Row<'_, T>; G],
    lambdas: &[T; G],
    x: &mut [T],
    params: CgParams,
    scratch: &mut [T],
) -> [Result<CgReport>; G] {
    lockstep_cg::<T, H, G, true>(items, rows, lambdas, x, params, scratch)
}

/// [`solve_rows_cg`] without its `O(n_u + k)` scans of each row and warm
/// start, for a caller that checked its rows once and solves them many
/// times (an ALS training checks its matrix with [`crate::check_csr_rows`] once
/// per half-iteration, not once per row and call). The arithmetic, the
/// results and the reports are those of [`solve_rows_cg`] bit for bit
/// whenever every `rows[v]` passes [`Items::check_row`] against `items`
/// and every warm start is finite; `lambdas`, `x`'s length, `tol` and
/// `scratch` are still checked, with the same errors.
///
/// Nothing reads out of bounds or panics when a row or a warm start does
/// not hold up, and no result is ever non-finite; the solve is then not
/// the solution of anything meaningful:
/// - a non-finite warm start, confidence or preference makes the first
///   residual non-finite: that row ends with
///   [`crate::Error::NonFiniteResult`] (`what: "residual"`) and its `x`
///   untouched (the checked solve would name the element);
/// - a cell at an item `>= n` reads an empty row and adds nothing;
/// - a negative confidence below the baseline can make `A` indefinite,
///   which CG meets as a breakdown (it stops with the last finite iterate);
/// - repeated or unsorted items only change the order of the sums.
///
/// # Errors
/// Per row, as above; otherwise [`solve_rows_cg`]'s for `lambdas`, `x`,
/// `tol` and `scratch`.
#[inline(always)]
pub fn solve_rows_cg_prechecked<T: Real, H: RowTable<T>, const G: usize>(
    items: &Items<'_, T, H>,
    rows: &[Row<'_, T>; G],
    lambdas: &[T; G],
    x: &mut [T],
    params: CgParams,
    scratch: &mut [T],
) -> [Result<CgReport>; G] {
    lockstep_cg::<T, H, G, false>(items, rows, lambdas, x, params, scratch)
}

/// The body of [`solve_rows_cg`] (`CHECK`: scan each row and warm start)
/// and [`solve_rows_cg_prechecked`].
#[inline(always)]
fn lockstep_cg<T: Real, H: RowTable<T>, const G: usize, const CHECK: bool>(
    items: &Items<'_, T, H>,
    rows: &[Row<'_, T>; G],
    lambdas: &[T; G],
    x: &mut [T],
    params: CgParams,
    scratch: &mut [T],
) -> [Result<CgReport>; G] {
    let k = items.k();
    // The checks in solve_row_cg's order: row, lambda, x, tol, scratch.
    let x_len = check::len(x, G * k, "x");
    let tol_ok = check::scalar_nonneg(params.tol, "tol");
    let scratch_ok = check::min_len(scratch, cg_rows_scratch_len(G, k), "scratch");
    let mut result: [Result<CgReport>; G] = core::array::from_fn(|v| {
        if CHECK {
            items.check_row(&rows[v])?;
        }
        check::scalar_nonneg(lambdas[v], "lambda")?;
        x_len?;
        if CHECK {
            check::finite(x.get(v * k..(v + 1) * k).unwrap_or(&[]), "x")?;
        }
        tol_ok?;
        scratch_ok?;
        Ok(CgReport {
            steps: 0,
            residual_sq: 0.0,
        })
    });
    if x_len.is_err() || scratch_ok.is_err() {
        return result;
    }
    // Rows still iterating (every row starts here unless it failed a check).
    let mut active: [bool; G] = core::array::from_fn(|v| result[v].is_ok());

    let mut xs = x.chunks_exact_mut(k);
    let xs: [&mut [T]; G] = core::array::from_fn(|_| xs.next().unwrap_or_default());
    let mut parts = scratch.chunks_exact_mut(k);
    let mut next = || parts.next().unwrap_or_default();
    let rs: [&mut [T]; G] = core::array::from_fn(|_| next());
    let ps: [&mut [T]; G] = core::array::from_fn(|_| next());
    let mut aps: [&mut [T]; G] = core::array::from_fn(|_| next());

    let need_b = params.tol > 0.0;
    let mut rr = [T::ZERO; G];
    let mut tol_sq = [T::ZERO; G];
    let mut steps = [0usize; G];
    // One pass over the observed cells gives r = b − A x and, when a
    // tolerance needs |b|, also b = Σ c x h (into p). Without it tol_sq is 0
    // whatever |b| is.
    gram_multi(
        items.g0,
        items.diagonal,
        core::array::from_fn(|v| &*xs[v]),
        aps.each_mut().map(|s| &mut **s),
        k,
    );
    for v in 0..G {
        if !active[v] {
            continue;
        }
        let (x, r, p, ap) = (&*xs[v], &mut *rs[v], &mut *ps[v], &mut *aps[v]);
        match start_row(items, &rows[v], lambdas[v], x, r, p, ap, G > 1, need_b) {
            Ok((r_sq, b_sq)) => {
                rr[v] = r_sq;
                tol_sq[v] = T::from_f64(params.tol * params.tol) * b_sq;
            }
            Err(e) => {
                result[v] = Err(e);
                active[v] = false;
            }
        }
    }
    loop {
        // The loop condition of the single-row solve, per row.
        for v in 0..G {
            if active[v] && !(steps[v] < params.steps && rr[v] > tol_sq[v] && rr[v] > T::ZERO) {
                result[v] = report(rr[v], steps[v]);
                active[v] = false;
            }
        }
        if !active.iter().any(|&a| a) {
            break;
        }
        // A p = G0 p + λ p + Σ_obs (c − c0_j)(h_j·p) h_j, the G0 p of all rows at once.
        gram_multi(
            items.g0,
            items.diagonal,
            core::array::from_fn(|v| &*ps[v]),
            aps.each_mut().map(|s| &mut **s),
            k,
        );
        // All the rows' products first, then their steps: the steps' short
        // dependency chains (two dots, two divisions) of different rows then
        // sit next to each other for the processor to overlap.
        for v in 0..G {
            if active[v] {
                apply_a_observed(items, &rows[v], lambdas[v], ps[v], aps[v], G > 1);
            }
        }
        for v in 0..G {
            if !active[v] {
                continue;
            }
            let (x, r, p, ap) = (&mut *xs[v], &mut *rs[v], &mut *ps[v], &mut *aps[v]);
            if let Some(end) = cg_step(x, r, p, ap, &mut rr[v], &mut steps[v]) {
                result[v] = end;
                active[v] = false;
            }
        }
    }
    result
}

/// The start of one row's CG solve once `ap = G0 x`: `r = b − A x` (and
/// `p = r`) from one pass over the row's cells, `A x = G0 x + λ x + Σ_obs
/// (c − c0_j)(h_j·x) h_j` and `b = Σ_obs c x_j h_j`, so each cell adds
/// `(c x_j − (c − c0_j) h_j·x) h_j` to `r`. Returns `(|r|², |b|²)` (`|b|²`
/// only when `need_b`, else 0), or the error of a non-finite `|r|²` (`A x`
/// or `b` overflowed: nothing sensible to iterate on, `x` untouched).
/// `four_cells`: as [`apply_a_observed`]'s.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn start_row<T: Real, H: RowTable<T>>(
    items: &Items<'_, T, H>,
    row: &Row<'_, T>,
    lambda: T,
    x: &[T],
    r: &mut [T],
    p: &mut [T],
    ap: &mut [T],
    four_cells: bool,
    need_b: bool,
) -> Result<(T, T)> {
    axpy(lambda, x, ap);
    for (ri, ai) in r.iter_mut().zip(ap.iter()) {
        *ri = -*ai;
    }
    p.fill(T::ZERO);
    // Four cells at a time in groups (dots first, then the updates in
    // cell order), one at a time for a single row, as in `apply_a_observed`.
    let full = if four_cells { row.len() / 4 * 4 } else { 0 };
    let mut t = 0;
    // Hosts take eight cells at a time (both fours' dots, then both
    // fours' updates in cell order: the same operations in the same
    // order), as `apply_a_observed` does.
    let eights = if cfg!(target_os = "none") {
        0
    } else {
        full / 8 * 8
    };
    while t < eights {
        let cells: [(usize, T, T); 8] = core::array::from_fn(|d| row.cell(t + d));
        let h0: [&[H::Elem]; 4] = core::array::from_fn(|d| items.h.row(cells[d].0));
        let h1: [&[H::Elem]; 4] = core::array::from_fn(|d| items.h.row(cells[4 + d].0));
        let dots = [items.h.dot4(h0, x), items.h.dot4(h1, x)];
        for (half, hs) in [h0, h1].into_iter().enumerate() {
            let four = core::array::from_fn(|d| cells[4 * half + d]);
            start_four(items, four, hs, dots[half], r, p, need_b);
        }
        t += 8;
    }
    while t < full {
        let cells: [(usize, T, T); 4] = core::array::from_fn(|d| row.cell(t + d));
        let hs = cells.map(|(j, _, _)| items.h.row(j));
        let dots = items.h.dot4(hs, x);
        start_four(items, cells, hs, dots, r, p, need_b);
        t += 4;
    }
    for t in full..row.len() {
        let (j, c, pref) = row.cell(t);
        let hj = items.h.row(j);
        let cx = c * pref;
        let coef = cx - (c - items.c0.at(j)) * H::dot(hj, x);
        H::axpy(coef, hj, r);
        if need_b {
            H::axpy(cx, hj, p);
        }
    }
    let b_sq = if need_b { dot(p, p) } else { T::ZERO };
    p.copy_from_slice(r);
    let rr = dot(r, r);
    if !rr.is_finite() {
        return Err(crate::Error::NonFiniteResult { what: "residual" });
    }
    Ok((rr, b_sq))
}

/// [`start_row`]'s updates for four cells `(j, c, pref)` whose rows `hs`
/// have dots `dots` with `x`: `r += Σ (c·pref − (c − c0_j)·dot) h_j` and,
/// with `need_b`, `p += Σ c·pref h_j`, in cell order. A function, not a
/// closure: it must inline into the callers' vector code.
#[inline(always)]
fn start_four<T: Real, H: RowTable<T>>(
    items: &Items<'_, T, H>,
    cells: [(usize, T, T); 4],
    hs: [&[H::Elem]; 4],
    dots: [T; 4],
    r: &mut [T],
    p: &mut [T],
    need_b: bool,
) {
    let cx = cells.map(|(_, c, pref)| c * pref);
    let coef: [T; 4] = core::array::from_fn(|d| {
        let (j, c, _) = cells[d];
        cx[d] - (c - items.c0.at(j)) * dots[d]
    });
    H::axpy4(coef, hs, r);
    if need_b {
        H::axpy4(cx, hs, p);
    }
}

/// What a solve that stops with residual `rr` after `steps` steps reports.
#[inline(always)]
fn report<T: Real>(rr: T, steps: usize) -> Result<CgReport> {
    Ok(CgReport {
        steps,
        residual_sq: rr.to_f64(),
    })
}

/// The rest of one CG step of one row once `ap = A p`: the step along `p`
/// and the next direction. `None` while the row goes on; its final result
/// when it stops (breakdown, or a step that would overflow: `x` then keeps
/// the last finite iterate).
#[inline(always)]
fn cg_step<T: Real>(
    x: &mut [T],
    r: &mut [T],
    p: &mut [T],
    ap: &[T],
    rr: &mut T,
    steps: &mut usize,
) -> Option<Result<CgReport>> {
    let pap = dot(p, ap);
    if !positive(pap) || !pap.is_finite() {
        return Some(report(*rr, *steps));
    }
    let alpha = *rr / pap;
    if !alpha.is_finite() {
        return Some(report(*rr, *steps));
    }
    // Apply the step only if every new coordinate stays finite.
    if !check::axpy_all_finite(alpha, p, x) {
        return Some(Err(crate::Error::NonFiniteResult { what: "x" }));
    }
    axpy(alpha, p, x);
    axpy(-alpha, ap, r);
    let rr_new = dot(r, r);
    if !rr_new.is_finite() {
        // `x` holds the last finite iterate; its residual is not representable.
        return Some(Err(crate::Error::NonFiniteResult { what: "residual" }));
    }
    *steps += 1;
    let beta = rr_new / *rr;
    *rr = rr_new;
    for (pi, ri) in p.iter_mut().zip(r.iter()) {
        *pi = *ri + beta * *pi;
    }
    None
}
