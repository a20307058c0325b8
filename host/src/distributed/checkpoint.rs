//! Checkpoints of a distributed run.
//!
//! A checkpoint is a directory holding `checkpoint.wmf`: an ordinary model
//! file ([`crate::model_io`], checksummed, written atomically with
//! [`crate::model_io::atomic_write`]) of the factors after the last completed
//! iteration, whose `config.iterations` is the number of completed
//! iterations. Rank 0 writes it (it holds all factors); on resume rank 0 reads
//! it, checks that it belongs to this run (same hyper-parameters except
//! `iterations` and `threads`, same user and item ids in the same order) and
//! broadcasts the factors. The iteration is deterministic given the factors,
//! so a resumed run ends with the same factors as an uninterrupted one.
//!
//! (Single-process checkpoints were being designed at the same time on
//! another branch; this format is self-contained: it is a model file.)

use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::comm::Comm;
use super::train::DistAls;
use crate::error::{Error, Result};
use crate::ids::IdMap;
use crate::model::{Model, TrainConfig};

/// The checkpoint file inside a checkpoint directory.
pub fn file(dir: &Path) -> PathBuf {
    dir.join("checkpoint.wmf")
}

/// Writes the checkpoint after `iterations` completed iterations (rank 0),
/// and agrees on the outcome.
///
/// # Errors
/// [`Error::Distributed`] when rank 0 cannot write it.
pub fn write(
    comm: &Comm,
    dir: &Path,
    als: &DistAls<'_>,
    iterations: usize,
    user_ids: &IdMap,
    item_ids: &IdMap,
) -> Result<()> {
    let r = if comm.rank() == 0 {
        (|| {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let model = Model {
                config: TrainConfig {
                    iterations,
                    ..als.config.clone()
                },
                user_factors: als.w.clone(),
                item_factors: als.h.clone(),
                item_c0: als.c0.clone(),
                user_ids: user_ids.clone(),
                item_ids: item_ids.clone(),
            };
            let bytes = crate::model_io::to_bytes(&model)?;
            crate::model_io::atomic_write(&file(dir), &bytes)
        })()
    } else {
        Ok(())
    };
    comm.agree(r)
}

/// Factors restored from a checkpoint.
#[derive(Debug)]
pub struct State {
    /// User factors.
    pub w: Array2<f32>,
    /// Item factors.
    pub h: Array2<f32>,
    /// Completed iterations.
    pub iterations: usize,
}

fn same_run(a: &TrainConfig, b: &TrainConfig) -> bool {
    let norm = |c: &TrainConfig| TrainConfig {
        iterations: 0,
        threads: 1,
        ..c.clone()
    };
    norm(a) == norm(b)
}

fn read(path: &Path, config: &TrainConfig, users: &IdMap, items: &IdMap) -> Result<Model> {
    let model = crate::model_io::load(path)?;
    let bad = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    if !same_run(&model.config, config) {
        return Err(bad(format!(
            "the checkpoint was made with other training parameters ({:?}); resume with the same flags",
            model.config
        )));
    }
    if model.config.iterations > config.iterations {
        return Err(bad(format!(
            "the checkpoint is after iteration {}, beyond --iterations {}",
            model.config.iterations, config.iterations
        )));
    }
    if model.user_ids != *users || model.item_ids != *items {
        return Err(bad(
            "the checkpoint's user or item ids differ from the input's (another input file?)"
                .into(),
        ));
    }
    Ok(model)
}

/// Reads the checkpoint in `dir` on rank 0 and hands every rank its factors.
///
/// # Errors
/// [`Error::Distributed`] when the checkpoint is missing, corrupt or from
/// another run.
pub fn resume(
    comm: &Comm,
    dir: &Path,
    config: &TrainConfig,
    users: &IdMap,
    items: &IdMap,
) -> Result<State> {
    let k = config.k;
    let (m, n) = (users.len(), items.len());
    let (mut w, mut h, mut it) = (Vec::new(), Vec::new(), vec![0u64]);
    let r = if comm.rank() == 0 {
        read(&file(dir), config, users, items).map(|model| {
            it[0] = model.config.iterations as u64;
            w = model.user_factors.into_raw_vec_and_offset().0;
            h = model.item_factors.into_raw_vec_and_offset().0;
        })
    } else {
        Ok(())
    };
    comm.agree(r)?;
    comm.broadcast(0, &mut it);
    comm.broadcast(0, &mut w);
    comm.broadcast(0, &mut h);
    let shape = |v: Vec<f32>, rows: usize| {
        Array2::from_shape_vec((rows, k), v)
            .map_err(|e| Error::invalid("checkpoint", e.to_string()))
    };
    Ok(State {
        w: shape(w, m)?,
        h: shape(h, n)?,
        iterations: it[0] as usize,
    })
}
