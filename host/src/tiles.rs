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
//! rank turns exactly its own rows). `WMF_ISA=baseline` on a CPU with FMA
//! gives the same bits too. Only an x86-64 CPU without FMA (2012 and
//! older) runs BLAS here instead, with BLAS's rounding: the chain's fused
//! multiply-adds would be the C library's `fmaf` there, many times slower.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

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

/// `c ← c + Fᵀ F` on the lower triangle of the row-major `k x k` matrix
/// `c` (its strict upper triangle is neither read nor written), where `f`
/// is `f.len() / k` row-major rows of `k`: the multiply-adds of BLAS
/// `syrk`. The rows go in passes of [`GRAM_PASS_ROWS`] (the last one
/// shorter); element `(i, j)`, `j ≤ i`, gains each pass's sum
/// `fma(f_{r,i}, f_{r,j}, … fma(f_{r0,i}, f_{r0,j}, 0))` over the pass's rows
/// in order, one addition per pass. Nothing is done for mismatched
/// lengths.
pub fn gram_lower_add<T: Float>(f: &[T], k: usize, c: &mut [T]) {
    if k == 0 || c.len() != k * k || !f.len().is_multiple_of(k) {
        return;
    }
    gram_on(isa(), f, k, c);
}

/// Rows per pass of [`gram_lower_add`]: every tile of the triangle streams
/// the pass's rows (from L2: 512 KiB at k = 128 in `f32`), and each pass
/// ends with one addition per element. 50,000 rows at k = 128 in blocks of
/// 1020 (the training's Gramian blocks) took 5.7, 5.7 and 5.4 ms with
/// passes of 64, 256 and 1024 rows on one Zen 5 core, BLAS `ssyrk` 9.3.
pub const GRAM_PASS_ROWS: usize = 1024;

/// Defines `$name(isa, args…)`, which runs `$body::<T, R, L>(args…)` with
/// `R x L` register tiles compiled for `isa`: on AVX-512 two vectors of
/// sixteen `f32` (eight `f64`) per tile row and eight rows (16 of the 32
/// registers hold sums), on AVX2 two vectors of eight (four) and six rows
/// (12 of 16), elsewhere 4 x 8. One function per entry point: more
/// products in one body were measured to lose their vector code (LLVM
/// left most of the tiles' multiply-adds scalar).
///
/// [`Isa::Baseline`] on an x86-64 CPU with FMA (`WMF_ISA=baseline`) runs
/// a copy compiled with FMA alone: the same bits. An x86-64 CPU without
/// FMA runs `$fallback` (BLAS) instead: the chain there would be the C
/// library's `fmaf` per element, many times slower than BLAS, so such a
/// machine gets BLAS's speed and rounding (its results differ from an FMA
/// machine's by rounding, as any BLAS's do across machines).
macro_rules! by_isa {
    ($name:ident = $body:ident or $fallback:ident ($($arg:ident: $ty:ty),*)) => {
        fn $name<T: Float>(isa: Isa, $($arg: $ty),*) {
            // Fuzz builds keep only the plain copy (as `isa_dispatch!`).
            #[cfg(all(target_arch = "x86_64", not(fuzzing)))]
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
                #[target_feature(enable = "fma")]
                fn fma<T: Float>($($arg: $ty),*) {
                    $body::<T, 4, 8>($($arg),*)
                }
                match isa {
                    // SAFETY: `isa()` returns Avx512 / Avx2 only when the CPU
                    // has those features and FMA (detected at run time).
                    Isa::Avx512 => unsafe { avx512($($arg),*) },
                    Isa::Avx2 => unsafe { avx2($($arg),*) },
                    // SAFETY: the CPU has FMA (the guard; the detection is
                    // cached by std, one atomic load per call).
                    Isa::Baseline if std::arch::is_x86_feature_detected!("fma") => unsafe {
                        fma($($arg),*)
                    },
                    Isa::Baseline => $fallback($($arg),*),
                }
            }
            #[cfg(any(not(target_arch = "x86_64"), fuzzing))]
            {
                let _ = isa;
                $body::<T, 4, 8>($($arg),*)
            }
        }
    };
}

