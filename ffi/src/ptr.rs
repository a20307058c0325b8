//! Every conversion from a C pointer to a Rust reference or slice, in one
//! place. Each helper checks NULL, alignment and the byte size before it
//! builds the reference; what it cannot check (that the memory is really
//! there, initialised, and not aliased by another argument) is the caller's
//! contract, stated in the header of every entry point.

use crate::status::wmf_status::{self, *};

/// `a * b` elements, or `WMF_STATUS_SIZE_OVERFLOW`.
#[inline]
pub(crate) fn product(a: usize, b: usize) -> Result<usize, wmf_status> {
    a.checked_mul(b).ok_or(WMF_STATUS_SIZE_OVERFLOW)
}

/// Checks a pointer to `len` elements of `T`: NULL only when `len == 0`,
/// aligned, and `len * size_of::<T>() <= isize::MAX` (the limit for a Rust slice).
/// Returns false when `len == 0`: no reference to the memory is to be made.
#[inline]
fn check<T>(ptr: *const T, len: usize) -> Result<bool, wmf_status> {
    if len == 0 {
        return Ok(false);
    }
    if ptr.is_null() {
        return Err(WMF_STATUS_NULL_POINTER);
    }
    if !ptr.is_aligned() {
        return Err(WMF_STATUS_MISALIGNED_POINTER);
    }
    match len.checked_mul(core::mem::size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(true),
        _ => Err(WMF_STATUS_SIZE_OVERFLOW),
    }
}

/// A shared slice of `len` elements at `ptr`; NULL is accepted when `len == 0`.
///
/// # Safety
/// When `len > 0`, `ptr` must point to `len` initialised elements that stay
/// valid, and are not written through any other pointer, for `'a`.
#[inline]
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], wmf_status> {
    if !check(ptr, len)? {
        return Ok(&[]);
    }
    // SAFETY: `check` proved `ptr` non-NULL and aligned and the size within
    // `isize::MAX`; the caller guarantees `len` initialised elements, valid and
    // unaliased by writers for `'a`.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A mutable slice of `len` elements at `ptr`; NULL is accepted when `len == 0`.
///
/// # Safety
/// When `len > 0`, `ptr` must point to `len` initialised elements that stay
/// valid for `'a` and are reached through no other pointer or reference
/// during `'a` (outputs must not overlap any other argument).
#[inline]
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], wmf_status> {
    if !check(ptr, len)? {
        return Ok(&mut []);
    }
    // SAFETY: as in `slice`, plus the caller's guarantee of exclusive access.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// A shared reference to one `T` (a parameter struct); NULL is an error.
///
/// # Safety
/// `ptr` must be NULL or point to an initialised `T` valid for `'a`.
#[inline]
pub(crate) unsafe fn reference<'a, T>(ptr: *const T) -> Result<&'a T, wmf_status> {
    check(ptr, 1)?;
    // SAFETY: `check` proved non-NULL and aligned; the caller guarantees the rest.
    Ok(unsafe { &*ptr })
}

/// Writes `value` to the out-parameter `ptr`; NULL is an error.
///
/// # Safety
/// `ptr` must be NULL or point to memory valid for writing one `T`.
#[inline]
pub(crate) unsafe fn write<T>(ptr: *mut T, value: T) -> Result<(), wmf_status> {
    check(ptr, 1)?;
    // SAFETY: `check` proved non-NULL and aligned; the caller guarantees that
    // `ptr` is writable. `T` is `Copy` plain data here, so nothing is dropped.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Checks an out-parameter before any work is done, so that a NULL output is
/// reported before computing (and so nothing is written on failure).
#[inline]
pub(crate) fn check_out<T>(ptr: *mut T) -> Result<(), wmf_status> {
    check(ptr.cast_const(), 1).map(|_| ())
}
