//! # wmf-host
//!
//! Weighted matrix factorisation of implicit feedback at full scale: the same
//! math as [`wmf_kernel`] (whose row functions it calls for every per-row
//! step), with BLAS for the large products (the Gramian `Hᵀ diag(c0) H`,
//! batched scoring, the dense gradient).
#![deny(missing_docs)]

// Link OpenBLAS (system library, cblas interface) for ndarray's `blas` feature.
extern crate openblas_src as _;

pub mod alloc;
pub mod als;
pub mod blas;
pub mod checkpoint;
pub mod confidence;
pub mod data;
pub mod dense;
#[cfg(feature = "mpi")]
pub mod distributed;
pub mod error;
pub mod export;
pub mod fold;
pub mod foldin;
pub mod gramian;
pub mod ids;
pub mod io;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod model_io;
pub mod recommend;
pub mod sparse;
pub mod split;
pub mod synth;
pub mod tiles;

pub use error::{Error, Result};
pub use model::{
    Arith, BaselineWeight, CgRows, Confidence, Model, RegScaling, Solver, TrainConfig,
};
pub use sparse::Csr;
