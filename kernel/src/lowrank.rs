//! Exact row solve for rows shorter than `k`: the whitened problem and its
//! capacitance system (Woodbury), O(n_u² k + n_u³/3 + k²) per row instead of
//! the normal equations' O(n_u k² + k³/3).
//!
//! # Derivation
//! A row's normal equations (see [`crate::row_normal_equations`]) are
//!
//! ```text
//! A x = b,   A = B + Uᵀ U,   B = G0 + λ I,   b = Σ_obs c_t x_t h_t
//! U = rows u_t = sqrt(d_t) h_t,   d_t = c_t − c0_t   (all d_t ≥ 0 here)
//! ```
//!
//! `B` is the same for every row of a half-iteration (uniform `λ` and a
//! shared Gramian), so it is factored once, `B = L Lᵀ`, and the fixed side
//! is whitened once: `ĥ_j = L⁻¹ h_j` (`Ĥ = H L⁻ᵀ`, [`whiten_rows`]).
//! Substituting `x = L⁻ᵀ y`:
//!
//! ```text
//! L (I + L⁻¹ Uᵀ U L⁻ᵀ) y = b   ⇔   (I + Vᵀ V) y = b̂
//! V = U L⁻ᵀ: rows v_t = sqrt(d_t) ĥ_t,   b̂ = L⁻¹ b = Σ_obs c_t x_t ĥ_t
//! ```
//!
//! and by the Woodbury identity `(I + Vᵀ V)⁻¹ = I − Vᵀ (I + V Vᵀ)⁻¹ V`:
//!
//! ```text
//! S = I + V Vᵀ   (n x n, n = cells with d_t > 0),   S w = V b̂
//! y = b̂ − Vᵀ w,   x = L⁻ᵀ y
//! ```
//!
//! `S` is symmetric with every eigenvalue `>= 1`, so its Cholesky factor
//! always exists and is well conditioned. Forming `S` costs `n² k / 2`
//! multiply-adds, factoring it `n³ / 6`, the rest `O(n k + k²)`, against
//! `n k² / 2 + k³ / 6` for forming and factoring `A`: fewer for every
//! `n < k`, and a short row no longer pays the `k³` factorisation.
//!
//! The result is the exact solution of the same normal equations, in other
//! rounding: it agrees with [`crate::solve_row_cholesky`] to the working
//! precision times the conditioning of `A` (the tests check both in `f64`
//! and `f32`), not bit for bit.
//!
//! # One λ per row: the eigenbasis
//! With a different `λ_u` per row (frequency-scaled regularisation) `B` is
//! no longer shared, but its eigenvectors are: `G0 = Q diag(e) Qᵀ` gives
//! `B_u = Q diag(e + λ_u) Qᵀ`. Whitening with `Q diag(s_u)`,
//! `s_u = (e + λ_u)^(-1/2)` (element-wise), instead of `L⁻ᵀ`:
//!
//! ```text
//! ĥ_j = s_u ⊙ (Qᵀ h_j),   x = Q (s_u ⊙ y)
//! ```
//!
//! and everything between (`V`, `b̂`, `S`, `w`, `y`) is as above. The
//! rotated rows `Qᵀ h_j` (`H Q`) are computed once per half-iteration for
//! every row; a row only scales its own `n` of them by `s_u` (`n k`
//! multiplies) and rotates its `y` back (`k²`). A caller that keeps its
//! fixed side in the eigenbasis (rotating `H ← H Q` once leaves every
//! prediction and every `|x|²`, so the objective, unchanged, and the
//! solutions come out in the same coordinates) has `G0 = diag(e)`, `Q = I`,
//! and no rotation at all: `x = s_u ⊙ y` ([`EigenWhitened::diagonal`]).
//! [`EigenWhitened`] holds `H Q`, `Q` and `e`; [`solve_row_low_rank_eigen`],
//! [`low_rank_gathered_eigen`] and [`low_rank_finish_eigen`] take the row's
//! `λ_u`. A row whose `e + λ_u` is not positive everywhere
//! ([`Error::NotPositiveDefinite`], `pivot` = the eigenvalue's index) has no
//! positive definite `B_u`.
//!
//! A cell with `c_t < c0_t` would enter with a minus sign and make `S`
//! indefinite; such rows, and rows with more than [`crate::MAX_K`] weighted
//! cells, are left to the normal equations ([`solve_row_low_rank`] returns
//! `Ok(false)` for them without writing anything).

use crate::MAX_K;
use crate::check;
use crate::cholesky::{
    backward_unchecked, check_factor, factor_unchecked, factor_upper_unchecked, forward_unchecked,
    substitute_unchecked,
};
use crate::error::{Error, Result};
use crate::factors::{Baseline, Factors, Row, check_row};
use crate::fold::{LaneFold, PortableFold};
use crate::lanes::LANES;
use crate::real::{Real, axpy, dot, dot_with, dot4, dot4_with, dot4x4_with, positive};

/// The fixed side of a half-iteration, whitened: `Ĥ = H L⁻ᵀ` with
/// `L Lᵀ = G0 + λ I`, the factor `L` and the baseline weights `c0` (see the
/// [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub struct Whitened<'a, T> {
    h: Factors<'a, T>,
    l: &'a [T],
    c0: Baseline<'a, T>,
}

impl<'a, T: Real> Whitened<'a, T> {
    /// Bundles the whitened factors `hw = H L⁻ᵀ` ([`whiten_rows`]), the
    /// Cholesky factor `l` of `G0 + λ I` ([`crate::cholesky_in_place`]; only
    /// its lower triangle is read) and the baseline `c0` of `H`'s Gramian.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `l` is not `k * k` or a per-item `c0`
    /// is not `n` long; [`Error::NonFinite`] for `l`'s lower triangle;
    /// [`Error::NotPositiveDefinite`] for a non-positive diagonal entry of
    /// `l`; [`Error::Negative`] / [`Error::NonFinite`] for `c0`.
    pub fn new(hw: Factors<'a, T>, l: &'a [T], c0: Baseline<'a, T>) -> Result<Self> {
        let k = hw.k();
        check::len(l, k * k, "l")?;
        check_factor(l, k)?;
        c0.validate(hw.n())?;
        Ok(Self { h: hw, l, c0 })
    }

    /// Number of fixed-side rows `n`.
    pub fn n(&self) -> usize {
        self.h.n()
    }

    /// Number of latent factors `k`.
    pub fn k(&self) -> usize {
        self.h.k()
    }
}

/// The fixed side of a half-iteration in the eigenbasis of its Gramian, for
/// rows that each have their own `λ`: `H Q` with `G0 = Q diag(e) Qᵀ`, the
/// orthogonal `Q` (`k x k`, row-major, eigenvectors in columns), the
/// eigenvalues `e` and the baseline weights `c0` (see the
/// [module docs](self#one-λ-per-row-the-eigenbasis)).
#[derive(Debug, Clone, Copy)]
pub struct EigenWhitened<'a, T> {
    h: Factors<'a, T>,
    /// `None`: `H` is in its Gramian's eigenbasis already (`Q = I`).
    q: Option<&'a [T]>,
    e: &'a [T],
    c0: Baseline<'a, T>,
}

