//! The distributed ALS iteration.
//!
//! Every rank holds the full factors `W` (`m x k`) and `H` (`n x k`) and
//! solves its own rows. Per half-iteration (users shown; items swap roles):
//!
//! 1. **Gramian.** `G0 = Hᵀ diag(c0) H` as the sum of partial Gramians over
//!    `B = min(64, ⌈n / 1024⌉)` fixed row blocks of `H`
//!    ([`crate::gramian::gram_blocks`]: boundaries depend on `n` only, never on
//!    `P`); block `b` is computed (BLAS) by rank `b mod P`, the `k x k`
//!    partials are all-gathered and every rank sums them in block order, in
//!    `f64`, exactly as single-process training does
//!    ([`crate::gramian::gramian_blocked`]). The sum is therefore bit-identical
//!    for every `P` and to `wmf train`.
//! 2. **Solve.** The rank's users through [`crate::als::solve_side`] (the
//!    kernel's row solvers, the same code path as single-process `wmf train`).
//! 3. **Exchange.** An all-gather-v of the updated row blocks: every rank gets
//!    all of `W` back. (The alternative, sending each rank only the rows its
//!    interactions touch, is measured in BENCHMARKS.md: with power-law
//!    popularity almost every item is touched by every rank's users, so it
//!    would save little and costs an index exchange.)
//!
//! The training loss is each rank's [`crate::loss::loss_terms`] over its own
//! users and items, all-gathered and summed in rank order (`f64`).
//!
//! Communication per iteration and rank (logical bytes sent, `f32`):
//! `4 k (m_r + n_r)(P − 1)` for the factor blocks (`m_r`, `n_r` the rank's
//! rows; ≈ `4 k (m + n)(P − 1)/P` when balanced), plus
//! `3 · 4 k² b_r (P − 1)` for the Gramian blocks (`b_r ≈ B / P` blocks, three
//! Gramians: user half, item half, loss), plus a few words for the loss.

use ndarray::{Array2, ArrayView2, s};
use wmf_kernel::Baseline;

use super::comm::Comm;
use crate::als::{EigenBasis, FixedSide, RowNames, Side, SolvedTurn, eigenbasis_half, solve_side};
use crate::error::{Error, Result};
use crate::gramian::{GramWeights, gram_blocks, gramian_block, sum_gramians};
use crate::ids::IdMap;
use crate::model::TrainConfig;

/// `Fᵀ diag(c) F` as [`crate::gramian::gramian_blocked`] computes it, with block `b` of
/// [`gram_blocks`] computed by rank `b mod P` and the partials all-gathered and
/// summed in block order ([`sum_gramians`]): the same bits for every `P` and
/// as single-process training.
///
/// # Errors
/// As [`gramian_block`] (agreed across ranks).
pub fn gramian(
    comm: &Comm,
    f: ArrayView2<'_, f32>,
    weights: GramWeights<'_, f32>,
) -> Result<Array2<f32>> {
    let (n, k) = f.dim();
    let blocks = gram_blocks(n);
    let (p, me) = (comm.size(), comm.rank());
    let mut mine: Vec<f32> = Vec::new();
    let local = (|| -> Result<()> {
        for (b, rows) in blocks.iter().enumerate() {
            if b % p == me {
                mine.extend(gramian_block(f, rows.clone(), weights)?.iter());
            }
        }
        Ok(())
    })();
    comm.agree(local)?;
    let (all, lens) = comm.all_gather_var(&mine);
    let starts: Vec<usize> = lens
        .iter()
        .scan(0, |a, &l| {
            let s = *a;
            *a += l;
            Some(s)
        })
        .collect();
    let parts = (0..blocks.len()).map(|b| {
        let off = starts[b % p] + (b / p) * k * k;
        &all[off..off + k * k]
    });
    Ok(sum_gramians(parts, k))
}

/// One side of the distributed problem as a rank holds it.
#[derive(Debug)]
pub struct LocalSide {
    /// The rank's rows (columns are global indices of the other side).
    pub side: Side<f32>,
    /// `lambda` per own row.
    pub lambda: Vec<f32>,
    /// Every rank's row range.
    pub ranges: Vec<std::ops::Range<usize>>,
    /// External ids of the own rows (for error messages).
    pub names: IdMap,
}

