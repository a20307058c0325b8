//! The dense weighted gradient on BLAS gemm, in row blocks.