impl<'a, T: Real> EigenWhitened<'a, T> {
    /// Bundles the rotated factors `hq = H Q` (row `j` is `Qᵀ h_j`), the
    /// eigenvectors `q` (columns of a `k x k` row-major matrix) and the
    /// eigenvalues `e` (`k`) of `G0`, and the baseline `c0` of `H`'s Gramian.
    /// That `q` is orthogonal and `e` its eigenvalues is the caller's
    /// promise (a host computes them with LAPACK); the solves are exact for
    /// the `G0 = Q diag(e) Qᵀ` they describe.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `q` is not `k * k`, `e` not `k` or a
    /// per-item `c0` not `n` long; [`Error::NonFinite`] for `q` or `e`;
    /// [`Error::Negative`] / [`Error::NonFinite`] for `c0`.
    pub fn new(hq: Factors<'a, T>, q: &'a [T], e: &'a [T], c0: Baseline<'a, T>) -> Result<Self> {
        let k = hq.k();
        check::len(q, k * k, "q")?;
        check::len(e, k, "e")?;
        check::finite(q, "q")?;
        check::finite(e, "e")?;
        c0.validate(hq.n())?;
        Ok(Self {
            h: hq,
            q: Some(q),
            e,
            c0,
        })
    }

    /// The fixed side already in the eigenbasis of its Gramian: `G0 =
    /// diag(e)`, so `Q = I`. The rows of `h` are used as they are and a
    /// row's solution is in the same coordinates: `x = s ⊙ y`, `k`
    /// multiplies where [`EigenWhitened::new`] rotates back with `k²`
    /// multiply-adds. A host that rotates its fixed side once per
    /// half-iteration (`H ← H Q`, which leaves every prediction and every
    /// `|x|²` unchanged) solves every row this way.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `e` is not `k` or a per-item `c0` not
    /// `n` long; [`Error::NonFinite`] for `e`; [`Error::Negative`] /
    /// [`Error::NonFinite`] for `c0`.
    ///
    /// ```
    /// use wmf_kernel::{Baseline, EigenWhitened, Factors, Row};
    /// // H in the eigenbasis: G0 = Hᵀ H = diag(2, 1), λ = 1
    /// let h = [1.0f64, 0.0, 1.0, 0.0, 0.0, 1.0];
    /// let w = EigenWhitened::diagonal(
    ///     Factors::new(&h, 3, 2).unwrap(),
    ///     &[2.0, 1.0],
    ///     Baseline::Uniform(1.0),
    /// )
    /// .unwrap();
    /// // one cell, item 2 with c = 3, x = 1: (G0 + λ I + 2 h hᵀ) x = 3 h
    /// let row = Row::new(&[2], &[3.0], None);
    /// let mut scratch = [0.0; 64];
    /// let mut x = [0.0; 2];
    /// assert!(wmf_kernel::solve_row_low_rank_eigen(&w, &row, 1.0, &mut scratch, &mut x).unwrap());
    /// // diag(3, 4) x = (0, 3)
    /// assert_eq!(x[0], 0.0);
    /// assert!((x[1] - 0.75).abs() < 1e-12);
    /// ```
    pub fn diagonal(h: Factors<'a, T>, e: &'a [T], c0: Baseline<'a, T>) -> Result<Self> {
        check::len(e, h.k(), "e")?;
        check::finite(e, "e")?;
        c0.validate(h.n())?;
        Ok(Self { h, q: None, e, c0 })
    }

    /// Number of fixed-side rows `n`.
    pub fn n(&self) -> usize {
        self.h.n()
    }

    /// Number of latent factors `k`.
    pub fn k(&self) -> usize {
        self.h.k()
    }

    /// The row scaling `s = (e + λ)^(-1/2)`, in the first `k` elements
    /// (`k <= MAX_K`: [`Factors`] holds no larger `k`).
    fn scaling(&self, lambda: T) -> Result<[T; MAX_K]> {
        check::scalar_nonneg(lambda, "lambda")?;
        let mut s = [T::ZERO; MAX_K];
        for (pivot, (sv, &ev)) in s.iter_mut().zip(self.e).enumerate() {
            let d = ev + lambda;
            if !positive(d) || !d.is_finite() {
                return Err(Error::NotPositiveDefinite { pivot });
            }
            *sv = T::ONE / d.sqrt();
        }
        Ok(s)
    }
}

/// The factor of the whitening: `l = L` with `L Lᵀ = G0 + λ I`, the matrix
/// every row of a half-iteration shares (see the [module docs](self)). `l`
/// gets `g0` with `λ` added to its diagonal and is factored in place by the
/// algorithm of [`crate::cholesky_in_place`] (same bits); its strict upper
/// triangle keeps `G0`'s. O(k³/3), once per half-iteration (host training)
/// or per model and `λ` (a device folding users in). The host, the C ABI
/// and the firmware all form the factor here.
///
/// # Errors
/// [`Error::ZeroDimension`] / [`Error::DimensionTooLarge`] for `k`;
/// [`Error::Negative`] / [`Error::NonFinite`] for `lambda` (`what:
/// "lambda"`); [`Error::LengthMismatch`] when `g0` or `l` is not `k * k`;
/// [`Error::NonFinite`] for `g0`: all before anything is written.
/// [`Error::NotPositiveDefinite`] for the first pivot of `G0 + λ I` that is
/// not positive or not finite (an overflow included); `l` then holds a
/// partial factor.
///
/// ```
/// // G0 = [[3, 2], [2, 2]], λ = 1: G0 + λI = [[4, 2], [2, 3]] = L Lᵀ
/// let mut l = [0.0f64; 4];
/// wmf_kernel::whitening_factor(&[3.0, 2.0, 2.0, 2.0], 1.0, 2, &mut l).unwrap();
/// assert_eq!([l[0], l[2], l[3]], [2.0, 1.0, 2.0f64.sqrt()]);
/// ```
pub fn whitening_factor<T: Real>(g0: &[T], lambda: T, k: usize, l: &mut [T]) -> Result<()> {
    check::rank(k)?;
    check::scalar_nonneg(lambda, "lambda")?;
    check::len(g0, k * k, "g0")?;
    check::len(l, k * k, "l")?;
    check::finite(g0, "g0")?;
    l.copy_from_slice(g0);
    for d in 0..k {
        l[d * k + d] += lambda;
    }
    factor_unchecked(l, k)
}

