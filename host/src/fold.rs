//! The kernel's four lane folds in x86 shuffles ([`wmf_kernel::LaneFold`]).
//!
//! Each four-row dot of the CG solvers' observed-cell passes ends in four
//! folds of sixteen lane sums, in the tree order the kernel defines
//! ([`wmf_kernel::lane_folds`]). From portable code LLVM builds them out of
//! single-lane extracts and inserts (about 80 instructions per four cells);
//! here each level of the tree is whole-register adds of two dots' halves,
//! paired by two-source shuffles (about 15 instructions). Every addition
//! has the operands of the kernel's, in the same order, so the bits are the
//! kernel's for every input (a NaN where the kernel's is NaN: Rust leaves
//! NaN payloads unspecified, and the kernel reports any non-finite result as
//! an error); the tests check that against [`wmf_kernel::lane_folds`].
//!
//! A fold value is a proof that its instructions exist on this CPU: the
//! types have private fields, and the only way to make one is a
//! `#[target_feature]` function, which safe code can call only from code
//! compiled with those features (the [`crate::als`] dispatch copies, which
//! run only after the features were detected), or a checked constructor.

use wmf_kernel::LaneFold;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The folds in AVX-512 shuffles (`f32`; `f64` as the kernel's code).
#[derive(Debug, Clone, Copy)]
pub struct Avx512Fold(());

/// The folds in AVX2 shuffles (`f32` as two 8-lane halves per dot; `f64`
/// as the kernel's code).
#[derive(Debug, Clone, Copy)]
pub struct Avx2Fold(());

impl Avx512Fold {
    /// The fold, where this CPU has AVX-512 F (the only extension its
    /// shuffles use); `None` elsewhere.
    pub fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some(Self(()));
        }
        None
    }
}

impl Avx2Fold {
    /// The fold, where this CPU has AVX2 (the only extension its shuffles
    /// use); `None` elsewhere.
    pub fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Some(Self(()));
        }
        None
    }
}

/// The AVX-512 fold, for code compiled with AVX-512 F (safe to call only
/// there, which is what makes the token's existence a proof).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
#[cfg_attr(fuzzing, allow(dead_code))] // fuzz builds keep no CPU copies
pub(crate) fn avx512() -> Avx512Fold {
    Avx512Fold(())
}

/// The AVX2 fold, for code compiled with AVX2 (as [`avx512`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
#[cfg_attr(fuzzing, allow(dead_code))] // fuzz builds keep no CPU copies
pub(crate) fn avx2() -> Avx2Fold {
    Avx2Fold(())
}

