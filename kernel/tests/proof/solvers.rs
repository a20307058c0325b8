//! The row solvers: Cholesky, CG and eALS reach the same solution, which
//! satisfies the normal equations; the online update equals recomputing; a
//! small gradient step decreases the loss; the fixed-size wrappers equal the
//! slice versions; Cholesky names the failing pivot.

use crate::common::{
    Model, RowData, Spec, cast, reference, rel_err, rng, sorted_sample, tol, trials, wide,
};
use rand::Rng;
use wmf_kernel::{
    Baseline, CellUpdate, CgParams, Error, Factors, Items, Real, Row, Tiling, cd_sweeps,
    cholesky_in_place, cholesky_solve_in_place, eals_online_update, fixed, gradient_step_row,
    row_gradient, row_loss, row_normal_equations, solve_row_cg, solve_row_cholesky, solve_row_eals,
    solve_spd_in_place,
};

fn spec(per_item_c0: bool, explicit_pref: bool) -> Spec {
    Spec {
        m: if crate::common::MIRI { 2 } else { 6 },
        n: if crate::common::MIRI { 6 } else { 20 },
        k: if crate::common::MIRI { 3 } else { 8 },
        per_item_c0,
        explicit_pref,
        density: 0.35,
    }
}

/// `(A, b)` of a row in f64 from the dense reference, for residuals.
fn reference_system<T: Real>(
    model: &Model<T>,
    rd: &RowData<T>,
    lambda: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (x, c) = rd.dense(model.n, &wide(&model.c0));
    reference::normal_equations(&x, &c, &wide(&model.h), model.k, lambda)
}

/// Runs eALS one sweep at a time until the residual is within tolerance (at
/// most `max_sweeps`), returning the sweeps used.
fn eals_to_convergence<T: Real>(
    items: &Items<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    w: &mut [T],
    system: &(Vec<f64>, Vec<f64>),
) -> usize {
    let mut cache = vec![T::ZERO; row.len()];
    let max_sweeps = 20_000;
    for sweep in 1..=max_sweeps {
        solve_row_eals(items, row, lambda, w, 1, &mut cache).unwrap();
        if sweep % 8 == 0
            && reference::residual(&system.0, &system.1, &wide(w))
                <= tol::normal_residual::<T>() / 10.0
        {
            return sweep;
        }
    }
    max_sweeps
}

