//! The implicit-feedback form: one user's loss, gradient and normal equations in
//! O(n_u k + k^2) through the weighted Gramian.
//!
//! # Derivation
//!
//! Fix user `u` with factor row `w` (`k`), item factors `h_j` (`k`) for
//! `j = 0..n`. Observed cells `j ∈ O_u` carry confidence `c_uj` and preference
//! `x_uj`; every other cell has preference 0 and weight `c0_j`. Write
//! `s_j = w·h_j`. The user's share of the objective is
//!
//! ```text
//! f_u(w) = Σ_{j∉O_u} c0_j s_j² + Σ_{j∈O_u} c_uj (x_uj − s_j)² + λ |w|²
//! ```
//!
//! Adding and subtracting `c0_j s_j²` for the observed cells turns the first sum
//! into a sum over *all* items, which no longer depends on `u`:
//!
//! ```text
//! Σ_j c0_j s_j² = Σ_j c0_j wᵀ h_j h_jᵀ w = wᵀ G0 w,   G0 = Hᵀ diag(c0) H
//! f_u(w) = wᵀ G0 w + Σ_{j∈O_u} [ c_uj (x_uj − s_j)² − c0_j s_j² ] + λ |w|²
//! ```
//!
//! `G0` is computed once per half-iteration (O(n k²), BLAS `syrk` on the host),
//! after which `f_u` costs O(n_u k + k²). Differentiating,
//!
//! ```text
//! ∇f_u(w) = 2 G0 w + 2 Σ_{j∈O_u} [ (c_uj − c0_j) s_j − c_uj x_uj ] h_j + 2 λ w
//!         = 2 (A w − b)
//! A = G0 + Σ_{j∈O_u} (c_uj − c0_j) h_j h_jᵀ + λ I,   b = Σ_{j∈O_u} c_uj x_uj h_j
//! ```
//!
//! so the minimiser solves `A w = b` (Hu, Koren & Volinsky 2008, eq. 4, with
//! `c0_j = 1`). Summing `f_u` over users and adding `λ |H|²` gives the dense
//! objective `Σ_ij C_ij (X_ij − W_i·H_j)² + λ(|W|² + |H|²)` exactly; the tests
//! check this against [`crate::Dense`]. `A` is positive semi-definite because it
//! equals `Σ_j c_uj' h_j h_jᵀ + λ I` with every weight `c_uj' ≥ 0`, and positive
//! definite when `λ > 0`.
//!
//! The item side is the same problem with users and items swapped: `Items`
//! then wraps the user factors, their Gramian and the per-user baseline.

use crate::check;
use crate::error::Result;
use crate::factors::{Baseline, Factors, Items, Row, RowTable};
use crate::real::{
    Real, axpy, axpy_by_m, dot, gram_multi, mirror_lower, quad_form, syr_block_len, syr_half_many,
    syr_lower,
};

/// Weighted Gramian `G = Hᵀ diag(c0) H = Σ_j c0_j h_j h_jᵀ` (`k x k`, row-major,
/// symmetric), written to `g`.
///
/// O(n k²). The host computes the same matrix with BLAS; this is the reference
/// and the device's version.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] for `g` (must be `k * k`) or a per-item `c0`;
/// [`crate::Error::NonFinite`] / [`crate::Error::Negative`] for `c0`;
/// [`crate::Error::NonFiniteResult`] on overflow.
///
/// ```
/// use wmf_kernel::{Baseline, Factors, gramian};
/// let h = [1.0f64, 2.0, 3.0, 4.0]; // two items, k = 2
/// let mut g = [0.0; 4];
/// gramian(&Factors::new(&h, 2, 2).unwrap(), Baseline::Uniform(1.0), &mut g).unwrap();
/// assert_eq!(g, [10.0, 14.0, 14.0, 20.0]);
/// ```
pub fn gramian<T: Real>(h: &Factors<'_, T>, c0: Baseline<'_, T>, g: &mut [T]) -> Result<()> {
    let k = h.k();
    check::len(g, k * k, "g")?;
    c0.validate(h.n())?;
    g.fill(T::ZERO);
    for j in 0..h.n() {
        let c = c0.at(j);
        if c != T::ZERO {
            syr_lower(c, h.row(j), g, k);
        }
    }
    mirror_lower(g, k);
    check::result(g, "g")
}

