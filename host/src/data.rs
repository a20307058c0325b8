//! A loaded interaction dataset: user CSR, id maps, optional timestamps.
//!
//! # Memory
//! A [`Dataset`] holds one CSR (`u32` item index + `f32` value = 8 bytes per
//! interaction, plus one `u64` offset per user), the two id maps and, when the
//! input had them, one `i64` timestamp per interaction. The item-side CSR that
//! ALS also needs is built on demand by [`Dataset::items`] (another 8 bytes per
//! interaction), so the two orientations together cost 2 x 8 bytes per
//! interaction.
//!
//! Building from records ([`Dataset::from_records`]) sorts the record vector in
//! place, merges duplicates in place, and then moves the columns out (the last
//! column reuses the record allocation), so the peak while compressing is the
//! record vector (12 bytes per interaction, 24 with a timestamp) plus the `u32`
//! columns extracted before the last: 16 bytes per interaction (32 with
//! timestamps).

use crate::error::{Error, Result};
use crate::ids::IdMap;
use crate::sparse::{Csr, duplicate_overflow, sum_duplicate};

/// Interactions of `m` users with `n` items.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    /// `m x n` user-item matrix; duplicates of a `(user, item)` pair are summed.
    pub users: Csr,
    /// External user ids (row `i` of `users` is `user_ids.name(i)`).
    pub user_ids: IdMap,
    /// External item ids (column `j` of `users` is `item_ids.name(j)`).
    pub item_ids: IdMap,
    /// One timestamp per stored cell, aligned with `users.indices` (the latest
    /// one when a pair occurred several times); `None` when the input had none.
    pub timestamps: Option<Vec<i64>>,
}

/// Summary numbers of a [`Dataset`] (see [`Dataset::stats`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DatasetStats {
    /// Number of users `m`.
    pub users: usize,
    /// Number of items `n`.
    pub items: usize,
    /// Stored (distinct) user-item pairs.
    pub nnz: usize,
    /// `nnz / (m n)`.
    pub density: f64,
    /// Users without any interaction.
    pub empty_users: usize,
    /// Items without any interaction.
    pub empty_items: usize,
    /// Largest number of interactions of one user.
    pub max_user_len: usize,
    /// Largest number of interactions of one item.
    pub max_item_len: usize,
    /// Smallest stored value (0 when empty).
    pub min_value: f32,
    /// Largest stored value (0 when empty).
    pub max_value: f32,
    /// Sum of the stored values.
    pub value_sum: f64,
    /// Earliest and latest timestamp, when present.
    pub time_range: Option<(i64, i64)>,
}

/// A record with a `(row, column)` key that can be merged with a duplicate.
trait Record: Copy {
    fn key(&self) -> (u32, u32);
    /// Merges a later duplicate into `self`; `false` (and `self` unchanged)
    /// when the values sum past `f32::MAX`.
    fn merge(&mut self, other: &Self) -> bool;
}

impl Record for (u32, u32, f32) {
    fn key(&self) -> (u32, u32) {
        (self.0, self.1)
    }
    fn merge(&mut self, other: &Self) -> bool {
        sum_duplicate(self.2, other.2).map(|s| self.2 = s).is_some()
    }
}

impl Record for (u32, u32, f32, i64) {
    fn key(&self) -> (u32, u32) {
        (self.0, self.1)
    }
    fn merge(&mut self, other: &Self) -> bool {
        self.3 = self.3.max(other.3);
        sum_duplicate(self.2, other.2).map(|s| self.2 = s).is_some()
    }
}

/// The error for user `u`, item `i` (indices into the id maps), whose
/// duplicates' values sum past `f32::MAX`, naming both by their ids.
pub(crate) fn duplicate_overflow_error(users: &IdMap, items: &IdMap, u: u32, i: u32) -> Error {
    let name = |ids: &IdMap, j: u32| ids.name(j as usize).unwrap_or("?").to_string();
    Error::invalid(
        "values",
        duplicate_overflow(
            format_args!("user '{}'", name(users, u)),
            format_args!("item '{}'", name(items, i)),
        ),
    )
}