fn solvers_agree<T: Real>(seed: u64) {
    for per_item_c0 in [false, true] {
        for explicit_pref in [false, true] {
            let model =
                Model::random(&mut rng(seed + 300), spec(per_item_c0, explicit_pref)).cast::<T>();
            let items = model.items();
            let k = model.k;
            let lambda64 = crate::common::f32_exact(0.5 + seed as f64 * 0.1);
            let lambda = T::from_f64(lambda64);
            for (u, rd) in model.rows.iter().enumerate() {
                if rd.items.is_empty() {
                    continue; // empty rows: see empty_rows.rs
                }
                let ctx =
                    format!("seed {seed} per_item {per_item_c0} pref {explicit_pref} user {u}");
                let row = rd.row();
                let system = reference_system(&model, rd, lambda64);
                if system.1.iter().all(|v| *v == 0.0) {
                    continue;
                }

                let mut a = vec![T::ZERO; k * k];
                let mut x_chol = vec![T::ZERO; k];
                solve_row_cholesky(&items, &row, lambda, &mut a, &mut x_chol).unwrap();
                let res = reference::residual(&system.0, &system.1, &wide(&x_chol));
                assert!(
                    res <= tol::normal_residual::<T>(),
                    "{ctx}: cholesky residual {res:e}"
                );

                // CG from the user's current factors (warm start), 4k steps, tol 0.
                let mut x_cg = model.w_row(u).to_vec();
                let mut scratch = vec![T::ZERO; wmf_kernel::cg_scratch_len(k)];
                let params = CgParams {
                    steps: 4 * k,
                    tol: 0.0,
                };
                let report =
                    solve_row_cg(&items, &row, lambda, &mut x_cg, params, &mut scratch).unwrap();
                assert!(report.steps <= 4 * k && report.residual_sq.is_finite());
                let res = reference::residual(&system.0, &system.1, &wide(&x_cg));
                assert!(
                    res <= tol::normal_residual::<T>(),
                    "{ctx}: cg residual {res:e} after {report:?}"
                );

                let mut x_eals = model.w_row(u).to_vec();
                let sweeps = eals_to_convergence(&items, &row, lambda, &mut x_eals, &system);
                let res = reference::residual(&system.0, &system.1, &wide(&x_eals));
                assert!(
                    res <= tol::normal_residual::<T>(),
                    "{ctx}: eals residual {res:e} after {sweeps} sweeps"
                );

                let exact = reference::solve(&system.0, &system.1);
                for (name, x) in [("cholesky", &x_chol), ("cg", &x_cg), ("eals", &x_eals)] {
                    let err = rel_err(&wide(x), &exact);
                    assert!(
                        err <= tol::solver_agreement::<T>(),
                        "{ctx}: {name} vs exact {err:e}"
                    );
                }
                // the solution zeroes the gradient and minimises the loss along any direction
                let mut g = vec![T::ZERO; k];
                row_gradient(&items, &row, lambda, &x_chol, &mut g).unwrap();
                let b_scale = 2.0 * crate::common::norm(&system.1);
                assert!(
                    crate::common::norm(&wide(&g)) <= b_scale * tol::normal_residual::<T>() * 4.0,
                    "{ctx}: gradient at solution"
                );
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri runs the f32 twin; the f64 one runs natively")]
fn cholesky_cg_eals_reach_the_same_solution_f64() {
    for seed in 0..trials(6, 1) as u64 {
        solvers_agree::<f64>(seed);
    }
}

#[test]
fn cholesky_cg_eals_reach_the_same_solution_f32() {
    for seed in 0..trials(6, 1) as u64 {
        solvers_agree::<f32>(seed);
    }
}

fn online_update_matches_recompute<T: Real>(seed: u64) {
    for per_item_c0 in [false, true] {
        let model = Model::random(&mut rng(seed + 400), spec(per_item_c0, false)).cast::<T>();
        let items = model.items();
        let k = model.k;
        let lambda = T::from_f64(0.75);
        for (u, rd) in model.rows.iter().enumerate() {
            let ctx = format!("seed {seed} per_item {per_item_c0} user {u}");
            let Some(new_item) = (0..model.n as u32).find(|j| !rd.items.contains(j)) else {
                continue;
            };
            let (mut a, mut b) = (vec![T::ZERO; k * k], vec![T::ZERO; k]);
            row_normal_equations(&items, &rd.row(), lambda, &mut a, &mut b).unwrap();
            let mut w = vec![T::ZERO; k];
            let mut scratch = vec![T::ZERO; k * k];
            solve_row_cholesky(&items, &rd.row(), lambda, &mut scratch, &mut w).unwrap();

            // 1. a new interaction on a previously unobserved item
            let c_new = T::from_f64(3.5);
            let mut grown = rd.clone();
            let pos = grown.items.partition_point(|&j| j < new_item);
            grown.items.insert(pos, new_item);
            grown.conf.insert(pos, c_new);
            let h_i = model.factors().row(new_item as usize).to_vec();
            let upd = CellUpdate::new_interaction(c_new, model.baseline().at(new_item as usize));
            let sweeps = if crate::common::MIRI { 300 } else { 4000 };
            eals_online_update(&mut a, &mut b, &mut w, k, &h_i, upd, sweeps).unwrap();
            let (mut a2, mut b2) = (vec![T::ZERO; k * k], vec![T::ZERO; k]);
            row_normal_equations(&items, &grown.row(), lambda, &mut a2, &mut b2).unwrap();
            assert!(
                rel_err(&wide(&a), &wide(&a2)) <= tol::online_state::<T>(),
                "{ctx}: A after new interaction"
            );
            assert!(
                rel_err(&wide(&b), &wide(&b2)) <= tol::online_state::<T>(),
                "{ctx}: b after new interaction"
            );
            let mut w2 = vec![T::ZERO; k];
            solve_row_cholesky(&items, &grown.row(), lambda, &mut scratch, &mut w2).unwrap();
            let err = rel_err(&wide(&w), &wide(&w2));
            assert!(
                err <= tol::solver_agreement::<T>(),
                "{ctx}: w after new interaction {err:e}"
            );

            // 2. changing that interaction's confidence and preference
            let upd = CellUpdate {
                c_new: T::from_f64(1.25),
                x_new: T::from_f64(0.5),
                c_old: c_new,
                x_old: T::ONE,
            };
            eals_online_update(&mut a, &mut b, &mut w, k, &h_i, upd, sweeps).unwrap();
            let mut changed = grown.clone();
            changed.conf[pos] = T::from_f64(1.25);
            let mut pref = vec![T::ONE; changed.items.len()];
            pref[pos] = T::from_f64(0.5);
            changed.pref = Some(pref);
            row_normal_equations(&items, &changed.row(), lambda, &mut a2, &mut b2).unwrap();
            assert!(
                rel_err(&wide(&a), &wide(&a2)) <= tol::online_state::<T>(),
                "{ctx}: A after change"
            );
            assert!(
                rel_err(&wide(&b), &wide(&b2)) <= tol::online_state::<T>(),
                "{ctx}: b after change"
            );
            solve_row_cholesky(&items, &changed.row(), lambda, &mut scratch, &mut w2).unwrap();
            let err = rel_err(&wide(&w), &wide(&w2));
            assert!(
                err <= tol::solver_agreement::<T>(),
                "{ctx}: w after change {err:e}"
            );
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri runs the f32 twin; the f64 one runs natively")]
fn eals_online_update_matches_recomputing_f64() {
    for seed in 0..trials(5, 1) as u64 {
        online_update_matches_recompute::<f64>(seed);
    }
}

#[test]
fn eals_online_update_matches_recomputing_f32() {
    for seed in 0..trials(5, 1) as u64 {
        online_update_matches_recompute::<f32>(seed);
    }
}

#[test]
fn cd_sweeps_solve_a_spd_system() {
    let mut r = rng(17);
    let k = if crate::common::MIRI { 3 } else { 10 };
    let m = crate::common::uniform_vec(&mut r, k * k, -1.0, 1.0);
    // A = MᵀM + I is SPD with a modest condition number
    let mut a = vec![0.0; k * k];
    for p in 0..k {
        for q in 0..k {
            a[p * k + q] = (0..k).map(|t| m[t * k + p] * m[t * k + q]).sum::<f64>()
                + if p == q { 1.0 } else { 0.0 };
        }
    }
    let b = crate::common::uniform_vec(&mut r, k, -1.0, 1.0);
    let mut w = vec![0.0; k];
    cd_sweeps(
        &a,
        &b,
        &mut w,
        k,
        if crate::common::MIRI { 500 } else { 5000 },
    )
    .unwrap();
    assert!(reference::residual(&a, &b, &w) <= tol::normal_residual::<f64>());
    // the Cholesky helpers agree with the reference solve
    let exact = reference::solve(&a, &b);
    let (mut a2, mut b2) = (a.clone(), b.clone());
    solve_spd_in_place(&mut a2, &mut b2, k).unwrap();
    assert!(rel_err(&b2, &exact) <= 1e-12);
    let mut l = a.clone();
    cholesky_in_place(&mut l, k).unwrap();
    // L Lᵀ = A
    for p in 0..k {
        for q in 0..=p {
            let s: f64 = (0..=q).map(|t| l[p * k + t] * l[q * k + t]).sum();
            assert!(
                (s - a[p * k + q]).abs() <= 1e-12 * a[p * k + p].abs().max(1.0),
                "LLᵀ[{p}][{q}]"
            );
        }
    }
    let mut b3 = b.clone();
    cholesky_solve_in_place(&l, &mut b3, k).unwrap();
    assert_eq!(b3, b2);
}

#[test]
fn cholesky_names_the_failing_pivot() {
    let mut a = [1.0f64, 2.0, 2.0, 1.0];
    assert_eq!(
        cholesky_in_place(&mut a, 2),
        Err(Error::NotPositiveDefinite { pivot: 1 })
    );
    let mut a = [0.0f32, 0.0, 0.0, 1.0];
    assert_eq!(
        cholesky_in_place(&mut a, 2),
        Err(Error::NotPositiveDefinite { pivot: 0 })
    );
    let mut a = [1.0f64, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
    let mut b = [1.0, 1.0, 1.0];
    assert_eq!(
        solve_spd_in_place(&mut a, &mut b, 3),
        Err(Error::NotPositiveDefinite { pivot: 2 })
    );
    // a "factor" with a non-positive diagonal
    let l = [1.0f64, 0.0, 0.5, 0.0];
    let mut b = [1.0, 1.0];
    assert_eq!(
        cholesky_solve_in_place(&l, &mut b, 2),
        Err(Error::NotPositiveDefinite { pivot: 1 })
    );

    // a fold-in with λ = 0, c0 = 0 and one item cannot span k = 2: pivot 1, x untouched
    let h = [1.0f64, 0.0, 0.0, 1.0];
    let g0 = [0.0; 4];
    let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(0.0)).unwrap();
    let (mut scratch, mut x) = ([0.0; 4], [7.0, 7.0]);
    let row = Row::implicit(&[0], &[2.0]);
    assert_eq!(
        solve_row_cholesky(&items, &row, 0.0, &mut scratch, &mut x),
        Err(Error::NotPositiveDefinite { pivot: 1 })
    );
    assert_eq!(x, [7.0, 7.0]);
    assert_eq!(
        fixed::solve_row_cholesky::<f64, 2>(&items, &row, 0.0),
        Err(Error::NotPositiveDefinite { pivot: 1 })
    );
    // CG on the same singular system stops without NaN
    let mut x = [0.0; 2];
    let mut cg = [0.0; 6];
    let rep = solve_row_cg(
        &items,
        &row,
        0.0,
        &mut x,
        CgParams {
            steps: 10,
            tol: 0.0,
        },
        &mut cg,
    )
    .unwrap();
    assert!(x.iter().all(|v| v.is_finite()) && !rep.residual_sq.is_nan());
    assert!((x[0] - 1.0).abs() < 1e-12, "{x:?}");
}

fn step_decreases_loss<T: Real>(seed: u64) {
    let model = Model::random(&mut rng(seed + 500), spec(true, true)).cast::<T>();
    let items = model.items();
    let k = model.k;
    let lambda = T::from_f64(0.3);
    for (u, rd) in model.rows.iter().enumerate() {
        let row = rd.row();
        let (a, _) = reference_system(&model, rd, lambda.to_f64());
        let trace: f64 = (0..k).map(|d| a[d * k + d]).sum();
        let lr = T::from_f64(0.5 / trace); // trace >= λ_max(A), so lr < 1/λ_max
        let w0 = model.w_row(u).to_vec();
        let mut w = w0.clone();
        let mut g = vec![T::ZERO; k];
        let before = row_loss(&items, &row, lambda, &w).unwrap();
        gradient_step_row(&items, &row, lambda, &mut w, lr, &mut g).unwrap();
        let after = row_loss(&items, &row, lambda, &w).unwrap();
        assert!(after < before, "seed {seed} user {u}: {after} !< {before}");
        let mut g_ref = vec![T::ZERO; k];
        row_gradient(&items, &row, lambda, &w0, &mut g_ref).unwrap();
        assert_eq!(g, g_ref, "the scratch holds the gradient at the old w");
        let want: Vec<T> = w0
            .iter()
            .zip(&g_ref)
            .map(|(wi, gi)| *wi - lr * *gi)
            .collect();
        assert_eq!(w, want);
        // lr = 0 leaves w as it is
        let mut w3 = w0.clone();
        gradient_step_row(&items, &row, lambda, &mut w3, T::ZERO, &mut g).unwrap();
        assert_eq!(w3, w0);
    }
}

#[test]
fn gradient_step_decreases_row_loss() {
    for seed in 0..trials(5, 1) as u64 {
        step_decreases_loss::<f64>(seed);
        step_decreases_loss::<f32>(seed);
    }
}

#[test]
fn fixed_solvers_equal_slice_versions() {
    const K: usize = 3;
    let model = Model::random(
        &mut rng(600),
        Spec {
            m: 3,
            n: 8,
            k: K,
            per_item_c0: true,
            explicit_pref: true,
            density: 0.5,
        },
    );
    let items = model.items();
    for rd in &model.rows {
        let row = rd.row();
        let (mut a, mut x) = ([0.0; K * K], [0.0; K]);
        solve_row_cholesky(&items, &row, 0.2, &mut a, &mut x).unwrap();
        assert_eq!(
            fixed::solve_row_cholesky::<f64, K>(&items, &row, 0.2).unwrap(),
            x
        );

        let params = CgParams::default();
        let (mut x1, mut x2) = ([0.1; K], [0.1; K]);
        let mut scratch = [0.0; 3 * K];
        let r1 = solve_row_cg(&items, &row, 0.2, &mut x1, params, &mut scratch).unwrap();
        let r2 = fixed::solve_row_cg::<f64, K>(&items, &row, 0.2, &mut x2, params).unwrap();
        assert_eq!((x1, r1), (x2, r2));
    }
    let row = model.rows[0].row();
    let wrong = Err(Error::LengthMismatch {
        what: "k",
        expected: 4,
        actual: K,
    });
    assert_eq!(
        fixed::solve_row_cholesky::<f64, 4>(&items, &row, 0.2).map(|_| ()),
        wrong
    );
    assert_eq!(
        fixed::solve_row_cg::<f64, 4>(&items, &row, 0.2, &mut [0.0; 4], CgParams::default())
            .map(|_| ()),
        wrong
    );
}

/// CG improves monotonically in the A-norm and never overshoots its step budget.
#[test]
fn cg_respects_steps_and_tolerance() {
    let model = Model::random(&mut rng(700), spec(false, false));
    let items = model.items();
    let k = model.k;
    let rd = model
        .rows
        .iter()
        .find(|r| !r.items.is_empty())
        .expect("a non-empty row");
    let row = rd.row();
    let mut scratch = vec![0.0; 3 * k + 5]; // longer scratch is accepted
    let mut x = vec![0.0; k];
    let rep = solve_row_cg(
        &items,
        &row,
        0.5,
        &mut x,
        CgParams { steps: 2, tol: 0.0 },
        &mut scratch,
    )
    .unwrap();
    assert_eq!(rep.steps, 2);
    let mut x = vec![0.0; k];
    let rep = solve_row_cg(
        &items,
        &row,
        0.5,
        &mut x,
        CgParams {
            steps: 1000,
            tol: 1e-6,
        },
        &mut scratch,
    )
    .unwrap();
    assert!(rep.steps < 1000);
    let system = reference_system(&model, rd, 0.5);
    assert!(reference::residual(&system.0, &system.1, &x) <= 1e-5);
    // steps = 0 leaves x alone
    let x0 = cast::<f64>(&[0.25; 8][..k]);
    let mut x = x0.clone();
    let rep = solve_row_cg(
        &items,
        &row,
        0.5,
        &mut x,
        CgParams { steps: 0, tol: 0.0 },
        &mut scratch,
    )
    .unwrap();
    assert_eq!((rep.steps, x), (0, x0));
}

/// The textbook unblocked right-looking Cholesky (one rank-1 update of the
/// trailing lower triangle per pivot, `a_ij -= L_ip * L_jp`), as the
/// reference for the kernel's blocked (right-looking) and small
/// (left-looking) ones.
fn unblocked_cholesky<T: Real>(a: &mut [T], k: usize) {
    for p in 0..k {
        let l = a[p * k + p].sqrt();
        a[p * k + p] = l;
        let inv = T::ONE / l;
        for i in (p + 1)..k {
            a[i * k + p] *= inv;
        }
        for i in (p + 1)..k {
            for j in (p + 1)..=i {
                let prod = a[i * k + p] * a[j * k + p];
                a[i * k + j] -= prod;
            }
        }
    }
}

/// `A = M Mᵀ + k I` for a random `M` (entries in `[-1, 1)`): symmetric
/// positive definite, `k x k` row-major, computed in f64 and rounded to
/// `T`.
fn spd<T: Real>(r: &mut impl Rng, k: usize) -> Vec<T> {
    let m: Vec<f64> = (0..k * k).map(|_| r.gen_range(-1.0..1.0)).collect();
    let mut a = vec![0.0f64; k * k];
    for i in 0..k {
        for j in 0..k {
            let mut s = 0.0;
            for t in 0..k {
                s += m[i * k + t] * m[j * k + t];
            }
            a[i * k + j] = s + if i == j { k as f64 } else { 0.0 };
        }
    }
    cast(&a)
}

/// The sizes where the kernel's factorisation changes form or shape: its
/// small (left-looking) form's storage tiers end at 16, 32 and 64 rows,
/// its blocks are four columns and its chunks 16 rows; the blocked
/// (right-looking) form takes over above 64, in blocks of eight.
fn cholesky_sizes() -> Vec<usize> {
    if crate::common::MIRI {
        vec![1, 3, 5, 9, 17]
    } else {
        (1..=70).chain([96, 127, 128, 129]).collect()
    }
}

#[test]
fn cholesky_failure_names_the_pivot_and_keeps_finished_columns() {
    // A negative diagonal entry at `bad` makes that pivot the first
    // non-positive one. The factorisation must report it and leave every
    // finished column (j < bad, all rows) as the unblocked one has it, also
    // where the failing pivot lies inside a block whose earlier columns are
    // kept in their copies, in both forms (up to 64 rows and above).
    let mut r = rng(4243);
    let cases: &[(usize, &[usize])] = if crate::common::MIRI {
        &[(9, &[0, 3, 8])]
    } else {
        &[
            (20, &[0, 1, 3, 4, 7, 8, 11, 19]),
            (40, &[5, 16, 33, 39]),
            (64, &[3, 15, 16, 35, 63]),
            (67, &[0, 7, 8, 9, 66]),
        ]
    };
    for &(k, bads) in cases {
        let a0 = spd::<f32>(&mut r, k);
        for &bad in bads {
            let mut a = a0.clone();
            a[bad * k + bad] = -1e6;
            let mut want = a.clone();
            unblocked_cholesky(&mut want, k);
            assert_eq!(
                wmf_kernel::cholesky_in_place(&mut a, k),
                Err(wmf_kernel::Error::NotPositiveDefinite { pivot: bad }),
                "k {k} bad {bad}"
            );
            for j in 0..bad {
                for i in j..k {
                    assert_eq!(
                        a[i * k + j].to_bits(),
                        want[i * k + j].to_bits(),
                        "k {k} bad {bad}: L[{i}][{j}]"
                    );
                }
            }
        }
    }
}

/// The kernel's factor of `spd(k)` equals the unblocked one bit for bit,
/// and its strict upper triangle is untouched.
fn cholesky_equals_unblocked<T: Real>(seed: u64) {
    let mut r = rng(seed);
    for k in cholesky_sizes() {
        let a0 = spd::<T>(&mut r, k);
        let mut a = a0.clone();
        let mut want = a0.clone();
        unblocked_cholesky(&mut want, k);
        wmf_kernel::cholesky_in_place(&mut a, k).unwrap();
        for i in 0..k {
            for j in 0..k {
                let (got, exp) = if j <= i {
                    (a[i * k + j], want[i * k + j])
                } else {
                    (a[i * k + j], a0[i * k + j])
                };
                assert!(
                    got.to_f64().to_bits() == exp.to_f64().to_bits(),
                    "k {k}: [{i}][{j}] = {} vs {}",
                    got.to_f64(),
                    exp.to_f64()
                );
            }
        }
    }
}

#[test]
fn cholesky_equals_unblocked_bit_for_bit_f32() {
    // Blocking and the left-looking order change only memory traffic:
    // every element gets the same updates in the same order, so the factor
    // is identical to the bit.
    cholesky_equals_unblocked::<f32>(4242);
}

#[test]
#[cfg_attr(miri, ignore = "the f32 twin runs the same code under Miri")]
fn cholesky_equals_unblocked_bit_for_bit_f64() {
    cholesky_equals_unblocked::<f64>(4244);
}

/// The normal equations by the plain rank-1 loop of their definition:
/// `A = G0`, then for every cell in order `A[r][c] += ((c_t − c0_j) h_j[r]) h_j[c]`
/// on the lower triangle, mirrored, then `λ` on the diagonal.
fn rank1_normal_equations<T: Real>(
    h: &[T],
    k: usize,
    g0: &[T],
    c0: &[T],
    cells: &[u32],
    conf: &[T],
    lambda: T,
) -> Vec<T> {
    let mut a = g0.to_vec();
    for (&j, &c) in cells.iter().zip(conf) {
        let j = j as usize;
        let w = c - c0[j];
        let x = &h[j * k..(j + 1) * k];
        for r in 0..k {
            let s = w * x[r];
            for col in 0..=r {
                a[r * k + col] += s * x[col];
            }
        }
    }
    for r in 0..k {
        for col in (r + 1)..k {
            a[r * k + col] = a[col * k + r];
        }
    }
    for d in 0..k {
        a[d * k + d] += lambda;
    }
    a
}

fn tiled_normal_equations_equal_rank1_loop<T: Real>(seed: u64) {
    let mut r = rng(seed);
    // k = 16 multiples go through the register tiles (blocks of 4096 / k
    // cells: 64 at k = 64, 32 at k = 128), the others through the plain loop
    let (ks, lens): (&[usize], &[usize]) = if crate::common::MIRI {
        (&[16, 7], &[0, 3])
    } else {
        (
            &[16, 32, 48, 64, 80, 128, 7, 20],
            &[0, 1, 3, 17, 31, 32, 33, 64, 65, 130],
        )
    };
    let n = if crate::common::MIRI { 24 } else { 300 };
    for &k in ks {
        let h: Vec<T> = (0..n * k)
            .map(|_| T::from_f64(r.gen_range(-1.0..1.0)))
            .collect();
        // per-item c0 around the confidences: weights of both signs and zero
        let c0: Vec<T> = (0..n)
            .map(|j| {
                T::from_f64(if j % 7 == 0 {
                    2.0
                } else {
                    r.gen_range(0.5..3.0)
                })
            })
            .collect();
        let fac = Factors::new(&h, n, k).unwrap();
        let mut g0 = vec![T::ZERO; k * k];
        wmf_kernel::gramian(&fac, Baseline::PerItem(&c0), &mut g0).unwrap();
        let items = Items::new(fac, &g0, Baseline::PerItem(&c0)).unwrap();
        let uniform = Items::new(fac, &g0, Baseline::Uniform(T::ONE)).unwrap();
        let ones = vec![T::ONE; n];
        for &len in lens {
            let cells = sorted_sample(&mut r, n, len);
            let conf: Vec<T> = cells
                .iter()
                .map(|&j| {
                    T::from_f64(if j % 7 == 0 {
                        2.0
                    } else {
                        r.gen_range(0.5..3.0)
                    })
                })
                .collect();
            let row = Row::implicit(&cells, &conf);
            let lambda = T::from_f64(0.25);
            // every tiling (the wide 4 x 64 tiles and the narrow 4 x 16 ones)
            // gives the rank-1 loop's bits
            for tiling in [Tiling::Wide, Tiling::Narrow] {
                for (items, c0) in [(&items, &c0), (&uniform, &ones)] {
                    let items = items.with_tiling(tiling);
                    let want = rank1_normal_equations(&h, k, &g0, c0, &cells, &conf, lambda);
                    let (mut a, mut b) = (vec![T::ZERO; k * k], vec![T::ZERO; k]);
                    row_normal_equations(&items, &row, lambda, &mut a, &mut b).unwrap();
                    for (i, (got, want)) in a.iter().zip(&want).enumerate() {
                        assert_eq!(
                            got.to_f64().to_bits(),
                            want.to_f64().to_bits(),
                            "{tiling:?} k {k} cells {len}: A[{}][{}] {got} vs {want}",
                            i / k,
                            i % k
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn tiled_normal_equations_equal_the_rank1_loop_bit_for_bit() {
    tiled_normal_equations_equal_rank1_loop::<f32>(4301);
    tiled_normal_equations_equal_rank1_loop::<f64>(4302);
}
