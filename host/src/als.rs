//! ALS training with the kernel's row solvers, parallel over rows.
