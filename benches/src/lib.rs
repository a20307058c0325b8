//! Benchmarks only: see `benches/kernel.rs` and BENCHMARKS.md.
