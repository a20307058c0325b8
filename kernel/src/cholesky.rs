//! Exact row solve: Cholesky factorisation `A = L Lᵀ` in place, no heap.

use crate::check;
use crate::error::{Error, Result};
use crate::factors::{Items, Row};
use crate::fold::{LaneFold, PortableFold};
use crate::real::{Real, dot, dot_from_end, positive};
use crate::row::normal_equations_half_unchecked;

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
/// The row solves (exact and low-rank) do not come here: they keep their
/// matrix in the transposed layout, where the columns of `L` are
/// contiguous, and factor it in place ([`factor_upper_unchecked`], the
/// same bits, 2-2.5x faster at 48-128 rows; BENCHMARKS.md, batch 31).
/// This lower-triangle form serves the public factorisations and the
/// whitening.
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
    const W: usize = CHUNK;
    const B: usize = BLOCK;
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
            pivots_before(done.as_flattened(), CAP, j, at, &mut acc);
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

/// Width of the left-looking factorisations' chunks ([`factor_small`],
/// [`factor_upper_unchecked`]): sixteen lanes on hosts (one 512-bit
/// register of `f32`), one on bare metal (a scalar FPU).
const CHUNK: usize = if cfg!(target_os = "none") { 1 } else { 16 };

/// Columns the left-looking factorisations finish per block.
const BLOCK: usize = 4;

/// The left-looking step both [`factor_small`] and
/// [`factor_upper_unchecked`] spend most of their time in: a block's four
/// column chunks `acc[t]` (column `j + t` of `L` in the making, entries
/// `at..at + CHUNK`) receive the updates of every pivot before the block,
/// in pivot order: `acc[t][l] −= L_(at+l)p · L_(j+t)p` for `p = 0, 1, …,
/// j − 1`, column `p` of `L` being row `p` of `cols` (stride `stride`,
/// entries `at..at + CHUNK` and `j..j + BLOCK` read). The four chunks stay
/// in registers across all `p` (four independent chains of subtractions),
/// one load of column `p`'s chunk serving all four. In a short last block
/// (`j + BLOCK > k`) the four scalars run past the end of a row of `L`
/// into the next row of `cols` (which the callers' layouts always have:
/// `factor_small`'s rows are `CAP >= j + BLOCK` long, and
/// `factor_upper_unchecked` hands over all of `u`); the chunks of the
/// missing columns compute values that are never stored.
#[inline(always)]
fn pivots_before<T: Real>(
    cols: &[T],
    stride: usize,
    j: usize,
    at: usize,
    acc: &mut [[T; CHUNK]; BLOCK],
) {
    for p in 0..j {
        let base = p * stride;
        let x: [T; CHUNK] = cols[base + at..base + at + CHUNK]
            .try_into()
            .unwrap_or([T::ZERO; CHUNK]);
        let s: [T; BLOCK] = cols[base + j..base + j + BLOCK]
            .try_into()
            .unwrap_or([T::ZERO; BLOCK]);
        for (ac, &s) in acc.iter_mut().zip(&s) {
            for l in 0..CHUNK {
                ac[l] -= x[l] * s;
            }
        }
    }
}

