//! External ids (strings or integers) mapped to dense indices and back.

use std::collections::HashMap;

/// A bijection between external ids (kept as their text) and dense indices
/// `0..len()` in first-seen order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdMap {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl IdMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
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
    /// `u32::MAX` ids (the documented limit: indices are `u32`).
    pub fn get_or_insert(&mut self, id: &str) -> Option<u32> {
        if let Some(&i) = self.index.get(id) {
            return Some(i);
        }
        let i = u32::try_from(self.names.len())
            .ok()
            .filter(|&i| i < u32::MAX)?;
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
