//! `wmf train --distributed` (feature `mpi`) and the hidden helpers the MPI
//! tests and benchmark use: `wmf generate` and `wmf diff-models`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::TrainCmd;

/// Distributed training (its checkpoints use the `--checkpoint`, `--checkpoint-every`
/// and `--resume` flags of `wmf train`).
#[derive(Debug, Args)]
pub(crate) struct DistArgs {
    /// Train across the ranks of an MPI job (run under `mpirun -np P`; needs a
    /// wmf built with `--features mpi`). Each rank reads its share of the input.
    #[arg(long)]
    pub(crate) distributed: bool,
}

/// `wmf generate`: a synthetic interaction file.
#[derive(Debug, Args)]
pub(crate) struct GenerateCmd {
    /// Users.
    #[arg(long, default_value_t = 6_000)]
    users: usize,
    /// Items.
    #[arg(long, default_value_t = 3_000)]
    items: usize,
    /// Target number of interactions.
    #[arg(long, default_value_t = 300_000)]
    interactions: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write a header line.
    #[arg(long)]
    header: bool,
    /// Output file (`user,item,value,timestamp` lines).
    #[arg(long, short = 'o')]
    output: PathBuf,
}

pub(crate) fn generate(c: GenerateCmd) -> Result<()> {
    let cfg = wmf_host::synth::SynthConfig {
        users: c.users,
        items: c.items,
        nnz: c.interactions,
        seed: c.seed,
        ..wmf_host::synth::SynthConfig::default()
    };
    let s = wmf_host::synth::generate(&cfg)?;
    wmf_host::synth::write_triplets(&c.output, &s.data, c.header)
        .with_context(|| format!("writing {}", c.output.display()))?;
    Ok(())
}

/// `wmf diff-models A B`: factor differences, rows matched by id.
#[derive(Debug, Args)]
pub(crate) struct DiffModelsCmd {
    /// First model.
    a: PathBuf,
    /// Second model (the reference).
    b: PathBuf,
    /// Fail when the relative difference `max |a − b| / max |b|` of either
    /// factor matrix exceeds this.
    #[arg(long, default_value_t = 1e-5)]
    tol: f64,
}

/// `max |a_r − b_r| / max |b|` over rows matched by name.
fn rel_diff(
    a: &ndarray::Array2<f32>,
    a_ids: &wmf_host::ids::IdMap,
    b: &ndarray::Array2<f32>,
    b_ids: &wmf_host::ids::IdMap,
    what: &str,
) -> Result<f64> {
    if a.dim() != b.dim() || a_ids.len() != b_ids.len() {
        bail!(
            "{what} factors differ in shape: {:?} vs {:?}",
            a.dim(),
            b.dim()
        );
    }
    let (mut diff, mut scale) = (0f64, 0f64);
    for (i, name) in b_ids.names().enumerate() {
        let Some(j) = a_ids.get(name) else {
            bail!("{what} {name:?} is missing from the first model");
        };
        for (x, y) in a.row(j as usize).iter().zip(b.row(i)) {
            diff = diff.max((f64::from(*x) - f64::from(*y)).abs());
            scale = scale.max(f64::from(*y).abs());
        }
    }
    Ok(if scale > 0.0 { diff / scale } else { diff })
}

pub(crate) fn diff_models(c: DiffModelsCmd) -> Result<()> {
    let a = super::load_model(&c.a)?;
    let b = super::load_model(&c.b)?;
    let du = rel_diff(
        &a.user_factors,
        &a.user_ids,
        &b.user_factors,
        &b.user_ids,
        "user",
    )?;
    let di = rel_diff(
        &a.item_factors,
        &a.item_ids,
        &b.item_factors,
        &b.item_ids,
        "item",
    )?;
    outln!("user factors: max relative difference {du:.3e}");
    outln!("item factors: max relative difference {di:.3e}");
    if du.max(di) > c.tol || du.is_nan() || di.is_nan() {
        bail!("models differ by more than {:.1e}", c.tol);
    }
    Ok(())
}

