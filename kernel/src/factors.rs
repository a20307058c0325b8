//! Validated views of the item side of a model and of one user's sparse row.
//!
//! Validation costs O(n k) and is done once, when the view is made; the row
//! functions then cost O(n_u k + k^2) (or O(n_u k^2) to form normal equations)
//! and check only the row they are given.

use crate::check;
use crate::error::{Error, Result};
use crate::fold::LaneFold;
use crate::real::{self, Real};
use crate::tiling::Tiling;

/// A row-major `n x k` factor matrix (item factors `H`, or user factors `W`),
/// checked finite with `1 <= k <= MAX_K` and `1 <= n <= u32::MAX`.
#[derive(Debug, Clone, Copy)]
pub struct Factors<'a, T> {
    data: &'a [T],
    n: usize,
    k: usize,
}

impl<'a, T: Real> Factors<'a, T> {
    /// Wraps `data` (`n * k` elements, row `j` at `data[j*k .. (j+1)*k]`).
    ///
    /// # Errors
    /// [`crate::Error::ZeroDimension`] / [`crate::Error::DimensionTooLarge`] for `n` or `k`,
    /// [`crate::Error::SizeOverflow`], [`crate::Error::LengthMismatch`] for `data`,
    /// [`crate::Error::NonFinite`] naming the first non-finite element.
    ///
    /// ```
    /// let h = [1.0f32, 0.0, 0.0, 1.0, 0.5, 0.5];
    /// let f = wmf_kernel::Factors::new(&h, 3, 2).unwrap();
    /// assert_eq!(f.row(2), &[0.5, 0.5]);
    /// ```
    pub fn new(data: &'a [T], n: usize, k: usize) -> Result<Self> {
        Self::with_shape(data, n, k)?;
        check::finite(data, "factors")?;
        Ok(Self { data, n, k })
    }

    /// Wraps `data` after checking its shape only (as [`Factors::new`] but
    /// without the O(n k) scan for NaN and infinity): for a buffer that was
    /// validated once and is reused across many calls, such as a model in a
    /// device's flash or the C library's checked `wmf_items`.
    ///
    /// This cannot make a result NaN: every function that reads factors checks
    /// what it computes, so a non-finite value in `data` is reported as
    /// [`crate::Error::NonFiniteResult`] by the call that reads it.
    ///
    /// # Errors
    /// As [`Factors::new`], except [`crate::Error::NonFinite`].
    ///
    /// ```
    /// use wmf_kernel::{Error, Factors, score_items};
    /// let h = [1.0f32, f32::NAN];
    /// let f = Factors::with_shape(&h, 2, 1).unwrap(); // not scanned
    /// let mut s = [0.0; 2];
    /// assert_eq!(score_items(&f, &[1.0], &mut s), Err(Error::NonFiniteResult { what: "scores" }));
    /// ```
    pub fn with_shape(data: &'a [T], n: usize, k: usize) -> Result<Self> {
        check_shape(data, n, k)?;
        Ok(Self { data, n, k })
    }

    /// Number of rows `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of latent factors `k`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The whole row-major buffer.
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }

    /// Row `j` (`k` elements). Callers index with a validated `j < n`; an
    /// out-of-range `j` returns an empty slice rather than panicking.
    #[inline]
    pub fn row(&self, j: usize) -> &'a [T] {
        row_of(self.data, self.k, j)
    }
}

/// The shape checks of [`Factors::with_shape`] for a buffer of any element.
fn check_shape<E>(data: &[E], n: usize, k: usize) -> Result<()> {
    check::rank(k)?;
    check::dim(n, "n")?;
    let len = check::product(n, k, "factors")?;
    check::len(data, len, "factors")
}

/// Row `j` of a row-major buffer `k` wide; empty when out of range.
#[inline(always)]
fn row_of<E>(data: &[E], k: usize, j: usize) -> &[E] {
    let start = j.checked_mul(k);
    let end = start.and_then(|s| s.checked_add(k));
    match (start, end) {
        (Some(s), Some(e)) => data.get(s..e).unwrap_or(&[]),
        _ => &[],
    }
}

