//! The scalar type the kernels are generic over, with `libm` behind this one module.

use crate::fold::LaneFold;
use crate::tiling::Tiling;
use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

mod sealed {
    use crate::fold::LaneFold;

    pub trait Sealed: Sized {
        /// `fold`'s four lane folds for this type.
        fn fold4<F: LaneFold>(fold: F, s: [[Self; 16]; 4]) -> [Self; 4];
        /// `a * b + c` rounded once (IEEE 754 fusedMultiplyAdd).
        fn fused_mul_add(a: Self, b: Self, c: Self) -> Self;
    }
    impl Sealed for f32 {
        #[inline(always)]
        fn fold4<F: LaneFold>(fold: F, s: [[f32; 16]; 4]) -> [f32; 4] {
            fold.fold4_f32(s)
        }
        #[inline(always)]
        fn fused_mul_add(a: f32, b: f32, c: f32) -> f32 {
            super::fma_f32(a, b, c)
        }
    }
    impl Sealed for f64 {
        #[inline(always)]
        fn fold4<F: LaneFold>(fold: F, s: [[f64; 16]; 4]) -> [f64; 4] {
            fold.fold4_f64(s)
        }
        #[inline(always)]
        fn fused_mul_add(a: f64, b: f64, c: f64) -> f64 {
            super::fma_f64(a, b, c)
        }
    }
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
    /// Converts from `f32` exactly.
    fn from_f32(v: f32) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// Square root (`libm`).
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// True when neither NaN nor infinite.
    fn is_finite(self) -> bool;
    /// `self * b + c` rounded once (IEEE 754 fusedMultiplyAdd): the
    /// kernel's own fused multiply-add ([`crate::Fused`]), one instruction
    /// where the caller is compiled with FMA, correctly rounded in software
    /// otherwise.
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self {
        <Self as sealed::Sealed>::fused_mul_add(self, b, c)
    }
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
    fn from_f32(v: f32) -> Self {
        v
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
    fn from_f32(v: f32) -> Self {
        v as f64
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

// Square roots. Both versions are the correctly rounded IEEE operation, so
// results are bit-for-bit the same whichever is compiled in.
//
// Without the `std` feature (bare metal, the firmware's C library): libm, a
// hardware instruction where the target has one. On x86 that is inline
// assembly with the legacy SSE encoding (`sqrtss`), which the compiler
// cannot re-encode: inside the host's AVX2 and AVX-512 copies it ran between
// 256-bit instructions and cost the host's Cholesky path about a tenth of
// its time on a Zen 3 (BENCHMARKS.md, batch 12).
//
// With `std` (the host, the desktop C library), and under Miri, which cannot
// interpret inline assembly: std's square root, the compiler's own
// operation, encoded for the function it is inlined into (`vsqrtss` there).
#[cfg(not(any(miri, feature = "std")))]
#[inline(always)]
fn sqrt_f32(v: f32) -> f32 {
    libm::sqrtf(v)
}
#[cfg(not(any(miri, feature = "std")))]
#[inline(always)]
fn sqrt_f64(v: f64) -> f64 {
    libm::sqrt(v)
}
// The fused multiply-add: libm's `fmaf` / `fma` (correctly rounded in
// software), or with `std` the standard library's, which is one instruction
// where the caller is compiled for a target with FMA (x86-64 with `fma`,
// AArch64) and the C library's correctly rounded `fmaf` otherwise. Both
// round `a * b + c` once, as IEEE 754 defines it, so both give the same bits.
#[cfg(not(any(miri, feature = "std")))]
#[inline(always)]
fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    libm::fmaf(a, b, c)
}
#[cfg(not(any(miri, feature = "std")))]
#[inline(always)]
fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    libm::fma(a, b, c)
}
#[cfg(any(miri, feature = "std"))]
#[inline(always)]
fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    std::primitive::f32::mul_add(a, b, c)
}
#[cfg(any(miri, feature = "std"))]
#[inline(always)]
fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    std::primitive::f64::mul_add(a, b, c)
}

/// `c + a * b`: rounded twice (the product, then the sum), or with `FUSED`
/// once ([`crate::Fused`]). The one place the kernel chooses between them;
/// the unfused form is the expression every kernel loop wrote before the
/// choice existed, so its bits are unchanged.
#[inline(always)]
pub(crate) fn madd<T: Real, const FUSED: bool>(a: T, b: T, c: T) -> T {
    if FUSED { a.fma(b, c) } else { c + a * b }
}

#[cfg(any(miri, feature = "std"))]
#[inline(always)]
fn sqrt_f32(v: f32) -> f32 {
    std::primitive::f32::sqrt(v)
}
#[cfg(any(miri, feature = "std"))]
#[inline(always)]
fn sqrt_f64(v: f64) -> f64 {
    std::primitive::f64::sqrt(v)
}

/// Dot product of two equal-length slices (the caller guarantees equal length).
///
/// Sixteen independent accumulators (lane `l` sums the products of the
/// elements `l, l + 16, l + 32, …` in order), folded by [`lane_tree`], then
/// the last `n mod 16` products added in order. The compiler keeps the
/// accumulators in one 512-bit, two 256-bit or four 128-bit vector
/// registers, whichever the target has, and because the summation order is
/// fixed by the code (not by the vector width) every target gives the same
/// bits.
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    dot_by(a, b, |x| x)
}

/// The dot product `a · b` with [`dot`]'s sixteen lanes anchored at the
/// end: the last `16 ⌊n / 16⌋` products (`n` the shorter length) go through
/// [`dot`], then the first `n mod 16` are added one at a time from the last
/// to the first, so `a[0] b[0]` is the final operation. A backward
/// substitution over rows of `Lᵀ` (`x_p` needs `Lᵀ_p,>p · x_>p`) then has
/// its newest value, `x_(p+1)`, in that final multiply-add, and the rest of
/// the sum, over values known earlier, overlaps the previous steps instead
/// of lengthening the chain from one step to the next. The same bits on
/// every target, as [`dot`].
#[inline(always)]
pub(crate) fn dot_from_end<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let m = n % 16;
    let mut sum = dot(&a[m..n], &b[m..n]);
    for (x, y) in a[..m].iter().zip(&b[..m]).rev() {
        sum += *x * *y;
    }
    sum
}

/// [`dot`] of a stored row `a`, each element read through `load` (the
/// identity for a row of `T`, [`crate::bf16_to_f32`] for a compact row),
/// against `b`: the products `load(a[i]) * b[i]` summed in `dot`'s order, so
/// the result is bit for bit `dot` of the loaded row. This body is also
/// the bare-metal one for compact rows (which the firmware does not use).
#[inline(always)]
pub(crate) fn dot_by<T: Real, E: Copy>(a: &[E], b: &[T], load: impl Fn(E) -> T) -> T {
    dot_by_m::<T, E, false>(a, b, load)
}

/// [`dot_by`] with every multiply-add fused when `FUSED` ([`madd`]): the
/// same lanes, fold and order.
#[inline(always)]
pub(crate) fn dot_by_m<T: Real, E: Copy, const FUSED: bool>(
    a: &[E],
    b: &[T],
    load: impl Fn(E) -> T,
) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [T::ZERO; 16];
    let (ca, ra) = a.as_chunks::<16>();
    let (cb, rb) = b.as_chunks::<16>();
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..16 {
            acc[l] = madd::<T, FUSED>(load(x[l]), y[l], acc[l]);
        }
    }
    let mut sum = lane_tree(acc);
    for (x, y) in ra.iter().zip(rb) {
        sum = madd::<T, FUSED>(load(*x), *y, sum);
    }
    sum
}

/// [`dot`] with the multiply-adds fused when `F` says so ([`LaneFold::FUSED`]).
#[inline(always)]
pub(crate) fn dot_with<T: Real, F: LaneFold>(a: &[T], b: &[T], _fold: F) -> T {
    if F::FUSED {
        dot_by_m::<T, T, true>(a, b, |x| x)
    } else {
        dot(a, b)
    }
}

/// The sum of a dot's sixteen lane sums, folded in halves: lane `l` gets
/// lane `l + 8`, then `l + 4`, `l + 2` and `l + 1`, so the result is
/// `((a0 + a8) + (a4 + a12)) + …` in one fixed order on every target.
///
/// Why a tree rather than the lanes in order: the order is part of every
/// result's bits, so it is chosen once for all targets, and the halving
/// folds can be whole-register operations (a 512-bit register's upper half
/// onto its lower, and so on), where a lane-by-lane sum makes the compiler
/// extract and insert single lanes: about 25 shuffles per cell and CG pass
/// in `dot4` at k = 64. LLVM does not always emit them so: in the host's
/// inlined copies part of each fold still goes through single-lane
/// extracts and scalar adds (BENCHMARKS.md, batch 14 items 3-4), and stable
/// Rust offers no portable shuffle to force it; where four dots are folded
/// together, a host may do it with its own shuffles ([`crate::LaneFold`],
/// batch 20). Even so, on a Zen 4
/// (AVX-512 on 256-bit units) the tree made the 50k k = 64 CG iteration 12%
/// faster than the lanes in order (BENCHMARKS.md, batch 13).
#[inline(always)]
pub(crate) fn lane_tree<T: Real>(mut a: [T; 16]) -> T {
    for l in 0..8 {
        a[l] += a[l + 8];
    }
    for l in 0..4 {
        a[l] += a[l + 4];
    }
    for l in 0..2 {
        a[l] += a[l + 2];
    }
    a[0] + a[1]
}

