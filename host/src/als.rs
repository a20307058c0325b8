//! ALS training with the kernel's row solvers, parallel over rows.
//!
//! One iteration solves every user row with the item factors fixed, then every
//! item row with the user factors fixed. Per half:
//!
//! 1. the Gramian of the fixed side on BLAS ([`crate::gramian`]):
//!    user half `G0 = Hᵀ diag(c0) H`; item half `G = c0 · Wᵀ W` (uniform `c0`)
//!    or `Wᵀ W` scaled by `c0_j` per item (per-item `c0`: every unobserved cell of
//!    item `j` has weight `c0_j` for every user, so item `j`'s problem is the
//!    kernel's row problem with `Items = (W, c0_j WᵀW, Uniform(c0_j))`);
//! 2. every row through the kernel's [`wmf_kernel::solve_row_cholesky`],
//!    [`wmf_kernel::solve_row_cg`] (warm start from the current factors) or
//!    [`wmf_kernel::solve_row_eals`] (coordinate sweeps from the current
//!    factors), in parallel with rayon in a pool of exactly
//!    [`TrainConfig::threads`] threads, with per-worker scratch.
//!
//! Each row's result depends only on the inputs (never on scheduling), BLAS
//! runs single-threaded, and the loss is summed in a fixed order, so a run is
//! deterministic for a given seed (and, in fact, for any thread count).
//!
//! Edge rules (as in `implicit`): a row with no interactions gets a zero
//! vector with Cholesky, and is driven towards zero by CG and eALS. A failed
//! row solve names the row (and its external id when known) and, for a
//! singular system, suggests more regularisation.

use std::ops::ControlFlow;
use std::time::Instant;

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use wmf_kernel::{
    Baseline, Bf16Factors, CgParams, EigenWhitened, Factors, Fused, Items, LaneFold, PortableFold,
    Row, RowTable, Tiling, Whitened, bf16_from_f32,
};

use crate::confidence::{column_counts, confidence_in_place, item_baseline, uniform_value};
use crate::error::{Error, Result};
use crate::gramian::{Float, GramWeights, gramian_blocked};
use crate::ids::IdMap;
use crate::model::{Arith, CgRows, Model, RegScaling, Solver, TrainConfig};
use crate::sparse::Csr;

/// Standard deviation of the initial factors is `INIT_SCALE / sqrt(k)`.
pub const INIT_SCALE: f64 = 0.01;

/// Tolerance handed to the kernel's CG (relative residual): none. Training
/// runs a fixed number of warm-started steps (`--cg-steps`), as `implicit`
/// does; a tolerance would rarely fire in f32 (the residual floors near
/// `1e-7 |b|`) and its `|b|` costs a vector update per observed cell
/// (measured: 4-7% of a CG iteration at 50k, k = 64). A row still stops on an
/// exactly zero residual or a breakdown.
pub const CG_TOL: f64 = 0.0;

/// Rows the CG solver steps together ([`wmf_kernel::solve_rows_cg`]) when a
/// side is solved in full against a shared `G0`: one pass over `G0` per CG
/// step serves this many rows. The results are bit for bit those of one row
/// at a time.
///
/// Four, not eight: on a Zen 4 (BENCHMARKS.md, batch 13) groups of four
/// were 4% faster at 50k k = 128 and 4-10% faster at the ML-20M shape, and
/// equal within 1% at 50k k = 64 (likely causes, not measured apart: a
/// group's gathered fixed-side rows are half the size, nearer L2's, and
/// with eight directions the `G0 p` loop reloaded some of their pointers
/// from the stack); on the Zen 5 of batch 5 eight had been 5% faster at
/// 50k k = 128.
pub const CG_GROUP: usize = 4;

/// The longest row (in cells) the Cholesky solver hands to the kernel's
/// low-rank solve ([`wmf_kernel::solve_row_low_rank`], or
/// [`wmf_kernel::solve_row_low_rank_eigen`] when each row has its own `λ`;
/// see [`low_rank_kind`]): `k − 16`, at least `k / 2`.
///
/// Its `n² k / 2` multiply-adds and `n x n` factorisation cost less than
/// forming and factoring the `k x k` normal equations (`n k² / 2 + k³ / 6`)
/// for every `n < k`, but it also pays about `c k²` per row on top (the
/// back-substitution `x = L⁻ᵀ y`, and reading rows of the whitened copy
/// beside the original factors); with that term the break-even moves to
/// `n ≈ k − c / 2`. Measured (BENCHMARKS.md, batch 6): at k = 64 a cutoff
/// of 48 beat 64 by 2-6% (50k and ML-20M-shaped data), at k = 128 a cutoff
/// of 128 beat 96 by 1-5%, hence `c ≈ 32`; then 112 beat 128 by 1-5%. `WMF_LOW_RANK=<factor>` sets
/// `factor · k` instead (0 turns the path off; for benchmarks), read once
/// per process.
pub fn low_rank_cutoff(k: usize) -> usize {
    static FACTOR: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
    let f = *FACTOR.get_or_init(|| {
        std::env::var("WMF_LOW_RANK")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|f| f.is_finite() && *f >= 0.0)
    });
    match f {
        Some(f) => (k as f64 * f) as usize,
        None => k.saturating_sub(16).max(k / 2),
    }
}

/// The fixed side whitened for the kernel's low-rank solve: `hw` (a copy of
/// the fixed factors `F`, the low-rank path's only extra memory; empty for
/// [`Basis::Diagonal`], which reads `F` itself) and how it was whitened.
struct Whitening<T> {
    basis: Basis<T>,
    hw: Vec<T>,
}

impl<T> Whitening<T> {
    /// The rows the low-rank solve reads: the copy, or `fixed` itself.
    fn rows<'a>(&'a self, fixed: &'a [T]) -> &'a [T] {
        match self.basis {
            Basis::Diagonal { .. } => fixed,
            _ => &self.hw,
        }
    }
}

/// How a [`Whitening`] was made.
enum Basis<T> {
    /// One `λ` for every row ([`wmf_kernel::solve_row_low_rank`]): the
    /// Cholesky factor `l` of `G0 + λ I`, `hw = F L⁻ᵀ`.
    Cholesky(Vec<T>),
    /// A `λ` per row ([`wmf_kernel::solve_row_low_rank_eigen`]):
    /// `G0 = Q diag(e) Qᵀ`, `hw = F Q`.
    Eigen { q: Vec<T>, e: Vec<T> },
    /// A `λ` per row with `F` in its Gramian's eigenbasis already (`G0 =
    /// diag(e)`, see [`EigenBasis`]; [`EigenWhitened::diagonal`]): no copy.
    Diagonal { e: Vec<T> },
}

/// The low-rank solve a half-iteration's short rows go to.
#[derive(Debug, Clone, Copy)]
enum LowRank<'a, T> {
    /// Every row has the same `λ`.
    Shared(Whitened<'a, T>),
    /// Each row has its own `λ`.
    PerRow(EigenWhitened<'a, T>),
}

impl<T: Float> LowRank<'_, T> {
    /// The rank `k`.
    fn k(&self) -> usize {
        match self {
            LowRank::Shared(w) => w.k(),
            LowRank::PerRow(w) => w.k(),
        }
    }
}

impl<T> Drop for Whitening<T> {
    /// Frees the copy and hands its pages back to the system at once. glibc
    /// otherwise serves the next half's copy (of the other side's size) from
    /// a heap fragmented by this one: at 50k users, k = 128 that grew the
    /// peak RSS from 108 to 140 MiB over eight iterations.
    fn drop(&mut self) {
        if self.hw.is_empty() {
            return;
        }
        drop(std::mem::take(&mut self.hw));
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free heap pages to the system.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// Which low-rank solve a half-iteration's short rows take (see
/// [`low_rank_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowRankKind {
    /// Every row has the same `λ`: one Cholesky factor of `G0 + λ I`
    /// ([`wmf_kernel::solve_row_low_rank`]).
    SharedLambda,
    /// Rows have their own `λ`: the eigenbasis of `G0`
    /// ([`wmf_kernel::solve_row_low_rank_eigen`]).
    PerRowLambda,
}

/// Whether solving `rows` rows through the low-rank path pays for preparing
/// the fixed side of `n_fixed` rows (`rows k >= 3 n_fixed`: whitening or
/// rotating costs `n_fixed k²` flops and saves up to about `k³ / 3` per
/// row), for [`low_rank_kind`] and [`EigenBasis::rotates`].
fn low_rank_pays(rows: usize, n_fixed: usize, k: usize) -> bool {
    rows.saturating_mul(k) >= n_fixed.saturating_mul(3)
}

/// Whether the Cholesky solver sends a half-iteration's rows of at most
/// [`low_rank_cutoff`] cells to a low-rank solve, and which: only with one
/// shared Gramian, a cutoff above 0, and enough rows to solve
/// (`rows_to_solve · k >= 3 n_fixed`, as for rotating the fixed side: the
/// whitening costs `n_fixed k²` flops and saves up to about `k³ / 3` per
/// row, so a partial solve of a few rows goes without it). The whitening itself can still decline (a
/// `G0 + λ I` that is not positive definite); those rows then take the
/// normal equations.
pub fn low_rank_kind<T: Float>(
    solver: Solver,
    fixed: &FixedSide<'_, T>,
    lambdas: &[T],
    rows_to_solve: usize,
    n_fixed: usize,
    k: usize,
) -> Option<LowRankKind> {
    if solver != Solver::Cholesky
        || !matches!(fixed, FixedSide::Shared { .. })
        || low_rank_cutoff(k) == 0
        || !low_rank_pays(rows_to_solve, n_fixed, k)
        || lambdas.is_empty()
    {
        return None;
    }
    Some(if lambdas.iter().all(|&l| l == lambdas[0]) {
        LowRankKind::SharedLambda
    } else {
        LowRankKind::PerRowLambda
    })
}

/// [`Whitening`] of `fixed` (`k` columns): `L` by the kernel
/// ([`wmf_kernel::whitening_factor`]), `F L⁻ᵀ` by BLAS `trsm` in parallel
/// blocks of rows; `None` when `G0 + λ I` is not positive definite (every
/// row then goes to the normal equations, which report it).
fn whiten<T: Float>(fixed: &[T], k: usize, g0: &[T], lambda: T) -> Option<Whitening<T>> {
    let mut l = vec![T::ZERO; k * k];
    wmf_kernel::whitening_factor(g0, lambda, k, &mut l).ok()?;
    let mut hw = fixed.to_vec();
    hw.par_chunks_mut(4096 * k)
        .for_each(|rows| T::trsm_right_lower_trans(&l, k, rows));
    let w = Whitening {
        basis: Basis::Cholesky(l),
        hw,
    };
    w.hw.iter().all(|v| v.is_finite()).then_some(w)
}

/// [`Whitening`] of `fixed` in the eigenbasis of `G0` for rows with their
/// own `λ >= min_lambda`: `G0 = Q diag(e) Qᵀ` by LAPACK (`syevd`, in `f64`,
/// from `G0`'s lower triangle), `F Q` ([`crate::tiles::times_q`]) in parallel blocks of
/// rows; or, when `G0` is `diagonal` (`F` in its eigenbasis already, see
/// [`EigenBasis`]), `e` = its diagonal and no copy. `None` when some `e +
/// min_lambda` is not comfortably positive (every row then goes to the
/// normal equations) or LAPACK fails.
fn whiten_eigen<T: Float>(
    fixed: &[T],
    k: usize,
    g0: &[T],
    diagonal: bool,
    min_lambda: f64,
) -> Option<Whitening<T>> {
    // The smallest `e + λ` sets the conditioning of the whitening; rounding
    // can leave `e` slightly negative for a singular `G0`.
    let conditioned = |e: &[f64]| {
        let scale = e
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let floor = e.iter().fold(f64::INFINITY, |m, &v| m.min(v)) + min_lambda;
        !floor.is_nan() && floor > 1e-6 * scale
    };
    if diagonal && g0.len() >= k * k {
        let e: Vec<T> = (0..k).map(|i| g0[i * k + i]).collect();
        let e64: Vec<f64> = e.iter().map(|v| v.to_f64()).collect();
        return conditioned(&e64).then_some(Whitening {
            basis: Basis::Diagonal { e },
            hw: Vec::new(),
        });
    }
    let (e, q) = gramian_eigen(g0, k)?;
    if !conditioned(&e) {
        return None;
    }
    let q: Vec<T> = q.iter().map(|&v| T::from_f64(v)).collect();
    let e: Vec<T> = e.iter().map(|&v| T::from_f64(v)).collect();
    let mut hw = vec![T::ZERO; fixed.len()];
    hw.par_chunks_mut(4096 * k)
        .zip(fixed.par_chunks(4096 * k))
        .for_each(|(out, rows)| crate::tiles::times_q(rows, &q, k, out));
    let w = Whitening {
        basis: Basis::Eigen { q, e },
        hw,
    };
    w.hw.iter().all(|v| v.is_finite()).then_some(w)
}

/// `G0 = Q diag(e) Qᵀ` by LAPACK's divide and conquer (`dsyevd`, in `f64`,
/// from `G0`'s lower triangle): `e` ascending, `Q` row-major with the
/// eigenvectors as its columns. `None` when LAPACK fails or gives a
/// non-finite value.
///
/// `dsyevd` rather than the QR iteration of `dsyev` (ndarray-linalg's
/// `eigh`): 1.2 against 2.1 ms at `k = 128` here, once per half on one
/// thread while the other waits.
fn gramian_eigen<T: Float>(g0: &[T], k: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    use std::os::raw::{c_char, c_int};
    // LAPACK's `dsyevd` as the linked library (Fortran, gfortran's calling
    // convention) defines it: every argument by reference, then one hidden
    // length per character argument, by value (`size_t` since gfortran 8).
    // Declared here with the lengths: `lapack-sys` omits them, and a
    // Fortran routine may use the stack slots where its caller should have
    // put them (gfortran's sibling calls: the "hidden string length"
    // breakage R and NumPy met in 2019). A C translation (f2c's `ftnlen`)
    // takes its lengths in the same places.
    unsafe extern "C" {
        fn dsyevd_(
            jobz: *const c_char,
            uplo: *const c_char,
            n: *const c_int,
            a: *mut f64,
            lda: *const c_int,
            w: *mut f64,
            work: *mut f64,
            lwork: *const c_int,
            iwork: *mut c_int,
            liwork: *const c_int,
            info: *mut c_int,
            jobz_len: usize,
            uplo_len: usize,
        );
    }
    if k == 0 || g0.len() < k * k {
        return None;
    }
    // Workspace sizes for eigenvectors (`jobz = 'V'`), as LAPACK documents.
    let lwork = 1 + 6 * k + 2 * k * k;
    let liwork = 3 + 5 * k;
    let (n, lw, liw) = (
        c_int::try_from(k).ok()?,
        c_int::try_from(lwork).ok()?,
        c_int::try_from(liwork).ok()?,
    );
    // The symmetric matrix from its lower triangle: the same array in
    // row-major and column-major order.
    let mut a: Vec<f64> = (0..k * k)
        .map(|i| {
            let (r, c) = (i / k, i % k);
            g0[r.max(c) * k + r.min(c)].to_f64()
        })
        .collect();
    let mut e = vec![0f64; k];
    let mut work = vec![0f64; lwork];
    let mut iwork = vec![0 as c_int; liwork];
    let mut info: c_int = 0;
    // SAFETY: `a` holds `k * k` elements with leading dimension `k`, `e`
    // holds `k`, `work` and `iwork` the `lwork` and `liwork` elements passed;
    // the job and triangle are one-character strings, with their lengths.
    unsafe {
        dsyevd_(
            c"V".as_ptr().cast::<c_char>(),
            c"L".as_ptr().cast::<c_char>(),
            &n,
            a.as_mut_ptr(),
            &n,
            e.as_mut_ptr(),
            work.as_mut_ptr(),
            &lw,
            iwork.as_mut_ptr(),
            &liw,
            &mut info,
            1,
            1,
        );
    }
    if info != 0 {
        return None;
    }
    // `a` (column-major) holds the eigenvectors as its columns: element
    // `(r, c)` of `Q` is `a[c k + r]`.
    let q: Vec<f64> = (0..k * k).map(|i| a[(i % k) * k + i / k]).collect();
    (e.iter().chain(&q).all(|v| v.is_finite())).then_some((e, q))
}

/// Which full halves [`Als`] solves in the eigenbasis of the fixed side's
/// Gramian (see [`rotate_to_eigenbasis`]): CG halves (both sides move: the
/// solved rows are CG's starting points) and Cholesky halves whose rows
/// have their own `λ` (only the fixed side moves: every solved row is
/// overwritten).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EigenBasis {
    /// Where it was measured to pay ([`EigenBasis::rotates`]): CG halves at
    /// `k >= 64` that solve at least as many rows as the fixed side has;
    /// Cholesky halves with a `λ` per row whose short rows take the
    /// low-rank solve.
    Auto,
    /// Never: the factors keep the basis they have.
    AsIs,
    /// Every full CG half whose rows share one Gramian, and every Cholesky
    /// half with a `λ` per row whose short rows can take the low-rank
    /// solve.
    Eigen,
}