fn baseline(c0_uniform: Option<f32>, c0: &[f32]) -> Baseline<'_, f32> {
    match c0_uniform {
        Some(c) => Baseline::Uniform(c),
        None => Baseline::PerItem(c0),
    }
}

/// The distributed trainer's state on one rank.
#[derive(Debug)]
pub struct DistAls<'c> {
    comm: &'c Comm,
    /// Own users.
    pub users: LocalSide,
    /// Own items.
    pub items: LocalSide,
    /// `c0_j` of every item.
    pub c0: Vec<f32>,
    /// `Some(c)` when every `c0_j` is `c`.
    pub c0_uniform: Option<f32>,
    /// All user factors (`m x k`).
    pub w: Array2<f32>,
    /// All item factors (`n x k`).
    pub h: Array2<f32>,
    /// The configuration.
    pub config: TrainConfig,
    g0_cache: Option<Array2<f32>>,
    eigen_basis: EigenBasis,
    pool: rayon::ThreadPool,
}

impl<'c> DistAls<'c> {
    /// A trainer from the loaded sides and initial factors.
    ///
    /// # Errors
    /// [`Error::Invalid`] if the thread pool cannot start.
    pub fn new(
        comm: &'c Comm,
        users: LocalSide,
        items: LocalSide,
        c0: Vec<f32>,
        w: Array2<f32>,
        h: Array2<f32>,
        config: &TrainConfig,
    ) -> Result<Self> {
        crate::als::blas_single_threaded();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .build()
            .map_err(|e| Error::invalid("--threads", e.to_string()));
        let pool = comm.agree(pool)?;
        Ok(Self {
            comm,
            users,
            items,
            c0_uniform: crate::confidence::uniform_value(&c0),
            c0,
            w: w.as_standard_layout().into_owned(),
            h: h.as_standard_layout().into_owned(),
            config: config.clone(),
            g0_cache: None,
            eigen_basis: EigenBasis::from_env(),
            pool,
        })
    }