/// [`dot`] for bare metal (`target_os = "none"`): the same sixteen lane sums
/// in the same order, folded by [`lane_tree`], so the result is the host's
/// bit for bit (the firmware test compares them), written for a scalar FPU
/// at `opt-level = "s"`: sixteen named sums updated in straight-line code,
/// which the compiler keeps in sixteen FPU registers (a Cortex-M4F has 32),
/// and one out-of-line copy per scalar type instead of one per call site.
/// Measured on the firmware (BENCHMARKS.md, "On-device", round 4), against
/// the earlier form that built the lanes with `core::array::from_fn` (whose
/// closure stayed out of line: sixteen calls per dot) or kept them in an
/// array (in memory: a load and a store per element): 51% of the
/// instructions of a 100-interaction CG fold-in and 36% of a top 10 at
/// k = 32, with less flash. A dot shorter than one chunk skips the fold of
/// its sixteen +0.0 lanes (+0.0, the same bits), which the forward
/// substitutions of short rows are made of.
///
/// Its body is [`dot_named_sums`], which the host's tests also run against
/// the host's `dot` in `f32` and `f64` (the firmware runs only `f32`).
#[cfg(target_os = "none")]
#[inline(never)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    dot_named_sums(a, b)
}

/// The bare-metal [`dot`]'s body (see there).
#[cfg(any(target_os = "none", test))]
#[inline(always)]
fn dot_named_sums<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // Chunk-outer, as on hosts: sixteen running sums, each chunk's sixteen
    // products added lane by lane.
    let (ca, ra) = a.as_chunks::<16>();
    let (cb, rb) = b.as_chunks::<16>();
    let mut sum = T::ZERO;
    if !ca.is_empty() {
        // Named sums and straight-line updates stay in registers; an array,
        // even indexed by constants, stayed in memory at `opt-level = "s"`.
        let [
            mut s0,
            mut s1,
            mut s2,
            mut s3,
            mut s4,
            mut s5,
            mut s6,
            mut s7,
        ] = [T::ZERO; 8];
        let [
            mut s8,
            mut s9,
            mut s10,
            mut s11,
            mut s12,
            mut s13,
            mut s14,
            mut s15,
        ] = [T::ZERO; 8];
        for (x, y) in ca.iter().zip(cb) {
            s0 += x[0] * y[0];
            s1 += x[1] * y[1];
            s2 += x[2] * y[2];
            s3 += x[3] * y[3];
            s4 += x[4] * y[4];
            s5 += x[5] * y[5];
            s6 += x[6] * y[6];
            s7 += x[7] * y[7];
            s8 += x[8] * y[8];
            s9 += x[9] * y[9];
            s10 += x[10] * y[10];
            s11 += x[11] * y[11];
            s12 += x[12] * y[12];
            s13 += x[13] * y[13];
            s14 += x[14] * y[14];
            s15 += x[15] * y[15];
        }
        sum = lane_tree([
            s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15,
        ]);
    }
    for (x, y) in ra.iter().zip(rb) {
        sum += *x * *y;
    }
    sum
}

/// Four [`dot`]s against the same `v`, each bit for bit `dot(a[d], v)`
/// (every `a[d]` as long as `v`; the caller guarantees it). `v` is loaded
/// once for the four, and their four [`lane_tree`] folds run side by side
/// ([`dot4_folded`] takes the folds from a [`LaneFold`]).
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn dot4<T: Real>(a: [&[T]; 4], v: &[T]) -> [T; 4] {
    dot4_by(a, v, |x| x)
}

/// [`dot4`] of four stored rows read through `load` (see [`dot_by`]): bit
/// for bit `dot4` of the loaded rows.
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn dot4_by<T: Real, E: Copy>(a: [&[E]; 4], v: &[T], load: impl Fn(E) -> T) -> [T; 4] {
    dot4_folded(a, v, load, crate::fold::PortableFold)
}

/// [`dot4_by`] with the four lane folds done by `fold` (bit for bit
/// [`lane_tree`]'s by [`LaneFold`]'s contract).
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn dot4_folded<T: Real, E: Copy, F: LaneFold>(
    a: [&[E]; 4],
    v: &[T],
    load: impl Fn(E) -> T,
    fold: F,
) -> [T; 4] {
    let n = v.len();
    if a.iter().any(|s| s.len() != n) {
        // Unreachable for validated rows; the single dots define the result.
        return a.map(|s| {
            if F::FUSED {
                dot_by_m::<T, E, true>(s, v, &load)
            } else {
                dot_by(s, v, &load)
            }
        });
    }
    if F::FUSED {
        dot4_lanes::<T, E, F, true>(a, v, load, fold)
    } else {
        dot4_lanes::<T, E, F, false>(a, v, load, fold)
    }
}

/// The body of [`dot4_folded`] on rows of `v`'s length, the multiply-adds
/// fused when `FUSED`.
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn dot4_lanes<T: Real, E: Copy, F: LaneFold, const FUSED: bool>(
    a: [&[E]; 4],
    v: &[T],
    load: impl Fn(E) -> T,
    fold: F,
) -> [T; 4] {
    let (mut s0, mut s1, mut s2, mut s3) =
        ([T::ZERO; 16], [T::ZERO; 16], [T::ZERO; 16], [T::ZERO; 16]);
    let cv = v.as_chunks::<16>().0;
    let [c0, c1, c2, c3] = a.map(|s| s.as_chunks::<16>().0);
    for ((((x, y0), y1), y2), y3) in cv.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
        for l in 0..16 {
            s0[l] = madd::<T, FUSED>(load(y0[l]), x[l], s0[l]);
            s1[l] = madd::<T, FUSED>(load(y1[l]), x[l], s1[l]);
            s2[l] = madd::<T, FUSED>(load(y2[l]), x[l], s2[l]);
            s3[l] = madd::<T, FUSED>(load(y3[l]), x[l], s3[l]);
        }
    }
    dot4_finish::<T, E, F, FUSED>([s0, s1, s2, s3], a, v, cv.len() * 16, load, fold)
}

/// [`dot4`] on bare metal: four single dots (no vector registers to share).
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn dot4<T: Real>(a: [&[T]; 4], v: &[T]) -> [T; 4] {
    a.map(|s| dot(s, v))
}

/// [`dot4_by`] on bare metal: four [`dot_by`]s.
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn dot4_by<T: Real, E: Copy>(a: [&[E]; 4], v: &[T], load: impl Fn(E) -> T) -> [T; 4] {
    a.map(|s| dot_by(s, v, &load))
}

/// [`dot4`] of rows of `T` with the lane folds by `fold`.
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn dot4_with<T: Real, F: LaneFold>(a: [&[T]; 4], v: &[T], fold: F) -> [T; 4] {
    dot4_folded(a, v, |x| x, fold)
}

/// Sixteen dots in a 4 x 4 block: entry `[i][d]` is bit for bit
/// `dot4_with(a, v[i], fold)[d]`, the dot of `a[d]` and `v[i]` (every row
/// as long as `v[0]`; a mismatch falls back to the four `dot4_with`s).
/// Each of the eight rows is loaded once per 16-lane chunk for its four
/// dots (8 loads per 16 multiply-adds, where four `dot4_with`s load 20);
/// each entry's lanes accumulate in the same order and fold by the same
/// `fold`.
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn dot4x4_with<T: Real, F: LaneFold>(
    a: [&[T]; 4],
    v: [&[T]; 4],
    fold: F,
) -> [[T; 4]; 4] {
    let n = v[0].len();
    if a.iter().any(|s| s.len() != n) || v.iter().any(|s| s.len() != n) {
        return v.map(|vi| dot4_with(a, vi, fold));
    }
    if F::FUSED {
        dot4x4_lanes::<T, F, true>(a, v, fold)
    } else {
        dot4x4_lanes::<T, F, false>(a, v, fold)
    }
}

