//! Ranking metrics: precision, recall, nDCG, MAP at k and AUC.
//!
//! # Protocol
//! For every user `u`, every item is scored; the user's training items are
//! removed from the ranking, and the remaining items are ordered by descending
//! score, equal scores by ascending item index (the same rule as the kernel's
//! [`wmf_kernel::top_n_into`]). `R_u = (r_1, …, r_L)` is the top `L = min(k,
//! #candidates)` of that order. The relevant set `T_u` is the user's test items
//! that are not training items; users with an empty `T_u` are skipped. With
//! `rel_i = [r_i ∈ T_u]` and `hits = Σ_i rel_i`:
//!
//! | metric | per user |
//! |---|---|
//! | precision@k | `hits / k` |
//! | recall@k | `hits / |T_u|` |
//! | nDCG@k | `DCG / IDCG`, `DCG = Σ_{i≤L} rel_i / log2(i + 1)`, `IDCG = Σ_{i ≤ min(k, |T_u|)} 1 / log2(i + 1)` (binary relevance) |
//! | AP@k (MAP@k is its mean) | `(1 / min(k, |T_u|)) Σ_{i≤L} rel_i · P@i`, `P@i = (Σ_{j≤i} rel_j) / i` |
//! | AUC | `(1 / (|P| |N|)) Σ_{p∈P, q∈N} ([s_p > s_q] + ½ [s_p = s_q])`, `P = T_u`, `N` = items neither in train nor in `T_u` |
//!
//! Each reported number is the mean over evaluated users (AUC over the users
//! with at least one negative). Recall uses `|T_u|` as denominator (not
//! `min(k, |T_u|)`), so it can stay below 1 when `|T_u| > k`.
//!
//! # Cost
//! Users are scored in blocks of [`crate::recommend::rows_per_block`] users
//! (about 4 MiB of scores) by one single-threaded BLAS `gemm` per block
//! (`W_block Hᵀ`); the blocks run in parallel with rayon, each ranked and
//! measured right after its product while its scores are in cache, and
//! per-user results are summed in user order, so the result is
//! deterministic. Ranking is the kernel's selection
//! ([`wmf_kernel::select_top_n_into`]), O(n) per user; AUC costs
//! O(n log |T_u|) per user.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::sparse::Csr;

/// Mean ranking metrics over the evaluated users (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Metrics {
    /// The cutoff `k`.
    pub k: usize,
    /// Users evaluated (with at least one relevant test item).
    pub users: usize,
    /// Mean precision@k.
    pub precision: f64,
    /// Mean recall@k.
    pub recall: f64,
    /// Mean nDCG@k.
    pub ndcg: f64,
    /// Mean average precision at k.
    pub map: f64,
    /// Mean per-user AUC.
    pub auc: f64,
    /// Users that entered the AUC mean (those with at least one negative item).
    pub auc_users: usize,
}

/// One user's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UserMetrics {
    /// precision@k.
    pub precision: f64,
    /// recall@k.
    pub recall: f64,
    /// nDCG@k.
    pub ndcg: f64,
    /// AP@k.
    pub ap: f64,
    /// AUC, `None` without negatives.
    pub auc: Option<f64>,
}

/// The best `k` items of `scores` (descending score, ties by ascending item),
/// skipping `exclude` (strictly ascending item indices), as `(item, score)` into
/// `out` (cleared first): [`crate::recommend::select_top_n`], the kernel's
/// ranking rule.
///
/// # Errors
/// [`Error::Invalid`] for a non-finite score (naming the item);
/// [`Error::Kernel`] for a bad `exclude` list.
pub fn top_k_into(
    scores: &[f32],
    exclude: &[u32],
    k: usize,
    out: &mut Vec<(u32, f32)>,
) -> Result<()> {
    out.clear();
    let best = crate::recommend::select_top_n(scores, k, exclude)?;
    out.extend(best.iter().map(|s| (s.item, s.score)));
    Ok(())
}

/// Items of `a` (ascending) that are not in `b` (ascending).
fn difference(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len());
    let mut bi = b.iter().peekable();
    for &x in a {
        while bi.peek().is_some_and(|&&y| y < x) {
            bi.next();
        }
        if bi.peek() != Some(&&x) {
            out.push(x);
        }
    }
    out
}