/// One `u64` per key (user in the high half): the same order as the
/// `(user, item)` pair, compared in one instruction.
#[inline(always)]
fn sort_key<R: Record>(r: &R) -> u64 {
    (u64::from(r.key().0) << 32) | u64::from(r.key().1)
}

/// Records from which [`sort_merge`] sorts the rows of records grouped by
/// user on more than one thread: 1M (about 16 ms of sorting and merging on
/// one core, from the 0.25 s measured for the 15.8M records of the
/// ML-20M-shaped file).
const THREADED_SORT_MIN: usize = 1 << 20;

/// Sorts each row of records grouped by user (`recs` non-decreasing in user)
/// by item, the rows split into up to `threads` contiguous runs of about
/// equal length, each sorted on a thread of its own: rows are sorted
/// independently, so the result is the one-thread result.
fn sort_rows<R: Record + Send>(recs: &mut [R], threads: usize) {
    let sort = |run: &mut [R]| {
        for row in run.chunk_by_mut(|a, b| a.key().0 == b.key().0) {
            row.sort_unstable_by_key(sort_key);
        }
    };
    if threads <= 1 || recs.len() < THREADED_SORT_MIN {
        return sort(recs);
    }
    // A thread that cannot be started leaves its run unsorted: then all rows
    // are sorted again here (sorting a sorted row changes nothing).
    let mut unsorted = false;
    std::thread::scope(|s| {
        let mut rest = &mut *recs;
        for t in (1..=threads).rev() {
            // The first row start at or after an equal share of what is left.
            let share = rest.len() / t;
            let cut = match (t, share.checked_sub(1).and_then(|i| rest.get(i))) {
                (1, _) | (_, None) => rest.len(),
                (_, Some(last)) => {
                    let user = last.key().0;
                    share + rest[share..].partition_point(|r| r.key().0 == user)
                }
            };
            let (run, tail) = std::mem::take(&mut rest).split_at_mut(cut);
            rest = tail;
            unsorted |= std::thread::Builder::new()
                .spawn_scoped(s, move || sort(run))
                .is_err();
        }
    });
    if unsorted {
        sort(recs);
    }
}

/// Sorts by key and merges duplicates in place (the rows of records grouped
/// by user on up to `threads` threads); returns the row offsets of the
/// `users.len() x items.len()` matrix.
fn sort_merge<R: Record + Send>(
    recs: &mut Vec<R>,
    users: &IdMap,
    items: &IdMap,
    threads: usize,
) -> Result<Vec<u64>> {
    let (nrows, ncols) = (users.len(), items.len());
    if let Some(bad) = recs
        .iter()
        .find(|r| r.key().0 as usize >= nrows || r.key().1 as usize >= ncols)
    {
        let (r, c) = bad.key();
        return Err(Error::invalid(
            "record",
            format!("({r}, {c}) outside a {nrows} x {ncols} matrix"),
        ));
    }
    if recs.is_sorted_by_key(|r| r.key().0) {
        // Grouped by user, as files usually are (user indices are given in
        // order of first appearance, so a file grouped by user yields
        // non-decreasing ones): only each user's row needs sorting, n_u log
        // n_u per row instead of nnz log nnz overall.
        sort_rows(recs, threads);
    } else {
        recs.sort_unstable_by_key(sort_key);
    }
    // In-place merge of equal keys (`dedup_by` keeps the first of a run and
    // hands us (later, kept)).
    let mut overflow = None;
    recs.dedup_by(|later, kept| {
        if later.key() == kept.key() {
            if !kept.merge(later) {
                overflow = overflow.or(Some(kept.key()));
            }
            true
        } else {
            false
        }
    });
    if let Some((r, c)) = overflow {
        return Err(duplicate_overflow_error(users, items, r, c));
    }
    let mut indptr = vec![0u64; nrows + 1];
    for r in recs.iter() {
        indptr[r.key().0 as usize + 1] += 1;
    }
    for i in 0..nrows {
        indptr[i + 1] += indptr[i];
    }
    Ok(indptr)
}