/// The weight `c0_j` of every unobserved cell (preference 0).
///
/// Hu et al. 2008 use a uniform weight (1); eALS (He et al. 2016) and Pan et
/// al.'s item-oriented weighting give each item its own weight.
#[derive(Debug, Clone, Copy)]
pub enum Baseline<'a, T> {
    /// The same `c0` for every item.
    Uniform(T),
    /// `c0_j` per item (`n` elements, finite, `>= 0`).
    PerItem(&'a [T]),
}

impl<T: Real> Baseline<'_, T> {
    /// `c0_j` (the caller guarantees `j < n`).
    #[inline]
    pub fn at(&self, j: usize) -> T {
        match self {
            Baseline::Uniform(c) => *c,
            Baseline::PerItem(c) => c.get(j).copied().unwrap_or(T::ZERO),
        }
    }

    pub(crate) fn validate(&self, n: usize) -> Result<()> {
        match self {
            Baseline::Uniform(c) => check::scalar_nonneg(*c, "c0"),
            Baseline::PerItem(c) => {
                check::len(c, n, "c0")?;
                check::nonneg(c, "c0")
            }
        }
    }
}

/// Everything a fold-in needs from the item side: item factors `H` (`n x k`),
/// the weighted Gramian `G0 = H^T diag(c0) H` (`k x k`, symmetric, see
/// [`crate::gramian`]) and the unobserved-cell weights `c0`.
///
/// This is what a host ships to a device: with it, one user's loss, gradient,
/// normal equations and solves cost O(n_u k + k^2) instead of O(n k).
///
/// The rows are [`Factors`] (the default, `H`'s values) for every solver;
/// the CG solvers also take them as [`Bf16Factors`] ([`Items::compact`]),
/// `H` rounded to bfloat16, with `G0` still `H`'s own.
///
/// A diagonal `G0` (every off-diagonal element zero: `H` expressed in the
/// eigenbasis of its Gramian, as a host's CG may do, see
/// [`Items::gramian_is_diagonal`]) is noticed at construction, and the CG
/// solvers' `G0 p` products then cost `O(k)` instead of `O(k²)`, with the
/// same bits.
#[derive(Debug, Clone, Copy)]
pub struct Items<'a, T, H = Factors<'a, T>> {
    pub(crate) h: H,
    pub(crate) g0: &'a [T],
    pub(crate) c0: Baseline<'a, T>,
    pub(crate) tiling: Tiling,
    /// `g0` has only zeros off its diagonal (found by [`Items::with_rows`]).
    pub(crate) diagonal: bool,
}

impl<'a, T: Real> Items<'a, T> {
    /// Bundles validated item factors with their Gramian and baseline weights.
    ///
    /// `g0` is not recomputed (that is O(n k^2)); it must be the Gramian of
    /// `h` under `c0`, as [`crate::gramian`] computes it.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `g0` is not `k * k` or a per-item
    /// `c0` is not `n` long; [`crate::Error::NonFinite`] / [`crate::Error::Negative`]
    /// for `g0` and `c0`.
    pub fn new(h: Factors<'a, T>, g0: &'a [T], c0: Baseline<'a, T>) -> Result<Self> {
        Self::with_rows(h, g0, c0)
    }

    /// The item factors.
    pub fn factors(&self) -> &Factors<'a, T> {
        &self.h
    }
}