/// Whitens fixed-side rows in place: each `k`-long row `h_j` of `rows`
/// becomes `L⁻¹ h_j` (forward substitution with the factor `l` of
/// `G0 + λ I`), so `rows` becomes `H L⁻ᵀ`. O(k²) per row. A host may do the
/// same with one BLAS `trsm`.
///
/// # Errors
/// [`Error::ZeroDimension`] / [`Error::DimensionTooLarge`] for `k`;
/// [`Error::LengthMismatch`] when `l` is not `k * k` or `rows` not a
/// multiple of `k`; the factor checks of [`Whitened::new`];
/// [`Error::NonFinite`] for `rows`; [`Error::NonFiniteResult`] on overflow
/// (`rows` then holds partial results).
///
/// ```
/// // G0 + λI = [[4, 2], [2, 3]] = L Lᵀ, L = [[2, 0], [1, sqrt 2]]
/// let mut l = [4.0f64, 2.0, 2.0, 3.0];
/// wmf_kernel::cholesky_in_place(&mut l, 2).unwrap();
/// let mut h = [2.0, 1.0 + 2.0f64.sqrt()];
/// wmf_kernel::whiten_rows(&l, 2, &mut h).unwrap();
/// assert!((h[0] - 1.0).abs() < 1e-15 && (h[1] - 1.0).abs() < 1e-15);
/// ```
pub fn whiten_rows<T: Real>(l: &[T], k: usize, rows: &mut [T]) -> Result<()> {
    check::rank(k)?;
    check::len(l, k * k, "l")?;
    check_factor(l, k)?;
    if !rows.len().is_multiple_of(k) {
        return Err(Error::LengthMismatch {
            what: "rows",
            expected: rows.len() / k * k,
            actual: rows.len(),
        });
    }
    check::finite(rows, "rows")?;
    for r in rows.chunks_exact_mut(k) {
        forward_unchecked(l, r, k);
    }
    check::result(rows, "rows")
}

/// Length of the `scratch` of [`solve_row_low_rank`] for a row of `n_u`
/// cells: `n_u k` (the rows of `V`) `+ n_u²` (`S`).
pub const fn low_rank_scratch_len(n_u: usize, k: usize) -> usize {
    n_u.saturating_mul(k)
        .saturating_add(n_u.saturating_mul(n_u))
}

/// Exact solve of one row's normal equations through the whitened problem
/// and its `n x n` capacitance system (see the [module docs](self)):
/// writes `x = A⁻¹ b` and returns `Ok(true)`; returns `Ok(false)` without
/// writing `x` when the row has a cell with `c_t < c0_t` or more than
/// [`MAX_K`] cells with `c_t > c0_t` (solve those with the normal
/// equations). An empty row gives `x = 0`, as [`crate::solve_row_cholesky`].
/// [`low_rank_gathered`] and [`low_rank_finish`] with `S = V Vᵀ` formed
/// here in between (a host may form it with BLAS `syrk`).
///
/// # Errors
/// Row validation errors (as [`crate::Items::check_row`]);
/// [`Error::LengthMismatch`] for `x` (`k`) or a `scratch` shorter than
/// [`low_rank_scratch_len`]; [`Error::NonFiniteResult`] on overflow. `x` is
/// written only on success.
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Row, Whitened, cholesky_in_place, solve_row_low_rank, whiten_rows};
/// // H = I (2 items, k = 2), c0 = 1, λ = 1: G0 + λI = 2I, L = sqrt(2) I
/// let mut l = [2.0f64, 0.0, 0.0, 2.0];
/// cholesky_in_place(&mut l, 2).unwrap();
/// let mut hw = [1.0, 0.0, 0.0, 1.0];
/// whiten_rows(&l, 2, &mut hw).unwrap();
/// let w = Whitened::new(Factors::new(&hw, 2, 2).unwrap(), &l, Baseline::Uniform(1.0)).unwrap();
/// let (mut scratch, mut x) = ([0.0; 3], [0.0; 2]);
/// assert!(solve_row_low_rank(&w, &Row::implicit(&[0], &[3.0]), &mut scratch, &mut x).unwrap());
/// // (2I + 2 e0 e0ᵀ) x = 3 e0  =>  x = (0.75, 0)
/// assert!((x[0] - 0.75).abs() < 1e-15 && x[1] == 0.0);
/// ```
#[inline(always)]
pub fn solve_row_low_rank<T: Real>(
    w: &Whitened<'_, T>,
    row: &Row<'_, T>,
    scratch: &mut [T],
    x: &mut [T],
) -> Result<bool> {
    solve_low_rank_by(w, row, T::ZERO, scratch, x, PortableFold)
}

/// [`solve_row_low_rank`] with the lane sums of the capacitance matrix's
/// four-row dots folded by `fold` (see [`LaneFold`]): the same bits.
///
/// # Errors
/// As [`solve_row_low_rank`].
#[inline(always)]
pub fn solve_row_low_rank_folded<T: Real, F: LaneFold>(
    w: &Whitened<'_, T>,
    row: &Row<'_, T>,
    scratch: &mut [T],
    x: &mut [T],
    fold: F,
) -> Result<bool> {
    solve_low_rank_by(w, row, T::ZERO, scratch, x, fold)
}

/// The two steps of a low-rank solve that depend on the basis ([`Whitened`]
/// or [`EigenWhitened`]), for [`solve_low_rank_by`]. Methods rather than
/// closures: a closure is a function of its own, which the compiler may
/// keep out of line, and then it runs without the instruction set of the
/// host's `#[target_feature]` copy it was meant to be inlined into
/// (measured: the gather and the finish, kept out of line as closures,
/// ran as baseline SSE2 code, 22% of a 50k k = 64 Cholesky profile;
/// BENCHMARKS.md, batch 13).
trait LowRankBasis<T: Real> {
    /// Number of latent factors `k`.
    fn k(&self) -> usize;
    /// `low_rank_gathered` (or its eigenbasis twin) with this `lambda`.
    fn gathered(
        &self,
        row: &Row<'_, T>,
        lambda: T,
        block: &mut [T],
        b_hat: &mut [T],
    ) -> Result<Option<usize>>;
    /// The finish after the capacitance solve (`y` in `b_hat`, overwritten)
    /// with this `lambda`: `x = L⁻ᵀ y` or `x = Q (s ⊙ y)`.
    fn finish_y(&self, lambda: T, b_hat: &mut [T], x: &mut [T]) -> Result<()>;
    /// The factor `L` every row's finish shares (`Some` for [`Whitened`]).
    fn shared_factor(&self) -> Option<&[T]>;
    /// `low_rank_finish` (or its eigenbasis twin) with this `lambda`, `s`
    /// holding `V Vᵀ` in its upper triangle ([`capacitance`] with `UPPER`).
    fn finish(
        &self,
        block: &[T],
        n: usize,
        s: &mut [T],
        lambda: T,
        b_hat: &mut [T],
        x: &mut [T],
    ) -> Result<()>;
}

impl<T: Real> LowRankBasis<T> for Whitened<'_, T> {
    #[inline(always)]
    fn k(&self) -> usize {
        Whitened::k(self)
    }
    #[inline(always)]
    fn gathered(
        &self,
        row: &Row<'_, T>,
        _lambda: T,
        block: &mut [T],
        b_hat: &mut [T],
    ) -> Result<Option<usize>> {
        low_rank_gathered(self, row, block, b_hat)
    }
    #[inline(always)]
    fn finish(
        &self,
        block: &[T],
        n: usize,
        s: &mut [T],
        _lambda: T,
        b_hat: &mut [T],
        x: &mut [T],
    ) -> Result<()> {
        finish_plain::<T, true>(self, block, n, s, b_hat, x)
    }
    #[inline(always)]
    fn finish_y(&self, _lambda: T, b_hat: &mut [T], x: &mut [T]) -> Result<()> {
        finish_whitened(self.l, self.k(), b_hat, x)
    }
    #[inline(always)]
    fn shared_factor(&self) -> Option<&[T]> {
        Some(self.l)
    }
}

