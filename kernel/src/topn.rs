//! Scoring one user against every item and keeping the best `N`.

use crate::check;
use crate::error::{Error, Result};
use crate::factors::Factors;
use crate::real::{Real, dot};

/// One recommendation: an item and its score `w·h_item`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored<T> {
    /// Item index.
    pub item: u32,
    /// Predicted preference `w·h_item`.
    pub score: T,
}

/// Scores every item: `scores[j] = w·h_j` (`n` outputs). O(n k).
///
/// # Errors
/// [`Error::LengthMismatch`] for `w` or `scores`, [`Error::NonFinite`] for `w`,
/// [`Error::NonFiniteResult`] on overflow.
pub fn score_items<T: Real>(h: &Factors<'_, T>, w: &[T], scores: &mut [T]) -> Result<()> {
    check::len(w, h.k(), "w")?;
    check::finite(w, "w")?;
    check::len(scores, h.n(), "scores")?;
    for (j, s) in scores.iter_mut().enumerate() {
        *s = dot(w, h.row(j));
    }
    check::result(scores, "scores")
}

/// Writes the top `out_items.len()` items by score `w·h_j` into `out_items` and
/// `out_scores` (same length, the capacity `N >= 1`), skipping the items in
/// `exclude` (strictly ascending, each `< n`, e.g. the user's seen items).
/// Returns how many were written (`min(N, n − |exclude|)`), best first.
///
/// Ties are broken deterministically: equal scores keep ascending item order.
/// O(n k + n log N) time (plus O(N) shifts per accepted item), no heap: the
/// exclusion list is merged with the ascending item scan, and a list of at
/// most [`TOP_N_ONE_PASS`] items is selected in one pass on the stack (a
/// longer one scores the items twice).
///
/// # Errors
/// [`Error::ZeroDimension`] for an empty output, [`Error::LengthMismatch`]
/// when the two outputs differ in length or `w` is not `k` long,
/// [`Error::NonFinite`] for `w`, [`Error::IndexOutOfRange`] /
/// [`Error::NotAscending`] for `exclude`, [`Error::NonFiniteResult`] when a
/// score overflows. Outputs beyond the returned count are left untouched.
///
/// ```
/// use wmf_kernel::{Factors, top_n_into};
/// let h = [1.0f32, 3.0, 2.0, 3.0]; // n = 4 items, k = 1
/// let (mut items, mut scores) = ([0u32; 2], [0.0f32; 2]);
/// let got = top_n_into(&Factors::new(&h, 4, 1).unwrap(), &[1.0], &[3], &mut items, &mut scores).unwrap();
/// assert_eq!((got, items), (2, [1, 2])); // item 3 ties with 1 but is excluded
/// ```
pub fn top_n_into<T: Real>(
    h: &Factors<'_, T>,
    w: &[T],
    exclude: &[u32],
    out_items: &mut [u32],
    out_scores: &mut [T],
) -> Result<usize> {
    check_outputs(out_items, out_scores)?;
    check::len(w, h.k(), "w")?;
    check::finite(w, "w")?;
    check::items(exclude, h.n(), "exclude")?;
    let cap = out_items.len();
    if cap <= TOP_N_ONE_PASS {
        // One pass: every item scored once (the excluded ones too, so that an
        // overflowing score fails the call whether or not it is excluded, as
        // below), the list kept on the stack and written out on success.
        let mut items = [0u32; TOP_N_ONE_PASS];
        let mut scores = [T::ZERO; TOP_N_ONE_PASS];
        let mut best = Best::new(&mut items[..cap], &mut scores[..cap]);
        let mut ex = exclude.iter().peekable();
        for j in 0..h.n() {
            let s = dot(w, h.row(j));
            if !s.is_finite() {
                return Err(Error::NonFiniteResult { what: "scores" });
            }
            best.offer_unless_excluded(&mut ex, j, || s);
        }
        let len = best.len;
        out_items[..len].copy_from_slice(&items[..len]);
        out_scores[..len].copy_from_slice(&scores[..len]);
        return Ok(len);
    }
    // A longer list is kept in the outputs: validate every score before
    // writing, so a failure leaves them untouched.
    for j in 0..h.n() {
        if !dot(w, h.row(j)).is_finite() {
            return Err(Error::NonFiniteResult { what: "scores" });
        }
    }
    let mut best = Best::new(out_items, out_scores);
    let mut ex = exclude.iter().peekable();
    for j in 0..h.n() {
        best.offer_unless_excluded(&mut ex, j, || dot(w, h.row(j)));
    }
    Ok(best.len)
}

