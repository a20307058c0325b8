//! The low-rank (whitened capacitance) row solve against the normal
//! equations' Cholesky solve: the same solution to the solver-agreement
//! tolerance in `f64` and `f32`, for every row length up to past `k`, both
//! baselines and preference kinds; `Ok(false)` and nothing written for the
//! rows it leaves to the normal equations; the argument errors.

use crate::common::{MIRI, Model, Spec, rel_err, rng, tol, trials, wide};
use wmf_kernel::{
    Baseline, EigenWhitened, Error, Factors, Real, Row, Whitened, cholesky_in_place,
    low_rank_scratch_len, solve_row_cholesky, solve_row_low_rank, solve_row_low_rank_eigen,
    whiten_rows, whitening_factor,
};

/// `L` with `L Lᵀ = G0 + λ I`, and `Ĥ = H L⁻ᵀ`.
fn whitened<T: Real>(model: &Model<T>, lambda: T) -> (Vec<T>, Vec<T>) {
    let k = model.k;
    let mut l = vec![T::ZERO; k * k];
    whitening_factor(&model.g0, lambda, k, &mut l).expect("G0 + λI is positive definite");
    let mut hw = model.h.clone();
    whiten_rows(&l, k, &mut hw).expect("whitens");
    (l, hw)
}

/// Every row of `model` by both solvers; returns how many rows the low-rank
/// solve took (the others must have a cell with `c < c0`).
fn agree<T: Real>(model: &Model<T>, lambda: T) -> usize {
    let k = model.k;
    let (l, hw) = whitened(model, lambda);
    let w = Whitened::new(Factors::new(&hw, model.n, k).unwrap(), &l, model.baseline()).unwrap();
    agree_by(
        model,
        |_| lambda,
        |row, _, scratch, x| solve_row_low_rank(&w, row, scratch, x),
    )
}

