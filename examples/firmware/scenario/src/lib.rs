//! The on-device scenario, written once and run twice: by the Cortex-M
//! firmware (`examples/firmware/rust`) and by its host reference
//! (`examples/firmware/gen`), both in `f32` through the same `wmf_kernel`
//! calls, so the test can compare the two outputs line by line.
//!
//! 1. [`parse_blob`]: a WMFB model blob (see [`blob`]), magic/version/size and
//!    CRC-32 checked, viewed in place (no copy).
//! 2. Fold-in of one user (the fixed interactions of [`user`]) by conjugate
//!    gradient ([`wmf_kernel::solve_row_cg`], `3k` floats of scratch) with the
//!    first 10, 50 and 100 interactions, and by Cholesky
//!    ([`wmf_kernel::solve_row_cholesky`], `k²` scratch) with all 100, both
//!    through the kernel's const-generic [`wmf_kernel::fixed`] wrappers.
//! 3. Fold-in of the first [`LOW_RANK_N`] interactions by the exact low-rank
//!    solve ([`wmf_kernel::solve_row_low_rank`]: O(n_u² k + k²) per user
//!    instead of the normal equations' O(n_u k² + k³/3)), after the model's
//!    whitening ([`wmf_kernel::whitening_factor`] and
//!    [`wmf_kernel::whiten_rows`]: `L = chol(G0 + λ I)` and `H L⁻ᵀ` in RAM,
//!    O(n k²) once per model).
//! 4. The user's normal equations `A`, `b` ([`wmf_kernel::row_normal_equations`])
//!    and two eALS online updates ([`wmf_kernel::eals_online_update`]) for the
//!    two new interactions of [`new_interactions`], starting from the CG fold-in.
//! 5. The top 10 ([`wmf_kernel::top_n_into`]) excluding every seen item.
//!
//! A [`Probe`] is told when each [`Stage`] begins and ends (the firmware paints
//! the stack and marks instruction counts there); the kernel calls of each
//! stage sit in one `#[inline(never)]` function so their code size can be read
//! off the firmware's symbol table.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod blob;

pub use blob::{BlobError, Model, crc32, parse_blob};
/// The low-rank solve's scratch length, for sizing [`Ram::low_rank`].
pub use wmf_kernel::low_rank_scratch_len;

use core::fmt;
use wmf_kernel::{Baseline, CellUpdate, CgParams, CgReport, Error, Factors, Items, Row, Whitened};

/// Regularisation `λ` of every solve.
pub const LAMBDA: f32 = 1.0;
/// Interactions of the fixed user (the 10- and 50-interaction fold-ins use a prefix).
pub const N_SEEN: usize = 100;
/// Fold-in sizes measured.
pub const FOLD_SIZES: [usize; 3] = [10, 50, N_SEEN];
/// Interactions of the low-rank fold-in (the user's first ones): fewer than
/// every `k` the firmwares are built for, the rows the method is for.
pub const LOW_RANK_N: usize = 10;
/// Length of the recommendation list.
pub const TOP: usize = 10;
/// Coordinate sweeps per online update (He et al. 2016 use one).
pub const UPDATE_SWEEPS: usize = 1;
/// Relative residual at which CG stops early.
pub const CG_TOL: f64 = 1e-6;

/// CG step limit for rank `k`: `k` steps (exact in exact arithmetic).
pub const fn cg_steps(k: usize) -> usize {
    k
}

/// The fixed user's interactions on a model of `n >= 2 + 29 * 99 + 1` items:
/// item `7 + 29 t` with confidence `2 + 4 ((7 t) mod 10)`, `t = 0..100`
/// (strictly ascending, so every prefix is a valid row too).
///
/// # Errors
/// [`BlobError::TooFewItems`] when `n` is too small to hold them.
pub fn user(n: usize) -> Result<([u32; N_SEEN], [f32; N_SEEN]), BlobError> {
    let last = 7 + 29 * (N_SEEN - 1);
    if n <= last + 2 {
        return Err(BlobError::TooFewItems { n, min: last + 3 });
    }
    let mut items = [0u32; N_SEEN];
    let mut conf = [0f32; N_SEEN];
    for t in 0..N_SEEN {
        items[t] = (7 + 29 * t) as u32;
        conf[t] = (2 + 4 * ((7 * t) % 10)) as f32;
    }
    Ok((items, conf))
}

