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
