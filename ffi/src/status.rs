//! Status codes: one fixed number per outcome, never reused.

#![allow(non_camel_case_types)] // the C names of the API

use core::ffi::{c_char, c_int};
use wmf_kernel::Error;

/// The result of every `wmf_*` call that can fail.
///
/// The numbers are part of the ABI: they never change and a retired code is
/// never reused. `WMF_STATUS_OK` (0) is success; every other value means the
/// call wrote none of its outputs (except where a function documents a
/// zero-filled output on `WMF_STATUS_NON_FINITE_RESULT`).
/// `wmf_status_str()` gives a message for each code.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum wmf_status {
    /// Success.
    WMF_STATUS_OK = 0,
    /// A required pointer is NULL (NULL is accepted only for arrays of length 0
    /// and for the documented optional arguments).
    WMF_STATUS_NULL_POINTER = 1,
    /// A dimension that must be positive (`k`, `m`, `n`, `capacity`) is 0.
    WMF_STATUS_ZERO_DIMENSION = 2,
    /// A dimension is too large: `k > WMF_MAX_K`, or `m` / `n` above `UINT32_MAX`.
    WMF_STATUS_DIMENSION_TOO_LARGE = 3,
    /// A buffer size (a product of dimensions, in elements or in bytes) overflows `size_t`.
    WMF_STATUS_SIZE_OVERFLOW = 4,
    /// A buffer has the wrong length (for example, a scratch buffer that is too short).
    WMF_STATUS_LENGTH_MISMATCH = 5,
    /// An item id is not below the number of items `n`.
    WMF_STATUS_INDEX_OUT_OF_RANGE = 6,
    /// Item ids must be strictly ascending (sorted, no duplicates).
    WMF_STATUS_NOT_ASCENDING = 7,
    /// An input value is NaN or infinite.
    WMF_STATUS_NON_FINITE = 8,
    /// A value that must be non-negative (confidence, `c0`, `lambda`, `lr`, `tol`) is negative.
    WMF_STATUS_NEGATIVE = 9,
    /// The normal equations are not positive definite (singular): increase `lambda`.
    WMF_STATUS_NOT_POSITIVE_DEFINITE = 10,
    /// Finite inputs overflowed to a non-finite result.
    WMF_STATUS_NON_FINITE_RESULT = 11,
    /// A Rust panic was caught at the boundary (a bug in wmf: please report it).
    WMF_STATUS_PANIC = 12,
    /// A pointer is not aligned for its element type.
    WMF_STATUS_MISALIGNED_POINTER = 13,
    /// An error this version of the C API does not know how to classify (a bug in wmf).
    WMF_STATUS_INTERNAL = 14,
}

use wmf_status::*;

impl From<Error> for wmf_status {
    fn from(e: Error) -> Self {
        match e {
            Error::ZeroDimension { .. } => WMF_STATUS_ZERO_DIMENSION,
            Error::DimensionTooLarge { .. } => WMF_STATUS_DIMENSION_TOO_LARGE,
            Error::SizeOverflow { .. } => WMF_STATUS_SIZE_OVERFLOW,
            Error::LengthMismatch { .. } => WMF_STATUS_LENGTH_MISMATCH,
            Error::IndexOutOfRange { .. } => WMF_STATUS_INDEX_OUT_OF_RANGE,
            Error::NotAscending { .. } => WMF_STATUS_NOT_ASCENDING,
            Error::NonFinite { .. } => WMF_STATUS_NON_FINITE,
            Error::Negative { .. } => WMF_STATUS_NEGATIVE,
            Error::NotPositiveDefinite { .. } => WMF_STATUS_NOT_POSITIVE_DEFINITE,
            Error::NonFiniteResult { .. } => WMF_STATUS_NON_FINITE_RESULT,
            // `Error` is non_exhaustive: a variant added later maps here until
            // it gets its own number.
            _ => WMF_STATUS_INTERNAL,
        }
    }
}

/// Every status, in numeric order (for tests and `wmf_status_str`).
pub(crate) const ALL: [wmf_status; 15] = [
    WMF_STATUS_OK,
    WMF_STATUS_NULL_POINTER,
    WMF_STATUS_ZERO_DIMENSION,
    WMF_STATUS_DIMENSION_TOO_LARGE,
    WMF_STATUS_SIZE_OVERFLOW,
    WMF_STATUS_LENGTH_MISMATCH,
    WMF_STATUS_INDEX_OUT_OF_RANGE,
    WMF_STATUS_NOT_ASCENDING,
    WMF_STATUS_NON_FINITE,
    WMF_STATUS_NEGATIVE,
    WMF_STATUS_NOT_POSITIVE_DEFINITE,
    WMF_STATUS_NON_FINITE_RESULT,
    WMF_STATUS_PANIC,
    WMF_STATUS_MISALIGNED_POINTER,
    WMF_STATUS_INTERNAL,
];

/// The NUL-terminated message of a status.
pub(crate) fn message(status: wmf_status) -> &'static core::ffi::CStr {
    match status {
        WMF_STATUS_OK => c"ok",
        WMF_STATUS_NULL_POINTER => c"a required pointer is NULL",
        WMF_STATUS_ZERO_DIMENSION => c"a dimension that must be positive is 0",
        WMF_STATUS_DIMENSION_TOO_LARGE => {
            c"a dimension is too large (k > WMF_MAX_K, or m/n > UINT32_MAX)"
        }
        WMF_STATUS_SIZE_OVERFLOW => c"a buffer size overflows size_t",
        WMF_STATUS_LENGTH_MISMATCH => c"a buffer has the wrong length (scratch too short?)",
        WMF_STATUS_INDEX_OUT_OF_RANGE => c"an item id is out of range (must be < n)",
        WMF_STATUS_NOT_ASCENDING => c"item ids must be strictly ascending",
        WMF_STATUS_NON_FINITE => c"an input value is NaN or infinite",
        WMF_STATUS_NEGATIVE => c"a value that must be non-negative is negative",
        WMF_STATUS_NOT_POSITIVE_DEFINITE => c"matrix is not positive definite; increase lambda",
        WMF_STATUS_NON_FINITE_RESULT => c"the result overflowed to a non-finite value",
        WMF_STATUS_PANIC => c"internal panic caught at the C boundary (a bug in wmf)",
        WMF_STATUS_MISALIGNED_POINTER => c"a pointer is not aligned for its element type",
        WMF_STATUS_INTERNAL => c"unclassified internal error (a bug in wmf)",
    }
}

/// Returns a static, NUL-terminated English message for `status` (a
/// `wmf_status` value passed as an `int`). Unknown values give
/// `"unknown wmf_status"`. The string is owned by the library: never free it.
/// Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn wmf_status_str(status: c_int) -> *const c_char {
    let unknown = c"unknown wmf_status".as_ptr();
    crate::panic::guard(unknown, || {
        usize::try_from(status)
            .ok()
            .and_then(|i| ALL.get(i))
            .map_or(unknown, |s| message(*s).as_ptr())
    })
}

/// Returns the library version as a static, NUL-terminated string
/// (`"MAJOR.MINOR.PATCH"`, for example `"0.1.0"`). Owned by the library: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn wmf_version() -> *const c_char {
    const VERSION: &core::ffi::CStr = match core::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    crate::panic::guard(VERSION.as_ptr(), || VERSION.as_ptr())
}