/// Row `u` of `model` with λ = `lambda_of(u)` by `solve` (a low-rank solve:
/// `Ok(true)` when it took the row) and by the normal equations: the same
/// solution for every row without a cell below `c0`, `x` untouched for the
/// others; returns how many rows it took.
fn agree_by<T: Real>(
    model: &Model<T>,
    lambda_of: impl Fn(usize) -> T,
    mut solve: impl FnMut(&Row<'_, T>, T, &mut [T], &mut [T]) -> Result<bool, Error>,
) -> usize {
    let k = model.k;
    let items = model.items();
    let mut taken = 0;
    for (u, r) in model.rows.iter().enumerate() {
        let row = r.row();
        let lambda = lambda_of(u);
        let mut scratch = vec![T::ZERO; low_rank_scratch_len(row.len(), k)];
        let mut x = vec![T::from_f64(7.0); k];
        let took = solve(&row, lambda, &mut scratch, &mut x).unwrap();
        let mut a = vec![T::ZERO; k * k];
        let mut want = vec![T::ZERO; k];
        solve_row_cholesky(&items, &row, lambda, &mut a, &mut want).unwrap();
        let below_c0 = (0..row.len()).any(|t| r.conf[t] < model.baseline().at(r.items[t] as usize));
        assert_eq!(took, !below_c0, "user {u}: applicability");
        if took {
            taken += 1;
            let e = rel_err(&wide(&x), &wide(&want));
            assert!(
                e <= tol::solver_agreement::<T>(),
                "user {u} (n_u = {}, k = {k}, λ = {lambda:?}): rel err {e:e}",
                row.len()
            );
        } else {
            assert!(x.iter().all(|v| v.to_f64() == 7.0), "user {u}: x written");
        }
    }
    taken
}

fn spec(n: usize, k: usize, per_item_c0: bool, explicit_pref: bool, density: f64) -> Spec {
    Spec {
        m: if MIRI { 3 } else { 24 },
        n,
        k,
        per_item_c0,
        explicit_pref,
        density,
    }
}

/// Confidences in `[c0, c0 + 8)` (the implicit-feedback case `C = 1 + α r`),
/// some exactly `c0` (they add nothing to `A`).
fn lift<T: Real>(model: &mut Model<T>) {
    let c0: Vec<T> = model.c0.clone();
    for r in &mut model.rows {
        for (t, c) in r.conf.iter_mut().enumerate() {
            let base = c0[r.items[t] as usize];
            *c = if t % 5 == 3 { base } else { base + *c };
        }
    }
}

fn check_all<T: Real>() {
    let ks: &[usize] = if MIRI { &[3] } else { &[1, 3, 8, 17, 32] };
    let mut g = rng(41);
    let mut taken = 0;
    for &k in ks {
        for (per_item, explicit) in [(false, false), (true, false), (false, true), (true, true)] {
            // Densities from a few cells to rows longer than k.
            for density in [0.05, 0.2, 0.6] {
                let n = if MIRI { 8 } else { 3 * k + 20 };
                let mut m =
                    Model::random(&mut g, spec(n, k, per_item, explicit, density)).cast::<T>();
                // Half the problems as generated (some cells below c0), half lifted.
                let lambda = T::from_f64(0.3);
                agree(&m, lambda);
                lift(&mut m);
                taken += agree(&m, lambda);
            }
        }
    }
    assert!(taken > 0);
}

#[test]
#[cfg_attr(miri, ignore = "Miri runs the f32 twin; the f64 one runs natively")]
fn agrees_with_the_normal_equations_f64() {
    check_all::<f64>();
}

#[test]
fn agrees_with_the_normal_equations_f32() {
    check_all::<f32>();
}

#[test]
fn lambda_zero_with_a_full_rank_gramian() {
    let mut g = rng(42);
    for _ in 0..trials(5, 1) {
        let mut m = Model::random(&mut g, spec(40, 6, false, false, 0.1));
        lift(&mut m);
        assert!(agree(&m, 0.0) > 0);
    }
}

#[test]
fn empty_row_is_zero() {
    let m = Model::random(&mut rng(43), spec(10, 4, false, false, 0.3));
    let (l, hw) = whitened(&m, 0.5);
    let w = Whitened::new(Factors::new(&hw, 10, 4).unwrap(), &l, m.baseline()).unwrap();
    let mut x = [1.0; 4];
    assert!(solve_row_low_rank(&w, &Row::empty(), &mut [], &mut x).unwrap());
    assert_eq!(x, [0.0; 4]);
}

#[test]
fn more_than_max_k_weighted_cells_is_left_to_the_normal_equations() {
    let (n, k) = (wmf_kernel::MAX_K + 1, 2);
    let h: Vec<f64> = (0..n * k).map(|i| ((i % 7) as f64 - 3.0) / 4.0).collect();
    let l = [1.0, 0.0, 0.0, 1.0];
    let w = Whitened::new(Factors::new(&h, n, k).unwrap(), &l, Baseline::Uniform(1.0)).unwrap();
    let items: Vec<u32> = (0..n as u32).collect();
    let conf = vec![2.0; n];
    let mut scratch = vec![0.0; low_rank_scratch_len(n, k)];
    let mut x = [5.0; 2];
    assert!(!solve_row_low_rank(&w, &Row::implicit(&items, &conf), &mut scratch, &mut x).unwrap());
    assert_eq!(x, [5.0; 2]);
}

/// `whitening_factor` is `G0 + λ I` factored by `cholesky_in_place`, bit
/// for bit, in both precisions and at every `k` the proof models use.
fn whitening_factor_is_the_shifted_cholesky<T: Real>() {
    let mut g = rng(43);
    let ks: &[usize] = if MIRI {
        &[1, 3]
    } else {
        &[1, 2, 7, 16, 33, 64]
    };
    let mut factored = 0;
    for &k in ks {
        let model = Model::random(&mut g, spec(2 * k + 3, k, true, false, 0.3)).cast::<T>();
        for lambda in [0.0, 0.25, 3.0] {
            let lambda = T::from_f64(lambda);
            let mut want = model.g0.clone();
            for d in 0..k {
                want[d * k + d] += lambda;
            }
            let ok = cholesky_in_place(&mut want, k).is_ok();
            let mut l = vec![T::from_f64(9.0); k * k];
            assert_eq!(whitening_factor(&model.g0, lambda, k, &mut l).is_ok(), ok);
            if ok {
                factored += 1;
                let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&l), bits(&want), "k = {k}, λ = {}", lambda.to_f64());
            }
        }
    }
    assert!(factored >= 2 * ks.len(), "λ > 0 always factors");
}

#[test]
fn whitening_factor_matches_cholesky_in_place() {
    whitening_factor_is_the_shifted_cholesky::<f64>();
    whitening_factor_is_the_shifted_cholesky::<f32>();
}

