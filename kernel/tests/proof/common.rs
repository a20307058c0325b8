//! Test machinery kept apart from the shipped crate: seeded problem
//! generators, a plain `f64` reference written straight from the dense
//! formulas, error measures and one tolerance function per operation.

#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wmf_kernel::{Baseline, Factors, Items, Real, Row, gramian};

/// True when running under Miri: every test shrinks its sizes and trial counts.
pub const MIRI: bool = cfg!(miri);

/// A seeded RNG: every test is reproducible from its seed.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `normal` trials natively, `miri` under Miri.
pub fn trials(normal: usize, miri: usize) -> usize {
    if MIRI { miri } else { normal }
}

/// A value exactly representable in `f32`, so the same inputs can be fed to
/// both precisions.
pub fn f32_exact(v: f64) -> f64 {
    v as f32 as f64
}

/// Uniform in `[lo, hi)`, rounded to `f32`.
pub fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    f32_exact(rng.gen_range(lo..hi))
}

/// `len` distinct indices below `n`, ascending (a partial Fisher-Yates
/// shuffle of `0..n`, then sorted): the items of a random row.
pub fn sorted_sample(rng: &mut StdRng, n: usize, len: usize) -> Vec<u32> {
    let mut items: Vec<u32> = (0..n as u32).collect();
    for i in 0..len {
        let s = rng.gen_range(i..n);
        items.swap(i, s);
    }
    items.truncate(len);
    items.sort_unstable();
    items
}

/// `len` values uniform in `[lo, hi)`, rounded to `f32`.
pub fn uniform_vec(rng: &mut StdRng, len: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..len).map(|_| uniform(rng, lo, hi)).collect()
}

/// Converts a slice of `f64` to `T` (rounding for `f32`).
pub fn cast<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}

/// Converts a slice of `T` to `f64` exactly.
pub fn wide<T: Real>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

/// Euclidean norm.
pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `|got − want| / |want|` (the absolute error when `want` is zero).
pub fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "rel_err: length mismatch");
    let diff: Vec<f64> = got.iter().zip(want).map(|(a, b)| a - b).collect();
    let scale = norm(want);
    if scale == 0.0 {
        norm(&diff)
    } else {
        norm(&diff) / scale
    }
}

/// `|got − want| / max(|want|, 1)`: relative for large values, absolute for
/// small ones (where a relative error would compare rounding noise).
pub fn rel_err_floor(got: &[f64], want: &[f64]) -> f64 {
    let diff: Vec<f64> = got.iter().zip(want).map(|(a, b)| a - b).collect();
    norm(&diff) / norm(want).max(1.0)
}

/// [`rel_err`] of two scalars.
pub fn rel_err1(got: f64, want: f64) -> f64 {
    rel_err(&[got], &[want])
}

/// Tolerances, one function per operation. Each says why it is what it is.
pub mod tol {
    use wmf_kernel::Real;

    fn is_f32<T: Real>() -> bool {
        T::EPSILON.to_f64() > 1e-10
    }

    /// Finite-difference gradient check (f64, relative, whole gradient). The
    /// losses are quadratic in each single coordinate, so central differences
    /// have no truncation error; what is left is rounding, ~`eps |f| / step`.
    pub fn gradient_fd() -> f64 {
        1e-6
    }

    /// Central-difference step for a coordinate of magnitude `x`: large,
    /// because the truncation error is zero for a quadratic (see [`gradient_fd`]).
    pub fn fd_step(x: f64) -> f64 {
        1e-3 * x.abs().max(1.0)
    }

    /// Implicit (Gramian) form against the dense formulas, f64, relative.
    pub fn implicit_form() -> f64 {
        1e-10
    }

    /// Dense block kernels against the plain reference, f64, relative.
    pub fn dense_block() -> f64 {
        1e-12
    }

    /// Gramian against the reference: `n` rank-1 updates of size `k x k`.
    pub fn gramian<T: Real>(n: usize) -> f64 {
        8.0 * (n as f64 + 1.0) * T::EPSILON.to_f64()
    }

    /// Relative residual `|A x − b| / |b|` of a row solution.
    pub fn normal_residual<T: Real>() -> f64 {
        if is_f32::<T>() { 1e-4 } else { 1e-10 }
    }

