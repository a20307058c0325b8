//! Rows and warm starts corrupted after the problem was built (its fields
//! are public): every solver reports the row and the cell, with the error
//! the kernel's per-row checks give, and the CG groups (which skip those
//! checks on rows the half checked once) report exactly the same.

mod common;

use common::{planted, planted_config};
use wmf_host::als::Als;
use wmf_host::{Error, Solver};

fn als(solver: Solver, values: &wmf_host::Csr) -> Als<f32> {
    Als::<f32>::new(values, &planted_config(solver, 2)).unwrap()
}

/// The context and the kernel error of a failed iteration.
fn failure(als: &mut Als<f32>) -> (String, wmf_kernel::Error) {
    match als.iterate() {
        Err(Error::Kernel { context, source }) => (context, source),
        other => panic!("expected a kernel error, got {other:?}"),
    }
}

/// `corrupt` applied to user `u`'s cell `t` (its position in the user
/// side's arrays) of a fresh trainer of each solver: all of them fail on
/// user `u` with the same context and error, which is returned.
fn same_failure(
    values: &wmf_host::Csr,
    u: usize,
    t: usize,
    corrupt: impl Fn(&mut Als<f32>, usize),
) -> wmf_kernel::Error {
    let solvers = [Solver::cg(3), Solver::Cholesky, Solver::Eals { sweeps: 1 }];
    let got: Vec<_> = solvers
        .iter()
        .map(|&s| {
            let mut a = als(s, values);
            let p = a.problem.users.indptr[u] as usize + t;
            corrupt(&mut a, p);
            failure(&mut a)
        })
        .collect();
    for (s, g) in solvers.iter().zip(&got).skip(1) {
        assert_eq!(g, &got[0], "{s:?} against CG");
    }
    let (ctx, e) = got[0].clone();
    assert!(ctx.starts_with(&format!("solving user {u}")), "{ctx}");
    e
}

#[test]
fn corrupted_rows_are_named_alike_by_every_solver() {
    // 403 users: the last three form a partial CG group, solved row by row.
    let (values, _) = planted(403, 300, 6, 25, 5, 21);
    // A user in the middle of a group of four, and one in the partial group.
    for u in [41usize, 401] {
        let e = same_failure(&values, u, 2, |a, p| a.problem.users.conf[p] = -1.0);
        assert_eq!(
            e,
            wmf_kernel::Error::Negative {
                what: "conf",
                index: 2
            }
        );

        let e = same_failure(&values, u, 1, |a, p| a.problem.users.conf[p] = f32::NAN);
        assert_eq!(
            e,
            wmf_kernel::Error::NonFinite {
                what: "conf",
                index: 1
            }
        );

        let e = same_failure(&values, u, 3, |a, p| a.problem.users.indices[p] = 300 + 7);
        assert_eq!(
            e,
            wmf_kernel::Error::IndexOutOfRange {
                what: "items",
                position: 3,
                index: 307,
                bound: 300
            }
        );

        let e = same_failure(&values, u, 0, |a, p| a.problem.users.indices.swap(p, p + 1));
        assert_eq!(
            e,
            wmf_kernel::Error::NotAscending {
                what: "items",
                position: 1
            }
        );
    }
}

#[test]
fn a_non_finite_warm_start_is_named_by_cg() {
    let (values, _) = planted(403, 300, 6, 25, 5, 21);
    for (u, c, v) in [
        (41usize, 5usize, f32::NAN),
        (42, 0, f32::INFINITY),
        (401, 7, f32::NEG_INFINITY),
    ] {
        let mut a = als(Solver::cg(3), &values);
        a.w[[u, c]] = v;
        let (ctx, e) = failure(&mut a);
        assert!(ctx.starts_with(&format!("solving user {u}")), "{ctx}");
        assert_eq!(
            e,
            wmf_kernel::Error::NonFinite {
                what: "x",
                index: c
            }
        );
    }
}
