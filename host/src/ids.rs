//! External ids (strings or integers) mapped to dense indices and back.
//!
//! # Memory
//! An [`IdMap`] keeps each id's text once: all ids concatenated in one
//! string, one `usize` end offset per id, and a hash table of `u32` indices
//! (hashed by the text they point at; 4 bytes plus 1 control byte per slot,
//! 8/7 to 16/7 slots per id). That is the id's length plus about 16-20 bytes
//! per id: 3.8 MiB for ML-20M's 165,000 ids, where a `String` in a `Vec` plus
//! another as a `HashMap` key took 23.3 MiB (measured, see BENCHMARKS.md).
//! Ids written as small decimal integers are also kept in a direct table,
//! 4 bytes per value up to the largest one seen (at most 8 MiB), which a
//! lookup reads instead of hashing the text: 0.5 MiB for each of ML-20M's
//! two maps.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// The ids' hash: foldhash, seeded per process (some resistance to crafted
/// collisions, and cheaper than the standard library's SipHash on short ids:
/// BENCHMARKS.md, batch 16 item 3).
type RandomState = foldhash::fast::RandomState;

/// Ids written as small decimal integers (most datasets' ids: MovieLens,
/// Netflix, generated files) below this bound are also found through a
/// direct table, `u32` per possible value up to the largest seen (8 MiB at
/// most), instead of hashing their text.
const DENSE_IDS: u32 = 1 << 21;

/// `id`'s value when it is a decimal integer below [`DENSE_IDS`] written
/// the canonical way (digits only, no sign, no leading zero), so that the
/// text and the value determine each other: `"7"`, not `"07"` or `"+7"`,
/// which stay distinct ids.
fn dense_value(id: &str) -> Option<u32> {
    let b = id.as_bytes();
    if b.is_empty() || b.len() > 7 || (b[0] == b'0' && b.len() > 1) {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u32::from(d);
    }
    (v < DENSE_IDS).then_some(v)
}

/// The most ids an [`IdMap`] holds (its default limit): indices are `u32`, so
/// `u32::MAX` ids, `0..=u32::MAX - 1`. Each id costs its length plus about 20
/// bytes, so this limit needs over 80 GB; a reader can be given a lower one
/// ([`IdMap::with_limit`], `wmf --max-ids`) to fail cleanly before memory
/// runs out.
pub const MAX_IDS: usize = u32::MAX as usize;

/// A bijection between external ids (kept as their text) and dense indices
/// `0..len()` in first-seen order, holding at most [`IdMap::limit`] ids.
#[derive(Debug, Clone)]
pub struct IdMap {
    /// Every id's text, concatenated in index order.
    text: String,
    /// Id `i` is `text[ends[i - 1]..ends[i]]` (from 0 for `i = 0`).
    ends: Vec<usize>,
    /// The indices `0..len()`, hashed by their id's text.
    index: HashTable<u32>,
    hasher: RandomState,
    limit: usize,
    /// `dense[v]` is the index of the id written `v` (see [`dense_value`]),
    /// `u32::MAX` when there is none; a cache of `index`, which holds every id.
    dense: Vec<u32>,
}

impl Default for IdMap {
    fn default() -> Self {
        Self::with_limit(MAX_IDS)
    }
}

/// Maps are equal when they hold the same ids in the same order (the limit
/// is not compared).
impl PartialEq for IdMap {
    fn eq(&self, other: &Self) -> bool {
        self.ends == other.ends && self.text == other.text
    }
}

impl Eq for IdMap {}

/// Id `i`'s text (`None` when out of range).
fn span<'a>(text: &'a str, ends: &[usize], i: usize) -> Option<&'a str> {
    let end = *ends.get(i)?;
    let start = match i.checked_sub(1) {
        Some(p) => *ends.get(p)?,
        None => 0,
    };
    text.get(start..end)
}