by_isa!(times_q_on = times_q_all or times_q_blas(rows: &[T], q: &[T], k: usize, out: &mut [T]));
by_isa!(in_place_on = in_place_all or in_place_blas(rows: &mut [T], q: &[T], k: usize));
by_isa!(gram_on = gram_all or gram_blas(f: &[T], k: usize, c: &mut [T]));
/// [`times_q`] by one BLAS `gemm` ([`by_isa`]'s fallback for x86-64
/// without FMA; lengths checked).
#[cfg_attr(any(not(target_arch = "x86_64"), fuzzing), allow(dead_code))]
fn times_q_blas<T: Float>(rows: &[T], q: &[T], k: usize, out: &mut [T]) {
    let n = rows.len() / k;
    if let (Ok(f), Ok(qm), Ok(mut o)) = (
        ArrayView2::from_shape((n, k), rows),
        ArrayView2::from_shape((k, k), q),
        ArrayViewMut2::from_shape((n, k), out),
    ) {
        general_mat_mul(T::ONE, &f, &qm, T::ZERO, &mut o);
    }
}

/// [`times_q_in_place`] by [`times_q_blas`] into a buffer.
#[cfg_attr(any(not(target_arch = "x86_64"), fuzzing), allow(dead_code))]
fn in_place_blas<T: Float>(rows: &mut [T], q: &[T], k: usize) {
    let mut out = vec![T::ZERO; rows.len()];
    times_q_blas(rows, q, k, &mut out);
    rows.copy_from_slice(&out);
}

/// [`gram_lower_add`] by one BLAS `gemm` into a buffer, its lower triangle
/// added to `c`.
#[cfg_attr(any(not(target_arch = "x86_64"), fuzzing), allow(dead_code))]
fn gram_blas<T: Float>(f: &[T], k: usize, c: &mut [T]) {
    let Ok(fv) = ArrayView2::from_shape((f.len() / k, k), f) else {
        return;
    };
    let mut g = Array2::<T>::zeros((k, k));
    general_mat_mul(T::ONE, &fv.t(), &fv, T::ZERO, &mut g);
    for i in 0..k {
        for j in 0..=i {
            c[i * k + j] += g[[i, j]];
        }
    }
}

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

/// [`gram_lower_add`] with `R x L` tiles (lengths checked): for each pass,
/// the bands of `R` output rows (the last `k mod R` rows one at a time),
/// in each band the tiles of `L` columns that reach the lower triangle
/// (the last `k mod L` columns one at a time).
#[inline(always)]
fn gram_all<T: Float, const R: usize, const L: usize>(f: &[T], k: usize, c: &mut [T]) {
    for pass in f.chunks(GRAM_PASS_ROWS * k) {
        let mut i0 = 0;
        while i0 + R <= k {
            gram_band::<T, R, L>(pass, k, i0, c);
            i0 += R;
        }
        while i0 < k {
            gram_band::<T, 1, L>(pass, k, i0, c);
            i0 += 1;
        }
    }
}

/// The tiles of output rows `i0..i0 + R` ([`gram_all`]).
#[inline(always)]
fn gram_band<T: Float, const R: usize, const L: usize>(f: &[T], k: usize, i0: usize, c: &mut [T]) {
    let last = i0 + R - 1;
    let mut c0 = 0;
    while c0 + L <= k && c0 <= last {
        let sums = gram_tile::<T, R, L>(f, k, i0, c0);
        add_lower(c, k, i0, c0, &sums);
        c0 += L;
    }
    while c0 <= last.min(k - 1) {
        let sums = gram_tile::<T, R, 1>(f, k, i0, c0);
        add_lower(c, k, i0, c0, &sums);
        c0 += 1;
    }
}

