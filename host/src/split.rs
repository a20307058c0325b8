//! Deterministic train/test splits.
//!
//! Every strategy returns `(train, test)`: two matrices of the input's shape
//! whose stored cells partition the input's (each cell goes to exactly one
//! side, with its value). Randomness comes from a per-user stream derived from
//! `(seed, user)`, so a split depends only on the data and the seed (not on
//! thread counts or the order users are processed in).
//!
//! | strategy | test cells of user `u` with `n_u` interactions |
//! |---|---|
//! | [`Split::Holdout`] `f` | `t_u = min(n_u − 1, max(1, round(f·n_u)))` cells drawn uniformly at random; none when `n_u < 2` |
//! | [`Split::LeaveOneOut`] | one cell (random, or the latest by timestamp) when `n_u >= 2` |
//! | [`Split::TimePerUser`] `f` | the `t_u` latest cells (as for holdout), ties by larger item index |
//! | [`Split::TimeCutoff`] `f` | every cell with timestamp `>= c`, `c` the `⌊(1−f)·nnz⌋`-th smallest timestamp (0-based) over all cells; users are not protected |
//!
//! "Latest" orders by `(timestamp, item index)`.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::sparse::Csr;

/// How to split interactions into train and test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Split {
    /// A random fraction `0 < fraction < 1` of each user's interactions.
    Holdout {
        /// Target test fraction per user.
        fraction: f64,
    },
    /// One interaction per user.
    LeaveOneOut {
        /// Hold out the latest interaction (needs timestamps) instead of a random one.
        latest: bool,
    },
    /// The latest fraction of each user's interactions (needs timestamps).
    TimePerUser {
        /// Target test fraction per user, `0 < fraction < 1`.
        fraction: f64,
    },
    /// Everything at or after a global time cutoff (needs timestamps).
    TimeCutoff {
        /// Fraction of all interactions at or after the cutoff, `0 < fraction < 1`.
        fraction: f64,
    },
}