/// The two new interactions applied as online updates, `(item, confidence)`:
/// items `n / 3` and `2 n / 3` moved to the nearest index not already seen.
pub fn new_interactions(n: usize, seen: &[u32]) -> [(u32, f32); 2] {
    let pick = |mut j: usize| {
        while seen.binary_search(&(j as u32)).is_ok() {
            j += 1;
        }
        j as u32
    };
    [(pick(n / 3), 12.0), (pick(2 * n / 3), 30.0)]
}

/// The steps of the scenario, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// CRC-32 of the blob.
    Crc,
    /// Header parse and `Factors`/`Items` validation (O(n k) finiteness scan).
    Validate,
    /// CG fold-in with the first 10 interactions.
    Fold10,
    /// CG fold-in with the first 50 interactions.
    Fold50,
    /// CG fold-in with all 100 interactions.
    Fold100,
    /// Cholesky fold-in with all 100 interactions (`k²` scratch on the stack).
    Cholesky,
    /// The model's whitening for the low-rank solve: `L = chol(G0 + λ I)`
    /// and `H L⁻ᵀ` (O(n k²), once per model and `λ`).
    Whiten,
    /// Low-rank fold-in with the first [`LOW_RANK_N`] interactions.
    LowRank10,
    /// Normal equations `A`, `b` of the 100-interaction row (the update state).
    Normal,
    /// First eALS online update.
    Update1,
    /// Second eALS online update.
    Update2,
    /// Top 10 excluding the 102 seen items.
    TopN,
}

impl Stage {
    /// Every stage, in running order.
    pub const ALL: [Stage; 12] = [
        Stage::Crc,
        Stage::Validate,
        Stage::Fold10,
        Stage::Fold50,
        Stage::Fold100,
        Stage::Cholesky,
        Stage::Whiten,
        Stage::LowRank10,
        Stage::Normal,
        Stage::Update1,
        Stage::Update2,
        Stage::TopN,
    ];

    /// Short lower-case name used in the firmware's output.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Crc => "crc",
            Stage::Validate => "validate",
            Stage::Fold10 => "fold10",
            Stage::Fold50 => "fold50",
            Stage::Fold100 => "fold100",
            Stage::Cholesky => "cholesky",
            Stage::Whiten => "whiten",
            Stage::LowRank10 => "lowrank10",
            Stage::Normal => "normal",
            Stage::Update1 => "update1",
            Stage::Update2 => "update2",
            Stage::TopN => "topn",
        }
    }
}

/// Told when each stage begins and ends. The host reference uses `()`.
pub trait Probe {
    /// Called just before `stage` runs.
    fn begin(&mut self, stage: Stage);
    /// Called just after `stage` ran.
    fn end(&mut self, stage: Stage);
}

impl Probe for () {
    fn begin(&mut self, _: Stage) {}
    fn end(&mut self, _: Stage) {}
}

/// What went wrong, and in which stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScenarioError {
    /// The blob is malformed.
    Blob(BlobError),
    /// A kernel call failed.
    Kernel {
        /// Where.
        stage: Stage,
        /// What.
        error: Error,
    },
    /// The low-rank solve declined the user's row (a cell with a confidence
    /// below its item's `c0`, or more than `MAX_K` cells); the scenario's
    /// row is chosen so that it never should.
    Declined {
        /// Where.
        stage: Stage,
    },
    /// A buffer in [`Ram`] is too short for the model.
    Ram {
        /// Which buffer.
        what: &'static str,
        /// Elements it needs.
        needed: usize,
        /// Elements it has.
        actual: usize,
    },
    /// The firmware was built for another `k`.
    RankMismatch {
        /// `k` of this build.
        expected: usize,
        /// `k` in the blob.
        actual: usize,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Blob(e) => write!(f, "model blob: {e}"),
            ScenarioError::Kernel { stage, error } => write!(f, "stage {}: {error}", stage.name()),
            ScenarioError::Declined { stage } => write!(
                f,
                "stage {}: the low-rank solve declined the row (a confidence below c0, or more than MAX_K cells)",
                stage.name()
            ),
            ScenarioError::Ram {
                what,
                needed,
                actual,
            } => write!(
                f,
                "RAM buffer {what}: {actual} floats, the model needs {needed}"
            ),
            ScenarioError::RankMismatch { expected, actual } => {
                write!(f, "built for k = {expected}, blob has k = {actual}")
            }
        }
    }
}