impl LaneFold for Avx512Fold {
    #[inline(always)]
    fn fold4_f32(self, s: [[f32; 16]; 4]) -> [f32; 4] {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx512Fold` exists only where AVX-512 F was
            // detected or its target feature was enabled (module docs).
            unsafe { fold4_avx512(s) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        wmf_kernel::lane_folds(s)
    }
}

impl LaneFold for Avx2Fold {
    #[inline(always)]
    fn fold4_f32(self, s: [[f32; 16]; 4]) -> [f32; 4] {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fold` exists only where AVX2 was detected or
            // its target feature was enabled (module docs).
            unsafe { fold4_avx(s) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        wmf_kernel::lane_folds(s)
    }
}

/// The four folds with 512-bit registers, one dot per register.
///
/// With `a`, `b`, `c`, `d` the dots' lanes and quarters `q0..q3` of four
/// lanes each:
/// 1. `l += l + 8`: `[a.q0 a.q1 b.q0 b.q1] + [a.q2 a.q3 b.q2 b.q3]` gives
///    `a`'s and `b`'s eight sums in one register (`c`, `d` in another);
/// 2. `l += l + 4`: the first quarters of both registers plus their second
///    quarters: `[a b c d]`, four sums each;
/// 3. `l += l + 2` and 4. `0 + 1` within each quarter, by in-lane permutes.
///
/// Lane 0 of quarter `d` is then dot `d`'s result.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn fold4_avx512(s: [[f32; 16]; 4]) -> [f32; 4] {
    // (Plain loads, not `s.map(..)`: a closure may stay out of line, and
    // then runs without this function's target features.)
    // SAFETY: each `s[d]` is 16 `f32`s, an unaligned 512-bit load's operand.
    let [a, b, c, d] = unsafe {
        [
            _mm512_loadu_ps(s[0].as_ptr()),
            _mm512_loadu_ps(s[1].as_ptr()),
            _mm512_loadu_ps(s[2].as_ptr()),
            _mm512_loadu_ps(s[3].as_ptr()),
        ]
    };
    const LO: i32 = 0b01_00_01_00; // quarters 0, 1 of each operand
    const HI: i32 = 0b11_10_11_10; // quarters 2, 3
    let ab = _mm512_add_ps(
        _mm512_shuffle_f32x4::<LO>(a, b),
        _mm512_shuffle_f32x4::<HI>(a, b),
    );
    let cd = _mm512_add_ps(
        _mm512_shuffle_f32x4::<LO>(c, d),
        _mm512_shuffle_f32x4::<HI>(c, d),
    );
    const EVEN: i32 = 0b10_00_10_00; // quarters 0, 2 of each operand
    const ODD: i32 = 0b11_01_11_01; // quarters 1, 3
    let q = _mm512_add_ps(
        _mm512_shuffle_f32x4::<EVEN>(ab, cd),
        _mm512_shuffle_f32x4::<ODD>(ab, cd),
    );
    let h = _mm512_add_ps(q, _mm512_permute_ps::<0b11_10_11_10>(q)); // l + 2
    let r = _mm512_add_ps(h, _mm512_permute_ps::<0b01_01_01_01>(h)); // l + 1
    // lanes 0, 4, 8, 12 into the low quarter, for callers that store the
    // four results together
    let packed = _mm512_castps512_ps128(_mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        r,
    ));
    let mut out = [0.0f32; 4];
    // SAFETY: `out` is 4 `f32`s, an unaligned 128-bit store's operand.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), packed) };
    out
}