impl Dataset {
    /// Builds a dataset from `(user, item, value)` records (any order; duplicates
    /// are summed). The matrix is `user_ids.len() x item_ids.len()`.
    ///
    /// The record vector is consumed: it is sorted and merged in place, then its
    /// allocation is reused for the values, so the peak is about 16 bytes per
    /// record.
    ///
    /// # Errors
    /// [`Error::Invalid`] when a record's index is outside the id maps, or
    /// when the values of a duplicated pair sum past `f32::MAX` (naming the
    /// user and item ids).
    pub fn from_records(
        recs: Vec<(u32, u32, f32)>,
        user_ids: IdMap,
        item_ids: IdMap,
    ) -> Result<Self> {
        Self::from_records_on(recs, user_ids, item_ids, 1)
    }

    /// [`Dataset::from_records`] sorting records grouped by user on up to
    /// `threads` threads (the same dataset).
    pub(crate) fn from_records_on(
        mut recs: Vec<(u32, u32, f32)>,
        user_ids: IdMap,
        item_ids: IdMap,
        threads: usize,
    ) -> Result<Self> {
        let (m, n) = (user_ids.len(), item_ids.len());
        let indptr = sort_merge(&mut recs, &user_ids, &item_ids, threads)?;
        let indices: Vec<u32> = recs.iter().map(|r| r.1).collect();
        // In-place collect: reuses the record allocation for the values.
        let mut values: Vec<f32> = recs.into_iter().map(|r| r.2).collect();
        values.shrink_to_fit();
        Ok(Self {
            users: Csr {
                indptr,
                indices,
                values,
                nrows: m,
                ncols: n,
            },
            user_ids,
            item_ids,
            timestamps: None,
        })
    }

    /// As [`Dataset::from_records`] with a timestamp per record; a duplicated
    /// pair keeps its latest timestamp.
    ///
    /// # Errors
    /// [`Error::Invalid`] when a record's index is outside the id maps, or
    /// when the values of a duplicated pair sum past `f32::MAX` (naming the
    /// user and item ids).
    pub fn from_timed_records(
        recs: Vec<(u32, u32, f32, i64)>,
        user_ids: IdMap,
        item_ids: IdMap,
    ) -> Result<Self> {
        Self::from_timed_records_on(recs, user_ids, item_ids, 1)
    }

    /// [`Dataset::from_timed_records`] sorting records grouped by user on
    /// up to `threads` threads (the same dataset).
    pub(crate) fn from_timed_records_on(
        mut recs: Vec<(u32, u32, f32, i64)>,
        user_ids: IdMap,
        item_ids: IdMap,
        threads: usize,
    ) -> Result<Self> {
        let (m, n) = (user_ids.len(), item_ids.len());
        let indptr = sort_merge(&mut recs, &user_ids, &item_ids, threads)?;
        let indices: Vec<u32> = recs.iter().map(|r| r.1).collect();
        let values: Vec<f32> = recs.iter().map(|r| r.2).collect();
        let mut ts: Vec<i64> = recs.into_iter().map(|r| r.3).collect();
        ts.shrink_to_fit();
        Ok(Self {
            users: Csr {
                indptr,
                indices,
                values,
                nrows: m,
                ncols: n,
            },
            user_ids,
            item_ids,
            timestamps: Some(ts),
        })
    }

    /// Number of users `m`.
    pub fn n_users(&self) -> usize {
        self.users.nrows
    }

    /// Number of items `n`.
    pub fn n_items(&self) -> usize {
        self.users.ncols
    }