impl From<BlobError> for ScenarioError {
    fn from(e: BlobError) -> Self {
        ScenarioError::Blob(e)
    }
}

/// Everything the scenario prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs<const K: usize> {
    /// Items in the model.
    pub n: usize,
    /// CG fold-ins with 10, 50 and 100 interactions.
    pub fold: [[f32; K]; 3],
    /// CG steps taken by each fold-in.
    pub cg_steps: [usize; 3],
    /// Cholesky fold-in with 100 interactions.
    pub cholesky: [f32; K],
    /// Low-rank fold-in with the first [`LOW_RANK_N`] interactions.
    pub low_rank: [f32; K],
    /// The user after the first and the second online update.
    pub updated: [[f32; K]; 2],
    /// The two new interactions `(item, confidence)`.
    pub new: [(u32, f32); 2],
    /// Top items, best first (`top_len` valid).
    pub top_items: [u32; TOP],
    /// Their scores.
    pub top_scores: [f32; TOP],
    /// How many of `top_items` are valid.
    pub top_len: usize,
}

// One function per stage, never inlined, so `nm --size-sort` on the firmware
// shows the code each stage pulls in from the kernel.

/// Stage `Validate`: the kernel's views of the model.
#[inline(never)]
pub fn stage_validate<'a>(m: &Model<'a>) -> Result<Items<'a, f32>, Error> {
    let h = Factors::new(m.h, m.n, m.k)?;
    Items::new(h, m.g0, Baseline::PerItem(m.c0))
}

/// Stages `Fold*`: CG fold-in from a zero start; the `3K` floats of CG
/// scratch live in this frame, so the stage's measured stack includes them.
#[inline(never)]
pub fn stage_fold_cg<const K: usize>(
    items: &Items<'_, f32>,
    row: &Row<'_, f32>,
    x: &mut [f32; K],
) -> Result<CgReport, Error> {
    *x = [0.0; K];
    let params = CgParams {
        steps: cg_steps(K),
        tol: CG_TOL,
    };
    wmf_kernel::fixed::solve_row_cg::<f32, K>(items, row, LAMBDA, x, params)
}

/// Stage `Cholesky`: exact fold-in with its `K x K` matrix on this stack
/// (for comparison with CG: `4 K²` bytes, 4 KiB at `K = 32`).
#[inline(never)]
pub fn stage_fold_cholesky<const K: usize>(
    items: &Items<'_, f32>,
    row: &Row<'_, f32>,
) -> Result<[f32; K], Error> {
    wmf_kernel::fixed::solve_row_cholesky::<f32, K>(items, row, LAMBDA)
}

/// Stage `Whiten`: `l = L` with `L Lᵀ = G0 + λ I`, and `hw = H L⁻ᵀ` (the
/// model's item factors copied from flash and whitened in RAM).
#[inline(never)]
pub fn stage_whiten<'a, 'm: 'a>(
    items: &Items<'m, f32>,
    l: &'a mut [f32],
    hw: &'a mut [f32],
) -> Result<Whitened<'a, f32>, Error> {
    let (n, k) = (items.n(), items.k());
    wmf_kernel::whitening_factor(items.gramian(), LAMBDA, k, l)?;
    hw.copy_from_slice(items.factors().as_slice());
    wmf_kernel::whiten_rows(l, k, hw)?;
    Whitened::new(Factors::new(hw, n, k)?, l, *items.baseline())
}

/// Stage `LowRank10`: exact fold-in of a short row through the whitened
/// model (`scratch`: [`low_rank_scratch_len`]`(row.len(), K)`); `Ok(false)`
/// when the method declines the row.
#[inline(never)]
pub fn stage_fold_low_rank<const K: usize>(
    w: &Whitened<'_, f32>,
    row: &Row<'_, f32>,
    scratch: &mut [f32],
    x: &mut [f32; K],
) -> Result<bool, Error> {
    wmf_kernel::solve_row_low_rank(w, row, scratch, x)
}

/// Stage `Normal`: the cached normal equations an online update starts from.
#[inline(never)]
pub fn stage_normal(
    items: &Items<'_, f32>,
    row: &Row<'_, f32>,
    a: &mut [f32],
    b: &mut [f32],
) -> Result<(), Error> {
    wmf_kernel::row_normal_equations(items, row, LAMBDA, a, b)
}