impl EigenBasis {
    /// This process's default: [`EigenBasis::Auto`], or what `WMF_EIGENBASIS`
    /// (`auto`, `as-is`, `eigen`; for benchmarks) says, read once.
    pub fn from_env() -> Self {
        static BASIS: std::sync::OnceLock<EigenBasis> = std::sync::OnceLock::new();
        *BASIS.get_or_init(|| match std::env::var("WMF_EIGENBASIS").as_deref() {
            Ok("as-is") => EigenBasis::AsIs,
            Ok("eigen") => EigenBasis::Eigen,
            _ => EigenBasis::Auto,
        })
    }

    /// Whether a half that solves all `solved` rows against `fixed` rows
    /// with a shared Gramian (`solver` CG, no selection) at rank `k`
    /// rotates. The rotation costs `(solved + fixed) k²` multiply-adds on
    /// BLAS and saves the `(steps + 1) solved k²` of the kernel's `G0 p`
    /// products. By that count every half would gain; measured
    /// (BENCHMARKS.md, batch 22), the saving is smaller than the count
    /// says (the products run near their issue limit, while the rotation
    /// streams both sides through memory), so `Auto` rotates where it was
    /// measured to pay: at least as many rows solved as fixed, and `k >=
    /// 64`. At 50k users x 20k items the user half gained 9-15% at k =
    /// 128 and 3-7% at k = 64, the item half (20k against 50k) broke even;
    /// at k = 16 and 32 both halves were 1-4% slower.
    ///
    /// A Cholesky half (`per_row_lambda`: the rows have their own `λ`)
    /// rotates only its fixed side, `fixed k²` multiply-adds: what the
    /// low-rank solve's copy `F Q` cost before, now in place, and each
    /// short row saves rotating its solution back (`x = Q (s ⊙ y)`, `k²`
    /// multiply-adds in `k` dots). It rotates whenever that solve runs
    /// ([`low_rank_kind`]'s rule on all the side's rows; with one `λ` the
    /// low-rank solve whitens with a Cholesky factor and nothing rotates).
    pub fn rotates(
        self,
        solver: Solver,
        per_row_lambda: bool,
        solved: usize,
        fixed: usize,
        k: usize,
    ) -> bool {
        match solver {
            Solver::Cg { .. } => match self {
                EigenBasis::AsIs => false,
                EigenBasis::Eigen => true,
                EigenBasis::Auto => k >= 64 && solved >= fixed && solved > 0,
            },
            Solver::Cholesky => {
                let low_rank = low_rank_cutoff(k) > 0 && solved > 0;
                let worth_it = low_rank_pays(solved, fixed, k);
                match self {
                    EigenBasis::AsIs => false,
                    EigenBasis::Eigen => per_row_lambda && low_rank,
                    EigenBasis::Auto => per_row_lambda && low_rank && worth_it,
                }
            }
            _ => false,
        }
    }
}

/// Rotates `fixed` and `solved` (each whole rows of `k`, row-major) in
/// place into the eigenbasis of `g0`, the fixed side's Gramian, and
/// returns the Gramian in that basis: `diag(e)` (`k x k`, zeros off the
/// diagonal).
///
/// **Why it is the same problem.** With `G0 = Q diag(e) Qᵀ` (`Q`
/// orthogonal), the rotation `F ← F Q`, `X ← X Q` leaves every prediction
/// `x_u · f_j`, every `|x_u|²` and so the objective unchanged, and maps each
/// row's normal equations `(G0 + Σ_obs (c − c0_j) f_j f_jᵀ + λ I) x = b` to
/// the same equations in the new coordinates, with `G0` now `diag(e)`. CG is
/// invariant under an orthogonal change of basis: its iterates, step lengths
/// and residual norms are those of the unrotated solve, rotated (in exact
/// arithmetic; in floating point they agree to rounding). The kernel
/// notices the diagonal Gramian ([`Items::gramian_is_diagonal`]) and takes
/// each `G0 p` in `O(k)` instead of `O(k²)`.
///
/// Both sides move: the model `W Hᵀ` is the same, its factors are in a
/// new basis (like every factorisation, they are unique only up to such a
/// rotation). `e` comes from `f64` (`syevd`), `Q` is rounded to `T`; the
/// rotated rows' exact Gramian then differs from `diag(e)` by rounding, as
/// a Gramian summed in another order would. Negative `e` (rounding, for a
/// singular `G0`) become 0.
///
/// `None` (nothing rotated) when LAPACK fails.
pub fn rotate_to_eigenbasis<T: Float>(
    g0: &[T],
    k: usize,
    fixed: &mut [T],
    solved: &mut [T],
) -> Option<Vec<T>> {
    rotate_returning_q(g0, k, fixed, solved).map(|(d, _)| d)
}

/// [`rotate_to_eigenbasis`], also returning `Q` (row-major, rounded to `T`)
/// for rows rotated later ([`crate::tiles::times_q_in_place`]).
fn rotate_returning_q<T: Float>(
    g0: &[T],
    k: usize,
    fixed: &mut [T],
    solved: &mut [T],
) -> Option<(Vec<T>, Vec<T>)> {
    let (e, mut q) = gramian_eigen(g0, k)?;
    // Each eigenvector's sign is LAPACK's choice; fix it (largest
    // component positive) so that runs whose Gramians differ by rounding
    // (another process count, another LAPACK) pick the same basis.
    for c in 0..k {
        let top = (0..k).fold(0, |t, r| {
            if q[r * k + c].abs() > q[t * k + c].abs() {
                r
            } else {
                t
            }
        });
        if q[top * k + c] < 0.0 {
            for r in 0..k {
                q[r * k + c] = -q[r * k + c];
            }
        }
    }
    let q: Vec<T> = q.iter().map(|&v| T::from_f64(v)).collect();
    for rows in [fixed, solved] {
        rotate_rows(rows, &q, k);
    }
    let mut d = vec![T::ZERO; k * k];
    for (i, &v) in e.iter().enumerate() {
        d[i * k + i] = T::from_f64(v.max(0.0));
    }
    Some((d, q))
}

/// `rows ← rows Q` in place ([`crate::tiles::times_q_in_place`]), in
/// parallel blocks of [`ROTATION_BLOCK`] rows.
fn rotate_rows<T: Float>(rows: &mut [T], q: &[T], k: usize) {
    rows.par_chunks_mut(ROTATION_BLOCK * k)
        .for_each(|block| crate::tiles::times_q_in_place(block, q, k));
}

/// Rows per parallel task of [`rotate_to_eigenbasis`] (and of the CG
/// tasks that turn their own rows). Each row's bits are one chain of
/// multiply-adds per element whatever block it sits in
/// ([`crate::tiles`]); the block size is for speed: a block and its
/// product stay in L1 / L2.
pub const ROTATION_BLOCK: usize = 64;

/// Which solved rows [`eigenbasis_half`] turns with the fixed side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SolvedTurn {
    /// These rows now (a rank of the distributed trainer turns its own).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    Now(std::ops::Range<usize>),
    /// None here: a single process's CG half turns each task's block of
    /// solved rows in the task that solves it ([`solve_side_rotating`]:
    /// the same bits, without a separate pass over the side).
    Deferred,
}

/// A full half in the eigenbasis when `basis` says so
/// ([`EigenBasis::rotates`] on `solver`, `per_row_lambda`, the counts of
/// `solved` and `fixed` and `g0`'s `k`): [`rotate_to_eigenbasis`] of all
/// of `fixed` and, for CG, the solved rows `turn` names, by `g0`, the
/// fixed side's Gramian. A Cholesky half's solved rows are overwritten
/// without being read, so they are never turned.
///
/// Returns the Gramian to solve with, whether the sides moved, and `Q`
/// where a CG half's solved rows were left to turn
/// ([`SolvedTurn::Deferred`]): `(diag(e), true, _)`, or `(g0, false,
/// None)` when the rule says no, a side is not row-major or LAPACK failed
/// (nothing rotated).
///
/// # Errors
/// None in practice (`diag(e)` is `k x k`).
pub(crate) fn eigenbasis_half<T: Float>(
    basis: EigenBasis,
    solver: Solver,
    per_row_lambda: bool,
    g0: Array2<T>,
    fixed: &mut Array2<T>,
    solved: &mut Array2<T>,
    turn: SolvedTurn,
) -> Result<(Array2<T>, bool, Option<Vec<T>>)> {
    let k = g0.nrows();
    if !basis.rotates(solver, per_row_lambda, solved.nrows(), fixed.nrows(), k) {
        return Ok((g0, false, None));
    }
    let cg = matches!(solver, Solver::Cg { .. });
    let defer = turn == SolvedTurn::Deferred;
    let solved_rows = match turn {
        SolvedTurn::Now(rows) if cg => rows,
        _ => 0..0,
    };
    // The solved side must be row-major either way (turned here or later).
    let solved = solved
        .as_slice_mut()
        .and_then(|s| s.get_mut(solved_rows.start * k..solved_rows.end * k));
    // Both sides or neither (row-major factors, as the solvers take them).
    let turned = match (g0.as_slice(), fixed.as_slice_mut(), solved) {
        (Some(g), Some(fixed), Some(solved)) => rotate_returning_q(g, k, fixed, solved),
        _ => None,
    };
    match turned {
        Some((d, q)) => Array2::from_shape_vec((k, k), d)
            .map(|d| (d, true, (cg && defer).then_some(q)))
            .map_err(|e| Error::invalid("Gramian", e.to_string())),
        None => Ok((g0, false, None)),
    }
}

