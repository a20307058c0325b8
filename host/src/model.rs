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

/// How the row solves round their multiply-adds (`wmf train --arith`).
///
/// The solvers' hot loops are multiply-adds: the CG passes' dots `h_j · p`
/// and updates `y += a h_j`, the Cholesky solver's rank updates
/// `A += (w x[r]) x[c]`, the low-rank solve's `V Vᵀ`. Rounding each once
/// (a fused multiply-add, one instruction on x86-64 with FMA and on
/// AArch64) halves the arithmetic those loops issue; rounding the product
/// and the sum separately is what the kernel's functions, the C library and
/// the firmware compute. Both are exact operations of IEEE 754 in a fixed
/// order, so each gives the same bits on every host (the fused one through
/// the C library's correctly rounded `fmaf` where the CPU has no FMA, many
/// times slower), and the two differ in their last bits as two summation
/// orders would. The eALS solver, the loss and scoring are the same in both.
///
/// Model files written before this setting read as [`Arith::Separate`],
/// what trained them: that is this type's `Default`, while
/// [`TrainConfig::default`] (and `wmf train`) trains with
/// [`Arith::Fused`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Arith {
    /// Products and sums rounded separately: the kernel's, the C library's
    /// and the firmware's bits for every row.
    #[default]
    Separate,
    /// Fused multiply-adds in the solvers' hot loops ([`wmf_kernel::Fused`]):
    /// the default for training on hosts.
    Fused,
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
        /// How the CG passes store the fixed side's rows (model files
        /// written before this field read as [`CgRows::F32`]).
        #[serde(default)]
        rows: CgRows,
    },
    /// Element-wise ALS (He et al. 2016).
    Eals {
        /// Coordinate sweeps per row per half-iteration.
        sweeps: usize,
    },
}

/// How the CG solver's observed-cell passes store the fixed side's rows
/// (`wmf train --cg-rows`).
///
/// Each CG step reads one fixed-side row per observed cell. When the fixed
/// side is larger than the last-level cache (the item half of an ML-20M-sized
/// problem at k = 128: `W` is 70 MB) those reads, not the arithmetic, bound
/// the solve, and rows of half the bytes make it faster (BENCHMARKS.md,
/// batch 19). `G0`, the solution and every vector of the solve stay `f32`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CgRows {
    /// The rows as they are (`f32`).
    #[default]
    F32,
    /// The rows rounded to bfloat16 once per half-iteration
    /// ([`wmf_kernel::Bf16Factors`]): 8 significant bits, relative error
    /// at most 2⁻⁸ per element. Each row then solves
    /// `(G0 + Σ_obs (c − c0) ĥ ĥᵀ + λ I) x = Σ_obs c x ĥ` with the rounded
    /// rows `ĥ` and the exact `G0`.
    Bf16,
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
    /// How the row solves round their multiply-adds.
    #[serde(default)]
    pub arith: Arith,
}

impl Solver {
    /// [`Solver::Cg`] with `steps` steps and `f32` rows.
    pub fn cg(steps: usize) -> Self {
        Solver::Cg {
            steps,
            rows: CgRows::F32,
        }
    }
}

impl TrainConfig {
    /// Whether rows may have different `λ`s: a non-zero `lambda` scaled by
    /// each row's count ([`RegScaling::Frequency`] with `nu != 0`).
    pub fn lambda_per_row(&self) -> bool {
        self.lambda != 0.0 && matches!(self.reg_scaling, RegScaling::Frequency { nu } if nu != 0.0)
    }
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
            solver: Solver::Cg {
                steps: 3,
                rows: CgRows::F32,
            },
            seed: 42,
            threads: 1,
            arith: Arith::Fused,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cg_row_storage_round_trips_and_older_configs_read_as_f32() {
        let bf16 = Solver::Cg {
            steps: 4,
            rows: CgRows::Bf16,
        };
        let json = serde_json::to_string(&bf16).unwrap();
        assert_eq!(json, r#"{"Cg":{"steps":4,"rows":"Bf16"}}"#);
        assert_eq!(serde_json::from_str::<Solver>(&json).unwrap(), bf16);
        // a model file written before the field existed
        let old: Solver = serde_json::from_str(r#"{"Cg":{"steps":3}}"#).unwrap();
        assert_eq!(old, Solver::cg(3));
        assert!(serde_json::from_str::<Solver>(r#"{"Cg":{"steps":3,"rows":"F16"}}"#).is_err());
    }
}