/// Stages `Update*`: one eALS online update for a new interaction.
#[inline(never)]
pub fn stage_update(
    items: &Items<'_, f32>,
    (item, conf): (u32, f32),
    a: &mut [f32],
    b: &mut [f32],
    w: &mut [f32],
) -> Result<(), Error> {
    let j = item as usize;
    let h_i = items.factors().row(j);
    let c0 = items.baseline().at(j);
    let k = items.k();
    wmf_kernel::eals_online_update(
        a,
        b,
        w,
        k,
        h_i,
        CellUpdate::new_interaction(conf, c0),
        UPDATE_SWEEPS,
    )
}

/// Stage `TopN`: the best items not in `exclude`.
#[inline(never)]
pub fn stage_top_n(
    items: &Items<'_, f32>,
    w: &[f32],
    exclude: &[u32],
    out_items: &mut [u32],
    out_scores: &mut [f32],
) -> Result<usize, Error> {
    wmf_kernel::top_n_into(items.factors(), w, exclude, out_items, out_scores)
}

/// The scenario's working memory, passed in so a firmware can keep it in
/// static RAM rather than on the stack.
#[derive(Debug)]
pub struct Ram<'a> {
    /// The user's normal equations `A` (`K²`) between online updates: the
    /// per-user state a device keeps.
    pub a: &'a mut [f32],
    /// Their right-hand side `b` (`K`).
    pub b: &'a mut [f32],
    /// The whitening factor `L` (`K²`).
    pub l: &'a mut [f32],
    /// The whitened item factors `H L⁻ᵀ`: at least `n K` for a model of `n`
    /// items (only the first `n K` are used).
    pub hw: &'a mut [f32],
    /// The low-rank solve's scratch: at least
    /// [`low_rank_scratch_len`]`(`[`LOW_RANK_N`]`, K)`.
    pub low_rank: &'a mut [f32],
}

/// `buf[..needed]`, or the error naming the buffer.
fn prefix<'b>(
    buf: &'b mut [f32],
    needed: usize,
    what: &'static str,
) -> Result<&'b mut [f32], ScenarioError> {
    let actual = buf.len();
    buf.get_mut(..needed).ok_or(ScenarioError::Ram {
        what,
        needed,
        actual,
    })
}

