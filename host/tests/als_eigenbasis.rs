//! CG halves in the eigenbasis of the fixed side's Gramian
//! (`wmf_host::als::CgBasis`): the host rotates both sides by `G0`'s
//! eigenvectors and the kernel solves with the diagonal Gramian. Every row
//! equals the kernel's `solve_row_cg` over the rotated side, bit for bit (in
//! place, gathered, the last partial group, `f32` and bfloat16 rows); the
//! trained model is the unrotated one's to rounding while its factors are
//! in another basis; the result does not depend on the thread count; a
//! partial half rotates nothing; and `CgBasis::Auto` rotates only halves
//! that solve at least as many rows as the fixed side has.

mod common;

use common::{cg_config, gathering_values, random_values};
use ndarray::Array2;
use wmf_host::als::{Als, CG_TOL, CgBasis, rotate_to_eigenbasis};
use wmf_host::gramian::{GramWeights, gramian_blocked};
use wmf_host::{BaselineWeight, CgRows, Solver};
use wmf_kernel::{
    Baseline, Bf16Factors, CgParams, Factors, Fused, Items, PortableFold, Row, encode_bf16,
};

const K: usize = common::CG_K;

/// Row `row` solved by the kernel from `x` over `fixed` (rotated) with
/// the diagonal Gramian `d`, its rows as `rows` says, with fused
/// multiply-adds (`cg_config`'s).
fn kernel_row(
    rows: CgRows,
    fixed: &Array2<f32>,
    d: &[f32],
    c0: Baseline<'_, f32>,
    row: &Row<'_, f32>,
    lambda: f32,
    mut x: Vec<f32>,
) -> Vec<f32> {
    let (n, k) = fixed.dim();
    let src = fixed.as_slice().unwrap();
    let mut scratch = vec![0f32; 3 * k];
    let params = CgParams {
        steps: 3,
        tol: CG_TOL,
    };
    match rows {
        CgRows::F32 => {
            let items = Items::new(Factors::new(src, n, k).unwrap(), d, c0).unwrap();
            assert!(items.gramian_is_diagonal());
            let items = items.with_fold(Fused(PortableFold));
            wmf_kernel::solve_row_cg(&items, row, lambda, &mut x, params, &mut scratch).unwrap();
        }
        CgRows::Bf16 => {
            let mut bits = vec![0u16; src.len()];
            encode_bf16(src, &mut bits).unwrap();
            let table = Bf16Factors::with_shape(&bits, n, k).unwrap();
            let items = Items::compact(table, d, c0).unwrap();
            assert!(items.gramian_is_diagonal());
            let items = items.with_fold(Fused(PortableFold));
            wmf_kernel::solve_row_cg(&items, row, lambda, &mut x, params, &mut scratch).unwrap();
        }
    }
    x
}

