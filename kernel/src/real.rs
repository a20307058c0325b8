//! The scalar type the kernels are generic over, with `libm` behind this one module.

use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point scalar: implemented for [`f32`] and [`f64`] only (sealed).
///
/// Every kernel is written once over `T: Real`; the per-type functions the FFI
/// exports are thin instantiations.
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Debug
    + Display
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + sealed::Sealed
    + 'static
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Machine epsilon of the type.
    const EPSILON: Self;
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// Square root (`libm`).
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// True when neither NaN nor infinite.
    fn is_finite(self) -> bool;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const EPSILON: Self = f32::EPSILON;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        sqrt_f32(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        libm::fabsf(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const EPSILON: Self = f64::EPSILON;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        sqrt_f64(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        libm::fabs(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

// Square roots. libm's x86 version is inline assembly, which Miri cannot
// interpret; under Miri only, std's square root stands in. Both are the
// correctly rounded IEEE operation, so results are bit-for-bit the same.
#[cfg(not(miri))]
#[inline(always)]
fn sqrt_f32(v: f32) -> f32 {
    libm::sqrtf(v)
}
#[cfg(not(miri))]
#[inline(always)]
fn sqrt_f64(v: f64) -> f64 {
    libm::sqrt(v)
}
#[cfg(miri)]
fn sqrt_f32(v: f32) -> f32 {
    std::primitive::f32::sqrt(v)
}
#[cfg(miri)]
fn sqrt_f64(v: f64) -> f64 {
    std::primitive::f64::sqrt(v)
}

/// Dot product of two equal-length slices (the caller guarantees equal length).
///
/// Sixteen independent accumulators, then summed lane by lane in a fixed
/// order: the compiler keeps the accumulators in one 512-bit, two 256-bit or
/// four 128-bit vector registers, whichever the target has, and because the
/// summation order is fixed by the code (not by the vector width) every
/// target gives the same bits. (A pairwise tree for the final sum makes
/// LLVM's SLP vectoriser split the accumulator loop into 128-bit pieces; the
/// sequential sum's latency overlaps with the caller's next, independent dot.)
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [T::ZERO; 16];
    let (ca, ra) = a.as_chunks::<16>();
    let (cb, rb) = b.as_chunks::<16>();
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut sum = T::ZERO;
    for v in acc {
        sum += v;
    }
    for (x, y) in ra.iter().zip(rb) {
        sum += *x * *y;
    }
    sum
}

/// [`dot`] for bare metal (`target_os = "none"`): the same sixteen lane sums,
/// each accumulated over the chunks in one register and then added in lane
/// order, so the result is the host's bit for bit; a scalar FPU (Cortex-M4)
/// keeps one or two accumulators live instead of spilling sixteen.
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let full = n / 16 * 16;
    let mut sum = T::ZERO;
    for l in 0..16 {
        let mut acc = T::ZERO;
        let mut i = l;
        while i < full {
            acc += a[i] * b[i];
            i += 16;
        }
        sum += acc;
    }
    for (x, y) in a[full..].iter().zip(&b[full..]) {
        sum += *x * *y;
    }
    sum
}

/// `y += alpha * x` over equal-length slices.
#[inline(always)]
pub(crate) fn axpy<T: Real>(alpha: T, x: &[T], y: &mut [T]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * *xi;
    }
}

/// Symmetric rank-1 update of the lower triangle: `A[r][c] += alpha * x[r] * x[c]` for `c <= r`.
#[inline(always)]
pub(crate) fn syr_lower<T: Real>(alpha: T, x: &[T], a: &mut [T], k: usize) {
    for (r, row) in a.chunks_exact_mut(k).enumerate() {
        let s = alpha * x[r];
        for (ac, xc) in row[..=r].iter_mut().zip(&x[..=r]) {
            *ac += s * *xc;
        }
    }
}

/// Copies the lower triangle of a k x k row-major matrix onto its upper triangle.
#[inline]
pub(crate) fn mirror_lower<T: Real>(a: &mut [T], k: usize) {
    for r in 0..k {
        for c in (r + 1)..k {
            a[r * k + c] = a[c * k + r];
        }
    }
}

/// `y = A x` for a symmetric k x k row-major `A`, as `Σ_r x_r A[r, :]`
/// (row `r` equals column `r`): contiguous row updates, no horizontal sums,
/// four rows per pass over `y` so `y` is loaded and stored k/4 times, not k.
#[inline(always)]
pub(crate) fn symv<T: Real>(a: &[T], x: &[T], y: &mut [T], k: usize) {
    y.fill(T::ZERO);
    if k == 0 {
        return;
    }
    let quads = a.chunks_exact(4 * k).zip(x.chunks_exact(4));
    for (rows, xs) in quads {
        let (r0, rest) = rows.split_at(k);
        let (r1, rest) = rest.split_at(k);
        let (r2, r3) = rest.split_at(k);
        let (x0, x1, x2, x3) = (xs[0], xs[1], xs[2], xs[3]);
        for ((((yc, a0), a1), a2), a3) in y.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *yc += (x0 * *a0 + x1 * *a1) + (x2 * *a2 + x3 * *a3);
        }
    }
    for (row, &xr) in a.chunks_exact(k).zip(x).skip(k / 4 * 4) {
        axpy(xr, row, y);
    }
}

/// `v > 0`, false for NaN: the test every pivot and denominator must pass.
#[inline(always)]
pub(crate) fn positive<T: Real>(v: T) -> bool {
    v > T::ZERO
}
