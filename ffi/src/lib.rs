//! # wmf-ffi
//!
//! The C ABI of wmf: static and shared libraries (`libwmf.a`, `libwmf.so`)
//! with the header `include/wmf.h`, for desktop C and C++ and, built without
//! the `std` feature, a `no_std` static library for bare-metal firmware
//! (`thumbv7em-none-eabihf`, `panic = "abort"`, no allocator).
//!
//! This crate holds no math. Every entry point checks its pointers, builds
//! the kernel's validated views, calls [`wmf_kernel`] and maps the result to a
//! [`wmf_status`]. Conventions, stated once for the whole API:
//!
//! - Matrices are row-major; every size is in elements, not bytes.
//! - Every pointer is borrowed for the duration of the call only: the library
//!   never keeps, frees or allocates memory. Outputs and scratch buffers must
//!   not overlap each other or any input.
//! - NULL is accepted only for arrays of length 0 (for example an empty row)
//!   and where an argument is documented as optional (`c0`, `pref`).
//! - Outputs are written only when the status is `WMF_STATUS_OK`, except
//!   that the large outputs of the dense, Gramian, normal-equation and
//!   scoring functions are zero-filled on `WMF_STATUS_NON_FINITE_RESULT`.
//! - Every function may also return `WMF_STATUS_NULL_POINTER`,
//!   `WMF_STATUS_MISALIGNED_POINTER` and `WMF_STATUS_SIZE_OVERFLOW` (pointer
//!   checks) and, in the `std` build, `WMF_STATUS_PANIC`.
//! - The rank `k` is chosen at run time, `1 <= k <=` [`WMF_MAX_K`].
//! - No global state: every function is re-entrant and thread-safe.
//! - Stack use is bounded: a few `MAX_K`-element temporaries, and in a
//!   hosted (not bare-metal) build the Cholesky factorisations' working
//!   copies (at most `68 * 64` or `9 * MAX_K` scalars) and the normal
//!   equations' weighted rows and row copies (4096 scalars each); the
//!   header's notes give the sizes. Every larger buffer is the caller's
//!   (the scratch arguments and `wmf_*_scratch_len`).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

mod api;
mod imp;
mod panic;
mod ptr;
mod status;
mod types;

pub use api::*;
pub use status::{wmf_status, wmf_status_str, wmf_version};
pub use types::{
    WMF_ITEMS_CHECKED, wmf_cell_update, wmf_cell_update_f32, wmf_cell_update_f64, wmf_cg_report,
    wmf_dense, wmf_dense_f32, wmf_dense_f64, wmf_items, wmf_items_f32, wmf_items_f64, wmf_row,
    wmf_row_f32, wmf_row_f64, wmf_whitened, wmf_whitened_f32, wmf_whitened_f64,
};

/// The largest rank `k` any function accepts (the kernel's `MAX_K`).
pub const WMF_MAX_K: usize = 256;
const _: () = assert!(WMF_MAX_K == wmf_kernel::MAX_K);

/// The most rows one `wmf_solve_rows_low_rank_*` call solves side by side
/// (the kernel's `LOW_RANK_GROUP`).
pub const WMF_LOW_RANK_GROUP: usize = 16;
const _: () = assert!(WMF_LOW_RANK_GROUP == wmf_kernel::LOW_RANK_GROUP);

/// Every status code, in numeric order (for tests).
#[doc(hidden)]
pub const ALL_STATUSES: [wmf_status; 15] = status::ALL;
