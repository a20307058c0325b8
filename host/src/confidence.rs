//! From stored interaction values to confidences `c_uj` and unobserved-cell
//! weights `c0_j`.
//!
//! - [`Confidence::Linear`]: `c = 1 + alpha r` (Hu, Koren & Volinsky 2008, eq. 5).
//! - [`Confidence::Log`]: `c = 1 + alpha ln(1 + r / eps)` (Hu et al. 2008, eq. 6).
//! - [`Confidence::AsIs`]: `c = r`.
//! - [`BaselineWeight::Uniform`]: `c0_j = c0` for every item.
//! - [`BaselineWeight::Popularity`]: `c0_j = c0 · f_j^beta / Σ_l f_l^beta` with
//!   `f_j` the number of stored cells in item column `j` (eALS, He et al. 2016).
//!
//! Every observed cell has preference 1 (Hu et al.'s binarised preference).

use crate::error::{Error, Result};
use crate::model::{BaselineWeight, Confidence};
use crate::sparse::Csr;

fn finite_nonneg(v: f32, what: &'static str) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::invalid(what, format!("{v} is not finite")));
    }
    if v < 0.0 {
        return Err(Error::invalid(what, format!("{v} is negative")));
    }
    Ok(())
}

/// Checks the parameters of a confidence scheme: `alpha` finite and `>= 0`,
/// `eps` finite and `> 0`. Errors name the flag (`--alpha`, `--eps`).
///
/// # Errors
/// [`Error::Invalid`] naming the parameter.
pub fn validate_confidence(conf: Confidence) -> Result<()> {
    match conf {
        Confidence::Linear { alpha } => finite_nonneg(alpha, "--alpha"),
        Confidence::Log { alpha, eps } => {
            finite_nonneg(alpha, "--alpha")?;
            finite_nonneg(eps, "--eps")?;
            if eps == 0.0 {
                return Err(Error::invalid("--eps", "must be > 0"));
            }
            Ok(())
        }
        Confidence::AsIs => Ok(()),
    }
}

/// Checks the parameters of a baseline weight: `c0` finite and `>= 0`,
/// `beta` finite and `>= 0`. Errors name the flag (`--c0`, `--popularity-beta`).
///
/// # Errors
/// [`Error::Invalid`] naming the parameter.
pub fn validate_baseline(baseline: BaselineWeight) -> Result<()> {
    match baseline {
        BaselineWeight::Uniform { c0 } => finite_nonneg(c0, "--c0"),
        BaselineWeight::Popularity { c0, beta } => {
            finite_nonneg(c0, "--c0")?;
            finite_nonneg(beta, "--popularity-beta")
        }
    }
}

/// The confidence of one stored value `r` (`r` finite and `>= 0`, checked by the caller).
///
/// ```
/// use wmf_host::{Confidence, confidence::confidence_of};
/// assert_eq!(confidence_of(Confidence::Linear { alpha: 2.0 }, 3.0), 7.0);
/// assert_eq!(confidence_of(Confidence::AsIs, 3.0), 3.0);
/// ```
#[inline]
pub fn confidence_of(conf: Confidence, r: f32) -> f32 {
    match conf {
        Confidence::Linear { alpha } => 1.0 + alpha * r,
        Confidence::Log { alpha, eps } => 1.0 + alpha * (r / eps).ln_1p(),
        Confidence::AsIs => r,
    }
}

/// The confidence matrix: `values` with every stored value `r` mapped to
/// [`confidence_of`]`(conf, r)`, same structure (a copy; see
/// [`confidence_in_place`] to convert without one).
///
/// # Errors
/// As [`confidence_in_place`].
pub fn confidence_matrix(values: &Csr, conf: Confidence) -> Result<Csr> {
    let mut out = values.clone();
    confidence_in_place(&mut out, conf)?;
    Ok(out)
}

/// Maps every stored value `r` of `values` to [`confidence_of`]`(conf, r)` in
/// place (no second copy of the matrix).
///
/// # Errors
/// [`Error::Invalid`] for bad parameters ([`validate_confidence`]), for a
/// stored value that is NaN, infinite or negative (naming row and column), or
/// for a confidence that overflows. On error the values before the failing
/// cell (in row order) are already converted and the rest are not.
///
/// ```
/// use wmf_host::{Confidence, Csr, confidence::confidence_in_place};
/// let mut x = Csr::from_triplets(1, 2, &[(0, 0, 1.0), (0, 1, 3.0)]).unwrap();
/// confidence_in_place(&mut x, Confidence::Linear { alpha: 2.0 }).unwrap();
/// assert_eq!(x.values, vec![3.0, 7.0]);
/// ```
pub fn confidence_in_place(values: &mut Csr, conf: Confidence) -> Result<()> {
    validate_confidence(conf)?;
    let Csr {
        indptr,
        indices,
        values: vals,
        ..
    } = values;
    for (i, w) in indptr.windows(2).enumerate() {
        let (a, b) = (w[0] as usize, w[1] as usize);
        for (&j, v) in indices[a..b].iter().zip(&mut vals[a..b]) {
            let r = *v;
            if !r.is_finite() || r < 0.0 {
                return Err(Error::invalid(
                    "value",
                    format!("row {i}, column {j}: {r} (values must be finite and >= 0)"),
                ));
            }
            let c = confidence_of(conf, r);
            if !c.is_finite() {
                return Err(Error::invalid(
                    "--alpha",
                    format!("confidence of row {i}, column {j} overflows ({r} -> {c})"),
                ));
            }
            *v = c;
        }
    }
    Ok(())
}

