//! criterion benches of the host's hot paths on a generated dataset:
//! the per-row solve loop (one user half-iteration, CG and Cholesky), the
//! BLAS Gramian, batched scoring with top-N selection, and the training loss.
//!
//! `cargo bench -p wmf-host --bench host`. Sizes are small enough for a
//! 2-core machine (a few seconds per bench); the side-by-side comparison
//! with `implicit` at full size lives in `benches/compare/`.
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

/// The allocator the `wmf` binary uses (large blocks on a cache line), so
/// that these benches measure the same memory layout.
#[global_allocator]
static ALLOC: wmf_host::alloc::CacheLineAlloc = wmf_host::alloc::CacheLineAlloc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use wmf_host::als::Als;
use wmf_host::synth::{SynthConfig, generate};
use wmf_host::{Csr, Solver, TrainConfig};

fn dataset() -> Csr {
    let cfg = SynthConfig {
        users: 6000,
        items: 3000,
        nnz: 200_000,
        seed: 3,
        ..SynthConfig::default()
    };
    generate(&cfg).expect("synthetic data").data.users
}

fn config(k: usize, solver: Solver) -> TrainConfig {
    TrainConfig {
        k,
        iterations: 1,
        lambda: 0.1,
        solver,
        threads: 1,
        ..TrainConfig::default()
    }
}

fn row_solves(c: &mut Criterion) {
    let x = dataset();
    let mut g = c.benchmark_group("user_half");
    g.sample_size(10);
    for k in [64usize, 128] {
        let bf16 = Solver::Cg {
            steps: 3,
            rows: wmf_host::CgRows::Bf16,
        };
        for (name, solver) in [
            ("cg3", Solver::cg(3)),
            ("cg3_bf16", bf16),
            ("cholesky", Solver::Cholesky),
        ] {
            let mut als = Als::<f32>::new(&x, &config(k, solver)).expect("als");
            als.iterate().expect("warm-up iteration");
            g.bench_with_input(BenchmarkId::new(name, k), &k, |b, _| {
                b.iter(|| als.user_half(None).expect("user half"))
            });
        }
    }
    g.finish();
}

fn gramian(c: &mut Criterion) {
    let mut g = c.benchmark_group("gramian");
    g.sample_size(20);
    for k in [64usize, 128] {
        let (_, h) = wmf_host::als::init_factors::<f32>(1, 20_000, k, 1);
        g.bench_with_input(BenchmarkId::new("uniform_20k", k), &k, |b, _| {
            b.iter(|| wmf_host::gramian::gramian_uniform(h.view(), 1.0).expect("gramian"))
        });
    }
    g.finish();
}

/// The turn into the eigenbasis, `rows ← rows Q` over 50k rows in blocks of
/// 64: the register tiles (`wmf_host::tiles`) against one BLAS `gemm` per
/// block into a buffer, copied back (what the turn ran on before).
fn rotation(c: &mut Criterion) {
    let mut g = c.benchmark_group("rotation");
    g.sample_size(20);
    for k in [64usize, 128] {
        let (_, rows) = wmf_host::als::init_factors::<f32>(1, 50_000, k, 1);
        // an orthogonal Q (a Householder reflection `I - 2 v vᵀ / |v|²`), so
        // that the rows keep their size however often they turn
        let v: Vec<f32> = (0..k).map(|i| 1.0 + (i % 7) as f32).collect();
        let vv: f32 = v.iter().map(|x| x * x).sum();
        let q: Vec<f32> = (0..k * k)
            .map(|i| f32::from(u8::from(i / k == i % k)) - 2.0 * v[i / k] * v[i % k] / vv)
            .collect();
        let (q, block) = (&q[..], 64 * k);
        let mut x = rows.as_slice().expect("row-major").to_vec();
        g.bench_with_input(BenchmarkId::new("tiles_50k", k), &k, |b, _| {
            b.iter(|| {
                for rows in x.chunks_mut(block) {
                    wmf_host::tiles::times_q_in_place(rows, q, k);
                }
            })
        });
        let mut tmp = vec![0f32; block];
        g.bench_with_input(BenchmarkId::new("blas_gemm_50k", k), &k, |b, _| {
            b.iter(|| {
                for rows in x.chunks_mut(block) {
                    let n = rows.len() / k;
                    let a = ndarray::ArrayView2::from_shape((n, k), &*rows).expect("shape");
                    let qm = ndarray::ArrayView2::from_shape((k, k), q).expect("shape");
                    let mut o = ndarray::ArrayViewMut2::from_shape((n, k), &mut tmp[..n * k])
                        .expect("shape");
                    ndarray::linalg::general_mat_mul(1.0, &a, &qm, 0.0, &mut o);
                    rows.copy_from_slice(&tmp[..n * k]);
                }
            })
        });
    }
    g.finish();
}

fn scoring(c: &mut Criterion) {
    let x = dataset();
    let mut g = c.benchmark_group("recommend_batch");
    g.sample_size(10);
    let k = 64;
    let mut als = Als::<f32>::new(&x, &config(k, Solver::cg(3))).expect("als");
    als.iterate().expect("iteration");
    let users: Vec<u32> = (0..x.nrows as u32).collect();
    g.bench_function("top10_all_users_k64", |b| {
        b.iter(|| {
            wmf_host::recommend::recommend_batch(
                als.w.view(),
                als.h.view(),
                &users,
                10,
                Some(&x),
                1024,
            )
            .expect("recommend")
        })
    });
    g.finish();
}

fn loss(c: &mut Criterion) {
    let x = dataset();
    let mut g = c.benchmark_group("training_loss");
    g.sample_size(10);
    let mut als = Als::<f32>::new(&x, &config(64, Solver::cg(3))).expect("als");
    als.iterate().expect("iteration");
    g.bench_function("k64", |b| b.iter(|| als.loss().expect("loss")));
    g.finish();
}

criterion_group!(benches, row_solves, gramian, rotation, scoring, loss);
criterion_main!(benches);