/// The body of [`dot4x4_with`] on rows of one length, the multiply-adds
/// fused when `FUSED`: [`dot4_folded`]'s lanes, folds and tails for each
/// of the four `v[i]`.
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn dot4x4_lanes<T: Real, F: LaneFold, const FUSED: bool>(
    a: [&[T]; 4],
    v: [&[T]; 4],
    fold: F,
) -> [[T; 4]; 4] {
    let m = v[0].len() / 16;
    let ca = a.map(|s| &s.as_chunks::<16>().0[..m]);
    let cv = v.map(|s| &s.as_chunks::<16>().0[..m]);
    // Sixteen accumulators as separate locals (arrays of them, or
    // references to them, are kept in memory by the optimiser).
    let z = [T::ZERO; 16];
    let (mut s00, mut s01, mut s02, mut s03) = (z, z, z, z);
    let (mut s10, mut s11, mut s12, mut s13) = (z, z, z, z);
    let (mut s20, mut s21, mut s22, mut s23) = (z, z, z, z);
    let (mut s30, mut s31, mut s32, mut s33) = (z, z, z, z);
    for c in 0..m {
        let (x0, x1, x2, x3) = (&cv[0][c], &cv[1][c], &cv[2][c], &cv[3][c]);
        let (y0, y1, y2, y3) = (&ca[0][c], &ca[1][c], &ca[2][c], &ca[3][c]);
        for l in 0..16 {
            s00[l] = madd::<T, FUSED>(y0[l], x0[l], s00[l]);
            s01[l] = madd::<T, FUSED>(y1[l], x0[l], s01[l]);
            s02[l] = madd::<T, FUSED>(y2[l], x0[l], s02[l]);
            s03[l] = madd::<T, FUSED>(y3[l], x0[l], s03[l]);
            s10[l] = madd::<T, FUSED>(y0[l], x1[l], s10[l]);
            s11[l] = madd::<T, FUSED>(y1[l], x1[l], s11[l]);
            s12[l] = madd::<T, FUSED>(y2[l], x1[l], s12[l]);
            s13[l] = madd::<T, FUSED>(y3[l], x1[l], s13[l]);
            s20[l] = madd::<T, FUSED>(y0[l], x2[l], s20[l]);
            s21[l] = madd::<T, FUSED>(y1[l], x2[l], s21[l]);
            s22[l] = madd::<T, FUSED>(y2[l], x2[l], s22[l]);
            s23[l] = madd::<T, FUSED>(y3[l], x2[l], s23[l]);
            s30[l] = madd::<T, FUSED>(y0[l], x3[l], s30[l]);
            s31[l] = madd::<T, FUSED>(y1[l], x3[l], s31[l]);
            s32[l] = madd::<T, FUSED>(y2[l], x3[l], s32[l]);
            s33[l] = madd::<T, FUSED>(y3[l], x3[l], s33[l]);
        }
    }
    let tail = m * 16;
    [
        dot4_finish::<T, T, F, FUSED>([s00, s01, s02, s03], a, v[0], tail, |x| x, fold),
        dot4_finish::<T, T, F, FUSED>([s10, s11, s12, s13], a, v[1], tail, |x| x, fold),
        dot4_finish::<T, T, F, FUSED>([s20, s21, s22, s23], a, v[2], tail, |x| x, fold),
        dot4_finish::<T, T, F, FUSED>([s30, s31, s32, s33], a, v[3], tail, |x| x, fold),
    ]
}

/// The end of four dots of `a` (read through `load`) against `vi`: the
/// lanes `acc` folded by `fold`, then the elements from `from` on (past
/// the whole 16-lane chunks) added one by one. [`dot4_lanes`]' and
/// [`dot4x4_lanes`]' end (rows as long as `vi`).
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn dot4_finish<T: Real, E: Copy, F: LaneFold, const FUSED: bool>(
    acc: [[T; 16]; 4],
    a: [&[E]; 4],
    vi: &[T],
    from: usize,
    load: impl Fn(E) -> T,
    fold: F,
) -> [T; 4] {
    let mut sum = <T as sealed::Sealed>::fold4(fold, acc);
    let rv = &vi[from..];
    for (sd, ad) in sum.iter_mut().zip(a) {
        for (x, y) in ad[from..].iter().zip(rv) {
            *sd = madd::<T, FUSED>(load(*x), *y, *sd);
        }
    }
    sum
}

/// [`dot4x4_with`] on bare metal: the four [`dot4_with`]s.
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn dot4x4_with<T: Real, F: LaneFold>(
    a: [&[T]; 4],
    v: [&[T]; 4],
    fold: F,
) -> [[T; 4]; 4] {
    v.map(|vi| dot4_with(a, vi, fold))
}

/// [`dot4_with`] on bare metal: [`dot4`], four named-sums [`dot`]s (a
/// [`LaneFold`] gives the same bits by its contract, and a host's fold has
/// no business there; the array-lane body of [`dot_by`] would cost the
/// firmware's low-rank solve 13-22% more instructions, BENCHMARKS.md batch
/// 20). A fused fold ([`crate::Fused`]) gets four fused [`dot_by_m`]s: the
/// bits of the host's fused `dot4_folded`.
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn dot4_with<T: Real, F: LaneFold>(a: [&[T]; 4], v: &[T], _fold: F) -> [T; 4] {
    if F::FUSED {
        a.map(|s| dot_by_m::<T, T, true>(s, v, |x| x))
    } else {
        dot4(a, v)
    }
}

/// Four [`axpy`]s in one pass over `y`: `y += a[0] x[0]`, then `+= a[1] x[1]`, …,
/// element by element, so bit for bit the four calls in that order (every
/// `x[d]` as long as `y`; the caller guarantees it).
#[inline(always)]
pub(crate) fn axpy4<T: Real>(alpha: [T; 4], x: [&[T]; 4], y: &mut [T]) {
    axpy4_by(alpha, x, y, |x| x);
}

/// [`axpy4`] with four stored rows read through `load` (see [`dot_by`]):
/// bit for bit `axpy4` with the loaded rows.
#[inline(always)]
pub(crate) fn axpy4_by<T: Real, E: Copy>(
    alpha: [T; 4],
    x: [&[E]; 4],
    y: &mut [T],
    load: impl Fn(E) -> T,
) {
    axpy4_by_m::<T, E, false>(alpha, x, y, load);
}

/// [`axpy4_by`] with every multiply-add fused when `FUSED` ([`madd`]).
#[inline(always)]
pub(crate) fn axpy4_by_m<T: Real, E: Copy, const FUSED: bool>(
    alpha: [T; 4],
    x: [&[E]; 4],
    y: &mut [T],
    load: impl Fn(E) -> T,
) {
    let n = y.len();
    if x.iter().any(|s| s.len() != n) {
        for (a, s) in alpha.into_iter().zip(x) {
            axpy_by_m::<T, E, FUSED>(a, s, y, &load);
        }
        return;
    }
    let [a0, a1, a2, a3] = alpha;
    for ((((yc, x0), x1), x2), x3) in y.iter_mut().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]) {
        let y0 = madd::<T, FUSED>(a0, load(*x0), *yc);
        let y1 = madd::<T, FUSED>(a1, load(*x1), y0);
        let y2 = madd::<T, FUSED>(a2, load(*x2), y1);
        *yc = madd::<T, FUSED>(a3, load(*x3), y2);
    }
}

/// `y += alpha * x` over equal-length slices.
#[inline(always)]
pub(crate) fn axpy<T: Real>(alpha: T, x: &[T], y: &mut [T]) {
    axpy_by(alpha, x, y, |x| x);
}

/// [`axpy`] with a stored row `x` read through `load` (see [`dot_by`]).
#[inline(always)]
pub(crate) fn axpy_by<T: Real, E: Copy>(alpha: T, x: &[E], y: &mut [T], load: impl Fn(E) -> T) {
    axpy_by_m::<T, E, false>(alpha, x, y, load);
}

/// [`axpy_by`] with every multiply-add fused when `FUSED` ([`madd`]).
#[inline(always)]
pub(crate) fn axpy_by_m<T: Real, E: Copy, const FUSED: bool>(
    alpha: T,
    x: &[E],
    y: &mut [T],
    load: impl Fn(E) -> T,
) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi = madd::<T, FUSED>(alpha, load(*xi), *yi);
    }
}

/// Symmetric rank-1 update of the lower triangle: `A[r][c] += alpha * x[r] * x[c]` for `c <= r`.
#[inline(always)]
pub(crate) fn syr_lower<T: Real>(alpha: T, x: &[T], a: &mut [T], k: usize) {
    syr_lower_m::<T, false>(alpha, x, a, k);
}

/// [`syr_lower`] with the updates' multiply-adds fused when `FUSED`
/// ([`madd`]; the weighted entry `alpha x[r]` is still one rounded product).
#[inline(always)]
pub(crate) fn syr_lower_m<T: Real, const FUSED: bool>(alpha: T, x: &[T], a: &mut [T], k: usize) {
    for (r, row) in a.chunks_exact_mut(k).enumerate() {
        let s = alpha * x[r];
        for (ac, xc) in row[..=r].iter_mut().zip(&x[..=r]) {
            *ac = madd::<T, FUSED>(s, *xc, *ac);
        }
    }
}

