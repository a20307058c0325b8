//! Lock-step Cholesky factorisations and substitutions of up to [`LANES`]
//! independent systems, one system per vector lane.
//!
//! A short row's capacitance system (see [`crate::lowrank`]) is 14-48
//! rows at k = 64: too small for its factorisation to keep a core busy.
//! Each pivot's `sqrt` and reciprocal wait on the updates before them, and
//! each forward step on the one before it, so one system is a chain of
//! latencies with little independent work beside it. Sixteen systems side
//! by side turn every scalar operation of the textbook algorithm into one
//! operation on sixteen lanes: the same chains, shared by sixteen rows.
//!
//! Layout: element `(i, j)` of lane `l`'s `n x n` matrix is
//! `a[(i * n + j) * LANES + l]`, a vector `a[i * n + j]` of [`LANES`]
//! values per element; a vector of length `n` is `v[i * LANES + l]`.
//!
//! Every lane performs exactly the operations of the one-system functions
//! in [`crate::cholesky`] on its own system, in the same order (the same
//! pivot-order subtractions, the same reciprocal scalings, the same dot
//! lanes and fold in the forward substitution), so each lane's result is
//! bit for bit that of the one-system functions. The tests hold every lane
//! of every function here to them.
//!
//! A system smaller than `n` is padded: zeros off its diagonal, ones on
//! it. Its padded rows then factor to the identity (every update they
//! receive or give is `+0.0`), the substitutions leave its padded entries
//! `+0.0` when its right-hand side is `+0.0` there, and its own entries
//! get exactly their unpadded values: `x − (+0.0)` is `x` for every `x`,
//! `−0.0` included.

use crate::real::{Real, positive};

/// Systems solved side by side: sixteen, an AVX-512 register of `f32`.
pub const LANES: usize = 16;

/// One element of [`LANES`] systems.
type Lanes<T> = [T; LANES];

/// Column block of [`factor_lanes`]: this many elements of a row of `L` are
/// formed together, four independent subtraction chains.
const QB: usize = 4;

/// Factors [`LANES`] matrices in place, `n x n` each in the lane layout
/// (see the [module docs](self)), `n` a multiple of four: on return the
/// lower triangle of each lane holds its `L` with `A = L Lᵀ`, and `inv`
/// (`n` vectors) the pivots' reciprocals `1 / L_pp`. Returns the lanes whose
/// factorisation failed (bit `l` for lane `l`): a pivot not positive or not
/// finite. A failed lane's values are meaningless; the others are exact.
///
/// Row by row, element `(i, q)` of each lane is `a_iq − L_i0 L_q0 − L_i1
/// L_q1 − …` subtracted one product at a time in pivot order, then times
/// `1 / L_qq`; the diagonal is `sqrt` of its sum: the operations of
/// [`crate::cholesky_in_place`] on every element. Four elements of a row
/// are formed together (independent chains; each load of row `i`'s
/// element serves four); the entries right of the diagonal of a row's last
/// block are computed from values that are never results, and dropped.
///
/// The strict upper triangle of `a` is read (and dropped), never written.
#[inline(always)]
pub(crate) fn factor_lanes<T: Real>(a: &mut [T], n: usize, inv: &mut [T]) -> u32 {
    let (a, _) = a.as_chunks_mut::<LANES>();
    let (inv, _) = inv.as_chunks_mut::<LANES>();
    let mut bad = 0u32;
    for i in 0..n {
        let mut q0 = 0;
        while q0 <= i {
            // columns q0..q0 + QB of row i (q0 + QB <= n: n and q0 are
            // multiples of QB)
            let mut acc: [Lanes<T>; QB] = [[T::ZERO; LANES]; QB];
            for (t, ac) in acc.iter_mut().enumerate() {
                *ac = a[i * n + q0 + t];
            }
            for p in 0..q0 {
                let x = a[i * n + p];
                for (t, ac) in acc.iter_mut().enumerate() {
                    let y = a[(q0 + t) * n + p];
                    for l in 0..LANES {
                        ac[l] -= x[l] * y[l];
                    }
                }
            }
            // the block's own pivots, one column after the other
            for (t, &ac) in acc.iter().enumerate() {
                let q = q0 + t;
                if q > i {
                    break;
                }
                let mut ac = ac;
                for p in q0..q {
                    let (x, y) = (a[i * n + p], a[q * n + p]);
                    for l in 0..LANES {
                        ac[l] -= x[l] * y[l];
                    }
                }
                if q < i {
                    let r = inv[q];
                    for l in 0..LANES {
                        ac[l] *= r[l];
                    }
                    a[i * n + q] = ac;
                } else {
                    let mut lv = [T::ZERO; LANES];
                    let mut r = [T::ZERO; LANES];
                    for l in 0..LANES {
                        if !positive(ac[l]) || !ac[l].is_finite() {
                            bad |= 1 << l;
                        }
                        lv[l] = ac[l].sqrt();
                        r[l] = T::ONE / lv[l];
                    }
                    a[i * n + i] = lv;
                    inv[i] = r;
                }
            }
            q0 += QB;
        }
    }
    bad
}

