//! Argument checks shared by every public function: each returns the [`Error`]
//! that names the argument and the position.

use crate::MAX_K;
use crate::error::{Error, Result};
use crate::real::Real;

/// `k` must be in `1..=MAX_K`.
pub(crate) fn rank(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::ZeroDimension { what: "k" });
    }
    if k > MAX_K {
        return Err(Error::DimensionTooLarge {
            what: "k",
            value: k,
            max: MAX_K,
        });
    }
    Ok(())
}

/// A dimension that must be positive and fit in a `u32` index.
pub(crate) fn dim(value: usize, what: &'static str) -> Result<()> {
    if value == 0 {
        return Err(Error::ZeroDimension { what });
    }
    if value > u32::MAX as usize {
        return Err(Error::DimensionTooLarge {
            what,
            value,
            max: u32::MAX as usize,
        });
    }
    Ok(())
}

/// `a * b` without overflow.
pub(crate) fn product(a: usize, b: usize, what: &'static str) -> Result<usize> {
    a.checked_mul(b).ok_or(Error::SizeOverflow { what })
}

/// A slice's length must equal `expected`.
pub(crate) fn len<T>(s: &[T], expected: usize, what: &'static str) -> Result<()> {
    if s.len() != expected {
        return Err(Error::LengthMismatch {
            what,
            expected,
            actual: s.len(),
        });
    }
    Ok(())
}

/// The lower triangle (diagonal included) of the row-major `k x k` matrix
/// `a` finite; the strict upper triangle is not read.
pub(crate) fn lower_finite<T: Real>(a: &[T], k: usize, what: &'static str) -> Result<()> {
    for r in 0..k {
        if let Some(c) = a[r * k..r * k + r + 1].iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what,
                index: r * k + c,
            });
        }
    }
    Ok(())
}

/// A scratch slice must hold at least `need` elements.
pub(crate) fn min_len<T>(s: &[T], need: usize, what: &'static str) -> Result<()> {
    if s.len() < need {
        return Err(Error::LengthMismatch {
            what,
            expected: need,
            actual: s.len(),
        });
    }
    Ok(())
}

/// True when every element is finite, branch-free: `v · 0` is `0` for a
/// finite `v` and NaN for an infinite or NaN one, and sixteen lanes of sums
/// vectorise, so checking a `k x k` matrix costs a few hundred cycles.
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn all_finite<T: Real>(s: &[T]) -> bool {
    let (chunks, rest) = s.as_chunks::<16>();
    let mut acc = [T::ZERO; 16];
    for c in chunks {
        let c = *c;
        for l in 0..16 {
            acc[l] += c[l] * T::ZERO;
        }
    }
    acc.iter().chain(rest).all(|v| v.is_finite())
}

/// [`all_finite`] for bare metal (`target_os = "none"`): a plain scan, which
/// a scalar FPU runs in a few instructions per value (the sixteen-lane form
/// spills there). The answer is the same.
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn all_finite<T: Real>(s: &[T]) -> bool {
    s.iter().all(|v| v.is_finite())
}

/// Every element finite.
#[inline(always)]
pub(crate) fn finite<T: Real>(s: &[T], what: &'static str) -> Result<()> {
    if all_finite(s) {
        return Ok(());
    }
    match s.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// Every element finite and `>= 0`.
pub(crate) fn nonneg<T: Real>(s: &[T], what: &'static str) -> Result<()> {
    for (index, v) in s.iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::NonFinite { what, index });
        }
        if *v < T::ZERO {
            return Err(Error::Negative { what, index });
        }
    }
    Ok(())
}

/// A scalar that must be finite and `>= 0`.
pub(crate) fn scalar_nonneg<T: Real>(v: T, what: &'static str) -> Result<()> {
    nonneg(core::slice::from_ref(&v), what)
}

/// Item indices strictly ascending and `< n`.
pub(crate) fn items(items: &[u32], n: usize, what: &'static str) -> Result<()> {
    let mut prev: Option<u32> = None;
    for (position, &i) in items.iter().enumerate() {
        if i as usize >= n {
            return Err(Error::IndexOutOfRange {
                what,
                position,
                index: i as usize,
                bound: n,
            });
        }
        if prev.is_some_and(|p| i <= p) {
            return Err(Error::NotAscending { what, position });
        }
        prev = Some(i);
    }
    Ok(())
}

/// Every element of a computed output finite.
#[inline(always)]
pub(crate) fn result<T: Real>(s: &[T], what: &'static str) -> Result<()> {
    if all_finite(s) {
        Ok(())
    } else {
        Err(Error::NonFiniteResult { what })
    }
}