/// The upper-triangle twin of [`syr_lower_m`]: `A[r][c] += (alpha x[c]) x[r]`
/// for `c >= r`, each element the product and sum that [`syr_lower_m`]
/// forms for its mirror `(c, r)` (multiplication commutes, so the same
/// bits: the weighted entries `alpha x[c]` once per call, into a
/// `MAX_K` stack buffer, the rows then contiguous from their diagonal).
#[inline(always)]
pub(crate) fn syr_upper_m<T: Real, const FUSED: bool>(alpha: T, x: &[T], a: &mut [T], k: usize) {
    let mut wx = [T::ZERO; crate::MAX_K];
    for (o, v) in wx.iter_mut().zip(&x[..k]) {
        *o = alpha * *v;
    }
    for (r, row) in a.chunks_exact_mut(k).enumerate() {
        let xr = x[r];
        for (ac, s) in row[r..].iter_mut().zip(&wx[r..k]) {
            *ac = madd::<T, FUSED>(*s, xr, *ac);
        }
    }
}

/// The rank-1 updates of [`syr_lower`] for the rows `cells` of the
/// row-major table `h` (`k` wide), in order:
/// `A[r][c] += (w_t x_t[r]) x_t[c]` for `t = 0, 1, …`, where `x_t` is row
/// `cells[t]` of `h` and `w_t = weight(t)` (a row out of range is skipped).
/// Every lower-triangle element gets exactly the sequence of operations of
/// one [`syr_lower`] call per cell, so the bits are theirs on every target.
/// Entries of the strict upper triangle up to 17 columns right of the
/// diagonal (the rest of a tile's last 16-column chunk) may be overwritten
/// with partial sums (callers mirror the lower triangle or never read the
/// upper).
///
/// Derivation: `Σ_t w_t x_t x_tᵀ` is symmetric, so only `c <= r` is formed;
/// element `(r, c)` is `Σ_t (w_t x_t[r]) x_t[c]`, summed in cell order.
///
/// On hosts with `k` a multiple of 16 the loops run over tiles of 4 rows
/// by up to 64 columns ([`Tiling::Wide`]: 16 accumulators of 16 lanes;
/// along the diagonal chunk, where a tile is one chunk wide, 8 rows, so
/// that eight chains of multiply-adds keep both vector units busy) or
/// of 4 rows by 16 columns ([`Tiling::Narrow`] with `FUSED` over `f32`:
/// 4 accumulators of 16 lanes) or 3 rows by 16 (`Narrow` otherwise, the
/// last tile of `A` 1 or 2 rows where 3 does not divide `k`),
/// with all the cells streaming through each tile, so the tile's `A`
/// entries stay in registers instead of being loaded and stored once per
/// cell: the `n k² / 2` multiply-adds of the row's normal equations run at
/// the vector units' rate (the BLAS-3 work of a `syrk`, without its
/// packing).
/// Each tile reads every cell's row again, so callers hand the cells over
/// in blocks of [`syr_block_len`] whose rows they have just read whole
/// (they are then in L1). The weighted rows `w_t x_t` of such a block are
/// formed once, into a stack buffer of 4096 values (16 KiB of `f32`, 32
/// KiB of `f64`), and every tile reads its `w_t x_t[r]` from there; the
/// rows themselves are copied beside them, into a second such buffer, so
/// the tiles walk two contiguous blocks at a fixed stride instead of
/// looking each cell's row up in the table once per tile.
/// `FUSED` fuses every update's multiply-add ([`madd`]), tiled or not.
///
/// `UPPER` forms the upper triangle instead (`c >= r`), each element by
/// the operations that form its mirror in the lower one (the weighted
/// entry `w_t x_t[c]` times `x_t[r]`: the same bits, see
/// [`syr_upper_m`]); the tiles then run from their rows' diagonal chunk to
/// `k`, and entries of the strict lower triangle up to 15 columns left of
/// the diagonal may be overwritten with partial sums. This is the layout
/// of [`crate::cholesky::factor_upper_unchecked`]: row `r` of the upper
/// triangle is column `r` of the lower one.
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn syr_half_many<T: Real, const FUSED: bool, const UPPER: bool>(
    a: &mut [T],
    k: usize,
    h: &[T],
    cells: &[u32],
    weight: impl Fn(usize) -> T,
    tiling: Tiling,
) {
    const L: usize = SYMV_TILE;
    if k == 0 || !k.is_multiple_of(L) || a.len() < k * k {
        syr_half_each::<T, FUSED, UPPER>(a, k, h, cells, weight);
        return;
    }
    // Each cell's row times its weight, `w_t x_t`, once for all the tiles:
    // a tile then multiplies by `w_t x_t[r]` loaded from this buffer, the
    // product it used to form per tile and broadcast from a register (one
    // more instruction per row and cell on the two ports that run 512-bit
    // arithmetic). Cells beyond one buffer's worth go in further rounds,
    // the tiles' sums carried through `a`: the same operations per element.
    // The rows `x_t` are copied beside them (`copies`): per cell and tile the
    // loop then only steps two offsets by `k`, where looking the row up in
    // the table took a load of its index, a multiply and two bounds checks
    // (about as many instructions as the tile's multiply-adds).
    let mut scaled = [T::ZERO; SYR_BLOCK];
    let mut copies = [T::ZERO; SYR_BLOCK];
    let per_round = (SYR_BLOCK / k).max(1);
    for (round, cells) in cells.chunks(per_round).enumerate() {
        let first = round * per_round;
        // Out-of-range rows (unreachable for validated rows) are left out,
        // as in the untiled loop; `n` counts the rows copied.
        let mut n = 0;
        for (t, &j) in cells.iter().enumerate() {
            let at = n * k..(n + 1) * k;
            if let (Some(x), Some(out), Some(copy)) = (
                row_of(h, j, k),
                scaled.get_mut(at.clone()),
                copies.get_mut(at),
            ) {
                let w = weight(first + t);
                for ((o, c), v) in out.iter_mut().zip(copy.iter_mut()).zip(x) {
                    *o = w * *v;
                    *c = *v;
                }
                n += 1;
            }
        }
        // the tiles' row scalars and column vectors: `x_t[r]` and
        // `w_t x_t[c]` (upper), or `w_t x_t[r]` and `x_t[c]` (lower)
        let (s, c) = if UPPER {
            (&copies[..n * k], &scaled[..n * k])
        } else {
            (&scaled[..n * k], &copies[..n * k])
        };
        let (width, tile_rows) = (tiling.syr_chunks(), tiling.syr_rows::<T>(FUSED));
        let mut r0 = 0;
        while r0 < k {
            // the tile's rows (the last tile of a narrow tiling may have
            // fewer), then column chunks up to its last row (upper: from
            // its first row's chunk to `k`), up to the tiling's width (four
            // chunks, or one) at a time
            // A wide tiling's tiles along the diagonal chunk are one chunk
            // wide: four rows would be four accumulators, whose chains of
            // multiply-adds (one per cell) wait on the adds' latency; eight
            // rows keep both vector units busy.
            let diagonal = width > 1 && if UPPER { r0 + L >= k } else { r0 + 8 <= L };
            let rows = if diagonal { 8 } else { tile_rows }.min(k - r0);
            let (mut g, chunks) = if UPPER {
                (r0 / L, k / L)
            } else {
                (0, (r0 + rows - 1) / L + 1)
            };
            while g < chunks {
                let c0 = g * L;
                // (only narrow tiles are short or one chunk wide; wide ones
                // always have 4 rows, since 16 divides `k`)
                match ((chunks - g).min(width), rows) {
                    (1, 1) => syr_tile::<T, 1, 1, FUSED>(a, k, r0, c0, s, c),
                    (1, 2) => syr_tile::<T, 1, 2, FUSED>(a, k, r0, c0, s, c),
                    (1, 3) => syr_tile::<T, 1, 3, FUSED>(a, k, r0, c0, s, c),
                    (1, 8) => syr_tile::<T, 1, 8, FUSED>(a, k, r0, c0, s, c),
                    (1, _) => syr_tile::<T, 1, 4, FUSED>(a, k, r0, c0, s, c),
                    (2, _) => syr_tile::<T, 2, 4, FUSED>(a, k, r0, c0, s, c),
                    (3, _) => syr_tile::<T, 3, 4, FUSED>(a, k, r0, c0, s, c),
                    _ => syr_tile::<T, 4, 4, FUSED>(a, k, r0, c0, s, c),
                }
                g += width;
            }
            r0 += rows;
        }
    }
}