/// Solves `L Lᵀ x = b` in place for [`LANES`] systems (`l`, `n x n` each
/// in the lane layout, from [`factor_lanes`] with its reciprocals `inv`;
/// `b`, `n` vectors): the forward substitution of
/// [`crate::cholesky_solve_in_place`] (`y_p = (b_p − L_p,<p · y_<p) ·
/// (1 / L_pp)`, the dot with the kernel's sixteen lane sums and fold), then
/// its backward one (`x_q = y_q · (1 / L_qq)`, then `y_p −= L_qp x_q` for
/// every `p < q`), every lane on its own system.
#[inline(always)]
pub(crate) fn substitute_lanes<T: Real>(l: &[T], inv: &[T], b: &mut [T], n: usize) {
    let (l, _) = l.as_chunks::<LANES>();
    let (inv, _) = inv.as_chunks::<LANES>();
    let (b, _) = b.as_chunks_mut::<LANES>();
    for p in 0..n {
        // dot(L_p,<p, y_<p): sixteen lane sums over whole chunks of 16,
        // their fold, then the tail one product at a time
        let row = &l[p * n..p * n + p];
        let chunks = p / 16;
        let mut sum = [T::ZERO; LANES];
        if chunks > 0 {
            let mut acc: [Lanes<T>; 16] = [[T::ZERO; LANES]; 16];
            for c in 0..chunks {
                for (d, ad) in acc.iter_mut().enumerate() {
                    let (x, y) = (row[c * 16 + d], b[c * 16 + d]);
                    for s in 0..LANES {
                        ad[s] += x[s] * y[s];
                    }
                }
            }
            sum = fold_lanes(acc);
        }
        for j in chunks * 16..p {
            let (x, y) = (row[j], b[j]);
            for s in 0..LANES {
                sum[s] += x[s] * y[s];
            }
        }
        let (r, mut v) = (inv[p], b[p]);
        for s in 0..LANES {
            v[s] = (v[s] - sum[s]) * r[s];
        }
        b[p] = v;
    }
    backward_lanes(b, n, |q, p| l[q * n + p], |p| inv[p]);
}