    /// Cholesky, CG and eALS solutions against each other (relative). The
    /// problems are generated with `cond(A) < 1e3`, so a residual at the
    /// [`normal_residual`] level moves the solution by at most that much.
    pub fn solver_agreement<T: Real>() -> f64 {
        if is_f32::<T>() { 2e-3 } else { 1e-8 }
    }

    /// The online update's cached `A`, `b` against recomputing them.
    pub fn online_state<T: Real>() -> f64 {
        if is_f32::<T>() { 1e-5 } else { 1e-13 }
    }

    /// An `f32` result against the `f64` result on the same inputs: a few
    /// hundred roundings for accumulations, times the conditioning for solves.
    pub fn f32_vs_f64(op: &str) -> f64 {
        match op {
            "solve" => 2e-3,
            _ => 2e-5,
        }
    }
}

/// One user's sparse row, owned.
#[derive(Debug, Clone)]
pub struct RowData<T> {
    pub items: Vec<u32>,
    pub conf: Vec<T>,
    pub pref: Option<Vec<T>>,
}

impl<T: Real> RowData<T> {
    pub fn row(&self) -> Row<'_, T> {
        Row::new(&self.items, &self.conf, self.pref.as_deref())
    }

    pub fn cast<U: Real>(&self) -> RowData<U> {
        RowData {
            items: self.items.clone(),
            conf: cast(&wide(&self.conf)),
            pref: self.pref.as_ref().map(|p| cast(&wide(p))),
        }
    }

    /// Dense preference and confidence rows (`n` each): observed cells from the
    /// row, every other cell preference 0 and confidence `c0_j`.
    pub fn dense(&self, n: usize, c0: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let mut x = vec![0.0; n];
        let mut c = c0.to_vec();
        for (t, &j) in self.items.iter().enumerate() {
            let j = j as usize;
            c[j] = self.conf[t].to_f64();
            x[j] = self.pref.as_ref().map_or(1.0, |p| p[t].to_f64());
        }
        (x, c)
    }
}

/// An implicit-feedback problem: `m` users with sparse rows over `n` items, item
/// factors `H` (`n x k`), user factors `W` (`m x k`), baseline weights.
#[derive(Debug, Clone)]
pub struct Model<T> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub h: Vec<T>,
    pub w: Vec<T>,
    /// `c0_j` for every item (equal entries when `uniform`).
    pub c0: Vec<T>,
    pub uniform: bool,
    /// `G0 = Hᵀ diag(c0) H` computed by the kernel (checked against the reference elsewhere).
    pub g0: Vec<T>,
    pub rows: Vec<RowData<T>>,
}

/// Options for [`Model::random`].
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub per_item_c0: bool,
    pub explicit_pref: bool,
    /// Fraction of cells observed.
    pub density: f64,
}

impl Model<f64> {
    /// A seeded random problem, every value exactly representable in `f32`.
    /// Confidences lie in `[0, 8)`, so some observed cells weigh less than `c0`.
    pub fn random(rng: &mut StdRng, s: Spec) -> Self {
        let h = uniform_vec(rng, s.n * s.k, -1.0, 1.0);
        let w = uniform_vec(rng, s.m * s.k, -1.0, 1.0);
        let c0 = if s.per_item_c0 {
            uniform_vec(rng, s.n, 0.1, 2.0)
        } else {
            vec![uniform(rng, 0.5, 1.5); s.n]
        };
        let rows = (0..s.m)
            .map(|_| {
                let items: Vec<u32> = (0..s.n as u32)
                    .filter(|_| rng.gen_bool(s.density))
                    .collect();
                let conf = uniform_vec(rng, items.len(), 0.0, 8.0);
                let pref = s
                    .explicit_pref
                    .then(|| uniform_vec(rng, items.len(), -1.0, 2.0));
                RowData { items, conf, pref }
            })
            .collect();
        let mut model = Model {
            m: s.m,
            n: s.n,
            k: s.k,
            h,
            w,
            c0,
            uniform: !s.per_item_c0,
            g0: vec![0.0; s.k * s.k],
            rows,
        };
        model.refresh_g0();
        model
    }
}

impl<T: Real> Model<T> {
    /// Recomputes `g0` with the kernel's [`gramian`].
    pub fn refresh_g0(&mut self) {
        let mut g0 = vec![T::ZERO; self.k * self.k];
        gramian(&self.factors(), self.baseline(), &mut g0).expect("gramian");
        self.g0 = g0;
    }

