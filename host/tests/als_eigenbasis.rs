//! Halves in the eigenbasis of the fixed side's Gramian
//! (`wmf_host::als::EigenBasis`): the host rotates by `G0`'s eigenvectors
//! (CG: both sides; Cholesky with a `λ` per row: the fixed side) and the
//! kernel solves with the diagonal Gramian. Every CG row equals the
//! kernel's `solve_row_cg` over the rotated side, bit for bit (in place,
//! gathered, the last partial group, `f32` and bfloat16 rows); every
//! Cholesky row equals the kernel's low-rank solve with
//! `EigenWhitened::diagonal` (short rows) or `solve_row_cholesky` (long
//! rows) over the rotated side, bit for bit; the trained model is the
//! unrotated one's to rounding while its factors are in another basis; the
//! result does not depend on the thread count; a partial half rotates
//! nothing; and `EigenBasis::Auto` rotates only the halves its rule names.

mod common;

use common::{cg_config, cholesky_config, gathering_values, random_values, short_and_long_rows};
use ndarray::Array2;
use wmf_host::als::{Als, CG_TOL, EigenBasis, low_rank_cutoff, rotate_to_eigenbasis};
use wmf_host::gramian::{GramWeights, gramian_blocked};
use wmf_host::{Arith, BaselineWeight, CgRows, RegScaling, Solver};
use wmf_kernel::{
    Baseline, Bf16Factors, CgParams, EigenWhitened, Factors, Fused, Items, PortableFold, Row,
    encode_bf16,
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

/// Runs `als`'s user half and returns the sides as that half should have
/// seen them: `(W, H, diag(e))` from before the half, `H` rotated by the
/// eigenvectors of its Gramian (and `W` too when `both`, as CG rotates
/// its starting points), and the rotated Gramian `diag(e)` (`k x k`).
fn user_half_and_its_rotation(
    als: &mut Als<f32>,
    k: usize,
    both: bool,
) -> (Array2<f32>, Array2<f32>, Vec<f32>) {
    let (mut w, mut h) = (als.w.clone(), als.h.clone());
    als.user_half(None).unwrap();
    let g0 = als.problem.item_gramian(h.view()).unwrap();
    let solved: &mut [f32] = if both {
        w.as_slice_mut().unwrap()
    } else {
        &mut []
    };
    let d =
        rotate_to_eigenbasis(g0.as_slice().unwrap(), k, h.as_slice_mut().unwrap(), solved).unwrap();
    (w, h, d)
}

#[test]
fn every_rotated_row_solve_equals_the_kernel_over_the_rotated_side() {
    let values = gathering_values();
    for rows in [CgRows::F32, CgRows::Bf16] {
        let cfg = cg_config(rows, BaselineWeight::Uniform { c0: 0.5 }, 2);
        let mut als = Als::<f32>::new(&values, &cfg)
            .unwrap()
            .with_eigen_basis(EigenBasis::Eigen);
        als.iterate().unwrap();

        // The user half: H's Gramian, both sides rotated by its eigenvectors.
        let (w, h, d) = user_half_and_its_rotation(&mut als, K, true);
        let p = &als.problem;
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
            let mut runs = [EigenBasis::AsIs, EigenBasis::Eigen, EigenBasis::Auto]
                .map(|b| Als::<f32>::new(&values, &cfg).unwrap().with_eigen_basis(b));
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
            .with_eigen_basis(EigenBasis::Eigen);
        for _ in 0..3 {
            als.iterate().unwrap();
        }
        (bits(&als.w), bits(&als.h))
    };
    let one = run(1);
    assert!(one == run(3), "1 and 3 threads differ");
}

#[test]
fn a_cg_half_that_fails_part_way_leaves_every_row_in_the_new_basis() {
    // The single process turns each block of solved rows in the task that
    // solves it; a half that stops at an error turns the blocks no task
    // reached, so every row is either solved or its warm start turned
    // with the fixed side, as when the whole side turned first.
    let values = gathering_values();
    let cfg = cg_config(CgRows::F32, BaselineWeight::Uniform { c0: 0.5 }, 1);
    let mut als = Als::<f32>::new(&values, &cfg)
        .unwrap()
        .with_eigen_basis(EigenBasis::Eigen);
    als.iterate().unwrap();
    als.w[[0, 3]] = f32::NAN;
    let (mut w, mut h) = (als.w.clone(), als.h.clone());
    let err = als.user_half(None).unwrap_err().to_string();
    assert!(err.contains("user 0"), "{err}");
    let g0 = als.problem.item_gramian(h.view()).unwrap();
    let (wv, hv) = (w.as_slice_mut().unwrap(), h.as_slice_mut().unwrap());
    let d = rotate_to_eigenbasis(g0.as_slice().unwrap(), K, hv, wv).unwrap();
    assert_eq!(bits(&als.h), bits(&h), "the fixed side's rotation");
    let p = &als.problem;
    let (mut solved, mut turned) = (0, 0);
    for u in 1..p.m() {
        let got = als.w.row(u).to_vec();
        if got == w.row(u).to_vec() {
            turned += 1;
            continue;
        }
        let x = w.row(u).to_vec();
        let row = p.users.row(u);
        let want = kernel_row(
            CgRows::F32,
            &h,
            &d,
            p.item_baseline(),
            &row,
            p.user_lambda[u],
            x,
        );
        assert_eq!(got, want, "user {u}: neither turned nor solved");
        solved += 1;
    }
    // One thread stops in the first block: rows 1-3 share user 0's group,
    // the first block's other rows were turned by its task, the later
    // blocks after the error.
    assert!(
        solved >= 1 && turned > 1000,
        "solved {solved}, turned {turned}"
    );
}

#[test]
fn a_partial_half_rotates_nothing() {
    let values = gathering_values();
    let cfg = cg_config(CgRows::F32, BaselineWeight::Uniform { c0: 0.5 }, 2);
    let mut als = Als::<f32>::new(&values, &cfg)
        .unwrap()
        .with_eigen_basis(EigenBasis::Eigen);
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
fn auto_rotates_cg_halves_that_solve_at_least_the_fixed_rows_at_k_64_and_up() {
    let cg = Solver::cg(3);
    for per_row in [false, true] {
        assert!(EigenBasis::Auto.rotates(cg, per_row, 50_000, 20_000, 64));
        assert!(EigenBasis::Auto.rotates(cg, per_row, 20_000, 20_000, 128));
        assert!(!EigenBasis::Auto.rotates(cg, per_row, 20_000, 50_000, 128));
        assert!(!EigenBasis::Auto.rotates(cg, per_row, 50_000, 20_000, 32));
        assert!(!EigenBasis::Auto.rotates(cg, per_row, 0, 0, 64));
        assert!(!EigenBasis::AsIs.rotates(cg, per_row, 50_000, 20_000, 128));
        assert!(EigenBasis::Eigen.rotates(cg, per_row, 20_000, 50_000, 8));
        for basis in [EigenBasis::Auto, EigenBasis::AsIs, EigenBasis::Eigen] {
            let eals = Solver::Eals { sweeps: 1 };
            assert!(
                !basis.rotates(eals, per_row, 50_000, 20_000, 128),
                "{basis:?}"
            );
        }
    }
}

#[test]
fn cholesky_halves_rotate_with_a_lambda_per_row_when_the_low_rank_solve_runs() {
    let ch = Solver::Cholesky;
    for basis in [EigenBasis::Auto, EigenBasis::Eigen] {
        // at every rank, either side larger
        assert!(basis.rotates(ch, true, 50_000, 20_000, 64), "{basis:?}");
        assert!(basis.rotates(ch, true, 20_000, 50_000, 128), "{basis:?}");
        assert!(basis.rotates(ch, true, 300, 120, 8), "{basis:?}");
        // one λ: whitened by a Cholesky factor, nothing rotates
        assert!(!basis.rotates(ch, false, 50_000, 20_000, 64), "{basis:?}");
        assert!(!basis.rotates(ch, true, 0, 20_000, 64), "{basis:?}");
    }
    // a handful of rows against a large side: not worth the rotation
    assert!(!EigenBasis::Auto.rotates(ch, true, 10, 20_000, 64));
    assert!(EigenBasis::Eigen.rotates(ch, true, 10, 20_000, 64));
    assert!(!EigenBasis::AsIs.rotates(ch, true, 50_000, 20_000, 64));
}

/// The Cholesky tests' λ per row (ν = 0.5).
const PER_ROW: RegScaling = RegScaling::Frequency { nu: 0.5 };

#[test]
fn every_rotated_cholesky_row_equals_the_kernel_over_the_rotated_side() {
    // both sides of the cutoff at k = 32
    let values = short_and_long_rows();
    let k = 32;
    for arith in [Arith::Separate, Arith::Fused] {
        let cfg = cholesky_config(k, PER_ROW, arith, 2);
        let mut als = Als::<f32>::new(&values, &cfg).unwrap();
        als.iterate().unwrap();
        // only the fixed side turns
        let (mut w, h, d) = user_half_and_its_rotation(&mut als, k, false);
        let p = &als.problem;
        assert_eq!(
            bits(&als.h),
            bits(&h),
            "{arith:?}: the fixed side's rotation"
        );
        let e: Vec<f32> = (0..k).map(|i| d[i * k + i]).collect();
        let fac = Factors::new(h.as_slice().unwrap(), h.nrows(), k).unwrap();
        let c0 = p.item_baseline();
        let whitened = EigenWhitened::diagonal(fac, &e, c0).unwrap();
        let items = Items::new(fac, &d, c0).unwrap();
        assert!(items.gramian_is_diagonal());
        let (mut short, mut long) = (0, 0);
        for u in 0..p.m() {
            let row = p.users.row(u);
            let lam = p.user_lambda[u];
            let x = w.row_mut(u).into_slice().unwrap();
            let mut scratch = vec![0f32; wmf_kernel::low_rank_scratch_len(row.len(), k)];
            let mut a = vec![0f32; k * k];
            let solved_short = row.len() <= low_rank_cutoff(k)
                && match arith {
                    Arith::Separate => {
                        wmf_kernel::solve_row_low_rank_eigen(&whitened, &row, lam, &mut scratch, x)
                    }
                    Arith::Fused => wmf_kernel::solve_row_low_rank_eigen_folded(
                        &whitened,
                        &row,
                        lam,
                        &mut scratch,
                        x,
                        Fused(PortableFold),
                    ),
                }
                .unwrap();
            if solved_short {
                short += 1;
            } else {
                long += 1;
                match arith {
                    Arith::Separate => wmf_kernel::solve_row_cholesky(&items, &row, lam, &mut a, x),
                    Arith::Fused => wmf_kernel::solve_row_cholesky_folded(
                        &items,
                        &row,
                        lam,
                        &mut a,
                        x,
                        Fused(PortableFold),
                    ),
                }
                .unwrap();
            }
        }
        assert!(
            short >= 100 && long >= 100,
            "{short} short, {long} long rows"
        );
        assert_eq!(bits(&als.w), bits(&w), "{arith:?}: the user rows");
    }
}

#[test]
fn the_rotated_cholesky_training_is_the_same_model_in_another_basis() {
    let values = short_and_long_rows();
    for (k, threads) in [(32, 2), (64, 1)] {
        let cfg = cholesky_config(k, PER_ROW, Arith::Fused, threads);
        let mut runs = [EigenBasis::AsIs, EigenBasis::Auto]
            .map(|b| Als::<f32>::new(&values, &cfg).unwrap().with_eigen_basis(b));
        for it in 0..5 {
            let losses = runs.each_mut().map(|als| {
                als.iterate().unwrap();
                als.loss().unwrap()
            });
            let rel = (losses[1] - losses[0]).abs() / losses[0];
            assert!(rel < 1e-5, "k = {k} iteration {it}: {losses:?}");
        }
        let plain = scores(&runs[0]);
        let scale = plain.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = (&scores(&runs[1]) - &plain)
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(diff <= 1e-4 * scale, "k = {k}: W Hᵀ differs by {diff}");
        let moved = (&runs[1].h - &runs[0].h)
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        let size = runs[0].h.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(moved > 0.1 * size, "k = {k}: H did not move ({moved})");
    }
}
