//! Deterministic synthetic implicit-feedback datasets with planted low-rank taste.
