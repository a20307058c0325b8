//! The trained model and the configuration that produced it.

use ndarray::Array2;

use crate::ids::IdMap;

/// How a stored interaction value `r >= 0` becomes a confidence `c`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Confidence {
    /// `c = 1 + alpha r` (Hu, Koren & Volinsky 2008).
    Linear {
        /// Scale `alpha >= 0`.
        alpha: f32,
    },
    /// `c = 1 + alpha ln(1 + r / eps)` (Hu et al. 2008, eq. 6).
    Log {
        /// Scale `alpha >= 0`.
        alpha: f32,
        /// Scale of `r`, `eps > 0`.
        eps: f32,
    },
    /// `c = r`: the stored value is the confidence (as `implicit` takes it).
    AsIs,
}

/// The weight `c0_j` of unobserved cells.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum BaselineWeight {
    /// The same `c0` for every item (Hu et al. use 1).
    Uniform {
        /// `c0 >= 0`.
        c0: f32,
    },
    /// eALS popularity weighting (He et al. 2016): `c0_j = c0 · f_j^beta / Σ_l f_l^beta`
    /// with `f_j` the item's interaction count.
    Popularity {
        /// Total weight `c0 >= 0` spread over the items.
        c0: f32,
        /// Exponent `beta` (He et al. recommend 0.4-0.5).
        beta: f32,
    },
}

/// How the regularisation `lambda` is scaled per row.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RegScaling {
    /// The same `lambda` for every row.
    None,
    /// `lambda_u = lambda · (1 + n_u)^nu`, with `n_u` the row's interaction count
    /// (frequency-scaled regularisation, Rendle et al. 2022).
    Frequency {
        /// Exponent `nu` (1 scales linearly with the row's count).
        nu: f32,
    },
}

/// The row solver used by ALS.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Solver {
    /// Exact ALS: normal equations and Cholesky per row.
    Cholesky,
    /// Conjugate gradient with warm start (Takács et al. 2011).
    Cg {
        /// CG steps per row per half-iteration.
        steps: usize,
    },
    /// Element-wise ALS (He et al. 2016).
    Eals {
        /// Coordinate sweeps per row per half-iteration.
        sweeps: usize,
    },
}

/// Everything that determines a training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Number of latent factors `k` (`1..=wmf_kernel::MAX_K`).
    pub k: usize,
    /// ALS iterations (each updates users then items).
    pub iterations: usize,
    /// Regularisation `lambda >= 0`.
    pub lambda: f32,
    /// Per-row scaling of `lambda`.
    pub reg_scaling: RegScaling,
    /// Value-to-confidence mapping.
    pub confidence: Confidence,
    /// Weight of unobserved cells.
    pub baseline: BaselineWeight,
    /// Row solver.
    pub solver: Solver,
    /// Seed of the factor initialisation.
    pub seed: u64,
    /// Worker threads (rayon); results are deterministic for a given count.
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            k: 64,
            iterations: 15,
            lambda: 0.01,
            reg_scaling: RegScaling::None,
            confidence: Confidence::Linear { alpha: 40.0 },
            baseline: BaselineWeight::Uniform { c0: 1.0 },
            solver: Solver::Cg { steps: 3 },
            seed: 42,
            threads: 1,
        }
    }
}

/// A trained model: factors, per-item baseline weights, id maps and the
/// configuration that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The configuration used for training.
    pub config: TrainConfig,
    /// User factors `W` (`m x k`).
    pub user_factors: Array2<f32>,
    /// Item factors `H` (`n x k`).
    pub item_factors: Array2<f32>,
    /// `c0_j` for every item (`n`).
    pub item_c0: Vec<f32>,
    /// External user ids, index = row of `user_factors`.
    pub user_ids: IdMap,
    /// External item ids, index = row of `item_factors`.
    pub item_ids: IdMap,
}
