//! Distributed training over MPI (feature `mpi`): `mpirun -np P wmf train
//! --distributed ...`.
//!
//! - **Loading** ([`load`]): each rank reads its byte range of the input, the
//!   ranks agree on the global id mapping (the single-process first-seen
//!   order) and users and items are partitioned into contiguous index ranges
//!   balanced by interaction count; each interaction is sent to the owner of
//!   its user and of its item. No rank holds the whole dataset.
//! - **Training** ([`train()`], [`mod@train`]): the same ALS as [`crate::als`], each rank solving
//!   its own rows with [`crate::als::solve_side`], Gramians summed over fixed
//!   blocks (bit-identical for every `P`), factor blocks all-gathered.
//! - **Determinism**: the mapping, the initial factors
//!   ([`crate::als::init_factors`] on the global `m x n`, drawn identically on
//!   every rank), the per-row solves and the block Gramian sums do not depend on
//!   `P` and are those of single-process `wmf train`, so `P = 1, 2, 4` and
//!   `wmf train` give the same factors (bit-identical in the tests, which
//!   allow 1e-5 relative).
//! - **Failure**: every phase ends with [`Comm::agree`]: when one rank fails
//!   (bad line, I/O, singular row), every rank stops with the lowest failing
//!   rank's message. A rank that dies makes `mpirun` end the job.
//! - **Checkpoints** ([`checkpoint`]): rank 0 writes the model so far
//!   atomically; resuming broadcasts it and continues with the same result as
//!   an uninterrupted run.
//! - **Output**: rank 0 already holds all factors and ids and writes the model
//!   once with [`crate::model_io`]; it loads like any other model.

pub mod checkpoint;
pub mod comm;
pub mod load;
pub mod train;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use comm::Comm;

use crate::als::{IterationReport, Side, init_factors, row_lambdas, validate_config};
use crate::confidence::{confidence_matrix, item_baseline};
use crate::error::Result;
use crate::ids::IdMap;
use crate::io::{LoadOptions, LoadReport};
use crate::model::{Model, TrainConfig};
use train::{DistAls, LocalSide};

/// Checkpointing of a distributed run.
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    /// Directory to write checkpoints to (rank 0).
    pub dir: Option<PathBuf>,
    /// Write one every this many iterations (0: never; the last is always written
    /// when `dir` is set).
    pub every: usize,
    /// Resume from the checkpoint in this directory.
    pub resume: Option<PathBuf>,
}

/// Timing and traffic of a distributed run (the same on every rank, except
/// `bytes_sent_per_iteration` which lists every rank).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunStats {
    /// Number of ranks.
    pub ranks: usize,
    /// Users, items, stored cells.
    pub m: usize,
    /// Items.
    pub n: usize,
    /// Stored cells (after merging duplicates).
    pub nnz: u64,
    /// Seconds to read, map, partition and exchange the input.
    pub load_s: f64,
    /// Seconds per iteration (mean over the iterations run here, loss included).
    pub iteration_s: f64,
    /// Logical bytes each rank sent per iteration (mean), in rank order.
    pub bytes_sent_per_iteration: Vec<u64>,
    /// Distinct item rows the users of each rank touch, in rank order (what a
    /// "touched rows only" exchange would have to deliver for the user half).
    pub items_touched: Vec<u64>,
    /// Distinct user rows the items of each rank touch.
    pub users_touched: Vec<u64>,
    /// Iterations completed before this run (resumed from a checkpoint).
    pub resumed_at: usize,
}

/// The result of [`train()`]: the model on rank 0 (`None` elsewhere), the
/// summed load report and the run's statistics.
#[derive(Debug)]
pub struct Trained {
    /// The model (rank 0 only).
    pub model: Option<Model>,
    /// The load report (summed over ranks).
    pub report: LoadReport,
    /// Timing and traffic.
    pub stats: RunStats,
}

fn confidence_side(c: &crate::sparse::Csr, config: &TrainConfig) -> Result<Side<f32>> {
    Ok(Side::from_csr(&confidence_matrix(c, config.confidence)?))
}

fn distinct_columns(side: &Side<f32>) -> u64 {
    let mut seen = vec![false; side.ncols];
    for &c in &side.indices {
        seen[c as usize] = true;
    }
    seen.iter().filter(|&&s| s).count() as u64
}

fn own_names(ids: &IdMap, range: &std::ops::Range<usize>) -> IdMap {
    let mut m = IdMap::new();
    for name in ids.names().skip(range.start).take(range.len()) {
        let _ = m.get_or_insert(name);
    }
    m
}

