//! Weighted Gramians on BLAS.
