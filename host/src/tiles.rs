//! The turn of whole factor matrices into the Gramian's eigenbasis,
//! `rows ← rows Q` ([`times_q`], [`times_q_in_place`]), in register tiles
//! of fused multiply-adds instead of a BLAS `gemm`.
//!
//! **Why not BLAS.** The product is skinny: a `k x k` right factor
//! against blocks of 64 rows, one call per block so that the blocks run in
//! parallel (and a CG task turns its own rows just before it solves them).
//! OpenBLAS packs both operands on every such call, and it runs whatever
//! kernel set its `OPENBLAS_CORETYPE` names: AVX2's on the machines
//! BENCHMARKS.md measures, where this crate's own loops run AVX-512. A tile
//! here reads its operands in place (`Q` and a block of rows stay in L1 /
//! L2), keeps its sums in registers and runs at the widest vector width the
//! CPU has ([`isa`]): 50,000 rows at k = 128 in 9.5 ms against `sgemm`'s
//! 16.4 ms on one Zen 5 core (`cargo bench -p wmf-host --bench host --
//! rotation`; BENCHMARKS.md, batch 33).
//!
//! **Same bits everywhere.** Every element is one chain of fused
//! multiply-adds in a fixed order: `(rows Q)[r][c] = fma(x_{r,k−1},
//! Q[k−1][c], … fma(x_{r,0}, Q[0][c], 0))`. The tile shape (chosen per
//! instruction set and type) only decides which elements are in flight
//! together, so the result does not depend on the instruction set, the
//! tile, the BLAS core or how the rows are split into calls (a distributed
//! rank turns exactly its own rows). On x86-64 without FMA
//! (`WMF_ISA=baseline`) the fused multiply-add is the C library's correctly
//! rounded `fmaf` / `fma`: the same bits, slowly, as for the kernel's own
//! loops there.

use crate::als::{Isa, isa};
use crate::gramian::Float;

/// `out = rows · Q` for `rows` (`n` rows of `k`, row-major), `q` (`k x k`,
/// row-major) and `out` (`n x k`): each output element one chain of fused
/// multiply-adds over `l = 0..k` (see the module). Nothing is done for
/// mismatched lengths (`rows` and `out` of different lengths or not whole
/// rows, `q` not `k x k`).
pub fn times_q<T: Float>(rows: &[T], q: &[T], k: usize, out: &mut [T]) {
    if k == 0 || q.len() != k * k || rows.len() != out.len() || !rows.len().is_multiple_of(k) {
        return;
    }
    times_q_on(isa(), rows, q, k, out);
}

/// `rows ← rows · Q` in place: the bits of [`times_q`] (each row is read
/// whole before it is written). Nothing is done for mismatched lengths.
pub fn times_q_in_place<T: Float>(rows: &mut [T], q: &[T], k: usize) {
    if k == 0 || q.len() != k * k || !rows.len().is_multiple_of(k) {
        return;
    }
    in_place_on(isa(), rows, q, k);
}

/// Defines `$name(isa, args…)`, which runs `$body::<T, R, L>(args…)` with
/// `R x L` register tiles compiled for `isa`: on AVX-512 two vectors of
/// sixteen `f32` (eight `f64`) per tile row and eight rows (16 of the 32
/// registers hold sums), on AVX2 two vectors of eight (four) and six rows
/// (12 of 16), elsewhere 4 x 8. One function per entry point: more
/// products in one body were measured to lose their vector code (LLVM
/// left most of the tiles' multiply-adds scalar).
macro_rules! by_isa {
    ($name:ident = $body:ident ($($arg:ident: $ty:ty),*)) => {
        fn $name<T: Float>(isa: Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                fn avx512<T: Float>($($arg: $ty),*) {
                    if size_of::<T>() == 4 {
                        $body::<T, 8, 32>($($arg),*)
                    } else {
                        $body::<T, 8, 16>($($arg),*)
                    }
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2<T: Float>($($arg: $ty),*) {
                    if size_of::<T>() == 4 {
                        $body::<T, 6, 16>($($arg),*)
                    } else {
                        $body::<T, 6, 8>($($arg),*)
                    }
                }
                match isa {
                    // SAFETY: `isa()` returns Avx512 / Avx2 only when the CPU
                    // has those features and FMA (detected at run time).
                    Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    Isa::Baseline => {}
                }
            }
            let _ = isa;
            $body::<T, 4, 8>($($arg),*)
        }
    };
}

by_isa!(times_q_on = times_q_all(rows: &[T], q: &[T], k: usize, out: &mut [T]));
by_isa!(in_place_on = in_place_all(rows: &mut [T], q: &[T], k: usize));
/// [`times_q`] with `R x L` tiles (lengths checked).
#[inline(always)]
fn times_q_all<T: Float, const R: usize, const L: usize>(
    rows: &[T],
    q: &[T],
    k: usize,
    out: &mut [T],
) {
    for (x, y) in rows.chunks(R * k).zip(out.chunks_mut(R * k)) {
        times_q_rows::<T, R, L>(x, q, k, y);
    }
}

