//! The `wmf` command line: train, evaluate, recommend, fold in, export and
//! check weighted matrix factorisation models of implicit feedback.
//!
//! `main` calls [`run`]; an error is printed once, with its context chain,
//! and the process exits non-zero. Arguments are turned into a validated
//! configuration before any work starts.

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ndarray::Array2;
use wmf_host::als::{Als, Problem, validate_config};
use wmf_host::checkpoint::Checkpoint;
use wmf_host::data::Dataset;
use wmf_host::io::{Format, LoadOptions, LoadReport};
use wmf_host::recommend::Scored;
use wmf_host::{
    Arith, BaselineWeight, CgRows, Confidence, Csr, Model, RegScaling, Solver, TrainConfig,
};

/// `println!` that returns an error instead of panicking when standard
/// output fails: a reader that closed it (`wmf ... | head`) becomes
/// [`StdoutClosed`], which `main` ends on quietly.
macro_rules! outln {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(
            &mut std::io::stdout().lock(),
            format_args!("{}\n", format_args!($($arg)*)),
        )
        .map_err($crate::stdout_error)?
    };
}

mod dist_cli;

/// Standard output was closed by its reader (`wmf recommend --all | head`):
/// not a failure of wmf's, so `main` exits with success and no message.
/// Only writes to standard output are mapped to it; a closed pipe that a
/// model or other file goes to stays an error.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// An error writing to standard output: [`StdoutClosed`] for a closed pipe,
/// otherwise the error with that context.
fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        anyhow::Error::new(e).context("writing to standard output")
    }
}

/// [`stdout_error`] for a result whose error may carry an `io::Error` from a
/// writer over standard output.
fn on_stdout<T>(r: Result<T>) -> Result<T> {
    r.map_err(|e| match e.downcast::<std::io::Error>() {
        Ok(io) => stdout_error(io),
        Err(e) => e,
    })
}

/// Large blocks (factor matrices, gathered rows) start on a cache line; see
/// [`wmf_host::alloc`].
#[global_allocator]
static ALLOC: wmf_host::alloc::CacheLineAlloc = wmf_host::alloc::CacheLineAlloc;

/// Weighted matrix factorisation of implicit feedback (ALS with Cholesky, CG or eALS row solvers).
#[derive(Debug, Parser)]
#[command(name = "wmf", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on an interaction file and save it.
    Train(TrainCmd),
    /// Split a file into train/test, train, and report ranking metrics against popularity.
    Eval(EvalCmd),
    /// Top-N items for users of a trained model.
    Recommend(RecommendCmd),
    /// Most similar items (or users) by cosine similarity of their factors.
    Similar(SimilarCmd),
    /// Factor and top-N items for a new user from their interactions.
    FoldIn(FoldInCmd),
    /// Export a model's factors (.npy), or its item side as a WMFB blob or C header.
    Export(ExportCmd),
    /// Finite-difference check of the dense and implicit gradients on a random problem.
    Gradcheck(GradcheckCmd),
    /// Generate a synthetic dataset, split, train, evaluate and report against popularity.
    Demo(DemoCmd),
    /// Write a synthetic interaction file (power-law popularity, planted taste).
    Generate(dist_cli::GenerateCmd),
    /// Generate a synthetic dataset, split it, and write train/test files (ids are indices).
    GenerateSplit(GenerateSplitCmd),
    /// Ranking metrics of given factors (.npy, e.g. from another library) on train/test files.
    EvalFactors(EvalFactorsCmd),
    /// Compare the factors of two models, matching rows by id (for tests).
    #[command(hide = true)]
    DiffModels(dist_cli::DiffModelsCmd),
    /// What this machine runs wmf on: the CPU's vector level, the solver loops and the BLAS kernels chosen.
    Info(InfoCmd),
}

/// Where interactions come from.
#[derive(Debug, Args)]
struct InputArgs {
    /// Interaction file: `user,item[,value[,timestamp]]` (comma, tab or whitespace), MovieLens, or .mtx.
    input: PathBuf,
    /// Input format: auto, triplets, movielens-data, movielens-csv, mtx.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Keep only interactions with value >= this (threshold explicit ratings).
    #[arg(long, allow_negative_numbers = true)]
    min_value: Option<f32>,
    /// Skip malformed lines (and report how many) instead of stopping at the first.
    #[arg(long)]
    skip_bad_lines: bool,
    /// Refuse more than N distinct user (or item) ids, before their memory is
    /// spent (default: 4294967295, the u32 index limit).
    #[arg(long, value_name = "N")]
    max_ids: Option<usize>,
}

