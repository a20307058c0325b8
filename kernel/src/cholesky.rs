//! Exact row solve: Cholesky factorisation `A = L Lᵀ` in place, no heap.

use crate::check;
use crate::error::{Error, Result};
use crate::factors::{Items, Row};
use crate::fold::{LaneFold, PortableFold};
use crate::real::{Real, dot, positive};
use crate::row::normal_equations_lower_unchecked;

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

/// Cholesky `A = L Lᵀ` in place on the lower triangle of `a` (`k x k`,
/// row-major; the strict upper triangle is neither read nor written): at
/// step `p` the pivot is `d_p = a_pp − Σ_{q<p} L_pq²`, `L_pp = sqrt(d_p)`,
/// and `L_ip = (a_ip − Σ_{q<p} L_iq L_pq) · (1 / L_pp)` for `i > p`, every
/// sum subtracted one product at a time in pivot order. Both forms below
/// perform exactly these operations on every element, in this order, so
/// they give the same bits (and the same bits as the textbook unblocked
/// algorithm, which the tests hold them to).
///
/// On hosts, matrices of at most 64 rows go to [`factor_small`]
/// (left-looking, from a column-major working copy), larger ones and all
/// of bare metal to [`factor_blocked`] (right-looking). At small sizes the
/// right-looking form's overheads (its column copies, the pivot scalings
/// written into `a`'s strided columns, an `8 · MAX_K` stack buffer cleared
/// on every call, and the pivots' `sqrt` and division waiting on each
/// other with little independent work around them) outweighed the
/// arithmetic. Measured (BENCHMARKS.md, batch 24), the left-looking form
/// is 1.3-1.9x faster at 8-64 rows in an AVX-512 build and 1.1-1.6x in
/// the baseline x86-64 one; a 50k-user k = 64 Cholesky iteration spends
/// 12-16% less time.
///
/// # Errors
/// [`Error::NotPositiveDefinite`] for the first pivot that is not positive
/// or not finite; the columns before it are then final in `a`.
#[inline(always)]
pub(crate) fn factor_unchecked<T: Real>(a: &mut [T], k: usize) -> Result<()> {
    // Bare metal keeps the one-pivot form below: `factor_small`'s working
    // copy (up to 16 KiB of stack for f32) is too much for a
    // microcontroller, and a scalar FPU gains nothing from it.
    #[cfg(not(target_os = "none"))]
    {
        if k <= 16 {
            return factor_small::<T, 16>(a, k);
        }
        if k <= 32 {
            return factor_small::<T, 32>(a, k);
        }
        if k <= 64 {
            return factor_small::<T, 64>(a, k);
        }
    }
    factor_blocked(a, k)
}