/// Trains on `input` across the ranks of `comm`. Collective: every rank calls
/// it with the same arguments. `observer` is called on every rank after each
/// iteration; the loss is evaluated after every `loss_every`-th iteration and
/// the last ([`crate::als::loss_due`]).
///
/// # Errors
/// [`crate::Error::Distributed`] (the same on every rank) for bad input, a bad
/// configuration, a failed row solve or a checkpoint that cannot be written
/// or does not match the run.
pub fn train(
    comm: &Comm,
    input: &Path,
    opts: &LoadOptions,
    config: &TrainConfig,
    ckpt: &CheckpointOptions,
    loss_every: usize,
    observer: &mut dyn FnMut(&IterationReport),
) -> Result<Trained> {
    comm.agree(validate_config(config))?;
    let t0 = Instant::now();
    let data = load::load(comm, input, opts)?;
    let me = comm.rank();
    let (m, n) = (data.user_ids.len(), data.item_ids.len());

    let sides = (|| -> Result<_> {
        let users = confidence_side(&data.users, config)?;
        let items = confidence_side(&data.items, config)?;
        let c0 = item_baseline(config.baseline, &data.item_counts)?;
        Ok((users, items, c0))
    })();
    let (user_side, item_side, c0) = comm.agree(sides)?;
    let nnz = comm.all_gather(user_side.indptr.last().copied().unwrap_or(0));
    let nnz: u64 = nnz.iter().sum();
    let users = LocalSide {
        lambda: row_lambdas(config.lambda, config.reg_scaling, &user_side),
        names: own_names(&data.user_ids, &data.user_ranges[me]),
        ranges: data.user_ranges.clone(),
        side: user_side,
    };
    let items = LocalSide {
        lambda: row_lambdas(config.lambda, config.reg_scaling, &item_side),
        names: own_names(&data.item_ids, &data.item_ranges[me]),
        ranges: data.item_ranges.clone(),
        side: item_side,
    };
    let items_touched = comm.all_gather(distinct_columns(&users.side));
    let users_touched = comm.all_gather(distinct_columns(&items.side));

    let (mut w, mut h) = init_factors::<f32>(m, n, config.k, config.seed);
    let mut done = 0usize;
    if let Some(dir) = &ckpt.resume {
        let state = checkpoint::resume(comm, dir, config, &data.user_ids, &data.item_ids)?;
        (w, h, done) = (state.w, state.h, state.iterations);
    }
    let load_s = t0.elapsed().as_secs_f64();

    let mut als = DistAls::new(comm, users, items, c0, w, h, config)?;
    let start = Instant::now();
    let bytes0 = comm.bytes_sent();
    let iterations = config.iterations;
    for it in done + 1..=iterations {
        let solve_start = Instant::now();
        als.iterate()?;
        let solve_s = solve_start.elapsed().as_secs_f64();
        let loss = crate::als::loss_due(it, iterations, loss_every)
            .then(|| als.loss())
            .transpose()?;
        observer(&IterationReport {
            iteration: it,
            iterations,
            loss,
            elapsed_s: start.elapsed().as_secs_f64(),
            solve_s,
        });
        let last = it == iterations;
        if let Some(dir) = &ckpt.dir
            && ((ckpt.every > 0 && it % ckpt.every == 0) || last)
        {
            checkpoint::write(comm, dir, &als, it, &data.user_ids, &data.item_ids)?;
        }
    }
    let ran = iterations.saturating_sub(done).max(1);
    let per_iter = (comm.bytes_sent() - bytes0) / ran as u64;
    let stats = RunStats {
        ranks: comm.size(),
        m,
        n,
        nnz,
        load_s,
        iteration_s: start.elapsed().as_secs_f64() / ran as f64,
        bytes_sent_per_iteration: comm.all_gather(per_iter),
        items_touched,
        users_touched,
        resumed_at: done,
    };
    let model = (me == 0).then(|| Model {
        config: config.clone(),
        user_factors: std::mem::take(&mut als.w),
        item_factors: std::mem::take(&mut als.h),
        item_c0: als.c0.clone(),
        user_ids: data.user_ids.clone(),
        item_ids: data.item_ids.clone(),
    });
    Ok(Trained {
        model,
        report: data.report,
        stats,
    })
}

/// Saves the model on rank 0 and agrees on the outcome.
///
/// # Errors
/// [`crate::Error::Distributed`] when rank 0 cannot write the file.
pub fn save(comm: &Comm, model: Option<&Model>, path: &Path) -> Result<()> {
    let r = match model {
        Some(m) if comm.rank() == 0 => crate::model_io::save(m, path),
        _ => Ok(()),
    };
    comm.agree(r)
}