/// precision@k, recall@k, nDCG@k and AP@k of one ranked list against the
/// relevant items `relevant` (ascending, non-empty).
///
/// ```
/// // Ranked 5, 1, 7 against relevant {1, 3} at k = 3: one hit, at rank 2.
/// let (p, r, ndcg, ap) = wmf_host::metrics::rank_metrics(&[5, 1, 7], &[1, 3], 3);
/// assert_eq!((p, r, ap), (1.0 / 3.0, 0.5, 0.25));
/// assert!((ndcg - (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2())).abs() < 1e-15);
/// ```
pub fn rank_metrics(ranked: &[u32], relevant: &[u32], k: usize) -> (f64, f64, f64, f64) {
    if relevant.is_empty() || k == 0 {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let (mut hits, mut dcg, mut ap) = (0usize, 0.0f64, 0.0f64);
    for (i, r) in ranked.iter().take(k).enumerate() {
        if relevant.binary_search(r).is_ok() {
            hits += 1;
            dcg += 1.0 / ((i + 2) as f64).log2();
            ap += hits as f64 / (i + 1) as f64;
        }
    }
    let ideal = k.min(relevant.len());
    let idcg: f64 = (0..ideal).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
    (
        hits as f64 / k as f64,
        hits as f64 / relevant.len() as f64,
        dcg / idcg,
        ap / ideal as f64,
    )
}

/// AUC of one user (see the [module docs](self)): positives `relevant`,
/// negatives every item in neither `train` nor `relevant` (both ascending).
/// `None` when there is no positive or no negative.
///
/// Pairs are counted, not sorted: with `E = train ∪ relevant`,
/// `#{q ∈ N : s_q < p} = #{j : s_j < p} − #{j ∈ E : s_j < p}` (and the same
/// for `=`), so each positive costs one vectorised counting pass over the
/// scores plus O(|E|): O(|P| n) in all, for the few positives a held-out
/// user has. Above [`AUC_COUNTING_MAX_POSITIVES`] positives it sorts them and
/// binary-searches each negative instead, O(n log |P|). Both count the same
/// integers, so the result is the same.
pub fn auc(scores: &[f32], train: &[u32], relevant: &[u32]) -> Option<f64> {
    let mut pos: Vec<f32> = relevant
        .iter()
        .filter_map(|&j| scores.get(j as usize).copied())
        .collect();
    if pos.is_empty() {
        return None;
    }
    let excluded = union_in_range(train, relevant, scores.len());
    let negatives = (scores.len() - excluded.len()) as u64;
    if negatives == 0 {
        return None;
    }
    let mut wins = 0.0f64;
    if pos.len() <= AUC_COUNTING_MAX_POSITIVES {
        let mut counts = [(0u64, 0u64); AUC_COUNTING_MAX_POSITIVES];
        let counts = &mut counts[..pos.len()];
        count_below_equal(scores, &pos, counts);
        for (&p, &(mut below, mut equal)) in pos.iter().zip(counts.iter()) {
            for &j in &excluded {
                let s = scores[j as usize];
                below -= u64::from(s < p);
                equal -= u64::from(s == p);
            }
            wins += below as f64 + 0.5 * equal as f64;
        }
    } else {
        pos.sort_unstable_by(f32::total_cmp);
        let mut ex = excluded.iter().peekable();
        for (j, &s) in scores.iter().enumerate() {
            if ex.peek().is_some_and(|&&e| e as usize == j) {
                ex.next();
                continue;
            }
            let below_or_eq = pos.partition_point(|&p| p <= s);
            let below = pos.partition_point(|&p| p < s);
            wins += (pos.len() - below_or_eq) as f64 + 0.5 * (below_or_eq - below) as f64;
        }
    }
    Some(wins / (negatives as f64 * pos.len() as f64))
}

/// Positives up to which [`auc`] counts pairs by one pass per positive.
pub const AUC_COUNTING_MAX_POSITIVES: usize = 64;

/// For each `p` of `pos`, how many of `scores` are below `p` and how many
/// equal it, into `out` (as long as `pos`). Four positives per pass over the
/// scores (a user's scores do not fit in L1), each pass one loop the
/// compiler vectorises: the comparisons become lane masks added to per-lane
/// counters. Compiled for the widest instruction set the CPU has (the
/// solver's [`crate::als::isa`]); the counts are integers, the same on all.
fn count_below_equal(scores: &[f32], pos: &[f32], out: &mut [(u64, u64)]) {
    count_on(crate::als::isa(), scores, pos, out);
}

crate::als::isa_dispatch! {
    /// [`count_below_equal`] on the given instruction set.
    fn count_on(scores: &[f32], pos: &[f32], out: &mut [(u64, u64)]) -> () = count_generic;
}

#[inline(always)]
fn count_generic(scores: &[f32], pos: &[f32], out: &mut [(u64, u64)]) {
    let (quads, rest) = pos.as_chunks::<4>();
    let (out_quads, out_rest) = out.split_at_mut(quads.len() * 4);
    for (ps, o) in quads.iter().zip(out_quads.chunks_exact_mut(4)) {
        let c = count4(scores, *ps);
        o.copy_from_slice(&c);
    }
    if let Some(&last) = rest.last() {
        // the last one to three positives in one more pass (the spare lanes
        // repeat the last positive and are dropped)
        let quad = std::array::from_fn(|q| rest.get(q).copied().unwrap_or(last));
        let c = count4(scores, quad);
        for (o, c) in out_rest.iter_mut().zip(c) {
            *o = c;
        }
    }
}

/// [`count_below_equal`] for four positives in one pass.
#[inline(always)]
fn count4(scores: &[f32], p: [f32; 4]) -> [(u64, u64); 4] {
    let (chunks, rest) = scores.as_chunks::<16>();
    let mut acc = [(0u64, 0u64); 4];
    // Per-lane u32 counters: at most 2^20 per lane before they are summed.
    for block in chunks.chunks(1 << 20) {
        // eight separate arrays (not an array of arrays), so that each stays
        // in a vector register
        let (mut b0, mut b1, mut b2, mut b3) = ([0u32; 16], [0u32; 16], [0u32; 16], [0u32; 16]);
        let (mut e0, mut e1, mut e2, mut e3) = ([0u32; 16], [0u32; 16], [0u32; 16], [0u32; 16]);
        for c in block {
            for l in 0..16 {
                b0[l] += u32::from(c[l] < p[0]);
                e0[l] += u32::from(c[l] == p[0]);
                b1[l] += u32::from(c[l] < p[1]);
                e1[l] += u32::from(c[l] == p[1]);
                b2[l] += u32::from(c[l] < p[2]);
                e2[l] += u32::from(c[l] == p[2]);
                b3[l] += u32::from(c[l] < p[3]);
                e3[l] += u32::from(c[l] == p[3]);
            }
        }
        let sum = |a: [u32; 16]| a.iter().map(|&c| u64::from(c)).sum::<u64>();
        for (q, (b, e)) in [(b0, e0), (b1, e1), (b2, e2), (b3, e3)]
            .into_iter()
            .enumerate()
        {
            acc[q].0 += sum(b);
            acc[q].1 += sum(e);
        }
    }
    for &s in rest {
        for q in 0..4 {
            acc[q].0 += u64::from(s < p[q]);
            acc[q].1 += u64::from(s == p[q]);
        }
    }
    acc
}

/// The items of two ascending lists, ascending, duplicates merged, only
/// those below `n`.
fn union_in_range(a: &[u32], b: &[u32], n: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x == y => {
                i += 1;
                j += 1;
                x
            }
            (Some(&x), Some(&y)) if x < y => {
                i += 1;
                x
            }
            (Some(_), Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, Some(&y)) => {
                j += 1;
                y
            }
            (None, None) => break,
        };
        if (x as usize) < n && out.last() != Some(&x) {
            out.push(x);
        }
    }
    out
}