/// SplitMix64: a tiny, fixed, portable generator for per-user streams.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    /// A stream for `(seed, stream)`.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut s = Self(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        s.next_u64();
        s
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n >= 1`), by multiply-shift (bias below 2^-32 for n < 2^32).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

fn check_fraction(f: f64) -> Result<()> {
    if f.is_finite() && f > 0.0 && f < 1.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "test fraction",
            format!("{f} (must be strictly between 0 and 1)"),
        ))
    }
}

/// Number of test cells of a user with `n` interactions for fraction `f`.
fn test_count(n: usize, f: f64) -> usize {
    if n < 2 {
        return 0;
    }
    ((f * n as f64).round() as usize).clamp(1, n - 1)
}

/// Splits a dataset (see the [module docs](self)).
///
/// # Errors
/// As [`split_csr`].
pub fn split(data: &Dataset, how: Split, seed: u64) -> Result<(Csr, Csr)> {
    split_csr(&data.users, data.timestamps.as_deref(), how, seed)
}

/// Splits `users` (with optional timestamps aligned with `users.indices`).
///
/// # Errors
/// [`Error::Invalid`] for a fraction outside `(0, 1)`, a time-based strategy
/// without timestamps, or timestamps of the wrong length.
///
/// ```
/// use wmf_host::Csr;
/// use wmf_host::split::{Split, split_csr};
/// let x = Csr::from_triplets(2, 4, &[(0, 0, 1.0), (0, 1, 1.0), (0, 3, 1.0), (1, 2, 1.0)]).unwrap();
/// let (train, test) = split_csr(&x, None, Split::LeaveOneOut { latest: false }, 42).unwrap();
/// assert_eq!((train.nnz(), test.nnz()), (3, 1)); // user 1 has one item: kept in train
/// assert_eq!(test.row_len(1), 0);
/// ```
pub fn split_csr(
    users: &Csr,
    timestamps: Option<&[i64]>,
    how: Split,
    seed: u64,
) -> Result<(Csr, Csr)> {
    if let Some(ts) = timestamps
        && ts.len() != users.nnz()
    {
        return Err(Error::invalid(
            "timestamps",
            format!("{} timestamps for {} interactions", ts.len(), users.nnz()),
        ));
    }
    let needs_ts = matches!(
        how,
        Split::LeaveOneOut { latest: true } | Split::TimePerUser { .. } | Split::TimeCutoff { .. }
    );
    let ts = match (needs_ts, timestamps) {
        (true, None) => {
            return Err(Error::invalid(
                "split",
                format!("{how:?} needs timestamps, and the data has none"),
            ));
        }
        (_, t) => t.unwrap_or(&[]),
    };
    if let Split::Holdout { fraction }
    | Split::TimePerUser { fraction }
    | Split::TimeCutoff { fraction } = how
    {
        check_fraction(fraction)?;
    }
    let cutoff = match how {
        Split::TimeCutoff { fraction } => {
            let mut sorted = ts.to_vec();
            if sorted.is_empty() {
                i64::MAX
            } else {
                let q = (((1.0 - fraction) * sorted.len() as f64).floor() as usize)
                    .min(sorted.len() - 1);
                *sorted.select_nth_unstable(q).1
            }
        }
        _ => i64::MAX,
    };

    let mut out = [Builder::new(users), Builder::new(users)];
    let mut is_test: Vec<bool> = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    for u in 0..users.nrows {
        let (a, b) = (users.indptr[u] as usize, users.indptr[u + 1] as usize);
        let n = b - a;
        let row_ts = ts.get(a..b).unwrap_or(&[]);
        is_test.clear();
        is_test.resize(n, false);
        let mut rng = SplitMix64::new(seed, u as u64);
        // The positions of the `t` latest cells, by (timestamp, position).
        let latest = |t: usize, order: &mut Vec<usize>, is_test: &mut [bool]| {
            order.clear();
            order.extend(0..n);
            order.sort_unstable_by_key(|&p| (row_ts[p], p));
            for &p in &order[n - t..] {
                is_test[p] = true;
            }
        };
        match how {
            Split::Holdout { fraction } => {
                let t = test_count(n, fraction);
                // Partial Fisher-Yates: the first t of a random permutation.
                order.clear();
                order.extend(0..n);
                for i in 0..t {
                    let j = i + rng.below(n - i);
                    order.swap(i, j);
                    is_test[order[i]] = true;
                }
            }
            Split::LeaveOneOut { latest: false } => {
                if n >= 2 {
                    is_test[rng.below(n)] = true;
                }
            }
            Split::LeaveOneOut { latest: true } => {
                if n >= 2 {
                    latest(1, &mut order, &mut is_test);
                }
            }
            Split::TimePerUser { fraction } => {
                let t = test_count(n, fraction);
                if t > 0 {
                    latest(t, &mut order, &mut is_test);
                }
            }
            Split::TimeCutoff { .. } => {
                for (flag, &t) in is_test.iter_mut().zip(row_ts) {
                    *flag = t >= cutoff;
                }
            }
        }
        for (p, &test) in is_test.iter().enumerate() {
            out[usize::from(test)].push(users.indices[a + p], users.values[a + p]);
        }
        for o in &mut out {
            o.end_row();
        }
    }
    let [train, test] = out;
    Ok((train.finish(), test.finish()))
}

struct Builder {
    csr: Csr,
}