/// How many cells a caller of [`syr_half_many`] hands it at a time so
/// that their rows (`k` values each) stay in L1 while every tile passes
/// over them: 4096 values (16 KiB of `f32`). On bare metal, where there
/// are no tiles and no cache to keep, all of them.
#[cfg(not(target_os = "none"))]
pub(crate) fn syr_block_len(k: usize) -> usize {
    (SYR_BLOCK / k.max(1)).max(1)
}

/// Values of the cells' rows per [`syr_half_many`] call on hosts.
#[cfg(not(target_os = "none"))]
const SYR_BLOCK: usize = 4096;

/// [`syr_block_len`] on bare metal: one block.
#[cfg(target_os = "none")]
pub(crate) fn syr_block_len(_k: usize) -> usize {
    usize::MAX
}

/// [`syr_half_many`] on bare metal: one [`syr_lower`] per cell (a scalar
/// FPU has no registers for a tile), the same operations per element.
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn syr_half_many<T: Real, const FUSED: bool, const UPPER: bool>(
    a: &mut [T],
    k: usize,
    h: &[T],
    cells: &[u32],
    weight: impl Fn(usize) -> T,
    _tiling: Tiling,
) {
    syr_half_each::<T, FUSED, UPPER>(a, k, h, cells, weight);
}

/// [`syr_half_many`]'s definition, untiled: one [`syr_lower`] (`UPPER`:
/// [`syr_upper_m`]) per cell, in cell order (bare metal, and hosts where
/// `k` is not a multiple of 16).
#[inline(always)]
fn syr_half_each<T: Real, const FUSED: bool, const UPPER: bool>(
    a: &mut [T],
    k: usize,
    h: &[T],
    cells: &[u32],
    weight: impl Fn(usize) -> T,
) {
    for (t, &j) in cells.iter().enumerate() {
        if let Some(x) = row_of(h, j, k) {
            if UPPER {
                syr_upper_m::<T, FUSED>(weight(t), x, a, k);
            } else {
                syr_lower_m::<T, FUSED>(weight(t), x, a, k);
            }
        }
    }
}

/// Row `j` (`k` wide) of the row-major table `h`, `None` when out of bounds.
#[inline(always)]
fn row_of<T>(h: &[T], j: u32, k: usize) -> Option<&[T]> {
    let start = (j as usize).checked_mul(k)?;
    h.get(start..start.checked_add(k)?)
}