impl<'a, T: Real> Items<'a, T, Bf16Factors<'a>> {
    /// Bundles item factors stored in bfloat16 ([`Bf16Factors`], encoded
    /// from `H` by [`crate::encode_bf16`]) with the Gramian and baseline
    /// weights of the full-precision `H`, for [`crate::solve_row_cg`] and
    /// [`crate::solve_rows_cg`].
    ///
    /// Such a solve reads each observed item's row at half the bytes. It
    /// is, bit for bit, the solve over [`Factors`] holding the decoded rows
    /// ([`crate::bf16_to_f32`]) with the same `g0`: `A` becomes
    /// `G0 + Σ_obs (c − c0_j) ĥ_j ĥ_jᵀ + λ I` and `b = Σ_obs c x ĥ_j`, where
    /// `ĥ_j` is `h_j` rounded to 8 significant bits (relative error at
    /// most 2⁻⁸ per element).
    ///
    /// # Errors
    /// As [`Items::new`].
    ///
    /// ```
    /// use wmf_kernel::{Baseline, Bf16Factors, Items, encode_bf16};
    /// let h = [1.0f32, 0.0, 0.0, 1.0];
    /// let mut bits = [0u16; 4];
    /// encode_bf16(&h, &mut bits).unwrap();
    /// let g0 = [1.0f32, 0.0, 0.0, 1.0];
    /// let rows = Bf16Factors::with_shape(&bits, 2, 2).unwrap();
    /// let items = Items::compact(rows, &g0, Baseline::Uniform(1.0)).unwrap();
    /// assert_eq!(items.n(), 2);
    /// ```
    pub fn compact(h: Bf16Factors<'a>, g0: &'a [T], c0: Baseline<'a, T>) -> Result<Self> {
        Self::with_rows(h, g0, c0)
    }
}

impl<'a, T: Real, H: RowTable<T>> Items<'a, T, H> {
    /// [`Items::new`] for rows stored in any [`RowTable`] (for
    /// [`Bf16Factors`] see [`Items::compact`]).
    ///
    /// # Errors
    /// As [`Items::new`].
    pub fn with_rows(h: H, g0: &'a [T], c0: Baseline<'a, T>) -> Result<Self> {
        let (n, k) = (h.n(), h.k());
        check::len(g0, k * k, "g0")?;
        check::finite(g0, "g0")?;
        c0.validate(n)?;
        Ok(Self {
            h,
            g0,
            c0,
            tiling: Tiling::default(),
            diagonal: real::is_diagonal(g0, k),
        })
    }

    /// Other rows `h` (same `k`) and their baseline `c0` with this
    /// Gramian and tiling, which are not checked again (an `O(k²)` scan):
    /// for a solve over a copy of some of these rows, e.g. a host's
    /// gathered block of one group's observed rows, renumbered.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] (`what: "k"`) when `h` has another
    /// `k`; `c0`'s checks as in [`Items::new`].
    pub fn with_table<'b, H2: RowTable<T>>(
        &self,
        h: H2,
        c0: Baseline<'b, T>,
    ) -> Result<Items<'b, T, H2>>
    where
        'a: 'b,
    {
        if h.k() != self.k() {
            return Err(crate::Error::LengthMismatch {
                what: "k",
                expected: self.k(),
                actual: h.k(),
            });
        }
        c0.validate(h.n())?;
        Ok(Items {
            h,
            g0: self.g0,
            c0,
            tiling: self.tiling,
            diagonal: self.diagonal,
        })
    }

    /// Whether `G0` is diagonal (every off-diagonal element `±0`). The CG
    /// solvers then take each `G0 p` as `0 + G0[c][c] p[c]`, which is, bit
    /// for bit, the dense product's result for finite values (the
    /// derivation is at the kernel's `diag_multi`), in `O(k)`.
    pub fn gramian_is_diagonal(&self) -> bool {
        self.diagonal
    }

    /// The same items with the loops blocked for another register file
    /// (see [`Tiling`]; [`Items::new`] takes [`Tiling::default`]). The
    /// results are bit for bit the same under every tiling; only the speed
    /// differs.
    #[must_use]
    pub fn with_tiling(self, tiling: Tiling) -> Self {
        Self { tiling, ..self }
    }

    /// The register blocking of the tiled host loops (see [`Tiling`]).
    pub fn tiling(&self) -> Tiling {
        self.tiling
    }

    /// The same items (rows, Gramian, baseline, tiling: nothing is checked
    /// again) with the lane sums of their four-row dots folded by `fold`:
    /// results bit for bit those of `self` (see [`LaneFold`]).
    #[must_use]
    pub fn with_fold<F: LaneFold>(self, fold: F) -> Items<'a, T, Folded<H, F>> {
        Items {
            h: Folded { rows: self.h, fold },
            g0: self.g0,
            c0: self.c0,
            tiling: self.tiling,
            diagonal: self.diagonal,
        }
    }

    /// Number of items `n`.
    pub fn n(&self) -> usize {
        self.h.n()
    }

    /// Number of latent factors `k`.
    pub fn k(&self) -> usize {
        self.h.k()
    }

    /// The item factor rows, as stored.
    pub fn rows(&self) -> &H {
        &self.h
    }

    /// The Gramian `G0` (`k * k`, row-major).
    pub fn gramian(&self) -> &'a [T] {
        self.g0
    }

    /// The baseline weights.
    pub fn baseline(&self) -> &Baseline<'a, T> {
        &self.c0
    }

    /// Checks a row against these items: indices strictly ascending and `< n`,
    /// confidences finite and `>= 0`, preferences finite, lengths equal.
    ///
    /// # Errors
    /// The first problem found, naming `items`, `conf` or `pref` and the position.
    pub fn check_row(&self, row: &Row<'_, T>) -> Result<()> {
        check_row(row, self.h.n())
    }
}

