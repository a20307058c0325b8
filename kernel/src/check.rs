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
/// `a` finite, whatever its strict upper triangle holds: the whole matrix
/// is scanned first (the common, all-finite case in one branch-free pass)
/// and only when that fails are the lower rows searched for the first bad
/// entry. Inlined, so that the host's vector copies vectorise the scan.
#[inline(always)]
pub(crate) fn lower_finite<T: Real>(a: &[T], k: usize, what: &'static str) -> Result<()> {
    if a.len() == k * k && all_finite(a) {
        return Ok(());
    }
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

/// [`lower_finite`] for a matrix kept in the transposed layout: the upper
/// triangle of `a` holds the lower one's values (element `(r, c)`, `c <=
/// r`, at `a[c k + r]`), whatever the strict lower triangle holds. The
/// same fast pass; the same error as [`lower_finite`] on the mirrored
/// matrix (the first bad element in the lower triangle's row order, its
/// index `r k + c` there).
#[inline(always)]
pub(crate) fn upper_finite<T: Real>(a: &[T], k: usize, what: &'static str) -> Result<()> {
    if a.len() == k * k && all_finite(a) {
        return Ok(());
    }
    for r in 0..k {
        if let Some(c) = (0..=r).find(|&c| !a[c * k + r].is_finite()) {
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
/// finite `v` and NaN for an infinite or NaN one. Four independent 16-lane
/// sums (64 elements a pass) keep four add chains in flight instead of one,
/// so checking a `k x k` matrix costs about one cycle per 16 elements, not
/// one add latency; the sums, 0 or NaN, are then folded to one chunk.
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn all_finite<T: Real>(s: &[T]) -> bool {
    let (wide, rest) = s.as_chunks::<64>();
    let mut acc = [T::ZERO; 64];
    for c in wide {
        let c = *c;
        for l in 0..64 {
            acc[l] += c[l] * T::ZERO;
        }
    }
    let (chunks, rest) = rest.as_chunks::<16>();
    for c in chunks {
        let c = *c;
        for l in 0..16 {
            acc[l] += c[l] * T::ZERO;
        }
    }
    let mut sum = [T::ZERO; 16];
    for part in acc.as_chunks::<16>().0 {
        for l in 0..16 {
            sum[l] += part[l];
        }
    }
    sum.iter().chain(rest).all(|v| v.is_finite())
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

/// True when every `x_i + alpha p_i` is finite (over the common length),
/// branch-free as [`all_finite`].
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn axpy_all_finite<T: Real>(alpha: T, p: &[T], x: &[T]) -> bool {
    let (cx, rx) = x.as_chunks::<16>();
    let (cp, rp) = p.as_chunks::<16>();
    let mut acc = [T::ZERO; 16];
    for (a, b) in cx.iter().zip(cp) {
        for l in 0..16 {
            acc[l] += (a[l] + alpha * b[l]) * T::ZERO;
        }
    }
    acc.iter().all(|v| v.is_finite())
        && rx
            .iter()
            .zip(rp)
            .all(|(a, b)| (*a + alpha * *b).is_finite())
}

/// [`axpy_all_finite`] for bare metal: a plain scan (see [`all_finite`]).
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn axpy_all_finite<T: Real>(alpha: T, p: &[T], x: &[T]) -> bool {
    x.iter().zip(p).all(|(a, b)| (*a + alpha * *b).is_finite())
}

/// Every element finite and `>= 0`.
#[inline(always)]
pub(crate) fn nonneg<T: Real>(s: &[T], what: &'static str) -> Result<()> {
    if all_nonneg(s) {
        return Ok(());
    }
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

/// True when every element is finite and `>= 0`, branch-free on hosts: the
/// [`all_finite`] sums, and a count of negative elements (a NaN compares
/// false and is caught by the sums). [`nonneg`] then only scans for the
/// first bad element when there is one.
#[cfg(not(target_os = "none"))]
#[inline(always)]
pub(crate) fn all_nonneg<T: Real>(s: &[T]) -> bool {
    let (chunks, rest) = s.as_chunks::<16>();
    let mut acc = [T::ZERO; 16];
    let mut neg = [0u32; 16];
    for c in chunks {
        for l in 0..16 {
            acc[l] += c[l] * T::ZERO;
            neg[l] |= u32::from(c[l] < T::ZERO);
        }
    }
    acc.iter().all(|v| v.is_finite())
        && neg.iter().all(|&n| n == 0)
        && rest.iter().all(|v| v.is_finite() && *v >= T::ZERO)
}

/// [`all_nonneg`] for bare metal: a plain scan.
#[cfg(target_os = "none")]
#[inline(always)]
pub(crate) fn all_nonneg<T: Real>(s: &[T]) -> bool {
    s.iter().all(|v| v.is_finite() && *v >= T::ZERO)
}

/// A scalar that must be finite and `>= 0`.
pub(crate) fn scalar_nonneg<T: Real>(v: T, what: &'static str) -> Result<()> {
    nonneg(core::slice::from_ref(&v), what)
}

/// True when every index is `< n`, branch-free (vectorises).
#[inline(always)]
pub(crate) fn all_below(items: &[u32], n: usize) -> bool {
    items.iter().fold(true, |ok, &i| ok & ((i as usize) < n))
}

/// Item indices strictly ascending and `< n`.
#[inline(always)]
pub(crate) fn items(items: &[u32], n: usize, what: &'static str) -> Result<()> {
    // Branch-free pass first (vectorises): every index below `n` and each
    // one above the one before; the scan below names the first bad position.
    let below = all_below(items, n);
    let ascending = items.windows(2).fold(true, |ok, w| ok & (w[0] < w[1]));
    if below && ascending {
        return Ok(());
    }
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

/// [`result`] for the upper triangle (diagonal included) of the row-major
/// `k x k` matrix `a`, whose strict lower triangle may hold anything: the
/// whole matrix is scanned first (the common, all-finite case in one fast
/// pass) and only when that fails are the upper rows scanned alone.
#[inline(always)]
pub(crate) fn upper_result<T: Real>(a: &[T], k: usize, what: &'static str) -> Result<()> {
    if all_finite(a) || (0..k).all(|r| a.get(r * k + r..(r + 1) * k).is_some_and(all_finite)) {
        Ok(())
    } else {
        Err(Error::NonFiniteResult { what })
    }
}

#[cfg(test)]
mod tests {
    //! The branch-free checks against plain scans, at every length up to
    //! three 16-lane chunks and with one bad value at every position.
    extern crate std;
    use super::*;
    use std::{vec, vec::Vec};

    /// Lengths tried: past three chunks natively, past one under Miri.
    const LENS: usize = if cfg!(miri) { 20 } else { 50 };

    fn bad_values() -> [f32; 5] {
        [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -1.0, -0.0]
    }

    #[test]
    fn upper_result_reads_only_the_upper_triangle() {
        let k = 5;
        for bad in bad_values().into_iter().filter(|v| !v.is_finite()) {
            for i in 0..k * k {
                let mut a: Vec<f32> = (0..k * k).map(|v| v as f32).collect();
                a[i] = bad;
                let (r, c) = (i / k, i % k);
                let got = upper_result(&a, k, "a");
                if c >= r {
                    assert_eq!(got, Err(Error::NonFiniteResult { what: "a" }), "({r}, {c})");
                } else {
                    assert_eq!(got, Ok(()), "({r}, {c})");
                }
            }
        }
    }

    #[test]
    fn all_finite_equals_the_scan() {
        // past three 64-element passes and a 16-lane tail natively; under
        // Miri every length to one chunk and one past it, one pass, and one
        // pass with a chunk and a tail (85 = 64 + 16 + 5)
        let lens: Vec<usize> = if cfg!(miri) {
            (0..=17).chain([64, 85]).collect()
        } else {
            (0..3 * 64 + 20).collect()
        };
        for len in lens {
            let good: Vec<f32> = (0..len).map(|i| i as f32 * 1e30 - 3.0).collect();
            assert!(all_finite(&good), "len {len}");
            for at in 0..len {
                for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
                    let mut s = good.clone();
                    s[at] = bad;
                    assert!(!all_finite(&s), "len {len} at {at} {bad}");
                }
            }
        }
        // an infinity and a negative infinity in different partial sums
        let mut s = [0.0f32; 130];
        s[3] = f32::INFINITY;
        s[3 + 16] = f32::NEG_INFINITY;
        assert!(!all_finite(&s));
    }

    /// `upper_finite` is `lower_finite` of the transpose.
    #[test]
    fn upper_finite_is_the_lower_check_of_the_transpose() {
        let ks: Vec<usize> = if cfg!(miri) {
            vec![1, 3, 17]
        } else {
            (1..20).collect()
        };
        for k in ks {
            let good: Vec<f32> = (0..k * k).map(|i| i as f32 * 0.5).collect();
            // Under Miri every 7th position past k = 3 (7 is prime to 17:
            // rows, columns and the diagonal all come up; natively all).
            let step = if cfg!(miri) && k > 3 { 7 } else { 1 };
            for at in (0..k * k).step_by(step) {
                for bad in [f32::INFINITY, f32::NAN] {
                    let mut a = good.clone();
                    a[at] = bad;
                    let t: Vec<f32> = (0..k * k).map(|i| a[(i % k) * k + i / k]).collect();
                    assert_eq!(
                        upper_finite(&t, k, "a"),
                        lower_finite(&a, k, "a"),
                        "k {k} at {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn lower_finite_reads_only_the_lower_triangle() {
        // Under Miri the small orders and one past a 16-lane chunk.
        let ks: Vec<usize> = if cfg!(miri) {
            (1..=5).chain([17]).collect()
        } else {
            (1..20).collect()
        };
        for k in ks {
            let good: Vec<f32> = (0..k * k).map(|i| i as f32 * 0.5).collect();
            assert_eq!(lower_finite(&good, k, "a"), Ok(()));
            for at in 0..k * k {
                for bad in [f32::INFINITY, f32::NAN] {
                    let mut a = good.clone();
                    a[at] = bad;
                    let want = if at % k <= at / k {
                        Err(Error::NonFinite {
                            what: "a",
                            index: at,
                        })
                    } else {
                        Ok(())
                    };
                    assert_eq!(lower_finite(&a, k, "a"), want, "k {k} at {at} {bad}");
                }
            }
        }
    }

    #[test]
    fn axpy_all_finite_equals_the_scan() {
        for len in 0..LENS {
            let x: Vec<f32> = (0..len).map(|i| i as f32 - 7.0).collect();
            let p: Vec<f32> = (0..len).map(|i| 1.0 - i as f32 * 0.5).collect();
            for at in 0..len {
                for (v, alpha) in [(f32::MAX, 2.0), (f32::NAN, 1.0), (1.0, f32::MAX)] {
                    let mut pb = p.clone();
                    pb[at] = v;
                    let scan = x
                        .iter()
                        .zip(&pb)
                        .all(|(a, b)| (*a + alpha * *b).is_finite());
                    assert_eq!(
                        axpy_all_finite(alpha, &pb, &x),
                        scan,
                        "len {len} at {at} {v} {alpha}"
                    );
                }
            }
            assert!(axpy_all_finite(0.5, &p, &x), "len {len}");
        }
    }

    #[test]
    fn nonneg_and_items_name_the_first_bad_position() {
        for len in 0..LENS {
            let good: Vec<f32> = (0..len).map(|i| i as f32 * 0.25).collect();
            assert_eq!(nonneg(&good, "v"), Ok(()));
            for at in 0..len {
                for bad in bad_values() {
                    let mut s = good.clone();
                    s[at] = bad;
                    let want = if !bad.is_finite() {
                        Err(Error::NonFinite {
                            what: "v",
                            index: at,
                        })
                    } else if bad < 0.0 {
                        Err(Error::Negative {
                            what: "v",
                            index: at,
                        })
                    } else {
                        Ok(())
                    };
                    assert_eq!(nonneg(&s, "v"), want, "len {len} at {at} {bad}");
                }
            }
            let idx: Vec<u32> = (0..len as u32).map(|i| 2 * i).collect();
            assert_eq!(items(&idx, 2 * len, "items"), Ok(()));
            for at in 0..len {
                let mut out = idx.clone();
                out[at] = 2 * len as u32;
                let got = items(&out, 2 * len, "items");
                let want = Err(Error::IndexOutOfRange {
                    what: "items",
                    position: at,
                    index: 2 * len,
                    bound: 2 * len,
                });
                assert_eq!(got, want, "len {len} at {at}");
                if at > 0 {
                    let mut dup = idx.clone();
                    dup[at] = dup[at - 1];
                    let want = Err(Error::NotAscending {
                        what: "items",
                        position: at,
                    });
                    assert_eq!(items(&dup, 2 * len, "items"), want, "len {len} at {at}");
                }
            }
        }
    }
}