fn check_shapes(train: &Csr, test: &Csr, k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::invalid("k", "the cutoff must be at least 1"));
    }
    if (train.nrows, train.ncols) != (test.nrows, test.ncols) {
        return Err(Error::invalid(
            "test",
            format!(
                "test is {} x {} but train is {} x {}",
                test.nrows, test.ncols, train.nrows, train.ncols
            ),
        ));
    }
    Ok(())
}

/// One user's metrics from their scores `s` (every item); `None` when the
/// user has no relevant test item.
fn user_metrics(
    train: &Csr,
    test: &Csr,
    k: usize,
    u: usize,
    s: &[f32],
    top: &mut Vec<(u32, f32)>,
) -> Result<Option<UserMetrics>> {
    let tr = train.row(u).0;
    let relevant = difference(test.row(u).0, tr);
    if relevant.is_empty() {
        return Ok(None);
    }
    top_k_into(s, tr, k, top).map_err(|e| match e {
        Error::Invalid { message, .. } => Error::invalid("scores", format!("user {u}: {message}")),
        e => e,
    })?;
    let ranked: Vec<u32> = top.iter().map(|t| t.0).collect();
    let (precision, recall, ndcg, ap) = rank_metrics(&ranked, &relevant, k);
    Ok(Some(UserMetrics {
        precision,
        recall,
        ndcg,
        ap,
        auc: auc(s, tr, &relevant),
    }))
}