/// Keeps OpenBLAS single-threaded: the host parallelises over rows itself.
pub fn blas_single_threaded() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        unsafe extern "C" {
            fn openblas_set_num_threads(n: std::os::raw::c_int);
        }
        // SAFETY: OpenBLAS's documented setter; takes a plain int, no pointers,
        // and is called once, before this process issues any BLAS call of its own.
        unsafe { openblas_set_num_threads(1) };
    });
}

/// Checks a training configuration before any work; errors name the flag.
///
/// # Errors
/// [`Error::Invalid`]: `-k` outside `1..=MAX_K`, `--iterations` 0, `--lambda`
/// negative or not finite, a non-finite `--reg-scaling` exponent, bad
/// confidence or baseline parameters, `--cg-steps` / `--eals-sweeps` 0,
/// `--threads` 0.
pub fn validate_config(config: &TrainConfig) -> Result<()> {
    if config.k == 0 || config.k > wmf_kernel::MAX_K {
        return Err(Error::invalid(
            "-k",
            format!("{} is outside 1..={}", config.k, wmf_kernel::MAX_K),
        ));
    }
    if config.iterations == 0 {
        return Err(Error::invalid("--iterations", "must be at least 1"));
    }
    if !config.lambda.is_finite() || config.lambda < 0.0 {
        return Err(Error::invalid(
            "--lambda",
            format!("{} must be finite and >= 0", config.lambda),
        ));
    }
    if let RegScaling::Frequency { nu } = config.reg_scaling
        && !nu.is_finite()
    {
        {
            return Err(Error::invalid(
                "--reg-scaling",
                format!("exponent {nu} is not finite"),
            ));
        }
    }
    crate::confidence::validate_confidence(config.confidence)?;
    crate::confidence::validate_baseline(config.baseline)?;
    match config.solver {
        Solver::Cg { steps: 0, .. } => {
            return Err(Error::invalid("--cg-steps", "must be at least 1"));
        }
        Solver::Eals { sweeps: 0 } => {
            return Err(Error::invalid("--eals-sweeps", "must be at least 1"));
        }
        _ => {}
    }
    if config.threads == 0 {
        return Err(Error::invalid("--threads", "must be at least 1"));
    }
    Ok(())
}

/// `k` larger than the number of users or items makes every row's normal
/// equations rank-deficient (`G0 = Hᵀ diag(c0) H` and the observed terms span
/// at most `n` directions): allowed with `lambda > 0`, which makes them
/// positive definite (the extra directions only fit the regularisation and
/// shrink towards zero; the CLI warns), refused with `lambda = 0`.
///
/// # Errors
/// [`Error::Invalid`] (`-k`) when `k > min(m, n)` and `lambda == 0`.
pub fn check_rank(config: &TrainConfig, m: usize, n: usize) -> Result<()> {
    if config.k > m.min(n) && config.lambda == 0.0 {
        return Err(Error::invalid(
            "-k",
            format!(
                "{} is larger than the number of {} ({}); with --lambda 0 the normal equations are singular (use -k <= {} or --lambda > 0)",
                config.k,
                if n <= m { "items" } else { "users" },
                m.min(n),
                m.min(n)
            ),
        ));
    }
    Ok(())
}

/// One side's observed cells in CSR form with confidences in `T`: user rows
/// over items, or item rows over users.
#[derive(Debug, Clone, PartialEq)]
pub struct Side<T> {
    /// Row `i` occupies `indices[indptr[i]..indptr[i + 1]]`.
    pub indptr: Vec<u64>,
    /// Column of each cell, strictly ascending within a row.
    pub indices: Vec<u32>,
    /// Confidence of each cell.
    pub conf: Vec<T>,
    /// Number of columns (the other side's size).
    pub ncols: usize,
}

impl<T: Float> Side<T> {
    /// Converts a confidence matrix (a copy; [`Side::from_confidences`] takes
    /// the matrix instead).
    pub fn from_csr(c: &Csr) -> Self {
        Self {
            indptr: c.indptr.clone(),
            indices: c.indices.clone(),
            conf: c.values.iter().map(|&v| T::of_f32(v)).collect(),
            ncols: c.ncols,
        }
    }

    /// Takes a confidence matrix without copying it: its offsets and column
    /// indices become this side's, and so do its values for `T = f32` (for
    /// `f64` they are converted into a new vector).
    pub fn from_confidences(c: Csr) -> Self {
        Self {
            indptr: c.indptr,
            indices: c.indices,
            conf: T::vec_of_f32(c.values),
            ncols: c.ncols,
        }
    }

    /// The other orientation: item rows over users from user rows over items
    /// (or back), by counting sort in O(nnz + rows + columns), allocating only
    /// the result. Rows of the result are strictly ascending.
    pub fn transpose(&self) -> Self {
        let (indptr, indices, conf) =
            crate::sparse::transpose_parts(&self.indptr, &self.indices, &self.conf, self.ncols);
        Self {
            indptr,
            indices,
            conf,
            ncols: self.nrows(),
        }
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Row `i` as the kernel's implicit row (preferences 1).
    pub fn row(&self, i: usize) -> Row<'_, T> {
        if i >= self.nrows() {
            return Row::empty();
        }
        let (a, b) = (self.indptr[i] as usize, self.indptr[i + 1] as usize);
        Row::implicit(&self.indices[a..b], &self.conf[a..b])
    }
}

/// A training problem in confidence form: both orientations of the
/// confidences, the per-item `c0`, and the per-row `lambda`.
#[derive(Debug, Clone)]
pub struct Problem<T> {
    /// User rows (`m` over `n` items).
    pub users: Side<T>,
    /// Item rows (`n` over `m` users).
    pub items: Side<T>,
    /// `c0_j` per item (`n`).
    pub c0: Vec<T>,
    /// `Some(c0)` when every item has the same `c0`.
    pub c0_uniform: Option<T>,
    /// `lambda_u` per user (`m`).
    pub user_lambda: Vec<T>,
    /// `lambda_j` per item (`n`).
    pub item_lambda: Vec<T>,
}

/// `lambda_i` of every row of `side`: `lambda`, or `lambda (1 + n_i)^nu` with
/// frequency scaling (`n_i` the row's stored cells).
pub fn row_lambdas<T: Float>(lambda: f32, scaling: RegScaling, side: &Side<T>) -> Vec<T> {
    (0..side.nrows())
        .map(|i| match scaling {
            RegScaling::None => T::of_f32(lambda),
            RegScaling::Frequency { nu } => {
                let n = (side.indptr[i + 1] - side.indptr[i]) as f64;
                T::from_f64(lambda as f64 * (1.0 + n).powf(nu as f64))
            }
        })
        .collect()
}

impl<T: Float> Problem<T> {
    /// Builds the problem from raw interaction values (`m x n`, users by items)
    /// and a configuration (validated first). Copies `values` once; see
    /// [`Problem::from_values`] to hand them over instead.
    ///
    /// # Errors
    /// As [`Problem::from_values`].
    pub fn new(values: &Csr, config: &TrainConfig) -> Result<Self> {
        validate_config(config)?;
        Self::from_values(values.clone(), config)
    }

    /// Builds the problem from raw interaction values (`m x n`, users by
    /// items) that it takes over, and a configuration (validated first).
    ///
    /// # Memory
    /// The values become confidences in place ([`confidence_in_place`]) and
    /// the user side keeps the matrix's own vectors; only the item side is new
    /// (the transpose, [`Side::transpose`]). With `T = f32` the problem holds
    /// 2 x 8 bytes per interaction (`u32` index + `f32` confidence per
    /// orientation), and that is also the peak while building it.
    ///
    /// # Errors
    /// [`validate_config`]'s errors; [`Error::Invalid`] for an empty matrix or
    /// a bad value ([`confidence_in_place`]).
    pub fn from_values(mut values: Csr, config: &TrainConfig) -> Result<Self> {
        validate_config(config)?;
        if values.nnz() == 0 || values.nrows == 0 || values.ncols == 0 {
            return Err(Error::invalid("input", "there are no interactions"));
        }
        check_rank(config, values.nrows, values.ncols)?;
        confidence_in_place(&mut values, config.confidence)?;
        let c0_f32 = item_baseline(config.baseline, &column_counts(&values))?;
        let users = Side::from_confidences(values);
        let items = users.transpose();
        let c0_uniform = uniform_value(&c0_f32).map(T::of_f32);
        let c0 = c0_f32.iter().map(|&c| T::of_f32(c)).collect();
        let user_lambda = row_lambdas(config.lambda, config.reg_scaling, &users);
        let item_lambda = row_lambdas(config.lambda, config.reg_scaling, &items);
        Ok(Self {
            users,
            items,
            c0,
            c0_uniform,
            user_lambda,
            item_lambda,
        })
    }

    /// Number of users `m`.
    pub fn m(&self) -> usize {
        self.users.nrows()
    }

    /// Number of items `n`.
    pub fn n(&self) -> usize {
        self.items.nrows()
    }

    /// The item-side baseline the user half uses.
    pub fn item_baseline(&self) -> Baseline<'_, T> {
        match self.c0_uniform {
            Some(c) => Baseline::Uniform(c),
            None => Baseline::PerItem(&self.c0),
        }
    }

    /// `G0 = Hᵀ diag(c0) H` on BLAS, summed over fixed row blocks
    /// ([`gramian_blocked`]).
    ///
    /// # Errors
    /// As [`crate::gramian::gramian_weighted`].
    pub fn item_gramian(&self, h: ArrayView2<'_, T>) -> Result<Array2<T>> {
        match self.c0_uniform {
            Some(c) => gramian_blocked(h, GramWeights::Uniform(c)),
            None => gramian_blocked(h, GramWeights::PerRow(&self.c0)),
        }
    }
}

/// Initial factors: `N(0, (INIT_SCALE / sqrt(k))²)`, `W` then `H` from one
/// seeded stream (drawn in `f64`, so the `f32` and `f64` starts agree).
pub fn init_factors<T: Float>(m: usize, n: usize, k: usize, seed: u64) -> (Array2<T>, Array2<T>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let std = INIT_SCALE / (k.max(1) as f64).sqrt();
    let normal = Normal::new(0.0, std).unwrap_or_else(|_| Normal::new(0.0, 0.01).expect("valid"));
    let w = Array2::from_shape_simple_fn((m, k), || T::from_f64(normal.sample(&mut rng)));
    let h = Array2::from_shape_simple_fn((n, k), || T::from_f64(normal.sample(&mut rng)));
    (w, h)
}

/// `a` in standard (row-major) layout: `a` itself when it already is (no
/// copy: a copy of `W` would be a transient `m k` floats at the start of
/// training), else a row-major copy.
fn into_standard_layout<T: Clone>(a: Array2<T>) -> Array2<T> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// What the rows being solved see of the fixed side.
#[derive(Debug, Clone, Copy)]
pub enum FixedSide<'a, T> {
    /// One Gramian and baseline for every row (the user half; the item half
    /// with uniform `c0`).
    Shared {
        /// `G0` (`k * k`).
        g0: &'a [T],
        /// Weights of the unobserved cells.
        c0: Baseline<'a, T>,
    },
    /// The item half with per-item `c0`: row `j` uses `c0_j · gram` and `Uniform(c0_j)`.
    PerRow {
        /// `Wᵀ W` (`k * k`).
        gram: &'a [T],
        /// `c0_j` per row being solved.
        c0: &'a [T],
    },
}

/// Per-worker scratch of the row solvers.
#[derive(Debug, Clone)]
pub struct Scratch<T> {
    a: Vec<T>,
    g: Vec<T>,
    cg: Vec<T>,
    pred: Vec<T>,
    block: Vec<T>,
    cg_group: Vec<T>,
    /// A CG group's fixed-side rows, gathered ([`gather_group`]).
    gathered: Vec<T>,
    /// The same in bfloat16, for a solve over [`Bf16Factors`].
    gathered_bf16: Vec<u16>,
    /// Their `c0`, when it is per item.
    gathered_c0: Vec<T>,
    /// `0, 1, 2, ...`: the gathered rows' indices.
    ramp: Vec<u32>,
    /// A low-rank group's scratch ([`wmf_kernel::low_rank_group_scratch_len`]).
    lr_group: Vec<T>,
    /// A low-rank group's results (`LOW_RANK_GROUP k`).
    lr_xs: Vec<T>,
    /// A task's short rows, by length, for the low-rank groups.
    lr_order: Vec<(usize, usize)>,
}

/// [`Scratch`]es handed from one parallel task to the next: a task takes
/// one ([`ScratchPool::take`], a new one when none is free) and its guard
/// puts it back when the task ends, so a half allocates and clears about
/// one per thread instead of one per task.
struct ScratchPool<T> {
    free: std::sync::Mutex<Vec<Scratch<T>>>,
    k: usize,
}

impl<T: Float> ScratchPool<T> {
    fn new(k: usize) -> Self {
        Self {
            free: std::sync::Mutex::new(Vec::new()),
            k,
        }
    }

    /// A free scratch, or a new one for rank `k`.
    fn take(&self) -> PooledScratch<'_, T> {
        let s = self
            .free
            .lock()
            .ok()
            .and_then(|mut f| f.pop())
            .unwrap_or_else(|| Scratch::new(self.k));
        PooledScratch {
            s: Some(s),
            pool: self,
        }
    }
}

