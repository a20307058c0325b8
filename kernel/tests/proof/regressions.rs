//! Regression tests for kernel bugs found while writing this proof, each named
//! after the bug.

use wmf_kernel::{
    Baseline, CgParams, Error, Factors, Items, Row, cholesky_solve_in_place, solve_row_cg,
};

/// `solve_row_cg` returned `Ok` with `residual_sq = NaN` (and no steps) when
/// `A x − b` overflowed at the start (found by `hostile::huge_values_overflow_cleanly`).
#[test]
fn cg_nan_residual_on_overflowing_start() {
    let h = [1e18f32, -1e18];
    let g0 = [3e38f32, -3e38, -3e38, 3e38];
    let items = Items::new(Factors::new(&h, 1, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
    let mut x = [1e18f32, 1e18];
    let mut scratch = [0.0; 6];
    let got = solve_row_cg(
        &items,
        &Row::implicit(&[0], &[1.0]),
        0.5,
        &mut x,
        CgParams::default(),
        &mut scratch,
    );
    assert_eq!(got, Err(Error::NonFiniteResult { what: "residual" }));
    assert_eq!(x, [1e18, 1e18], "x untouched");
}

/// `CgParams::tol` was not validated: NaN silently disabled every step.
#[test]
fn cg_tol_not_validated() {
    let h = [1.0f64, 0.0, 0.0, 1.0];
    let g0 = [1.0, 0.0, 0.0, 1.0];
    let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
    let row = Row::implicit(&[0], &[3.0]);
    let mut scratch = [0.0; 6];
    for (tol, want) in [
        (
            f64::NAN,
            Error::NonFinite {
                what: "tol",
                index: 0,
            },
        ),
        (
            f64::INFINITY,
            Error::NonFinite {
                what: "tol",
                index: 0,
            },
        ),
        (
            -1e-6,
            Error::Negative {
                what: "tol",
                index: 0,
            },
        ),
    ] {
        let mut x = [0.0; 2];
        let got = solve_row_cg(
            &items,
            &row,
            1.0,
            &mut x,
            CgParams { steps: 3, tol },
            &mut scratch,
        );
        assert_eq!(got, Err(want));
    }
}

/// `Factors::row` promises an empty slice for an out-of-range `j`, but
/// `j * k` overflowed (a panic in debug builds, a wrong row in release).
#[test]
fn factors_row_overflow_on_huge_index() {
    let h = [1.0f32, 2.0, 3.0, 4.0];
    let f = Factors::new(&h, 2, 2).unwrap();
    assert!(f.row(2).is_empty());
    assert!(f.row(usize::MAX / 2 + 1).is_empty());
    assert!(f.row(usize::MAX).is_empty());
    assert_eq!(f.row(1), &[3.0, 4.0]);
}

/// `cholesky_solve_in_place` did not validate `l`: a NaN in the factor came
/// back as `NonFiniteResult { what: "x" }` instead of naming `l` and the element.
#[test]
fn cholesky_solve_non_finite_factor_not_named() {
    let mut b = [1.0f64, 1.0];
    let l = [2.0, 0.0, f64::NAN, 1.0];
    assert_eq!(
        cholesky_solve_in_place(&l, &mut b, 2),
        Err(Error::NonFinite {
            what: "l",
            index: 2
        })
    );
    assert_eq!(b, [1.0, 1.0]);
    // the strict upper triangle is not read
    let l = [2.0, f64::NAN, 1.0, 1.0];
    cholesky_solve_in_place(&l, &mut b, 2).unwrap();
    assert!(b.iter().all(|v| v.is_finite()));
}