    fn item_weights(&self) -> GramWeights<'_, f32> {
        match self.c0_uniform {
            Some(c) => GramWeights::Uniform(c),
            None => GramWeights::PerRow(&self.c0),
        }
    }

    /// `G0 = Hᵀ diag(c0) H` (cached until `H` changes).
    fn g0(&mut self) -> Result<Array2<f32>> {
        if let Some(g) = &self.g0_cache {
            return Ok(g.clone());
        }
        let g = gramian(self.comm, self.h.view(), self.item_weights())?;
        self.g0_cache = Some(g.clone());
        Ok(g)
    }

    /// Solves the own rows of one side, then all-gathers the blocks into `full`.
    #[allow(clippy::too_many_arguments)]
    fn solve_and_share(
        comm: &Comm,
        pool: &rayon::ThreadPool,
        mine: &LocalSide,
        fixed_factors: ArrayView2<'_, f32>,
        fixed: FixedSide<'_, f32>,
        config: &TrainConfig,
        full: &mut Array2<f32>,
        what: &'static str,
    ) -> Result<()> {
        let me = comm.rank();
        let range = mine.ranges[me].clone();
        let mut block = full.slice(s![range.clone(), ..]).to_owned();
        let solved = pool.install(|| {
            solve_side(
                &mine.side,
                fixed_factors,
                fixed,
                &mine.lambda,
                config.solver,
                config.arith,
                &mut block,
                None,
                RowNames {
                    what,
                    ids: Some(&mine.names),
                },
            )
        });
        comm.agree(solved.map_err(|e| Error::Distributed {
            rank: me,
            message: format!(
                "{e} (index local to rank {me}, whose {what}s start at {what} {})",
                range.start
            ),
        }))?;
        let k = full.ncols();
        let lens: Vec<usize> = mine.ranges.iter().map(|r| r.len() * k).collect();
        let src = block.as_slice().unwrap_or(&[]).to_vec();
        let dst = full
            .as_slice_mut()
            .ok_or_else(|| Error::invalid("factors", "must be in standard layout"))?;
        comm.all_gather_var_into(&src, &lens, dst);
        Ok(())
    }

    /// The user half: own users against all of `H`, then `W` shared.
    ///
    /// # Errors
    /// The agreed error of any rank.
    pub fn user_half(&mut self) -> Result<()> {
        let g0 = self.g0()?;
        // The single process's rule on the global counts, so every rank
        // (and a single-process run) decides alike; the Gramian, hence the
        // basis, is the same on every rank.
        let rows = self.users.ranges[self.comm.rank()].clone();
        let (basis, solver) = (self.eigen_basis, self.config.solver);
        let per_row = self.config.lambda_per_row();
        let (w, h) = (&mut self.w, &mut self.h);
        let turn = SolvedTurn::Now(rows);
        let (g0, moved, _) = self
            .pool
            .install(|| eigenbasis_half(basis, solver, per_row, g0, h, w, turn))?;
        if moved {
            self.g0_cache = None;
        }
        let fixed = FixedSide::Shared {
            g0: g0.as_slice().unwrap_or(&[]),
            c0: baseline(self.c0_uniform, &self.c0),
        };
        Self::solve_and_share(
            self.comm,
            &self.pool,
            &self.users,
            self.h.view(),
            fixed,
            &self.config,
            &mut self.w,
            "user",
        )
    }

    /// The item half: own items against all of `W`, then `H` shared.
    ///
    /// # Errors
    /// The agreed error of any rank.
    pub fn item_half(&mut self) -> Result<()> {
        let me = self.comm.rank();
        let weights = match self.c0_uniform {
            Some(c) => GramWeights::Uniform(c),
            None => GramWeights::Uniform(1.0),
        };
        let mut g = gramian(self.comm, self.w.view(), weights)?;
        if self.c0_uniform.is_some() {
            let rows = self.items.ranges[me].clone();
            let (basis, solver) = (self.eigen_basis, self.config.solver);
            let per_row = self.config.lambda_per_row();
            let (w, h) = (&mut self.w, &mut self.h);
            // H moves with W, if at all; the cache is dropped below anyway.
            let turn = SolvedTurn::Now(rows);
            (g, _, _) = self
                .pool
                .install(|| eigenbasis_half(basis, solver, per_row, g, w, h, turn))?;
        }
        let own_c0 = &self.c0[self.items.ranges[me].clone()];
        let fixed = match self.c0_uniform {
            Some(c) => FixedSide::Shared {
                g0: g.as_slice().unwrap_or(&[]),
                c0: Baseline::Uniform(c),
            },
            None => FixedSide::PerRow {
                gram: g.as_slice().unwrap_or(&[]),
                c0: own_c0,
            },
        };
        let r = Self::solve_and_share(
            self.comm,
            &self.pool,
            &self.items,
            self.w.view(),
            fixed,
            &self.config,
            &mut self.h,
            "item",
        );
        self.g0_cache = None;
        r
    }

    /// One iteration: users, then items.
    ///
    /// # Errors
    /// The agreed error of any rank.
    pub fn iterate(&mut self) -> Result<()> {
        self.user_half()?;
        self.item_half()
    }

    /// The training loss (every rank gets the same value).
    ///
    /// # Errors
    /// The agreed error of any rank.
    pub fn loss(&mut self) -> Result<f64> {
        let g0 = self.g0()?;
        let me = self.comm.rank();
        let (ur, ir) = (self.users.ranges[me].clone(), self.items.ranges[me].clone());
        let Self {
            users,
            items,
            w,
            h,
            c0,
            c0_uniform,
            pool,
            ..
        } = &*self;
        let part = pool.install(|| {
            crate::loss::loss_terms(
                &users.side,
                &users.lambda,
                w.slice(s![ur, ..]),
                h.view(),
                g0.as_slice().unwrap_or(&[]),
                baseline(*c0_uniform, c0),
                &items.lambda,
                h.slice(s![ir, ..]),
            )
        });
        let part = self.comm.agree(part)?;
        Ok(self.comm.all_gather(part).iter().sum())
    }
}