/// A [`Scratch`] taken from a [`ScratchPool`], returned to it on drop.
struct PooledScratch<'a, T> {
    s: Option<Scratch<T>>,
    pool: &'a ScratchPool<T>,
}

impl<T> std::ops::Deref for PooledScratch<'_, T> {
    type Target = Scratch<T>;
    fn deref(&self) -> &Scratch<T> {
        // `s` is `Some` until drop
        self.s.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl<T> std::ops::DerefMut for PooledScratch<'_, T> {
    fn deref_mut(&mut self) -> &mut Scratch<T> {
        self.s.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl<T> Drop for PooledScratch<'_, T> {
    fn drop(&mut self) {
        if let (Some(s), Ok(mut free)) = (self.s.take(), self.pool.free.lock()) {
            free.push(s);
        }
    }
}

impl<T: Float> Scratch<T> {
    /// Scratch for rank `k`.
    pub fn new(k: usize) -> Self {
        Self {
            a: vec![T::ZERO; k * k],
            g: vec![T::ZERO; k * k],
            cg: vec![T::ZERO; wmf_kernel::cg_scratch_len(k)],
            pred: Vec::new(),
            block: Vec::new(),
            cg_group: Vec::new(),
            gathered: Vec::new(),
            gathered_bf16: Vec::new(),
            gathered_c0: Vec::new(),
            ramp: Vec::new(),
            lr_group: Vec::new(),
            lr_xs: Vec::new(),
            lr_order: Vec::new(),
        }
    }
}

/// Solves one row with the kernel: `x` holds the warm start (CG, eALS) and
/// receives the result.
///
/// # Errors
/// The kernel's error.
#[allow(clippy::too_many_arguments)]
pub fn solve_one<T: Float>(
    fac: Factors<'_, T>,
    fixed: FixedSide<'_, T>,
    row_index: usize,
    row: &Row<'_, T>,
    lambda: T,
    solver: Solver,
    arith: Arith,
    x: &mut [T],
    scratch: &mut Scratch<T>,
) -> wmf_kernel::Result<()> {
    if let Solver::Cg {
        steps,
        rows: CgRows::Bf16,
    } = solver
        && !row.is_empty()
    {
        return solve_one_bf16(fac, fixed, row_index, row, lambda, steps, arith, x, scratch);
    }
    let shared = match fixed {
        FixedSide::Shared { g0, c0 } => Some(tiled_items(fac, g0, c0)?),
        FixedSide::PerRow { .. } => None,
    };
    solve_prepared(
        isa(),
        arith,
        fac,
        fixed,
        shared.as_ref(),
        None,
        None,
        row_index,
        row,
        lambda,
        solver,
        x,
        scratch,
    )
}

/// The instruction set the row loops run with, chosen once per process.
///
/// The kernel is plain portable Rust; the host compiles its per-row loop
/// three times (x86-64 baseline, AVX2, AVX-512) by inlining the kernel into
/// `#[target_feature]` wrappers, and picks the widest one the CPU has. The
/// kernel fixes its summation order in code (not by vector width), and Rust
/// never contracts `a * b + c` into an FMA (the fused multiply-adds of
/// [`Arith::Fused`] are `mul_add`s, exact by IEEE 754), so every variant
/// gives the same bits. `WMF_ISA=baseline|avx2|avx512` forces a level (for benchmarks);
/// a level the CPU lacks falls back to the widest it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// The build's target features only.
    Baseline,
    /// AVX2 and FMA (256-bit vectors).
    Avx2,
    /// AVX-512F/VL/BW/DQ and FMA (512-bit vectors).
    Avx512,
}

/// The [`Isa`] of this process (see there).
pub fn isa() -> Isa {
    static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *ISA.get_or_init(|| {
        let have = detect_isa();
        match std::env::var("WMF_ISA").ok().as_deref() {
            Some("baseline") => Isa::Baseline,
            Some("avx2") => have.min(Isa::Avx2),
            _ => have,
        }
    })
}

/// Whether the solver loops of this process's [`Isa`] run [`Arith::Fused`]'s
/// multiply-adds as instructions (x86-64 AVX2 / AVX-512 copies, which
/// require FMA; AArch64) rather than through the C library's software
/// `fmaf` (the plain x86-64 copy, other targets).
pub fn fused_in_hardware() -> bool {
    if cfg!(target_arch = "aarch64") {
        return true;
    }
    cfg!(target_arch = "x86_64") && isa() != Isa::Baseline
}

/// The kernel's register blocking for this process's [`Isa`]: the wide
/// rank-update tiles (4 x 64) where AVX-512's 32 registers of 16 lanes hold
/// them, the narrow ones (4 x 16 for fused `f32`, else 3 x 16) everywhere else
/// (AVX2 and SSE2 have 16 registers; the wide tiles spill their
/// accumulators there). Results are bit for bit the same under both
/// ([`wmf_kernel::Tiling`]); BENCHMARKS.md, batches 11, 12 and 35, has the
/// measurements.
pub fn tiling() -> Tiling {
    match isa() {
        Isa::Avx512 => Tiling::Wide,
        Isa::Avx2 | Isa::Baseline => Tiling::Narrow,
    }
}

/// [`Items::new`] with this process's [`tiling`]: every `Items` the solvers
/// build goes through here, so none runs with tiles its registers cannot
/// hold. (A gathered copy takes the tiling of the `Items` it copies.)
///
/// # Errors
/// [`Items::new`]'s.
fn tiled_items<'a, T: Float>(
    fac: Factors<'a, T>,
    g0: &'a [T],
    c0: Baseline<'a, T>,
) -> wmf_kernel::Result<Items<'a, T>> {
    Ok(Items::new(fac, g0, c0)?.with_tiling(tiling()))
}

fn detect_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        // Both copies are compiled with `fma` too (the fused multiply-adds
        // of `Arith::Fused`), so both need it.
        let fma = std::arch::is_x86_feature_detected!("fma");
        if fma
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            return Isa::Avx512;
        }
        if fma && std::arch::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
    }
    Isa::Baseline
}

/// Defines `$name(isa, args…)`, which runs `$generic(args…)` compiled for the
/// given [`Isa`]: two `#[target_feature]` copies (AVX-512, AVX2) that the
/// `#[inline(always)]` generic body and the kernel's loops are inlined into,
/// and the plain build for [`Isa::Baseline`] (and off x86-64). The copies are
/// ordinary safe Rust; calling one is `unsafe` only because the CPU must
/// have its features, which [`isa`] checked at run time.
///
/// `= $generic with fold;` passes each copy's lane fold ([`crate::fold`]) as
/// a last argument: the AVX-512 and AVX2 copies make theirs (safe there:
/// they are compiled with the features), the plain build takes the kernel's.
macro_rules! isa_dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$($t:ident: $bound:path),+>)? ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty
            = $generic:ident;
    ) => {
        $crate::als::isa_dispatch! {
            @copies [$(#[$meta])*] $vis $name [$($($t: $bound),+)?] ($($arg: $ty),*) -> $ret
            = $generic [] [] []
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$($t:ident: $bound:path),+>)? ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty
            = $generic:ident with fold;
    ) => {
        $crate::als::isa_dispatch! {
            @copies [$(#[$meta])*] $vis $name [$($($t: $bound),+)?] ($($arg: $ty),*) -> $ret
            = $generic [$crate::fold::avx512()] [$crate::fold::avx2()] [wmf_kernel::PortableFold]
        }
    };
    // `with fold by arith`: `$name(isa, arith, args…)`, which runs one of
    // two sets of the copies above, each instruction set's fold as it is or
    // wrapped in `Fused`. Two functions (not a branch inside one) keep each
    // copy's stack frame to one solve's buffers: unoptimised builds do not
    // share stack slots between the arms of a branch, and two arms
    // overflowed a worker thread's stack in the debug-build tests.
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$($t:ident: $bound:path),+>)? ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty
            = $generic:ident with fold by arith;
    ) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        #[inline]
        $vis fn $name <$($($t: $bound),+)?> (
            isa: $crate::als::Isa,
            arith: $crate::model::Arith,
            $($arg: $ty),*
        ) -> $ret {
            $crate::als::isa_dispatch! {
                @copies [] separate [$($($t: $bound),+)?] ($($arg: $ty),*) -> $ret
                = $generic [$crate::fold::avx512()] [$crate::fold::avx2()] [wmf_kernel::PortableFold]
            }
            $crate::als::isa_dispatch! {
                @copies [] fused [$($($t: $bound),+)?] ($($arg: $ty),*) -> $ret
                = $generic
                    [wmf_kernel::Fused($crate::fold::avx512())]
                    [wmf_kernel::Fused($crate::fold::avx2())]
                    [wmf_kernel::Fused(wmf_kernel::PortableFold)]
            }
            match arith {
                $crate::model::Arith::Separate => separate(isa, $($arg),*),
                $crate::model::Arith::Fused => fused(isa, $($arg),*),
            }
        }
    };
    // The function and its copies; each bracket holds the extra last
    // argument (or none) of the AVX-512, AVX2 and plain calls.
    (
        @copies [$(#[$meta:meta])*] $vis:vis $name:ident [$($t:ident: $bound:path),*]
        ($($arg:ident: $ty:ty),*) -> $ret:ty
            = $generic:ident [$($x512:expr)?] [$($x2:expr)?] [$($xbase:expr)?]
    ) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        #[inline]
        $vis fn $name <$($t: $bound),*> (isa: $crate::als::Isa, $($arg: $ty),*) -> $ret {
            // Fuzz builds (`--cfg fuzzing`) keep only the plain copy: no
            // fuzz target reaches the solvers, and compiling the CPU copies
            // with the sanitizers was half the fuzz build (fuzz/run-fuzz.sh).
            #[cfg(all(target_arch = "x86_64", not(fuzzing)))]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512 <$($t: $bound),*> ($($arg: $ty),*) -> $ret {
                    $generic($($arg,)* $($x512)?)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2 <$($t: $bound),*> ($($arg: $ty),*) -> $ret {
                    $generic($($arg,)* $($x2)?)
                }
                match isa {
                    // SAFETY: `isa()` returns Avx512 / Avx2 only when the CPU
                    // has those features and FMA (detected at run time).
                    $crate::als::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    $crate::als::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::als::Isa::Baseline => {}
                }
            }
            let _ = isa;
            $generic($($arg,)* $($xbase)?)
        }
    };
}
pub(crate) use isa_dispatch;

/// [`solve_one`] by CG over the row's own fixed-side rows in bfloat16
/// ([`CgRows::Bf16`]): the `n_u` rows it observes are encoded (O(n_u k),
/// not the whole side) with their `c0`, and the kernel solves over them with
/// the cells renumbered `0..n_u`, which reads exactly the values a solve
/// over the whole encoded side would. (An empty row reads no rows; the
/// caller solves it over the `f32` side, the same result.)
#[allow(clippy::too_many_arguments)]
fn solve_one_bf16<T: Float>(
    fac: Factors<'_, T>,
    fixed: FixedSide<'_, T>,
    row_index: usize,
    row: &Row<'_, T>,
    lambda: T,
    steps: usize,
    arith: Arith,
    x: &mut [T],
    scratch: &mut Scratch<T>,
) -> wmf_kernel::Result<()> {
    let k = fac.k();
    let Scratch {
        g,
        cg,
        gathered_bf16: bits,
        gathered_c0,
        ramp,
        ..
    } = scratch;
    let n = row.len();
    bits.clear();
    for &j in row.items {
        bits.extend(
            fac.row(j as usize)
                .iter()
                .map(|v| bf16_from_f32(v.to_f32())),
        );
    }
    if ramp.len() < n {
        ramp.extend(ramp.len() as u32..n as u32);
    }
    let (g0, c0) = row_gramian(fixed, row_index, g);
    let c0 = gathered_baseline(c0, row.items, gathered_c0);
    let items = Items::compact(Bf16Factors::with_shape(bits, n, k)?, g0, c0)?;
    let local = Row::new(&ramp[..n], row.conf, row.pref);
    let params = CgParams { steps, tol: CG_TOL };
    solve_row_cg_by(arith, &items, &local, lambda, x, params, cg).map(|_| ())
}

/// [`wmf_kernel::solve_row_cg`] with the kernel's own folds, the
/// multiply-adds rounded as `arith` says (for the rows solved outside the
/// per-ISA copies).
fn solve_row_cg_by<T: Float, H: RowTable<T>>(
    arith: Arith,
    items: &Items<'_, T, H>,
    row: &Row<'_, T>,
    lambda: T,
    x: &mut [T],
    params: CgParams,
    scratch: &mut [T],
) -> wmf_kernel::Result<wmf_kernel::CgReport> {
    match arith {
        Arith::Separate => wmf_kernel::solve_row_cg(items, row, lambda, x, params, scratch),
        Arith::Fused => {
            let items = items.with_fold(Fused(PortableFold));
            wmf_kernel::solve_row_cg(&items, row, lambda, x, params, scratch)
        }
    }
}