impl InputArgs {
    fn options(&self) -> Result<LoadOptions> {
        let format: Format = self.format.parse()?;
        if let Some(v) = self.min_value
            && !v.is_finite()
        {
            bail!("invalid --min-value: {v} is not finite");
        }
        Ok(LoadOptions {
            format,
            min_value: self.min_value,
            skip_bad_lines: self.skip_bad_lines,
            threads: 0,
        })
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ConfidenceArg {
    /// c = 1 + alpha r
    Linear,
    /// c = 1 + alpha ln(1 + r / eps)
    Log,
    /// c = r
    AsIs,
}

/// `--arith`: how the row solves round their multiply-adds.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ArithArg {
    /// Fused multiply-adds in the solvers' hot loops (one rounding each).
    Fused,
    /// Products and sums rounded separately: the kernel's, the C library's
    /// and the firmware's bits.
    Separate,
}

/// `--cg-rows`: how the CG passes store the fixed side's rows.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum CgRowsArg {
    /// As they are (32-bit floats).
    F32,
    /// Rounded to bfloat16: half the bytes, 8 significant bits.
    Bf16,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SolverArg {
    /// Exact ALS (Cholesky per row).
    Cholesky,
    /// Conjugate gradient, warm-started.
    Cg,
    /// Element-wise ALS (coordinate sweeps).
    Eals,
}

/// Model and training hyper-parameters.
#[derive(Debug, Args)]
struct TrainOpts {
    /// Number of latent factors (1..=256).
    #[arg(short = 'k', long = "factors", default_value_t = 64)]
    k: usize,
    /// ALS iterations (each solves users, then items).
    #[arg(long, default_value_t = 15)]
    iterations: usize,
    /// Regularisation lambda >= 0.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    lambda: f32,
    /// Scale lambda per row by (1 + n_row)^NU (frequency-scaled regularisation).
    #[arg(long, value_name = "NU", allow_negative_numbers = true)]
    reg_scaling: Option<f32>,
    /// How a stored value r becomes a confidence.
    #[arg(long, value_enum, default_value = "linear")]
    confidence: ConfidenceArg,
    /// Confidence scale alpha >= 0.
    #[arg(long, default_value_t = 40.0, allow_negative_numbers = true)]
    alpha: f32,
    /// Value scale eps > 0 of the log confidence.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    eps: f32,
    /// Weight c0 of unobserved cells (total weight with --popularity-beta).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    c0: f32,
    /// Per-item weights c0_j = c0 f_j^BETA / sum f^BETA (eALS popularity weighting).
    #[arg(long, value_name = "BETA", allow_negative_numbers = true)]
    popularity_beta: Option<f32>,
    /// Row solver.
    #[arg(long, value_enum, default_value = "cg")]
    solver: SolverArg,
    /// CG steps per row per half-iteration.
    #[arg(long, default_value_t = 3)]
    cg_steps: usize,
    /// How the CG passes store the fixed side's rows: f32, or bf16 (half the
    /// bytes, 8 significant bits; faster when the fixed side outgrows the
    /// cache, e.g. many users at k = 128). CG only.
    #[arg(long, value_enum, default_value = "f32")]
    cg_rows: CgRowsArg,
    /// eALS sweeps per row per half-iteration.
    #[arg(long, default_value_t = 1)]
    eals_sweeps: usize,
    /// How the row solves round their multiply-adds: fused (one rounding,
    /// one instruction on CPUs with FMA; the same bits on every host) or
    /// separate (the kernel's, the C library's and the firmware's bits;
    /// faster on x86-64 CPUs without FMA). CG and Cholesky.
    #[arg(long, value_enum, default_value = "fused")]
    arith: ArithArg,
    /// Seed of the factor initialisation.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worker threads for reading the input and for training (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

impl TrainOpts {
    fn config(&self) -> Result<TrainConfig> {
        if matches!(self.cg_rows, CgRowsArg::Bf16) && !matches!(self.solver, SolverArg::Cg) {
            bail!("invalid --cg-rows: bf16 applies to --solver cg only");
        }
        let threads = match self.threads {
            Some(t) => t,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let config = TrainConfig {
            k: self.k,
            iterations: self.iterations,
            lambda: self.lambda,
            reg_scaling: match self.reg_scaling {
                None => RegScaling::None,
                Some(nu) => RegScaling::Frequency { nu },
            },
            confidence: match self.confidence {
                ConfidenceArg::Linear => Confidence::Linear { alpha: self.alpha },
                ConfidenceArg::Log => Confidence::Log {
                    alpha: self.alpha,
                    eps: self.eps,
                },
                ConfidenceArg::AsIs => Confidence::AsIs,
            },
            baseline: match self.popularity_beta {
                None => BaselineWeight::Uniform { c0: self.c0 },
                Some(beta) => BaselineWeight::Popularity { c0: self.c0, beta },
            },
            solver: match self.solver {
                SolverArg::Cholesky => Solver::Cholesky,
                SolverArg::Cg => Solver::Cg {
                    steps: self.cg_steps,
                    rows: match self.cg_rows {
                        CgRowsArg::F32 => CgRows::F32,
                        CgRowsArg::Bf16 => CgRows::Bf16,
                    },
                },
                SolverArg::Eals => Solver::Eals {
                    sweeps: self.eals_sweeps,
                },
            },
            seed: self.seed,
            threads,
            arith: match self.arith {
                ArithArg::Fused => Arith::Fused,
                ArithArg::Separate => Arith::Separate,
            },
        };
        validate_config(&config)?;
        Ok(config)
    }
}

/// How progress is shown.
#[derive(Debug, Args)]
struct OutputOpts {
    /// No progress or summaries on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// JSON lines on stdout (one per iteration, then a summary).
    #[arg(long)]
    json: bool,
    /// Evaluate the training loss after every N-th iteration and after the
    /// last, not after each (it costs about one CG pass over the data and
    /// never changes the model; skipped iterations report `"loss": null`)
    #[arg(long, value_name = "N", default_value_t = 1)]
    loss_every: usize,
}

impl OutputOpts {
    /// `--loss-every`, checked.
    fn loss_every(&self) -> Result<usize> {
        if self.loss_every == 0 {
            bail!("invalid --loss-every: must be at least 1");
        }
        Ok(self.loss_every)
    }
}

#[derive(Debug, Args)]
struct TrainCmd {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    train: TrainOpts,
    /// Model file to write (atomically).
    #[arg(long, short = 'o', default_value = "model.wmf")]
    output: PathBuf,
    #[command(flatten)]
    ckpt: CheckpointOpts,
    #[command(flatten)]
    out: OutputOpts,
    #[command(flatten)]
    dist: dist_cli::DistArgs,
}

/// Crash-safe training: checkpoints and resuming.
#[derive(Debug, Args)]
struct CheckpointOpts {
    /// Write a checkpoint to DIR (atomically) every --checkpoint-every
    /// iterations and when interrupted with Ctrl-C.
    #[arg(long, value_name = "DIR")]
    checkpoint: Option<PathBuf>,
    /// Iterations between checkpoints.
    #[arg(long, value_name = "N", default_value_t = 1)]
    checkpoint_every: usize,
    /// Continue the run checkpointed in DIR: same input and options
    /// (--iterations may grow, --threads may change); the result is the model
    /// an uninterrupted run produces. Checkpoints keep going to DIR unless
    /// --checkpoint names another directory.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SplitArg {
    /// A random fraction of each user's interactions.
    Holdout,
    /// One random interaction per user.
    LeaveOneOut,
    /// The latest interaction per user (needs timestamps).
    LeaveLatest,
    /// The latest fraction of each user's interactions (needs timestamps).
    Time,
    /// Everything after a global time cutoff (needs timestamps).
    TimeCutoff,
}

/// How to split for evaluation.
#[derive(Debug, Args)]
struct SplitOpts {
    /// Split strategy.
    #[arg(long, value_enum, default_value = "holdout")]
    split: SplitArg,
    /// Test fraction for holdout / time splits.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of the split.
    #[arg(long, default_value_t = 1)]
    split_seed: u64,
    /// Cut-off k of the metrics (@k).
    #[arg(long = "at", default_value_t = 10)]
    at: usize,
}

impl SplitOpts {
    fn split(&self) -> Result<wmf_host::split::Split> {
        use wmf_host::split::Split;
        let f = self.test_fraction;
        if !(f.is_finite() && f > 0.0 && f < 1.0) {
            bail!("invalid --test-fraction: {f} (must be strictly between 0 and 1)");
        }
        if self.at == 0 {
            bail!("invalid --at: must be at least 1");
        }
        Ok(match self.split {
            SplitArg::Holdout => Split::Holdout { fraction: f },
            SplitArg::LeaveOneOut => Split::LeaveOneOut { latest: false },
            SplitArg::LeaveLatest => Split::LeaveOneOut { latest: true },
            SplitArg::Time => Split::TimePerUser { fraction: f },
            SplitArg::TimeCutoff => Split::TimeCutoff { fraction: f },
        })
    }
}

#[derive(Debug, Args)]
struct EvalCmd {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    split: SplitOpts,
    #[command(flatten)]
    train: TrainOpts,
    #[command(flatten)]
    out: OutputOpts,
}

#[derive(Debug, Args)]
struct RecommendCmd {
    /// Model file.
    #[arg(long, short = 'm')]
    model: PathBuf,
    /// User id (repeatable).
    #[arg(long = "user")]
    users: Vec<String>,
    /// File with one user id per line.
    #[arg(long = "users")]
    users_file: Option<PathBuf>,
    /// Every user of the model.
    #[arg(long)]
    all: bool,
    /// Number of items per user.
    #[arg(short = 'n', long = "count", default_value_t = 10)]
    n: usize,
    /// Interactions (the training file) whose items are excluded as seen.
    #[arg(long)]
    seen: Option<PathBuf>,
    /// Format of --seen.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Do not exclude seen items (then --seen is not needed).
    #[arg(long)]
    include_seen: bool,
    /// Users whose recommendations are computed before they are written
    /// (memory O(batch · n) for the results; scoring itself runs in blocks
    /// of about 4 MiB of scores per thread).
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Output JSON lines instead of `user<TAB>rank<TAB>item<TAB>score`.
    #[arg(long)]
    json: bool,
    /// Print a JSON line of timings to stderr: `model_s` (loading the
    /// model), `seen_s` (loading --seen), `recommend_s` (scoring, excluding
    /// seen items and ranking, in process), `write_s` (formatting and
    /// writing the output).
    #[arg(long)]
    timings: bool,
}

#[derive(Debug, Args)]
struct SimilarCmd {
    /// Model file.
    #[arg(long, short = 'm')]
    model: PathBuf,
    /// Item id to find neighbours of.
    #[arg(long, conflicts_with = "user", required_unless_present = "user")]
    item: Option<String>,
    /// User id to find neighbours of.
    #[arg(long)]
    user: Option<String>,
    /// Number of neighbours.
    #[arg(short = 'n', long = "count", default_value_t = 10)]
    n: usize,
}

#[derive(Debug, Args)]
struct FoldInCmd {
    /// Model file.
    #[arg(long, short = 'm')]
    model: PathBuf,
    /// The new user's interactions: one `item[,value]` per line (value 1 when absent).
    interactions: PathBuf,
    /// Number of recommendations.
    #[arg(short = 'n', long = "count", default_value_t = 10)]
    n: usize,
    /// Row solver (default: the model's).
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
    /// Print the factor vector too.
    #[arg(long)]
    print_vector: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// `user_factors.npy`, `item_factors.npy` (+ id lists) in the output directory.
    Npy,
    /// The item side as a WMFB little-endian blob.
    Blob,
    /// The item side as a C header.
    CHeader,
}

#[derive(Debug, Args)]
struct ExportCmd {
    /// Model file.
    #[arg(long, short = 'm')]
    model: PathBuf,
    /// What to write.
    #[arg(long = "to", value_enum)]
    to: ExportFormat,
    /// Output file (blob, c-header) or directory (npy).
    #[arg(long, short = 'o')]
    output: PathBuf,
    /// Write the factors in the eigenbasis of the item Gramian `G0 = Hᵀ
    /// diag(c0) H` (for npy both sides, for blob and c-header the items,
    /// with `G0` then diagonal): the same model `W Hᵀ` to rounding, and a
    /// device's CG fold-in skips its `k x k` product per step.
    #[arg(long)]
    eigenbasis: bool,
}

#[derive(Debug, Args)]
struct InfoCmd {
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GradcheckCmd {
    /// Users of the random problem.
    #[arg(long, default_value_t = 6)]
    m: usize,
    /// Items of the random problem.
    #[arg(long, default_value_t = 9)]
    n: usize,
    /// Factors.
    #[arg(short = 'k', long = "factors", default_value_t = 3)]
    k: usize,
    /// Regularisation.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    lambda: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Largest accepted relative error.
    #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true)]
    tolerance: f64,
}

#[derive(Debug, Args)]
struct DemoCmd {
    /// Users of the synthetic dataset.
    #[arg(long, default_value_t = 6_000)]
    users: usize,
    /// Items of the synthetic dataset.
    #[arg(long, default_value_t = 3_000)]
    items: usize,
    /// Target number of interactions.
    #[arg(long, default_value_t = 300_000)]
    interactions: usize,
    /// Strength of the planted taste (0: none).
    #[arg(long, default_value_t = 4.0)]
    taste_strength: f64,
    /// Exponent of the item-popularity power law.
    #[arg(long, default_value_t = 0.8)]
    popularity_exponent: f64,
    /// Seed of the data, the split and the model.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Factors.
    #[arg(short = 'k', long = "factors", default_value_t = 10)]
    k: usize,
    /// ALS iterations.
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    /// Regularisation lambda.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    lambda: f32,
    /// Confidence scale alpha (c = 1 + alpha r).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    alpha: f32,
    /// Row solver.
    #[arg(long, value_enum, default_value = "cg")]
    solver: SolverArg,
    /// Cut-off k of the metrics (@k).
    #[arg(long = "at", default_value_t = 10)]
    at: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    out: OutputOpts,
}

fn main() -> ExitCode {
    // First, before any thread or output exists: a BLAS that fell back to
    // kernels older than the CPU gets this program run again with the
    // right ones (wmf_host::blas). Returns only when nothing was to be done
    // or the exec failed.
    if let Err(e) = wmf_host::blas::retarget() {
        eprintln!(
            "wmf: warning: OpenBLAS runs its {} kernels on this CPU and wmf could not run again with {} set: {e}",
            wmf_host::blas::core_name(),
            wmf_host::blas::CORETYPE_VAR
        );
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<StdoutClosed>().is_some() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wmf: error: {}", error_chain(&e));
            if e.downcast_ref::<Interrupted>().is_some() {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes joined by ": ", skipping a cause whose message the
/// previous one already contains (the library's errors print their source).
fn error_chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if parts.last().is_some_and(|p| p.contains(&s)) {
            continue;
        }
        parts.push(s);
    }
    parts.join(": ")
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(c) => train(c),
        Command::Eval(c) => eval(c),
        Command::Recommend(c) => recommend(c),
        Command::Similar(c) => similar(c),
        Command::FoldIn(c) => fold_in(c),
        Command::Export(c) => export(c),
        Command::Gradcheck(c) => gradcheck(c),
        Command::Info(c) => info(c),
        Command::Demo(c) => demo(c),
        Command::Generate(c) => dist_cli::generate(c),
        Command::GenerateSplit(c) => generate_split(c),
        Command::EvalFactors(c) => eval_factors(c),
        Command::DiffModels(c) => dist_cli::diff_models(c),
    }
}

/// Loads `input` on up to `threads` threads (`None`: one per core).
fn load(input: &InputArgs, threads: Option<usize>, quiet: bool) -> Result<Dataset> {
    let opts = LoadOptions {
        threads: threads.unwrap_or(0),
        ..input.options()?
    };
    let (data, report) = match input.max_ids {
        None => wmf_host::io::load(&input.input, &opts),
        Some(max) => wmf_host::io::load_limited(&input.input, &opts, max),
    }
    .with_context(|| format!("loading {}", input.input.display()))?;
    if !quiet {
        report_load(&input.input, &data, &report);
    }
    Ok(data)
}

fn report_load(path: &Path, data: &Dataset, r: &LoadReport) {
    eprintln!(
        "{}: {} users, {} items, {} interactions ({:?}, {} lines{}{})",
        path.display(),
        data.users.nrows,
        data.users.ncols,
        data.users.nnz(),
        r.format,
        r.lines,
        if r.dropped_by_threshold > 0 {
            format!(", {} below --min-value", r.dropped_by_threshold)
        } else {
            String::new()
        },
        if r.duplicates_merged > 0 {
            format!(", {} duplicates summed", r.duplicates_merged)
        } else {
            String::new()
        },
    );
    if r.skipped > 0 {
        eprintln!(
            "skipped {} bad lines (first: {})",
            r.skipped,
            r.first_skipped.as_deref().unwrap_or("?")
        );
    }
}

/// Trains with the chosen progress display.
fn fit(
    values: &Csr,
    user_ids: wmf_host::ids::IdMap,
    item_ids: wmf_host::ids::IdMap,
    config: &TrainConfig,
    out: &OutputOpts,
) -> Result<Model> {
    fit_resumable(values.clone(), user_ids, item_ids, config, out, None)
}

fn progress_bar(config: &TrainConfig, out: &OutputOpts) -> indicatif::ProgressBar {
    if out.quiet || out.json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(config.iterations as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "iteration {pos}/{len} [{bar:30}] {msg} {elapsed_precise}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Training was stopped by Ctrl-C; the message says how to resume.
#[derive(Debug)]
struct Interrupted(String);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

/// Set by the Ctrl-C handler; training stops after the current iteration.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C (SIGINT) handler: the first press asks training to
/// stop after the current iteration, a second one exits at once.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            eprintln!("\nwmf: interrupted again, exiting without a checkpoint");
            std::process::exit(130);
        }
        eprintln!("\nwmf: interrupt: stopping after the current iteration");
    });
}

/// Test hooks of the crash tests (`host/tests/crash_*.rs`), read from the
/// environment variable `WMF_TEST_FAULT`:
/// - `kill-in-checkpoint:N`: the checkpoint after iteration N is interrupted by
///   `SIGKILL` once part of its temporary file is written;
/// - `kill-mid-iteration:N`: `SIGKILL` in iteration N, after its user half;
/// - `kill-in-model-write`: `SIGKILL` once half the model file is written.
///
/// `WMF_TEST_ITERATION_DELAY_MS` sleeps after every iteration (to deliver a
/// signal while training runs); neither changes the computed factors.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    KillInCheckpoint(usize),
    KillMidIteration(usize),
    KillInModelWrite,
}

impl Fault {
    fn from_env() -> Self {
        let Ok(v) = std::env::var("WMF_TEST_FAULT") else {
            return Fault::None;
        };
        let (what, n) = v.split_once(':').unwrap_or((&v, ""));
        match (what, n.parse::<usize>()) {
            ("kill-in-checkpoint", Ok(n)) => Fault::KillInCheckpoint(n),
            ("kill-mid-iteration", Ok(n)) => Fault::KillMidIteration(n),
            ("kill-in-model-write", _) => Fault::KillInModelWrite,
            _ => Fault::None,
        }
    }
}

fn kill_self() {
    #[cfg(unix)]
    // SAFETY: getpid and kill take plain integers; SIGKILL ends the process here.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort();
}

/// The command line that resumes this run: the current arguments without any
/// `--resume`, plus `--resume DIR`.
fn resume_command(dir: &Path) -> String {
    let mut out = vec!["wmf".to_string()];
    // args_os: a non-UTF-8 argument must not panic here.
    let mut args = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = args.next() {
        if a == "--resume" {
            args.next();
            continue;
        }
        if a.starts_with("--resume=") {
            continue;
        }
        out.push(a);
    }
    out.push("--resume".into());
    out.push(dir.display().to_string());
    out.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Trains, optionally writing checkpoints and resuming from one (`wmf train`).
/// Takes the raw values over: they become the problem's confidences in place
/// (see `Problem::from_values`), so no copy of the raw matrix stays alive.
fn fit_resumable(
    values: Csr,
    user_ids: wmf_host::ids::IdMap,
    item_ids: wmf_host::ids::IdMap,
    config: &TrainConfig,
    out: &OutputOpts,
    ckpt: Option<&CheckpointOpts>,
) -> Result<Model> {
    let resume = ckpt.and_then(|c| c.resume.as_deref());
    let ck_dir = ckpt.and_then(|c| c.checkpoint.as_deref().or(c.resume.as_deref()));
    let every = ckpt.map_or(1, |c| c.checkpoint_every);
    if every == 0 {
        bail!("invalid --checkpoint-every: must be at least 1");
    }
    out.loss_every()?; // checked before any work, like --checkpoint-every
    // Only checkpoints record the data's fingerprint (a pass over all of it).
    let fingerprint = if ck_dir.is_some() {
        wmf_host::checkpoint::fingerprint(&values)
    } else {
        0
    };
    let (nrows, ncols) = (values.nrows, values.ncols);
    let (mut als, done) = match resume {
        None => (
            Als::<f32>::from_values(values, config).context("training")?,
            0,
        ),
        Some(dir) => {
            let ck = Checkpoint::<f32>::load(dir)
                .with_context(|| format!("loading the checkpoint in {}", dir.display()))?;
            ck.check_resumable(&values, config)?;
            let problem = Problem::from_values(values, config).context("training")?;
            let done = usize::try_from(ck.iteration).unwrap_or(usize::MAX);
            (
                Als::with_factors(problem, config, ck.w, ck.h).context("training")?,
                done,
            )
        }
    };
    als = als
        .with_ids(user_ids, item_ids)
        .with_loss_every(out.loss_every);
    let info = !out.quiet && !out.json;
    if info && let Some(dir) = resume {
        eprintln!(
            "resuming from {} after iteration {done} of {}",
            wmf_host::checkpoint::path_in(dir).display(),
            config.iterations
        );
    }
    let rank = nrows.min(ncols);
    if info && config.k > rank {
        eprintln!(
            "warning: -k {} is larger than the number of {} ({rank}): the problem is rank-deficient; the extra factors only fit the regularisation",
            config.k,
            if ncols <= nrows { "items" } else { "users" }
        );
    }
    let fault = Fault::from_env();
    let delay = std::env::var("WMF_TEST_ITERATION_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let mid_iteration = |als: &mut Als<f32>, next: usize| -> wmf_host::Result<()> {
        if fault == Fault::KillMidIteration(next) {
            als.user_half(None)?;
            kill_self();
        }
        Ok(())
    };
    let save = |als: &Als<f32>, it: usize| -> wmf_host::Result<()> {
        let Some(dir) = ck_dir else { return Ok(()) };
        let ck = Checkpoint {
            config: config.clone(),
            iteration: it as u64,
            data_fingerprint: fingerprint,
            w: als.w.clone(),
            h: als.h.clone(),
        };
        if fault == Fault::KillInCheckpoint(it) {
            let len = ck.to_bytes()?.len();
            ck.save_interrupted(dir, len / 2, kill_self)?;
        }
        ck.save(dir)
    };
    let bar = progress_bar(config, out);
    bar.set_position(done as u64);
    let stdout = std::io::stdout();
    let json = out.json;
    let iterations = config.iterations;
    let start = Instant::now();
    mid_iteration(&mut als, done + 1).context("training")?;
    let mut interrupted_at = None;
    als.run_from(done, &mut |als, r| {
        bar.set_position(r.iteration as u64);
        if let Some(loss) = r.loss {
            bar.set_message(format!("loss {loss:.6e}"));
        }
        if json && let Ok(line) = serde_json::to_string(r) {
            let _ = writeln!(stdout.lock(), "{line}");
        }
        if let Some(ms) = delay {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let stop = INTERRUPTED.load(Ordering::SeqCst) && r.iteration < iterations;
        if r.iteration < iterations && (stop || r.iteration % every == 0) {
            save(als, r.iteration)?;
        }
        if stop {
            interrupted_at = Some(r.iteration);
            return Ok(ControlFlow::Break(()));
        }
        mid_iteration(als, r.iteration + 1).map(|()| ControlFlow::Continue(()))
    })
    .context("training")?;
    bar.finish_and_clear();
    if let Some(it) = interrupted_at {
        let message = match ck_dir {
            Some(dir) => format!(
                "interrupted after iteration {it} of {iterations}; checkpoint written to {}; resume with: {}",
                wmf_host::checkpoint::path_in(dir).display(),
                resume_command(dir)
            ),
            None => format!(
                "interrupted after iteration {it} of {iterations}; no checkpoint was written (run with --checkpoint DIR to be able to resume with --resume DIR)"
            ),
        };
        return Err(Interrupted(message).into());
    }
    if info {
        eprintln!(
            "trained k = {} with {:?} in {:.2} s ({} threads)",
            config.k,
            config.solver,
            start.elapsed().as_secs_f64(),
            config.threads
        );
    }
    Ok(als.into_model())
}

fn train(c: TrainCmd) -> Result<()> {
    if c.dist.distributed {
        return dist_cli::train_distributed(c);
    }
    let config = c.train.config()?;
    let Dataset {
        users,
        user_ids,
        item_ids,
        timestamps,
    } = load(&c.input, c.train.threads, c.out.quiet || c.out.json)?;
    // Training does not use the timestamps: free them before it starts.
    drop(timestamps);
    install_interrupt_handler();
    let model = fit_resumable(users, user_ids, item_ids, &config, &c.out, Some(&c.ckpt))?;
    if Fault::from_env() == Fault::KillInModelWrite {
        // Test hook: die with half the model in the temporary file.
        let bytes = wmf_host::model_io::to_bytes(&model)?;
        wmf_host::model_io::atomic_write_with(&c.output, |w| {
            w.write_all(&bytes[..bytes.len() / 2])?;
            w.flush()?;
            kill_self();
            Ok(())
        })?;
    }
    wmf_host::model_io::save(&model, &c.output)
        .with_context(|| format!("saving the model to {}", c.output.display()))?;
    if c.out.json {
        outln!(
            "{}",
            serde_json::json!({"model": c.output.display().to_string(), "users": model.user_factors.nrows(), "items": model.item_factors.nrows(), "k": config.k})
        );
    } else if !c.out.quiet {
        eprintln!("wrote {}", c.output.display());
    }
    Ok(())
}

/// `seen` items in the model's index space: rows by model user, columns by
/// model item, matched through the external ids (unknown ids are dropped).
fn seen_in_model_space(model: &Model, data: &Dataset) -> Result<Csr> {
    let mut trip = Vec::new();
    for u in 0..data.users.nrows {
        let Some(mu) = data.user_ids.name(u).and_then(|id| model.user_ids.get(id)) else {
            continue;
        };
        for &j in data.users.row(u).0 {
            if let Some(mj) = data
                .item_ids
                .name(j as usize)
                .and_then(|id| model.item_ids.get(id))
            {
                trip.push((mu, mj, 1.0f32));
            }
        }
    }
    Ok(Csr::from_triplets(
        model.user_factors.nrows(),
        model.item_factors.nrows(),
        &trip,
    )?)
}

fn load_model(path: &Path) -> Result<Model> {
    wmf_host::model_io::load(path).with_context(|| format!("loading the model {}", path.display()))
}

fn check_n(n: usize) -> Result<()> {
    if n == 0 {
        bail!("invalid -n: must be at least 1");
    }
    Ok(())
}

fn recommend(c: RecommendCmd) -> Result<()> {
    check_n(c.n)?;
    let sources =
        usize::from(!c.users.is_empty()) + usize::from(c.users_file.is_some()) + usize::from(c.all);
    if sources != 1 {
        bail!("give exactly one of --user ID, --users FILE or --all");
    }
    if c.seen.is_none() && !c.include_seen {
        bail!(
            "excluding seen items needs the training interactions: pass --seen FILE (or --include-seen)"
        );
    }
    let format: Format = c.format.parse()?;
    let clock = Instant::now();
    let model = load_model(&c.model)?;
    let model_s = clock.elapsed().as_secs_f64();
    let names: Vec<String> = if c.all {
        model.user_ids.names().map(str::to_owned).collect()
    } else if let Some(f) = &c.users_file {
        std::fs::read_to_string(f)
            .with_context(|| format!("reading {}", f.display()))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        c.users.clone()
    };
    let mut users = Vec::with_capacity(names.len());
    for name in &names {
        match model.user_ids.get(name) {
            Some(u) => users.push(u),
            None => bail!(
                "unknown user id {name:?} (not in the model {}; use `wmf fold-in` for new users)",
                c.model.display()
            ),
        }
    }
    let clock = Instant::now();
    let seen = match (&c.seen, c.include_seen) {
        (Some(path), false) => {
            let opts = LoadOptions {
                format,
                ..LoadOptions::default()
            };
            let (data, _) = wmf_host::io::load(path, &opts)
                .with_context(|| format!("loading {}", path.display()))?;
            Some(seen_in_model_space(&model, &data)?)
        }
        _ => None,
    };
    let seen_s = clock.elapsed().as_secs_f64();
    let (mut recommend_s, mut write_s) = (0.0, 0.0);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (chunk_users, chunk_names) in users
        .chunks(c.batch.max(1))
        .zip(names.chunks(c.batch.max(1)))
    {
        let clock = Instant::now();
        let recs = wmf_host::recommend::recommend_batch(
            model.user_factors.view(),
            model.item_factors.view(),
            chunk_users,
            c.n,
            seen.as_ref(),
            c.batch,
        )?;
        recommend_s += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        for (name, list) in chunk_names.iter().zip(recs) {
            on_stdout(write_recs(&mut out, &model, name, &list, c.json))?;
        }
        write_s += clock.elapsed().as_secs_f64();
    }
    let clock = Instant::now();
    out.flush().map_err(stdout_error)?;
    write_s += clock.elapsed().as_secs_f64();
    if c.timings {
        eprintln!(
            "{}",
            serde_json::json!({
                "users": users.len(),
                "model_s": model_s,
                "seen_s": seen_s,
                "recommend_s": recommend_s,
                "write_s": write_s,
            })
        );
    }
    Ok(())
}

fn write_recs(
    out: &mut dyn Write,
    model: &Model,
    user: &str,
    list: &[Scored<f32>],
    json: bool,
) -> Result<()> {
    let item_name = |i: u32| model.item_ids.name(i as usize).unwrap_or("?").to_owned();
    if json {
        let items: Vec<serde_json::Value> = list
            .iter()
            .map(|s| serde_json::json!({"item": item_name(s.item), "score": s.score}))
            .collect();
        writeln!(out, "{}", serde_json::json!({"user": user, "items": items}))?;
    } else {
        for (rank, s) in list.iter().enumerate() {
            writeln!(
                out,
                "{user}\t{}\t{}\t{:.6}",
                rank + 1,
                item_name(s.item),
                s.score
            )?;
        }
    }
    Ok(())
}

fn similar(c: SimilarCmd) -> Result<()> {
    check_n(c.n)?;
    let model = load_model(&c.model)?;
    let (factors, ids, query, what) = match (&c.item, &c.user) {
        (Some(item), _) => (&model.item_factors, &model.item_ids, item, "item"),
        (None, Some(user)) => (&model.user_factors, &model.user_ids, user, "user"),
        (None, None) => bail!("give --item ID or --user ID"),
    };
    let Some(q) = ids.get(query) else {
        bail!(
            "unknown {what} id {query:?} (not in the model {})",
            c.model.display()
        );
    };
    let list = wmf_host::recommend::similar(factors.view(), q, c.n)?;
    for (rank, s) in list.iter().enumerate() {
        outln!(
            "{query}\t{}\t{}\t{:.6}",
            rank + 1,
            ids.name(s.item as usize).unwrap_or("?"),
            s.score
        );
    }
    Ok(())
}

fn fold_in(c: FoldInCmd) -> Result<()> {
    check_n(c.n)?;
    let model = load_model(&c.model)?;
    let text = std::fs::read_to_string(&c.interactions)
        .with_context(|| format!("reading {}", c.interactions.display()))?;
    let mut pairs = Vec::new();
    let mut unknown = 0usize;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line
            .split(|ch: char| ch == ',' || ch == '\t' || ch.is_whitespace())
            .filter(|f| !f.is_empty());
        let item = fields.next().unwrap_or("");
        let value = match fields.next() {
            None => 1.0,
            Some(v) => v
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .with_context(|| {
                    format!(
                        "{}:{}: value {v:?} is not a finite number >= 0",
                        c.interactions.display(),
                        lineno + 1
                    )
                })?,
        };
        match model.item_ids.get(item) {
            Some(j) => pairs.push((j, value)),
            None => unknown += 1,
        }
    }
    if unknown > 0 {
        eprintln!("ignored {unknown} interactions with items unknown to the model");
    }
    let solver = c.solver.map(|s| match s {
        SolverArg::Cholesky => Solver::Cholesky,
        SolverArg::Cg => Solver::Cg {
            steps: model.config.k.max(3),
            // the model's own row storage when it was trained by CG
            rows: match model.config.solver {
                Solver::Cg { rows, .. } => rows,
                _ => CgRows::F32,
            },
        },
        SolverArg::Eals => Solver::Eals { sweeps: 20 },
    });
    let w = wmf_host::foldin::recalculate_user(&model, &pairs, solver, None)?;
    if c.print_vector {
        let v: Vec<String> = w.iter().map(|x| format!("{x:.6}")).collect();
        outln!("vector\t{}", v.join(" "));
    }
    let mut exclude: Vec<u32> = pairs.iter().map(|p| p.0).collect();
    exclude.sort_unstable();
    exclude.dedup();
    let list = wmf_host::recommend::recommend_one(model.item_factors.view(), &w, c.n, &exclude)?;
    let stdout = std::io::stdout();
    on_stdout(write_recs(&mut stdout.lock(), &model, "new", &list, false))
}

fn export(c: ExportCmd) -> Result<()> {
    let mut model = load_model(&c.model)?;
    let blob = |model: &wmf_host::Model| {
        if c.eigenbasis {
            wmf_host::export::ItemBlob::from_model_in_eigenbasis(model)
        } else {
            wmf_host::export::ItemBlob::from_model(model)
        }
    };
    match c.to {
        ExportFormat::Npy => {
            if c.eigenbasis {
                let wmf_host::Model {
                    user_factors,
                    item_factors,
                    item_c0,
                    ..
                } = &mut model;
                wmf_host::export::to_item_eigenbasis(item_factors, Some(user_factors), item_c0)?;
            }
            std::fs::create_dir_all(&c.output)
                .with_context(|| format!("creating {}", c.output.display()))?;
            wmf_host::export::write_npy(
                &c.output.join("user_factors.npy"),
                model.user_factors.view(),
            )?;
            wmf_host::export::write_npy(
                &c.output.join("item_factors.npy"),
                model.item_factors.view(),
            )?;
            wmf_host::model_io::atomic_write(
                &c.output.join("user_ids.txt"),
                (model.user_ids.names().collect::<Vec<_>>().join("\n") + "\n").as_bytes(),
            )?;
            wmf_host::model_io::atomic_write(
                &c.output.join("item_ids.txt"),
                (model.item_ids.names().collect::<Vec<_>>().join("\n") + "\n").as_bytes(),
            )?;
        }
        ExportFormat::Blob => blob(&model)?.write(&c.output)?,
        ExportFormat::CHeader => {
            let text = blob(&model)?.c_header()?;
            wmf_host::model_io::atomic_write(&c.output, text.as_bytes())?;
        }
    }
    eprintln!("wrote {}", c.output.display());
    Ok(())
}

/// `wmf info`: the CPU level, the solver loops' [`wmf_host::als::Isa`] and
/// whether they fuse multiply-adds in hardware, the BLAS
/// ([`wmf_host::blas::Report`]) and the default thread count.
fn info(c: InfoCmd) -> Result<()> {
    let blas = wmf_host::blas::Report::current();
    let isa = format!("{:?}", wmf_host::als::isa());
    let fma = if wmf_host::als::fused_in_hardware() {
        "hardware"
    } else {
        "software"
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let version = env!("CARGO_PKG_VERSION");
    if c.json {
        outln!(
            "{}",
            serde_json::json!({"version": version, "solver_isa": isa, "fused_multiply_add": fma, "wmf_isa_env": std::env::var("WMF_ISA").ok(), "threads": threads, "blas": blas})
        );
        return Ok(());
    }
    outln!("wmf {version}");
    outln!("cpu level:    {}", blas.cpu_level);
    outln!("solver loops: {isa}");
    if fma == "hardware" {
        outln!("fma:          in hardware (--arith fused, the default)");
    } else {
        outln!("fma:          in software (slow: prefer --arith separate)");
    }
    outln!("threads:      {threads}");
    outln!("blas:         {}", blas.config);
    let why = match (&blas.retargeted_from, &blas.coretype_env) {
        (Some(from), _) => format!(
            "forced by wmf: OpenBLAS had chosen {from}, which has no AVX2 kernels; set {} to choose",
            wmf_host::blas::CORETYPE_VAR
        ),
        (None, Some(v)) => format!("{}={v}", wmf_host::blas::CORETYPE_VAR),
        (None, None) => "chosen by OpenBLAS".to_string(),
    };
    outln!("blas kernels: {} ({why})", blas.core);
    Ok(())
}

fn gradcheck(c: GradcheckCmd) -> Result<()> {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    if c.m == 0 || c.n == 0 || c.k == 0 || c.k > wmf_kernel::MAX_K {
        bail!(
            "invalid size: m, n >= 1 and 1 <= k <= {}",
            wmf_kernel::MAX_K
        );
    }
    if c.m * c.n > 1_000_000 {
        bail!(
            "invalid size: m x n = {} is too large for a finite-difference check (max 1e6)",
            c.m * c.n
        );
    }
    if !(c.lambda.is_finite() && c.lambda >= 0.0) {
        bail!("invalid --lambda: {} must be finite and >= 0", c.lambda);
    }
    let (m, n, k, lambda) = (c.m, c.n, c.k, c.lambda);
    let mut rng = StdRng::seed_from_u64(c.seed);
    let mut rand = |r: usize, s: usize, lo: f64, hi: f64| {
        Array2::from_shape_fn((r, s), |_| rng.gen_range(lo..hi))
    };
    let x = rand(m, n, 0.0, 1.0).mapv(|v| if v > 0.6 { 1.0 } else { 0.0 });
    let c0: Vec<f64> = rand(1, n, 0.1, 1.0).iter().copied().collect();
    let conf_obs = rand(m, n, 1.0, 5.0);
    let cm = Array2::from_shape_fn((m, n), |(i, j)| {
        if x[[i, j]] > 0.0 {
            conf_obs[[i, j]]
        } else {
            c0[j]
        }
    });
    let w = rand(m, k, -1.0, 1.0);
    let h = rand(n, k, -1.0, 1.0);
    // dense: host BLAS gradient vs kernel and finite differences
    let g = wmf_host::dense::dense_gradient(x.view(), cm.view(), w.view(), h.view(), lambda, 4)?;
    let d = wmf_kernel::Dense::new(
        x.as_slice().unwrap_or(&[]),
        cm.as_slice().unwrap_or(&[]),
        w.as_slice().unwrap_or(&[]),
        h.as_slice().unwrap_or(&[]),
        m,
        n,
        k,
    )?;
    let (mut kw, mut kh) = (vec![0.0; m * k], vec![0.0; n * k]);
    d.grad_w(lambda, &mut kw)?;
    d.grad_h(lambda, &mut kh)?;
    let vs_kernel = g
        .grad_w
        .iter()
        .zip(&kw)
        .chain(g.grad_h.iter().zip(&kh))
        .map(|(a, b)| (a - b).abs() / 1f64.max(b.abs()))
        .fold(0.0, f64::max);
    let dense_loss = |w: &Array2<f64>, h: &Array2<f64>| {
        wmf_host::dense::dense_gradient(x.view(), cm.view(), w.view(), h.view(), lambda, 4)
            .map_or(f64::NAN, |g| g.loss)
    };
    let dense_fd =
        wmf_host::dense::finite_difference_error(&w, &h, &g.grad_w, &g.grad_h, 1e-5, &dense_loss);
    // implicit: kernel row gradient (through G0) vs finite differences of row_loss
    let fac = wmf_kernel::Factors::new(h.as_slice().unwrap_or(&[]), n, k)?;
    let mut g0 = vec![0.0; k * k];
    wmf_kernel::gramian(&fac, wmf_kernel::Baseline::PerItem(&c0), &mut g0)?;
    let items = wmf_kernel::Items::new(fac, &g0, wmf_kernel::Baseline::PerItem(&c0))?;
    let mut implicit_fd: f64 = 0.0;
    let mut implicit_vs_dense: f64 = 0.0;
    for u in 0..m {
        let obs: Vec<u32> = (0..n as u32)
            .filter(|&j| x[[u, j as usize]] > 0.0)
            .collect();
        let conf: Vec<f64> = obs.iter().map(|&j| conf_obs[[u, j as usize]]).collect();
        let row = wmf_kernel::Row::implicit(&obs, &conf);
        let wu: Vec<f64> = w.row(u).to_vec();
        let mut grad = vec![0.0; k];
        wmf_kernel::row_gradient(&items, &row, lambda, &wu, &mut grad)?;
        for f in 0..k {
            let eps = 1e-5;
            let mut wp = wu.clone();
            wp[f] += eps;
            let fp = wmf_kernel::row_loss(&items, &row, lambda, &wp)?;
            wp[f] -= 2.0 * eps;
            let fm = wmf_kernel::row_loss(&items, &row, lambda, &wp)?;
            let fd = (fp - fm) / (2.0 * eps);
            implicit_fd =
                implicit_fd.max((grad[f] - fd).abs() / 1f64.max(grad[f].abs()).max(fd.abs()));
            // the dense gradient of the same problem restricted to user u
            let dg = g.grad_w[[u, f]];
            implicit_vs_dense = implicit_vs_dense.max((grad[f] - dg).abs() / 1f64.max(dg.abs()));
        }
    }
    outln!(
        "problem: m = {m}, n = {n}, k = {k}, lambda = {lambda}, seed = {}",
        c.seed
    );
    outln!("dense gradient (BLAS) vs kernel Dense:          {vs_kernel:.3e}");
    outln!("dense gradient vs finite differences:           {dense_fd:.3e}");
    outln!("implicit row gradient vs finite differences:    {implicit_fd:.3e}");
    outln!("implicit row gradient vs dense gradient:        {implicit_vs_dense:.3e}");
    let worst = vs_kernel
        .max(dense_fd)
        .max(implicit_fd)
        .max(implicit_vs_dense);
    if worst.is_nan() || worst > c.tolerance {
        bail!(
            "gradient check failed: largest relative error {worst:.3e} > tolerance {:.1e}",
            c.tolerance
        );
    }
    outln!(
        "ok: largest relative error {worst:.3e} <= {:.1e}",
        c.tolerance
    );
    Ok(())
}

fn eval(c: EvalCmd) -> Result<()> {
    let config = c.train.config()?;
    let how = c.split.split()?;
    let data = load(&c.input, c.train.threads, c.out.quiet || c.out.json)?;
    let (train, test) =
        wmf_host::split::split(&data, how, c.split.split_seed).context("splitting")?;
    let model = fit(
        &train,
        data.user_ids.clone(),
        data.item_ids.clone(),
        &config,
        &c.out,
    )?;
    let report = evaluate(&model, &train, &test, c.split.at)?;
    print_eval(&report, c.out.json)?;
    Ok(())
}

fn demo(c: DemoCmd) -> Result<()> {
    let total = Instant::now();
    let synth_cfg = wmf_host::synth::SynthConfig {
        users: c.users,
        items: c.items,
        nnz: c.interactions,
        seed: c.seed,
        taste_strength: c.taste_strength,
        item_exponent: c.popularity_exponent,
        ..wmf_host::synth::SynthConfig::default()
    };
    let train_opts = TrainOpts {
        k: c.k,
        iterations: c.iterations,
        lambda: c.lambda,
        reg_scaling: None,
        confidence: ConfidenceArg::Linear,
        alpha: c.alpha,
        eps: 1.0,
        c0: 1.0,
        popularity_beta: None,
        solver: c.solver,
        cg_steps: 3,
        cg_rows: CgRowsArg::F32,
        eals_sweeps: 1,
        arith: ArithArg::Fused,
        seed: c.seed,
        threads: c.threads,
    };
    let config = train_opts.config()?;
    if c.at == 0 {
        bail!("invalid --at: must be at least 1");
    }
    let t = Instant::now();
    let synth =
        wmf_host::synth::generate(&synth_cfg).context("generating the synthetic dataset")?;
    let data = &synth.data;
    let gen_s = t.elapsed().as_secs_f64();
    let (train, test) = wmf_host::split::split(
        data,
        wmf_host::split::Split::Holdout { fraction: 0.2 },
        c.seed,
    )
    .context("splitting")?;
    let info = !c.out.quiet && !c.out.json;
    if info {
        eprintln!(
            "demo: {} users, {} items, {} interactions (power-law popularity, {} planted topics), generated in {gen_s:.2} s",
            data.users.nrows,
            data.users.ncols,
            data.users.nnz(),
            synth_cfg.rank
        );
        eprintln!(
            "split: holdout 20% per user -> {} train, {} test interactions",
            train.nnz(),
            test.nnz()
        );
    }
    let t = Instant::now();
    let model = fit(
        &train,
        data.user_ids.clone(),
        data.item_ids.clone(),
        &config,
        &c.out,
    )?;
    let train_s = t.elapsed().as_secs_f64();
    let report = evaluate(&model, &train, &test, c.at)?;
    // the planted per-draw distribution, as an upper reference
    let oracle = wmf_host::metrics::evaluate(
        synth.user_taste.view(),
        synth.item_taste.view(),
        &train,
        &test,
        c.at,
    )
    .context("evaluating the planted taste")?;
    if c.out.json {
        outln!(
            "{}",
            serde_json::json!({
                "users": data.users.nrows, "items": data.users.ncols, "interactions": data.users.nnz(),
                "train_seconds": train_s, "total_seconds": total.elapsed().as_secs_f64(),
                "model": report.model, "popularity": report.popularity, "planted": oracle,
            })
        );
    } else {
        outln!(
            "wmf demo: {} users x {} items, {} interactions; k = {}, {} iterations of {:?}, {} threads",
            data.users.nrows,
            data.users.ncols,
            data.users.nnz(),
            config.k,
            config.iterations,
            config.solver,
            config.threads
        );
        print_eval(&report, false)?;
        outln!(
            "(planted taste, the generator's own scores: nDCG@{} {:.4}, AUC {:.4})",
            c.at,
            oracle.ndcg,
            oracle.auc
        );
        let lift = report.model.ndcg / report.popularity.ndcg.max(1e-12);
        outln!(
            "nDCG@{} is {lift:.1}x the popularity baseline; training {train_s:.2} s, total {:.2} s",
            c.at,
            total.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Metrics of the model and of popularity on a test split.
#[derive(Debug, serde::Serialize)]
struct EvalReport {
    model: wmf_host::metrics::Metrics,
    popularity: wmf_host::metrics::Metrics,
}

fn evaluate(model: &Model, train: &Csr, test: &Csr, at: usize) -> Result<EvalReport> {
    let m = wmf_host::metrics::evaluate(
        model.user_factors.view(),
        model.item_factors.view(),
        train,
        test,
        at,
    )
    .context("evaluating the model")?;
    let p = wmf_host::metrics::evaluate_popularity(train, test, at)
        .context("evaluating the popularity baseline")?;
    Ok(EvalReport {
        model: m,
        popularity: p,
    })
}

fn print_eval(r: &EvalReport, json: bool) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string(r).unwrap_or_default());
        return Ok(());
    }
    let (m, p) = (&r.model, &r.popularity);
    let k = m.k;
    outln!(
        "{:<14} {:>10} {:>10}",
        format!("({} test users)", m.users),
        "model",
        "popularity"
    );
    for (name, a, b) in [
        (format!("precision@{k}"), m.precision, p.precision),
        (format!("recall@{k}"), m.recall, p.recall),
        (format!("nDCG@{k}"), m.ndcg, p.ndcg),
        (format!("MAP@{k}"), m.map, p.map),
        ("AUC".to_owned(), m.auc, p.auc),
    ] {
        outln!("{name:<14} {a:>10.4} {b:>10.4}");
    }
    Ok(())
}

#[derive(Debug, Args)]
struct GenerateSplitCmd {
    /// Users of the synthetic dataset.
    #[arg(long, default_value_t = 50_000)]
    users: usize,
    /// Items of the synthetic dataset.
    #[arg(long, default_value_t = 20_000)]
    items: usize,
    /// Target number of interactions.
    #[arg(long, default_value_t = 2_000_000)]
    interactions: usize,
    /// Strength of the planted taste (0: none).
    #[arg(long, default_value_t = 4.0)]
    taste_strength: f64,
    /// Exponent of the item-popularity power law.
    #[arg(long, default_value_t = 0.7)]
    popularity_exponent: f64,
    /// Seed of the data.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Per-user holdout fraction of the test file.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of the split.
    #[arg(long, default_value_t = 1)]
    split_seed: u64,
    /// Output directory: `train.csv`, `test.csv` (`user,item,value`, ids are the
    /// dense indices) and `train.npy` (`nnz x 3` f32 rows `user, item, value`).
    #[arg(long, short = 'o')]
    out_dir: PathBuf,
}

fn generate_split(c: GenerateSplitCmd) -> Result<()> {
    let f = c.test_fraction;
    if !(f.is_finite() && f > 0.0 && f < 1.0) {
        bail!("invalid --test-fraction: {f} (must be strictly between 0 and 1)");
    }
    if c.users.max(c.items) >= 1 << 24 {
        bail!(
            "invalid size: --users and --items must be below 2^24 (train.npy stores indices as f32)"
        );
    }
    let cfg = wmf_host::synth::SynthConfig {
        users: c.users,
        items: c.items,
        nnz: c.interactions,
        seed: c.seed,
        taste_strength: c.taste_strength,
        item_exponent: c.popularity_exponent,
        ..wmf_host::synth::SynthConfig::default()
    };
    let synth = wmf_host::synth::generate(&cfg).context("generating the synthetic dataset")?;
    let (train, test) = wmf_host::split::split(
        &synth.data,
        wmf_host::split::Split::Holdout { fraction: f },
        c.split_seed,
    )
    .context("splitting")?;
    std::fs::create_dir_all(&c.out_dir)
        .with_context(|| format!("creating {}", c.out_dir.display()))?;
    let as_dataset = |users: Csr| wmf_host::data::Dataset {
        users,
        user_ids: synth.data.user_ids.clone(),
        item_ids: synth.data.item_ids.clone(),
        timestamps: None,
    };
    let trip = Array2::from_shape_fn((train.nnz(), 3), |(t, col)| match col {
        0 => train
            .indptr
            .partition_point(|&p| p as usize <= t)
            .saturating_sub(1) as f32,
        1 => train.indices[t] as f32,
        _ => train.values[t],
    });
    wmf_host::export::write_npy(&c.out_dir.join("train.npy"), trip.view())?;
    let (n_train, n_test) = (train.nnz(), test.nnz());
    wmf_host::synth::write_triplets(&c.out_dir.join("train.csv"), &as_dataset(train), false)?;
    wmf_host::synth::write_triplets(&c.out_dir.join("test.csv"), &as_dataset(test), false)?;
    outln!(
        "{}",
        serde_json::json!({"users": c.users, "items": c.items, "train": n_train, "test": n_test,
            "dir": c.out_dir.display().to_string()})
    );
    Ok(())
}

#[derive(Debug, Args)]
struct EvalFactorsCmd {
    /// User factors (`.npy`, f32, rows x k).
    #[arg(long)]
    user_factors: PathBuf,
    /// Item factors (`.npy`, f32, rows x k).
    #[arg(long)]
    item_factors: PathBuf,
    /// Id of each user-factor row, one per line (as `wmf export` writes);
    /// default: row `r` is the user with integer id `r`.
    #[arg(long)]
    user_ids: Option<PathBuf>,
    /// Id of each item-factor row, one per line; default: row `r` is item `r`.
    #[arg(long)]
    item_ids: Option<PathBuf>,
    /// Training interactions (excluded from the rankings); ids must be integers.
    #[arg(long)]
    train: PathBuf,
    /// Test interactions; ids must be integers.
    #[arg(long)]
    test: PathBuf,
    /// Cut-off k of the metrics (@k).
    #[arg(long = "at", default_value_t = 10)]
    at: usize,
    /// One JSON line instead of a table.
    #[arg(long)]
    json: bool,
}

/// Integer ids of `path`'s rows (`file`, one per line) or `0..rows`.
fn row_ids(file: Option<&Path>, rows: usize) -> Result<Vec<usize>> {
    let Some(path) = file else {
        return Ok((0..rows).collect());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let ids: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            l.trim().parse::<usize>().with_context(|| {
                format!("{}:{}: id {:?} is not an integer", path.display(), i + 1, l)
            })
        })
        .collect::<Result<_>>()?;
    if ids.len() != rows {
        bail!(
            "{}: {} ids for {rows} factor rows",
            path.display(),
            ids.len()
        );
    }
    Ok(ids)
}

/// `data` re-indexed by the integer value of its ids, as an `m x n` matrix.
fn integer_space(data: &Dataset, path: &Path, m: usize, n: usize) -> Result<Csr> {
    let parse = |id: Option<&str>, what: &str| -> Result<u32> {
        id.and_then(|s| s.parse::<u32>().ok())
            .with_context(|| format!("{}: {what} id {id:?} is not an integer", path.display()))
    };
    let uids: Vec<u32> = (0..data.users.nrows)
        .map(|u| parse(data.user_ids.name(u), "user"))
        .collect::<Result<_>>()?;
    let iids: Vec<u32> = (0..data.users.ncols)
        .map(|j| parse(data.item_ids.name(j), "item"))
        .collect::<Result<_>>()?;
    let mut trip = Vec::with_capacity(data.users.nnz());
    for (u, &mu) in uids.iter().enumerate() {
        let (items, values) = data.users.row(u);
        for (&j, &v) in items.iter().zip(values) {
            trip.push((mu, iids[j as usize], v));
        }
    }
    Ok(Csr::from_triplets(m, n, &trip)?)
}

fn eval_factors(c: EvalFactorsCmd) -> Result<()> {
    if c.at == 0 {
        bail!("invalid --at: must be at least 1");
    }
    let read = |p: &Path| -> Result<Array2<f32>> {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        Ok(wmf_host::export::read_npy(&bytes, p)?)
    };
    let (wf, hf) = (read(&c.user_factors)?, read(&c.item_factors)?);
    if wf.ncols() != hf.ncols() {
        bail!(
            "user factors have k = {} but item factors k = {}",
            wf.ncols(),
            hf.ncols()
        );
    }
    let k = wf.ncols();
    let uids = row_ids(c.user_ids.as_deref(), wf.nrows())?;
    let iids = row_ids(c.item_ids.as_deref(), hf.nrows())?;
    let opts = LoadOptions::default();
    let (train, _) = wmf_host::io::load(&c.train, &opts)
        .with_context(|| format!("loading {}", c.train.display()))?;
    let (test, _) = wmf_host::io::load(&c.test, &opts)
        .with_context(|| format!("loading {}", c.test.display()))?;
    let max_id = |ids: &wmf_host::ids::IdMap| {
        ids.names()
            .filter_map(|s| s.parse::<usize>().ok())
            .max()
            .map_or(0, |v| v + 1)
    };
    let m = [
        max_id(&train.user_ids),
        max_id(&test.user_ids),
        uids.iter().max().map_or(0, |v| v + 1),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let n = [
        max_id(&train.item_ids),
        max_id(&test.item_ids),
        iids.iter().max().map_or(0, |v| v + 1),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let train_m = integer_space(&train, &c.train, m, n)?;
    let test_m = integer_space(&test, &c.test, m, n)?;
    let mut w = Array2::<f32>::zeros((m, k));
    for (r, &u) in uids.iter().enumerate() {
        w.row_mut(u).assign(&wf.row(r));
    }
    let mut h = Array2::<f32>::zeros((n, k));
    for (r, &j) in iids.iter().enumerate() {
        h.row_mut(j).assign(&hf.row(r));
    }
    let t = Instant::now();
    let metrics = wmf_host::metrics::evaluate(w.view(), h.view(), &train_m, &test_m, c.at)
        .context("evaluating the factors")?;
    let eval_s = t.elapsed().as_secs_f64();
    if c.json {
        outln!(
            "{}",
            serde_json::json!({"metrics": metrics, "eval_seconds": eval_s, "users": m, "items": n})
        );
    } else {
        outln!(
            "{} test users: precision@{at} {:.4}  recall@{at} {:.4}  nDCG@{at} {:.4}  MAP@{at} {:.4}  AUC {:.4}  ({eval_s:.2} s)",
            metrics.users,
            metrics.precision,
            metrics.recall,
            metrics.ndcg,
            metrics.map,
            metrics.auc,
            at = c.at
        );
    }
    Ok(())
}
