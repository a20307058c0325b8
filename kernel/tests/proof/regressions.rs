//! Regression tests for kernel bugs found while writing this proof, each named
//! after the bug.