    pub fn factors(&self) -> Factors<'_, T> {
        Factors::new(&self.h, self.n, self.k).expect("valid factors")
    }

    pub fn baseline(&self) -> Baseline<'_, T> {
        if self.uniform {
            Baseline::Uniform(self.c0[0])
        } else {
            Baseline::PerItem(&self.c0)
        }
    }

    pub fn items(&self) -> Items<'_, T> {
        Items::new(self.factors(), &self.g0, self.baseline()).expect("valid items")
    }

    pub fn w_row(&self, u: usize) -> &[T] {
        &self.w[u * self.k..(u + 1) * self.k]
    }

    /// The same problem in another precision (`g0` recomputed there).
    pub fn cast<U: Real>(&self) -> Model<U> {
        let mut out = Model {
            m: self.m,
            n: self.n,
            k: self.k,
            h: cast(&wide(&self.h)),
            w: cast(&wide(&self.w)),
            c0: cast(&wide(&self.c0)),
            uniform: self.uniform,
            g0: Vec::new(),
            rows: self.rows.iter().map(RowData::cast).collect(),
        };
        out.refresh_g0();
        out
    }

    /// Dense `X`, `C` (`m x n`, f64) equivalent to the sparse rows and baseline.
    pub fn dense(&self) -> (Vec<f64>, Vec<f64>) {
        let c0 = wide(&self.c0);
        let mut x = Vec::with_capacity(self.m * self.n);
        let mut c = Vec::with_capacity(self.m * self.n);
        for r in &self.rows {
            let (xr, cr) = r.dense(self.n, &c0);
            x.extend(xr);
            c.extend(cr);
        }
        (x, c)
    }
}

/// The plain `f64` reference: the dense formulas of the model, written out
/// with explicit loops and no cleverness.
pub mod reference {
    // Index loops mirror the subscripts of the formulas.
    #![allow(clippy::needless_range_loop)]

    /// `Σ_a u_a v_a`.
    pub fn dot(u: &[f64], v: &[f64]) -> f64 {
        u.iter().zip(v).map(|(a, b)| a * b).sum()
    }

    fn row(v: &[f64], i: usize, k: usize) -> &[f64] {
        &v[i * k..(i + 1) * k]
    }