#[cfg(not(feature = "mpi"))]
pub(crate) fn train_distributed(_c: TrainCmd) -> Result<()> {
    bail!(
        "--distributed needs a wmf built with MPI support: cargo build --release -p wmf-host --features mpi (then run it under mpirun)"
    )
}

#[cfg(feature = "mpi")]
pub(crate) fn train_distributed(c: TrainCmd) -> Result<()> {
    use std::io::Write;
    use wmf_host::distributed::{CheckpointOptions, Comm};

    let mut config = c.train.config()?;
    let opts = c.input.options()?;
    let loss_every = c.out.loss_every()?;
    if c.train.threads.is_none() {
        // Share the cores among the ranks on this node.
        let local = std::env::var("OMPI_COMM_WORLD_LOCAL_SIZE")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        config.threads = (config.threads / local).max(1);
    }
    let Some(universe) = mpi::initialize() else {
        bail!("MPI could not be initialised (already initialised?)");
    };
    let comm = Comm::new(universe.world());
    let rank = comm.rank();
    let ckpt = CheckpointOptions {
        dir: c.ckpt.checkpoint.clone(),
        every: c.ckpt.checkpoint_every,
        resume: c.ckpt.resume.clone(),
    };
    let talk = rank == 0 && !c.out.quiet;
    let json = c.out.json && rank == 0;
    let mut observer = |r: &wmf_host::als::IterationReport| {
        if json {
            if let Ok(line) = serde_json::to_string(r) {
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
        } else if talk {
            let loss = r
                .loss
                .map_or_else(|| "-".to_owned(), |l| format!("{l:.6e}"));
            eprintln!(
                "iteration {}/{} loss {loss} ({:.2} s)",
                r.iteration, r.iterations, r.elapsed_s
            );
        }
    };
    let result = wmf_host::distributed::train(
        &comm,
        &c.input.input,
        &opts,
        &config,
        &ckpt,
        loss_every,
        &mut observer,
    )
    .and_then(|t| {
        wmf_host::distributed::save(&comm, t.model.as_ref(), &c.output)?;
        Ok(t)
    });
    match result {
        Ok(t) => {
            if json {
                outln!(
                    "{}",
                    serde_json::json!({"model": c.output.display().to_string(), "users": t.stats.m, "items": t.stats.n, "k": config.k, "stats": t.stats})
                );
            } else if talk {
                let r = &t.report;
                eprintln!(
                    "{}: {} users, {} items, {} interactions ({} lines, {} below --min-value, {} duplicates summed, {} bad lines skipped)",
                    c.input.input.display(),
                    t.stats.m,
                    t.stats.n,
                    t.stats.nnz,
                    r.lines,
                    r.dropped_by_threshold,
                    r.duplicates_merged,
                    r.skipped
                );
                eprintln!(
                    "trained k = {} on {} ranks in {:.3} s per iteration (load {:.2} s); bytes sent per rank per iteration {:?}",
                    config.k,
                    t.stats.ranks,
                    t.stats.iteration_s,
                    t.stats.load_s,
                    t.stats.bytes_sent_per_iteration
                );
                eprintln!("wrote {}", c.output.display());
            }
            Ok(())
        }
        Err(wmf_host::Error::Distributed {
            rank: failed,
            message,
        }) => {
            // Every rank holds the same message; rank 0 prints it once and
            // exits non-zero, which makes mpirun's exit status non-zero. The
            // other ranks exit with 0: a non-zero exit there lets mpirun abort
            // the job, rank 0 included, possibly before its message is out
            // (seen as a flaky test: the job failed with no message).
            drop(universe);
            if rank == 0 {
                bail!("{message} (rank {failed})");
            }
            std::process::exit(0);
        }
        Err(e) => {
            // Not agreed (should not happen): stop the whole job.
            eprintln!("wmf: error on rank {rank}: {e}");
            comm.abort(1);
        }
    }
}