/// The four folds with 256-bit registers, each dot's lanes as two halves
/// (`lo` = lanes 0-7, `hi` = lanes 8-15):
/// 1. `l += l + 8`: `lo + hi`, one register per dot;
/// 2. `l += l + 4`: `[a.lo4 b.lo4] + [a.hi4 b.hi4]` (and `c`, `d`);
/// 3. `l += l + 2`: within 128-bit lanes, the first two of each dot's
///    four plus the last two, `a` and `c` in the low lane, `b` and `d` in
///    the high one;
/// 4. `0 + 1`: each pair plus its neighbour.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn fold4_avx(s: [[f32; 16]; 4]) -> [f32; 4] {
    // SAFETY: each `s[d]` is 16 `f32`s; the loads of lanes 0-7 and 8-15
    // are inside it. (Plain code rather than `s.map(..)`, as in
    // `fold4_avx512`.)
    let [(a0, a1), (b0, b1), (c0, c1), (d0, d1)] = unsafe {
        [
            (
                _mm256_loadu_ps(s[0].as_ptr()),
                _mm256_loadu_ps(s[0].as_ptr().add(8)),
            ),
            (
                _mm256_loadu_ps(s[1].as_ptr()),
                _mm256_loadu_ps(s[1].as_ptr().add(8)),
            ),
            (
                _mm256_loadu_ps(s[2].as_ptr()),
                _mm256_loadu_ps(s[2].as_ptr().add(8)),
            ),
            (
                _mm256_loadu_ps(s[3].as_ptr()),
                _mm256_loadu_ps(s[3].as_ptr().add(8)),
            ),
        ]
    };
    let (a, b, c, d) = (
        _mm256_add_ps(a0, a1),
        _mm256_add_ps(b0, b1),
        _mm256_add_ps(c0, c1),
        _mm256_add_ps(d0, d1),
    );
    let ab = _mm256_add_ps(
        _mm256_permute2f128_ps::<0x20>(a, b),
        _mm256_permute2f128_ps::<0x31>(a, b),
    );
    let cd = _mm256_add_ps(
        _mm256_permute2f128_ps::<0x20>(c, d),
        _mm256_permute2f128_ps::<0x31>(c, d),
    );
    // per 128-bit lane: [ab0 ab1 cd0 cd1] + [ab2 ab3 cd2 cd3]
    let q = _mm256_add_ps(
        _mm256_shuffle_ps::<0b01_00_01_00>(ab, cd),
        _mm256_shuffle_ps::<0b11_10_11_10>(ab, cd),
    );
    let r = _mm256_add_ps(q, _mm256_permute_ps::<0b10_11_00_01>(q));
    // low lane: a at 0, c at 2; high lane: b at 4, d at 6
    let packed = _mm256_castps256_ps128(_mm256_permutevar8x32_ps(
        r,
        _mm256_setr_epi32(0, 4, 2, 6, 0, 0, 0, 0),
    ));
    let mut out = [0.0f32; 4];
    // SAFETY: `out` is 4 `f32`s, an unaligned 128-bit store's operand.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), packed) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wmf_kernel::{PortableFold, lane_folds};

    /// Lane values that make every addition of the tree count: mixed
    /// magnitudes (so the order changes the rounding), signed zeros,
    /// infinities and NaNs with distinct payloads.
    fn cases() -> Vec<[[f32; 16]; 4]> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let special = [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(0x7fc0_0001),
            f32::from_bits(0xffc0_0002),
            f32::MIN_POSITIVE / 2.0,
            f32::MAX,
            -f32::MAX,
            1.0,
        ];
        let mut out = Vec::new();
        for case in 0..4000 {
            let s = std::array::from_fn(|_| {
                std::array::from_fn(|_| {
                    let r = next();
                    if case % 4 == 0 && r % 5 == 0 {
                        special[(r >> 8) as usize % special.len()]
                    } else {
                        // random sign, mantissa and exponent (2^-20 .. 2^20)
                        let e = ((r >> 32) % 41) as i32 - 20;
                        let m = 1.0 + (r >> 40) as f32 / (1u64 << 24) as f32;
                        let v = m * 2f32.powi(e);
                        if r & 1 == 1 { -v } else { v }
                    }
                })
            });
            out.push(s);
        }
        out
    }

    /// The bits, with every NaN as one value (payloads are unspecified).
    fn bits(v: [f32; 4]) -> [u32; 4] {
        v.map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() })
    }

    #[test]
    fn avx512_fold_is_the_kernels_bit_for_bit() {
        let Some(fold) = Avx512Fold::detect() else {
            eprintln!("skipped: no AVX-512 F on this CPU");
            return;
        };
        for s in cases() {
            assert_eq!(bits(fold.fold4_f32(s)), bits(lane_folds(s)), "{s:?}");
            // f64 goes through the kernel's code
            let w = s.map(|v| v.map(f64::from));
            let bits64 = |v: [f64; 4]| v.map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() });
            assert_eq!(bits64(fold.fold4_f64(w)), bits64(lane_folds(w)));
        }
    }

    #[test]
    fn avx2_fold_is_the_kernels_bit_for_bit() {
        let Some(fold) = Avx2Fold::detect() else {
            eprintln!("skipped: no AVX2 on this CPU");
            return;
        };
        for s in cases() {
            assert_eq!(bits(fold.fold4_f32(s)), bits(lane_folds(s)), "{s:?}");
        }
    }

    #[test]
    fn the_cases_tell_orders_apart() {
        // The check above means something only if a different order gives
        // different bits on these inputs: summing the lanes left to right
        // must disagree with the tree on many of them.
        let differs = cases()
            .iter()
            .filter(|s| {
                let seq = s[0].iter().fold(0.0f32, |acc, v| acc + v);
                seq.to_bits() != lane_folds(**s)[0].to_bits()
            })
            .count();
        assert!(differs > 1000, "only {differs} of 4000 cases differ");
        let s = cases()[1];
        assert_eq!(bits(PortableFold.fold4_f32(s)), bits(lane_folds(s)));
    }
}