    /// `R_ij = C_ij (X_ij − W_i·H_j)`.
    pub fn weighted_residual(
        x: &[f64],
        c: &[f64],
        w: &[f64],
        h: &[f64],
        (m, n, k): (usize, usize, usize),
    ) -> Vec<f64> {
        let mut r = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                r[i * n + j] = c[i * n + j] * (x[i * n + j] - dot(row(w, i, k), row(h, j, k)));
            }
        }
        r
    }

    /// `Σ_ij C_ij (X_ij − W_i·H_j)² + λ(|W|² + |H|²)`.
    pub fn loss(
        x: &[f64],
        c: &[f64],
        w: &[f64],
        h: &[f64],
        (m, n, k): (usize, usize, usize),
        lambda: f64,
    ) -> f64 {
        let mut f = 0.0;
        for i in 0..m {
            for j in 0..n {
                let e = x[i * n + j] - dot(row(w, i, k), row(h, j, k));
                f += c[i * n + j] * e * e;
            }
        }
        f + lambda * (dot(w, w) + dot(h, h))
    }

    /// `∂f/∂W_ia = −2 Σ_j R_ij H_ja + 2λ W_ia`.
    pub fn grad_w(
        x: &[f64],
        c: &[f64],
        w: &[f64],
        h: &[f64],
        (m, n, k): (usize, usize, usize),
        lambda: f64,
    ) -> Vec<f64> {
        let r = weighted_residual(x, c, w, h, (m, n, k));
        let mut g = vec![0.0; m * k];
        for i in 0..m {
            for a in 0..k {
                let mut s = 0.0;
                for j in 0..n {
                    s += r[i * n + j] * h[j * k + a];
                }
                g[i * k + a] = -2.0 * s + 2.0 * lambda * w[i * k + a];
            }
        }
        g
    }

    /// `∂f/∂H_ja = −2 Σ_i R_ij W_ia + 2λ H_ja`.
    pub fn grad_h(
        x: &[f64],
        c: &[f64],
        w: &[f64],
        h: &[f64],
        (m, n, k): (usize, usize, usize),
        lambda: f64,
    ) -> Vec<f64> {
        let r = weighted_residual(x, c, w, h, (m, n, k));
        let mut g = vec![0.0; n * k];
        for j in 0..n {
            for a in 0..k {
                let mut s = 0.0;
                for i in 0..m {
                    s += r[i * n + j] * w[i * k + a];
                }
                g[j * k + a] = -2.0 * s + 2.0 * lambda * h[j * k + a];
            }
        }
        g
    }

    /// `G_ab = Σ_j c0_j H_ja H_jb`.
    pub fn gramian(h: &[f64], c0: &[f64], n: usize, k: usize) -> Vec<f64> {
        let mut g = vec![0.0; k * k];
        for a in 0..k {
            for b in 0..k {
                g[a * k + b] = (0..n).map(|j| c0[j] * h[j * k + a] * h[j * k + b]).sum();
            }
        }
        g
    }

    /// One user's dense loss `Σ_j c_j (x_j − w·h_j)² + λ|w|²` (`x`, `c`: `n`).
    pub fn row_loss(x: &[f64], c: &[f64], h: &[f64], w: &[f64], lambda: f64) -> f64 {
        let k = w.len();
        let mut f = 0.0;
        for j in 0..x.len() {
            let e = x[j] - dot(w, row(h, j, k));
            f += c[j] * e * e;
        }
        f + lambda * dot(w, w)
    }

    /// One user's dense normal equations `A = Σ_j c_j h_j h_jᵀ + λI`, `b = Σ_j c_j x_j h_j`.
    pub fn normal_equations(
        x: &[f64],
        c: &[f64],
        h: &[f64],
        k: usize,
        lambda: f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let mut a = vec![0.0; k * k];
        let mut b = vec![0.0; k];
        for j in 0..x.len() {
            let hj = row(h, j, k);
            for p in 0..k {
                for q in 0..k {
                    a[p * k + q] += c[j] * hj[p] * hj[q];
                }
                b[p] += c[j] * x[j] * hj[p];
            }
        }
        for d in 0..k {
            a[d * k + d] += lambda;
        }
        (a, b)
    }

    /// `A v` for a `k x k` row-major `A`.
    pub fn matvec(a: &[f64], v: &[f64]) -> Vec<f64> {
        a.chunks(v.len()).map(|r| dot(r, v)).collect()
    }

    /// `|A x − b| / |b|`.
    pub fn residual(a: &[f64], b: &[f64], x: &[f64]) -> f64 {
        let ax = matvec(a, x);
        super::rel_err(&ax, b)
    }

    /// Solves `A x = b` by Gaussian elimination with partial pivoting
    /// (deliberately not Cholesky, to be independent of the kernel).
    pub fn solve(a: &[f64], b: &[f64]) -> Vec<f64> {
        let k = b.len();
        let mut m: Vec<Vec<f64>> = (0..k)
            .map(|r| {
                let mut v = a[r * k..(r + 1) * k].to_vec();
                v.push(b[r]);
                v
            })
            .collect();
        for col in 0..k {
            let piv = (col..k)
                .max_by(|&p, &q| m[p][col].abs().total_cmp(&m[q][col].abs()))
                .expect("non-empty");
            m.swap(col, piv);
            for r in (col + 1)..k {
                let f = m[r][col] / m[col][col];
                for c in col..=k {
                    m[r][c] -= f * m[col][c];
                }
            }
        }
        let mut x = vec![0.0; k];
        for r in (0..k).rev() {
            let s: f64 = ((r + 1)..k).map(|c| m[r][c] * x[c]).sum();
            x[r] = (m[r][k] - s) / m[r][r];
        }
        x
    }

    /// The best `cap` items by score, descending, equal scores in ascending
    /// item order, skipping `exclude`: sort everything, take the front.
    pub fn top_n(scores: &[f64], exclude: &[u32], cap: usize) -> Vec<(u32, f64)> {
        let mut all: Vec<(u32, f64)> = scores
            .iter()
            .enumerate()
            .filter(|(j, _)| !exclude.contains(&(*j as u32)))
            .map(|(j, &s)| (j as u32, s))
            .collect();
        all.sort_by(|a, b| b.1.partial_cmp(&a.1).expect("finite").then(a.0.cmp(&b.0)));
        all.truncate(cap);
        all
    }
}