/// One `R x L` tile's sums over the rows `f`, from zero: row `r`'s `R`
/// values `f_{r,i0..}` broadcast against its `L` values `f_{r,c0..}`.
/// (Read this way, from zero and returned by value, LLVM keeps the sums in
/// registers and vectorises along the columns; sums loaded from `c` first,
/// or the row's `R` values taken as one array, left them on the stack or
/// vectorised along the rows.)
#[inline(always)]
fn gram_tile<T: Float, const R: usize, const L: usize>(
    f: &[T],
    k: usize,
    i0: usize,
    c0: usize,
) -> [[T; L]; R] {
    let mut acc = [[T::ZERO; L]; R];
    if i0 + R > k || c0 + L > k {
        return acc; // unreachable: the bands and tiles lie inside `k`
    }
    for row in f.chunks_exact(k) {
        let b: [T; L] = row
            .get(c0..c0 + L)
            .and_then(|s| s.first_chunk::<L>())
            .copied()
            .unwrap_or([T::ZERO; L]);
        for (i, acc) in acc.iter_mut().enumerate() {
            // (in bounds: `i0 + i < k = row.len()`, checked above)
            let a = row[i0 + i];
            for (s, &b) in acc.iter_mut().zip(&b) {
                *s = a.fma(b, *s);
            }
        }
    }
    acc
}

/// `c[i0 + i][c0 + l] += sums[i][l]` where that element is on or below the
/// diagonal.
#[inline(always)]
fn add_lower<T: Float, const R: usize, const L: usize>(
    c: &mut [T],
    k: usize,
    i0: usize,
    c0: usize,
    sums: &[[T; L]; R],
) {
    for (i, sums) in sums.iter().enumerate() {
        let at = (i0 + i) * k + c0;
        let n = (i0 + i + 1).saturating_sub(c0).min(L);
        if let Some(out) = c.get_mut(at..at + n) {
            for (o, &s) in out.iter_mut().zip(sums) {
                *o += s;
            }
        }
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

    /// The lower triangle gains one chain per element per pass of
    /// [`GRAM_PASS_ROWS`] rows, on every instruction set the CPU has; the
    /// strict upper triangle is not touched.
    #[test]
    fn gram_lower_add_is_one_chain_per_pass_on_every_isa() {
        let mut rng = StdRng::seed_from_u64(4);
        for k in [1usize, 3, 7, 8, 9, 16, 17, 33, 40, 64, 70, 128] {
            for n in [0usize, 1, 5, 63, 64, 65, 200] {
                let f = random(&mut rng, n * k);
                let start = random(&mut rng, k * k);
                let mut want = start.clone();
                for i in 0..k {
                    for c in 0..=i {
                        for pass in f.chunks(GRAM_PASS_ROWS * k) {
                            let mut s = 0f32;
                            for row in pass.chunks(k) {
                                s = row[i].mul_add(row[c], s);
                            }
                            want[i * k + c] += s;
                        }
                    }
                }
                for level in [Isa::Baseline, Isa::Avx2, Isa::Avx512] {
                    if level > isa() {
                        continue;
                    }
                    let mut got = start.clone();
                    gram_on(level, &f, k, &mut got);
                    assert_eq!(got, want, "k = {k}, n = {n}, {level:?}");
                }
            }
        }
    }

    /// The BLAS fallbacks (x86-64 without FMA) give the chains' results to
    /// rounding.
    #[test]
    fn the_blas_fallbacks_agree_to_rounding() {
        let mut rng = StdRng::seed_from_u64(6);
        let k = 40;
        let q = random(&mut rng, k * k);
        let x = random(&mut rng, 70 * k);
        let (mut want, mut got) = (vec![0f32; x.len()], vec![0f32; x.len()]);
        times_q(&x, &q, k, &mut want);
        times_q_blas(&x, &q, k, &mut got);
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * (1.0 + a.abs());
        assert!(want.iter().zip(&got).all(|(&a, &b)| close(a, b)));
        let mut rows = x.clone();
        in_place_blas(&mut rows, &q, k);
        assert!(want.iter().zip(&rows).all(|(&a, &b)| close(a, b)));
        let start = random(&mut rng, k * k);
        let (mut want, mut got) = (start.clone(), start.clone());
        gram_lower_add(&x, k, &mut want);
        gram_blas(&x, k, &mut got);
        for i in 0..k {
            for j in 0..k {
                let (a, b) = (want[i * k + j], got[i * k + j]);
                if j <= i {
                    assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "({i}, {j})");
                } else {
                    assert_eq!(b, start[i * k + j], "upper ({i}, {j}) untouched");
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
        let mut c = [5.0f64; 3];
        gram_lower_add(&[1.0; 4], 2, &mut c);
        assert_eq!(c, [5.0; 3]);
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