/// [`times_q_in_place`] with `R x L` tiles (lengths checked): `R` rows at
/// a time through a buffer.
#[inline(always)]
fn in_place_all<T: Float, const R: usize, const L: usize>(rows: &mut [T], q: &[T], k: usize) {
    let mut stack = [[T::ZERO; wmf_kernel::MAX_K]; R];
    let mut heap = Vec::new();
    let tmp: &mut [T] = if k <= wmf_kernel::MAX_K {
        &mut stack.as_flattened_mut()[..R * k]
    } else {
        heap.resize(R * k, T::ZERO);
        &mut heap
    };
    for x in rows.chunks_mut(R * k) {
        let y = &mut tmp[..x.len()];
        times_q_rows::<T, R, L>(x, q, k, y);
        x.copy_from_slice(y);
    }
}

/// `y = x Q` for at most `R` rows `x` (whole rows of `k`): tiles of `R` rows
/// by `L` columns whose sums stay in registers over `l = 0..k`, the last
/// `k mod L` columns one at a time, a last partial group of rows one row at
/// a time; every element the same chain.
#[inline(always)]
fn times_q_rows<T: Float, const R: usize, const L: usize>(x: &[T], q: &[T], k: usize, y: &mut [T]) {
    if x.len() == R * k {
        times_q_tile::<T, R, L>(x, q, k, y);
    } else {
        for (x, y) in x.chunks(k).zip(y.chunks_mut(k)) {
            times_q_tile::<T, 1, L>(x, q, k, y);
        }
    }
}

/// [`times_q_rows`] for exactly `R` rows.
#[inline(always)]
fn times_q_tile<T: Float, const R: usize, const L: usize>(x: &[T], q: &[T], k: usize, y: &mut [T]) {
    let x: [&[T]; R] = core::array::from_fn(|i| &x[i * k..(i + 1) * k]);
    let mut c0 = 0;
    while c0 + L <= k {
        let mut acc = [[T::ZERO; L]; R];
        for l in 0..k {
            let ql: [T; L] = q
                .get(l * k + c0..l * k + c0 + L)
                .and_then(|s| s.first_chunk::<L>())
                .copied()
                .unwrap_or([T::ZERO; L]);
            for (acc, x) in acc.iter_mut().zip(&x) {
                let a = x[l];
                for (s, &b) in acc.iter_mut().zip(&ql) {
                    *s = a.fma(b, *s);
                }
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            y[i * k + c0..i * k + c0 + L].copy_from_slice(acc);
        }
        c0 += L;
    }
    for c in c0..k {
        for (i, x) in x.iter().enumerate() {
            let mut s = T::ZERO;
            for (l, &a) in x.iter().enumerate() {
                s = a.fma(q[l * k + c], s);
            }
            y[i * k + c] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn random(rng: &mut StdRng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(-1.0..1.0f32)).collect()
    }

    /// Every instruction set the CPU has gives the bits of one scalar
    /// chain per element, for every `k` across the tile widths and for row
    /// counts across the tile heights, in place and not.
    #[test]
    fn times_q_is_one_chain_per_element_on_every_isa() {
        let mut rng = StdRng::seed_from_u64(3);
        for k in [1usize, 2, 7, 8, 15, 16, 17, 31, 32, 33, 40, 64, 70, 128] {
            let q = random(&mut rng, k * k);
            for n in [1usize, 5, 6, 8, 9, 13, 17] {
                let x = random(&mut rng, n * k);
                let mut want = vec![0f32; n * k];
                for r in 0..n {
                    for c in 0..k {
                        let mut s = 0f32;
                        for l in 0..k {
                            s = x[r * k + l].mul_add(q[l * k + c], s);
                        }
                        want[r * k + c] = s;
                    }
                }
                for level in [Isa::Baseline, Isa::Avx2, Isa::Avx512] {
                    if level > isa() {
                        continue;
                    }
                    let mut got = vec![f32::NAN; n * k];
                    times_q_on(level, &x, &q, k, &mut got);
                    assert_eq!(got, want, "k = {k}, n = {n}, {level:?}");
                    let mut rows = x.clone();
                    in_place_on(level, &mut rows, &q, k);
                    assert_eq!(rows, want, "in place, k = {k}, n = {n}, {level:?}");
                }
            }
        }
    }

    #[test]
    fn mismatched_lengths_do_nothing() {
        let q = [1.0f64; 4];
        let mut out = [7.0f64; 3];
        times_q(&[1.0; 3], &q, 2, &mut out);
        assert_eq!(out, [7.0; 3]);
        let mut rows = [2.0f64; 4];
        times_q_in_place(&mut rows, &[1.0; 3], 2);
        assert_eq!(rows, [2.0; 4]);
    }

    #[test]
    fn f64_matches_the_definition() {
        let mut rng = StdRng::seed_from_u64(5);
        let k = 19;
        let q: Vec<f64> = (0..k * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let x: Vec<f64> = (0..11 * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut got = vec![0.0; x.len()];
        times_q(&x, &q, k, &mut got);
        for r in 0..11 {
            for col in 0..k {
                let want: f64 = (0..k).map(|l| x[r * k + l] * q[l * k + col]).sum();
                assert!((got[r * k + col] - want).abs() < 1e-12);
            }
        }
    }
}