impl<T: Real> LowRankBasis<T> for EigenWhitened<'_, T> {
    #[inline(always)]
    fn k(&self) -> usize {
        EigenWhitened::k(self)
    }
    #[inline(always)]
    fn gathered(
        &self,
        row: &Row<'_, T>,
        lambda: T,
        block: &mut [T],
        b_hat: &mut [T],
    ) -> Result<Option<usize>> {
        low_rank_gathered_eigen(self, row, lambda, block, b_hat)
    }
    #[inline(always)]
    fn finish(
        &self,
        block: &[T],
        n: usize,
        s: &mut [T],
        lambda: T,
        b_hat: &mut [T],
        x: &mut [T],
    ) -> Result<()> {
        finish_eigen_by::<T, true>(self, block, n, s, lambda, b_hat, x)
    }
    #[inline(always)]
    fn finish_y(&self, lambda: T, b_hat: &mut [T], x: &mut [T]) -> Result<()> {
        let sc = self.scaling(lambda)?;
        finish_eigen(self, &sc[..self.k()], b_hat, x)
    }
    #[inline(always)]
    fn shared_factor(&self) -> Option<&[T]> {
        None
    }
}

/// The body of the in-kernel low-rank solves ([`solve_row_low_rank`],
/// [`solve_row_low_rank_eigen`]): checks `x` (`k`) and `scratch` (for the
/// row's `n_u` cells), has the basis gather `V` and `b̂` (`None`: the row
/// is not taken, `Ok(false)`), forms the lower triangle of `V Vᵀ` with the
/// kernel's dots, their lane sums folded by `fold`, transposed into the
/// upper one ([`gram_half_blocked`]), and has the basis finish into `x`
/// (factoring the capacitance system there in place, see [`capacitance`]).
#[inline(always)]
fn solve_low_rank_by<T: Real, B: LowRankBasis<T>, F: LaneFold>(
    w: &B,
    row: &Row<'_, T>,
    lambda: T,
    scratch: &mut [T],
    x: &mut [T],
    fold: F,
) -> Result<bool> {
    let (k, n_u) = (w.k(), row.len());
    check::len(x, k, "x")?;
    check::min_len(scratch, low_rank_scratch_len(n_u, k), "scratch")?;
    let (v, s) = scratch.split_at_mut(n_u * k);
    let mut b_hat = [T::ZERO; MAX_K];
    let b_hat = &mut b_hat[..k];
    let Some(n) = w.gathered(row, lambda, v, b_hat)? else {
        return Ok(false);
    };
    let s = &mut s[..n * n];
    gram_half_blocked::<T, F, true>(&v[..n * k], n, k, s, fold);
    w.finish(&v[..n * k], n, s, lambda, b_hat, x)?;
    Ok(true)
}

/// Rows one [`solve_rows_low_rank_folded`] call solves side by side (at
/// most): sixteen, one per lane of an AVX-512 register of `f32`.
pub const LOW_RANK_GROUP: usize = LANES;

/// Length of the `scratch` of [`solve_rows_low_rank_folded`] for rows of
/// at most `n_max` cells each: the group's rows of `V` (`16 n_max k`), its
/// `b̂` and results (`2 · 16 k`), one row's `V Vᵀ` (`n_max²`), and the
/// sixteen capacitance systems side by side (`16 (N² + 2 N)`, `N` = `n_max`
/// rounded up to a multiple of four).
pub const fn low_rank_group_scratch_len(n_max: usize, k: usize) -> usize {
    let big = n_max.div_ceil(4).saturating_mul(4);
    let v = LANES.saturating_mul(n_max).saturating_mul(k);
    let s = big
        .saturating_mul(big)
        .saturating_add(big.saturating_mul(2));
    v.saturating_add((2 * LANES).saturating_mul(k))
        .saturating_add(n_max.saturating_mul(n_max))
        .saturating_add(LANES.saturating_mul(s))
}