pub(crate) mod sealed {
    /// What the solvers need of a [`super::RowTable`], in this crate only.
    pub trait Rows<T>: Copy {
        /// The stored element.
        type Elem: Copy;
        /// Number of rows `n`.
        fn n(&self) -> usize;
        /// Row length `k`.
        fn k(&self) -> usize;
        /// Row `j` as stored (`k` elements; empty when out of range).
        fn row(&self, j: usize) -> &[Self::Elem];
        /// `row · v`.
        fn dot(row: &[Self::Elem], v: &[T]) -> T;
        /// Four rows' dots with `v`, each bit for bit [`Rows::dot`] (the
        /// table's [`crate::LaneFold`] folds their lanes).
        fn dot4(&self, rows: [&[Self::Elem]; 4], v: &[T]) -> [T; 4];
        /// One stored element as `T`.
        fn load(e: Self::Elem) -> T;
        /// `y += a row`.
        fn axpy(a: T, row: &[Self::Elem], y: &mut [T]);
        /// `y += a_0 row_0`, then `a_1 row_1`, ..., element by element:
        /// bit for bit four [`Rows::axpy`]s.
        fn axpy4(a: [T; 4], rows: [&[Self::Elem]; 4], y: &mut [T]);
    }
}

/// How the item factor rows are stored: [`Factors`] (the values
/// themselves) or [`Bf16Factors`] (rounded to bfloat16). Sealed: the
/// solvers' access to the rows is internal.
pub trait RowTable<T>: sealed::Rows<T> {}

impl<T: Real> RowTable<T> for Factors<'_, T> {}
impl<T: Real> RowTable<T> for Bf16Factors<'_> {}

impl<T: Real> sealed::Rows<T> for Factors<'_, T> {
    type Elem = T;
    #[inline(always)]
    fn n(&self) -> usize {
        self.n
    }
    #[inline(always)]
    fn k(&self) -> usize {
        self.k
    }
    #[inline(always)]
    fn row(&self, j: usize) -> &[T] {
        Factors::row(self, j)
    }
    #[inline(always)]
    fn dot(row: &[T], v: &[T]) -> T {
        real::dot(row, v)
    }
    #[inline(always)]
    fn dot4(&self, rows: [&[T]; 4], v: &[T]) -> [T; 4] {
        real::dot4(rows, v)
    }
    #[inline(always)]
    fn load(e: T) -> T {
        e
    }
    #[inline(always)]
    fn axpy(a: T, row: &[T], y: &mut [T]) {
        real::axpy(a, row, y);
    }
    #[inline(always)]
    fn axpy4(a: [T; 4], rows: [&[T]; 4], y: &mut [T]) {
        real::axpy4(a, rows, y);
    }
}

