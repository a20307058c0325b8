//! # wmf-kernel
//!
//! The one copy of the weighted matrix factorisation math, `#![no_std]` and
//! allocation-free, shared by the C library (`wmf-ffi`) and the host trainer
//! (`wmf-host`), and small enough for a microcontroller.
//!
//! Model (Hu, Koren & Volinsky 2008; Pan et al. 2008): interactions `X`
//! (`m x n`), confidences `C >= 0`, user factors `W` (`m x k`), item factors
//! `H` (`n x k`), regularisation `λ >= 0`:
//!
//! ```text
//! f(W,H) = Σ_ij C_ij (X_ij − W_i·H_j)² + λ (|W|² + |H|²)
//! M = X − W Hᵀ,  R = C ∘ M,  ∂f/∂W = −2 R H + 2λW,  ∂f/∂H = −2 Rᵀ W + 2λH
//! ```
//!
//! - [`Dense`] (and [`dense::fixed`]): the formulas above for a dense block.
//! - [`row`]: the implicit-feedback form, where only observed cells are stored
//!   and unobserved ones have preference 0 and weight `c0_j`; through the
//!   Gramian `G0 = Hᵀ diag(c0) H` ([`gramian`]) a user's loss, gradient and
//!   normal equations cost O(n_u k + k²) instead of O(n k).
//! - Row solvers (the fold-in of one user): [`solve_row_cholesky`] (exact),
//!   [`solve_row_cg`] (conjugate gradient, warm start), [`solve_row_eals`]
//!   (element-wise ALS) and [`eals_online_update`] (O(k²) per new
//!   interaction), and [`gradient_step_row`] for the smallest devices.
//!   [`solve_row_low_rank`] is the exact solve for rows shorter than `k`
//!   through the whitened problem's capacitance system (Woodbury); the host
//!   trainer uses it for short rows, and [`solve_row_low_rank_eigen`] (the
//!   same in the eigenbasis of `G0`) when each row has its own `λ`.
//!   [`solve_rows_cg`] runs [`solve_row_cg`] for several rows in lock-step
//!   (one pass over `G0` per step for all of them) with the same bits; the
//!   host trainer uses it. Both also take the item rows in bfloat16
//!   ([`Bf16Factors`], [`Items::compact`], [`encode_bf16`]): half the bytes
//!   per observed cell, the exact `G0`, and the bits of the same solve over
//!   the decoded rows.
//! - Every dot sums sixteen lanes and folds them in one tree order
//!   ([`lane_folds`]), on every target. A host with vector shuffles (this
//!   crate has no `unsafe`, hence no intrinsics) may fold four dots at once
//!   with its own code through a [`LaneFold`] ([`Items::with_fold`],
//!   [`solve_row_low_rank_folded`]): the same additions, the same bits.
//! - Every multiply-add rounds the product and then the sum, unless a
//!   caller wraps its fold in [`Fused`] ([`solve_row_cholesky_folded`] and
//!   the folded solves above): the hot loops' multiply-adds (the fixed-side
//!   rows' dots and updates, the rank updates of the normal equations, the
//!   low-rank `V Vᵀ`) are then rounded once, IEEE 754's fused multiply-add,
//!   through `std` or `libm`: other bits, the same on every target. The
//!   host trains this way by default; the C ABI and the firmware use the
//!   separate roundings.
//! - Scoring: [`score_items`], [`top_n_into`], [`top_n`], and [`select_top_n_into`]
//!   over precomputed scores (one ranking rule for both).
//!
//! Every function validates its arguments (lengths, `1 <= k <=` [`MAX_K`],
//! item indices, NaN/inf, negative confidences and `λ`) and returns an
//! [`Error`] naming the argument and position; none panics or loops forever,
//! and none returns NaN. Scratch memory is always the caller's. The one
//! exception to the per-call checks is [`solve_rows_cg_prechecked`], for a
//! caller that checked its whole matrix once ([`check_csr_rows`]) and
//! solves its rows many times: it skips the row and warm-start scans, and
//! still neither panics nor returns NaN on rows that would fail them.
//!
//! ## Cargo features
//!
//! - `std` (off by default): square roots through std (the compiler's own
//!   operation, encoded for the calling function's instruction set) instead
//!   of libm's, whose x86 version is a legacy-SSE instruction that is slow
//!   inside AVX code. The results are the same bits (both are the correctly
//!   rounded IEEE square root). Nothing else changes: the crate still
//!   allocates nothing. `wmf-host` and `wmf-ffi`'s desktop build enable it.
//!
//! ## Fold-in of one user, on the stack
//!
//! ```
//! use wmf_kernel::{Baseline, Factors, Items, Row, gramian, top_n};
//! // 3 items, k = 2 (shipped from the host)
//! let h = [1.0f32, 0.0, 0.0, 1.0, 0.7, 0.7];
//! let factors = Factors::new(&h, 3, 2).unwrap();
//! let mut g0 = [0.0f32; 4];
//! gramian(&factors, Baseline::Uniform(1.0), &mut g0).unwrap();
//! let items = Items::new(factors, &g0, Baseline::Uniform(1.0)).unwrap();
//! // the user interacted with item 0 (confidence 5)
//! let w = wmf_kernel::fixed::solve_row_cholesky::<f32, 2>(&items, &Row::implicit(&[0], &[5.0]), 0.1).unwrap();
//! let best = top_n::<f32, 1>(&factors, &w, &[0]).unwrap();
//! assert_eq!(best[0].item, 2); // the item closest to item 0 that the user has not seen
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Only for `Real::sqrt` (see `real.rs`): with the `std` feature, and under
// Miri. The crate itself uses nothing else of std and never allocates.
#[cfg(any(miri, feature = "std"))]
extern crate std;