/// [`solve_row_low_rank_folded`] for up to [`LOW_RANK_GROUP`] rows at once:
/// row `v`'s result goes to `xs[v k..(v + 1) k]`, and entry `v` of the
/// returned array is exactly, bit for bit, what
/// `solve_row_low_rank_folded(w, &rows[v], ..)` returns for it alone
/// (`Ok(true)` with the same `x`, `Ok(false)` with its `x` untouched, or
/// the same error); entries past `rows.len()` are `Ok(false)`.
///
/// Each row gathers its `V` and `b̂` and forms `V Vᵀ` as alone; then the
/// rows' capacitance systems are factored and solved side by side, one
/// per vector lane (padded to the largest with the identity, which leaves
/// every row's own entries exactly as unpadded), and `x = L⁻ᵀ y` runs for
/// all of them at once against the shared `L`.
/// Every lane performs its own row's operations in the same order, so the
/// same bits; what the group saves is the latency: a 14-48-row system's
/// pivots and substitution steps wait on each other, and sixteen of them
/// side by side wait once. A row whose check fails anywhere in the group
/// is solved again alone, which gives its error (or result) exactly.
///
/// # Errors
/// Per row, the errors of [`solve_row_low_rank_folded`]. For the whole
/// group (every row's entry): [`Error::DimensionTooLarge`] for more than
/// [`LOW_RANK_GROUP`] rows, [`Error::LengthMismatch`] for `xs`
/// (`rows.len() k`) or a `scratch` shorter than
/// [`low_rank_group_scratch_len`] of the longest row.
#[inline(always)]
pub fn solve_rows_low_rank_folded<T: Real, F: LaneFold>(
    w: &Whitened<'_, T>,
    rows: &[Row<'_, T>],
    scratch: &mut [T],
    xs: &mut [T],
    fold: F,
) -> [Result<bool>; LOW_RANK_GROUP] {
    solve_group_by(w, rows, &[T::ZERO; LANES], scratch, xs, fold)
}

/// [`solve_rows_low_rank_folded`] in the eigenbasis, row `v` with its own
/// `lambdas[v]`: entry `v` is what [`solve_row_low_rank_eigen_folded`]
/// returns for it alone, bit for bit. The finish `x = Q (s ⊙ y)` runs row
/// by row.
///
/// # Errors
/// As [`solve_rows_low_rank_folded`]; [`Error::LengthMismatch`] (every
/// row's entry) when `lambdas` is not `rows.len()` long.
#[inline(always)]
pub fn solve_rows_low_rank_eigen_folded<T: Real, F: LaneFold>(
    w: &EigenWhitened<'_, T>,
    rows: &[Row<'_, T>],
    lambdas: &[T],
    scratch: &mut [T],
    xs: &mut [T],
    fold: F,
) -> [Result<bool>; LOW_RANK_GROUP] {
    let mut all = [T::ZERO; LANES];
    if let Err(e) = check::len(lambdas, rows.len(), "lambdas") {
        return every_row(rows.len(), e);
    }
    all[..rows.len().min(LANES)].copy_from_slice(&lambdas[..rows.len().min(LANES)]);
    solve_group_by(w, rows, &all, scratch, xs, fold)
}

/// `Err(e)` for the first `g` entries, `Ok(false)` for the rest.
fn every_row(g: usize, e: Error) -> [Result<bool>; LANES] {
    core::array::from_fn(|v| if v < g { Err(e) } else { Ok(false) })
}

/// The body of [`solve_rows_low_rank_folded`] and its eigenbasis twin.
#[inline(always)]
fn solve_group_by<T: Real, B: LowRankBasis<T>, F: LaneFold>(
    w: &B,
    rows: &[Row<'_, T>],
    lambdas: &[T; LANES],
    scratch: &mut [T],
    xs: &mut [T],
    fold: F,
) -> [Result<bool>; LANES] {
    let (g, k) = (rows.len(), w.k());
    let mut out: [Result<bool>; LANES] = core::array::from_fn(|_| Ok(false));
    if g > LANES {
        return every_row(
            g.min(LANES),
            Error::DimensionTooLarge {
                what: "rows",
                value: g,
                max: LANES,
            },
        );
    }
    let n_max = rows.iter().map(Row::len).max().unwrap_or(0);
    if let Err(e) = check::len(xs, g * k, "xs")
        .and_then(|()| check::min_len(scratch, low_rank_group_scratch_len(n_max, k), "scratch"))
    {
        return every_row(g, e);
    }
    let big = n_max.div_ceil(4) * 4;
    let (vs, rest) = scratch.split_at_mut(LANES * n_max * k);
    let (b_hats, rest) = rest.split_at_mut(LANES * k);
    let (ys, rest) = rest.split_at_mut(LANES * k);
    let (one, rest) = rest.split_at_mut(n_max * n_max);
    let (s, rest) = rest.split_at_mut(big * big * LANES);
    let (t, rest) = rest.split_at_mut(big * LANES);
    let inv = &mut rest[..big * LANES];
    // Lanes with a capacitance system (bit v) and lanes to solve alone.
    let (mut active, mut alone) = (0u32, 0u32);
    let mut ns = [0usize; LANES];
    for (v, row) in rows.iter().enumerate() {
        let block = &mut vs[v * n_max * k..(v + 1) * n_max * k];
        let b_hat = &mut b_hats[v * k..(v + 1) * k];
        match w.gathered(row, lambdas[v], block, b_hat) {
            Err(e) => out[v] = Err(e),
            Ok(None) => {}
            Ok(Some(n)) => {
                ns[v] = n;
                active |= 1 << v;
            }
        }
    }
    // Each active lane's system, checked and formed by `capacitance_system`;
    // every other lane (and every lane's padding) the identity.
    let top = (0..g)
        .filter(|&v| active & (1 << v) != 0)
        .map(|v| ns[v])
        .max()
        .unwrap_or(0)
        .div_ceil(4)
        * 4;
    for v in 0..LANES {
        let n = ns[v];
        let mut formed = false;
        if active & (1 << v) != 0 {
            let block = &vs[v * n_max * k..v * n_max * k + n * k];
            let b_hat = &b_hats[v * k..(v + 1) * k];
            let one = &mut one[..n * n];
            gram_lower(block, n, k, one, fold);
            // (`t` is empty when every row is: nothing to write then)
            let tv = t.get_mut(v..).unwrap_or_default();
            if capacitance_system::<T, false>(k, block, n, one, b_hat, tv, LANES).is_ok() {
                for a in 0..top {
                    for b in 0..=a {
                        s[(a * top + b) * LANES + v] = if a < n && b < n {
                            one[a * n + b]
                        } else if a == b {
                            T::ONE
                        } else {
                            T::ZERO
                        };
                    }
                    if a >= n {
                        t[a * LANES + v] = T::ZERO;
                    }
                }
                formed = true;
            } else {
                alone |= 1 << v;
            }
        }
        if !formed {
            for a in 0..top {
                for b in 0..=a {
                    s[(a * top + b) * LANES + v] = if a == b { T::ONE } else { T::ZERO };
                }
                t[a * LANES + v] = T::ZERO;
            }
        }
    }
    active &= !alone;
    if top > 0 {
        alone |= crate::lanes::factor_lanes(&mut s[..top * top * LANES], top, inv) & active;
        active &= !alone;
        crate::lanes::substitute_lanes(&s[..top * top * LANES], inv, &mut t[..top * LANES], top);
    }
    // y = b̂ − Vᵀ w, row by row
    for v in (0..g).filter(|&v| active & (1 << v) != 0) {
        let block = &vs[v * n_max * k..v * n_max * k + ns[v] * k];
        let b_hat = &mut b_hats[v * k..(v + 1) * k];
        capacitance_update(
            k,
            block,
            ns[v],
            t.get(v..).unwrap_or_default(),
            LANES,
            b_hat,
        );
    }
    // x from y: against the shared factor, all lanes at once
    if let Some(l) = w.shared_factor() {
        for v in 0..LANES {
            for d in 0..k {
                ys[d * LANES + v] = if active & (1 << v) != 0 {
                    b_hats[v * k + d]
                } else {
                    T::ZERO
                };
            }
        }
        crate::lanes::backward_shared_lanes(l, ys, k);
        for v in (0..g).filter(|&v| active & (1 << v) != 0) {
            let b_hat = &mut b_hats[v * k..(v + 1) * k];
            for (d, bd) in b_hat.iter_mut().enumerate() {
                *bd = ys[d * LANES + v];
            }
            if check::result(b_hat, "x").is_ok() {
                xs[v * k..(v + 1) * k].copy_from_slice(b_hat);
                out[v] = Ok(true);
            } else {
                alone |= 1 << v;
            }
        }
    } else {
        for v in (0..g).filter(|&v| active & (1 << v) != 0) {
            let b_hat = &mut b_hats[v * k..(v + 1) * k];
            match w.finish_y(lambdas[v], b_hat, &mut xs[v * k..(v + 1) * k]) {
                Ok(()) => out[v] = Ok(true),
                Err(_) => alone |= 1 << v,
            }
        }
    }
    // Rows a check stopped: alone, for their exact error (or result).
    for v in (0..g).filter(|&v| alone & (1 << v) != 0) {
        let x = &mut xs[v * k..(v + 1) * k];
        out[v] = solve_low_rank_by(w, &rows[v], lambdas[v], vs, x, fold);
    }
    out
}

/// The lower triangle of `S = V Vᵀ` (`n x n`, row-major) for the `n` rows
/// of `v` (`k` wide): `S[a][b] = dot(v_a, v_b)` for `b <= a`. Four entries
/// of a row of `S` at a time through [`crate::real::dot4_with`] (`v_a`
/// read once for the four, the four lane folds by `fold`), each bit for bit
/// the single [`dot`] (with a fused `fold`, [`crate::Fused`], every entry's
/// multiply-adds fused); the strict upper triangle is not written. The
/// groups' form ([`solve_rows_low_rank_folded`]); [`gram_half_blocked`]
/// gives the same bits with fewer loads.
#[inline(always)]
fn gram_lower<T: Real, F: LaneFold>(v: &[T], n: usize, k: usize, s: &mut [T], fold: F) {
    for a in 0..n {
        gram_row_from::<T, F, false>(v, n, k, a, 0, s, fold);
    }
}

/// [`gram_lower`] for one row's solve ([`solve_row_low_rank_folded`]),
/// the same bits with fewer loads (the groups keep [`gram_lower`]: with
/// these blocks inside them they ran 18-28% slower; BENCHMARKS.md,
/// batches 29-30): rows of `S` go four at a time: below their diagonal block in
/// 4 x 4 blocks of entries ([`crate::real::dot4x4_with`], eight rows of `V`
/// loaded once per block), their diagonal block and the last `n mod 4`
/// rows four entries at a time ([`crate::real::dot4_with`], `v_a` read
/// once for the four), then one by one; every entry's lane folds by
/// `fold`. `UPPER` writes entry `(a, b)` to `(b, a)` instead: the lower
/// triangle's values in the upper one, the layout of
/// [`crate::cholesky::factor_upper_unchecked`].
#[inline(always)]
fn gram_half_blocked<T: Real, F: LaneFold, const UPPER: bool>(
    v: &[T],
    n: usize,
    k: usize,
    s: &mut [T],
    fold: F,
) {
    let row = |b: usize| &v[b * k..(b + 1) * k];
    let blocked = n / 4 * 4;
    for a0 in (0..blocked).step_by(4) {
        let vs = [row(a0), row(a0 + 1), row(a0 + 2), row(a0 + 3)];
        for b in (0..a0).step_by(4) {
            let d = dot4x4_with([row(b), row(b + 1), row(b + 2), row(b + 3)], vs, fold);
            for (i, di) in d.iter().enumerate() {
                if UPPER {
                    for (j, dij) in di.iter().enumerate() {
                        s[(b + j) * n + a0 + i] = *dij;
                    }
                } else {
                    s[(a0 + i) * n + b..(a0 + i) * n + b + 4].copy_from_slice(di);
                }
            }
        }
        for a in a0..a0 + 4 {
            gram_row_from::<T, F, UPPER>(v, n, k, a, a0, s, fold);
        }
    }
    for a in blocked..n {
        gram_row_from::<T, F, UPPER>(v, n, k, a, 0, s, fold);
    }
}

/// Row `a` of [`gram_lower`]'s `S` from column `from` (a multiple of four)
/// to `a`: four entries at a time, then one by one (`UPPER`: into column
/// `a`, see [`gram_half_blocked`]).
#[inline(always)]
fn gram_row_from<T: Real, F: LaneFold, const UPPER: bool>(
    v: &[T],
    n: usize,
    k: usize,
    a: usize,
    from: usize,
    s: &mut [T],
    fold: F,
) {
    let row = |b: usize| &v[b * k..(b + 1) * k];
    let va = row(a);
    let quads = (a + 1) / 4 * 4;
    for b in (from..quads).step_by(4) {
        let d = dot4_with([row(b), row(b + 1), row(b + 2), row(b + 3)], va, fold);
        if UPPER {
            for (j, dj) in d.iter().enumerate() {
                s[(b + j) * n + a] = *dj;
            }
        } else {
            s[a * n + b..a * n + b + 4].copy_from_slice(&d);
        }
    }
    for b in quads.max(from)..=a {
        let d = dot_with(row(b), va, fold);
        if UPPER {
            s[b * n + a] = d;
        } else {
            s[a * n + b] = d;
        }
    }
}

/// The first half of [`solve_row_low_rank`]: checks the row, writes into
/// `block` (row-major, `k` columns; [`crate::gathered_rows_len`]`(n_u, k)`
/// elements) the rows `v_t = sqrt(d_t) ĥ_t` of `V` for the `n` cells with
/// `d_t = c_t − c0_t > 0`, and `b̂ = Σ_obs c_t x_t ĥ_t` into `b_hat` (`k`);
/// returns `Some(n)`. `None` (and `block`, `b_hat` untouched) for a row the
/// low-rank solve does not take: a cell with `d_t < 0`, or `n > MAX_K`.
/// O(n_u k).
///
/// # Errors
/// Row validation errors; [`Error::LengthMismatch`] for `b_hat` or a short
/// `block`.
#[inline(always)]
pub fn low_rank_gathered<T: Real>(
    w: &Whitened<'_, T>,
    row: &Row<'_, T>,
    block: &mut [T],
    b_hat: &mut [T],
) -> Result<Option<usize>> {
    gather(&w.h, w.c0, None, row, block, b_hat)
}

/// [`low_rank_gathered`] for the row with factors `h` and baseline `c0`,
/// each row `h_j` scaled by `scale` element-wise when given.
#[inline(always)]
fn gather<T: Real>(
    h: &Factors<'_, T>,
    c0: Baseline<'_, T>,
    scale: Option<&[T]>,
    row: &Row<'_, T>,
    block: &mut [T],
    b_hat: &mut [T],
) -> Result<Option<usize>> {
    check_row(row, h.n())?;
    let k = h.k();
    check::len(b_hat, k, "b_hat")?;
    let n_u = row.len();
    check::min_len(block, crate::gathered_rows_len(n_u, k), "block")?;
    let mut n = 0usize;
    for t in 0..n_u {
        let (j, c, _) = row.cell(t);
        let d = c - c0.at(j);
        if d < T::ZERO {
            return Ok(None);
        }
        if d > T::ZERO {
            n += 1;
        }
    }
    if n > MAX_K {
        return Ok(None);
    }
    b_hat.fill(T::ZERO);
    let mut r = 0;
    for t in 0..n_u {
        let (j, c, pref) = row.cell(t);
        let hj = h.row(j);
        axpy(c * pref, hj, b_hat);
        let d = c - c0.at(j);
        if d > T::ZERO {
            let sd = d.sqrt();
            let out = &mut block[r * k..(r + 1) * k];
            match scale {
                None => {
                    for (o, hv) in out.iter_mut().zip(hj) {
                        *o = sd * *hv;
                    }
                }
                Some(s) => {
                    for ((o, hv), sv) in out.iter_mut().zip(hj).zip(s) {
                        *o = sd * (*sv * *hv);
                    }
                }
            }
            r += 1;
        }
    }
    if let Some(s) = scale {
        for (bv, sv) in b_hat.iter_mut().zip(s) {
            *bv *= *sv;
        }
    }
    Ok(Some(n))
}

/// The second half of [`solve_row_low_rank`]: with `block` and `b_hat` from
/// [`low_rank_gathered`] (`n` rows of `V`) and the lower triangle of `s`
/// (`n x n`, row-major) holding `V Vᵀ`, adds `I` to `s` and factors it,
/// solves `S w = V b̂`, and writes `x = L⁻ᵀ (b̂ − Vᵀ w)` (`k`). `s` and
/// `b_hat` are overwritten. O(n³/6 + n k + k²).
///
/// # Errors
/// [`Error::LengthMismatch`] for `block` (`n k`), `s` (`n²`), `b_hat` or
/// `x` (`k`); [`Error::DimensionTooLarge`] for `n > MAX_K`;
/// [`Error::NonFinite`] for `s`'s lower triangle, `block` or `b_hat`;
/// [`Error::NotPositiveDefinite`] if `s` was not `V Vᵀ` (`I + V Vᵀ` always
/// factors); [`Error::NonFiniteResult`] on overflow. `x` is written only on
/// success.
#[inline(always)]
pub fn low_rank_finish<T: Real>(
    w: &Whitened<'_, T>,
    block: &[T],
    n: usize,
    s: &mut [T],
    b_hat: &mut [T],
    x: &mut [T],
) -> Result<()> {
    finish_plain::<T, false>(w, block, n, s, b_hat, x)
}

/// [`low_rank_finish`] with `s` in the lower triangle or (`UPPER`) in the
/// upper one (see [`capacitance`]).
#[inline(always)]
fn finish_plain<T: Real, const UPPER: bool>(
    w: &Whitened<'_, T>,
    block: &[T],
    n: usize,
    s: &mut [T],
    b_hat: &mut [T],
    x: &mut [T],
) -> Result<()> {
    capacitance::<T, UPPER>(w.k(), block, n, s, b_hat, x)?;
    finish_whitened(w.l, w.k(), b_hat, x)
}

/// The end of [`low_rank_finish`], after the capacitance solve:
/// `x = L⁻ᵀ y` from `y` in `b_hat` (overwritten), `x` written only when
/// finite.
#[inline(always)]
fn finish_whitened<T: Real>(l: &[T], k: usize, b_hat: &mut [T], x: &mut [T]) -> Result<()> {
    backward_unchecked(l, b_hat, k);
    check::result(b_hat, "x")?;
    x.copy_from_slice(b_hat);
    Ok(())
}

/// The shared middle of [`low_rank_finish`] and [`low_rank_finish_eigen`]:
/// the checks, `S = I + V Vᵀ` factored, `S w = V b̂`, and `y = b̂ − Vᵀ w`
/// into `b_hat`.
///
/// `UPPER` (the kernel's own one-row solves, whose `V Vᵀ` is written
/// transposed by [`gram_half_blocked`]): `S` arrives in the upper
/// triangle and is factored there in place
/// ([`crate::cholesky::factor_upper_unchecked`]: the same factor's bits
/// without a working copy), then `L` is copied into the lower triangle for
/// the same substitution: the same bits as the lower layout.
#[inline(always)]
fn capacitance<T: Real, const UPPER: bool>(
    k: usize,
    block: &[T],
    n: usize,
    s: &mut [T],
    b_hat: &mut [T],
    x: &[T],
) -> Result<()> {
    check::len(x, k, "x")?;
    let mut t = [T::ZERO; MAX_K];
    let t = &mut t[..n.min(MAX_K)];
    capacitance_system::<T, UPPER>(k, block, n, s, b_hat, t, 1)?;
    if n > 0 {
        if UPPER {
            factor_upper_unchecked(s, n)?;
            for i in 1..n {
                for j in 0..i {
                    s[i * n + j] = s[j * n + i];
                }
            }
        } else {
            factor_unchecked(s, n)?;
        }
        substitute_unchecked(s, t, n);
    }
    capacitance_update(k, block, n, t, 1, b_hat);
    Ok(())
}

/// The first half of [`capacitance`], shared with the groups of
/// [`solve_rows_low_rank_folded`]: checks the lengths and that `block`,
/// `b_hat` and the lower triangle of `s` (`V Vᵀ`; `UPPER`: held in the
/// upper one, [`check::upper_finite`]) are finite, adds `I` to
/// `s`'s diagonal, and writes `t = V b̂`, the right-hand side of
/// `S w = V b̂`: entry `a` to `t[a stride]` (a group's lane of
/// interleaved systems has stride [`LANES`]).
///
/// Why `I + V Vᵀ`: with the whitened normal matrix `I + Vᵀ V` (the row's
/// `G0 + λ I` whitened to `I`, plus its `n` rank-one terms `v_t v_tᵀ`),
/// Woodbury gives `(I + Vᵀ V)⁻¹ b̂ = b̂ − Vᵀ (I + V Vᵀ)⁻¹ V b̂`: an
/// `n x n` system in place of a `k x k` one.
#[inline(always)]
fn capacitance_system<T: Real, const UPPER: bool>(
    k: usize,
    block: &[T],
    n: usize,
    s: &mut [T],
    b_hat: &[T],
    t: &mut [T],
    stride: usize,
) -> Result<()> {
    if n > MAX_K {
        return Err(Error::DimensionTooLarge {
            what: "n",
            value: n,
            max: MAX_K,
        });
    }
    check::len(block, n * k, "block")?;
    check::len(s, n * n, "s")?;
    check::len(b_hat, k, "b_hat")?;
    let t_len = if n == 0 { 0 } else { (n - 1) * stride + 1 };
    check::min_len(t, t_len, "t")?;
    check::finite(block, "block")?;
    check::finite(b_hat, "b_hat")?;
    if UPPER {
        check::upper_finite(s, n, "s")?;
    } else {
        check::lower_finite(s, n, "s")?;
    }
    for a in 0..n {
        s[a * n + a] += T::ONE;
    }
    // four rows of `V` per pass over `b̂`, each entry `dot`'s bits
    let row = |a: usize| &block[a * k..(a + 1) * k];
    let quads = n / 4 * 4;
    for a in (0..quads).step_by(4) {
        let d = dot4([row(a), row(a + 1), row(a + 2), row(a + 3)], b_hat);
        for (i, di) in d.into_iter().enumerate() {
            t[(a + i) * stride] = di;
        }
    }
    for a in quads..n {
        t[a * stride] = dot(row(a), b_hat);
    }
    Ok(())
}

/// The second half of [`capacitance`], shared with the groups: with the
/// solution `w` of `S w = V b̂` (entry `a` at `w[a stride]`, as
/// [`capacitance_system`] wrote `t`), `y = b̂ − Vᵀ w` into `b_hat`, one
/// `axpy` per row of `V` (`n` rows of `block`) in row order.
#[inline(always)]
fn capacitance_update<T: Real>(
    k: usize,
    block: &[T],
    n: usize,
    w: &[T],
    stride: usize,
    b_hat: &mut [T],
) {
    for a in 0..n {
        axpy(-w[a * stride], &block[a * k..(a + 1) * k], b_hat);
    }
}

/// [`solve_row_low_rank`] for a row with its own `lambda`, through the
/// eigenbasis of `G0` (see the [module docs](self#one-λ-per-row-the-eigenbasis)):
/// the same exact solution of the row's normal equations with `G0 + λ I`.
///
/// # Errors
/// As [`solve_row_low_rank`]; [`Error::Negative`] / [`Error::NonFinite`]
/// for `lambda`; [`Error::NotPositiveDefinite`] when an eigenvalue plus
/// `lambda` is not positive.
#[inline(always)]
pub fn solve_row_low_rank_eigen<T: Real>(
    w: &EigenWhitened<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    scratch: &mut [T],
    x: &mut [T],
) -> Result<bool> {
    solve_low_rank_by(w, row, lambda, scratch, x, PortableFold)
}

/// [`solve_row_low_rank_eigen`] with the capacitance matrix's lane folds
/// by `fold` (see [`solve_row_low_rank_folded`]): the same bits.
///
/// # Errors
/// As [`solve_row_low_rank_eigen`].
#[inline(always)]
pub fn solve_row_low_rank_eigen_folded<T: Real, F: LaneFold>(
    w: &EigenWhitened<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    scratch: &mut [T],
    x: &mut [T],
    fold: F,
) -> Result<bool> {
    solve_low_rank_by(w, row, lambda, scratch, x, fold)
}

/// [`low_rank_gathered`] in the eigenbasis: the rows
/// `v_t = sqrt(d_t) (s ⊙ Qᵀ h_t)` and `b̂ = s ⊙ Σ_obs c_t x_t Qᵀ h_t`,
/// `s = (e + λ)^(-1/2)`. O(n_u k + k).
///
/// # Errors
/// As [`low_rank_gathered`], and those of `lambda` as in
/// [`solve_row_low_rank_eigen`].
#[inline(always)]
pub fn low_rank_gathered_eigen<T: Real>(
    w: &EigenWhitened<'_, T>,
    row: &Row<'_, T>,
    lambda: T,
    block: &mut [T],
    b_hat: &mut [T],
) -> Result<Option<usize>> {
    let s = w.scaling(lambda)?;
    gather(&w.h, w.c0, Some(&s[..w.k()]), row, block, b_hat)
}

/// [`low_rank_finish`] in the eigenbasis: the capacitance solve, then
/// `x = Q (s ⊙ y)` (`x = s ⊙ y` for [`EigenWhitened::diagonal`]).
/// O(n³/6 + n k + k²).
///
/// # Errors
/// As [`low_rank_finish`], and those of `lambda` as in
/// [`solve_row_low_rank_eigen`].
#[inline(always)]
pub fn low_rank_finish_eigen<T: Real>(
    w: &EigenWhitened<'_, T>,
    block: &[T],
    n: usize,
    s: &mut [T],
    lambda: T,
    b_hat: &mut [T],
    x: &mut [T],
) -> Result<()> {
    finish_eigen_by::<T, false>(w, block, n, s, lambda, b_hat, x)
}

/// [`low_rank_finish_eigen`] with `s` in the lower triangle or (`UPPER`)
/// in the upper one (see [`capacitance`]).
#[inline(always)]
fn finish_eigen_by<T: Real, const UPPER: bool>(
    w: &EigenWhitened<'_, T>,
    block: &[T],
    n: usize,
    s: &mut [T],
    lambda: T,
    b_hat: &mut [T],
    x: &mut [T],
) -> Result<()> {
    let sc = w.scaling(lambda)?;
    capacitance::<T, UPPER>(w.k(), block, n, s, b_hat, x)?;
    finish_eigen(w, &sc[..w.k()], b_hat, x)
}

/// The end of [`low_rank_finish_eigen`], after the capacitance solve:
/// `x = Q (s ⊙ y)` (or `s ⊙ y` without `Q`) from `y` in `b_hat`
/// (overwritten) and the row's scaling `sc` (`k`), `x` written only when
/// finite.
#[inline(always)]
fn finish_eigen<T: Real>(
    w: &EigenWhitened<'_, T>,
    sc: &[T],
    b_hat: &mut [T],
    x: &mut [T],
) -> Result<()> {
    let k = w.k();
    for (bv, sv) in b_hat.iter_mut().zip(sc) {
        *bv *= *sv;
    }
    let Some(q) = w.q else {
        // already in the eigenbasis: x = z
        check::result(b_hat, "x")?;
        x.copy_from_slice(b_hat);
        return Ok(());
    };
    // x_r = Σ_c Q[r][c] z_c: one dot per row of Q
    let mut out = [T::ZERO; MAX_K];
    let out = &mut out[..k];
    for (o, qr) in out.iter_mut().zip(q.chunks_exact(k)) {
        *o = dot(qr, b_hat);
    }
    check::result(out, "x")?;
    x.copy_from_slice(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::fold::Fused;
    use crate::testing::Gen;
    use std::{vec, vec::Vec};

    /// One way of forming `V Vᵀ`'s lower triangle (`v`, `n`, `k`, `s`).
    type GramForm<T> = fn(&[T], usize, usize, &mut [T]);

    /// `V Vᵀ`'s lower triangle entry by entry from the single dot, unfused
    /// and fused, in both forms ([`gram_lower`], [`gram_half_blocked`]), for every row count around the four-entry blocks and the
    /// pairs of rows, and widths around the 16-lane chunks.
    fn gram_is_the_single_dots<T: Real>() {
        // values in [-0.5, 0.5): half the generator's (exactly)
        let mut g = Gen(0x2545_f491_4f6c_dd1d);
        let mut value = move || T::from_f64(g.next() / 2.0);
        let ns: &[usize] = if cfg!(miri) {
            &[0, 1, 5, 9]
        } else {
            &[0, 1, 2, 3, 4, 5, 8, 9, 13, 16, 22, 31]
        };
        let ks: &[usize] = if cfg!(miri) {
            &[3, 17]
        } else {
            &[1, 3, 16, 17, 33, 64]
        };
        for &n in ns {
            for &k in ks {
                let v: Vec<T> = (0..n * k).map(|_| value()).collect();
                let row = |b: usize| &v[b * k..(b + 1) * k];
                let forms: [GramForm<T>; 2] = [
                    |v, n, k, s| gram_lower(v, n, k, s, PortableFold),
                    |v, n, k, s| gram_half_blocked::<T, _, false>(v, n, k, s, PortableFold),
                ];
                let fused: [GramForm<T>; 2] = [
                    |v, n, k, s| gram_lower(v, n, k, s, Fused(PortableFold)),
                    |v, n, k, s| gram_half_blocked::<T, _, false>(v, n, k, s, Fused(PortableFold)),
                ];
                for (form, fused) in forms.into_iter().zip(fused) {
                    let mut s = vec![T::ZERO; n * n];
                    let mut f = vec![T::ZERO; n * n];
                    form(&v, n, k, &mut s);
                    fused(&v, n, k, &mut f);
                    for a in 0..n {
                        for b in 0..=a {
                            let want = dot_with(row(b), row(a), PortableFold);
                            assert_eq!(s[a * n + b].to_f64().to_bits(), want.to_f64().to_bits());
                            let want = dot_with(row(b), row(a), Fused(PortableFold));
                            assert_eq!(f[a * n + b].to_f64().to_bits(), want.to_f64().to_bits());
                        }
                    }
                }
                // the blocked form transposed: the same entries in the upper triangle
                let (mut s, mut f) = (vec![T::ZERO; n * n], vec![T::ZERO; n * n]);
                gram_half_blocked::<T, _, true>(&v, n, k, &mut s, PortableFold);
                gram_half_blocked::<T, _, true>(&v, n, k, &mut f, Fused(PortableFold));
                for a in 0..n {
                    for b in 0..=a {
                        let want = dot_with(row(b), row(a), PortableFold);
                        assert_eq!(s[b * n + a].to_f64().to_bits(), want.to_f64().to_bits());
                        let want = dot_with(row(b), row(a), Fused(PortableFold));
                        assert_eq!(f[b * n + a].to_f64().to_bits(), want.to_f64().to_bits());
                    }
                }
            }
        }
    }

    #[test]
    fn gram_lower_is_the_single_dots() {
        gram_is_the_single_dots::<f32>();
        gram_is_the_single_dots::<f64>();
    }
}