/// The Gramian and baseline row `row_index` is solved against: the side's
/// shared ones, or (a Gramian per row) `c0_i` times the unscaled Gramian,
/// written into `g`, with the uniform baseline `c0_i`.
fn row_gramian<'a, T: Float>(
    fixed: FixedSide<'a, T>,
    row_index: usize,
    g: &'a mut [T],
) -> (&'a [T], Baseline<'a, T>) {
    match fixed {
        FixedSide::Shared { g0, c0 } => (g0, c0),
        FixedSide::PerRow { gram, c0 } => {
            let c = c0.get(row_index).copied().unwrap_or(T::ZERO);
            for (gv, wv) in g.iter_mut().zip(gram) {
                *gv = c * *wv;
            }
            (g, Baseline::Uniform(c))
        }
    }
}

/// The fixed side in bfloat16 for [`CgRows::Bf16`]: its rows, and the
/// [`Items`] over them when every row shares one Gramian.
#[derive(Clone, Copy)]
struct Compact<'a, T> {
    rows: Bf16Factors<'a>,
    shared: Option<Items<'a, T, Bf16Factors<'a>>>,
}

isa_dispatch! {
    /// [`solve_one`] with the shared [`Items`] already validated (`None` for
    /// [`FixedSide::PerRow`]), on the given instruction set.
    fn solve_prepared<T: Float>(
        fac: Factors<'_, T>,
        fixed: FixedSide<'_, T>,
        shared: Option<&Items<'_, T>>,
        low_rank: Option<&LowRank<'_, T>>,
        compact: Option<&Compact<'_, T>>,
        row_index: usize,
        row: &Row<'_, T>,
        lambda: T,
        solver: Solver,
        x: &mut [T],
        scratch: &mut Scratch<T>,
    ) -> wmf_kernel::Result<()> = solve_generic with fold by arith;
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn solve_generic<T: Float, F: LaneFold>(
    fac: Factors<'_, T>,
    fixed: FixedSide<'_, T>,
    shared: Option<&Items<'_, T>>,
    low_rank: Option<&LowRank<'_, T>>,
    compact: Option<&Compact<'_, T>>,
    row_index: usize,
    row: &Row<'_, T>,
    lambda: T,
    solver: Solver,
    x: &mut [T],
    scratch: &mut Scratch<T>,
    fold: F,
) -> wmf_kernel::Result<()> {
    let Scratch {
        a,
        g,
        cg,
        pred,
        block,
        ..
    } = scratch;
    let per_row;
    let items = match shared {
        Some(items) => items,
        None => {
            let (g0, c0) = row_gramian(fixed, row_index, g);
            per_row = tiled_items(fac, g0, c0)?;
            &per_row
        }
    };
    match solver {
        Solver::Cholesky => {
            let k = items.k();
            // A short row: the whitened problem's capacitance system (the
            // kernel declines rows with a cell below c0; those fall through).
            if let Some(w) = low_rank
                && !row.is_empty()
                && row.len() <= low_rank_cutoff(k)
            {
                // The kernel's whole low-rank solve: it gathers V and b̂,
                // forms V Vᵀ with its dots and finishes (the kernel's bits
                // for this row, given the host's whitened factors).
                let need = wmf_kernel::low_rank_scratch_len(row.len(), k);
                if block.len() < need {
                    block.resize(need, T::ZERO);
                }
                let solved = match w {
                    LowRank::Shared(w) => {
                        wmf_kernel::solve_row_low_rank_folded(w, row, block, x, fold)?
                    }
                    LowRank::PerRow(w) => {
                        wmf_kernel::solve_row_low_rank_eigen_folded(w, row, lambda, block, x, fold)?
                    }
                };
                if solved {
                    return Ok(());
                }
            }
            // A long row (or an empty one: the kernel's rule, x = 0): the
            // kernel's exact solve. It forms the normal equations' rank
            // updates in register tiles over blocks of the row's cells (the
            // BLAS-3 work of a `syrk`, without gathering or packing the
            // rows), factors and solves: the bits the kernel, and the C ABI,
            // give for this row on any target (fused: the kernel's fused bits).
            wmf_kernel::solve_row_cholesky_folded(items, row, lambda, a, x, fold)
        }
        Solver::Cg { steps, .. } => {
            let params = CgParams { steps, tol: CG_TOL };
            match compact {
                // rows in bfloat16: the shared items, or this row's
                // Gramian and baseline over them
                Some(Compact {
                    shared: Some(items),
                    ..
                }) => wmf_kernel::solve_row_cg(&items.with_fold(fold), row, lambda, x, params, cg),
                Some(Compact { rows, .. }) => {
                    let items = items.with_table(*rows, *items.baseline())?.with_fold(fold);
                    wmf_kernel::solve_row_cg(&items, row, lambda, x, params, cg)
                }
                None => {
                    wmf_kernel::solve_row_cg(&items.with_fold(fold), row, lambda, x, params, cg)
                }
            }
            .map(|_| ())
        }
        Solver::Eals { sweeps } => {
            if pred.len() < row.len() {
                pred.resize(row.len(), T::ZERO);
            }
            wmf_kernel::solve_row_eals(items, row, lambda, x, sweeps, pred)
        }
    }
}

isa_dispatch! {
    /// The kernel's low-rank solve of up to [`wmf_kernel::LOW_RANK_GROUP`]
    /// rows side by side ([`wmf_kernel::solve_rows_low_rank_folded`] or its
    /// eigenbasis twin, `lambdas` per row), on the given instruction set:
    /// for each row what the one-row solve gives, bit for bit.
    fn solve_low_rank_group<T: Float>(
        low_rank: &LowRank<'_, T>,
        rows: &[Row<'_, T>],
        lambdas: &[T],
        scratch: &mut [T],
        xs: &mut [T],
    ) -> [wmf_kernel::Result<bool>; wmf_kernel::LOW_RANK_GROUP] = low_rank_group_generic with fold by arith;
}

#[inline(always)]
fn low_rank_group_generic<T: Float, F: LaneFold>(
    low_rank: &LowRank<'_, T>,
    rows: &[Row<'_, T>],
    lambdas: &[T],
    scratch: &mut [T],
    xs: &mut [T],
    fold: F,
) -> [wmf_kernel::Result<bool>; wmf_kernel::LOW_RANK_GROUP] {
    match low_rank {
        LowRank::Shared(w) => wmf_kernel::solve_rows_low_rank_folded(w, rows, scratch, xs, fold),
        LowRank::PerRow(w) => {
            wmf_kernel::solve_rows_low_rank_eigen_folded(w, rows, lambdas, scratch, xs, fold)
        }
    }
}

/// Row `i`'s `λ` from a side's per-row `lambdas`: `0` past its end (the
/// one rule for every solver's rows).
#[inline(always)]
fn lambda_at<T: Float>(lambdas: &[T], i: usize) -> T {
    lambdas.get(i).copied().unwrap_or(T::ZERO)
}

/// Fewest short rows a task solves as one low-rank group; fewer go row by
/// row.
const LOW_RANK_GROUP_MIN: usize = 4;

/// Longest row (in cells) a low-rank group takes at rank `k`: `n_u k` at
/// most 2048, so that a group's sixteen blocks of `V` (`16 n_u k` values,
/// 128 KiB in `f32`) and its systems stay in L2 (and never past
/// [`low_rank_cutoff`]). Longer short rows go row by row: a system of 32
/// or more rows keeps the one-row factorisation's vectors full, and
/// side by side the group only adds its interleaving and its cache misses
/// (measured at k = 128: rows of 32 cells 8% slower in a group, rows of
/// 16 cells 12% faster; at k = 64 rows of 32 cells 9% faster).
fn low_rank_group_max(k: usize) -> usize {
    (2048 / k.max(1)).min(low_rank_cutoff(k))
}

/// The short rows (`1..=group_max` cells) of one Cholesky task, rows
/// `first..first + xs.len() / k` of `side` (results in `xs`), by length in
/// low-rank groups of [`wmf_kernel::LOW_RANK_GROUP`] rows side by side
/// ([`solve_low_rank_group`]: each row's one-row bits); a last group of
/// fewer than [`LOW_RANK_GROUP_MIN`] rows is left out. `done[j]` (one per
/// task row, all `false` on entry) is set for the rows a group solved; the
/// others (long rows, rows a group declined) are the caller's to solve one
/// by one. The
/// next group's fixed-side rows (`hw`, whitened) are prefetched while a
/// group is solved.
///
/// # Errors
/// The first error a group reports, with its row's index in `side`.
#[allow(clippy::too_many_arguments)]
fn solve_short_rows_grouped<T: Float>(
    isa: Isa,
    arith: Arith,
    low_rank: &LowRank<'_, T>,
    hw: Option<&[T]>,
    side: &Side<T>,
    lambdas: &[T],
    first: usize,
    group_max: usize,
    xs: &mut [T],
    scratch: &mut Scratch<T>,
    done: &mut [bool],
) -> std::result::Result<(), (usize, wmf_kernel::Error)> {
    const G: usize = wmf_kernel::LOW_RANK_GROUP;
    let k = low_rank.k();
    let count = (xs.len() / k).min(done.len());
    let mut order = std::mem::take(&mut scratch.lr_order);
    order.clear();
    order.extend(
        (first..first + count)
            .map(|i| (side.row(i).len(), i))
            .filter(|&(n, _)| n > 0 && n <= group_max),
    );
    order.sort_unstable();
    let groups = order.len() / G + usize::from(order.len() % G >= LOW_RANK_GROUP_MIN);
    let mut result = Ok(());
    'groups: for (gi, grp) in order.chunks(G).take(groups).enumerate() {
        if let (Some(next), Some(hw)) = (order.chunks(G).nth(gi + 1), hw)
            && gi + 1 < groups
        {
            for &(_, i) in next {
                prefetch_rows(hw, k, side, i..i + 1);
            }
        }
        let mut rows = [Row::empty(); G];
        let mut lam = [T::ZERO; G];
        for (v, &(_, i)) in grp.iter().enumerate() {
            rows[v] = side.row(i);
            lam[v] = lambda_at(lambdas, i);
        }
        // rows sorted by length: the last is the longest
        let n_max = grp.last().map_or(0, |&(n, _)| n);
        let need = wmf_kernel::low_rank_group_scratch_len(n_max, k);
        if scratch.lr_group.len() < need {
            scratch.lr_group.resize(need, T::ZERO);
        }
        scratch.lr_xs.resize(grp.len() * k, T::ZERO);
        let got = solve_low_rank_group(
            isa,
            arith,
            low_rank,
            &rows[..grp.len()],
            &lam[..grp.len()],
            &mut scratch.lr_group,
            &mut scratch.lr_xs,
        );
        for (v, &(_, i)) in grp.iter().enumerate() {
            match got[v] {
                Ok(true) => {
                    let j = i - first;
                    xs[j * k..(j + 1) * k].copy_from_slice(&scratch.lr_xs[v * k..(v + 1) * k]);
                    done[j] = true;
                }
                Ok(false) => {}
                Err(e) => {
                    result = Err((i, e));
                    break 'groups;
                }
            }
        }
    }
    scratch.lr_order = order;
    result
}

isa_dispatch! {
    /// Solves the [`CG_GROUP`] consecutive rows `first..first + CG_GROUP` of
    /// `side` (warm starts and results in `x`, `CG_GROUP * k`; `lambdas` per row
    /// of `side`) by the kernel's lock-step CG on the given instruction set,
    /// without its per-row scans ([`wmf_kernel::solve_rows_cg_prechecked`]):
    /// the caller has checked `side`'s rows against `items` (`cg_side`).
    /// When the group's fixed-side rows take more
    /// than `gather_above` bytes (and at most [`CG_GATHER_MAX_BYTES`]) the
    /// kernel works on a gathered copy of them (same bits; [`cg_gather_bytes`]
    /// is the training's threshold). The error names the row's index.
    ///
    /// # Errors
    /// The kernel's error for the first failing row, with that row's index.
    fn solve_cg_group<T: Float, H: CgTable<T>>(
        items: &Items<'_, T, H>,
        side: &Side<T>,
        first: usize,
        lambdas: &[T],
        steps: usize,
        x: &mut [T],
        scratch: &mut Scratch<T>,
        gather_above: usize,
    ) -> std::result::Result<(), (usize, wmf_kernel::Error)> = cg_group_generic with fold by arith;
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn cg_group_generic<T: Float, H: CgTable<T>, F: LaneFold>(
    items: &Items<'_, T, H>,
    side: &Side<T>,
    first: usize,
    lambdas: &[T],
    steps: usize,
    x: &mut [T],
    scratch: &mut Scratch<T>,
    gather_above: usize,
    fold: F,
) -> std::result::Result<(), (usize, wmf_kernel::Error)> {
    let need = wmf_kernel::cg_rows_scratch_len(CG_GROUP, items.k());
    if scratch.cg_group.len() < need {
        scratch.cg_group.resize(need, T::ZERO);
    }
    let Scratch {
        cg_group: work,
        gathered,
        gathered_bf16,
        gathered_c0,
        ramp,
        ..
    } = scratch;
    let gathered = H::buffer(gathered, gathered_bf16);
    let lambdas: [T; CG_GROUP] = std::array::from_fn(|v| lambda_at(lambdas, first + v));
    let params = CgParams { steps, tol: CG_TOL };
    // The group's cells: indptr[first..=first + CG_GROUP] (a full group).
    let span = side
        .indptr
        .get(first)
        .zip(side.indptr.get(first + CG_GROUP))
        .map(|(&a, &b)| (a as usize, b as usize));
    let bytes = |(a, b): (usize, usize)| (b - a).saturating_mul(items.k() * size_of::<T>());
    let results = match span {
        Some(span) if bytes(span) > gather_above && bytes(span) <= CG_GATHER_MAX_BYTES => {
            let (a, b) = span;
            if ramp.len() < b - a {
                ramp.extend(ramp.len() as u32..(b - a) as u32);
            }
            let local = gather_group(items, &side.indices[a..b], gathered, gathered_c0)
                .map_err(|e| (first, e))?;
            let rows: [Row<'_, T>; CG_GROUP] = std::array::from_fn(|v| {
                let (s, e) = (
                    side.indptr[first + v] as usize,
                    side.indptr[first + v + 1] as usize,
                );
                Row::implicit(&ramp[s - a..e - a], &side.conf[s..e])
            });
            wmf_kernel::solve_rows_cg_prechecked(
                &local.with_fold(fold),
                &rows,
                &lambdas,
                x,
                params,
                work,
            )
        }
        _ => {
            // The next group's fixed-side rows are scattered over a table
            // larger than L2; asking for them now hides their latency behind
            // this group.
            prefetch_rows(
                items.rows().stored(),
                items.k(),
                side,
                first + CG_GROUP..first + 2 * CG_GROUP,
            );
            let rows: [Row<'_, T>; CG_GROUP] = std::array::from_fn(|v| side.row(first + v));
            wmf_kernel::solve_rows_cg_prechecked(
                &items.with_fold(fold),
                &rows,
                &lambdas,
                x,
                params,
                work,
            )
        }
    };
    for (v, r) in results.into_iter().enumerate() {
        r.map_err(|e| {
            // A non-finite residual from rows that passed `cg_side`'s check
            // comes from a non-finite warm start (or an overflow); the checked
            // solve of the row (on a copy) names the element, as it would
            // have without the precheck.
            let i = first + v;
            let named = match e {
                wmf_kernel::Error::NonFiniteResult { what: "residual" } => {
                    let k = items.k();
                    let mut xv = x[v * k..(v + 1) * k].to_vec();
                    let mut cg = vec![T::ZERO; wmf_kernel::cg_scratch_len(k)];
                    let lambda = lambdas[v];
                    wmf_kernel::solve_row_cg(items, &side.row(i), lambda, &mut xv, params, &mut cg)
                        .err()
                        .unwrap_or(e)
                }
                e => e,
            };
            (i, named)
        })?;
    }
    Ok(())
}

/// The fixed-side rows of `cells` (the observed cells of a group of rows)
/// copied in cell order into `gathered` (their `c0` into `gathered_c0` when
/// it is per item), as [`Items`] whose row `t` is the `t`-th cell's. With the
/// rows' indices renumbered `0, 1, 2, ...` the kernel reads exactly the
/// values it would read from `items`, so its results are bit for bit the
/// same; it reads them `steps + 1` times, now from one contiguous block.
///
/// # Errors
/// None in practice (the shape and `c0` come from validated `items`); the
/// kernel's checks of the copy otherwise.
fn gather_group<'s, 'a: 's, T: Float, H: CgTable<T>>(
    items: &Items<'a, T, H>,
    cells: &[u32],
    gathered: &'s mut Vec<H::Stored>,
    gathered_c0: &'s mut Vec<T>,
) -> wmf_kernel::Result<Items<'s, T, H::Gathered<'s>>> {
    let k = items.k();
    let fac = items.rows();
    gathered.clear();
    // one allocation of the final size, not a doubling series of reallocs
    gathered.reserve(cells.len() * k);
    for (t, &j) in cells.iter().enumerate() {
        // The rows are scattered over a table larger than L3; without a
        // hint only a few are in flight at a time (BENCHMARKS.md, batch 13).
        if let Some(&ahead) = cells.get(t + GATHER_PREFETCH_DISTANCE) {
            prefetch_row::<_, { HINT_L1 }>(fac.stored_row(ahead as usize));
        }
        gathered.extend_from_slice(fac.stored_row(j as usize));
    }
    let c0 = gathered_baseline(*items.baseline(), cells, gathered_c0);
    items.with_table(H::gathered(&gathered[..], cells.len(), k)?, c0)
}

/// The baseline of the rows `cells` renumbered `0, 1, 2, ...` (a per-item
/// `c0` copied into `buf` in cell order), for a solve over a gathered copy.
fn gathered_baseline<'s, T: Float>(
    c0: Baseline<'_, T>,
    cells: &[u32],
    buf: &'s mut Vec<T>,
) -> Baseline<'s, T> {
    match c0 {
        Baseline::Uniform(c) => Baseline::Uniform(c),
        Baseline::PerItem(c) => {
            buf.clear();
            buf.extend(
                cells
                    .iter()
                    .map(|&j| c.get(j as usize).copied().unwrap_or(T::ZERO)),
            );
            Baseline::PerItem(&buf[..])
        }
    }
}