#[test]
fn whitening_factor_errors() {
    let g0 = [3.0f64, 2.0, 2.0, 2.0];
    let mut l = [7.0; 4];
    // Arguments, all before anything is written.
    assert_eq!(
        whitening_factor(&g0, 1.0, 0, &mut l).unwrap_err(),
        Error::ZeroDimension { what: "k" }
    );
    assert_eq!(
        whitening_factor(&g0, -1.0, 2, &mut l).unwrap_err(),
        Error::Negative {
            what: "lambda",
            index: 0
        }
    );
    assert_eq!(
        whitening_factor(&g0, f64::NAN, 2, &mut l).unwrap_err(),
        Error::NonFinite {
            what: "lambda",
            index: 0
        }
    );
    assert_eq!(
        whitening_factor(&g0[..3], 1.0, 2, &mut l).unwrap_err(),
        Error::LengthMismatch {
            what: "g0",
            expected: 4,
            actual: 3
        }
    );
    assert_eq!(
        whitening_factor(&g0, 1.0, 2, &mut l[..3]).unwrap_err(),
        Error::LengthMismatch {
            what: "l",
            expected: 4,
            actual: 3
        }
    );
    assert_eq!(
        whitening_factor(&[3.0, 2.0, f64::INFINITY, 2.0], 1.0, 2, &mut l).unwrap_err(),
        Error::NonFinite {
            what: "g0",
            index: 2
        }
    );
    assert_eq!(l, [7.0; 4]);
    // Not positive definite: [[1, 2], [2, 1]] has the pivot 1 - 4 < 0.
    assert_eq!(
        whitening_factor(&[1.0, 2.0, 2.0, 1.0], 0.0, 2, &mut l).unwrap_err(),
        Error::NotPositiveDefinite { pivot: 1 }
    );
    // An overflowing shift is a pivot that is not finite.
    assert_eq!(
        whitening_factor(&[f64::MAX, 0.0, 0.0, 1.0], f64::MAX, 2, &mut l).unwrap_err(),
        Error::NotPositiveDefinite { pivot: 0 }
    );
}

#[test]
fn argument_errors() {
    let h = [1.0f64, 0.0, 0.0, 1.0, 0.5, 0.5];
    let fac = Factors::new(&h, 3, 2).unwrap();
    let l = [2.0, 9.0, 1.0, 1.5];
    // Factor checks: length, lower triangle finite (the upper is not read), diagonal positive.
    assert_eq!(
        Whitened::new(fac, &l[..3], Baseline::Uniform(1.0)).unwrap_err(),
        Error::LengthMismatch {
            what: "l",
            expected: 4,
            actual: 3
        }
    );
    assert!(Whitened::new(fac, &[2.0, f64::NAN, 1.0, 1.5], Baseline::Uniform(1.0)).is_ok());
    assert_eq!(
        Whitened::new(fac, &[2.0, 0.0, f64::INFINITY, 1.5], Baseline::Uniform(1.0)).unwrap_err(),
        Error::NonFinite {
            what: "l",
            index: 2
        }
    );
    assert_eq!(
        Whitened::new(fac, &[2.0, 0.0, 1.0, 0.0], Baseline::Uniform(1.0)).unwrap_err(),
        Error::NotPositiveDefinite { pivot: 1 }
    );
    assert_eq!(
        Whitened::new(fac, &l, Baseline::PerItem(&[1.0, 1.0])).unwrap_err(),
        Error::LengthMismatch {
            what: "c0",
            expected: 3,
            actual: 2
        }
    );
    let w = Whitened::new(fac, &l, Baseline::Uniform(1.0)).unwrap();
    let mut x = [0.0; 2];
    let mut scratch = [0.0; 16];
    // Row checks as everywhere.
    assert_eq!(
        solve_row_low_rank(&w, &Row::implicit(&[3], &[2.0]), &mut scratch, &mut x).unwrap_err(),
        Error::IndexOutOfRange {
            what: "items",
            position: 0,
            index: 3,
            bound: 3
        }
    );
    // Scratch and x lengths.
    assert_eq!(
        solve_row_low_rank(
            &w,
            &Row::implicit(&[0, 1], &[2.0, 2.0]),
            &mut scratch[..7],
            &mut x
        )
        .unwrap_err(),
        Error::LengthMismatch {
            what: "scratch",
            expected: 8,
            actual: 7
        }
    );
    assert_eq!(
        solve_row_low_rank(
            &w,
            &Row::implicit(&[0], &[2.0]),
            &mut scratch,
            &mut [0.0; 3]
        )
        .unwrap_err(),
        Error::LengthMismatch {
            what: "x",
            expected: 2,
            actual: 3
        }
    );
    // whiten_rows: a ragged buffer and a non-finite row.
    let mut rows = [1.0, 2.0, 3.0];
    assert_eq!(
        whiten_rows(&l, 2, &mut rows).unwrap_err(),
        Error::LengthMismatch {
            what: "rows",
            expected: 2,
            actual: 3
        }
    );
    assert_eq!(
        whiten_rows(&l, 2, &mut [1.0, f64::NAN]).unwrap_err(),
        Error::NonFinite {
            what: "rows",
            index: 1
        }
    );
}

