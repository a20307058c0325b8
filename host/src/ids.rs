//! External ids (strings or integers) mapped to dense indices and back.

use std::collections::HashMap;

/// The most ids an [`IdMap`] holds (its default limit): indices are `u32`, so
/// `u32::MAX` ids, `0..=u32::MAX - 1`. Each id costs about 80 bytes plus twice
/// its length, so this limit needs hundreds of GB; a reader can be given a
/// lower one ([`IdMap::with_limit`], `wmf --max-ids`) to fail cleanly before
/// memory runs out.
pub const MAX_IDS: usize = u32::MAX as usize;

/// A bijection between external ids (kept as their text) and dense indices
/// `0..len()` in first-seen order, holding at most [`IdMap::limit`] ids.
#[derive(Debug, Clone)]
pub struct IdMap {
    names: Vec<String>,
    index: HashMap<String, u32>,
    limit: usize,
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
        self.names == other.names
    }
}

impl Eq for IdMap {}

impl IdMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map that refuses more than `limit` ids (capped at [`MAX_IDS`]).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            names: Vec::new(),
            index: HashMap::new(),
            limit: limit.min(MAX_IDS),
        }
    }

    /// The most ids this map accepts.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no id was added.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The dense index of `id`, if known.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The external id of index `i`.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.names.get(i).map(String::as_str)
    }

    /// All external ids in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of `id`, adding it when new. `None` when the map already holds
    /// [`IdMap::limit`] ids (at most [`MAX_IDS`]: indices are `u32`).
    pub fn get_or_insert(&mut self, id: &str) -> Option<u32> {
        if let Some(&i) = self.index.get(id) {
            return Some(i);
        }
        if self.names.len() >= self.limit {
            return None;
        }
        let i = u32::try_from(self.names.len()).ok()?;
        self.names.push(id.to_owned());
        self.index.insert(id.to_owned(), i);
        Some(i)
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