/// [`factor_unchecked`], right-looking (outer-product), for any
/// `k <= MAX_K`: at step `p` the pivot is `d_p = a_pp − Σ_{q<p} L_pq²`
/// (earlier steps have already subtracted the sum), column `p` below it is
/// divided by `sqrt(d_p)`, and the trailing lower triangle gets
/// `a_ij −= L_ip L_jp` (`p < j <= i`). Column `p` is scaled by the
/// reciprocal `1 / sqrt(d_p)`.
///
/// Blocked by eight pivots: the block's columns are finished one after the
/// other (column `q` first receives the updates of the block's earlier
/// pivots, then its pivot and scaling), and then the trailing triangle
/// receives the eight rank-1 updates in one pass, each element loaded and
/// stored once per block instead of once per pivot. Every element still gets
/// the same updates in the same order as the unblocked algorithm, so the
/// result is the same bit for bit; the gain is memory traffic (k = 128:
/// a fifth less time per Cholesky half-iteration on the host).
///
/// The block's columns are copied into contiguous stack vectors
/// (`8 · MAX_K` values; on bare metal, `target_os = "none"`, the block is
/// one pivot wide and this is `MAX_K`) whose entries left of the trailing triangle are
/// zero, so each row's update can start further left, at a length that is a
/// multiple of 16: the extra entries subtract `L_ip · 0` and keep their
/// value, and the `k³/6` multiply-adds run as full-width vector updates
/// without scalar tails. Only the lower triangle is read or written.
#[inline(always)]
fn factor_blocked<T: Real>(a: &mut [T], k: usize) -> Result<()> {
    const W: usize = 16;
    // Block width: eight on hosts (wide vectors, memory traffic and loop
    // overhead are the cost; measured at k = 64: 4 -> 5.28 µs, 6 -> 4.59,
    // 8 -> 4.25, 16 -> 5.00 per factorisation); one on bare metal, where the
    // extra `MAX_K` column copies would cost stack and a scalar FPU gains
    // nothing. Same bits either way.
    const B: usize = if cfg!(target_os = "none") { 1 } else { 8 };
    let mut cols = [[T::ZERO; crate::MAX_K]; B];
    let mut p = 0;
    while p < k {
        let b = B.min(k - p);
        // Columns p..p+b, one after the other: column q first receives the
        // updates of the block's earlier pivots (rows q.., in pivot order),
        // then its pivot is taken and it is scaled.
        for t in 0..b {
            let q = p + t;
            let (done, rest) = cols.split_at_mut(t);
            let Some(col) = rest.first_mut() else { break };
            // The first column of a block has no earlier pivot in it and is
            // scaled in place. A later column, rows q.., is read once into
            // its contiguous copy; there it receives the earlier pivots'
            // updates (contiguous, vector width) in pivot order, and the
            // scaling writes it back once: the same operations on every
            // element as updating `a`'s strided column in place.
            let in_copy = t > 0;
            if in_copy {
                for i in q..k {
                    col[i] = a[i * k + q];
                }
                for col_r in done.iter() {
                    let s = col_r[q];
                    for (c, r) in col[q..k].iter_mut().zip(&col_r[q..k]) {
                        *c -= *r * s;
                    }
                }
            }
            pivot_column(a, col, q, k, in_copy)?;
        }
        // The block's columns are final; in the copies, zero their entries
        // inside the block so that the trailing update below may start left
        // of column p + b (padding) and subtract only zeros there.
        let end = p + b;
        for col in cols[..b].iter_mut() {
            col[..end].fill(T::ZERO);
        }
        // Trailing lower triangle, rows end..k: each element gets the b
        // updates in pivot order, one load and store per element per block.
        for i in end..k {
            let mut s = [T::ZERO; B];
            for (sr, col) in s.iter_mut().zip(&cols) {
                *sr = col[i];
            }
            // columns lo..=i, a multiple of W long where the row allows it
            let len = (i + 1 - end).div_ceil(W) * W;
            let lo = (i + 1).saturating_sub(len);
            let row = &mut a[i * k + lo..i * k + i + 1];
            let (rc, rr) = row.as_chunks_mut::<W>();
            for (ci, r) in rc.iter_mut().enumerate() {
                // whole-chunk copies: loads before stores, so the 16 lanes
                // vectorise even where the optimiser cannot prove `a` and
                // the columns apart
                let mut v = *r;
                let at = lo + ci * W;
                for (sr, col) in s.iter().zip(&cols) {
                    let x: [T; W] = col[at..at + W].try_into().unwrap_or([T::ZERO; W]);
                    for t in 0..W {
                        v[t] -= *sr * x[t];
                    }
                }
                *r = v;
            }
            let tail = lo + rc.len() * W;
            for (c, r) in rr.iter_mut().enumerate() {
                for (sr, col) in s.iter().zip(&cols) {
                    *r -= *sr * col[tail + c];
                }
            }
        }
        // (Only the last block can be short, and it has no trailing rows.)
        p = end;
    }
    Ok(())
}