/// Cyclic Jacobi in `f64`: `(q, e)` with `a = q diag(e) qᵀ` (`q` row-major,
/// eigenvectors in columns), checked against `a` before it is returned.
pub fn eigen(a: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut q = vec![0.0; k * k];
    for d in 0..k {
        q[d * k + d] = 1.0;
    }
    let scale: f64 = a.iter().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..60 {
        let off: f64 = (0..k)
            .flat_map(|p| ((p + 1)..k).map(move |r| (p, r)))
            .map(|(p, r)| m[p * k + r] * m[p * k + r])
            .sum();
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..k {
            for r in (p + 1)..k {
                let apr = m[p * k + r];
                if apr == 0.0 {
                    continue;
                }
                let theta = (m[r * k + r] - m[p * k + p]) / (2.0 * apr);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for i in 0..k {
                    let (x, y) = (m[i * k + p], m[i * k + r]);
                    m[i * k + p] = c * x - s * y;
                    m[i * k + r] = s * x + c * y;
                }
                for i in 0..k {
                    let (x, y) = (m[p * k + i], m[r * k + i]);
                    m[p * k + i] = c * x - s * y;
                    m[r * k + i] = s * x + c * y;
                }
                for i in 0..k {
                    let (x, y) = (q[i * k + p], q[i * k + r]);
                    q[i * k + p] = c * x - s * y;
                    q[i * k + r] = s * x + c * y;
                }
            }
        }
    }
    let e: Vec<f64> = (0..k).map(|d| m[d * k + d]).collect();
    // a q = q diag(e)
    for i in 0..k {
        for c in 0..k {
            let aq: f64 = (0..k).map(|r| a[i * k + r] * q[r * k + c]).sum();
            assert!(
                (aq - q[i * k + c] * e[c]).abs() <= 1e-9 * scale.sqrt(),
                "Jacobi did not converge"
            );
        }
    }
    (q, e)
}

/// Every row of `model`, each with its own λ, by the eigenbasis low-rank
/// solve and by the normal equations; returns how many rows it took. The
/// same for the model rotated into the eigenbasis (`H Q`, `G0 = diag(e)`)
/// through [`EigenWhitened::diagonal`], which also gives the values of
/// [`EigenWhitened::new`] with `Q = I` there.
fn agree_eigen<T: Real>(model: &Model<T>) -> usize {
    let (n, k) = (model.n, model.k);
    let (q, e) = eigen(&wide(&model.g0), k);
    let h = wide(&model.h);
    let hq: Vec<f64> = (0..n * k)
        .map(|i| {
            let (j, c) = (i / k, i % k);
            (0..k).map(|r| h[j * k + r] * q[r * k + c]).sum()
        })
        .collect();
    let (q, e, hq): (Vec<T>, Vec<T>, Vec<T>) = (
        crate::common::cast(&q),
        crate::common::cast(&e),
        crate::common::cast(&hq),
    );
    let w = EigenWhitened::new(Factors::new(&hq, n, k).unwrap(), &q, &e, model.baseline()).unwrap();
    let lambda_of = |u: usize| T::from_f64(0.05 + 0.4 * u as f64);
    let taken = agree_by(model, lambda_of, |row, lambda, scratch, x| {
        solve_row_low_rank_eigen(&w, row, lambda, scratch, x)
    });
    // The rotated model and its diagonal Gramian.
    let mut rotated = model.clone();
    rotated.h.clone_from(&hq);
    rotated.g0 = vec![T::ZERO; k * k];
    for (d, &ev) in e.iter().enumerate() {
        rotated.g0[d * k + d] = ev;
    }
    let fac = Factors::new(&hq, n, k).unwrap();
    let diagonal = EigenWhitened::diagonal(fac, &e, model.baseline()).unwrap();
    let mut identity = vec![T::ZERO; k * k];
    for d in 0..k {
        identity[d * k + d] = T::ONE;
    }
    let by_identity = EigenWhitened::new(fac, &identity, &e, model.baseline()).unwrap();
    let taken_rotated = agree_by(&rotated, lambda_of, |row, lambda, scratch, x| {
        let took = solve_row_low_rank_eigen(&diagonal, row, lambda, scratch, x)?;
        let mut y = vec![T::from_f64(7.0); k];
        let mut scratch_q = vec![T::ZERO; scratch.len()];
        assert_eq!(
            solve_row_low_rank_eigen(&by_identity, row, lambda, &mut scratch_q, &mut y),
            Ok(took)
        );
        assert!(
            x.iter().zip(&y).all(|(a, b)| a == b),
            "Q = I and the diagonal basis differ"
        );
        Ok(took)
    });
    assert_eq!(taken, taken_rotated);
    taken
}

