//! The kernel's gathered split of the normal equations plus a BLAS `syrk`
//! equals the kernel's own normal equations (the host's Cholesky path).

use rand::{Rng, SeedableRng, rngs::StdRng};
use wmf_host::gramian::Float;
use wmf_kernel::{Baseline, Factors, Items, Row};

#[test]
fn gathered_plus_syrk_equals_normal_equations() {
    let mut rng = StdRng::seed_from_u64(11);
    let (n, k) = (40usize, 7usize);
    let h: Vec<f64> = (0..n * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
    // per-item c0 around the confidences, so c − c0 takes both signs (and 0)
    let c0: Vec<f64> = (0..n)
        .map(|j| {
            if j % 5 == 0 {
                2.0
            } else {
                rng.gen_range(0.5..3.0)
            }
        })
        .collect();
    let fac = Factors::new(&h, n, k).unwrap();
    let mut g0 = vec![0.0; k * k];
    wmf_kernel::gramian(&fac, Baseline::PerItem(&c0), &mut g0).unwrap();
    let items = Items::new(fac, &g0, Baseline::PerItem(&c0)).unwrap();
    for trial in 0..20 {
        let mut idx: Vec<u32> = (0..n as u32).filter(|_| rng.gen_bool(0.3)).collect();
        if trial == 0 {
            idx.clear();
        }
        let conf: Vec<f64> = idx
            .iter()
            .map(|&j| {
                if j % 5 == 0 {
                    2.0
                } else {
                    rng.gen_range(0.5..3.0)
                }
            })
            .collect();
        let pref: Vec<f64> = idx.iter().map(|_| rng.gen_range(0.0..2.0)).collect();
        let row = Row::new(&idx, &conf, Some(&pref));
        let (mut a_ref, mut b_ref) = (vec![0.0; k * k], vec![0.0; k]);
        wmf_kernel::row_normal_equations(&items, &row, 0.3, &mut a_ref, &mut b_ref).unwrap();
        let (mut a, mut b) = (vec![0.0; k * k], vec![0.0; k]);
        let mut block = vec![0.0; wmf_kernel::gathered_rows_len(idx.len(), k)];
        let (pos, neg) = wmf_kernel::row_normal_equations_gathered(
            &items, &row, 0.3, &mut a, &mut block, &mut b,
        )
        .unwrap();
        let zeros = idx
            .iter()
            .zip(&conf)
            .filter(|&(&j, &c)| c == c0[j as usize])
            .count();
        assert_eq!(pos + neg + zeros, idx.len());
        f64::syrk_lower(1.0, &block[..pos * k], pos, k, &mut a);
        f64::syrk_lower(-1.0, &block[pos * k..(pos + neg) * k], neg, k, &mut a);
        for r in 0..k {
            for c in 0..=r {
                let (x, y) = (a[r * k + c], a_ref[r * k + c]);
                assert!(
                    (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                    "A[{r}][{c}] {x} vs {y}"
                );
            }
            assert!((b[r] - b_ref[r]).abs() <= 1e-12 * (1.0 + b_ref[r].abs()));
        }
    }
}

#[test]
fn gathered_rejects_a_short_block() {
    let h = [1.0f32, 0.0, 0.0, 1.0];
    let g0 = [1.0f32, 0.0, 0.0, 1.0];
    let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
    let (mut a, mut b, mut block) = ([0.0; 4], [0.0; 2], [0.0; 3]);
    let err = wmf_kernel::row_normal_equations_gathered(
        &items,
        &Row::implicit(&[0, 1], &[2.0, 3.0]),
        0.1,
        &mut a,
        &mut block,
        &mut b,
    )
    .unwrap_err();
    assert!(
        matches!(err, wmf_kernel::Error::LengthMismatch { what: "block", .. }),
        "{err:?}"
    );
}

/// `len` distinct columns of `0..n` in random order (a partial Fisher-Yates
/// shuffle).
fn random_columns(rng: &mut StdRng, n: usize, len: usize) -> Vec<u32> {
    let mut cols: Vec<u32> = (0..n as u32).collect();
    for j in 0..len {
        cols.swap(j, rng.gen_range(j..n));
    }
    cols.truncate(len);
    cols
}

/// The host's Cholesky side solve (short rows through the kernel's low-rank
/// solve with BLAS `trsm` whitening and `syrk`, or with a λ per row through
/// the eigenbasis of `G0` (LAPACK `syevd`, BLAS `gemm`); long rows and rows
/// with a cell below `c0` through the normal equations) against the
/// kernel's normal-equations solve of every row, in both precisions.
fn side_solve_matches_the_kernel<T: Float>(tol: f64, per_row_lambda: bool) {
    use wmf_host::als::{FixedSide, LowRankKind, RowNames, Side, low_rank_kind, solve_side};
    use wmf_host::model::Solver;
    let mut rng = StdRng::seed_from_u64(12);
    let (m, n, k) = (60usize, 50usize, 12usize);
    let h: Vec<T> = (0..n * k)
        .map(|_| T::of_f32(rng.gen_range(-1.0f32..1.0)))
        .collect();
    let c0 = T::of_f32(1.0);
    let fac = Factors::new(&h, n, k).unwrap();
    let mut g0 = vec![T::ZERO; k * k];
    wmf_kernel::gramian(&fac, Baseline::Uniform(c0), &mut g0).unwrap();
    // Rows of every length from 0 to past 2k; some confidences equal to c0,
    // a few below it (those rows must take the normal equations).
    let mut trip = Vec::new();
    for i in 0..m {
        let cols = random_columns(&mut rng, n, (i * 7) % (2 * k + 5));
        for (t, &j) in cols.iter().enumerate() {
            let c = match (i % 9, t % 4) {
                (0, 1) => 0.5,
                (_, 3) => 1.0,
                _ => rng.gen_range(1.0f32..9.0),
            };
            trip.push((i as u32, j, c));
        }
    }
    let conf = wmf_host::Csr::from_triplets(m, n, &trip).unwrap();
    let side = Side::<T>::from_csr(&conf);
    let lambdas: Vec<T> = (0..m)
        .map(|i| {
            T::of_f32(if per_row_lambda {
                0.05 + 0.3 * (i % 7) as f32
            } else {
                0.4
            })
        })
        .collect();
    let fixed = ndarray::Array2::from_shape_vec((n, k), h.clone()).unwrap();
    let mut out = ndarray::Array2::<T>::zeros((m, k));
    let shared = FixedSide::Shared {
        g0: &g0,
        c0: Baseline::Uniform(c0),
    };
    let kind = low_rank_kind(Solver::Cholesky, &shared, &lambdas, m, n, k);
    let want_kind = if per_row_lambda {
        LowRankKind::PerRowLambda
    } else {
        LowRankKind::SharedLambda
    };
    assert_eq!(kind, Some(want_kind));
    solve_side(
        &side,
        fixed.view(),
        shared,
        &lambdas,
        Solver::Cholesky,
        &mut out,
        None,
        RowNames {
            what: "user",
            ids: None,
        },
    )
    .unwrap();
    let items = Items::new(fac, &g0, Baseline::Uniform(c0)).unwrap();
    for (i, &lambda) in lambdas.iter().enumerate() {
        let row = side.row(i);
        let (mut a, mut want) = (vec![T::ZERO; k * k], vec![T::ZERO; k]);
        wmf_kernel::solve_row_cholesky(&items, &row, lambda, &mut a, &mut want).unwrap();
        let got = out.row(i);
        let scale = want
            .iter()
            .map(|v| v.to_f64().powi(2))
            .sum::<f64>()
            .sqrt()
            .max(1e-30);
        let err = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g.to_f64() - w.to_f64()).powi(2))
            .sum::<f64>()
            .sqrt();
        if row.is_empty() {
            assert!(got.iter().all(|v| *v == T::ZERO), "row {i}");
        } else {
            assert!(
                err / scale <= tol,
                "row {i} (n_u = {}): rel err {:e}",
                row.len(),
                err / scale
            );
        }
    }
}

