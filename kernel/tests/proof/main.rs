//! Proof of the kernel (issue 2): every formula against a plain f64
//! reference, every gradient against finite differences, the three row
//! solvers against each other and the normal equations, f32 against f64, and
//! hostile inputs against the documented errors.
//!
//! One test binary with a module per theme (quicker to build, and to run
//! under Miri, than one binary per file). Run with `cargo test -p wmf-kernel`
//! and `cargo +nightly miri test -p wmf-kernel` (Miri shrinks every size,
//! and of the tests that come as an `f32` and an `f64` twin over the same
//! generic code runs the `f32` one: Miri looks for undefined behaviour and
//! panics, which the two instantiations share).

mod common;

mod cg_lockstep;

mod dense;
mod empty_rows;
mod fused;
mod gradients;
mod hostile;
mod implicit;
mod low_rank;
mod low_rank_group;
mod prechecked;
mod precision;
mod regressions;
mod solvers;
mod topn;