fn bits(a: &Array2<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn every_rotated_row_solve_equals_the_kernel_over_the_rotated_side() {
    let values = gathering_values();
    for rows in [CgRows::F32, CgRows::Bf16] {
        let cfg = cg_config(rows, BaselineWeight::Uniform { c0: 0.5 }, 2);
        let mut als = Als::<f32>::new(&values, &cfg)
            .unwrap()
            .with_cg_basis(CgBasis::Eigen);
        als.iterate().unwrap();

        // The user half: H's Gramian, both sides rotated by its eigenvectors.
        let (mut w, mut h) = (als.w.clone(), als.h.clone());
        als.user_half(None).unwrap();
        let p = &als.problem;
        let g0 = p.item_gramian(h.view()).unwrap();
        let d = rotate_to_eigenbasis(
            g0.as_slice().unwrap(),
            K,
            h.as_slice_mut().unwrap(),
            w.as_slice_mut().unwrap(),
        )
        .unwrap();
        assert_eq!(
            bits(&als.h),
            bits(&h),
            "{rows:?}: the fixed side's rotation"
        );
        // diag(e) is the rotated side's Gramian, to rounding
        let g = p.item_gramian(h.view()).unwrap();
        let top = (0..K).map(|i| g[[i, i]]).fold(0.0f32, f32::max);
        for i in 0..K {
            assert!(
                (g[[i, i]] - d[i * K + i]).abs() <= 1e-4 * top,
                "{rows:?} e[{i}]"
            );
            for j in 0..K {
                assert!(
                    i == j || g[[i, j]].abs() <= 1e-4 * top,
                    "{rows:?} G0[{i}][{j}]"
                );
                assert!(i == j || d[i * K + j] == 0.0);
            }
        }
        for u in 0..p.m() {
            let x = w.row(u).to_vec();
            let want = kernel_row(
                rows,
                &h,
                &d,
                p.item_baseline(),
                &p.users.row(u),
                p.user_lambda[u],
                x,
            );
            assert_eq!(als.w.row(u).to_vec(), want, "{rows:?} user {u}");
        }

        // The item half (uniform c0: one Gramian of W for every item).
        let (mut w, mut h) = (als.w.clone(), als.h.clone());
        als.item_half(None).unwrap();
        let p = &als.problem;
        let g = gramian_blocked(w.view(), GramWeights::Uniform(0.5f32)).unwrap();
        let d = rotate_to_eigenbasis(
            g.as_slice().unwrap(),
            K,
            w.as_slice_mut().unwrap(),
            h.as_slice_mut().unwrap(),
        )
        .unwrap();
        assert_eq!(
            bits(&als.w),
            bits(&w),
            "{rows:?}: the fixed side's rotation"
        );
        for i in 0..p.n() {
            let x = h.row(i).to_vec();
            let row = p.items.row(i);
            let want = kernel_row(
                rows,
                &w,
                &d,
                Baseline::Uniform(0.5),
                &row,
                p.item_lambda[i],
                x,
            );
            assert_eq!(als.h.row(i).to_vec(), want, "{rows:?} item {i}");
        }
    }
}

/// `W Hᵀ`, the model the factors stand for.
fn scores(als: &Als<f32>) -> Array2<f32> {
    als.w.dot(&als.h.t())
}

#[test]
fn the_rotated_training_is_the_same_model_in_another_basis() {
    let values = random_values(300, 120, 0.1, 8);
    for rows in [CgRows::F32, CgRows::Bf16] {
        for baseline in [
            BaselineWeight::Uniform { c0: 1.0 },
            BaselineWeight::Popularity { c0: 5.0, beta: 0.4 },
        ] {
            let cfg = cg_config(rows, baseline, 2);
            let mut runs = [CgBasis::AsIs, CgBasis::Eigen, CgBasis::Auto]
                .map(|b| Als::<f32>::new(&values, &cfg).unwrap().with_cg_basis(b));
            for it in 0..6 {
                let losses = runs.each_mut().map(|als| {
                    als.iterate().unwrap();
                    als.loss().unwrap()
                });
                // f32 rows: the same solves up to f32 rounding (which three
                // CG steps from a warm start amplify to about 1e-6 here);
                // bfloat16 rows: rounding the rotated rows to 8 bits is
                // another rounding than rounding the unrotated ones (as in
                // als_bf16.rs, far below a training step's change)
                let tol = match rows {
                    CgRows::F32 => 1e-5,
                    CgRows::Bf16 => 1e-3,
                };
                for l in &losses[1..] {
                    let rel = (l - losses[0]).abs() / losses[0];
                    assert!(
                        rel < tol,
                        "{rows:?} {baseline:?} iteration {it}: {losses:?}"
                    );
                }
            }
            let plain = scores(&runs[0]);
            let scale = plain.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let tol = match rows {
                CgRows::F32 => 1e-4,
                CgRows::Bf16 => 2e-2,
            };
            for als in &runs[1..] {
                let diff = (&scores(als) - &plain)
                    .iter()
                    .fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(
                    diff <= tol * scale,
                    "{rows:?} {baseline:?}: W Hᵀ differs by {diff}"
                );
            }
            // Eigen rotated every half: its factors are in another basis.
            let moved = (&runs[1].h - &runs[0].h)
                .iter()
                .fold(0.0f32, |m, v| m.max(v.abs()));
            let size = runs[0].h.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(
                moved > 0.1 * size,
                "{rows:?} {baseline:?}: H did not move ({moved})"
            );
        }
    }
}

#[test]
fn the_rotation_does_not_depend_on_the_thread_count() {
    let values = gathering_values();
    let run = |threads: usize| {
        let cfg = cg_config(CgRows::F32, BaselineWeight::Uniform { c0: 0.5 }, threads);
        let mut als = Als::<f32>::new(&values, &cfg)
            .unwrap()
            .with_cg_basis(CgBasis::Eigen);
        for _ in 0..3 {
            als.iterate().unwrap();
        }
        (bits(&als.w), bits(&als.h))
    };
    let one = run(1);
    assert!(one == run(3), "1 and 3 threads differ");
}

#[test]
fn a_partial_half_rotates_nothing() {
    let values = gathering_values();
    let cfg = cg_config(CgRows::F32, BaselineWeight::Uniform { c0: 0.5 }, 2);
    let mut als = Als::<f32>::new(&values, &cfg)
        .unwrap()
        .with_cg_basis(CgBasis::Eigen);
    als.iterate().unwrap();
    let (w, h) = (als.w.clone(), als.h.clone());
    als.user_half(Some(&[0, 5])).unwrap();
    assert_eq!(bits(&als.h), bits(&h));
    for u in 0..w.nrows() {
        let same = als.w.row(u) == w.row(u);
        assert_eq!(same, u != 0 && u != 5, "user {u}");
    }
}

#[test]
fn auto_rotates_halves_that_solve_at_least_the_fixed_rows_at_k_64_and_up() {
    let cg = Solver::cg(3);
    assert!(CgBasis::Auto.rotates(cg, 50_000, 20_000, 64));
    assert!(CgBasis::Auto.rotates(cg, 20_000, 20_000, 128));
    assert!(!CgBasis::Auto.rotates(cg, 20_000, 50_000, 128));
    assert!(!CgBasis::Auto.rotates(cg, 50_000, 20_000, 32));
    assert!(!CgBasis::Auto.rotates(cg, 0, 0, 64));
    assert!(!CgBasis::AsIs.rotates(cg, 50_000, 20_000, 128));
    assert!(CgBasis::Eigen.rotates(cg, 20_000, 50_000, 8));
    for other in [Solver::Cholesky, Solver::Eals { sweeps: 1 }] {
        for basis in [CgBasis::Auto, CgBasis::AsIs, CgBasis::Eigen] {
            assert!(
                !basis.rotates(other, 50_000, 20_000, 128),
                "{other:?} {basis:?}"
            );
        }
    }
}