/// The longest list [`top_n_into`] selects in one pass over the items, kept
/// on the stack (`32 (4 + size_of::<T>())` bytes: 256 for `f32`); a longer
/// one scores every item twice (a checking pass first, so that a failure
/// writes nothing). Measured on a Cortex-M4 (BENCHMARKS.md, on-device round
/// 5): the top 10 of 3000 items at `k = 32` in about half the instructions.
pub const TOP_N_ONE_PASS: usize = 32;

/// The running best-`N` list behind [`top_n_into`] and [`select_top_n_into`]:
/// the one copy of the ranking rule. Items must be offered in ascending item
/// order with finite scores; the list stays sorted by descending score, and
/// an item whose score equals one already kept goes after it, so equal
/// scores keep ascending item order and a full list never lets a later item
/// displace an equal earlier one.
struct Best<'a, T> {
    items: &'a mut [u32],
    scores: &'a mut [T],
    len: usize,
}

impl<'a, T: Real> Best<'a, T> {
    /// An empty list over the caller's outputs (equal lengths, at least 1).
    fn new(items: &'a mut [u32], scores: &'a mut [T]) -> Self {
        Best {
            items,
            scores,
            len: 0,
        }
    }

    /// Offers item `j` with score `score()` unless it is the next entry of
    /// the ascending exclusion list `ex` (then passes that entry instead, and
    /// the score is never computed).
    #[inline(always)]
    fn offer_unless_excluded(
        &mut self,
        ex: &mut core::iter::Peekable<core::slice::Iter<'_, u32>>,
        j: usize,
        score: impl FnOnce() -> T,
    ) {
        if ex.peek().is_some_and(|&&e| e as usize == j) {
            ex.next();
        } else {
            self.offer(j as u32, score());
        }
    }

    /// Offers item `j` with score `s`. O(1) when the list is full and `s` is
    /// not above its last score (the common case for `N` much smaller than
    /// `n`), O(N) when it is inserted.
    #[inline(always)]
    fn offer(&mut self, j: u32, s: T) {
        let cap = self.items.len();
        if self.len == cap && s <= self.scores[cap - 1] {
            return;
        }
        // First position whose score is strictly lower: equal scores stay ahead.
        let pos = self.scores[..self.len].partition_point(|&t| t >= s);
        if pos >= cap {
            return;
        }
        let end = if self.len < cap { self.len } else { cap - 1 };
        self.items.copy_within(pos..end, pos + 1);
        self.scores.copy_within(pos..end, pos + 1);
        self.items[pos] = j;
        self.scores[pos] = s;
        if self.len < cap {
            self.len += 1;
        }
    }
}

