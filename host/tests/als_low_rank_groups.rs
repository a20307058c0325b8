//! The Cholesky solver's short rows, solved side by side in the kernel's
//! low-rank groups (a half over all rows), give exactly the bits of the
//! same rows solved one by one (the same half over selected rows, which
//! solves row by row): one λ and a λ per row, unfused and fused, f32 and
//! f64, with rows of every length around the low-rank cutoff and tasks
//! whose last group is partial or too small to group. The halves keep the
//! factors' basis (`EigenBasis::AsIs`: a full half with a λ per row would
//! otherwise rotate the fixed side first, which a half over selected rows
//! does not; als_eigenbasis.rs holds the rotated groups to the kernel's
//! one-row solve).

mod common;

use common::{cholesky_config, short_and_long_rows};
use wmf_host::als::{Als, EigenBasis, low_rank_cutoff};
use wmf_host::gramian::Float;
use wmf_host::{Arith, RegScaling};

fn same_bits<T: Float>(k: usize, reg: RegScaling, arith: Arith, threads: usize) {
    let values = short_and_long_rows();
    let cfg = cholesky_config(k, reg, arith, threads);
    // two trainings from the same seed, one iteration each: the same state
    let new = || {
        Als::<T>::new(&values, &cfg)
            .unwrap()
            .with_eigen_basis(EigenBasis::AsIs)
    };
    let (mut grouped, mut alone) = (new(), new());
    grouped.iterate().unwrap();
    alone.iterate().unwrap();
    let short = (0..values.nrows)
        .filter(|&u| {
            let n = values.row(u).0.len();
            n > 0 && n <= low_rank_cutoff(k)
        })
        .count();
    assert!(short >= 100, "{short} short rows");
    grouped.user_half(None).unwrap();
    let all: Vec<u32> = (0..values.nrows as u32).collect();
    alone.user_half(Some(&all)).unwrap();
    for u in 0..values.nrows {
        let (g, a) = (grouped.w.row(u), alone.w.row(u));
        let same = g
            .iter()
            .zip(a.iter())
            .all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits());
        assert!(same, "{reg:?} {arith:?} user {u}: {g} vs {a}");
    }
}

#[test]
fn groups_are_the_row_by_row_bits_f32() {
    for reg in [RegScaling::None, RegScaling::Frequency { nu: 0.5 }] {
        for arith in [Arith::Separate, Arith::Fused] {
            same_bits::<f32>(32, reg, arith, 2);
        }
    }
    same_bits::<f32>(64, RegScaling::None, Arith::Fused, 1);
}

#[test]
fn groups_are_the_row_by_row_bits_f64() {
    same_bits::<f64>(32, RegScaling::None, Arith::Fused, 2);
    same_bits::<f64>(32, RegScaling::Frequency { nu: 0.5 }, Arith::Separate, 1);
}
