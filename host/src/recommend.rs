//! Top-N recommendation (one user, a list, all users in batches) and similar
//! items / users by cosine.
//!
//! One user goes through the kernel's [`wmf_kernel::top_n_into`]. Batches score
//! a block of users at once with BLAS (`W_block · Hᵀ`) and then select per row
//! with the kernel's tie rule: higher score first, equal scores in ascending
//! item order. Seen items are excluded unless asked otherwise.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;
use wmf_kernel::Factors;
pub use wmf_kernel::Scored;

use crate::error::{Error, Result};
use crate::sparse::Csr;

/// The best `n` of `scores` (indexed by item), skipping `exclude` (strictly
/// ascending), best first; equal scores in ascending item order. This is the
/// kernel's [`wmf_kernel::select_top_n_into`] (the ranking rule of
/// [`wmf_kernel::top_n_into`]): O(len) with one comparison per item that
/// does not enter the running best list.
///
/// # Errors
/// [`Error::Invalid`] for a non-finite score (naming the item);
/// [`Error::Kernel`] for an `exclude` list that is not strictly ascending or
/// holds an item out of range.
///
/// ```
/// let best = wmf_host::recommend::select_top_n(&[1.0, 3.0, 3.0, 2.0], 2, &[1]).unwrap();
/// assert_eq!(best.iter().map(|s| s.item).collect::<Vec<_>>(), [2, 3]);
/// ```
pub fn select_top_n(scores: &[f32], n: usize, exclude: &[u32]) -> Result<Vec<Scored<f32>>> {
    let cap = n.min(scores.len());
    if cap == 0 {
        return Ok(Vec::new());
    }
    let (mut items, mut best) = (vec![0u32; cap], vec![0f32; cap]);
    let got = wmf_kernel::select_top_n_into(scores, exclude, &mut items, &mut best).map_err(
        |e| match e {
            wmf_kernel::Error::NonFinite { index, .. } => Error::invalid(
                "scores",
                format!("score of item {index} is {}", scores[index]),
            ),
            e => Error::kernel("selecting the top items", e),
        },
    )?;
    Ok(items
        .into_iter()
        .zip(best)
        .take(got)
        .map(|(item, score)| Scored { item, score })
        .collect())
}

/// Users per BLAS product when scoring against `n_items` items: about 4 MiB
/// of scores per block (large enough that packing `Hᵀ` once per product is a
/// small share of its work, small enough that a block's scores are still in
/// cache when they are ranked), a multiple of 16 rows (the gemm micro-tile),
/// between 16 and 256.
pub fn rows_per_block(n_items: usize) -> usize {
    ((1usize << 20) / n_items.max(1)).clamp(16, 256) / 16 * 16
}

/// `out = W[users] · Hᵀ` (`users.len() x n_items`, given `ht = Hᵀ`): the
/// users' factor rows gathered into one block, then one BLAS `gemm` on the
/// calling thread. The block scoring behind [`recommend_batch`] and
/// [`crate::metrics::evaluate`].
pub(crate) fn score_users_into(
    user_factors: ArrayView2<'_, f32>,
    ht: ArrayView2<'_, f32>,
    users: impl ExactSizeIterator<Item = usize>,
    out: &mut ArrayViewMut2<'_, f32>,
) {
    let mut w = Array2::<f32>::zeros((users.len(), user_factors.ncols()));
    for (mut row, u) in w.rows_mut().into_iter().zip(users) {
        row.assign(&user_factors.row(u));
    }
    general_mat_mul(1.0, &w, &ht, 0.0, out);
}

fn std_slice<'a>(a: &'a ArrayView2<'_, f32>, what: &'static str) -> Result<&'a [f32]> {
    a.as_slice()
        .ok_or_else(|| Error::invalid(what, "must be in standard (row-major) layout"))
}