/// [`factor_unchecked`] for `k <= CAP` (`CAP` a multiple of 16, at most
/// 64): left-looking, four columns at a time, in a column-major working
/// copy, with the same operations on every element as the right-looking
/// form, in the same order, so the same bits.
///
/// `c[p]` holds column `p` of `L` once it is final (rows `p + 1..`; the
/// entries above are never read as results). A block of four columns
/// `j..j + 4` is read from `a`'s lower triangle into `v` (strided, once),
/// then receives the updates `v_t[i] −= L_ip · L_(j+t)p` of every earlier
/// pivot `p < j`, in pivot order: for each 16-row chunk the four columns'
/// chunks stay in registers across all `p` (four independent chains of
/// subtractions; one load of `c[p]`'s chunk serves all four). Then the
/// block's columns are finished one after the other, as in the
/// right-looking form: column `t` receives the updates of the block's
/// earlier pivots, then takes that form's pivot step ([`pivot_column`]:
/// the check, `sqrt`, the reciprocal `1 / sqrt(d)` scaling rows `q + 1..`
/// into `a` and the copy), and is copied to `c`. So element `(i, q)` gets `a_iq − L_i0 L_q0 − L_i1 L_q1 − …`
/// subtracted one product at a time in pivot order, then the scaling:
/// exactly the unblocked algorithm's sequence.
///
/// Rows are processed in whole 16-row chunks from the chunk holding the
/// block's first column to `k` rounded up (`hi <= CAP`): the lanes of
/// rows above a column's diagonal, and of rows past `k`, get values that
/// are never read as results (finite or not, nothing but those lanes
/// depends on them), and the arithmetic needs no scalar tails.
///
/// Stack: `c` (`CAP²` values, cleared once per call: 16 KiB for f32 at
/// `CAP = 64`) and `v` (`4 CAP`). On a bad pivot, the finished columns
/// (`< q`) are in `a` as the unblocked algorithm has them and column `q`
/// holds its values as updated so far; later columns are left as they
/// were (their earlier-pivot updates live only in the copy).
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn factor_small<T: Real, const CAP: usize>(a: &mut [T], k: usize) -> Result<()> {
    const W: usize = 16;
    const B: usize = 4;
    let mut c = [[T::ZERO; CAP]; CAP];
    let mut v = [[T::ZERO; CAP]; B];
    // k <= CAP (the caller's dispatch), so hi <= CAP
    let hi = k.div_ceil(W) * W;
    let mut j = 0;
    while j < k {
        let b = B.min(k - j);
        let lo = j / W * W;
        for (t, vt) in v.iter_mut().enumerate().take(b) {
            for i in j + t..k {
                vt[i] = a[i * k + j + t];
            }
        }
        // Updates of the pivots before the block, per chunk: the block's
        // four column chunks in registers, every earlier pivot in order.
        let (done, rest) = c.split_at_mut(j);
        for at in (lo..hi).step_by(W) {
            let mut acc = [[T::ZERO; W]; B];
            for (ac, vt) in acc.iter_mut().zip(&v) {
                ac.copy_from_slice(&vt[at..at + W]);
            }
            for cp in done.iter() {
                let x: [T; W] = cp[at..at + W].try_into().unwrap_or([T::ZERO; W]);
                // (j is a multiple of B and CAP of W, so j + B <= CAP; a
                // short last block's unused columns compute values that
                // are never stored)
                let s: [T; B] = cp[j..j + B].try_into().unwrap_or([T::ZERO; B]);
                for (ac, &s) in acc.iter_mut().zip(&s) {
                    for l in 0..W {
                        ac[l] -= x[l] * s;
                    }
                }
            }
            for (vt, ac) in v.iter_mut().zip(&acc) {
                vt[at..at + W].copy_from_slice(ac);
            }
        }
        // The block's columns, one after the other.
        for t in 0..b {
            let q = j + t;
            let (vd, vr) = v.split_at_mut(t);
            let Some(vt) = vr.first_mut() else { break };
            for vu in vd.iter() {
                let s = vu[q];
                for (x, y) in vt[lo..hi].iter_mut().zip(&vu[lo..hi]) {
                    *x -= *y * s;
                }
            }
            // the pivot, its checks and the scaling of rows q + 1.. into
            // `a` and the copy: the right-looking form's own step
            pivot_column(a, vt, q, k, true)?;
            if let Some(cq) = rest.get_mut(t) {
                // whole 16-value chunks (`lo` and `hi` are multiples of
                // 16): vector moves, not a `memcpy` call per column
                for at in (lo..hi).step_by(W) {
                    cq[at..at + W].copy_from_slice(&vt[at..at + W]);
                }
            }
        }
        j += b;
    }
    Ok(())
}