/// An `n x k` factor matrix stored in bfloat16 (the upper 16 bits of each
/// `f32`, rounded to nearest by [`crate::encode_bf16`]), row `j` at
/// `data[j*k .. (j+1)*k]`: half the bytes of [`Factors`] with 8
/// significant bits. Read through [`crate::bf16_to_f32`]; used by the CG
/// solvers through [`Items::compact`].
#[derive(Debug, Clone, Copy)]
pub struct Bf16Factors<'a> {
    data: &'a [u16],
    n: usize,
    k: usize,
}

impl<'a> Bf16Factors<'a> {
    /// Wraps `data` (`n * k` encoded elements) after checking its shape.
    /// Values are not scanned: a NaN or infinity (which
    /// [`crate::encode_bf16`] never writes) makes the solve that reads it
    /// report [`crate::Error::NonFiniteResult`], as with
    /// [`Factors::with_shape`].
    ///
    /// # Errors
    /// As [`Factors::with_shape`].
    pub fn with_shape(data: &'a [u16], n: usize, k: usize) -> Result<Self> {
        check_shape(data, n, k)?;
        Ok(Self { data, n, k })
    }

    /// The whole row-major buffer.
    pub fn as_slice(&self) -> &'a [u16] {
        self.data
    }

    /// Row `j` (`k` elements; empty when out of range, as [`Factors::row`]).
    #[inline]
    pub fn row(&self, j: usize) -> &'a [u16] {
        row_of(self.data, self.k, j)
    }
}

impl<T: Real> sealed::Rows<T> for Bf16Factors<'_> {
    type Elem = u16;
    #[inline(always)]
    fn n(&self) -> usize {
        self.n
    }
    #[inline(always)]
    fn k(&self) -> usize {
        self.k
    }
    #[inline(always)]
    fn row(&self, j: usize) -> &[u16] {
        Bf16Factors::row(self, j)
    }
    #[inline(always)]
    fn dot(row: &[u16], v: &[T]) -> T {
        real::dot_by(row, v, load_bf16)
    }
    #[inline(always)]
    fn dot4(&self, rows: [&[u16]; 4], v: &[T]) -> [T; 4] {
        real::dot4_by(rows, v, load_bf16)
    }
    #[inline(always)]
    fn load(e: u16) -> T {
        load_bf16(e)
    }
    #[inline(always)]
    fn axpy(a: T, row: &[u16], y: &mut [T]) {
        real::axpy_by(a, row, y, load_bf16);
    }
    #[inline(always)]
    fn axpy4(a: [T; 4], rows: [&[u16]; 4], y: &mut [T]) {
        real::axpy4_by(a, rows, y, load_bf16);
    }
}

/// Rows of a [`RowTable`] whose four-row dots fold their lane sums with
/// `F` (see [`LaneFold`]): the same rows, the same results bit for bit, the
/// folds in the host's instruction set. Made by [`Items::with_fold`].
#[derive(Debug, Clone, Copy)]
pub struct Folded<H, F> {
    rows: H,
    fold: F,
}

impl<H, F: Copy> Folded<H, F> {
    /// The rows as stored, without the fold.
    pub fn rows(&self) -> &H {
        &self.rows
    }

    /// The fold.
    pub fn fold(&self) -> F {
        self.fold
    }
}

impl<T: Real, H: RowTable<T>, F: LaneFold> RowTable<T> for Folded<H, F> {}

