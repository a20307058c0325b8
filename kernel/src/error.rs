//! The one error type of the kernel.

use core::fmt;

/// Everything a kernel function can reject, naming what and where.
///
/// `what` is the name of the argument (as in the function's signature or the
/// C header) so a message can point at the caller's mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A dimension that must be positive is zero.
    ZeroDimension {
        /// The dimension's name (`k`, `n`, `m`, `capacity`).
        what: &'static str,
    },
    /// A dimension exceeds the compile-time maximum (for `k`, [`crate::MAX_K`]).
    DimensionTooLarge {
        /// The dimension's name.
        what: &'static str,
        /// The value passed.
        value: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// A product of dimensions overflows `usize`.
    SizeOverflow {
        /// The buffer whose size overflowed.
        what: &'static str,
    },
    /// A slice has the wrong number of elements.
    LengthMismatch {
        /// The slice's name.
        what: &'static str,
        /// The required length in elements.
        expected: usize,
        /// The length passed.
        actual: usize,
    },
    /// An item index is not below the number of items.
    IndexOutOfRange {
        /// The slice holding the index.
        what: &'static str,
        /// Position of the bad index in that slice.
        position: usize,
        /// The index found there.
        index: usize,
        /// The exclusive upper bound (the number of items).
        bound: usize,
    },
    /// Item indices must be strictly ascending (sorted, no duplicates).
    NotAscending {
        /// The slice holding the indices.
        what: &'static str,
        /// Position of the first index that is not greater than its predecessor.
        position: usize,
    },
    /// A value is NaN or infinite.
    NonFinite {
        /// The slice or scalar's name.
        what: &'static str,
        /// Position of the first offending element (0 for a scalar).
        index: usize,
    },
    /// A value that must be non-negative (confidence, weight, lambda, step) is negative.
    Negative {
        /// The slice or scalar's name.
        what: &'static str,
        /// Position of the first offending element (0 for a scalar).
        index: usize,
    },
    /// Cholesky factorisation met a pivot that is not positive: the matrix is
    /// not (numerically) positive definite. More regularisation (lambda > 0) fixes it.
    NotPositiveDefinite {
        /// Zero-based index of the failing pivot (column of the factor).
        pivot: usize,
    },
    /// Finite inputs produced a non-finite result (overflow); the outputs are not to be used.
    NonFiniteResult {
        /// The output that overflowed.
        what: &'static str,
    },
}

/// Result type of every fallible kernel function.
pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ZeroDimension { what } => {
                write!(f, "dimension `{what}` must be positive, got 0")
            }
            Error::DimensionTooLarge { what, value, max } => {
                write!(f, "dimension `{what}` = {value} exceeds the maximum {max}")
            }
            Error::SizeOverflow { what } => write!(f, "size of `{what}` overflows usize"),
            Error::LengthMismatch {
                what,
                expected,
                actual,
            } => {
                write!(f, "`{what}` has {actual} elements, expected {expected}")
            }
            Error::IndexOutOfRange {
                what,
                position,
                index,
                bound,
            } => write!(
                f,
                "`{what}`[{position}] = {index} is out of range (must be < {bound})"
            ),
            Error::NotAscending { what, position } => write!(
                f,
                "`{what}`[{position}] is not greater than `{what}`[{}]: indices must be strictly ascending",
                position.saturating_sub(1)
            ),
            Error::NonFinite { what, index } => write!(f, "`{what}`[{index}] is NaN or infinite"),
            Error::Negative { what, index } => write!(f, "`{what}`[{index}] is negative"),
            Error::NotPositiveDefinite { pivot } => write!(
                f,
                "matrix is not positive definite (pivot {pivot} <= 0); increase regularisation"
            ),
            Error::NonFiniteResult { what } => {
                write!(f, "computing `{what}` overflowed to a non-finite value")
            }
        }
    }
}

impl core::error::Error for Error {}