    /// Number of stored (distinct) user-item pairs.
    pub fn nnz(&self) -> usize {
        self.users.nnz()
    }

    /// The `n x m` item-user matrix (transpose of [`Dataset::users`]), built in
    /// O(nnz + m + n).
    pub fn items(&self) -> Csr {
        self.users.transpose()
    }

    /// The timestamps of user `i`'s interactions (aligned with `users.row(i)`).
    pub fn row_timestamps(&self, i: usize) -> Option<&[i64]> {
        let ts = self.timestamps.as_deref()?;
        if i >= self.users.nrows {
            return Some(&[]);
        }
        let (a, b) = (
            self.users.indptr[i] as usize,
            self.users.indptr[i + 1] as usize,
        );
        ts.get(a..b)
    }

    /// Summary numbers (sizes, density, empty rows/columns, value and time range).
    pub fn stats(&self) -> DatasetStats {
        let (m, n, nnz) = (self.n_users(), self.n_items(), self.nnz());
        let mut item_len = vec![0usize; n];
        for &j in &self.users.indices {
            if let Some(c) = item_len.get_mut(j as usize) {
                *c += 1;
            }
        }
        let user_lens = (0..m).map(|i| self.users.row_len(i));
        let (mut min_value, mut max_value) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in &self.users.values {
            min_value = min_value.min(v);
            max_value = max_value.max(v);
        }
        if nnz == 0 {
            (min_value, max_value) = (0.0, 0.0);
        }
        let time_range = self
            .timestamps
            .as_ref()
            .and_then(|ts| Some((*ts.iter().min()?, *ts.iter().max()?)));
        DatasetStats {
            users: m,
            items: n,
            nnz,
            density: if m == 0 || n == 0 {
                0.0
            } else {
                nnz as f64 / (m as f64 * n as f64)
            },
            empty_users: user_lens.clone().filter(|&l| l == 0).count(),
            empty_items: item_len.iter().filter(|&&l| l == 0).count(),
            max_user_len: user_lens.max().unwrap_or(0),
            max_item_len: item_len.iter().copied().max().unwrap_or(0),
            min_value,
            max_value,
            value_sum: self.users.values.iter().map(|&v| f64::from(v)).sum(),
            time_range,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> IdMap {
        let mut m = IdMap::new();
        for n in names {
            m.get_or_insert(n).unwrap();
        }
        m
    }

    #[test]
    fn records_are_sorted_and_duplicates_summed() {
        let d = Dataset::from_records(
            vec![(1, 2, 1.0), (0, 1, 2.0), (1, 0, 1.0), (1, 2, 3.0)],
            ids(&["a", "b"]),
            ids(&["x", "y", "z"]),
        )
        .unwrap();
        assert_eq!(d.nnz(), 3);
        assert_eq!(d.users.row(1), (&[0u32, 2][..], &[1.0f32, 4.0][..]));
        assert_eq!(d.items().row(2), (&[1u32][..], &[4.0f32][..]));
        let s = d.stats();
        assert_eq!(
            (s.users, s.items, s.nnz, s.empty_users, s.empty_items),
            (2, 3, 3, 0, 0)
        );
        assert_eq!((s.min_value, s.max_value, s.value_sum), (1.0, 4.0, 7.0));
        assert_eq!(s.time_range, None);
    }

    /// Rows of grouped records sorted on several threads: the same records,
    /// in the same order, as on one (rows of 1 to 300 records, duplicates
    /// with different values, so a different order of equal keys would show
    /// in the sums).
    #[test]
    fn rows_sorted_on_threads_equal_one_thread() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(17);
        let mut next = move |n: u64| rng.gen_range(0..n);
        let mut recs = Vec::new();
        let mut user = 0u32;
        while recs.len() < THREADED_SORT_MIN + 5000 {
            for _ in 0..1 + next(300) {
                recs.push((user, next(2000) as u32, 1.0 + next(7) as f32 / 4.0));
            }
            user += 1;
        }
        let numbered = |n: u32| {
            let mut m = IdMap::new();
            for i in 0..n {
                m.get_or_insert(&i.to_string()).unwrap();
            }
            m
        };
        let (users, items) = (numbered(user), numbered(2000));
        let one = {
            let mut r = recs.clone();
            let indptr = sort_merge(&mut r, &users, &items, 1).unwrap();
            (r, indptr)
        };
        for threads in [2, 3, 8] {
            let mut r = recs.clone();
            let indptr = sort_merge(&mut r, &users, &items, threads).unwrap();
            assert!(r == one.0 && indptr == one.1, "{threads} threads");
        }
    }

    /// Records grouped by user (each row sorted on its own) and the same
    /// records in any order (one sort overall) build the same dataset.
    #[test]
    fn grouped_and_scattered_records_build_the_same_dataset() {
        let grouped = vec![
            (0, 3, 1.0),
            (0, 1, 2.0),
            (0, 3, 0.5),
            (1, 2, 1.0),
            (2, 0, 4.0),
            (2, 4, 1.0),
            (2, 0, 2.0),
            (2, 2, 8.0),
        ];
        let users = || ids(&["a", "b", "c"]);
        let items = || ids(&["v", "w", "x", "y", "z"]);
        let d = Dataset::from_records(grouped.clone(), users(), items()).unwrap();
        assert_eq!(d.users.row(0), (&[1u32, 3][..], &[2.0f32, 1.5][..]));
        assert_eq!(d.users.row(2), (&[0u32, 2, 4][..], &[6.0f32, 8.0, 1.0][..]));
        for rot in 1..grouped.len() {
            let mut scattered = grouped.clone();
            scattered.rotate_left(rot);
            scattered.swap(0, rot / 2);
            let e = Dataset::from_records(scattered, users(), items()).unwrap();
            assert_eq!(e, d, "rotation {rot}");
        }
        // Timed records take the same two paths.
        let timed: Vec<_> = grouped
            .iter()
            .map(|&(u, i, v)| (u, i, v, i64::from(i)))
            .collect();
        let mut rev = timed.clone();
        rev.reverse();
        let (a, b) = (
            Dataset::from_timed_records(timed, users(), items()).unwrap(),
            Dataset::from_timed_records(rev, users(), items()).unwrap(),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn timed_records_keep_latest_timestamp() {
        let d = Dataset::from_timed_records(
            vec![(0, 1, 1.0, 10), (0, 0, 1.0, 5), (0, 1, 2.0, 7)],
            ids(&["a"]),
            ids(&["x", "y"]),
        )
        .unwrap();
        assert_eq!(d.users.row(0), (&[0u32, 1][..], &[1.0f32, 3.0][..]));
        assert_eq!(d.row_timestamps(0), Some(&[5i64, 10][..]));
        assert_eq!(d.stats().time_range, Some((5, 10)));
    }

    #[test]
    fn duplicates_summing_past_f32_max_name_the_pair() {
        let big = 2.0e38f32;
        let e = Dataset::from_records(
            vec![(1, 0, big), (0, 0, 1.0), (1, 0, big)],
            ids(&["a", "b"]),
            ids(&["x"]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("user 'b', item 'x': the values of its duplicates sum past"),
            "{e}"
        );
        let e = Dataset::from_timed_records(
            vec![(0, 0, big, 1), (0, 0, big, 2)],
            ids(&["a"]),
            ids(&["x"]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("user 'a', item 'x'"), "{e}");
    }

    #[test]
    fn out_of_range_record_is_rejected() {
        let e = Dataset::from_records(vec![(0, 3, 1.0)], ids(&["a"]), ids(&["x"])).unwrap_err();
        assert!(e.to_string().contains("outside a 1 x 1"), "{e}");
    }
}