#[test]
fn cholesky_side_solve_matches_the_kernel_f64() {
    side_solve_matches_the_kernel::<f64>(1e-10, false);
}

#[test]
fn cholesky_side_solve_matches_the_kernel_f32() {
    side_solve_matches_the_kernel::<f32>(1e-4, false);
}

#[test]
fn cholesky_side_solve_with_a_lambda_per_row_matches_the_kernel_f64() {
    side_solve_matches_the_kernel::<f64>(1e-10, true);
}

#[test]
fn cholesky_side_solve_with_a_lambda_per_row_matches_the_kernel_f32() {
    side_solve_matches_the_kernel::<f32>(1e-4, true);
}

/// The CG solver's gathered groups (the fixed-side rows of a group copied
/// into one block before the kernel's lock-step solve) give bit for bit the
/// results of the ungathered groups and of the kernel's one-row solve, with
/// uniform and per-item `c0`.
fn cg_gathered_group_is_bit_identical<T: Float>() {
    use wmf_host::als::{CG_GROUP, Scratch, Side, isa, solve_cg_group};
    let mut rng = StdRng::seed_from_u64(13);
    let (m, n, k) = (3 * CG_GROUP, 70usize, 9usize);
    let h: Vec<T> = (0..n * k)
        .map(|_| T::of_f32(rng.gen_range(-1.0f32..1.0)))
        .collect();
    let c0_per: Vec<T> = (0..n)
        .map(|_| T::of_f32(rng.gen_range(0.5f32..2.0)))
        .collect();
    let mut trip = Vec::new();
    for i in 0..m {
        for j in random_columns(&mut rng, n, (i * 11) % n) {
            trip.push((i as u32, j, rng.gen_range(1.0f32..9.0)));
        }
    }
    let conf = wmf_host::Csr::from_triplets(m, n, &trip).unwrap();
    let side = Side::<T>::from_csr(&conf);
    let lambdas: Vec<T> = (0..m).map(|i| T::of_f32(0.1 + i as f32 * 0.01)).collect();
    let fac = Factors::new(&h, n, k).unwrap();
    for c0 in [
        Baseline::Uniform(T::of_f32(1.0)),
        Baseline::PerItem(&c0_per),
    ] {
        let mut g0 = vec![T::ZERO; k * k];
        wmf_kernel::gramian(&fac, c0, &mut g0).unwrap();
        let items = Items::new(fac, &g0, c0).unwrap();
        let start: Vec<T> = (0..m * k)
            .map(|_| T::of_f32(rng.gen_range(-0.1f32..0.1)))
            .collect();
        let mut scratch = Scratch::new(k);
        let solve = |gather_above: usize, scratch: &mut Scratch<T>| {
            let mut x = start.clone();
            for (g, xs) in x.chunks_mut(CG_GROUP * k).enumerate() {
                solve_cg_group(
                    isa(),
                    &items,
                    &side,
                    g * CG_GROUP,
                    &lambdas,
                    3,
                    xs,
                    scratch,
                    gather_above,
                )
                .unwrap();
            }
            x
        };
        let plain = solve(usize::MAX, &mut scratch);
        let gathered = solve(0, &mut scratch);
        assert!(
            plain
                .iter()
                .zip(&gathered)
                .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()),
            "gathered and plain groups differ"
        );
        assert_ne!(plain, start, "the solve moved the factors");
        let mut work = vec![T::ZERO; wmf_kernel::cg_scratch_len(k)];
        for i in 0..m {
            let mut x = start[i * k..(i + 1) * k].to_vec();
            let params = wmf_kernel::CgParams {
                steps: 3,
                tol: wmf_host::als::CG_TOL,
            };
            wmf_kernel::solve_row_cg(&items, &side.row(i), lambdas[i], &mut x, params, &mut work)
                .unwrap();
            assert!(
                x.iter()
                    .zip(&gathered[i * k..(i + 1) * k])
                    .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()),
                "row {i}: the gathered group differs from the one-row solve"
            );
        }
    }
}

#[test]
fn cg_gathered_group_is_bit_identical_f64() {
    cg_gathered_group_is_bit_identical::<f64>();
}

#[test]
fn cg_gathered_group_is_bit_identical_f32() {
    cg_gathered_group_is_bit_identical::<f32>();
}