/// [`factor_unchecked`] on the transposed layout: row `j` of `u` (`k x k`,
/// row-major), from its diagonal on, holds column `j` of `A`'s lower
/// triangle on entry (by symmetry: `A`'s upper triangle) and column `j` of
/// `L` on success, that is `u` ends as `Lᵀ` on and above its diagonal.
/// Entries left of the diagonal are scratch: read and overwritten with
/// unspecified values (finite or not), never read as results.
///
/// Every element gets the operations of the unblocked algorithm in the
/// same order ([`factor_unchecked`]: `L_iq = (a_iq − L_i0 L_q0 − L_i1 L_q1
/// − …) · (1 / L_qq)`, `L_qq = sqrt(a_qq − Σ L_qp²)`), so the factor is the
/// same bits. What the layout buys is that every column of `L`, the unit
/// of a left-looking factorisation, is contiguous: the algorithm runs in
/// place, with neither a working copy nor strided loads and stores.
///
/// Left-looking, four columns at a time: a block `j..j + 4` first receives
/// the updates `u_t[i] −= L_ip · L_(j+t)p` of every earlier pivot `p < j`,
/// in pivot order, per chunk of [`CHUNK`] entries with the block's four
/// chunks in registers across all `p` (four independent chains of
/// subtractions, one load of row `p`'s chunk serving all four). The chunks
/// end at `k`; the entries of a row's first chunk left of its diagonal
/// compute values that are never read, and entries `0..k mod CHUNK` (only
/// in the first blocks) go one at a time. Then the block's columns are
/// finished one after the other: column `t` receives the updates of the
/// block's earlier columns, then its pivot `d = u_qq` must be positive and
/// finite, `L_qq = sqrt(d)`, and the rest of the row is scaled by
/// `1 / L_qq` (one division per pivot).
///
/// # Errors
/// [`Error::NotPositiveDefinite`] for the first pivot that is not positive
/// or not finite; rows before it are then final and row `q` holds its
/// values as updated so far.
#[inline(always)]
pub(crate) fn factor_upper_unchecked<T: Real>(u: &mut [T], k: usize) -> Result<()> {
    const W: usize = CHUNK;
    const B: usize = BLOCK;
    let o = k % W;
    let mut j = 0;
    while j < k {
        let b = B.min(k - j);
        // The pivots before the block: entries j..o one at a time, then
        // whole chunks from the one holding column j to k.
        for t in 0..b {
            for i in j..o {
                let mut v = u[(j + t) * k + i];
                for p in 0..j {
                    v -= u[p * k + i] * u[p * k + j + t];
                }
                u[(j + t) * k + i] = v;
            }
        }
        let first = if j < o { o } else { j - (j - o) % W };
        for at in (first..k).step_by(W) {
            let mut acc = [[T::ZERO; W]; B];
            for (t, ac) in acc.iter_mut().enumerate().take(b) {
                let r = (j + t) * k + at;
                ac.copy_from_slice(&u[r..r + W]);
            }
            pivots_before(u, k, j, at, &mut acc);
            for (t, ac) in acc.iter().enumerate().take(b) {
                let r = (j + t) * k + at;
                u[r..r + W].copy_from_slice(ac);
            }
        }
        // The block's columns, one after the other.
        for q in j..j + b {
            let (done, rest) = u.split_at_mut(q * k);
            let uq = &mut rest[..k];
            for r in j..q {
                let ur = &done[r * k..(r + 1) * k];
                let s = ur[q];
                for (x, y) in uq[q..].iter_mut().zip(&ur[q..]) {
                    *x -= *y * s;
                }
            }
            let d = uq[q];
            if !positive(d) || !d.is_finite() {
                return Err(Error::NotPositiveDefinite { pivot: q });
            }
            let l = d.sqrt();
            uq[q] = l;
            // one division per pivot, not per entry
            let inv = T::ONE / l;
            for v in &mut uq[q + 1..] {
                *v *= inv;
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

/// [`substitute_unchecked`] with the factor in [`factor_upper_unchecked`]'s
/// layout (`u` holds `Lᵀ` on and above its diagonal): `L y = b` by
/// columns of `L` (rows of `u`: once `y_q` is known, subtract `L_pq y_q`
/// from every later `b_p`, a contiguous axpy), then `Lᵀ x = y` by rows of
/// `Lᵀ`: `x_p = (y_p − Lᵀ_p,>p · x_>p) · (1 / L_pp)`, the dot summed by
/// [`dot_from_end`] (its last operation takes the newest `x_(p+1)`: the
/// chain from step to step one multiply-add long). The two triangular
/// solves of [`substitute_unchecked`] with their roles swapped, as the
/// layout makes the other access contiguous; the sums run in another
/// order, so the last bits can differ from it.
#[inline(always)]
pub(crate) fn substitute_upper_unchecked<T: Real>(u: &[T], b: &mut [T], k: usize) {
    for q in 0..k {
        let row = &u[q * k..(q + 1) * k];
        let yq = b[q] * (T::ONE / row[q]);
        b[q] = yq;
        for (bp, lpq) in b[q + 1..k].iter_mut().zip(&row[q + 1..]) {
            *bp -= *lpq * yq;
        }
    }
    for p in (0..k).rev() {
        let row = &u[p * k..(p + 1) * k];
        let s = dot_from_end(&row[p + 1..], &b[p + 1..k]);
        b[p] = (b[p] - s) * (T::ONE / row[p]);
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
/// `a_scratch` receives the upper triangle of `A` (row `r` from its
/// diagonal on: column `r` of the lower one, the same values) and is
/// factored there in place into `Lᵀ` (left-looking, the textbook factor's
/// bits, every column of `L` contiguous), then `L Lᵀ x = b` is solved from
/// it (forward by columns of `L`, backward by rows of `Lᵀ`). Its contents
/// afterwards are unspecified.
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
    // the upper triangle: the factorisation's columns contiguous
    if F::FUSED {
        normal_equations_half_unchecked::<T, true, true>(items, row, lambda, a_scratch, b);
    } else {
        normal_equations_half_unchecked::<T, false, true>(items, row, lambda, a_scratch, b);
    }
    check::upper_result(a_scratch, k, "a")?;
    check::result(b, "b")?;
    factor_upper_unchecked(a_scratch, k)?;
    substitute_upper_unchecked(a_scratch, b, k);
    check::result(b, "x")?;
    x.copy_from_slice(b);
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The upper-layout factorisation and substitution of the row solves
    //! against their definitions: the textbook factor bit for bit, whatever
    //! lies left of the diagonal, and the whole exact row solve against the
    //! textbook normal equations (plain and fused) put through them.
    extern crate std;
    use super::*;
    use crate::factors::Baseline;
    use crate::fold::Fused;
    use crate::testing::Gen;
    use crate::{Factors, gramian};
    use std::{vec, vec::Vec};

    /// The textbook unblocked right-looking factor on the lower triangle.
    fn textbook<T: Real>(a: &mut [T], k: usize) {
        for p in 0..k {
            let l = a[p * k + p].sqrt();
            a[p * k + p] = l;
            let inv = T::ONE / l;
            for i in (p + 1)..k {
                a[i * k + p] *= inv;
            }
            for i in (p + 1)..k {
                for j in (p + 1)..=i {
                    let prod = a[i * k + p] * a[j * k + p];
                    a[i * k + j] -= prod;
                }
            }
        }
    }

    /// `M Mᵀ + k I`, rounded to `T`, row-major.
    fn spd<T: Real>(g: &mut Gen, k: usize) -> Vec<T> {
        let m: Vec<f64> = (0..k * k).map(|_| g.next()).collect();
        (0..k * k)
            .map(|e| {
                let (i, j) = (e / k, e % k);
                let s: f64 = (0..k).map(|t| m[i * k + t] * m[j * k + t]).sum();
                T::from_f64(s + if i == j { k as f64 } else { 0.0 })
            })
            .collect()
    }

    /// `a`'s lower triangle as the upper one of a new matrix, whose strict
    /// lower triangle holds NaN and infinities (never read as results).
    fn as_upper<T: Real>(a: &[T], k: usize) -> Vec<T> {
        (0..k * k)
            .map(|e| {
                let (r, c) = (e / k, e % k);
                if c >= r {
                    a[c * k + r]
                } else if (r + c) % 2 == 0 {
                    T::from_f64(f64::NAN)
                } else {
                    T::from_f64(f64::INFINITY)
                }
            })
            .collect()
    }

    fn factor_upper_is_the_textbook<T: Real>(seed: u64) {
        let mut g = Gen(seed);
        let sizes: Vec<usize> = if cfg!(miri) {
            vec![1, 3, 5, 17, 21]
        } else {
            (1..=70).chain([96, 127, 128, 129]).collect()
        };
        for k in sizes {
            let a = spd::<T>(&mut g, k);
            let mut want = a.clone();
            textbook(&mut want, k);
            let mut u = as_upper(&a, k);
            factor_upper_unchecked(&mut u, k).unwrap();
            for i in 0..k {
                for j in 0..=i {
                    assert_eq!(
                        u[j * k + i].to_f64().to_bits(),
                        want[i * k + j].to_f64().to_bits(),
                        "k {k}: L[{i}][{j}]"
                    );
                }
            }
        }
    }

    #[test]
    fn factor_upper_is_the_textbook_factor_bit_for_bit() {
        factor_upper_is_the_textbook::<f32>(0x2545_f491_4f6c_dd1d);
        if !cfg!(miri) {
            factor_upper_is_the_textbook::<f64>(0x9e37_79b9_7f4a_7c15);
        }
    }

    /// A pivot made negative is named, and the rows before it are final.
    #[test]
    fn factor_upper_names_the_failing_pivot() {
        let mut g = Gen(77);
        let cases: &[(usize, &[usize])] = if cfg!(miri) {
            &[(9, &[0, 3, 8])]
        } else {
            &[
                (20, &[0, 1, 3, 4, 7, 19]),
                (64, &[3, 16, 35, 63]),
                (67, &[0, 9, 66]),
            ]
        };
        for &(k, bads) in cases {
            let a0 = spd::<f32>(&mut g, k);
            for &bad in bads {
                let mut a = a0.clone();
                a[bad * k + bad] = -1e6;
                let mut want = a.clone();
                textbook(&mut want, k);
                let mut u = as_upper(&a, k);
                assert_eq!(
                    factor_upper_unchecked(&mut u, k),
                    Err(Error::NotPositiveDefinite { pivot: bad })
                );
                for j in 0..bad {
                    for i in j..k {
                        assert_eq!(u[j * k + i].to_bits(), want[i * k + j].to_bits());
                    }
                }
            }
        }
    }

    /// The exact row solve, plain and fused, is the textbook normal
    /// equations (`G0`, then per cell `A[r][c] += ((c − c0) h[r]) h[c]` and
    /// `b += (c p) h`, each multiply-add fused or not, then `λ`), put in the
    /// upper layout and solved by `factor_upper_unchecked` and
    /// `substitute_upper_unchecked`, bit for bit: `k` on and off the tiles'
    /// multiples of 16, rows longer than one block of cells.
    #[test]
    fn the_row_solve_is_the_textbook_normal_equations_solved_upper() {
        let mut g = Gen(0x51_7cc1_b727_220a);
        let ks: &[usize] = if cfg!(miri) {
            &[3, 16]
        } else {
            &[1, 3, 16, 17, 32, 64, 80]
        };
        for &k in ks {
            let n = if cfg!(miri) { 20 } else { 300 };
            let h: Vec<f32> = (0..n * k).map(|_| g.next() as f32 * 0.5).collect();
            let c0v: Vec<f32> = (0..n).map(|_| 0.85 + 0.65 * g.next() as f32).collect();
            let fac = Factors::new(&h, n, k).unwrap();
            let mut g0 = vec![0.0f32; k * k];
            gramian(&fac, Baseline::PerItem(&c0v), &mut g0).unwrap();
            let items = Items::new(fac, &g0, Baseline::PerItem(&c0v)).unwrap();
            let lens: &[usize] = if cfg!(miri) {
                &[1, 7]
            } else {
                &[1, 7, 40, 290]
            };
            for &len in lens {
                let cells: Vec<u32> = (0..len).map(|t| (t * n / len) as u32).collect();
                let conf: Vec<f32> = (0..len).map(|_| 10.0 + 8.0 * g.next() as f32).collect();
                let pref: Vec<f32> = (0..len).map(|_| 0.5 + 1.5 * g.next() as f32).collect();
                let row = Row::new(&cells, &conf, Some(&pref));
                let lambda = 0.1f32;
                for fused in [false, true] {
                    let madd =
                        |a: f32, b: f32, c: f32| if fused { a.mul_add(b, c) } else { c + a * b };
                    let (mut a, mut b) = (g0.clone(), vec![0.0f32; k]);
                    for (t, &j) in cells.iter().enumerate() {
                        let x = &h[j as usize * k..(j as usize + 1) * k];
                        let cx = conf[t] * pref[t];
                        for (bi, xi) in b.iter_mut().zip(x) {
                            *bi = madd(cx, *xi, *bi);
                        }
                        let w = conf[t] - c0v[j as usize];
                        for r in 0..k {
                            let s = w * x[r];
                            for c in 0..=r {
                                a[r * k + c] = madd(s, x[c], a[r * k + c]);
                            }
                        }
                    }
                    for d in 0..k {
                        a[d * k + d] += lambda;
                    }
                    let mut u = as_upper(&a, k);
                    factor_upper_unchecked(&mut u, k).unwrap();
                    substitute_upper_unchecked(&u, &mut b, k);
                    let (mut scratch, mut x) = (vec![0.0f32; k * k], vec![0.0f32; k]);
                    if fused {
                        solve_row_cholesky_folded(
                            &items,
                            &row,
                            lambda,
                            &mut scratch,
                            &mut x,
                            Fused(PortableFold),
                        )
                    } else {
                        solve_row_cholesky(&items, &row, lambda, &mut scratch, &mut x)
                    }
                    .unwrap();
                    let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&x), bits(&b), "k {k} len {len} fused {fused}");
                }
            }
        }
    }

    /// The upper substitution solves `L Lᵀ x = b`: its result against an
    /// `f64` solve of the same factor, and its backward sums are
    /// [`dot_from_end`]'s (the definition written out).
    #[test]
    fn substitute_upper_solves_the_factored_system() {
        let mut g = Gen(4099);
        let ks: &[usize] = if cfg!(miri) {
            &[1, 2, 17]
        } else {
            &[1, 2, 15, 16, 17, 33, 64]
        };
        for &k in ks {
            let a = spd::<f32>(&mut g, k);
            let mut u = as_upper(&a, k);
            factor_upper_unchecked(&mut u, k).unwrap();
            let b: Vec<f32> = (0..k).map(|_| g.next() as f32).collect();
            let mut x = b.clone();
            substitute_upper_unchecked(&u, &mut x, k);
            // the definition: forward by columns in order, backward by rows
            let mut want = b.clone();
            for q in 0..k {
                want[q] *= 1.0 / u[q * k + q];
                for p in q + 1..k {
                    want[p] -= u[q * k + p] * want[q];
                }
            }
            for p in (0..k).rev() {
                let s = dot_from_end(&u[p * k + p + 1..(p + 1) * k], &want[p + 1..]);
                want[p] = (want[p] - s) * (1.0 / u[p * k + p]);
            }
            assert_eq!(x, want, "k {k}");
            // and it solves A x = b
            let lf = |i: usize, j: usize| f64::from(u[j * k + i]);
            let mut y: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
            for i in 0..k {
                for j in 0..i {
                    y[i] -= lf(i, j) * y[j];
                }
                y[i] /= lf(i, i);
            }
            for i in (0..k).rev() {
                for j in i + 1..k {
                    y[i] -= lf(j, i) * y[j];
                }
                y[i] /= lf(i, i);
            }
            for (got, exp) in x.iter().zip(&y) {
                assert!(
                    (f64::from(*got) - exp).abs() <= 1e-4 * (1.0 + exp.abs()),
                    "k {k}"
                );
            }
        }
    }
}