fn check_all_eigen<T: Real>() {
    let ks: &[usize] = if MIRI { &[3] } else { &[1, 3, 8, 17, 32] };
    let mut g = rng(44);
    let mut taken = 0;
    for &k in ks {
        for (per_item, explicit) in [(false, false), (true, true)] {
            for density in [0.05, 0.3] {
                let n = if MIRI { 8 } else { 3 * k + 20 };
                let mut m =
                    Model::random(&mut g, spec(n, k, per_item, explicit, density)).cast::<T>();
                agree_eigen(&m);
                lift(&mut m);
                taken += agree_eigen(&m);
            }
        }
    }
    assert!(taken > 0);
}

/// One λ per row through the eigenbasis of `G0`: the same solutions as the
/// normal equations with each row's `G0 + λ_u I`.
#[test]
#[cfg_attr(miri, ignore = "Miri runs the f32 twin; the f64 one runs natively")]
fn eigenbasis_agrees_with_the_normal_equations_per_row_lambda_f64() {
    check_all_eigen::<f64>();
}

#[test]
fn eigenbasis_agrees_with_the_normal_equations_per_row_lambda_f32() {
    check_all_eigen::<f32>();
}

#[test]
fn eigenbasis_argument_errors() {
    let h = [1.0f64, 0.0, 0.0, 1.0, 0.5, 0.5];
    let fac = Factors::new(&h, 3, 2).unwrap();
    let q = [1.0, 0.0, 0.0, 1.0];
    let e = [2.0, -0.5];
    let c0 = Baseline::Uniform(1.0);
    assert_eq!(
        EigenWhitened::new(fac, &q[..3], &e, c0).unwrap_err(),
        Error::LengthMismatch {
            what: "q",
            expected: 4,
            actual: 3
        }
    );
    assert_eq!(
        EigenWhitened::new(fac, &q, &[f64::NAN, 1.0], c0).unwrap_err(),
        Error::NonFinite {
            what: "e",
            index: 0
        }
    );
    let w = EigenWhitened::new(fac, &q, &e, c0).unwrap();
    let row = Row::implicit(&[0, 2], &[2.0, 3.0]);
    let mut scratch = [0.0; 16];
    let mut x = [9.0; 2];
    // e + λ must be positive everywhere: λ = 0.5 leaves eigenvalue 1 at 0.
    assert_eq!(
        solve_row_low_rank_eigen(&w, &row, 0.5, &mut scratch, &mut x).unwrap_err(),
        Error::NotPositiveDefinite { pivot: 1 }
    );
    assert_eq!(
        solve_row_low_rank_eigen(&w, &row, -1.0, &mut scratch, &mut x).unwrap_err(),
        Error::Negative {
            what: "lambda",
            index: 0
        }
    );
    assert_eq!(x, [9.0; 2], "x untouched on errors");
    // λ = 1: B = diag(3, 0.5), A = B + Σ (c − 1) h hᵀ, b = Σ c h.
    assert!(solve_row_low_rank_eigen(&w, &row, 1.0, &mut scratch, &mut x).unwrap());
    let a = [3.0 + 1.0 + 0.5, 0.5, 0.5, 0.5 + 0.5];
    let b = [2.0 + 1.5, 1.5];
    let det = a[0] * a[3] - a[1] * a[2];
    let want = [
        (b[0] * a[3] - a[1] * b[1]) / det,
        (a[0] * b[1] - a[2] * b[0]) / det,
    ];
    assert!(
        (x[0] - want[0]).abs() < 1e-12 && (x[1] - want[1]).abs() < 1e-12,
        "{x:?} vs {want:?}"
    );
}