impl IdMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map that refuses more than `limit` ids (capped at [`MAX_IDS`]).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            text: String::new(),
            ends: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::default(),
            limit: limit.min(MAX_IDS),
            dense: Vec::new(),
        }
    }

    /// The most ids this map accepts.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no id was added.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The dense index of `id`, if known.
    pub fn get(&self, id: &str) -> Option<u32> {
        if let Some(v) = dense_value(id)
            && let Some(&i) = self.dense.get(v as usize)
            && i != u32::MAX
        {
            return Some(i);
        }
        let hash = self.hasher.hash_one(id);
        self.index
            .find(hash, |&i| {
                span(&self.text, &self.ends, i as usize) == Some(id)
            })
            .copied()
    }

    /// The external id of index `i`.
    pub fn name(&self, i: usize) -> Option<&str> {
        span(&self.text, &self.ends, i)
    }

    /// All external ids in index order.
    ///
    /// ```
    /// use wmf_host::ids::IdMap;
    /// let mut m = IdMap::new();
    /// for id in ["b", "a", "b"] {
    ///     m.get_or_insert(id);
    /// }
    /// assert_eq!(m.names().collect::<Vec<_>>(), ["b", "a"]);
    /// ```
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + Clone {
        (0..self.len()).map(|i| self.name(i).unwrap_or_default())
    }

    /// The index of `id`, adding it when new. `None` when the map already holds
    /// [`IdMap::limit`] ids (at most [`MAX_IDS`]: indices are `u32`).
    pub fn get_or_insert(&mut self, id: &str) -> Option<u32> {
        let value = dense_value(id);
        if let Some(v) = value
            && let Some(&i) = self.dense.get(v as usize)
            && i != u32::MAX
        {
            return Some(i);
        }
        let hash = self.hasher.hash_one(id);
        let Self {
            text,
            ends,
            index,
            hasher,
            limit,
            dense,
        } = self;
        let i = match index.find(hash, |&i| span(text, ends, i as usize) == Some(id)) {
            Some(&i) => i,
            None => {
                if ends.len() >= *limit {
                    return None;
                }
                let i = u32::try_from(ends.len()).ok()?;
                text.push_str(id);
                ends.push(text.len());
                index.insert_unique(hash, i, |&j| {
                    hasher.hash_one(span(text, ends, j as usize).unwrap_or_default())
                });
                i
            }
        };
        if let Some(v) = value {
            let v = v as usize;
            if dense.len() <= v {
                dense.resize(v + 1, u32::MAX);
            }
            dense[v] = i;
        }
        Some(i)
    }

    /// Frees the spare capacity left by growing (once all ids are in).
    pub fn shrink_to_fit(&mut self) {
        let Self {
            text,
            ends,
            index,
            hasher,
            dense,
            ..
        } = self;
        text.shrink_to_fit();
        ends.shrink_to_fit();
        dense.shrink_to_fit();
        index.shrink_to_fit(|&j| hasher.hash_one(span(text, ends, j as usize).unwrap_or_default()));
    }

    /// A map of the ids `"0".."n-1"` (for generated data).
    pub fn sequential(n: usize) -> Self {
        let mut m = Self::new();
        for i in 0..n {
            let _ = m.get_or_insert(&i.to_string());
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_in_first_seen_order() {
        let mut m = IdMap::new();
        let words = ["b", "", "a", "é", "b", "", "ab"];
        let idx: Vec<u32> = words.iter().map(|w| m.get_or_insert(w).unwrap()).collect();
        assert_eq!(idx, [0, 1, 2, 3, 0, 1, 4]);
        assert_eq!(m.len(), 5);
        assert_eq!(m.names().collect::<Vec<_>>(), ["b", "", "a", "é", "ab"]);
        assert_eq!(m.names().next_back(), Some("ab"));
        assert_eq!(
            (m.get("a"), m.get("ab"), m.get("x")),
            (Some(2), Some(4), None)
        );
        assert_eq!((m.name(3), m.name(5)), (Some("é"), None));
    }

    /// Canonical small integers go through the direct table, every other
    /// spelling through the hash table, and the two never mix ids up.
    #[test]
    fn integer_ids_and_their_other_spellings_stay_distinct() {
        assert_eq!(dense_value("0"), Some(0));
        assert_eq!(dense_value("2097151"), Some(DENSE_IDS - 1));
        for not in [
            "", "07", "+7", "-7", " 7", "7 ", "2097152", "99999999", "1e3", "٣",
        ] {
            assert_eq!(dense_value(not), None, "{not:?}");
        }
        let mut m = IdMap::new();
        let words = [
            "7", "07", "x", "7", "0", "2097152", "00", "3000000", "0", "07",
        ];
        let idx: Vec<u32> = words.iter().map(|w| m.get_or_insert(w).unwrap()).collect();
        assert_eq!(idx, [0, 1, 2, 0, 3, 4, 5, 6, 3, 1]);
        assert_eq!(m.len(), 7);
        for (w, i) in words.iter().zip(&idx) {
            assert_eq!(m.get(w), Some(*i), "{w}");
            assert_eq!(m.name(*i as usize), Some(*w));
        }
        assert_eq!((m.get("8"), m.get("008")), (None, None));
        // The table only grows to the largest value seen.
        assert_eq!(m.dense.len(), 8);
        // A full map refuses a new integer id too, and still finds the old ones.
        let mut full = IdMap::with_limit(2);
        assert_eq!(full.get_or_insert("5"), Some(0));
        assert_eq!(full.get_or_insert("a"), Some(1));
        assert_eq!(full.get_or_insert("6"), None);
        assert_eq!((full.get_or_insert("5"), full.get("6")), (Some(0), None));
    }

    #[test]
    fn many_ids_survive_growth_and_shrinking() {
        let mut m = IdMap::sequential(5000);
        m.shrink_to_fit();
        for i in 0..5000 {
            assert_eq!(m.get(&i.to_string()), Some(i as u32));
            assert_eq!(m.name(i as usize), Some(i.to_string().as_str()));
        }
        assert_eq!(m.get_or_insert("new"), Some(5000));
        assert_eq!(m.get("5000"), None);
    }

    #[test]
    fn limit_and_equality() {
        let mut m = IdMap::with_limit(2);
        assert_eq!(m.get_or_insert("x"), Some(0));
        assert_eq!(m.get_or_insert("y"), Some(1));
        assert_eq!(m.get_or_insert("z"), None);
        assert_eq!(m.get_or_insert("x"), Some(0));
        let mut other = IdMap::new();
        other.get_or_insert("x");
        assert_ne!(m, other);
        other.get_or_insert("y");
        assert_eq!(m, other);
        let mut split = IdMap::new();
        split.get_or_insert("xy");
        assert_ne!(split, other);
    }
}