impl Builder {
    fn new(like: &Csr) -> Self {
        let mut indptr = Vec::with_capacity(like.nrows + 1);
        indptr.push(0);
        Self {
            csr: Csr {
                indptr,
                indices: Vec::new(),
                values: Vec::new(),
                nrows: like.nrows,
                ncols: like.ncols,
            },
        }
    }
    fn push(&mut self, j: u32, v: f32) {
        self.csr.indices.push(j);
        self.csr.values.push(v);
    }
    fn end_row(&mut self) {
        self.csr.indptr.push(self.csr.indices.len() as u64);
    }
    fn finish(mut self) -> Csr {
        self.csr.indices.shrink_to_fit();
        self.csr.values.shrink_to_fit();
        self.csr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::IdMap;

    /// 30 users; user u has u % 9 interactions with distinct items and
    /// timestamps (1000 * u + item).
    fn data() -> Dataset {
        let mut recs = Vec::new();
        for u in 0..30u32 {
            for t in 0..(u % 9) {
                let item = (u * 7 + t * 5) % 40;
                recs.push((u, item, 1.0 + t as f32, i64::from(1000 * u + item)));
            }
        }
        Dataset::from_timed_records(recs, IdMap::sequential(30), IdMap::sequential(40)).unwrap()
    }

    /// Train and test partition the input: same shape, disjoint cells, union = input.
    fn assert_partition(d: &Csr, train: &Csr, test: &Csr) {
        assert_eq!(
            (train.nrows, train.ncols, test.nrows, test.ncols),
            (d.nrows, d.ncols, d.nrows, d.ncols)
        );
        for u in 0..d.nrows {
            let mut cells: Vec<(u32, f32)> = Vec::new();
            for part in [train, test] {
                let (i, v) = part.row(u);
                assert!(i.windows(2).all(|w| w[0] < w[1]));
                cells.extend(i.iter().copied().zip(v.iter().copied()));
            }
            cells.sort_by_key(|c| c.0);
            let (i, v) = d.row(u);
            let want: Vec<(u32, f32)> = i.iter().copied().zip(v.iter().copied()).collect();
            assert_eq!(cells, want, "user {u}");
        }
    }

    #[test]
    fn holdout_is_deterministic_disjoint_and_sized() {
        let d = data();
        let (train, test) = split(&d, Split::Holdout { fraction: 0.3 }, 7).unwrap();
        assert_partition(&d.users, &train, &test);
        assert_eq!(
            split(&d, Split::Holdout { fraction: 0.3 }, 7).unwrap(),
            (train.clone(), test.clone())
        );
        assert_ne!(
            split(&d, Split::Holdout { fraction: 0.3 }, 8).unwrap().1,
            test
        );
        for u in 0..30 {
            let n = d.users.row_len(u);
            let want = if n < 2 {
                0
            } else {
                ((0.3 * n as f64).round() as usize).clamp(1, n - 1)
            };
            assert_eq!(test.row_len(u), want, "user {u} with {n}");
        }
    }

    #[test]
    fn leave_one_out_random_and_latest() {
        let d = data();
        for latest in [false, true] {
            let (train, test) = split(&d, Split::LeaveOneOut { latest }, 3).unwrap();
            assert_partition(&d.users, &train, &test);
            for u in 0..30 {
                let n = d.users.row_len(u);
                assert_eq!(test.row_len(u), usize::from(n >= 2));
                if latest && n >= 2 {
                    // timestamps are 1000 u + item: the latest is the largest item
                    assert_eq!(test.row(u).0, &[*d.users.row(u).0.last().unwrap()]);
                }
            }
        }
    }

    #[test]
    fn time_splits() {
        let d = data();
        let (train, test) = split(&d, Split::TimePerUser { fraction: 0.5 }, 0).unwrap();
        assert_partition(&d.users, &train, &test);
        for u in 0..30 {
            if let (Some(&tr), Some(&te)) = (train.row(u).0.last(), test.row(u).0.first()) {
                assert!(tr < te, "user {u}: train item {tr} after test item {te}");
            }
        }
        let (train, test) = split(&d, Split::TimeCutoff { fraction: 0.25 }, 0).unwrap();
        assert_partition(&d.users, &train, &test);
        // Timestamps grow with the user: test holds the last users' cells.
        let first_test_user = (0..30).find(|&u| test.row_len(u) > 0).unwrap();
        assert!((first_test_user + 1..30).all(|u| train.row_len(u) == 0 || u == first_test_user));
        let frac = test.nnz() as f64 / d.nnz() as f64;
        assert!((0.2..0.3).contains(&frac), "{frac}");
    }

    #[test]
    fn bad_arguments_are_rejected() {
        let mut d = data();
        assert!(split(&d, Split::Holdout { fraction: 1.0 }, 0).is_err());
        assert!(split(&d, Split::Holdout { fraction: f64::NAN }, 0).is_err());
        d.timestamps = None;
        let e = split(&d, Split::LeaveOneOut { latest: true }, 0).unwrap_err();
        assert!(e.to_string().contains("needs timestamps"), "{e}");
        assert!(split(&d, Split::TimeCutoff { fraction: 0.2 }, 0).is_err());
    }
}