impl<T: Real, H: RowTable<T>, F: LaneFold> sealed::Rows<T> for Folded<H, F> {
    type Elem = H::Elem;
    #[inline(always)]
    fn n(&self) -> usize {
        self.rows.n()
    }
    #[inline(always)]
    fn k(&self) -> usize {
        self.rows.k()
    }
    #[inline(always)]
    fn row(&self, j: usize) -> &[H::Elem] {
        self.rows.row(j)
    }
    /// The table's own dot, or with a fused fold ([`crate::Fused`]) the
    /// same dot of the loaded row with fused multiply-adds.
    #[inline(always)]
    fn dot(row: &[H::Elem], v: &[T]) -> T {
        if F::FUSED {
            real::dot_by_m::<T, H::Elem, true>(row, v, H::load)
        } else {
            H::dot(row, v)
        }
    }
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    fn dot4(&self, rows: [&[H::Elem]; 4], v: &[T]) -> [T; 4] {
        real::dot4_folded(rows, v, H::load, self.fold)
    }
    /// Bare metal: the table's own `dot4` (a host's fold has no business
    /// there, and it would give the same bits), or with a fused fold four
    /// fused dots.
    #[cfg(target_os = "none")]
    #[inline(always)]
    fn dot4(&self, rows: [&[H::Elem]; 4], v: &[T]) -> [T; 4] {
        if F::FUSED {
            rows.map(|r| real::dot_by_m::<T, H::Elem, true>(r, v, H::load))
        } else {
            self.rows.dot4(rows, v)
        }
    }
    #[inline(always)]
    fn load(e: H::Elem) -> T {
        H::load(e)
    }
    #[inline(always)]
    fn axpy(a: T, row: &[H::Elem], y: &mut [T]) {
        if F::FUSED {
            real::axpy_by_m::<T, H::Elem, true>(a, row, y, H::load);
        } else {
            H::axpy(a, row, y);
        }
    }
    #[inline(always)]
    fn axpy4(a: [T; 4], rows: [&[H::Elem]; 4], y: &mut [T]) {
        if F::FUSED {
            real::axpy4_by_m::<T, H::Elem, true>(a, rows, y, H::load);
        } else {
            H::axpy4(a, rows, y);
        }
    }
}

/// [`Items::check_row`] against `n` items.
#[inline(always)]
pub(crate) fn check_row<T: Real>(row: &Row<'_, T>, n: usize) -> Result<()> {
    check::len(row.conf, row.items.len(), "conf")?;
    if let Some(p) = row.pref {
        check::len(p, row.items.len(), "pref")?;
        check::finite(p, "pref")?;
    }
    check::items(row.items, n, "items")?;
    check::nonneg(row.conf, "conf")
}

/// [`Items::check_row`] for every row of a matrix in compressed sparse row
/// form at once: row `i` is `Row::implicit(&items[a..b], &conf[a..b])` with
/// `a = indptr[i]`, `b = indptr[i + 1]`, checked against `n` items
/// (indices strictly ascending and `< n`, confidences finite and `>= 0`).
///
/// One branch-free pass over the rows' cells instead of a call per row:
/// every index below `n`, every confidence finite and non-negative, and the
/// count of cells not above the cell before them equal to the count of
/// those that start a row (a descent anywhere else is an unsorted row).
/// When that pass fails, the rows are checked one by one so that the error
/// is exactly [`Items::check_row`]'s for the first failing row.
///
/// # Errors
/// `(i, e)` for the first failing row `i`, `e` as [`Items::check_row`];
/// for `indptr` itself, at the first bad entry `i + 1`:
/// [`crate::Error::NotAscending`] (`what: "indptr"`) when it decreases,
/// [`crate::Error::IndexOutOfRange`] (`what: "indptr"`) past the end of
/// `items` or `conf`.
///
/// ```
/// use wmf_kernel::{Error, check_csr_rows};
/// let indptr = [0u64, 2, 2, 5];
/// let items = [1u32, 4, 0, 2, 3];
/// let conf = [1.0f32, 3.0, 1.0, 1.0, 2.0];
/// assert_eq!(check_csr_rows(&indptr, &items, &conf, 5), Ok(()));
/// let unsorted = [1u32, 4, 0, 3, 2];
/// assert_eq!(
///     check_csr_rows(&indptr, &unsorted, &conf, 5),
///     Err((2, Error::NotAscending { what: "items", position: 2 }))
/// );
/// ```
pub fn check_csr_rows<T: Real>(
    indptr: &[u64],
    items: &[u32],
    conf: &[T],
    n: usize,
) -> core::result::Result<(), (usize, Error)> {
    let rows = indptr.len().saturating_sub(1);
    let end = items.len().min(conf.len());
    let ascending = indptr.windows(2).fold(true, |ok, w| ok & (w[0] <= w[1]));
    let (first, last) = (
        indptr.first().copied().unwrap_or(0),
        indptr.last().copied().unwrap_or(0),
    );
    if !ascending || last > end as u64 {
        // Name the first bad offset.
        for (i, w) in indptr.windows(2).enumerate() {
            if w[1] < w[0] {
                return Err((
                    i,
                    Error::NotAscending {
                        what: "indptr",
                        position: i + 1,
                    },
                ));
            }
        }
        for (i, &p) in indptr.iter().enumerate() {
            if p > end as u64 {
                return Err((
                    i.saturating_sub(1),
                    Error::IndexOutOfRange {
                        what: "indptr",
                        position: i,
                        index: usize::try_from(p).unwrap_or(usize::MAX),
                        bound: end,
                    },
                ));
            }
        }
    }
    // From here 0 <= first <= last <= end.
    let (first, last) = (first as usize, last as usize);
    let (cells, confs) = (&items[first..last], &conf[first..last]);
    let below = check::all_below(cells, n);
    let descents = cells
        .windows(2)
        .fold(0usize, |d, w| d + usize::from(w[1] <= w[0]));
    // Each non-empty row after the first cell starts at a distinct position.
    let row_starts = indptr.windows(2).fold(0usize, |d, w| {
        let (a, b) = (w[0] as usize, w[1] as usize);
        let starts = a > first && a < b;
        d + usize::from(starts && cells[a - first] <= cells[a - first - 1])
    });
    if below && descents == row_starts && check::all_nonneg(confs) {
        return Ok(());
    }
    for i in 0..rows {
        let (a, b) = (indptr[i] as usize, indptr[i + 1] as usize);
        check_row(&Row::implicit(&items[a..b], &conf[a..b]), n).map_err(|e| (i, e))?;
    }
    Ok(())
}

