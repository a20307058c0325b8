//! Fold-in of a user who is not in the model (`recalculate_user` in
//! `implicit`), and partial refit of chosen users or items of a trained model.
//!
//! Fold-in solves the new user's row against the model's item side
//! `Items = (H, G0 = Hᵀ diag(c0) H, c0)` with the kernel's row solver, using
//! the model's confidence scheme and regularisation; CG and eALS start from
//! zero.

use ndarray::Array2;
use wmf_kernel::{Baseline, Factors, Items, Row};

use crate::als::{Als, Problem, Scratch, solve_one};
use crate::confidence::{confidence_of, uniform_value};
use crate::error::{Error, Result};
use crate::gramian::{GramWeights, gramian_blocked};
use crate::model::{Model, RegScaling, Solver};
use crate::sparse::{Csr, duplicate_overflow, sum_duplicate};

/// Sorts `(item, value)` pairs by item and sums duplicates, checking every
/// item `< n`, every value finite and `>= 0`, and every sum finite.
///
/// # Errors
/// [`Error::Invalid`] naming the position of the bad pair (or the item whose
/// duplicates sum past `f32::MAX`).
pub fn normalise_interactions(
    interactions: &[(u32, f32)],
    n: usize,
) -> Result<(Vec<u32>, Vec<f32>)> {
    for (t, &(j, v)) in interactions.iter().enumerate() {
        if j as usize >= n {
            return Err(Error::invalid(
                "interaction",
                format!("#{t}: item index {j} is out of range (the model has {n} items)"),
            ));
        }
        if !v.is_finite() || v < 0.0 {
            return Err(Error::invalid(
                "interaction",
                format!("#{t}: value {v} must be finite and >= 0"),
            ));
        }
    }
    let mut pairs = interactions.to_vec();
    pairs.sort_by_key(|&(j, _)| j);
    let (mut items, mut vals): (Vec<u32>, Vec<f32>) = (Vec::new(), Vec::new());
    for (j, v) in pairs {
        if items.last() == Some(&j) {
            if let Some(x) = vals.last_mut() {
                *x = sum_duplicate(*x, v).ok_or_else(|| {
                    Error::invalid(
                        "interaction",
                        duplicate_overflow("this user", format_args!("item {j}")),
                    )
                })?;
            }
        } else {
            items.push(j);
            vals.push(v);
        }
    }
    Ok((items, vals))
}

/// The item Gramian `G0 = Hᵀ diag(c0) H` of a model, on BLAS.
///
/// # Errors
/// As [`crate::gramian::gramian_weighted`].
pub fn model_gramian(model: &Model) -> Result<Array2<f32>> {
    match uniform_value(&model.item_c0) {
        Some(c) => gramian_blocked(model.item_factors.view(), GramWeights::Uniform(c)),
        None => gramian_blocked(
            model.item_factors.view(),
            GramWeights::PerRow(&model.item_c0),
        ),
    }
}

/// A new user's factor (`k`) from their raw `(item index, value)`
/// interactions (duplicates summed), solved against the model's items with
/// `solver` (default: the model's). Pass a precomputed `g0`
/// ([`model_gramian`]) when folding in many users.
///
/// # Errors
/// [`Error::Invalid`] for bad interactions; [`Error::Kernel`] from the solver.
pub fn recalculate_user(
    model: &Model,
    interactions: &[(u32, f32)],
    solver: Option<Solver>,
    g0: Option<&Array2<f32>>,
) -> Result<Vec<f32>> {
    let (n, k) = model.item_factors.dim();
    let (items, vals) = normalise_interactions(interactions, n)?;
    let conf: Vec<f32> = vals
        .iter()
        .map(|&r| confidence_of(model.config.confidence, r))
        .collect();
    let owned;
    let g0 = match g0 {
        Some(g) => g,
        None => {
            owned = model_gramian(model)?;
            &owned
        }
    };
    let hs = model
        .item_factors
        .as_slice()
        .ok_or_else(|| Error::invalid("item factors", "must be in standard layout"))?;
    let fac = Factors::new(hs, n, k).map_err(|e| Error::kernel("checking the item factors", e))?;
    let baseline = match uniform_value(&model.item_c0) {
        Some(c) => Baseline::Uniform(c),
        None => Baseline::PerItem(&model.item_c0),
    };
    let g0s = g0
        .as_slice()
        .ok_or_else(|| Error::invalid("g0", "layout"))?;
    Items::new(fac, g0s, baseline).map_err(|e| Error::kernel("checking the item side", e))?;
    let lambda = match model.config.reg_scaling {
        RegScaling::None => model.config.lambda,
        RegScaling::Frequency { nu } => {
            (model.config.lambda as f64 * (1.0 + items.len() as f64).powf(nu as f64)) as f32
        }
    };
    let mut x = vec![0f32; k];
    let mut scratch = Scratch::new(k);
    solve_one(
        fac,
        crate::als::FixedSide::Shared {
            g0: g0s,
            c0: baseline,
        },
        0,
        &Row::implicit(&items, &conf),
        lambda,
        solver.unwrap_or(model.config.solver),
        model.config.arith,
        &mut x,
        &mut scratch,
    )
    .map_err(|e| Error::kernel("folding in the user", e))?;
    Ok(x)
}

fn refit(
    model: &mut Model,
    values: &Csr,
    users: Option<&[u32]>,
    items: Option<&[u32]>,
) -> Result<()> {
    if values.nrows != model.user_factors.nrows() || values.ncols != model.item_factors.nrows() {
        return Err(Error::invalid(
            "interactions",
            format!(
                "a {} x {} matrix does not match the model's {} users and {} items",
                values.nrows,
                values.ncols,
                model.user_factors.nrows(),
                model.item_factors.nrows()
            ),
        ));
    }
    let problem = Problem::<f32>::new(values, &model.config)?;
    let mut als = Als::with_factors(
        problem,
        &model.config,
        model.user_factors.clone(),
        model.item_factors.clone(),
    )?
    .with_ids(model.user_ids.clone(), model.item_ids.clone());
    if let Some(u) = users {
        als.user_half(Some(u))?;
    }
    if let Some(i) = items {
        als.item_half(Some(i))?;
    }
    model.user_factors = als.w;
    model.item_factors = als.h;
    Ok(())
}

/// Re-solves only the rows of `users` (with the item factors fixed) against
/// the interactions `values` (`m x n`, same shape as the model), e.g. after
/// those users gained interactions.
///
/// # Errors
/// [`Error::Invalid`] for a shape mismatch or a bad index; solver errors.
pub fn refit_users(model: &mut Model, values: &Csr, users: &[u32]) -> Result<()> {
    refit(model, values, Some(users), None)
}

/// Re-solves only the rows of `items` (with the user factors fixed).
///
/// # Errors
/// As [`refit_users`].
pub fn refit_items(model: &mut Model, values: &Csr, items: &[u32]) -> Result<()> {
    refit(model, values, None, Some(items))
}
