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
/// O(n k + n log N) time (plus O(N) shifts per accepted item), no extra memory:
/// the exclusion list is merged with the ascending item scan.
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
    if out_items.is_empty() {
        return Err(Error::ZeroDimension { what: "capacity" });
    }
    check::len(out_scores, out_items.len(), "out_scores")?;
    check::len(w, h.k(), "w")?;
    check::finite(w, "w")?;
    check::items(exclude, h.n(), "exclude")?;
    // Validate every score before writing, so a failure leaves outputs untouched.
    for j in 0..h.n() {
        if !dot(w, h.row(j)).is_finite() {
            return Err(Error::NonFiniteResult { what: "scores" });
        }
    }
    let cap = out_items.len();
    let mut len = 0usize;
    let mut ex = exclude.iter().peekable();
    for j in 0..h.n() {
        if ex.peek().is_some_and(|&&e| e as usize == j) {
            ex.next();
            continue;
        }
        let s = dot(w, h.row(j));
        // First position whose score is strictly lower: equal scores stay ahead.
        let pos = out_scores[..len].partition_point(|&t| t >= s);
        if pos >= cap {
            continue;
        }
        let end = if len < cap { len } else { cap - 1 };
        out_items.copy_within(pos..end, pos + 1);
        out_scores.copy_within(pos..end, pos + 1);
        out_items[pos] = j as u32;
        out_scores[pos] = s;
        if len < cap {
            len += 1;
        }
    }
    Ok(len)
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