/// One user's observed cells: item indices (strictly ascending), their
/// confidences `c_uj >= 0` and preferences `x_uj`.
///
/// `pref: None` means `x_uj = 1` for every observed cell, Hu et al.'s binarised
/// preference. Every item not listed is unobserved: preference 0, weight `c0_j`.
/// An empty row (no interactions) is valid; each function says what it does with one.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a, T> {
    /// Item indices, strictly ascending, each `< n`.
    pub items: &'a [u32],
    /// Confidence `c_uj` of each listed item.
    pub conf: &'a [T],
    /// Preference `x_uj` of each listed item; `None` means all ones.
    pub pref: Option<&'a [T]>,
}

impl<'a, T: Real> Row<'a, T> {
    /// A row with explicit preferences.
    pub fn new(items: &'a [u32], conf: &'a [T], pref: Option<&'a [T]>) -> Self {
        Self { items, conf, pref }
    }

    /// A row whose preferences are all one (Hu et al. 2008).
    pub fn implicit(items: &'a [u32], conf: &'a [T]) -> Self {
        Self {
            items,
            conf,
            pref: None,
        }
    }

    /// The empty row (a user with no interactions).
    pub fn empty() -> Self {
        Self {
            items: &[],
            conf: &[],
            pref: None,
        }
    }

    /// Number of observed cells `n_u`.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True for a user with no interactions.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Observed cell `t`: `(item, c_uj, x_uj)`. The caller guarantees `t < len()`
    /// after [`Items::check_row`].
    #[inline]
    pub(crate) fn cell(&self, t: usize) -> (usize, T, T) {
        let j = self.items.get(t).copied().unwrap_or(0) as usize;
        let c = self.conf.get(t).copied().unwrap_or(T::ZERO);
        let x = match self.pref {
            Some(p) => p.get(t).copied().unwrap_or(T::ZERO),
            None => T::ONE,
        };
        (j, c, x)
    }
}

/// One stored bfloat16 element as `T` (exact).
#[inline(always)]
fn load_bf16<T: Real>(e: u16) -> T {
    T::from_f32(crate::bf16_to_f32(e))
}
