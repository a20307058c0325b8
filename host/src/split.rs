//! Deterministic train/test splits.
