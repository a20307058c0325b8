//! Deterministic synthetic implicit-feedback datasets with planted low-rank taste.
//!
//! # Model
//! With `r` topics ("rank"), `s` the taste strength and independent standard
//! normal draws `g`:
//! - item popularity `p_j = (1 + rank_j)^(−β)` over a random ordering of the
//!   items (Zipf-like, exponent [`SynthConfig::item_exponent`]);
//! - item topic memberships `v_j = softmax(s · g_j)`, user tastes
//!   `θ_u = softmax(s · g_u)` (both on the `r`-simplex);
//! - topic `z` draws item `j` with probability `q_zj = p_j v_jz / Σ_l p_l v_lz`,
//!   so one draw of user `u` picks `j` with probability `Σ_z θ_uz q_zj`: a
//!   rank-`r` matrix, returned as `user_taste · item_tasteᵀ` ([`Synthetic`]);
//! - user activity `a_u = (1 + rank_u)^(−α)` over a random ordering of the users;
//!   user `u` gets `n_u = clamp(round(nnz · a_u / Σ a), 1, n / 2)` distinct items,
//!   drawn (topic, then item) until `n_u` distinct ones are found (at most
//!   `8 n_u + 64` draws, so heavy users of tiny catalogues may get fewer);
//! - value `1 + Poisson(count_mean · min(r θ_uz, 4))` for the topic `z` that drew
//!   it (more repeats where the taste is strong), timestamp uniform in
//!   `[start_time, start_time + time_span)`.
//!
//! The stored count is therefore close to, not exactly, `nnz`. Everything comes
//! from one `StdRng` seeded with [`SynthConfig::seed`]: the same configuration
//! gives the same dataset, bit for bit. Cost: O(r n) memory for the per-topic
//! cumulative tables and O(nnz (r + log n)) time.

use std::path::Path;

use ndarray::Array2;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson, StandardNormal};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::ids::IdMap;
use crate::model_io::atomic_write_with;

/// Parameters of [`generate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SynthConfig {
    /// Number of users `m >= 1`.
    pub users: usize,
    /// Number of items `n >= 1`.
    pub items: usize,
    /// Target number of distinct interactions.
    pub nnz: usize,
    /// Number of planted topics `r >= 1`.
    pub rank: usize,
    /// Exponent `α >= 0` of the user-activity power law.
    pub user_exponent: f64,
    /// Exponent `β >= 0` of the item-popularity power law.
    pub item_exponent: f64,
    /// Taste strength `s >= 0` (0: tastes uniform, no planted structure).
    pub taste_strength: f64,
    /// Mean `>= 0` of the Poisson repeat count added to each interaction's 1.
    pub count_mean: f64,
    /// First timestamp.
    pub start_time: i64,
    /// Length `>= 1` of the timestamp range.
    pub time_span: i64,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for SynthConfig {
    /// The demo dataset: 6000 users, 3000 items, about 300k interactions, 10
    /// topics. With a 20% per-user holdout, the planted taste itself reaches
    /// nDCG@10 ≈ 0.24 (AUC 0.90) against 0.10 (AUC 0.72) for item popularity.
    fn default() -> Self {
        Self {
            users: 6000,
            items: 3000,
            nnz: 300_000,
            rank: 10,
            user_exponent: 0.6,
            item_exponent: 0.7,
            taste_strength: 4.0,
            count_mean: 1.0,
            start_time: 1_600_000_000,
            time_span: 365 * 24 * 3600,
            seed: 42,
        }
    }
}

/// A generated dataset and its planted structure.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    /// The interactions (ids `"0".."m-1"` and `"0".."n-1"`, with timestamps).
    pub data: Dataset,
    /// `θ`, `m x r`: each user's topic mixture.
    pub user_taste: Array2<f32>,
    /// `qᵀ`, `n x r`: `item_taste[j][z]` is topic `z`'s probability of item `j`;
    /// `user_taste · item_tasteᵀ` is the per-draw item distribution of every user.
    pub item_taste: Array2<f32>,
}

fn check(cfg: &SynthConfig) -> Result<()> {
    let bad = |what: &'static str, message: String| Err(Error::invalid(what, message));
    if cfg.users == 0 || cfg.users >= u32::MAX as usize {
        return bad("users", format!("{} (must be in 1..2^32-1)", cfg.users));
    }
    if cfg.items == 0 || cfg.items >= u32::MAX as usize {
        return bad("items", format!("{} (must be in 1..2^32-1)", cfg.items));
    }
    if cfg.rank == 0 || cfg.rank > 1024 {
        return bad("rank", format!("{} (must be in 1..=1024)", cfg.rank));
    }
    for (what, v) in [
        ("user exponent", cfg.user_exponent),
        ("item exponent", cfg.item_exponent),
        ("taste strength", cfg.taste_strength),
        ("count mean", cfg.count_mean),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return bad(what, format!("{v} (must be finite and >= 0)"));
        }
    }
    if cfg.time_span < 1 || cfg.start_time.checked_add(cfg.time_span).is_none() {
        return bad(
            "time span",
            format!("{} from {}", cfg.time_span, cfg.start_time),
        );
    }
    Ok(())
}