/// Number of stored cells in every column of `values` (`ncols` counts).
pub fn column_counts(values: &Csr) -> Vec<u64> {
    let mut f = vec![0u64; values.ncols];
    for &j in &values.indices {
        if let Some(c) = f.get_mut(j as usize) {
            *c += 1;
        }
    }
    f
}

/// The per-item weight `c0_j` of unobserved cells (`n` values) from the item
/// interaction counts `counts` (`f_j`).
///
/// Uniform: `c0_j = c0`. Popularity: `c0_j = c0 · f_j^beta / Σ_l f_l^beta`
/// (items with `f_j = 0` get 0 when `beta > 0`).
///
/// # Errors
/// [`Error::Invalid`] for bad parameters ([`validate_baseline`]), or for
/// popularity weighting when no item has an interaction.
///
/// ```
/// use wmf_host::{BaselineWeight, confidence::item_baseline};
/// let c0 = item_baseline(BaselineWeight::Popularity { c0: 2.0, beta: 1.0 }, &[1, 3]).unwrap();
/// assert_eq!(c0, vec![0.5, 1.5]);
/// ```
pub fn item_baseline(baseline: BaselineWeight, counts: &[u64]) -> Result<Vec<f32>> {
    validate_baseline(baseline)?;
    match baseline {
        BaselineWeight::Uniform { c0 } => Ok(vec![c0; counts.len()]),
        BaselineWeight::Popularity { c0, beta } => {
            let pw: Vec<f64> = counts
                .iter()
                .map(|&f| {
                    if f == 0 && beta > 0.0 {
                        0.0
                    } else {
                        (f as f64).powf(beta as f64)
                    }
                })
                .collect();
            let total: f64 = pw.iter().sum();
            if total.is_nan() || total <= 0.0 || !total.is_finite() {
                return Err(Error::invalid(
                    "--popularity-beta",
                    "popularity weighting needs at least one item with interactions",
                ));
            }
            Ok(pw.iter().map(|&p| (c0 as f64 * p / total) as f32).collect())
        }
    }
}

/// True when every `c0_j` is the same (the item half can then share one Gramian).
pub fn uniform_value(c0: &[f32]) -> Option<f32> {
    let first = *c0.first()?;
    c0.iter().all(|&c| c == first).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_errors() {
        let v = Csr::from_triplets(2, 3, &[(0, 0, 1.0), (1, 2, 3.0)]).unwrap();
        let c = confidence_matrix(
            &v,
            Confidence::Log {
                alpha: 1.0,
                eps: 1.0,
            },
        )
        .unwrap();
        assert!((c.values[0] - (1.0 + 2f32.ln())).abs() < 1e-6);
        let err = confidence_matrix(
            &v,
            Confidence::Log {
                alpha: 1.0,
                eps: 0.0,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("--eps"), "{err}");
        let err = confidence_matrix(&v, Confidence::Linear { alpha: -1.0 }).unwrap_err();
        assert!(err.to_string().contains("--alpha"), "{err}");
        let bad = Csr::from_triplets(1, 1, &[(0, 0, -2.0)]).unwrap();
        let err = confidence_matrix(&bad, Confidence::AsIs).unwrap_err();
        assert!(err.to_string().contains("row 0, column 0"), "{err}");
        assert_eq!(column_counts(&v), vec![1, 0, 1]);
        let err =
            item_baseline(BaselineWeight::Popularity { c0: 1.0, beta: 0.5 }, &[0, 0]).unwrap_err();
        assert!(err.to_string().contains("--popularity-beta"), "{err}");
        assert!(item_baseline(BaselineWeight::Uniform { c0: f32::NAN }, &[1]).is_err());
        assert_eq!(uniform_value(&[1.0, 1.0]), Some(1.0));
        assert_eq!(uniform_value(&[1.0, 2.0]), None);
    }
}