mod bf16;
mod cg;
mod check;
mod cholesky;
pub mod dense;
pub mod eals;
mod error;
mod factors;
pub mod fixed;
mod fold;
mod lanes;
pub mod lowrank;
mod real;
pub mod row;
mod sgd;
#[cfg(test)]
mod testing;
mod tiling;
mod topn;

/// The largest rank `k` any function accepts. Stack buffers of `MAX_K`
/// elements (never `MAX_K²`) are used internally; `k x k` scratch is the caller's.
pub const MAX_K: usize = 256;

pub use bf16::{bf16_from_f32, bf16_to_f32, encode_bf16};
pub use cg::{
    CgParams, CgReport, cg_rows_scratch_len, cg_scratch_len, solve_row_cg, solve_rows_cg,
    solve_rows_cg_prechecked,
};
pub use cholesky::{
    cholesky_in_place, cholesky_solve_in_place, solve_row_cholesky, solve_row_cholesky_folded,
    solve_spd_in_place,
};
pub use dense::Dense;
pub use eals::{CellUpdate, cd_sweeps, eals_online_update, eals_scratch_len, solve_row_eals};
pub use error::{Error, Result};
pub use factors::{Baseline, Bf16Factors, Factors, Folded, Items, Row, RowTable, check_csr_rows};
pub use fold::{Fused, LaneFold, PortableFold, lane_folds};
pub use lowrank::{
    EigenWhitened, LOW_RANK_GROUP, Whitened, low_rank_finish, low_rank_finish_eigen,
    low_rank_gathered, low_rank_gathered_eigen, low_rank_group_scratch_len, low_rank_scratch_len,
    solve_row_low_rank, solve_row_low_rank_eigen, solve_row_low_rank_eigen_folded,
    solve_row_low_rank_folded, solve_rows_low_rank_eigen_folded, solve_rows_low_rank_folded,
    whiten_rows, whitening_factor,
};
pub use real::Real;
pub use row::{gathered_rows_len, gramian, row_gradient, row_loss, row_normal_equations};
pub use sgd::gradient_step_row;
pub use tiling::Tiling;
pub use topn::{Scored, TOP_N_ONE_PASS, score_items, select_top_n_into, top_n, top_n_into};