/// The backward substitution `Lᵀ x = y` of [`crate::cholesky`] on
/// [`LANES`] systems in place (`y`: `n` vectors), with `L_qp` from
/// `l(q, p)` and `1 / L_pp` from `inv(p)`, each a vector of the lanes'
/// values.
///
/// The one-system form runs by columns of `Lᵀ`: `x_q = y_q · (1 / L_qq)`,
/// then `y_p −= L_qp x_q` for every `p < q`, so `y_p` receives the
/// subtractions of `q = n − 1, n − 2, …, p + 1` in that order before it is
/// scaled. Here each `y_p` takes the same subtractions in the same order
/// in a register, four `p` at a time (four independent chains; `x_q` of
/// the four's own `q` once it is final), then its scaling: the same
/// operations on every element, so the same bits, without storing every
/// `y_p` back `n − p` times (a store and a reload per update, which the
/// column form spends on the lanes' 64-byte vectors).
#[inline(always)]
fn backward_lanes<T: Real>(
    y: &mut [Lanes<T>],
    n: usize,
    l: impl Fn(usize, usize) -> Lanes<T>,
    inv: impl Fn(usize) -> Lanes<T>,
) {
    let mut hi = n;
    while hi > 0 {
        // rows lo..hi, the highest first
        let lo = hi.saturating_sub(QB);
        let mut acc: [Lanes<T>; QB] = [[T::ZERO; LANES]; QB];
        for (t, ac) in acc.iter_mut().enumerate().take(hi - lo) {
            *ac = y[hi - 1 - t];
        }
        for q in (hi..n).rev() {
            let xq = y[q];
            for (t, ac) in acc.iter_mut().enumerate().take(hi - lo) {
                let lq = l(q, hi - 1 - t);
                for s in 0..LANES {
                    ac[s] -= lq[s] * xq[s];
                }
            }
        }
        for (t, &ac) in acc.iter().enumerate().take(hi - lo) {
            let p = hi - 1 - t;
            let mut ac = ac;
            for q in (p + 1..hi).rev() {
                let (lq, xq) = (l(q, p), y[q]);
                for s in 0..LANES {
                    ac[s] -= lq[s] * xq[s];
                }
            }
            let r = inv(p);
            for s in 0..LANES {
                ac[s] *= r[s];
            }
            y[p] = ac;
        }
        hi = lo;
    }
}

/// The kernel's fold of a dot's sixteen lane sums ([`crate::real`]'s
/// `lane_tree`: lane `d` gets `d + 8`, then `d + 4`, `d + 2`, `d + 1`), on
/// [`LANES`] dots at once.
#[inline(always)]
fn fold_lanes<T: Real>(mut a: [Lanes<T>; 16]) -> Lanes<T> {
    for half in [8, 4, 2, 1] {
        for d in 0..half {
            let hi = a[d + half];
            for s in 0..LANES {
                a[d][s] += hi[s];
            }
        }
    }
    a[0]
}

