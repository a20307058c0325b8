//! One model, one user, three layers: the host's fold-in, the kernel called on
//! the exported WMFB blob, and the C ABI (the `wmf_*` symbols of `libwmf`)
//! must give the same factor and the same top-10.
//!
//! The C ABI forwards to the kernel, so kernel and C are compared bit for bit.
//! The host calls the kernel's row solvers directly, so host and kernel are
//! compared bit for bit too: CG, eALS and Cholesky (a row longer than the
//! low-rank cutoff; at k = 32 one whose normal equations go through the
//! kernel's register tiles, at k = 8 through its plain rank-1 loop).
//!
//! The models train with separate roundings (`Arith::Separate`), which is
//! what the C ABI and the firmware compute; the host's fold-in follows the
//! model's setting, and with fused multiply-adds (the training default)
//! equals the kernel's `Fused` fold instead (host/tests/als_reference.rs).

use std::path::Path;

use wmf_ffi::{wmf_items_f32, wmf_row_f32, wmf_status};
use wmf_host::export::ItemBlob;
use wmf_host::synth::{SynthConfig, generate};
use wmf_host::{Model, Solver, TrainConfig};
use wmf_kernel::{Baseline, CgParams, Factors, Items, Row};

fn trained(solver: Solver, c0: wmf_host::BaselineWeight, k: usize) -> Model {
    let s = generate(&SynthConfig {
        users: 300,
        items: 200,
        nnz: 6000,
        rank: 4,
        ..SynthConfig::default()
    })
    .expect("synthetic data");
    let config = TrainConfig {
        k,
        iterations: 3,
        lambda: 0.5,
        confidence: wmf_host::Confidence::Linear { alpha: 2.0 },
        baseline: c0,
        solver,
        threads: 1,
        arith: wmf_host::Arith::Separate,
        ..TrainConfig::default()
    };
    wmf_host::als::train_model(
        &s.data.users,
        s.data.user_ids.clone(),
        s.data.item_ids.clone(),
        &config,
        &mut |_| {},
    )
    .expect("training")
}

/// A new user's interactions: (item, raw value), item ids ascending.
const USER: [(u32, f32); 6] = [
    (3, 1.0),
    (17, 2.0),
    (40, 1.0),
    (41, 5.0),
    (99, 1.0),
    (150, 3.0),
];

struct Answers {
    host: Vec<f32>,
    kernel: Vec<f32>,
    c: Vec<f32>,
}

fn fold_in_three_ways(model: &Model, solver: Solver, user: &[(u32, f32)]) -> (Answers, ItemBlob) {
    let blob = ItemBlob::from_model(model).expect("blob");
    let blob =
        ItemBlob::from_bytes(&blob.to_bytes(), Path::new("memory")).expect("blob round trip");
    let (n, k) = (blob.n, blob.k);
    let g0 = ndarray::Array2::from_shape_vec((k, k), blob.gramian.clone()).expect("g0 shape");
    let host = wmf_host::foldin::recalculate_user(model, user, Some(solver), Some(&g0))
        .expect("host fold-in");

    let items_idx: Vec<u32> = user.iter().map(|p| p.0).collect();
    let conf: Vec<f32> = user
        .iter()
        .map(|p| wmf_host::confidence::confidence_of(model.config.confidence, p.1))
        .collect();
    let uniform = blob.item_c0.iter().all(|&c| c == blob.item_c0[0]);
    let baseline = if uniform {
        Baseline::Uniform(blob.item_c0[0])
    } else {
        Baseline::PerItem(&blob.item_c0)
    };
    let fac = Factors::new(&blob.item_factors, n, k).expect("factors");
    let items = Items::new(fac, &blob.gramian, baseline).expect("items");
    let row = Row::implicit(&items_idx, &conf);
    let lambda = model.config.lambda;
    let mut kernel = vec![0f32; k];
    let mut c = vec![0f32; k];
    let c_items = wmf_items_f32 {
        h: blob.item_factors.as_ptr(),
        n,
        k,
        g0: blob.gramian.as_ptr(),
        c0: if uniform {
            std::ptr::null()
        } else {
            blob.item_c0.as_ptr()
        },
        c0_uniform: blob.item_c0[0],
        checked: 0,
    };
    let c_row = wmf_row_f32 {
        items: items_idx.as_ptr(),
        conf: conf.as_ptr(),
        pref: std::ptr::null(),
        len: items_idx.len(),
    };
    let status = match solver {
        Solver::Cholesky => {
            let mut a = vec![0f32; k * k];
            wmf_kernel::solve_row_cholesky(&items, &row, lambda, &mut a, &mut kernel)
                .expect("kernel");
            // SAFETY: every pointer covers the lengths passed with it.
            unsafe {
                wmf_ffi::wmf_solve_row_cholesky_f32(
                    &c_items,
                    &c_row,
                    lambda,
                    a.as_mut_ptr(),
                    a.len(),
                    c.as_mut_ptr(),
                )
            }
        }
        Solver::Cg { steps, .. } => {
            let mut scratch = vec![0f32; 3 * k];
            wmf_kernel::solve_row_cg(
                &items,
                &row,
                lambda,
                &mut kernel,
                CgParams {
                    steps,
                    ..CgParams::default()
                },
                &mut scratch,
            )
            .expect("kernel");
            let mut report = wmf_ffi::wmf_cg_report {
                steps: 0,
                residual_sq: 0.0,
            };
            // SAFETY: as above.
            unsafe {
                wmf_ffi::wmf_solve_row_cg_f32(
                    &c_items,
                    &c_row,
                    lambda,
                    c.as_mut_ptr(),
                    steps,
                    CgParams::default().tol,
                    scratch.as_mut_ptr(),
                    scratch.len(),
                    &mut report,
                )
            }
        }
        Solver::Eals { sweeps } => {
            let mut scratch = vec![0f32; user.len()];
            wmf_kernel::solve_row_eals(&items, &row, lambda, &mut kernel, sweeps, &mut scratch)
                .expect("kernel");
            // SAFETY: as above.
            unsafe {
                wmf_ffi::wmf_solve_row_eals_f32(
                    &c_items,
                    &c_row,
                    lambda,
                    c.as_mut_ptr(),
                    sweeps,
                    scratch.as_mut_ptr(),
                    scratch.len(),
                )
            }
        }
    };
    assert_eq!(status, wmf_status::WMF_STATUS_OK);
    (Answers { host, kernel, c }, blob)
}