/// Writes the best `out_items.len()` items of precomputed `scores`
/// (`scores[j]` is item `j`'s score, e.g. one row of a batched `W Hᵀ`) into
/// `out_items` and `out_scores`, skipping `exclude` (strictly ascending, each
/// `< scores.len()`). Returns how many were written
/// (`min(N, n − |exclude|)`), best first, with the same ranking rule as
/// [`top_n_into`] (equal scores in ascending item order), so a host that
/// scores a block of users with BLAS selects exactly what the kernel would.
///
/// O(n + N · inserted) time, no extra memory: one pass checks the scores,
/// one merges the exclusions with the scan and keeps the running best list
/// (an item not above the current `N`-th score costs one comparison).
///
/// # Errors
/// [`Error::ZeroDimension`] for an empty output or empty `scores`,
/// [`Error::DimensionTooLarge`] for more than `u32::MAX` scores,
/// [`Error::LengthMismatch`] when the two outputs differ in length,
/// [`Error::NonFinite`] for a NaN or infinite score (naming its item),
/// [`Error::IndexOutOfRange`] / [`Error::NotAscending`] for `exclude`.
/// Outputs are written only on success, and beyond the returned count are
/// left untouched.
///
/// ```
/// use wmf_kernel::select_top_n_into;
/// let scores = [1.0f32, 3.0, 2.0, 3.0];
/// let (mut items, mut s) = ([0u32; 2], [0.0f32; 2]);
/// let got = select_top_n_into(&scores, &[1], &mut items, &mut s).unwrap();
/// assert_eq!((got, items, s), (2, [3, 2], [3.0, 2.0]));
/// ```
pub fn select_top_n_into<T: Real>(
    scores: &[T],
    exclude: &[u32],
    out_items: &mut [u32],
    out_scores: &mut [T],
) -> Result<usize> {
    check_outputs(out_items, out_scores)?;
    check::dim(scores.len(), "scores")?;
    check::finite(scores, "scores")?;
    check::items(exclude, scores.len(), "exclude")?;
    let mut best = Best::new(out_items, out_scores);
    let mut ex = exclude.iter().peekable();
    let (chunks, _) = scores.as_chunks::<16>();
    let mut j = 0usize;
    for chunk in chunks {
        // A full list and no score of the chunk above its last entry: no item
        // of the chunk can enter (ties stay with the earlier item), so skip
        // the chunk after one vectorised maximum, passing its exclusions.
        if best.len == best.items.len() && max16(chunk) <= best.scores[best.len - 1] {
            j += 16;
            while ex.peek().is_some_and(|&&e| (e as usize) < j) {
                ex.next();
            }
            continue;
        }
        for &s in chunk {
            best.offer_unless_excluded(&mut ex, j, || s);
            j += 1;
        }
    }
    for &s in &scores[j..] {
        best.offer_unless_excluded(&mut ex, j, || s);
        j += 1;
    }
    Ok(best.len)
}

/// The output pair of [`top_n_into`] and [`select_top_n_into`]: a capacity
/// of at least one, equal lengths.
fn check_outputs<T>(out_items: &[u32], out_scores: &[T]) -> Result<()> {
    if out_items.is_empty() {
        return Err(Error::ZeroDimension { what: "capacity" });
    }
    check::len(out_scores, out_items.len(), "out_scores")
}

/// The largest of 16 finite values, as a lane-wise tree the compiler turns
/// into vector `max` instructions.
#[inline(always)]
fn max16<T: Real>(c: &[T; 16]) -> T {
    let mut m = *c;
    let mut width = 8;
    while width > 0 {
        for l in 0..width {
            if m[l + width] > m[l] {
                m[l] = m[l + width];
            }
        }
        width /= 2;
    }
    m[0]
}

/// [`top_n_into`] with the capacity `N` fixed at compile time, returning a
/// `heapless::Vec` on the caller's stack.
///
/// # Errors
/// As [`top_n_into`].
///
/// ```
/// use wmf_kernel::{Factors, top_n};
/// let h = [0.5f64, 2.0, 1.0];
/// let best = top_n::<f64, 2>(&Factors::new(&h, 3, 1).unwrap(), &[1.0], &[]).unwrap();
/// assert_eq!(best.iter().map(|s| s.item).collect::<heapless::Vec<u32, 2>>(), [1, 2]);
/// ```
pub fn top_n<T: Real, const N: usize>(
    h: &Factors<'_, T>,
    w: &[T],
    exclude: &[u32],
) -> Result<heapless::Vec<Scored<T>, N>> {
    const { assert!(N > 0, "top_n needs a capacity N >= 1") };
    let mut items = [0u32; N];
    let mut scores = [T::ZERO; N];
    let got = top_n_into(h, w, exclude, &mut items, &mut scores)?;
    let mut out = heapless::Vec::new();
    for (item, score) in items.iter().zip(scores.iter()).take(got) {
        // Capacity N >= got, so push cannot fail; ignore the impossible error.
        let _ = out.push(Scored {
            item: *item,
            score: *score,
        });
    }
    Ok(out)
}