fn check_w<T: Real, H: RowTable<T>>(items: &Items<'_, T, H>, w: &[T], lambda: T) -> Result<()> {
    check::len(w, items.k(), "w")?;
    check::finite(w, "w")?;
    check::scalar_nonneg(lambda, "lambda")
}

/// One user's loss `f_u(w) = wᵀ G0 w + Σ_obs [c (x − s)² − c0_j s²] + λ|w|²`
/// (see the [module docs](self) for the derivation), in O(n_u k + k²).
///
/// The item regulariser `λ|H|²` is not included: it belongs to the whole model.
/// An empty row gives `wᵀ G0 w + λ|w|²`.
///
/// # Errors
/// Row and `w` validation errors (naming `items`, `conf`, `pref`, `w`, `lambda`);
/// [`crate::Error::NonFiniteResult`] on overflow.
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Items, Row, row_loss};
/// let h = [1.0f64, 0.0, 0.0, 1.0];
/// let g0 = [1.0, 0.0, 0.0, 1.0]; // Gramian of h with c0 = 1
/// let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// // user likes item 0 with confidence 2; w = (1, 0) predicts it exactly
/// let loss = row_loss(&items, &Row::implicit(&[0], &[2.0]), 0.0, &[1.0, 0.0]).unwrap();
/// assert_eq!(loss, 0.0);
/// ```
#[inline(always)]
pub fn row_loss<T: Real, H: RowTable<T>>(
    items: &Items<'_, T, H>,
    row: &Row<'_, T>,
    lambda: T,
    w: &[T],
) -> Result<T> {
    items.check_row(row)?;
    check_w(items, w, lambda)?;
    let k = items.k();
    // wᵀ G0 w without scratch, tile by tile of G0 w
    let quad = quad_form(items.g0, w, k);
    // Σ_obs c (x − s)² − c0_j s², s = w·h_j; the dots four cells at a time
    // (`dot4` is bit for bit four `dot`s), the sum in cell order.
    let mut obs = T::ZERO;
    let mut term = |t: usize, s: T| {
        let (j, c, x) = row.cell(t);
        let e = x - s;
        obs += c * e * e - items.c0.at(j) * s * s;
    };
    let n = row.len();
    let full = n / 4 * 4;
    let mut t = 0;
    while t < full {
        let hs: [&[H::Elem]; 4] = core::array::from_fn(|d| items.h.row(row.cell(t + d).0));
        let s = items.h.dot4(hs, w);
        for (d, sd) in s.into_iter().enumerate() {
            term(t + d, sd);
        }
        t += 4;
    }
    for t in full..n {
        term(t, H::dot(items.h.row(row.cell(t).0), w));
    }
    let loss = quad + obs + lambda * dot(w, w);
    check::result(core::slice::from_ref(&loss), "loss")?;
    Ok(loss)
}

/// One user's gradient `∇f_u(w) = 2 (A w − b)`, written to `grad` (`k`), in
/// O(n_u k + k²) without forming `A`.
///
/// An empty row gives `2 (G0 + λ I) w`.
///
/// # Errors
/// As [`row_loss`], plus [`crate::Error::LengthMismatch`] for `grad`.
pub fn row_gradient<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    w: &[T],
    grad: &mut [T],
) -> Result<()> {
    items.check_row(row)?;
    check_w(items, w, lambda)?;
    check::len(grad, items.k(), "grad")?;
    apply_a(items, row, lambda, w, grad);
    let two = T::ONE + T::ONE;
    for t in 0..row.len() {
        let (j, c, x) = row.cell(t);
        axpy(-(c * x), items.h.row(j), grad);
    }
    for g in grad.iter_mut() {
        *g *= two;
    }
    check::result(grad, "grad")
}

/// `out = A v = G0 v + Σ_obs (c − c0_j)(h_j·v) h_j + λ v` without forming `A`.
/// Arguments are already validated.
#[inline(always)]
pub(crate) fn apply_a<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    v: &[T],
    out: &mut [T],
) {
    gram_multi(items.g0, items.diagonal, [v], [&mut *out], items.k());
    apply_a_observed(items, row, lambda, v, out, false);
}

