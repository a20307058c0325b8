//! bfloat16 storage of factor rows: the upper 16 bits of an IEEE `f32`
//! (sign, the 8 exponent bits, 7 stored significand bits), so the range is
//! `f32`'s and decoding is a shift.
//!
//! Why: the CG solvers' observed-cell passes read one fixed-side row per
//! observed cell and pass, and at k = 128 they are bound by those bytes
//! rather than by arithmetic (BENCHMARKS.md, batch 19). Rows in bfloat16
//! halve them; `G0` and every vector of the solve stay in `T`.

use crate::check;
use crate::error::Result;

/// `x` rounded to the nearest bfloat16 (ties to even), as bits. A finite
/// `x` beyond the largest finite bfloat16 (`(2 − 2⁻⁷) 2¹²⁷`, just below
/// `f32::MAX`) saturates to it, with `x`'s sign, instead of rounding to
/// infinity; NaN stays NaN and infinity infinity.
///
/// Derivation: adding `0x7FFF` plus the kept part's lowest bit to the
/// `f32` bits carries into bit 16 exactly when the dropped 16 bits exceed
/// half a unit of the kept part, or equal it with the kept part odd.
///
/// ```
/// use wmf_kernel::{bf16_from_f32, bf16_to_f32};
/// assert_eq!(bf16_to_f32(bf16_from_f32(1.0)), 1.0);
/// assert_eq!(bf16_to_f32(bf16_from_f32(1.0 + 1.0 / 256.0)), 1.0); // a tie, to even
/// assert_eq!(bf16_to_f32(bf16_from_f32(1.0 + 3.0 / 512.0)), 1.0 + 1.0 / 128.0);
/// assert_eq!(bf16_to_f32(bf16_from_f32(f32::MAX)), 3.3895314e38);
/// ```
#[inline]
pub fn bf16_from_f32(x: f32) -> u16 {
    let bits = x.to_bits();
    if !x.is_finite() {
        // Infinity keeps its bits; a NaN keeps a set significand bit.
        let quiet = if x.is_nan() { 0x0040 } else { 0 };
        return (bits >> 16) as u16 | quiet;
    }
    round_finite(bits)
}

/// [`bf16_from_f32`] of the finite `f32` with bits `bits`, without
/// branches (so that [`encode_bf16`]'s loop vectorises).
#[inline(always)]
fn round_finite(bits: u32) -> u16 {
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16;
    // Rounded past the largest finite value: saturate, keeping the sign.
    let saturated = ((bits >> 16) & 0x8000) | 0x7F7F;
    (if rounded & 0x7F80 == 0x7F80 {
        saturated
    } else {
        rounded
    }) as u16
}