/// Top `n` items for one user factor `w` (`k`), excluding `exclude`
/// (strictly ascending item indices), through the kernel's
/// [`wmf_kernel::top_n_into`].
///
/// # Errors
/// [`Error::Invalid`] for `n = 0`; [`Error::Kernel`] for bad factors,
/// `w` or `exclude`.
pub fn recommend_one(
    item_factors: ArrayView2<'_, f32>,
    w: &[f32],
    n: usize,
    exclude: &[u32],
) -> Result<Vec<Scored<f32>>> {
    if n == 0 {
        return Err(Error::invalid("-n", "must be at least 1"));
    }
    let (ni, k) = item_factors.dim();
    let fac = Factors::new(std_slice(&item_factors, "item factors")?, ni, k)
        .map_err(|e| Error::kernel("checking the item factors", e))?;
    let cap = n.min(ni);
    let (mut items, mut scores) = (vec![0u32; cap], vec![0f32; cap]);
    let got = wmf_kernel::top_n_into(&fac, w, exclude, &mut items, &mut scores)
        .map_err(|e| Error::kernel("recommending", e))?;
    Ok(items
        .into_iter()
        .zip(scores)
        .take(got)
        .map(|(item, score)| Scored { item, score })
        .collect())
}

/// Top `n` items for each user in `users`, `batch` users at a time (the
/// results of a batch are collected before the next starts). Within a batch,
/// blocks of [`rows_per_block`] users run in parallel on the current rayon
/// pool: one single-threaded BLAS product `W_block · Hᵀ` each, then
/// [`select_top_n`] per user while the block's scores are in cache (memory
/// O(threads · rows · n_items) for scores). Items stored in the user's row of
/// `seen` are excluded when `seen` is given.
///
/// # Errors
/// [`Error::Invalid`] for `n = 0`, a user index out of range, mismatched
/// shapes, or non-finite scores.
pub fn recommend_batch(
    user_factors: ArrayView2<'_, f32>,
    item_factors: ArrayView2<'_, f32>,
    users: &[u32],
    n: usize,
    seen: Option<&Csr>,
    batch: usize,
) -> Result<Vec<Vec<Scored<f32>>>> {
    if n == 0 {
        return Err(Error::invalid("-n", "must be at least 1"));
    }
    let (m, k) = user_factors.dim();
    if item_factors.ncols() != k {
        return Err(Error::invalid(
            "factors",
            "user and item factors differ in k",
        ));
    }
    if let Some(&u) = users.iter().find(|&&u| u as usize >= m) {
        return Err(Error::invalid(
            "user",
            format!("index {u} is out of range (there are {m})"),
        ));
    }
    let batch = batch.max(1);
    let rows = rows_per_block(item_factors.nrows());
    crate::als::blas_single_threaded();
    let ht = item_factors.t();
    let mut out = Vec::with_capacity(users.len());
    for chunk in users.chunks(batch) {
        // Each rayon task scores a block of users with one gemm and ranks
        // them while the block's scores are still in cache.
        let blocks: Vec<Result<Vec<Vec<Scored<f32>>>>> = chunk
            .par_chunks(rows)
            .map(|us| {
                let mut scores = Array2::<f32>::zeros((us.len(), ht.ncols()));
                score_users_into(
                    user_factors,
                    ht,
                    us.iter().map(|&u| u as usize),
                    &mut scores.view_mut(),
                );
                us.iter()
                    .zip(scores.rows())
                    .map(|(&u, row)| {
                        let row = row.as_slice().unwrap_or(&[]);
                        let exclude = seen.map(|s| s.row(u as usize).0).unwrap_or(&[]);
                        select_top_n(row, n, exclude)
                    })
                    .collect()
            })
            .collect();
        for b in blocks {
            out.extend(b?);
        }
    }
    Ok(out)
}