/// The rest of [`apply_a`] once `out = G0 v`: `out += λ v + Σ_obs (c − c0_j)(h_j·v) h_j`.
/// `four_cells`: take the cells four at a time (for the lock-step solve on
/// wide vector units; with one row, and on 128-bit units, the four dots'
/// 64 partial sums would not fit in the registers). Same bits either way.
#[inline(always)]
pub(crate) fn apply_a_observed<T: Real, H: RowTable<T>>(
    items: &Items<'_, T, H>,
    row: &Row<'_, T>,
    lambda: T,
    v: &[T],
    out: &mut [T],
    four_cells: bool,
) {
    axpy(lambda, v, out);
    // The baseline is looked up per cell; resolving its kind once per row
    // lets the loop below be compiled once for each.
    match items.c0 {
        Baseline::Uniform(c0) => observed_pass(&items.h, row, v, out, four_cells, |_| c0),
        Baseline::PerItem(c0) => observed_pass(&items.h, row, v, out, four_cells, |j| {
            c0.get(j).copied().unwrap_or(T::ZERO)
        }),
    }
}

/// `out += Σ_obs (c − c0_j)(h_j·v) h_j`, cell by cell or (`four_cells`) four
/// cells at a time: the four dots against `v` first (they do not depend on
/// `out`), then the four updates in one pass, in cell order (bit for bit the
/// cell-by-cell loop).
#[inline(always)]
fn observed_pass<T: Real, H: RowTable<T>>(
    h: &H,
    row: &Row<'_, T>,
    v: &[T],
    out: &mut [T],
    four_cells: bool,
    c0: impl Fn(usize) -> T,
) {
    let n = row.items.len().min(row.conf.len());
    let full = if four_cells { n / 4 * 4 } else { 0 };
    let (ic, _) = row.items[..full].as_chunks::<4>();
    let (cc, _) = row.conf[..full].as_chunks::<4>();
    let (ir, cr) = (&row.items[full..n], &row.conf[full..n]);
    // Hosts take eight cells at a time: both fours' dots, then both fours'
    // updates in cell order (the same operations in the same order as four
    // at a time). Eight dot chains in flight instead of four keep a
    // processor with two fused multiply-add pipes of four cycles' latency
    // busy while one four's chains run.
    let eights = if cfg!(target_os = "none") {
        0
    } else {
        ic.len() / 2
    };
    let (ic8, _) = ic[..eights * 2].as_chunks::<2>();
    let (cc8, _) = cc[..eights * 2].as_chunks::<2>();
    for ([js0, js1], [cs0, cs1]) in ic8.iter().zip(cc8) {
        let hs0 = js0.map(|j| h.row(j as usize));
        let hs1 = js1.map(|j| h.row(j as usize));
        let dots0 = h.dot4(hs0, v);
        let dots1 = h.dot4(hs1, v);
        observed_four::<T, H>(js0, cs0, hs0, dots0, out, &c0);
        observed_four::<T, H>(js1, cs1, hs1, dots1, out, &c0);
    }
    for (js, cs) in ic[eights * 2..].iter().zip(&cc[eights * 2..]) {
        let hs = js.map(|j| h.row(j as usize));
        let dots = h.dot4(hs, v);
        observed_four::<T, H>(js, cs, hs, dots, out, &c0);
    }
    for (&j, &c) in ir.iter().zip(cr) {
        let hj = h.row(j as usize);
        let coef = (c - c0(j as usize)) * H::dot(hj, v);
        H::axpy(coef, hj, out);
    }
}

/// [`observed_pass`]'s update for four cells `js` (confidences `cs`, rows
/// `hs`, dots `dots` with `v`): `out += Σ (c − c0_j)·dot h_j` in cell order.
#[inline(always)]
fn observed_four<T: Real, H: RowTable<T>>(
    js: &[u32; 4],
    cs: &[T; 4],
    hs: [&[H::Elem]; 4],
    dots: [T; 4],
    out: &mut [T],
    c0: &impl Fn(usize) -> T,
) {
    let coef: [T; 4] = core::array::from_fn(|d| (cs[d] - c0(js[d] as usize)) * dots[d]);
    H::axpy4(coef, hs, out);
}