/// `Lᵀ x = y` in place for [`LANES`] right-hand sides sharing one factor
/// `l` (`k x k`, row-major, its lower triangle; `y`: `k` vectors in the
/// lane layout): [`crate::cholesky`]'s backward substitution (`x_q = y_q ·
/// (1 / L_qq)`, then `y_p −= L_qp x_q` for every `p < q`) on every lane.
/// One reciprocal and one element of `L` serve all lanes.
#[inline(always)]
pub(crate) fn backward_shared_lanes<T: Real>(l: &[T], y: &mut [T], k: usize) {
    let (y, _) = y.as_chunks_mut::<LANES>();
    backward_lanes(
        y,
        k,
        |q, p| [l[q * k + p]; LANES],
        |p| [T::ONE / l[p * k + p]; LANES],
    );
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::cholesky::{backward_unchecked, factor_unchecked, substitute_unchecked};
    use crate::testing::Gen;
    use std::{vec, vec::Vec};

    /// `LANES` random SPD systems of sizes `sizes[l] <= n` (`I + V Vᵀ`,
    /// `V` random `size x 5`), one-system layout, and the right-hand sides.
    fn systems(g: &mut Gen, sizes: &[usize; LANES]) -> Vec<(Vec<f32>, Vec<f32>)> {
        sizes
            .iter()
            .map(|&m| {
                let v: Vec<f32> = (0..m * 5).map(|_| g.next() as f32).collect();
                let mut a = vec![0.0f32; m * m];
                for i in 0..m {
                    for j in 0..m {
                        let mut s = if i == j { 1.0 } else { 0.0 };
                        for t in 0..5 {
                            s += v[i * 5 + t] * v[j * 5 + t];
                        }
                        a[i * m + j] = s;
                    }
                }
                let b = (0..m).map(|_| g.next() as f32).collect();
                (a, b)
            })
            .collect()
    }

    #[test]
    fn every_lane_is_the_one_system_solve_bit_for_bit() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let ns: &[usize] = if cfg!(miri) {
            &[4, 20]
        } else {
            &[4, 8, 16, 20, 36, 48]
        };
        for &n in ns {
            let mut sizes = [0usize; LANES];
            for (l, s) in sizes.iter_mut().enumerate() {
                // the full size, padded lanes of every size below it, empty
                *s = if l == 0 { n } else { (l * 7 + n) % (n + 1) };
            }
            let sys = systems(&mut g, &sizes);
            let mut a = vec![f32::NAN; n * n * LANES];
            let mut b = vec![0.0f32; n * LANES];
            for (l, ((m, bm), &sz)) in sys.iter().zip(&sizes).enumerate() {
                for i in 0..n {
                    for j in 0..=i {
                        a[(i * n + j) * LANES + l] = if i < sz && j < sz {
                            m[i * sz + j]
                        } else if i == j {
                            1.0
                        } else {
                            0.0
                        };
                    }
                    b[i * LANES + l] = if i < sz { bm[i] } else { 0.0 };
                }
            }
            let mut inv = vec![0.0f32; n * LANES];
            assert_eq!(factor_lanes(&mut a, n, &mut inv), 0);
            substitute_lanes(&a, &inv, &mut b, n);
            for (l, ((m, bm), &sz)) in sys.iter().zip(&sizes).enumerate() {
                let (mut m, mut bm) = (m.clone(), bm.clone());
                if sz > 0 {
                    factor_unchecked(&mut m, sz).unwrap();
                    substitute_unchecked(&m, &mut bm, sz);
                }
                for i in 0..n {
                    for j in 0..=i.min(sz.saturating_sub(1)) {
                        if i < sz {
                            let got = a[(i * n + j) * LANES + l];
                            assert_eq!(
                                got.to_bits(),
                                m[i * sz + j].to_bits(),
                                "n {n} lane {l} L[{i}][{j}]"
                            );
                        }
                    }
                    let want = if i < sz { bm[i] } else { 0.0 };
                    let got = b[i * LANES + l];
                    assert_eq!(got.to_bits(), want.to_bits(), "n {n} lane {l} x[{i}]");
                }
            }
        }
    }

    #[test]
    fn a_failed_pivot_marks_only_its_lane() {
        let n = 4;
        let mut a = vec![0.0f64; n * n * LANES];
        for l in 0..LANES {
            for i in 0..n {
                a[(i * n + i) * LANES + l] = 2.0;
            }
        }
        a[(2 * n + 2) * LANES + 5] = -1.0;
        a[(n + 1) * LANES + 9] = f64::NAN;
        let mut inv = vec![0.0; n * LANES];
        assert_eq!(factor_lanes(&mut a, n, &mut inv), (1 << 5) | (1 << 9));
        assert_eq!(a[(3 * n + 3) * LANES], 2.0f64.sqrt());
    }

    #[test]
    fn shared_backward_is_the_one_system_backward_bit_for_bit() {
        let mut g = Gen(12345);
        let ks: &[usize] = if cfg!(miri) {
            &[1, 7, 17]
        } else {
            &[1, 7, 16, 33, 64]
        };
        for &k in ks {
            let mut l: Vec<f64> = (0..k * k).map(|_| g.next()).collect();
            for d in 0..k {
                l[d * k + d] = 1.5 + g.next().abs();
            }
            let ys: Vec<Vec<f64>> = (0..LANES)
                .map(|_| (0..k).map(|_| g.next()).collect())
                .collect();
            let mut y = vec![0.0; k * LANES];
            for (s, ys) in ys.iter().enumerate() {
                for (q, v) in ys.iter().enumerate() {
                    y[q * LANES + s] = *v;
                }
            }
            backward_shared_lanes(&l, &mut y, k);
            for (s, ys) in ys.iter().enumerate() {
                let mut want = ys.clone();
                backward_unchecked(&l, &mut want, k);
                for (q, w) in want.iter().enumerate() {
                    assert_eq!(
                        y[q * LANES + s].to_bits(),
                        w.to_bits(),
                        "k {k} lane {s} x[{q}]"
                    );
                }
            }
        }
    }
}