fn check_solver(solver: Solver, c0: wmf_host::BaselineWeight, k: usize, user: &[(u32, f32)]) {
    let model = trained(solver, c0, k);
    let (a, blob) = fold_in_three_ways(&model, solver, user);
    assert!(a.host.iter().any(|&v| v != 0.0), "a non-trivial fold-in");
    assert_eq!(a.host, a.kernel, "host vs kernel ({solver:?})");
    assert_eq!(a.kernel, a.c, "kernel vs C ABI ({solver:?})");

    // Top-10 excluding the user's items: host, kernel and C agree.
    let seen: Vec<u32> = user.iter().map(|p| p.0).collect();
    let host_top =
        wmf_host::recommend::recommend_one(model.item_factors.view(), &a.kernel, 10, &seen)
            .expect("host top-10");
    let fac = Factors::new(&blob.item_factors, blob.n, blob.k).expect("factors");
    let kernel_top = wmf_kernel::top_n::<f32, 10>(&fac, &a.kernel, &seen).expect("kernel top-10");
    let (mut c_items, mut c_scores, mut count) = ([0u32; 10], [0f32; 10], 0usize);
    // SAFETY: every pointer covers the lengths passed with it.
    let status = unsafe {
        wmf_ffi::wmf_top_n_f32(
            blob.item_factors.as_ptr(),
            blob.n,
            blob.k,
            a.c.as_ptr(),
            seen.as_ptr(),
            seen.len(),
            c_items.as_mut_ptr(),
            c_scores.as_mut_ptr(),
            10,
            &mut count,
        )
    };
    assert_eq!(status, wmf_status::WMF_STATUS_OK);
    assert_eq!(count, 10);
    let host_items: Vec<u32> = host_top.iter().map(|s| s.item).collect();
    let kernel_items: Vec<u32> = kernel_top.iter().map(|s| s.item).collect();
    assert_eq!(host_items, kernel_items);
    assert_eq!(kernel_items, c_items.to_vec());
    let kernel_scores: Vec<f32> = kernel_top.iter().map(|s| s.score).collect();
    assert_eq!(kernel_scores, c_scores.to_vec());
}

#[test]
fn cholesky_fold_in_agrees_across_layers() {
    check_solver(
        Solver::Cholesky,
        wmf_host::BaselineWeight::Uniform { c0: 1.0 },
        8,
        &USER,
    );
}

/// 40 items at k = 32 (low-rank cutoff 16): the normal equations' rank
/// updates run in the kernel's register tiles, on the host and in C alike.
fn long_user() -> Vec<(u32, f32)> {
    (0..40u32).map(|i| (i * 5, 1.0 + (i % 3) as f32)).collect()
}

#[test]
fn cholesky_long_row_agrees_across_layers() {
    check_solver(
        Solver::Cholesky,
        wmf_host::BaselineWeight::Uniform { c0: 1.0 },
        32,
        &long_user(),
    );
}

#[test]
fn cholesky_long_row_agrees_across_layers_with_popularity_weights() {
    check_solver(
        Solver::Cholesky,
        wmf_host::BaselineWeight::Popularity {
            c0: 50.0,
            beta: 0.5,
        },
        32,
        &long_user(),
    );
}

#[test]
fn cg_fold_in_agrees_across_layers() {
    check_solver(
        Solver::cg(3),
        wmf_host::BaselineWeight::Uniform { c0: 1.0 },
        8,
        &USER,
    );
}

#[test]
fn eals_fold_in_agrees_across_layers_with_popularity_weights() {
    check_solver(
        Solver::Eals { sweeps: 2 },
        wmf_host::BaselineWeight::Popularity {
            c0: 50.0,
            beta: 0.5,
        },
        8,
        &USER,
    );
}