/// Fixed-side rows as the CG solver may store them: [`Factors`] (the
/// values) or [`Bf16Factors`] (bfloat16), with what the CG groups' gather needs
/// to copy them.
pub trait CgTable<T: Float>: RowTable<T> + Sync {
    /// The stored element.
    type Stored: Copy + Send + Sync;
    /// The same kind of table over a gathered copy.
    type Gathered<'s>: RowTable<T>;
    /// Row `j` as stored.
    fn stored_row(&self, j: usize) -> &[Self::Stored];
    /// The whole table as stored.
    fn stored(&self) -> &[Self::Stored];
    /// A table over `n` gathered rows of `k`.
    ///
    /// # Errors
    /// The kernel's shape checks.
    fn gathered(
        data: &[Self::Stored],
        n: usize,
        k: usize,
    ) -> wmf_kernel::Result<Self::Gathered<'_>>;
    /// The scratch buffer for a gathered copy.
    fn buffer<'s>(full: &'s mut Vec<T>, half: &'s mut Vec<u16>) -> &'s mut Vec<Self::Stored>;
}

impl<T: Float> CgTable<T> for Factors<'_, T> {
    type Stored = T;
    type Gathered<'s> = Factors<'s, T>;
    #[inline(always)]
    fn stored_row(&self, j: usize) -> &[T] {
        self.row(j)
    }
    #[inline(always)]
    fn stored(&self) -> &[T] {
        self.as_slice()
    }
    #[inline(always)]
    fn gathered(data: &[T], n: usize, k: usize) -> wmf_kernel::Result<Factors<'_, T>> {
        Factors::with_shape(data, n, k)
    }
    #[inline(always)]
    fn buffer<'s>(full: &'s mut Vec<T>, _: &'s mut Vec<u16>) -> &'s mut Vec<T> {
        full
    }
}

impl<T: Float> CgTable<T> for Bf16Factors<'_> {
    type Stored = u16;
    type Gathered<'s> = Bf16Factors<'s>;
    #[inline(always)]
    fn stored_row(&self, j: usize) -> &[u16] {
        self.row(j)
    }
    #[inline(always)]
    fn stored(&self) -> &[u16] {
        self.as_slice()
    }
    #[inline(always)]
    fn gathered(data: &[u16], n: usize, k: usize) -> wmf_kernel::Result<Bf16Factors<'_>> {
        Bf16Factors::with_shape(data, n, k)
    }
    #[inline(always)]
    fn buffer<'s>(_: &'s mut Vec<T>, half: &'s mut Vec<u16>) -> &'s mut Vec<u16> {
        half
    }
}

/// The largest gathered copy of a CG group's fixed-side rows (32 MiB per
/// worker thread): a larger group (eight very popular items) runs on the
/// fixed side in place, as every group did before the gather, so the copy
/// never costs more memory than this. At the ML-20M-shaped size no group
/// reaches it (peak RSS 411 MiB without a cap, 393 MiB with it, the same
/// speed; a 4 MiB cap cost 40% of the gain at k = 128).
pub const CG_GATHER_MAX_BYTES: usize = 32 << 20;

/// The size in bytes above which a CG group's fixed-side rows are gathered
/// into one contiguous copy before the kernel's lock-step solve: 512 KiB,
/// half this machine's L2.
///
/// Each of a CG solve's `steps + 1` passes reads every observed cell's
/// fixed-side row. A group whose rows fit in L2 reads them from there after
/// the first pass; a larger one (long rows: the item half of ML-20M-shaped
/// data, about 590 cells per item, 0.6 MiB per group of 4 at k = 64) goes
/// back to L3 or memory on every pass, at scattered addresses. One gather
/// makes the later passes sequential reads of one block, which the hardware
/// prefetcher streams. Measured (BENCHMARKS.md, batch 7): the ML-20M-shaped
/// item half went from 0.82 to 0.45 s (k = 64) and from 1.54 to 0.80 s
/// (k = 128); short rows gain nothing (their rows stay in cache), hence
/// the threshold. `WMF_CG_GATHER=<bytes>` sets another (0 gathers every
/// group; for benchmarks), read once per process.
pub fn cg_gather_bytes() -> usize {
    static BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        std::env::var("WMF_CG_GATHER")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(512 * 1024)
    })
}

/// How many cells ahead [`gather_group`] asks for a fixed-side row: 8
/// (measured at 4, 8 and 16 alike, ML-20M-shaped k = 128; BENCHMARKS.md,
/// batch 13).
const GATHER_PREFETCH_DISTANCE: usize = 8;

/// [`prefetch_row`]'s hint: into L1 (and the levels below; x86's `_MM_HINT_T0`).
const HINT_L1: i32 = 3;
/// [`prefetch_row`]'s hint: into L2 (and L3), not L1 (x86's `_MM_HINT_T1`).
const HINT_L2: i32 = 2;