/// Power-law weights `(1 + rank)^(−e)` over a random ordering of `0..n`.
fn power_law(n: usize, e: f64, rng: &mut StdRng) -> Vec<f64> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut w = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        w[i] = (1.0 + rank as f64).powf(-e);
    }
    w
}

/// `softmax(s · g)` of `r` fresh normal draws, into `out`.
fn simplex(out: &mut [f64], s: f64, rng: &mut StdRng) {
    for x in out.iter_mut() {
        let g: f64 = rng.sample(StandardNormal);
        *x = s * g;
    }
    let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in out.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in out.iter_mut() {
        *x /= sum;
    }
}

/// Index of `u * total` in a cumulative table (first entry `> u * total`).
fn pick(cum: &[f64], u: f64) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    cum.partition_point(|&c| c <= u * total).min(cum.len() - 1)
}

/// Generates a dataset (see the [module docs](self)).
///
/// # Errors
/// [`Error::Invalid`] for an out-of-range parameter (named).
///
/// ```
/// use wmf_host::synth::{SynthConfig, generate};
/// let cfg = SynthConfig { users: 50, items: 40, nnz: 400, rank: 3, ..SynthConfig::default() };
/// let s = generate(&cfg).unwrap();
/// assert_eq!((s.data.n_users(), s.data.n_items()), (50, 40));
/// assert_eq!(s, generate(&cfg).unwrap()); // same seed, same data
/// ```
pub fn generate(cfg: &SynthConfig) -> Result<Synthetic> {
    check(cfg)?;
    let (m, n, r) = (cfg.users, cfg.items, cfg.rank);
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let pop = power_law(n, cfg.item_exponent, &mut rng);
    let activity = power_law(m, cfg.user_exponent, &mut rng);

    // Per-topic cumulative item tables (topic-major) and the planted q.
    let mut member = vec![0.0f64; r];
    let mut cum = vec![0.0f64; r * n];
    let mut item_taste = Array2::<f32>::zeros((n, r));
    let mut running = vec![0.0f64; r];
    for j in 0..n {
        simplex(&mut member, cfg.taste_strength, &mut rng);
        for z in 0..r {
            running[z] += pop[j] * member[z];
            cum[z * n + j] = running[z];
        }
    }
    for j in 0..n {
        for z in 0..r {
            let prev = if j == 0 { 0.0 } else { cum[z * n + j - 1] };
            item_taste[[j, z]] = ((cum[z * n + j] - prev) / running[z]) as f32;
        }
    }

    let total_activity: f64 = activity.iter().sum();
    let cap = (n / 2).max(1);
    let mut user_taste = Array2::<f32>::zeros((m, r));
    let mut recs: Vec<(u32, u32, f32, i64)> = Vec::with_capacity(cfg.nnz.min(m * cap) + m);
    let mut seen = vec![u32::MAX; n];
    let mut theta_cum = vec![0.0f64; r];
    for u in 0..m {
        simplex(&mut member, cfg.taste_strength, &mut rng);
        let mut acc = 0.0;
        for z in 0..r {
            user_taste[[u, z]] = member[z] as f32;
            acc += member[z];
            theta_cum[z] = acc;
        }
        let want = ((cfg.nnz as f64 * activity[u] / total_activity).round() as usize).clamp(1, cap);
        let (mut got, mut draws) = (0usize, 0usize);
        while got < want && draws < 8 * want + 64 {
            draws += 1;
            let z = pick(&theta_cum, rng.r#gen::<f64>());
            let j = pick(&cum[z * n..(z + 1) * n], rng.r#gen::<f64>());
            if seen[j] == u as u32 {
                continue;
            }
            seen[j] = u as u32;
            got += 1;
            let lambda = cfg.count_mean * (r as f64 * member[z]).min(4.0);
            let extra = if lambda > 0.0 {
                Poisson::new(lambda).map_or(0.0, |p| p.sample(&mut rng))
            } else {
                0.0
            };
            let t = cfg.start_time + rng.gen_range(0..cfg.time_span);
            recs.push((u as u32, j as u32, 1.0 + extra as f32, t));
        }
    }
    let data = Dataset::from_timed_records(recs, IdMap::sequential(m), IdMap::sequential(n))?;
    Ok(Synthetic {
        data,
        user_taste,
        item_taste,
    })
}

/// Writes `data` as a triplet file `user,item,value[,timestamp]` (one line per
/// stored cell, external ids, values in shortest round-trip form), with the
/// header line `user,item,value[,timestamp]` when `header` is set. The file
/// is written atomically and reads back with [`crate::io::load`] into the same
/// matrix (ids in first-seen order).
///
/// # Errors
/// [`Error::Io`] naming the path.
pub fn write_triplets(path: &Path, data: &Dataset, header: bool) -> Result<()> {
    let users = &data.users;
    atomic_write_with(path, |w| {
        let ts = data.timestamps.as_deref();
        if header {
            w.write_all(if ts.is_some() {
                b"user,item,value,timestamp\n"
            } else {
                b"user,item,value\n"
            })?;
        }
        let mut line = String::with_capacity(64);
        for u in 0..users.nrows {
            let uname = data.user_ids.name(u).unwrap_or("");
            let (a, b) = (users.indptr[u] as usize, users.indptr[u + 1] as usize);
            for p in a..b {
                use std::fmt::Write as _;
                line.clear();
                let iname = data.item_ids.name(users.indices[p] as usize).unwrap_or("");
                let _ = write!(line, "{uname},{iname},{}", users.values[p]);
                if let Some(t) = ts.and_then(|t| t.get(p)) {
                    let _ = write!(line, ",{t}");
                }
                line.push('\n');
                w.write_all(line.as_bytes())?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SynthConfig {
        SynthConfig {
            users: 300,
            items: 200,
            nnz: 6000,
            rank: 4,
            ..SynthConfig::default()
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = generate(&small()).unwrap();
        assert_eq!(a, generate(&small()).unwrap());
        let b = generate(&SynthConfig { seed: 7, ..small() }).unwrap();
        assert_ne!(a.data, b.data);
    }

    #[test]
    fn shape_size_and_planted_distribution() {
        let s = generate(&small()).unwrap();
        let d = &s.data;
        assert_eq!((d.n_users(), d.n_items()), (300, 200));
        let nnz = d.nnz() as f64;
        assert!((0.85 * 6000.0..1.1 * 6000.0).contains(&nnz), "{nnz}");
        assert!((0..300).all(|u| d.users.row_len(u) >= 1));
        assert!(d.users.values.iter().all(|&v| v >= 1.0 && v.fract() == 0.0));
        let ts = d.timestamps.as_ref().unwrap();
        assert!(
            ts.iter()
                .all(|&t| (1_600_000_000..1_600_000_000 + 365 * 24 * 3600).contains(&t))
        );
        // Each user's draw distribution sums to one.
        let p = s.user_taste.dot(&s.item_taste.t());
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-4);
        }
        // Power-law popularity: the most popular item is far above the median.
        let mut counts: Vec<usize> = (0..200).map(|j| d.items().row_len(j)).collect();
        counts.sort_unstable();
        assert!(counts[199] > 4 * counts[100].max(1), "{counts:?}");
    }

    #[test]
    fn triplet_file_reads_back() {
        let s = generate(&small()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        write_triplets(&path, &s.data, true).unwrap();
        let (d, report) = crate::io::load(&path, &crate::io::LoadOptions::default()).unwrap();
        assert!(report.header);
        assert_eq!(report.kept as usize, s.data.nnz());
        // Users are written in index order, so user ids map identically;
        // compare through the external ids.
        assert_eq!(d.nnz(), s.data.nnz());
        for u in 0..d.n_users() {
            let su = s.data.user_ids.get(d.user_ids.name(u).unwrap()).unwrap() as usize;
            let mut got: Vec<(String, f32)> = d
                .users
                .row(u)
                .0
                .iter()
                .zip(d.users.row(u).1)
                .map(|(&j, &v)| (d.item_ids.name(j as usize).unwrap().to_string(), v))
                .collect();
            let mut want: Vec<(String, f32)> = s
                .data
                .users
                .row(su)
                .0
                .iter()
                .zip(s.data.users.row(su).1)
                .map(|(&j, &v)| (j.to_string(), v))
                .collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            want.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, want);
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        let e = generate(&SynthConfig { rank: 0, ..small() }).unwrap_err();
        assert!(e.to_string().contains("rank"), "{e}");
        let e = generate(&SynthConfig {
            item_exponent: f64::NAN,
            ..small()
        })
        .unwrap_err();
        assert!(e.to_string().contains("item exponent"), "{e}");
    }
}
