//! Fused multiply-adds ([`Fused`]): the exact row solve with a fused fold
//! solves the textbook normal equations written with `mul_add` (the rank
//! updates `A += (w x[r]) x[c]` and `b += (c p) h`), for `k` on and off the
//! tiles' multiples of 16 and rows longer than one block, to the rounding
//! of the last step (the row solve factors and substitutes in its own
//! layout, whose sums run in another order than `solve_spd_in_place`'s;
//! the kernel's unit tests hold it to those equations put through that
//! layout bit for bit); any other fold gives `solve_row_cholesky`'s bits.
//! The fused solves (exact, low-rank) agree with the unfused ones to
//! rounding.

use crate::common::{MIRI, rng, sorted_sample};
use rand::Rng;
use wmf_kernel::{
    Baseline, Factors, Fused, Items, PortableFold, Row, Whitened, gramian, low_rank_scratch_len,
    solve_row_cholesky, solve_row_cholesky_folded, solve_row_low_rank_folded, solve_spd_in_place,
    whiten_rows, whitening_factor,
};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn max_rel(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max(f64::from((x - y).abs())))
        / scale.max(f64::MIN_POSITIVE)
}

/// The normal equations with fused multiply-adds, lower triangle, and
/// their solution by the kernel's dense solve.
#[allow(clippy::too_many_arguments)]
fn textbook_fused(
    h: &[f32],
    g0: &[f32],
    c0: &[f32],
    k: usize,
    items: &[u32],
    conf: &[f32],
    pref: &[f32],
    lambda: f32,
) -> Vec<f32> {
    let mut a = g0.to_vec();
    let mut b = vec![0.0f32; k];
    for (t, &j) in items.iter().enumerate() {
        let x = &h[j as usize * k..(j as usize + 1) * k];
        let cx = conf[t] * pref[t];
        for (bi, xi) in b.iter_mut().zip(x) {
            *bi = cx.mul_add(*xi, *bi);
        }
        let w = conf[t] - c0[j as usize];
        for r in 0..k {
            let s = w * x[r];
            for c in 0..=r {
                a[r * k + c] = s.mul_add(x[c], a[r * k + c]);
            }
        }
    }
    for d in 0..k {
        a[d * k + d] += lambda;
    }
    solve_spd_in_place(&mut a, &mut b, k).expect("positive definite");
    b
}

#[test]
fn fused_exact_solve_is_the_fused_textbook() {
    let mut r = rng(301);
    let ks: &[usize] = if MIRI {
        &[3, 16]
    } else {
        &[1, 3, 16, 17, 32, 64]
    };
    for &k in ks {
        let n = if MIRI { 20 } else { 300 };
        let h: Vec<f32> = (0..n * k).map(|_| r.gen_range(-0.5..0.5)).collect();
        for per_item in [false, true] {
            let c0v: Vec<f32> = (0..n)
                .map(|_| if per_item { r.gen_range(0.2..1.5) } else { 1.0 })
                .collect();
            let baseline = if per_item {
                Baseline::PerItem(&c0v)
            } else {
                Baseline::Uniform(1.0)
            };
            let fac = Factors::new(&h, n, k).unwrap();
            let mut g0 = vec![0.0f32; k * k];
            gramian(&fac, baseline, &mut g0).unwrap();
            let model = Items::new(fac, &g0, baseline).unwrap();
            // one cell, a few, and (natively) more than one block of rows
            let lens: &[usize] = if MIRI { &[1, 7] } else { &[1, 7, 40, 290] };
            for &len in lens {
                let items = sorted_sample(&mut r, n, len);
                let conf: Vec<f32> = (0..len).map(|_| r.gen_range(1.5..20.0)).collect();
                let pref: Vec<f32> = (0..len).map(|_| r.gen_range(-1.0..2.0)).collect();
                let row = Row::new(&items, &conf, Some(&pref));
                let lambda = 0.1f32;
                let mut a = vec![0.0f32; k * k];
                let (mut plain, mut folded, mut fused) =
                    (vec![0.0f32; k], vec![0.0f32; k], vec![0.0f32; k]);
                solve_row_cholesky(&model, &row, lambda, &mut a, &mut plain).unwrap();
                solve_row_cholesky_folded(&model, &row, lambda, &mut a, &mut folded, PortableFold)
                    .unwrap();
                solve_row_cholesky_folded(
                    &model,
                    &row,
                    lambda,
                    &mut a,
                    &mut fused,
                    Fused(PortableFold),
                )
                .unwrap();
                let what = format!("k {k} len {len} per-item {per_item}");
                assert_eq!(bits(&folded), bits(&plain), "portable fold, {what}");
                let want = textbook_fused(&h, &g0, &c0v, k, &items, &conf, &pref, lambda);
                assert!(max_rel(&fused, &want) < 1e-5, "fused, {what}");
                assert!(max_rel(&fused, &plain) < 1e-3, "fused near unfused, {what}");
            }
        }
    }
}

#[test]
fn fused_low_rank_solve_agrees_with_the_unfused_one() {
    let mut r = rng(302);
    let (n, k) = if MIRI { (24, 16) } else { (200, 32) };
    let h: Vec<f32> = (0..n * k).map(|_| r.gen_range(-0.5..0.5)).collect();
    let fac = Factors::new(&h, n, k).unwrap();
    let mut g0 = vec![0.0f32; k * k];
    gramian(&fac, Baseline::Uniform(1.0), &mut g0).unwrap();
    let lambda = 0.1f32;
    let mut l = vec![0.0f32; k * k];
    whitening_factor(&g0, lambda, k, &mut l).unwrap();
    let mut hw = h.clone();
    whiten_rows(&l, k, &mut hw).unwrap();
    let w = Whitened::new(Factors::new(&hw, n, k).unwrap(), &l, Baseline::Uniform(1.0)).unwrap();
    let model = Items::new(Factors::new(&h, n, k).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
    for len in [1usize, 5, 9, 14] {
        // ascending, spread over the table
        let items: Vec<u32> = (0..len as u32).map(|t| t * (n / 16) as u32).collect();
        let conf: Vec<f32> = (0..len).map(|_| r.gen_range(1.5..20.0)).collect();
        let row = Row::implicit(&items, &conf);
        let mut scratch = vec![0.0f32; low_rank_scratch_len(len, k)];
        let (mut plain, mut fused, mut exact) = (vec![0.0f32; k], vec![0.0f32; k], vec![0.0f32; k]);
        assert!(
            solve_row_low_rank_folded(&w, &row, &mut scratch, &mut plain, PortableFold).unwrap()
        );
        assert!(
            solve_row_low_rank_folded(&w, &row, &mut scratch, &mut fused, Fused(PortableFold))
                .unwrap()
        );
        let mut a = vec![0.0f32; k * k];
        solve_row_cholesky_folded(
            &model,
            &row,
            lambda,
            &mut a,
            &mut exact,
            Fused(PortableFold),
        )
        .unwrap();
        assert!(max_rel(&fused, &plain) < 1e-3, "len {len}");
        assert!(max_rel(&fused, &exact) < 1e-3, "len {len}");
    }
}