/// Evaluates any scorer: `score(users, out)` must fill `out` (`users.len() x n`)
/// with the scores of those users for every item. It is called once per
/// block of users, for several blocks at once on the current rayon pool.
///
/// # Errors
/// [`Error::Invalid`] for `k = 0`, mismatched shapes or a non-finite score;
/// whatever `score` returns.
pub fn evaluate_with<F>(train: &Csr, test: &Csr, k: usize, score: F) -> Result<Metrics>
where
    F: Fn(&[usize], ArrayViewMut2<'_, f32>) -> Result<()> + Sync,
{
    check_shapes(train, test, k)?;
    let n = train.ncols;
    let users: Vec<usize> = (0..test.nrows).filter(|&u| test.row_len(u) > 0).collect();
    let rows = crate::recommend::rows_per_block(n);
    let mut total = Metrics {
        k,
        ..Metrics::default()
    };
    // Blocks of users in parallel: score the block, then rank and measure
    // its users while the scores are in cache. Results come back in user
    // order, so the sums below are deterministic.
    let per_block: Vec<Result<Vec<Option<UserMetrics>>>> = users
        .par_chunks(rows)
        .map_init(Vec::new, |top, us| {
            let mut scores = Array2::<f32>::zeros((us.len(), n));
            score(us, scores.view_mut())?;
            let flat = scores
                .as_slice()
                .ok_or_else(|| Error::invalid("scores", "not contiguous"))?;
            us.iter()
                .zip(flat.chunks(n.max(1)))
                .map(|(&u, s)| user_metrics(train, test, k, u, s, top))
                .collect()
        })
        .collect();
    for block in per_block {
        for m in block? {
            let Some(m) = m else { continue };
            total.users += 1;
            total.precision += m.precision;
            total.recall += m.recall;
            total.ndcg += m.ndcg;
            total.map += m.ap;
            if let Some(a) = m.auc {
                total.auc += a;
                total.auc_users += 1;
            }
        }
    }
    if total.users > 0 {
        let u = total.users as f64;
        total.precision /= u;
        total.recall /= u;
        total.ndcg /= u;
        total.map /= u;
    }
    if total.auc_users > 0 {
        total.auc /= total.auc_users as f64;
    }
    Ok(total)
}

/// Evaluates factors: user `u`'s score for item `j` is `W_u · H_j`, computed
/// per block of users by one BLAS `gemm`.
///
/// # Errors
/// [`Error::Invalid`] when `W` (`m x k`) and `H` (`n x k`) do not match each
/// other or `train`/`test` (`m x n`), for `k = 0` or a non-finite score.
pub fn evaluate(
    user_factors: ArrayView2<'_, f32>,
    item_factors: ArrayView2<'_, f32>,
    train: &Csr,
    test: &Csr,
    k: usize,
) -> Result<Metrics> {
    let (m, f) = user_factors.dim();
    let (n, f2) = item_factors.dim();
    if f != f2 || m != train.nrows || n != train.ncols {
        return Err(Error::invalid(
            "factors",
            format!(
                "W is {m} x {f} and H is {n} x {f2}, but the data is {} x {}",
                train.nrows, train.ncols
            ),
        ));
    }
    crate::als::blas_single_threaded();
    let ht = item_factors.t();
    evaluate_with(train, test, k, |users, mut out| {
        crate::recommend::score_users_into(user_factors, ht, users.iter().copied(), &mut out);
        Ok(())
    })
}

/// Evaluates the popularity baseline: every user's score for item `j` is the
/// number of users with `j` in `train`.
///
/// # Errors
/// As [`evaluate_with`].
pub fn evaluate_popularity(train: &Csr, test: &Csr, k: usize) -> Result<Metrics> {
    let mut pop = vec![0f32; train.ncols];
    for &j in &train.indices {
        if let Some(p) = pop.get_mut(j as usize) {
            *p += 1.0;
        }
    }
    evaluate_with(train, test, k, |_, mut out| {
        for mut row in out.rows_mut() {
            row.as_slice_mut()
                .ok_or_else(|| Error::invalid("scores", "not contiguous"))?
                .copy_from_slice(&pop);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn top_k_breaks_ties_by_item_and_skips_train() {
        let s = [0.5f32, 0.9, 0.9, 0.1, 0.9];
        let mut out = Vec::new();
        top_k_into(&s, &[2], 3, &mut out).unwrap();
        assert_eq!(out, vec![(1, 0.9), (4, 0.9), (0, 0.5)]);
        top_k_into(&s, &[], 10, &mut out).unwrap();
        assert_eq!(
            out.iter().map(|t| t.0).collect::<Vec<_>>(),
            vec![1, 2, 4, 0, 3]
        );
        assert!(top_k_into(&[0.0, f32::NAN], &[], 1, &mut out).is_err());
        // Same order as the kernel's top_n_into on the same scores (k = 1 factors).
        let (mut items, mut sc) = ([0u32; 3], [0f32; 3]);
        let h = wmf_kernel::Factors::new(&s, 5, 1).unwrap();
        wmf_kernel::top_n_into(&h, &[1.0], &[2], &mut items, &mut sc).unwrap();
        top_k_into(&s, &[2], 3, &mut out).unwrap();
        assert_eq!(out.iter().map(|t| t.0).collect::<Vec<_>>(), items.to_vec());
    }

    #[test]
    fn hand_computed_ranking_metrics() {
        // Ranked 5, 1, 7; relevant {1, 3}; k = 3: hit at rank 2 only.
        let (p, r, ndcg, ap) = rank_metrics(&[5, 1, 7], &[1, 3], 3);
        close(p, 1.0 / 3.0);
        close(r, 0.5);
        close(ndcg, (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2()));
        close(ap, (1.0 / 2.0) / 2.0);
        // Hits at ranks 1 and 3 of k = 3, relevant {2, 4, 9, 11}.
        let (p, r, ndcg, ap) = rank_metrics(&[2, 5, 9], &[2, 4, 9, 11], 3);
        close(p, 2.0 / 3.0);
        close(r, 0.5);
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        close(ndcg, (1.0 + 0.5) / idcg);
        close(ap, (1.0 + 2.0 / 3.0) / 3.0);
    }

    #[test]
    fn hand_computed_auc() {
        // Items 0..5, train {0}, relevant {2, 4}; negatives 1, 3, 5.
        let s = [9.0f32, 0.2, 0.5, 0.5, 0.1, 0.0];
        // pos 0.5 beats 0.2, 0.0 and ties 0.5 -> 2.5; pos 0.1 beats 0.0 -> 1.
        close(auc(&s, &[0], &[2, 4]).unwrap(), 3.5 / 6.0);
        assert_eq!(auc(&s, &[0, 1, 3, 5], &[2, 4]), None);
    }

    /// AUC straight from its definition, O(|P| |N|).
    fn auc_by_pairs(scores: &[f32], train: &[u32], relevant: &[u32]) -> Option<f64> {
        let n = scores.len() as u32;
        let pos: Vec<f32> = relevant
            .iter()
            .filter(|&&j| j < n)
            .map(|&j| scores[j as usize])
            .collect();
        let neg: Vec<f32> = (0..n)
            .filter(|j| !train.contains(j) && !relevant.contains(j))
            .map(|j| scores[j as usize])
            .collect();
        if pos.is_empty() || neg.is_empty() {
            return None;
        }
        let mut wins = 0.0;
        for &p in &pos {
            for &q in &neg {
                wins += if p > q {
                    1.0
                } else if p == q {
                    0.5
                } else {
                    0.0
                };
            }
        }
        Some(wins / (pos.len() * neg.len()) as f64)
    }

    #[test]
    fn auc_counting_and_sorting_paths_equal_the_definition() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(5);
        for trial in 0..60 {
            let n = rng.gen_range(1..400usize);
            // few distinct values: many ties between positives and negatives
            let scores: Vec<f32> = (0..n).map(|_| rng.gen_range(-4..5) as f32 * 0.25).collect();
            let p_rel = if trial % 3 == 0 { 0.5 } else { 0.05 };
            let relevant: Vec<u32> = (0..n as u32).filter(|_| rng.gen_bool(p_rel)).collect();
            // train may overlap relevant and reach past n (ignored)
            let train: Vec<u32> = (0..n as u32 + 3).filter(|_| rng.gen_bool(0.2)).collect();
            let want = auc_by_pairs(&scores, &train, &relevant);
            let got = auc(&scores, &train, &relevant);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "trial {trial}: {g} vs {w}"),
                (g, w) => assert_eq!(g, w, "trial {trial}"),
            }
        }
        // one list above the counting threshold takes the sorting path
        let n = 1000;
        let scores: Vec<f32> = (0..n).map(|j| ((j * 7919) % 13) as f32).collect();
        let relevant: Vec<u32> = (0..n as u32).step_by(5).collect();
        assert!(relevant.len() > AUC_COUNTING_MAX_POSITIVES);
        let train: Vec<u32> = (1..n as u32).step_by(7).collect();
        let (g, w) = (
            auc(&scores, &train, &relevant).unwrap(),
            auc_by_pairs(&scores, &train, &relevant).unwrap(),
        );
        assert!((g - w).abs() < 1e-12, "{g} vs {w}");
    }

    #[test]
    fn evaluate_on_a_tiny_model() {
        // 3 users, 4 items, k = 1 factor: scores W_u * H_j.
        let w = array![[1.0f32], [-1.0], [2.0]];
        let h = array![[4.0f32], [3.0], [2.0], [1.0]];
        let train = Csr::from_triplets(3, 4, &[(0, 0, 1.0), (1, 3, 1.0)]).unwrap();
        // user 0: test {1}: ranking 1,2,3 -> hit at 1. user 1: test {0}:
        // ranking (scores -4,-3,-2) 2,1,0 -> hit at 3. user 2: no test, skipped.
        let test = Csr::from_triplets(3, 4, &[(0, 1, 1.0), (1, 0, 1.0)]).unwrap();
        let m = evaluate(w.view(), h.view(), &train, &test, 3).unwrap();
        assert_eq!(m.users, 2);
        close(m.precision, (1.0 / 3.0 + 1.0 / 3.0) / 2.0);
        close(m.recall, 1.0);
        close(m.ndcg, (1.0 + 0.5) / 2.0);
        close(m.map, (1.0 + 1.0 / 3.0) / 2.0);
        close(m.auc, 0.5);
        // Popularity: item 0 and 3 have one training user each: ranking for
        // user 0 (excl. 0) is 3, 1, 2; for user 1 (excl. 3) is 0, 1, 2.
        let p = evaluate_popularity(&train, &test, 1).unwrap();
        close(p.precision, 0.5);
        close(p.ndcg, 0.5);
        assert!(evaluate(w.view(), h.view(), &train, &test, 0).is_err());
        assert!(evaluate(w.view(), h.slice(ndarray::s![..3, ..]), &train, &test, 1).is_err());
    }
}