/// Step `q` of [`factor_unchecked`] on a column that has received every
/// earlier pivot's update, held in `a` (`in_copy = false`) or, rows `q..`, in
/// its copy `col`: the pivot `d = a_qq` must be positive, `L_qq = sqrt(d)`,
/// and rows `q+1..` are scaled by `1 / L_qq` into both `a` and `col` (whose
/// entries up to `q` become zero). On a bad pivot the column is left in `a`
/// as updated so far.
#[inline(always)]
fn pivot_column<T: Real>(
    a: &mut [T],
    col: &mut [T],
    q: usize,
    k: usize,
    in_copy: bool,
) -> Result<()> {
    let d = if in_copy { col[q] } else { a[q * k + q] };
    if !positive(d) || !d.is_finite() {
        if in_copy {
            for i in q..k {
                a[i * k + q] = col[i];
            }
        }
        return Err(Error::NotPositiveDefinite { pivot: q });
    }
    let l = d.sqrt();
    a[q * k + q] = l;
    // one division per pivot, not per entry (a divide costs ~10 multiplies)
    let inv = T::ONE / l;
    col[..=q].fill(T::ZERO);
    for i in (q + 1)..k {
        let v = if in_copy { col[i] } else { a[i * k + q] } * inv;
        a[i * k + q] = v;
        col[i] = v;
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
    // A non-finite factor is reported before a non-finite `b`, a
    // non-positive pivot after it.
    let factor = check_factor(l, k);
    if let Err(e @ Error::NonFinite { .. }) = factor {
        return Err(e);
    }
    check::finite(b, "b")?;
    factor?;
    substitute_unchecked(l, b, k);
    check::result(b, "x")
}

/// Checks a Cholesky factor `l` (`k x k`, length checked by the caller): its
/// lower triangle finite (the strict upper triangle is not read) and its
/// diagonal positive.
pub(crate) fn check_factor<T: Real>(l: &[T], k: usize) -> Result<()> {
    check::lower_finite(l, k, "l")?;
    if let Some(pivot) = (0..k).find(|&p| !positive(l[p * k + p])) {
        return Err(Error::NotPositiveDefinite { pivot });
    }
    Ok(())
}

#[inline(always)]
pub(crate) fn substitute_unchecked<T: Real>(l: &[T], b: &mut [T], k: usize) {
    forward_unchecked(l, b, k);
    backward_unchecked(l, b, k);
}

/// `L y = b` in place, by rows: `y_p = (b_p − L_p,<p · y_<p) · (1 / L_pp)`.
///
/// Each step's result feeds the next, so the steps form one dependency
/// chain. Multiplying by the reciprocal keeps the division off that chain:
/// `1 / L_pp` does not depend on `b`, and the processor computes it ahead
/// while the previous steps run (a division's latency is about three
/// multiplies'). The result can differ from `/ L_pp` in the last bit; every
/// target runs this same expression.
#[inline(always)]
pub(crate) fn forward_unchecked<T: Real>(l: &[T], b: &mut [T], k: usize) {
    for p in 0..k {
        let s = dot(&l[p * k..p * k + p], &b[..p]);
        b[p] = (b[p] - s) * (T::ONE / l[p * k + p]);
    }
}

/// `Lᵀ x = y` in place, by columns of `Lᵀ` (rows of `L`): once `x_q` is
/// known, subtract `L_qp x_q` from every earlier `b_p`, a contiguous axpy
/// over row `q` of `L`. `x_q = y_q · (1 / L_qq)`, off the chain as in
/// [`forward_unchecked`].
#[inline(always)]
pub(crate) fn backward_unchecked<T: Real>(l: &[T], b: &mut [T], k: usize) {
    for q in (0..k).rev() {
        let xq = b[q] * (T::ONE / l[q * k + q]);
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
    solve_row_cholesky_folded(items, row, lambda, a_scratch, x, PortableFold)
}

/// [`solve_row_cholesky`] with the multiply-adds of the normal equations
/// (`b`'s updates and the rank updates) fused when `fold` is
/// [`crate::Fused`]; any other fold gives `solve_row_cholesky`'s bits (the
/// normal equations have no lane folds).
///
/// # Errors
/// As [`solve_row_cholesky`].
#[inline(always)]
pub fn solve_row_cholesky_folded<T: Real, F: LaneFold>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    a_scratch: &mut [T],
    x: &mut [T],
    _fold: F,
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
    if F::FUSED {
        normal_equations_lower_unchecked::<T, true>(items, row, lambda, a_scratch, b);
    } else {
        normal_equations_lower_unchecked::<T, false>(items, row, lambda, a_scratch, b);
    }
    check::lower_result(a_scratch, k, "a")?;
    check::result(b, "b")?;
    factor_unchecked(a_scratch, k)?;
    substitute_unchecked(a_scratch, b, k);
    check::result(b, "x")?;
    x.copy_from_slice(b);
    Ok(())
}
