//! How a four-row dot folds its sixteen lane sums: the one place where a
//! host may hand the kernel instruction-set code.
//!
//! Every dot of the kernel sums sixteen lanes (lane `l` holds the products
//! of the elements `l, l + 16, l + 32, …`) and folds them as a tree: lane
//! `l` gets lane `l + 8`, then `l + 4`, `l + 2`, `l + 1` ([`lane_folds`]
//! spells it out). The order is part of every result's bits and is the same
//! on every target. The CG solvers' observed-cell passes take four rows at a
//! time, so each step of four cells ends in four such folds.
//!
//! Portable Rust leaves the shape of those folds to the compiler, and LLVM
//! builds them from single-lane extracts and inserts: about 80 vector
//! instructions for the four folds where whole-register shuffles need about
//! 15 (BENCHMARKS.md, batch 19 item 2, batch 20). Stable Rust has no
//! portable shuffles, and this crate has no `unsafe` (no intrinsics), so a
//! host that has them supplies the four folds as a [`LaneFold`]: the same
//! additions, in the same order, on the same operands, hence the same bits.
//! The kernel's own [`PortableFold`] is [`lane_folds`]. On a Zen 4
//! (AVX-512) the host's folds took about 6% off a 50k-user iteration at
//! k = 64, CG and Cholesky alike, with the same bits (BENCHMARKS.md,
//! batch 20).
//!
//! A fold also says how the multiply-adds it travels with are rounded
//! ([`LaneFold::FUSED`]). Every fold of this crate and of the host rounds
//! them twice, the product and then the sum, which is what every kernel
//! function computes without a fold (and what the firmware and the C
//! library compute). Wrapping a fold in [`Fused`] asks for a *different*
//! definition: each multiply-add of the dots, updates and rank updates
//! that the fold reaches is rounded once, IEEE 754's fused multiply-add.
//! That is one instruction on hosts with FMA (where it halves the
//! arithmetic those loops issue) and correctly rounded software elsewhere,
//! so a fused solve gives the same bits on every target, but not the
//! unfused solve's bits.

use crate::real::{Real, lane_tree};

/// The four lane folds at the end of a four-row dot: `fold(s)[d]` must be
/// [`lane_folds`]`(s)[d]` bit for bit, for every input (the tree's
/// additions in its order, each with the same two operands).
///
/// The kernel calls a fold only where a caller handed one in: through
/// [`crate::Folded`] rows ([`crate::Items::with_fold`]: the CG solves and
/// [`crate::row_loss`]) and [`crate::solve_row_low_rank_folded`] /
/// [`crate::solve_row_low_rank_eigen_folded`]; on bare metal it ignores
/// it. A fold that broke the contract would change results (not memory
/// safety). The host's implementations (AVX-512
/// and AVX2 shuffles) are tested against [`lane_folds`] on random and
/// special values, and every host solve is tested against the kernel's.
pub trait LaneFold: Copy {
    /// Whether the dots and updates this fold reaches fuse their
    /// multiply-adds (see [`Fused`]): `false` for every fold but [`Fused`],
    /// and a fold with `false` must keep the contract above.
    const FUSED: bool = false;

    /// The folds of four `f32` dots.
    #[inline(always)]
    fn fold4_f32(self, s: [[f32; 16]; 4]) -> [f32; 4] {
        lane_folds(s)
    }

    /// The folds of four `f64` dots.
    #[inline(always)]
    fn fold4_f64(self, s: [[f64; 16]; 4]) -> [f64; 4] {
        lane_folds(s)
    }
}

/// The kernel's folds, in portable code ([`lane_folds`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortableFold;

impl LaneFold for PortableFold {}

/// The fold `F` with every multiply-add it reaches fused: `a * b + c`
/// rounded once, as IEEE 754's fusedMultiplyAdd (through `std` or `libm`;
/// correctly rounded either way, so the same bits on every target).
///
/// Which operations: where a fold is handed in ([`crate::Items::with_fold`],
/// [`crate::solve_row_cholesky_folded`], the `_folded` low-rank solves),
/// every multiply-add of the fixed-side rows' dots (`h_j · v`, one and four
/// rows at a time), of their updates (`y += a h_j`, one and four at a
/// time), of the Gramian `V Vᵀ` of the low-rank solves and of the rank
/// updates `A += (w_t x_t[r]) x_t[c]` of the normal equations. The `k`-long
/// vector work around them (CG's steps, `G0 p`, the factorisations and
/// substitutions) keeps separate roundings. The lane folds are `F`'s, the
/// order of every sum is the unfused one's.
///
/// Results differ from the unfused solve's in their last bits (each fused
/// operation drops one rounding), as much as two summation orders do: the
/// host's tests check both against each other to a relative tolerance,
/// and each against the kernel's own, bit for bit.
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Fused, Items, PortableFold, Row};
/// use wmf_kernel::{CgParams, solve_row_cg};
/// let h = [1.0f32, 0.25, 0.5, 1.0, 0.125, 0.75];
/// let g0 = [1.265625f32, 0.84375, 0.84375, 1.625];
/// let items = Items::new(Factors::new(&h, 3, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// let row = Row::implicit(&[0, 2], &[3.0, 2.0]);
/// let params = CgParams { steps: 2, tol: 0.0 };
/// let (mut x, mut y, mut s) = ([0.0f32; 2], [0.0f32; 2], [0.0f32; 6]);
/// solve_row_cg(&items.with_fold(PortableFold), &row, 0.1, &mut x, params, &mut s).unwrap();
/// solve_row_cg(&items.with_fold(Fused(PortableFold)), &row, 0.1, &mut y, params, &mut s).unwrap();
/// assert!((x[0] - y[0]).abs() <= 1e-5 && (x[1] - y[1]).abs() <= 1e-5);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fused<F = PortableFold>(pub F);

impl<F: LaneFold> LaneFold for Fused<F> {
    const FUSED: bool = true;
    #[inline(always)]
    fn fold4_f32(self, s: [[f32; 16]; 4]) -> [f32; 4] {
        self.0.fold4_f32(s)
    }
    #[inline(always)]
    fn fold4_f64(self, s: [[f64; 16]; 4]) -> [f64; 4] {
        self.0.fold4_f64(s)
    }
}

/// The reference folds: for each `d`, the sixteen lanes `a = s[d]` summed as
/// `a[l] += a[l + 8]` (`l < 8`), `a[l] += a[l + 4]` (`l < 4`),
/// `a[l] += a[l + 2]` (`l < 2`), then `a[0] + a[1]`: the order of every dot
/// in this crate.
///
/// ```
/// let mut s = [[0.0f32; 16]; 4];
/// s[1] = core::array::from_fn(|l| l as f32);
/// s[2][15] = 1e30;
/// s[2][7] = -1e30;
/// s[2][0] = 1.0;
/// // lanes 7 and 15 cancel in the first level, before lane 0 is added
/// assert_eq!(wmf_kernel::lane_folds(s), [0.0, 120.0, 1.0, 0.0]);
/// ```
#[inline(always)]
pub fn lane_folds<T: Real>(s: [[T; 16]; 4]) -> [T; 4] {
    s.map(lane_tree)
}