/// One tile of [`syr_half_many`]: rows `r0..r0 + R` (`R` of 1 to 4, or 8
/// along a wide tiling's diagonal chunk), columns `c0..c0 + 16 NC` (in
/// bounds: `k` is a multiple of 16). `s` and `c` hold one `k`-long row per
/// cell, in cell order: cell `t` adds `s[t k + r0 + i] c[t k + c0 + j]` to
/// element `(r0 + i, c0 + j)` (lower: `s` the weighted rows `w_t x_t`, `c`
/// the rows; upper: the other way round, the same products).
/// The rows' accumulators are separate arrays and the products are
/// written row by row: that is the shape LLVM keeps in vector registers
/// (one array of rows was vectorised across rows, with gathers). The
/// `R > i` tests are constants, so each `R` compiles to its own loop.
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn syr_tile<T: Real, const NC: usize, const R: usize, const FUSED: bool>(
    a: &mut [T],
    k: usize,
    r0: usize,
    c0: usize,
    s: &[T],
    c: &[T],
) {
    const L: usize = SYMV_TILE;
    // Unreachable for the tiles `syr_half_many` makes; never read out of
    // bounds. With these ranges checked once, every per-cell slice below is
    // in bounds by construction (each cell's row is exactly `k` long).
    if k == 0 || r0 + R > k || c0 + NC * L > k || a.len() < k * k {
        return;
    }
    let load = |s: &[T], off: usize| -> [T; L] {
        s.get(off..off + L)
            .and_then(|s| s.first_chunk::<L>())
            .copied()
            .unwrap_or([T::ZERO; L])
    };
    let (mut a0, mut a1, mut a2, mut a3) = (
        [[T::ZERO; L]; NC],
        [[T::ZERO; L]; NC],
        [[T::ZERO; L]; NC],
        [[T::ZERO; L]; NC],
    );
    let (mut a4, mut a5, mut a6, mut a7) = (
        [[T::ZERO; L]; NC],
        [[T::ZERO; L]; NC],
        [[T::ZERO; L]; NC],
        [[T::ZERO; L]; NC],
    );
    for ch in 0..NC {
        let c = c0 + ch * L;
        a0[ch] = load(a, r0 * k + c);
        if R > 1 {
            a1[ch] = load(a, (r0 + 1) * k + c);
        }
        if R > 2 {
            a2[ch] = load(a, (r0 + 2) * k + c);
        }
        if R > 3 {
            a3[ch] = load(a, (r0 + 3) * k + c);
        }
        if R > 4 {
            a4[ch] = load(a, (r0 + 4) * k + c);
            a5[ch] = load(a, (r0 + 5) * k + c);
            a6[ch] = load(a, (r0 + 6) * k + c);
            a7[ch] = load(a, (r0 + 7) * k + c);
        }
    }
    for (srow, crow) in s.chunks_exact(k).zip(c.chunks_exact(k)) {
        let xr = &srow[r0..r0 + R];
        let xc = &crow[c0..c0 + NC * L];
        let s = |i: usize| xr.get(i).copied().unwrap_or(T::ZERO);
        let (s0, s1, s2, s3) = (s(0), s(1), s(2), s(3));
        let (s4, s5, s6, s7) = (s(4), s(5), s(6), s(7));
        for ch in 0..NC {
            let xv = load(xc, ch * L);
            for l in 0..L {
                a0[ch][l] = madd::<T, FUSED>(s0, xv[l], a0[ch][l]);
                if R > 1 {
                    a1[ch][l] = madd::<T, FUSED>(s1, xv[l], a1[ch][l]);
                }
                if R > 2 {
                    a2[ch][l] = madd::<T, FUSED>(s2, xv[l], a2[ch][l]);
                }
                if R > 3 {
                    a3[ch][l] = madd::<T, FUSED>(s3, xv[l], a3[ch][l]);
                }
                if R > 4 {
                    a4[ch][l] = madd::<T, FUSED>(s4, xv[l], a4[ch][l]);
                    a5[ch][l] = madd::<T, FUSED>(s5, xv[l], a5[ch][l]);
                    a6[ch][l] = madd::<T, FUSED>(s6, xv[l], a6[ch][l]);
                    a7[ch][l] = madd::<T, FUSED>(s7, xv[l], a7[ch][l]);
                }
            }
        }
    }
    for ch in 0..NC {
        let c = c0 + ch * L;
        let accs = [&a0, &a1, &a2, &a3, &a4, &a5, &a6, &a7];
        for (i, acc) in accs.into_iter().enumerate().take(R) {
            let off = (r0 + i) * k + c;
            if let Some(d) = a.get_mut(off..off + L) {
                d.copy_from_slice(&acc[ch]);
            }
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
/// Element by element the operations of [`symv_multi`] (see there).
#[inline(always)]
pub(crate) fn symv<T: Real>(a: &[T], x: &[T], y: &mut [T], k: usize) {
    y.fill(T::ZERO);
    if k == 0 {
        return;
    }
    let quads = a.chunks_exact(4 * k).zip(x.chunks_exact(4));
    for (rows, xq) in quads {
        let (r0, rest) = rows.split_at(k);
        let (r1, rest) = rest.split_at(k);
        let (r2, r3) = rest.split_at(k);
        let (x0, x1, x2, x3) = (xq[0], xq[1], xq[2], xq[3]);
        for ((((yc, a0), a1), a2), a3) in y.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *yc += (x0 * *a0 + x1 * *a1) + (x2 * *a2 + x3 * *a3);
        }
    }
    for (row, &xr) in a.chunks_exact(k).zip(x).skip(k / 4 * 4) {
        axpy(xr, row, y);
    }
}

/// True when every off-diagonal element of the `k x k` row-major `a` is
/// zero (`+0` or `-0`): a Gramian expressed in its own eigenbasis, whose
/// products [`diag_multi`] takes in `O(k)`.
pub(crate) fn is_diagonal<T: Real>(a: &[T], k: usize) -> bool {
    a.len() >= k * k
        && a.chunks_exact(k.max(1))
            .take(k)
            .enumerate()
            .all(|(r, row)| {
                let (before, rest) = row.split_at(r);
                before.iter().chain(&rest[1..]).all(|&v| v == T::ZERO)
            })
}

/// [`symv_multi`] for a diagonal `A` ([`is_diagonal`]): `y_v[c] = 0 +
/// A[c][c] x_v[c]`, in `O(k)` per vector instead of `O(k²)`.
///
/// **The same bits as [`symv`] and [`symv_multi`]** for finite `A` and
/// `x`. Those compute `y[c]` as `0`, plus one sum per group of four rows of
/// `x_r A[r][c]`, plus the last `k mod 4` rows' products. With `A[r][c]`
/// zero for `r ≠ c`, every such product is a signed zero, so the group
/// holding row `c` sums to `x_c A[c][c]` exactly (adding `±0` to a non-zero
/// value is exact; a zero sum is `±0`) and every other group sums to `±0`.
/// Adding `±0` to the running `y[c]` never changes a non-zero value, and a
/// zero `y[c]` stays `+0`, because it starts as `+0` and `+0 + (−0) = +0`.
/// So `y[c]` is `x_c A[c][c]` with a zero turned into `+0`: `0 + x_c A[c][c]`.
#[inline(always)]
pub(crate) fn diag_multi<T: Real, const G: usize>(
    a: &[T],
    xs: [&[T]; G],
    ys: [&mut [T]; G],
    k: usize,
) {
    if a.len() < k * k || xs.iter().any(|x| x.len() < k) || ys.iter().any(|y| y.len() < k) {
        // Unreachable for validated arguments; never read out of bounds.
        for y in ys {
            y.fill(T::ZERO);
        }
        return;
    }
    // On hosts the diagonal is copied out into a contiguous buffer first,
    // so that the multiplies are whole-vector ones: with it in an array of
    // registers (the tiles) the compiler emitted one scalar multiply, add
    // and store per element (the 50k k = 64 CG iteration was 2-3% slower,
    // BENCHMARKS.md batch 25). Bare metal keeps the tiles: no vector unit to
    // feed, and no 1-2 KiB of stack for the buffer.
    #[cfg(not(target_os = "none"))]
    if k <= crate::MAX_K {
        diag_multi_buffered(a, xs, ys, k);
        return;
    }
    diag_multi_tiles(a, xs, ys, k);
}

/// [`diag_multi`]'s body on hosts (`k <= MAX_K`, lengths checked): the
/// diagonal into a stack buffer, then `y_v = 0 + d x_v` element-wise.
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn diag_multi_buffered<T: Real, const G: usize>(
    a: &[T],
    xs: [&[T]; G],
    ys: [&mut [T]; G],
    k: usize,
) {
    let mut d = [T::ZERO; crate::MAX_K];
    let d = &mut d[..k];
    for (c, dc) in d.iter_mut().enumerate() {
        *dc = a[c * (k + 1)];
    }
    for (x, y) in xs.iter().zip(ys) {
        for ((yc, xc), dc) in y[..k].iter_mut().zip(&x[..k]).zip(&*d) {
            *yc = T::ZERO + *dc * *xc;
        }
    }
}

/// [`diag_multi`]'s body on bare metal (lengths checked): the diagonal a
/// tile at a time (strided loads, once for all `G` vectors), then the
/// tile's multiplies.
#[inline(always)]
fn diag_multi_tiles<T: Real, const G: usize>(a: &[T], xs: [&[T]; G], ys: [&mut [T]; G], k: usize) {
    const L: usize = SYMV_TILE;
    let xs = xs.map(|x| &x[..k]);
    let mut ys = ys.map(|y| &mut y[..k]);
    let mut c0 = 0;
    while c0 + L <= k {
        let d: [T; L] = core::array::from_fn(|l| a[(c0 + l) * (k + 1)]);
        for (x, y) in xs.iter().zip(ys.iter_mut()) {
            let (x, y) = (&x[c0..c0 + L], &mut y[c0..c0 + L]);
            for l in 0..L {
                y[l] = T::ZERO + d[l] * x[l];
            }
        }
        c0 += L;
    }
    for c in c0..k {
        let d = a[c * (k + 1)];
        for (x, y) in xs.iter().zip(ys.iter_mut()) {
            y[c] = T::ZERO + d * x[c];
        }
    }
}

/// `y_v = A x_v` for `G` vectors by [`diag_multi`] when `diagonal` (the
/// caller's [`is_diagonal`] of `A`), else by [`symv_multi`]: the same bits
/// either way.
#[inline(always)]
pub(crate) fn gram_multi<T: Real, const G: usize>(
    a: &[T],
    diagonal: bool,
    xs: [&[T]; G],
    ys: [&mut [T]; G],
    k: usize,
) {
    if diagonal {
        diag_multi(a, xs, ys, k);
    } else {
        symv_multi(a, xs, ys, k);
    }
}

/// Columns per register tile of [`symv_multi`].
const SYMV_TILE: usize = 16;

/// `xᵀ A x` for a symmetric k x k row-major `A`, without scratch: `A x` one
/// tile of [`SYMV_TILE`] columns at a time, each element by the operations
/// of [`symv`] (`y[c] = 0`, four-row groups, then the last `k mod 4` rows),
/// and each tile's `x[tile] · y[tile]` ([`dot`]) added to the total in tile
/// order; the last `k mod 16` columns add `x_c y_c` one by one.
///
/// Why not `k` dots `x · A[r, :]`: every dot ends in a horizontal sum, and
/// at k = 64 those `k` sums cost more than the `k²` multiply-adds (measured
/// in the training loss: the quadratic term took most of `row_loss`).
///
/// The tile and column loops repeat those of [`symv_multi`] on purpose:
/// sharing them as one `symv_tile::<G>` helper (same bits) made LLVM
/// vectorise the `G = 1` case worse (the training loss at k = 64: 15.6 →
/// 22.7 ms, k = 128: 45 → 75 ms; the CG solve unchanged).
#[inline(always)]
pub(crate) fn quad_form<T: Real>(a: &[T], x: &[T], k: usize) -> T {
    const L: usize = SYMV_TILE;
    if k == 0 || a.len() < k * k || x.len() < k {
        // Unreachable for validated arguments; never read out of bounds.
        return T::ZERO;
    }
    let quad_rows = k / 4 * 4;
    // Column `c`'s element of `A x`, the operations of `symv` in order.
    // A closure on purpose: the host compiles it out of line (without its
    // copy's instruction set; it runs only for `k mod 16` columns), and as
    // an inlined function it made LLVM vectorise the tile loop below worse
    // (the training loss at k = 64: 21 → 43 ms; BENCHMARKS.md, batch 29).
    let column = |c: usize| -> T {
        let mut y = T::ZERO;
        let mut r = 0;
        while r < quad_rows {
            y += (x[r] * a[r * k + c] + x[r + 1] * a[(r + 1) * k + c])
                + (x[r + 2] * a[(r + 2) * k + c] + x[r + 3] * a[(r + 3) * k + c]);
            r += 4;
        }
        while r < k {
            y += x[r] * a[r * k + c];
            r += 1;
        }
        y
    };
    let tile = |off: usize| -> [T; L] {
        a.get(off..off + L)
            .and_then(|s| s.first_chunk::<L>())
            .copied()
            .unwrap_or([T::ZERO; L])
    };
    let mut total = T::ZERO;
    let mut c0 = 0;
    while c0 + L <= k {
        let mut acc = [T::ZERO; L];
        let mut r = 0;
        while r < quad_rows {
            let (a0, a1, a2, a3) = (
                tile(r * k + c0),
                tile((r + 1) * k + c0),
                tile((r + 2) * k + c0),
                tile((r + 3) * k + c0),
            );
            let (x0, x1, x2, x3) = (x[r], x[r + 1], x[r + 2], x[r + 3]);
            for l in 0..L {
                acc[l] += (x0 * a0[l] + x1 * a1[l]) + (x2 * a2[l] + x3 * a3[l]);
            }
            r += 4;
        }
        while r < k {
            let ar = tile(r * k + c0);
            let xr = x[r];
            for l in 0..L {
                acc[l] += xr * ar[l];
            }
            r += 1;
        }
        total += dot(&x[c0..c0 + L], &acc);
        c0 += L;
    }
    // An index loop on purpose: written as `x.iter().enumerate().skip(c0)`
    // this tail made LLVM's SLP vectoriser split the tile loop above into
    // 128-bit pieces (the training loss at k = 64: 14.8 → 22 ms).
    #[allow(clippy::needless_range_loop)]
    for c in c0..k {
        total += x[c] * column(c);
    }
    total
}

/// `y_v = A x_v` for `G` vectors at once (`A` symmetric k x k row-major,
/// every `x_v` and `y_v` of length `k`), as `Σ_r x_v[r] A[r, :]`.
///
/// Every element is the same sequence of operations for any `G` and any
/// vector width: `y[c] = 0`, then for each group of four rows `r..r+4`
/// `y[c] += (x_r A[r][c] + x_{r+1} A[r+1][c]) + (x_{r+2} A[r+2][c] + x_{r+3} A[r+3][c])`,
/// then `y[c] += x_r A[r][c]` for the last `k mod 4` rows. So the `G`
/// results are bit for bit those of `G` single products.
///
/// The loops run over tiles of 16 columns, and within a tile over all rows
/// of `A`, so each tile's `G` partial sums stay in registers and every
/// element of `A` is loaded once for all `G` vectors (at k = 128 `A` is
/// 64 KiB: it streams from L2 once per group instead of once per vector).
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn symv_multi<T: Real, const G: usize>(
    a: &[T],
    xs: [&[T]; G],
    ys: [&mut [T]; G],
    k: usize,
) {
    const L: usize = SYMV_TILE;
    if G == 1 {
        // One vector gains nothing from the tiles (measured: 18% slower at
        // k = 128); the row-quad form is the same operations per element.
        for (x, y) in xs.into_iter().zip(ys) {
            symv(a, x, y, k);
        }
        return;
    }
    if k == 0 || a.len() < k * k || xs.iter().any(|x| x.len() < k) || ys.iter().any(|y| y.len() < k)
    {
        // Unreachable for validated arguments; never read out of bounds.
        for y in ys {
            y.fill(T::ZERO);
        }
        return;
    }
    let quad_rows = k / 4 * 4;
    let tile = |off: usize| -> [T; L] {
        a.get(off..off + L)
            .and_then(|s| s.first_chunk::<L>())
            .copied()
            .unwrap_or([T::ZERO; L])
    };
    // Every vector cut to exactly `k` (checked above): the quads' element
    // reads below are then checked against one length, not one per vector
    // reloaded from the stack (50k, k = 128 CG: 0.196 -> 0.187 s per iteration).
    let xs = xs.map(|x| &x[..k]);
    let mut ys = ys;
    let mut c0 = 0;
    while c0 + L <= k {
        let mut acc = [[T::ZERO; L]; G];
        let mut r = 0;
        while r < quad_rows {
            let a0 = tile(r * k + c0);
            let a1 = tile((r + 1) * k + c0);
            let a2 = tile((r + 2) * k + c0);
            let a3 = tile((r + 3) * k + c0);
            for (acc, x) in acc.iter_mut().zip(&xs) {
                let (x0, x1, x2, x3) = (x[r], x[r + 1], x[r + 2], x[r + 3]);
                for l in 0..L {
                    acc[l] += (x0 * a0[l] + x1 * a1[l]) + (x2 * a2[l] + x3 * a3[l]);
                }
            }
            r += 4;
        }
        while r < k {
            let ar = tile(r * k + c0);
            for (acc, x) in acc.iter_mut().zip(&xs) {
                let xr = x[r];
                for l in 0..L {
                    acc[l] += xr * ar[l];
                }
            }
            r += 1;
        }
        for (y, acc) in ys.iter_mut().zip(&acc) {
            y[c0..c0 + L].copy_from_slice(acc);
        }
        c0 += L;
    }
    // The last k mod 16 columns, element by element in the same order.
    for c in c0..k {
        for (y, x) in ys.iter_mut().zip(&xs) {
            let mut s = T::ZERO;
            let mut r = 0;
            while r < quad_rows {
                s += (x[r] * a[r * k + c] + x[r + 1] * a[(r + 1) * k + c])
                    + (x[r + 2] * a[(r + 2) * k + c] + x[r + 3] * a[(r + 3) * k + c]);
                r += 4;
            }
            while r < k {
                s += x[r] * a[r * k + c];
                r += 1;
            }
            y[c] = s;
        }
    }
}

/// [`symv_multi`] on bare metal: one vector at a time with [`symv`] (a
/// scalar FPU has no wide registers to share `A` across vectors, and the
/// tiles would spill). The same operations per element, so the same bits.
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn symv_multi<T: Real, const G: usize>(
    a: &[T],
    xs: [&[T]; G],
    ys: [&mut [T]; G],
    k: usize,
) {
    for (x, y) in xs.into_iter().zip(ys) {
        symv(a, x, y, k);
    }
}

/// `v > 0`, false for NaN: the test every pivot and denominator must pass.
#[inline(always)]
pub(crate) fn positive<T: Real>(v: T) -> bool {
    v > T::ZERO
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// The bare-metal `dot` (sixteen named sums, the fold skipped below one
    /// chunk) gives the host's bits in `f32` and `f64`, for every length
    /// across the chunk boundaries and signed zeros, cancellations and
    /// values of every magnitude.
    #[test]
    fn bare_metal_dot_is_the_host_dot() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(31);
        let mut value = move || {
            let m = rng.gen_range(-0.5..0.5);
            match rng.gen_range(0..8) {
                0 => 0.0,
                1 => -0.0,
                2 => m * 1e6,
                3 => m * 1e-6,
                _ => m,
            }
        };
        // Under Miri the lengths around the 16-lane chunks' edges.
        let lens: Vec<usize> = if cfg!(miri) {
            [0, 1, 2, 3, 15, 16, 17, 31, 32, 33, 40].into()
        } else {
            (0..=100).collect()
        };
        for n in lens {
            for _ in 0..if cfg!(miri) { 2 } else { 20 } {
                let (mut a, mut b) = ([0.0f64; 100], [0.0f64; 100]);
                let (mut a32, mut b32) = ([0.0f32; 100], [0.0f32; 100]);
                for i in 0..n {
                    (a[i], b[i]) = (value(), value());
                    (a32[i], b32[i]) = (a[i] as f32, b[i] as f32);
                }
                let (a, b) = (&a[..n], &b[..n]);
                let ab = dot_named_sums(a, b).to_bits();
                assert_eq!(ab, dot(a, b).to_bits(), "f64, n = {n}");
                let (a32, b32) = (&a32[..n], &b32[..n]);
                let ab = dot_named_sums(a32, b32).to_bits();
                assert_eq!(ab, dot(a32, b32).to_bits(), "f32, n = {n}");
            }
        }
    }

    /// `syr_half_many` over more cells than one round of its weighted-row
    /// buffer (its callers hand it one block) gives the lower triangle of
    /// the per-cell `syr_lower` loop bit for bit, rows out of range skipped;
    /// fused, the same loop written with `mul_add` (and not the unfused bits).
    /// With `UPPER`, tiled or not, fused or not, the upper triangle holds
    /// the same bits transposed.
    #[test]
    fn rank_updates_over_several_rounds_are_the_rank1_loop() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(11);
        let (n, k) = (40usize, 64usize);
        let h: Vec<f32> = (0..n * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
        // three rounds of 64 cells and a partial one; two rows out of range
        let len = if cfg!(miri) { 70 } else { 3 * 64 + 5 };
        let cells: Vec<u32> = (0..len)
            .map(|t| {
                if t % 61 == 7 {
                    n as u32 + 3
                } else {
                    rng.gen_range(0..n as u32)
                }
            })
            .collect();
        let w: Vec<f32> = (0..len).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let a0: Vec<f32> = (0..k * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut want = a0.clone();
        syr_half_each::<f32, false, false>(&mut want, k, &h, &cells, |t| w[t]);
        // Fused: natively only (Miri checks the same indexing unfused, and
        // the fused tiles in the proof's `fused` module; here they would
        // double this test's 60 s there).
        let fused = !cfg!(miri);
        let mut want_fused = a0.clone();
        for (t, &j) in cells.iter().enumerate().filter(|_| fused) {
            let Some(x) = h.get(j as usize * k..(j as usize + 1) * k) else {
                continue;
            };
            for r in 0..k {
                let s = w[t] * x[r];
                for c in 0..=r {
                    let e = &mut want_fused[r * k + c];
                    *e = s.mul_add(x[c], *e);
                }
            }
        }
        let lower = |a: &[f32]| -> Vec<u32> {
            (0..k)
                .flat_map(|r| (0..=r).map(move |c| a[r * k + c].to_bits()))
                .collect()
        };
        if fused {
            assert_ne!(lower(&want), lower(&want_fused), "fusing changes some bits");
            let mut each = a0.clone();
            syr_half_each::<f32, true, false>(&mut each, k, &h, &cells, |t| w[t]);
            assert_eq!(lower(&each), lower(&want_fused), "fused, untiled");
        }
        for tiling in [Tiling::Wide, Tiling::Narrow] {
            let mut got = a0.clone();
            syr_half_many::<f32, false, false>(&mut got, k, &h, &cells, |t| w[t], tiling);
            for r in 0..k {
                for c in 0..=r {
                    assert_eq!(
                        got[r * k + c].to_bits(),
                        want[r * k + c].to_bits(),
                        "{tiling:?} ({r}, {c})"
                    );
                }
            }
            if fused {
                let mut got = a0.clone();
                syr_half_many::<f32, true, false>(&mut got, k, &h, &cells, |t| w[t], tiling);
                assert_eq!(lower(&got), lower(&want_fused), "fused, {tiling:?}");
            }
        }
        // The upper triangle, started from the transpose of `a0`: element
        // (r, c) the bits of the lower one's (c, r), tiled and untiled.
        let a0t: Vec<f32> = (0..k * k).map(|i| a0[(i % k) * k + i / k]).collect();
        let upper_t = |a: &[f32]| -> Vec<u32> {
            (0..k)
                .flat_map(|r| (0..=r).map(move |c| a[c * k + r].to_bits()))
                .collect()
        };
        // (Under Miri the wide tiles only: the untiled form runs in the
        // kernel's row-solve tests at k = 3, the narrow tiles' indexing is
        // the wide ones'.)
        if !cfg!(miri) {
            let mut each = a0t.clone();
            syr_half_each::<f32, false, true>(&mut each, k, &h, &cells, |t| w[t]);
            assert_eq!(upper_t(&each), lower(&want), "upper, untiled");
        }
        let tilings: &[Tiling] = if cfg!(miri) {
            &[Tiling::Wide]
        } else {
            &[Tiling::Wide, Tiling::Narrow]
        };
        for &tiling in tilings {
            let mut got = a0t.clone();
            syr_half_many::<f32, false, true>(&mut got, k, &h, &cells, |t| w[t], tiling);
            assert_eq!(upper_t(&got), lower(&want), "upper, {tiling:?}");
            if fused {
                let mut got = a0t.clone();
                syr_half_many::<f32, true, true>(&mut got, k, &h, &cells, |t| w[t], tiling);
                assert_eq!(upper_t(&got), lower(&want_fused), "upper fused, {tiling:?}");
            }
        }
        if fused {
            let mut each = a0t.clone();
            syr_half_each::<f32, true, true>(&mut each, k, &h, &cells, |t| w[t]);
            assert_eq!(upper_t(&each), lower(&want_fused), "upper fused, untiled");
        }
    }

    /// A fused multiply-add keeps what two roundings lose: `-1 + (1 + e)(1 - e)`
    /// is `-e²` fused and `0` unfused (`e = 2⁻¹³`: `1 - e²` rounds to 1 in
    /// `f32`). The dots, four-row dots, updates and four-row updates give
    /// each its own way; `dot_with` and `dot4_with` follow the fold.
    #[test]
    fn fused_multiply_adds_round_once() {
        use crate::fold::{Fused, PortableFold};
        let e = 1.0f32 / 8192.0;
        let (lo, hi) = (1.0 - e, 1.0 + e);
        // lane 0 sums element 0 (-1 * 1), then element 16 ((1 + e)(1 - e))
        let mut a = [0.0f32; 17];
        let mut b = [0.0f32; 17];
        (a[0], b[0], a[16], b[16]) = (-1.0, 1.0, hi, lo);
        assert_eq!(madd::<f32, false>(hi, lo, -1.0), 0.0);
        assert_eq!(madd::<f32, true>(hi, lo, -1.0), -e * e);
        assert_eq!(dot(&a, &b), 0.0);
        assert_eq!(dot_with(&a, &b, PortableFold), 0.0);
        assert_eq!(dot_with(&a, &b, Fused(PortableFold)), -e * e);
        assert_eq!(dot_by_m::<f32, f32, true>(&a, &b, |x| x), -e * e);
        let rows = [&a[..], &b[..], &a[..], &a[..]];
        let plain = dot4_with(rows, &b, PortableFold);
        let fused = dot4_with(rows, &b, Fused(PortableFold));
        assert_eq!(plain[0], 0.0);
        assert_eq!(fused[0], -e * e);
        assert_eq!(fused[1], dot_by_m::<f32, f32, true>(&b, &b, |x| x));
        // updates: y = -1, then y += (1 + e)(1 - e)
        let (mut y0, mut y1) = ([-1.0f32; 3], [-1.0f32; 3]);
        axpy_by_m::<f32, f32, false>(hi, &[lo; 3], &mut y0, |x| x);
        axpy_by_m::<f32, f32, true>(hi, &[lo; 3], &mut y1, |x| x);
        assert_eq!((y0, y1), ([0.0; 3], [-e * e; 3]));
        let zero = [0.0f32; 3];
        let x4 = [&[lo; 3][..], &zero[..], &zero[..], &zero[..]];
        let (mut y0, mut y1) = ([-1.0f32; 3], [-1.0f32; 3]);
        axpy4_by_m::<f32, f32, false>([hi, 1.0, 1.0, 1.0], x4, &mut y0, |x| x);
        axpy4_by_m::<f32, f32, true>([hi, 1.0, 1.0, 1.0], x4, &mut y1, |x| x);
        assert_eq!((y0, y1), ([0.0; 3], [-e * e; 3]));
    }

    /// `symv_multi` gives, for every vector, the bits of `symv` on it
    /// alone (a dense `A` with values of every magnitude; every k across
    /// the quad and tile boundaries).
    #[test]
    fn multi_products_are_the_single_products() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(11);
        let mut value = move || {
            let m: f32 = rng.gen_range(-2.0..2.0);
            match rng.gen_range(0..6) {
                0 => m * 1e5,
                1 => m * 1e-5,
                _ => m,
            }
        };
        let ks: Vec<usize> = if cfg!(miri) {
            [0, 3, 5, 16, 17].into()
        } else {
            (0..=40).collect()
        };
        for k in ks {
            let a: Vec<f32> = (0..k * k).map(|_| value()).collect();
            let xs: [Vec<f32>; 4] = core::array::from_fn(|_| (0..k).map(|_| value()).collect());
            let xs = xs.each_ref().map(|x| &x[..]);
            let mut ys = [[1.0f32; 40]; 4];
            symv_multi(&a, xs, ys.each_mut().map(|y| &mut y[..k]), k);
            for v in 0..4 {
                let mut single = [1.0f32; 40];
                symv(&a, xs[v], &mut single[..k], k);
                for c in 0..k {
                    assert_eq!(
                        ys[v][c].to_bits(),
                        single[c].to_bits(),
                        "k = {k}, vector {v}, element {c}"
                    );
                }
            }
        }
    }

    /// `diag_multi` gives `symv`'s and `symv_multi`'s bits for diagonal
    /// matrices (every k across the tile and quad boundaries, signed zeros
    /// in `x` and on the diagonal, `-0` off it), and `is_diagonal` tells
    /// such matrices from ones with one non-zero off the diagonal.
    #[test]
    fn diagonal_products_are_the_dense_products() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(7);
        let mut value = move |zeros: bool| {
            let m = rng.gen_range(-2.0..2.0);
            match rng.gen_range(0..8) {
                0 if zeros => 0.0,
                1 if zeros => -0.0,
                2 => m * 1e6,
                3 => m * 1e-6,
                _ => m,
            }
        };
        const MAX: usize = 40;
        // Under Miri the quad edges and the tile's.
        let ks: Vec<usize> = if cfg!(miri) {
            (0..=5).chain([15, 16, 17]).collect()
        } else {
            (0..=MAX).collect()
        };
        for k in ks {
            let mut a = [0.0f32; MAX * MAX];
            for r in 0..k {
                for c in 0..k {
                    a[r * k + c] = if r == c {
                        value(true)
                    } else if (r + c) % 3 == 0 {
                        -0.0
                    } else {
                        0.0
                    };
                }
            }
            let a = &mut a[..k * k];
            assert!(is_diagonal(a, k), "k = {k}");
            let mut xs = [[0.0f32; MAX]; 4];
            for x in &mut xs {
                for e in &mut x[..k] {
                    *e = value(true);
                }
            }
            let xs = xs.each_ref().map(|x| &x[..k]);
            let (mut dense, mut fast, mut tiles, mut single) = (
                [[1.0f32; MAX]; 4],
                [[1.0f32; MAX]; 4],
                [[1.0f32; MAX]; 4],
                [1.0f32; MAX],
            );
            symv_multi(a, xs, dense.each_mut().map(|y| &mut y[..k]), k);
            gram_multi(a, true, xs, fast.each_mut().map(|y| &mut y[..k]), k);
            // the bare-metal body, which the host's `gram_multi` skips
            diag_multi_tiles(a, xs, tiles.each_mut().map(|y| &mut y[..k]), k);
            for v in 0..4 {
                symv(a, xs[v], &mut single[..k], k);
                for c in 0..k {
                    let (f, t, d, s) = (
                        fast[v][c].to_bits(),
                        tiles[v][c].to_bits(),
                        dense[v][c].to_bits(),
                        single[c].to_bits(),
                    );
                    assert!(
                        f == d && t == d && f == s,
                        "k = {k}, vector {v}, element {c}"
                    );
                }
            }
            if k > 1 {
                a[k - 1] = 1e-30;
                assert!(!is_diagonal(a, k), "k = {k}");
            }
        }
    }
}