/// The `f32` a bfloat16 stands for (exact).
#[inline(always)]
pub fn bf16_to_f32(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// Encodes `src` into `dst` element by element ([`bf16_from_f32`]).
///
/// # Errors
/// [`crate::Error::LengthMismatch`] (`what: "dst"`) when the lengths differ;
/// [`crate::Error::NonFinite`] (`what: "factors"`) naming the first NaN or
/// infinity of `src` (then `dst` is unspecified).
///
/// ```
/// let mut bits = [0u16; 2];
/// wmf_kernel::encode_bf16(&[0.5, -3.0], &mut bits).unwrap();
/// assert_eq!(bits, [0x3F00, 0xC040]);
/// ```
// `#[inline]` keeps this function, and the generic `core` iterator code its
// loop instantiates for `f32` slices, out of this crate's own object code.
// Without it the size-optimised C library (no LTO, where rustc shares
// generic instances with the crates upstream) linked to those shared
// instances instead of instantiating its own, could no longer inline them
// (`Zip`'s length query became a call in every zipped loop) and ran its
// firmware stages 2-25% slower (BENCHMARKS.md, batch 19 item 5).
#[inline]
pub fn encode_bf16(src: &[f32], dst: &mut [u16]) -> Result<()> {
    check::len(dst, src.len(), "dst")?;
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = round_finite(s.to_bits());
    }
    // Finite in, finite out (saturating); a NaN or infinity is named here.
    check::finite(src, "factors")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nearest bfloat16 to `x` by search: the two neighbours of `x`'s
    /// truncation, compared in `f64` (exact), ties to the even one.
    fn nearest(x: f32) -> u16 {
        let t = (x.to_bits() >> 16) as u16;
        let lo = f64::from(bf16_to_f32(t));
        let up = t.wrapping_add(1);
        let hi = f64::from(bf16_to_f32(up));
        let (dl, dh) = ((f64::from(x) - lo).abs(), (hi - f64::from(x)).abs());
        if dl < dh || (dl == dh && t.is_multiple_of(2)) {
            t
        } else {
            up
        }
    }

    #[test]
    fn rounds_to_nearest_with_ties_to_even() {
        // every f32 whose upper half is a sample of significands and
        // exponents, with every interesting lower half
        let lows = [0u32, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x1234, 0xC000];
        for hi in (0u32..0x7F7F).step_by(97).chain([0x3F80, 0x3F81, 0x7F7E]) {
            for sign in [0u32, 0x8000] {
                for &lo in &lows {
                    let x = f32::from_bits(((hi | sign) << 16) | lo);
                    assert_eq!(bf16_from_f32(x), nearest(x), "{x:e} ({:#x})", x.to_bits());
                }
            }
        }
        assert_eq!(bf16_from_f32(0.0), 0);
        assert_eq!(bf16_from_f32(-0.0), 0x8000);
        // a subnormal f32 rounds like any other value
        let tiny = f32::from_bits(0x0000_8001);
        assert_eq!(bf16_from_f32(tiny), 1);
    }

    #[test]
    fn saturates_instead_of_overflowing_and_keeps_non_finite_values() {
        let top = f32::from_bits(0x7F7F_0000);
        assert_eq!(bf16_from_f32(f32::MAX), 0x7F7F);
        assert_eq!(bf16_from_f32(-f32::MAX), 0xFF7F);
        assert_eq!(bf16_to_f32(bf16_from_f32(f32::MAX)), top);
        assert_eq!(bf16_from_f32(f32::INFINITY), 0x7F80);
        assert_eq!(bf16_from_f32(f32::NEG_INFINITY), 0xFF80);
        assert!(bf16_to_f32(bf16_from_f32(f32::NAN)).is_nan());
        // a NaN whose payload is only in the lower half stays a NaN
        assert!(bf16_to_f32(bf16_from_f32(f32::from_bits(0x7F80_0001))).is_nan());
    }

    #[test]
    fn encode_matches_the_scalar_rounding_and_names_bad_input() {
        // values of many magnitudes: a fixed-point sequence scaled by 10^-4..10^4
        let src: [f32; 1000] = core::array::from_fn(|i| {
            let frac = ((i * 7919) % 1000) as f32 / 1000.0 - 0.5;
            let scale = [1e-4f32, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4][i % 9];
            frac * scale
        });
        let mut dst = [0u16; 1000];
        encode_bf16(&src, &mut dst).unwrap();
        for (d, s) in dst.iter().zip(&src) {
            assert_eq!(*d, bf16_from_f32(*s));
            // relative error at most 2^-8
            let back = bf16_to_f32(*d);
            assert!((back - s).abs() <= s.abs() / 256.0, "{s} -> {back}");
        }
        let mut short = [0u16; 3];
        assert!(matches!(
            encode_bf16(&src[..4], &mut short),
            Err(crate::Error::LengthMismatch { what: "dst", .. })
        ));
        let bad = [1.0, 2.0, f32::NAN];
        let mut d3 = [0u16; 3];
        assert_eq!(
            encode_bf16(&bad, &mut d3),
            Err(crate::Error::NonFinite {
                what: "factors",
                index: 2
            })
        );
    }
}