/// Hints the CPU to load `row` (every 64-byte line of it) into the cache
/// level `HINT` names ([`HINT_L1`], [`HINT_L2`]). Only a hint: no effect on
/// results, nothing on architectures without a prefetch instruction.
#[inline(always)]
fn prefetch_row<T, const HINT: i32>(row: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = row.as_ptr().cast::<i8>();
        for off in (0..std::mem::size_of_val(row)).step_by(64) {
            // SAFETY: a prefetch never faults or changes memory, and the
            // address lies within `row`.
            unsafe { std::arch::x86_64::_mm_prefetch::<HINT>(p.add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// Hints the CPU to load into L2 the rows of `factors` (`k` wide) that rows
/// `rows` of `side` observe ([`prefetch_row`]).
#[inline(always)]
fn prefetch_rows<T: Float, E>(
    factors: &[E],
    k: usize,
    side: &Side<T>,
    rows: std::ops::Range<usize>,
) {
    let end = rows.end.min(side.nrows());
    let (Some(&a), Some(&b)) = (side.indptr.get(rows.start.min(end)), side.indptr.get(end)) else {
        return;
    };
    let cells = side.indices.get(a as usize..b as usize).unwrap_or(&[]);
    for &j in cells {
        let start = j as usize * k;
        if let Some(row) = factors.get(start..start + k) {
            prefetch_row::<E, { HINT_L2 }>(row);
        }
    }
}

/// How rows are named in errors: `user 17 (id "abc")`.
#[derive(Debug, Clone, Copy)]
pub struct RowNames<'a> {
    /// `"user"` or `"item"`.
    pub what: &'static str,
    /// External ids, when known.
    pub ids: Option<&'a IdMap>,
}

impl RowNames<'_> {
    /// `"user 17 (id \"abc\")"`.
    pub fn describe(&self, i: usize) -> String {
        match self.ids.and_then(|m| m.name(i)) {
            Some(id) => format!("{} {i} (id {id:?})", self.what),
            None => format!("{} {i}", self.what),
        }
    }
}

/// Solves rows of `out` (`nrows x k`, standard layout) against the fixed side
/// `fixed_factors`: every row, or only `select` (a list of row indices).
/// Runs in the current rayon pool.
///
/// # Errors
/// [`Error::Kernel`] naming the first failing row (by index; which of several
/// failing rows is reported may depend on scheduling); [`Error::Invalid`] for
/// a selected row out of range.
#[allow(clippy::too_many_arguments)]
pub fn solve_side<T: Float>(
    side: &Side<T>,
    fixed_factors: ArrayView2<'_, T>,
    fixed: FixedSide<'_, T>,
    lambdas: &[T],
    solver: Solver,
    arith: Arith,
    out: &mut Array2<T>,
    select: Option<&[u32]>,
    names: RowNames<'_>,
) -> Result<()> {
    solve_side_rotating(
        side,
        fixed_factors,
        fixed,
        lambdas,
        solver,
        arith,
        out,
        select,
        names,
        None,
    )
}

/// [`solve_side`] whose rows `out` are first turned by `rotate` (`Q`, `k x
/// k` row-major: `out ← out Q`; [`eigenbasis_half`] with
/// [`SolvedTurn::Deferred`]): a full CG half turns each task's block of
/// rows in the task that then solves it, every other solve turns them all
/// first. The same bits either way ([`crate::tiles`]).
///
/// # Errors
/// As [`solve_side`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve_side_rotating<T: Float>(
    side: &Side<T>,
    fixed_factors: ArrayView2<'_, T>,
    fixed: FixedSide<'_, T>,
    lambdas: &[T],
    solver: Solver,
    arith: Arith,
    out: &mut Array2<T>,
    select: Option<&[u32]>,
    names: RowNames<'_>,
    rotate: Option<&[T]>,
) -> Result<()> {
    let (nf, k) = fixed_factors.dim();
    let fixed_slice = fixed_factors
        .as_slice()
        .ok_or_else(|| Error::invalid("factors", "must be in standard (row-major) layout"))?;
    let fac = Factors::new(fixed_slice, nf, k)
        .map_err(|e| Error::kernel(format!("checking the {} factors", other(names.what)), e))?;
    let shared = match fixed {
        FixedSide::Shared { g0, c0 } => Some(tiled_items(fac, g0, c0).map_err(|e| {
            Error::kernel(format!("checking the {} Gramian", other(names.what)), e)
        })?),
        FixedSide::PerRow { .. } => None,
    };
    let shared = shared.as_ref();
    // The lock-step CG (`cg_side`): every row of a CG half whose rows share
    // one Gramian.
    let lock_step = match (select, solver, shared) {
        (None, Solver::Cg { steps, .. }, Some(items)) => Some((steps, items)),
        _ => None,
    };
    // Rows to turn first: all of them here unless the lock-step CG turns
    // them block by block.
    let rotate = match rotate {
        Some(q) if q.len() != k * k => {
            return Err(Error::invalid(
                "rotation",
                format!("has {} entries for k = {k}", q.len()),
            ));
        }
        Some(q) if lock_step.is_none() => {
            let rows = out
                .as_slice_mut()
                .ok_or_else(|| Error::invalid("factors", "must be in standard layout"))?;
            rotate_rows(rows, q, k);
            None
        }
        q => q,
    };
    // CG over rows in bfloat16: the fixed side encoded once for the half,
    // with its Gramian (the exact one) when the rows share it.
    let bits = match solver {
        Solver::Cg {
            rows: CgRows::Bf16, ..
        } => {
            let mut bits = vec![0u16; fixed_slice.len()];
            encode_rows_bf16(fixed_slice, &mut bits);
            Some(bits)
        }
        _ => None,
    };
    let compact = match &bits {
        Some(bits) => {
            let rows = Bf16Factors::with_shape(bits, nf, k).map_err(|e| {
                Error::kernel(format!("encoding the {} factors", other(names.what)), e)
            })?;
            let shared = shared
                .map(|items| items.with_table(rows, *items.baseline()))
                .transpose()
                .map_err(|e| {
                    Error::kernel(format!("checking the {} Gramian", other(names.what)), e)
                })?;
            Some(Compact { rows, shared })
        }
        None => None,
    };
    let compact = compact.as_ref();
    // Short rows of the Cholesky solver go to a low-rank solve when the rows
    // share one Gramian (low_rank_kind): with one λ through one factor of
    // G0 + λI, with a λ per row (frequency-scaled regularisation) through
    // G0's eigenvectors.
    let rows_to_solve = select.map_or(out.nrows(), <[u32]>::len);
    let whitened = match (
        fixed,
        low_rank_kind(solver, &fixed, lambdas, rows_to_solve, nf, k),
    ) {
        (FixedSide::Shared { g0, .. }, Some(LowRankKind::SharedLambda)) => {
            whiten(fixed_slice, k, g0, lambdas[0])
        }
        (FixedSide::Shared { g0, .. }, Some(LowRankKind::PerRowLambda)) => {
            let min_lambda = lambdas
                .iter()
                .map(|l| l.to_f64())
                .fold(f64::INFINITY, f64::min);
            let diagonal = shared.is_some_and(|s| s.gramian_is_diagonal());
            whiten_eigen(fixed_slice, k, g0, diagonal, min_lambda)
        }
        _ => None,
    };
    let low_rank = match (&whitened, fixed) {
        (Some(w), FixedSide::Shared { c0, .. }) => Some(
            Factors::new(w.rows(fixed_slice), nf, k)
                .and_then(|f| match &w.basis {
                    Basis::Cholesky(l) => Whitened::new(f, l, c0).map(LowRank::Shared),
                    Basis::Eigen { q, e } => EigenWhitened::new(f, q, e, c0).map(LowRank::PerRow),
                    Basis::Diagonal { e } => EigenWhitened::diagonal(f, e, c0).map(LowRank::PerRow),
                })
                .map_err(|e| {
                    Error::kernel(format!("whitening the {} factors", other(names.what)), e)
                })?,
        ),
        _ => None,
    };
    let low_rank = low_rank.as_ref();
    let isa = isa();
    let nrows = out.nrows();
    let lambda_of = |i: usize| lambda_at(lambdas, i);
    let fail = |i: usize, e: wmf_kernel::Error| {
        let hint = if matches!(e, wmf_kernel::Error::NotPositiveDefinite { .. }) {
            " (try a larger --lambda)"
        } else {
            ""
        };
        Error::kernel(format!("solving {}{hint}", names.describe(i)), e)
    };
    // One row against the prepared fixed side, for both loops below.
    let solve_row = |i: usize, x: &mut [T], scratch: &mut Scratch<T>| {
        solve_prepared(
            isa,
            arith,
            fac,
            fixed,
            shared,
            low_rank,
            compact,
            i,
            &side.row(i),
            lambda_of(i),
            solver,
            x,
            scratch,
        )
        .map_err(|e| fail(i, e))
    };
    match select {
        None => {
            let buf = out
                .as_slice_mut()
                .ok_or_else(|| Error::invalid("factors", "must be in standard layout"))?;
            if let Some((steps, items)) = lock_step {
                return match compact.and_then(|c| c.shared.as_ref()) {
                    Some(items) => {
                        cg_side(isa, items, side, lambdas, steps, arith, buf, rotate, &fail)
                    }
                    None => cg_side(isa, items, side, lambdas, steps, arith, buf, rotate, &fail),
                };
            }
            // A short row of the Cholesky solver may be solved in a
            // low-rank group first (`done`); every other row after, one by
            // one, in leaves of at most `rows_per_task` rows.
            let mut done = Vec::new();
            if let (Solver::Cholesky, Some(w)) = (solver, low_rank) {
                let per_task = rows_per_task(nrows);
                let group_max = low_rank_group_max(k);
                let hw = whitened.as_ref().map(|w| w.rows(fixed_slice));
                done.resize(nrows, false);
                // One task per `per_task` rows (rayon's own leaves would be
                // a quarter of the side, see `rows_per_task`); the tasks'
                // scratch (a group's is 100s of KiB) passed from one to the
                // next rather than allocated and cleared per task.
                let pool = ScratchPool::new(k);
                buf.par_chunks_mut(per_task * k)
                    .zip(done.par_chunks_mut(per_task))
                    .enumerate()
                    .with_max_len(1)
                    .try_for_each_init(
                        || pool.take(),
                        |scratch, (c, (xs, done))| {
                            let first = c * per_task;
                            solve_short_rows_grouped(
                                isa, arith, w, hw, side, lambdas, first, group_max, xs, scratch,
                                done,
                            )
                            .map_err(|(i, e)| fail(i, e))
                        },
                    )?;
            }
            let done = &done[..];
            let is_done = |i: usize| done.get(i).copied().unwrap_or(false);
            buf.par_chunks_mut(k)
                .enumerate()
                .with_max_len(rows_per_task(nrows))
                .try_for_each_init(
                    || Scratch::new(k),
                    |scratch, (i, x)| {
                        if is_done(i) {
                            return Ok(());
                        }
                        if matches!(solver, Solver::Cholesky) {
                            // the next unsolved row's fixed-side rows, while
                            // this one is factored: whitened ones for a short
                            // row
                            let next = (i + 1..nrows).find(|&j| !is_done(j)).unwrap_or(nrows);
                            let src = match &whitened {
                                Some(w) if side.row(next).len() <= low_rank_cutoff(k) => {
                                    w.rows(fixed_slice)
                                }
                                _ => fac.as_slice(),
                            };
                            prefetch_rows(src, k, side, next..next + 1);
                        }
                        solve_row(i, x, scratch)
                    },
                )
        }
        Some(rows) => {
            if let Some(&bad) = rows.iter().find(|&&r| r as usize >= nrows) {
                return Err(Error::invalid(
                    names.what,
                    format!("index {bad} is out of range (there are {nrows})"),
                ));
            }
            let current = &*out;
            let solved: Vec<(usize, Vec<T>)> = rows
                .par_iter()
                .with_max_len(rows_per_task(rows.len()))
                .map_init(
                    || Scratch::new(k),
                    |scratch, &r| {
                        let i = r as usize;
                        let mut x = current.row(i).to_vec();
                        solve_row(i, &mut x, scratch)?;
                        Ok((i, x))
                    },
                )
                .collect::<Result<_>>()?;
            for (i, x) in solved {
                out.row_mut(i).assign(&ndarray::ArrayView1::from(&x[..]));
            }
            Ok(())
        }
    }
}

/// Solves every row of `side` by the lock-step CG over `items` (groups of
/// [`CG_GROUP`], the last partial group row by row), results in `buf`.
#[allow(clippy::too_many_arguments)]
fn cg_side<T: Float, H: CgTable<T>>(
    isa: Isa,
    items: &Items<'_, T, H>,
    side: &Side<T>,
    lambdas: &[T],
    steps: usize,
    arith: Arith,
    buf: &mut [T],
    rotate: Option<&[T]>,
    fail: &(dyn Fn(usize, wmf_kernel::Error) -> Error + Sync),
) -> Result<()> {
    let k = items.k();
    let gather_above = cg_gather_bytes();
    let params = CgParams { steps, tol: CG_TOL };
    // The groups skip the kernel's per-row scans (`solve_rows_cg_prechecked`):
    // each task checks its block of rows in one pass over their cells first,
    // which also brings the cells into cache for the solves that follow.
    let n = items.n();
    let task_len = CG_CHECK_GROUPS * CG_GROUP * k;
    // Which blocks a task turned (`rotate`), for a half that fails part way.
    let turned: Vec<std::sync::atomic::AtomicBool> = match rotate {
        Some(_) => (0..buf.len().div_ceil(task_len.max(1)))
            .map(|_| std::sync::atomic::AtomicBool::new(false))
            .collect(),
        None => Vec::new(),
    };
    let solved = buf.par_chunks_mut(task_len).enumerate().try_for_each_init(
        || Scratch::new(k),
        |scratch, (b, block)| {
            if let (Some(q), Some(t)) = (rotate, turned.get(b)) {
                crate::tiles::times_q_in_place(block, q, k);
                t.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let first_row = b * CG_CHECK_GROUPS * CG_GROUP;
            // Rows past the side's own are empty (`Side::row`).
            let end = (first_row + block.len() / k).min(side.nrows());
            if let Some(offsets) = side.indptr.get(first_row.min(end)..=end) {
                wmf_kernel::check_csr_rows(offsets, &side.indices, &side.conf, n)
                    .map_err(|(i, e)| fail(first_row + i, e))?;
            }
            for (g, xs) in block.chunks_mut(CG_GROUP * k).enumerate() {
                let first = first_row + g * CG_GROUP;
                if xs.len() == CG_GROUP * k {
                    solve_cg_group(
                        isa,
                        arith,
                        items,
                        side,
                        first,
                        lambdas,
                        steps,
                        xs,
                        scratch,
                        gather_above,
                    )
                    .map_err(|(i, e)| fail(i, e))?;
                    continue;
                }
                for (v, x) in xs.chunks_mut(k).enumerate() {
                    let i = first + v;
                    let lambda = lambda_at(lambdas, i);
                    let (row, cg) = (&side.row(i), &mut scratch.cg);
                    solve_row_cg_by(arith, items, row, lambda, x, params, cg)
                        .map_err(|e| fail(i, e))?;
                }
            }
            Ok(())
        },
    );
    // A failed half still leaves every row in the new basis, with the
    // fixed side, as when the whole side was turned before the solve.
    if let (Err(_), Some(q)) = (&solved, rotate) {
        for (block, t) in buf.chunks_mut(task_len).zip(&turned) {
            if !t.load(std::sync::atomic::Ordering::Relaxed) {
                crate::tiles::times_q_in_place(block, q, k);
            }
        }
    }
    solved
}

/// Rows per parallel task of the row-by-row loops of [`solve_side`] (the
/// Cholesky solver, eALS, CG without a shared Gramian, and any solver over
/// selected rows): at most 256, and at most a 32nd of one thread's share of
/// `nrows`, at least 16.
///
/// A rayon leaf runs its rows one after the other, and rayon splits an
/// unbounded range into only a few leaves per thread (about `nrows / 4` rows
/// each on two threads). Rows cost `n_i k²` and `n_i` follows a power law,
/// so at the end of a half one thread could still be solving a quarter of
/// the side while the other waited: 50k k = 64, the item half's last 34
/// ms of about 100 on one core. Bounded leaves let the idle thread steal
/// the rest in small pieces; each leaf costs one [`Scratch`], hence not
/// smaller than 16 rows (16-row leaves ran 2.6% slower than 256-row ones).
fn rows_per_task(nrows: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    (nrows / threads / 32).clamp(16, 256)
}

/// CG groups per parallel task: the task checks its `CG_CHECK_GROUPS *`
/// [`CG_GROUP`] rows ([`wmf_kernel::check_csr_rows`]) before it solves them
/// without the kernel's per-row scans.
const CG_CHECK_GROUPS: usize = 16;

/// `src` rounded to bfloat16 into `dst` (same length), in parallel chunks
/// ([`wmf_kernel::encode_bf16`]; `src` is finite, validated by the caller).
fn encode_rows_bf16<T: Float>(src: &[T], dst: &mut [u16]) {
    const CHUNK: usize = 1 << 16;
    dst.par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .for_each(|(d, s)| {
            for (d, &s) in d.iter_mut().zip(s) {
                *d = wmf_kernel::bf16_from_f32(s.to_f32());
            }
        });
}

fn other(what: &str) -> &'static str {
    if what == "user" { "item" } else { "user" }
}

/// Whether the loss is evaluated after iteration `it` of `iterations`:
/// every `every`-th iteration and the last.
pub fn loss_due(it: usize, iterations: usize, every: usize) -> bool {
    it == iterations || it.is_multiple_of(every.max(1))
}

/// What the observer is told after every iteration.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct IterationReport {
    /// 1-based iteration number.
    pub iteration: usize,
    /// Total iterations of the run.
    pub iterations: usize,
    /// Training loss after this iteration ([`crate::loss::training_loss`]),
    /// when it was evaluated: after every [`Als::with_loss_every`]-th
    /// iteration and after the last (`null` in JSON otherwise).
    pub loss: Option<f64>,
    /// Seconds since training started.
    pub elapsed_s: f64,
    /// Seconds this iteration spent solving rows (both halves, Gramians
    /// included; the loss evaluation excluded).
    pub solve_s: f64,
}