/// Runs the whole scenario on `blob` for rank `K` in `ram`.
///
/// # Errors
/// The first failure, naming the stage.
pub fn run<const K: usize>(
    blob: &[u8],
    ram: Ram<'_>,
    probe: &mut impl Probe,
) -> Result<Outputs<K>, ScenarioError> {
    let Ram {
        a,
        b,
        l,
        hw,
        low_rank,
    } = ram;
    let kern = |stage| move |error| ScenarioError::Kernel { stage, error };

    probe.begin(Stage::Crc);
    let crc = blob::check_crc(blob);
    probe.end(Stage::Crc);
    crc?;

    probe.begin(Stage::Validate);
    let model = parse_blob(blob).map_err(ScenarioError::from);
    let items = model.and_then(|m| {
        if m.k != K {
            return Err(ScenarioError::RankMismatch {
                expected: K,
                actual: m.k,
            });
        }
        stage_validate(&m).map_err(kern(Stage::Validate))
    });
    probe.end(Stage::Validate);
    let items = items?;
    let n = items.n();

    let (seen, conf) = user(n)?;
    let mut out = Outputs {
        n,
        fold: [[0.0; K]; 3],
        cg_steps: [0; 3],
        cholesky: [0.0; K],
        low_rank: [0.0; K],
        updated: [[0.0; K]; 2],
        new: new_interactions(n, &seen),
        top_items: [0; TOP],
        top_scores: [0.0; TOP],
        top_len: 0,
    };

    for (i, &nu) in FOLD_SIZES.iter().enumerate() {
        let stage = [Stage::Fold10, Stage::Fold50, Stage::Fold100][i];
        let row = Row::implicit(&seen[..nu], &conf[..nu]);
        probe.begin(stage);
        let r = stage_fold_cg::<K>(&items, &row, &mut out.fold[i]);
        probe.end(stage);
        out.cg_steps[i] = r.map_err(kern(stage))?.steps;
    }
    let row = Row::implicit(&seen, &conf);

    probe.begin(Stage::Cholesky);
    let r = stage_fold_cholesky::<K>(&items, &row);
    probe.end(Stage::Cholesky);
    out.cholesky = r.map_err(kern(Stage::Cholesky))?;

    let l = prefix(l, K * K, "l")?;
    let hw = prefix(hw, n * K, "hw")?;
    let scratch = prefix(low_rank, low_rank_scratch_len(LOW_RANK_N, K), "low_rank")?;
    probe.begin(Stage::Whiten);
    let w = stage_whiten(&items, l, hw);
    probe.end(Stage::Whiten);
    let w = w.map_err(kern(Stage::Whiten))?;

    let short = Row::implicit(&seen[..LOW_RANK_N], &conf[..LOW_RANK_N]);
    probe.begin(Stage::LowRank10);
    let r = stage_fold_low_rank::<K>(&w, &short, scratch, &mut out.low_rank);
    probe.end(Stage::LowRank10);
    if !r.map_err(kern(Stage::LowRank10))? {
        return Err(ScenarioError::Declined {
            stage: Stage::LowRank10,
        });
    }

    probe.begin(Stage::Normal);
    let r = stage_normal(&items, &row, a, b);
    probe.end(Stage::Normal);
    r.map_err(kern(Stage::Normal))?;

    let mut w = out.fold[2];
    for (i, stage) in [Stage::Update1, Stage::Update2].into_iter().enumerate() {
        probe.begin(stage);
        let r = stage_update(&items, out.new[i], a, b, &mut w);
        probe.end(stage);
        r.map_err(kern(stage))?;
        out.updated[i] = w;
    }

    // Seen items plus the two new ones, strictly ascending.
    let mut exclude = [0u32; N_SEEN + 2];
    exclude[..N_SEEN].copy_from_slice(&seen);
    exclude[N_SEEN] = out.new[0].0;
    exclude[N_SEEN + 1] = out.new[1].0;
    exclude.sort_unstable();

    probe.begin(Stage::TopN);
    let r = stage_top_n(
        &items,
        &w,
        &exclude,
        &mut out.top_items,
        &mut out.top_scores,
    );
    probe.end(Stage::TopN);
    out.top_len = r.map_err(kern(Stage::TopN))?;
    Ok(out)
}

/// Writes `v` as space-separated IEEE-754 bit patterns (`%08x`), exact and
/// cheap to print without float formatting.
fn write_vec(w: &mut impl fmt::Write, tag: &str, v: &[f32]) -> fmt::Result {
    w.write_str(tag)?;
    for x in v {
        write!(w, " {:08x}", x.to_bits())?;
    }
    w.write_str("\n")
}

impl<const K: usize> Outputs<K> {
    /// The parseable report both sides print (and `gen compare` reads):
    ///
    /// ```text
    /// MODEL n=<n> k=<k>
    /// CG <steps10> <steps50> <steps100>
    /// FOLD10 <k hex f32> / FOLD50 / FOLD100 / CHOL / LOWRANK10 / UPD1 / UPD2
    /// NEW <item>:<conf hex> <item>:<conf hex>
    /// TOP <item>:<score hex> ... (best first)
    /// ```
    ///
    /// # Errors
    /// Whatever the writer returns.
    pub fn write_report(&self, w: &mut impl fmt::Write) -> fmt::Result {
        writeln!(w, "MODEL n={} k={}", self.n, K)?;
        writeln!(
            w,
            "CG {} {} {}",
            self.cg_steps[0], self.cg_steps[1], self.cg_steps[2]
        )?;
        write_vec(w, "FOLD10", &self.fold[0])?;
        write_vec(w, "FOLD50", &self.fold[1])?;
        write_vec(w, "FOLD100", &self.fold[2])?;
        write_vec(w, "CHOL", &self.cholesky)?;
        write_vec(w, "LOWRANK10", &self.low_rank)?;
        write_vec(w, "UPD1", &self.updated[0])?;
        write_vec(w, "UPD2", &self.updated[1])?;
        writeln!(
            w,
            "NEW {}:{:08x} {}:{:08x}",
            self.new[0].0,
            self.new[0].1.to_bits(),
            self.new[1].0,
            self.new[1].1.to_bits()
        )?;
        w.write_str("TOP")?;
        for t in 0..self.top_len {
            write!(
                w,
                " {}:{:08x}",
                self.top_items[t],
                self.top_scores[t].to_bits()
            )?;
        }
        w.write_str("\n")
    }
}