/// All users' top `n` ([`recommend_batch`] over `0..m`).
///
/// # Errors
/// As [`recommend_batch`].
pub fn recommend_all(
    user_factors: ArrayView2<'_, f32>,
    item_factors: ArrayView2<'_, f32>,
    n: usize,
    seen: Option<&Csr>,
    batch: usize,
) -> Result<Vec<Vec<Scored<f32>>>> {
    let users: Vec<u32> = (0..user_factors.nrows() as u32).collect();
    recommend_batch(user_factors, item_factors, &users, n, seen, batch)
}

/// The `n` rows most similar to row `query` of `factors` by cosine
/// similarity `f_q·f_j / (|f_q| |f_j|)` (0 when either norm is 0), the
/// query itself excluded. Works for items (`H`) and users (`W`).
///
/// # Errors
/// [`Error::Invalid`] for `n = 0` or `query` out of range.
pub fn similar(factors: ArrayView2<'_, f32>, query: u32, n: usize) -> Result<Vec<Scored<f32>>> {
    if n == 0 {
        return Err(Error::invalid("-n", "must be at least 1"));
    }
    let rows = factors.nrows();
    if query as usize >= rows {
        return Err(Error::invalid(
            "index",
            format!("{query} is out of range (there are {rows})"),
        ));
    }
    let norms: Array1<f32> = factors.map_axis(Axis(1), |r| r.dot(&r).sqrt());
    let q = factors.row(query as usize);
    let qn = norms[query as usize];
    let dots = factors.dot(&q);
    let scores: Vec<f32> = dots
        .iter()
        .zip(norms.iter())
        .map(|(&d, &nj)| {
            if nj > 0.0 && qn > 0.0 {
                d / (nj * qn)
            } else {
                0.0
            }
        })
        .collect();
    select_top_n(&scores, n, &[query])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn batch_equals_kernel_top_n() {
        let mut rng = StdRng::seed_from_u64(11);
        let (m, n, k) = (20usize, 50usize, 4usize);
        let w = Array2::from_shape_fn((m, k), |_| rng.gen_range(-1.0..1.0f32));
        // quantised item factors so that some scores tie exactly
        let h = Array2::from_shape_fn((n, k), |_| rng.gen_range(-2..=2) as f32 * 0.5);
        let trip: Vec<(u32, u32, f32)> = (0..60)
            .map(|_| (rng.gen_range(0..m as u32), rng.gen_range(0..n as u32), 1.0))
            .collect();
        let seen = Csr::from_triplets(m, n, &trip).unwrap();
        let all = recommend_all(w.view(), h.view(), 7, Some(&seen), 6).unwrap();
        for (u, got) in all.iter().enumerate() {
            let want =
                recommend_one(h.view(), w.row(u).as_slice().unwrap(), 7, seen.row(u).0).unwrap();
            let got_items: Vec<u32> = got.iter().map(|s| s.item).collect();
            let want_items: Vec<u32> = want.iter().map(|s| s.item).collect();
            // scores can differ by BLAS rounding; items must agree unless scores are within rounding
            for (g, wv) in got.iter().zip(&want) {
                assert!(
                    (g.score - wv.score).abs() <= 1e-5,
                    "user {u}: {got_items:?} vs {want_items:?}"
                );
            }
            assert_eq!(got.len(), 7);
        }
        assert!(recommend_all(w.view(), h.view(), 0, None, 4).is_err());
    }

    #[test]
    fn cosine_similarity() {
        let h = ndarray::array![
            [1.0f32, 0.0],
            [2.0, 0.1],
            [0.0, 1.0],
            [0.0, 0.0],
            [-1.0, 0.0]
        ];
        let s = similar(h.view(), 0, 5).unwrap();
        let items: Vec<u32> = s.iter().map(|x| x.item).collect();
        assert_eq!(items, [1, 2, 3, 4]);
        assert!((s[0].score - 2.0 / (4.01f32).sqrt()).abs() < 1e-6);
        assert_eq!(s[3].score, -1.0);
        assert!(similar(h.view(), 9, 1).is_err());
    }
}