/// An ALS run in progress: the problem, the factors and the thread pool.
#[derive(Debug)]
pub struct Als<T> {
    /// The problem.
    pub problem: Problem<T>,
    /// User factors `W` (`m x k`).
    pub w: Array2<T>,
    /// Item factors `H` (`n x k`).
    pub h: Array2<T>,
    /// The configuration.
    pub config: TrainConfig,
    user_ids: Option<IdMap>,
    item_ids: Option<IdMap>,
    loss_every: usize,
    eigen_basis: EigenBasis,
    pool: rayon::ThreadPool,
}

impl<T: Float> Als<T> {
    /// Validates the configuration, builds the problem and draws the initial
    /// factors from the seed.
    ///
    /// # Errors
    /// As [`Problem::new`]; [`Error::Invalid`] (`--threads`) if the pool cannot start.
    pub fn new(values: &Csr, config: &TrainConfig) -> Result<Self> {
        let problem = Problem::new(values, config)?;
        let (w, h) = init_factors(problem.m(), problem.n(), config.k, config.seed);
        Self::with_factors(problem, config, w, h)
    }

    /// As [`Als::new`], taking the raw values over instead of copying them
    /// (see [`Problem::from_values`]): the lowest-memory way to train.
    ///
    /// # Errors
    /// As [`Als::new`].
    pub fn from_values(values: Csr, config: &TrainConfig) -> Result<Self> {
        let problem = Problem::from_values(values, config)?;
        let (w, h) = init_factors(problem.m(), problem.n(), config.k, config.seed);
        Self::with_factors(problem, config, w, h)
    }

    /// Starts from given factors (partial refit of a trained model).
    ///
    /// # Errors
    /// [`Error::Invalid`] when the factor shapes do not match the problem and `k`.
    pub fn with_factors(
        problem: Problem<T>,
        config: &TrainConfig,
        w: Array2<T>,
        h: Array2<T>,
    ) -> Result<Self> {
        validate_config(config)?;
        if w.dim() != (problem.m(), config.k) || h.dim() != (problem.n(), config.k) {
            return Err(Error::invalid(
                "factors",
                format!(
                    "shapes {:?} and {:?} do not match {} users, {} items, k = {}",
                    w.dim(),
                    h.dim(),
                    problem.m(),
                    problem.n(),
                    config.k
                ),
            ));
        }
        blas_single_threaded();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .build()
            .map_err(|e| Error::invalid("--threads", e.to_string()))?;
        Ok(Self {
            problem,
            w: into_standard_layout(w),
            h: into_standard_layout(h),
            config: config.clone(),
            user_ids: None,
            item_ids: None,
            loss_every: 1,
            eigen_basis: EigenBasis::from_env(),
            pool,
        })
    }

    /// The number of worker threads of this run's pool (`config.threads`).
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Evaluates the training loss after every `n`-th iteration (and after
    /// the last) instead of after each (`n = 0` counts as 1). The loss costs
    /// about one CG pass over the data (at 50k users, k = 64: 15 ms against
    /// an iteration's 77 ms); it never changes the factors.
    pub fn with_loss_every(mut self, n: usize) -> Self {
        self.loss_every = n.max(1);
        self
    }

    /// Which full halves rotate into the eigenbasis of the fixed side's
    /// Gramian first (CG: both sides; Cholesky with a `λ` per row: the
    /// fixed side; [`EigenBasis`], default [`EigenBasis::from_env`]). The
    /// model `W Hᵀ` is the same to rounding either way; the factors' basis
    /// differs.
    pub fn with_eigen_basis(mut self, basis: EigenBasis) -> Self {
        self.eigen_basis = basis;
        self
    }

    /// Names rows by their external ids in error messages.
    pub fn with_ids(mut self, users: IdMap, items: IdMap) -> Self {
        self.user_ids = Some(users);
        self.item_ids = Some(items);
        self
    }

    /// Solves the user rows (all, or `select`) with the item factors fixed.
    ///
    /// # Errors
    /// As [`solve_side`].
    /// After an error the factors are not a model: see [`Als::iterate`].
    pub fn user_half(&mut self, select: Option<&[u32]>) -> Result<()> {
        let Self {
            problem,
            w,
            h,
            config,
            user_ids,
            pool,
            eigen_basis,
            ..
        } = self;
        pool.install(|| {
            let mut g0 = problem.item_gramian(h.view())?;
            let mut rotate = None;
            if select.is_none() {
                let per_row = config.lambda_per_row();
                let turn = SolvedTurn::Deferred;
                (g0, _, rotate) =
                    eigenbasis_half(*eigen_basis, config.solver, per_row, g0, h, w, turn)?;
            }
            let fixed = FixedSide::Shared {
                g0: g0.as_slice().unwrap_or(&[]),
                c0: problem.item_baseline(),
            };
            solve_side_rotating(
                &problem.users,
                h.view(),
                fixed,
                &problem.user_lambda,
                config.solver,
                config.arith,
                w,
                select,
                RowNames {
                    what: "user",
                    ids: user_ids.as_ref(),
                },
                rotate.as_deref(),
            )
        })
    }

    /// Solves the item rows (all, or `select`) with the user factors fixed.
    ///
    /// # Errors
    /// As [`solve_side`].
    /// After an error the factors are not a model: see [`Als::iterate`].
    pub fn item_half(&mut self, select: Option<&[u32]>) -> Result<()> {
        let Self {
            problem,
            w,
            h,
            config,
            item_ids,
            pool,
            eigen_basis,
            ..
        } = self;
        pool.install(|| {
            let names = RowNames {
                what: "item",
                ids: item_ids.as_ref(),
            };
            match problem.c0_uniform {
                Some(c) => {
                    let mut g = gramian_blocked(w.view(), GramWeights::Uniform(c))?;
                    let mut rotate = None;
                    if select.is_none() {
                        let per_row = config.lambda_per_row();
                        (g, _, rotate) = eigenbasis_half(
                            *eigen_basis,
                            config.solver,
                            per_row,
                            g,
                            w,
                            h,
                            SolvedTurn::Deferred,
                        )?;
                    }
                    let fixed = FixedSide::Shared {
                        g0: g.as_slice().unwrap_or(&[]),
                        c0: Baseline::Uniform(c),
                    };
                    solve_side_rotating(
                        &problem.items,
                        w.view(),
                        fixed,
                        &problem.item_lambda,
                        config.solver,
                        config.arith,
                        h,
                        select,
                        names,
                        rotate.as_deref(),
                    )
                }
                None => {
                    let g = gramian_blocked(w.view(), GramWeights::Uniform(T::ONE))?;
                    let fixed = FixedSide::PerRow {
                        gram: g.as_slice().unwrap_or(&[]),
                        c0: &problem.c0,
                    };
                    solve_side(
                        &problem.items,
                        w.view(),
                        fixed,
                        &problem.item_lambda,
                        config.solver,
                        config.arith,
                        h,
                        select,
                        names,
                    )
                }
            }
        })
    }

    /// One ALS iteration: users, then items.
    ///
    /// # Errors
    /// As [`solve_side`].
    /// After an error the factors are part-solved and, where the half
    /// turned into the eigenbasis ([`EigenBasis`]), part-turned: not a
    /// model to save or go on from. Restore them (`w`, `h`: from a
    /// checkpoint or a copy) first.
    pub fn iterate(&mut self) -> Result<()> {
        self.user_half(None)?;
        self.item_half(None)
    }

    /// The training loss of the current factors ([`crate::loss::training_loss`]).
    ///
    /// # Errors
    /// As [`crate::loss::training_loss`].
    pub fn loss(&self) -> Result<f64> {
        self.pool
            .install(|| crate::loss::training_loss(&self.problem, self.w.view(), self.h.view()))
    }

    /// Runs `config.iterations` iterations, telling `observer` after each.
    ///
    /// # Errors
    /// As [`solve_side`] and [`crate::loss::training_loss`].
    pub fn run(&mut self, observer: &mut dyn FnMut(&IterationReport)) -> Result<()> {
        self.run_from(0, &mut |_, r| {
            observer(r);
            Ok(ControlFlow::Continue(()))
        })
        .map(|_| ())
    }

    /// Runs iterations `done + 1 ..= config.iterations` (`done` = iterations
    /// already completed, e.g. by the run a checkpoint was taken from), calling
    /// `after` after each with the run itself (to checkpoint the factors) and
    /// the report; `after` may stop the run early with `ControlFlow::Break`.
    /// The factors after iteration `t` depend only on the factors after
    /// iteration `t - 1`, so resuming from a checkpoint's factors with its
    /// `done` reproduces an uninterrupted run exactly.
    ///
    /// Returns the number of completed iterations.
    ///
    /// # Errors
    /// As [`solve_side`] and [`crate::loss::training_loss`], and `after`'s errors.
    pub fn run_from(
        &mut self,
        done: usize,
        after: &mut dyn FnMut(&mut Self, &IterationReport) -> Result<ControlFlow<()>>,
    ) -> Result<usize> {
        let start = Instant::now();
        let iterations = self.config.iterations;
        for it in done + 1..=iterations {
            let solve_start = Instant::now();
            self.iterate()?;
            let solve_s = solve_start.elapsed().as_secs_f64();
            let loss = loss_due(it, iterations, self.loss_every)
                .then(|| self.loss())
                .transpose()?;
            let report = IterationReport {
                iteration: it,
                iterations,
                loss,
                elapsed_s: start.elapsed().as_secs_f64(),
                solve_s,
            };
            if after(self, &report)?.is_break() {
                return Ok(it);
            }
        }
        Ok(iterations.max(done))
    }
}

impl Als<f32> {
    /// The trained model: the factors, the problem's `c0` and the id maps
    /// (empty when none were given with [`Als::with_ids`]).
    pub fn into_model(self) -> Model {
        let item_c0 = self.problem.c0.clone();
        Model {
            config: self.config,
            user_factors: self.w,
            item_factors: self.h,
            item_c0,
            user_ids: self.user_ids.unwrap_or_default(),
            item_ids: self.item_ids.unwrap_or_default(),
        }
    }
}

/// Trains an `f32` model on raw values (`m x n`, users by items).
/// `user_ids` / `item_ids` name the rows (in errors and in the model); pass
/// [`IdMap::sequential`] for generated data.
///
/// # Errors
/// As [`Als::new`] and [`Als::run`]; [`Error::Invalid`] when the id maps do not
/// match the matrix.
///
/// ```
/// use wmf_host::{Csr, Solver, TrainConfig, ids::IdMap};
/// let x = Csr::from_triplets(3, 3, &[(0, 0, 1.0), (1, 1, 1.0), (2, 2, 1.0), (0, 1, 1.0)]).unwrap();
/// let config = TrainConfig { k: 2, iterations: 3, solver: Solver::Cholesky, ..Default::default() };
/// let model = wmf_host::als::train_model(&x, IdMap::sequential(3), IdMap::sequential(3), &config, &mut |_| {}).unwrap();
/// assert_eq!(model.item_factors.dim(), (3, 2));
/// ```
pub fn train_model(
    values: &Csr,
    user_ids: IdMap,
    item_ids: IdMap,
    config: &TrainConfig,
    observer: &mut dyn FnMut(&IterationReport),
) -> Result<Model> {
    if user_ids.len() != values.nrows || item_ids.len() != values.ncols {
        return Err(Error::invalid(
            "ids",
            format!(
                "{} user ids and {} item ids for a {} x {} matrix",
                user_ids.len(),
                item_ids.len(),
                values.nrows,
                values.ncols
            ),
        ));
    }
    let mut als = Als::<f32>::new(values, config)?.with_ids(user_ids, item_ids);
    als.run(observer)?;
    Ok(als.into_model())
}