/// The user's normal equations `A w = b`:
/// `A = G0 + Σ_obs (c_uj − c0_j) h_j h_jᵀ + λ I` (`k x k`, row-major, full
/// symmetric) and `b = Σ_obs c_uj x_uj h_j` (`k`), in O(n_u k²).
///
/// An empty row gives `A = G0 + λ I`, `b = 0`.
///
/// # Errors
/// Row validation errors, [`crate::Error::Negative`] / [`crate::Error::NonFinite`]
/// for `lambda`, [`crate::Error::LengthMismatch`] for `a` or `b`,
/// [`crate::Error::NonFiniteResult`] on overflow.
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Items, Row, row_normal_equations};
/// let h = [1.0f64, 0.0, 0.0, 1.0];
/// let g0 = [1.0, 0.0, 0.0, 1.0];
/// let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// let (mut a, mut b) = ([0.0; 4], [0.0; 2]);
/// row_normal_equations(&items, &Row::implicit(&[1], &[3.0]), 0.5, &mut a, &mut b).unwrap();
/// assert_eq!(a, [1.5, 0.0, 0.0, 3.5]);
/// assert_eq!(b, [0.0, 3.0]);
/// ```
pub fn row_normal_equations<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    a: &mut [T],
    b: &mut [T],
) -> Result<()> {
    items.check_row(row)?;
    check::scalar_nonneg(lambda, "lambda")?;
    let k = items.k();
    check::len(a, k * k, "a")?;
    check::len(b, k, "b")?;
    normal_equations_unchecked(items, row, lambda, a, b);
    check::result(a, "a")?;
    check::result(b, "b")
}

/// [`row_normal_equations`] after validation.
#[inline(always)]
pub(crate) fn normal_equations_unchecked<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    a: &mut [T],
    b: &mut [T],
) {
    let k = items.k();
    normal_equations_half_unchecked::<T, false, false>(items, row, lambda, a, b);
    mirror_lower(a, k);
}

/// [`normal_equations_unchecked`] on the lower triangle of `a` only (what
/// the Cholesky factorisation reads); the strict upper triangle holds
/// unspecified finite-or-not values. Every lower element is computed by the
/// same operations as there: `G0`, then the cells' rank-1 updates in cell
/// order ([`syr_half_many`]), then `λ` on the diagonal. `FUSED` fuses the
/// multiply-adds of `b`'s updates and of the rank updates ([`crate::Fused`]).
///
/// `UPPER` forms the upper triangle instead (what
/// [`crate::cholesky::factor_upper_unchecked`] reads), element `(r, c)` by
/// the operations of its mirror `(c, r)`: `G0`'s own `(r, c)` (`G0` is
/// symmetric: [`Items`]), then the mirrored
/// rank updates ([`syr_half_many`] with `UPPER`); the strict lower
/// triangle then holds unspecified values.
#[inline(always)]
pub(crate) fn normal_equations_half_unchecked<T: Real, const FUSED: bool, const UPPER: bool>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    a: &mut [T],
    b: &mut [T],
) {
    let k = items.k();
    a.copy_from_slice(items.g0);
    b.fill(T::ZERO);
    let n = row.items.len().min(row.conf.len());
    let (cells, conf, h) = (&row.items[..n], &row.conf[..n], items.h.as_slice());
    // Blocks of cells whose fixed-side rows fit in L1: `b`'s axpys read each
    // of the block's rows whole and in order (independent loads the memory
    // system overlaps), then the rank updates' tiles, which touch each row
    // once per tile, find them in L1. Per element of `a` and `b` the sums
    // still run in cell order.
    let block = syr_block_len(k);
    let mut first = 0;
    while first < n {
        let end = first.saturating_add(block).min(n);
        for t in first..end {
            let (j, c, x) = row.cell(t);
            axpy_by_m::<T, T, FUSED>(c * x, items.h.row(j), b, |v| v);
        }
        let (cells, conf) = (&cells[first..end], &conf[first..end]);
        // the baseline's kind resolved once, so the tiles' loop is compiled for each
        match items.c0 {
            Baseline::Uniform(c0) => {
                syr_half_many::<T, FUSED, UPPER>(a, k, h, cells, |t| conf[t] - c0, items.tiling)
            }
            Baseline::PerItem(c0) => syr_half_many::<T, FUSED, UPPER>(
                a,
                k,
                h,
                cells,
                |t| conf[t] - c0.get(cells[t] as usize).copied().unwrap_or(T::ZERO),
                items.tiling,
            ),
        }
        first = end;
    }
    for d in 0..k {
        a[d * k + d] += lambda;
    }
}

/// Length of a block of `n_u` gathered rows of `k` values: `n_u * k`.
pub const fn gathered_rows_len(n_u: usize, k: usize) -> usize {
    n_u.saturating_mul(k)
}
