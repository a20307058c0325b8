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
pub fn encode_bf16(src: &[f32], dst: &mut [u16]) -> Result<()> {
    check::len(dst, src.len(), "dst")?;
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = round_finite(s.to_bits());
    }
    // Finite in, finite out (saturating); a NaN or infinity is named here.
    check::finite(src, "factors")
}
