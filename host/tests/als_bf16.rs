//! CG over fixed-side rows stored in bfloat16 (`CgRows::Bf16`, `wmf train
//! --cg-rows bf16`): every way the host solves a row (lock-step groups over
//! the side in place and over a gathered copy, the last partial group, a
//! Gramian per row, selected rows, the fold-in of a new user) equals the
//! kernel's `solve_row_cg` over `Items::compact` of the encoded side, bit for
//! bit (with the training's fused multiply-adds, `Arith::Fused`: the
//! kernel's `Fused` fold); and training this way reaches the loss and
//! ranking of `f32` rows.

mod common;

use common::{cg_config, gathering_values, random_values};
use ndarray::Array2;
use wmf_host::als::{Als, CG_TOL, EigenBasis, Problem};
use wmf_host::gramian::{GramWeights, gramian_blocked};
use wmf_host::ids::IdMap;
use wmf_host::{BaselineWeight, CgRows, RegScaling, Solver};
use wmf_kernel::{Baseline, Bf16Factors, CgParams, Fused, Items, PortableFold, Row, encode_bf16};

const K: usize = common::CG_K;

fn encode(f: &Array2<f32>) -> Vec<u16> {
    let src = f.as_slice().unwrap();
    let mut bits = vec![0u16; src.len()];
    encode_bf16(src, &mut bits).unwrap();
    bits
}

/// Row `r` solved by the kernel over the encoded `fixed` with Gramian `g0`,
/// from the warm start `x`, with fused multiply-adds (`cg_config`'s).
fn kernel_row(
    fixed: &[u16],
    g0: &[f32],
    c0: Baseline<'_, f32>,
    row: &Row<'_, f32>,
    lambda: f32,
    mut x: Vec<f32>,
) -> Vec<f32> {
    let items = Items::compact(
        Bf16Factors::with_shape(fixed, fixed.len() / K, K).unwrap(),
        g0,
        c0,
    )
    .unwrap();
    let mut scratch = vec![0f32; 3 * K];
    let params = CgParams {
        steps: 3,
        tol: CG_TOL,
    };
    let items = items.with_fold(Fused(PortableFold));
    wmf_kernel::solve_row_cg(&items, row, lambda, &mut x, params, &mut scratch).unwrap();
    x
}

/// User `u` solved by the kernel over the encoded item factors `hb` with
/// the user half's shared Gramian `g0`, from the warm start `w0`'s row.
fn kernel_user(
    p: &Problem<f32>,
    hb: &[u16],
    g0: &Array2<f32>,
    w0: &Array2<f32>,
    u: usize,
) -> Vec<f32> {
    kernel_row(
        hb,
        g0.as_slice().unwrap(),
        p.item_baseline(),
        &p.users.row(u),
        p.user_lambda[u],
        w0.row(u).to_vec(),
    )
}

#[test]
fn every_bf16_row_solve_equals_the_kernel_over_the_encoded_side() {
    let values = gathering_values();
    for baseline in [
        BaselineWeight::Uniform { c0: 0.5 },
        BaselineWeight::Popularity { c0: 5.0, beta: 0.4 },
    ] {
        // the factors' own basis (the eigenbasis: als_eigenbasis.rs)
        let mut als = Als::<f32>::new(&values, &cg_config(CgRows::Bf16, baseline, 2))
            .unwrap()
            .with_eigen_basis(EigenBasis::AsIs);
        als.iterate().unwrap();

        // The user half: one Gramian of H shared by every row.
        let (w0, h) = (als.w.clone(), als.h.clone());
        als.user_half(None).unwrap();
        let p = &als.problem;
        let hb = encode(&h);
        let g0 = p.item_gramian(h.view()).unwrap();
        for u in 0..p.m() {
            let want = kernel_user(p, &hb, &g0, &w0, u);
            assert_eq!(als.w.row(u).to_vec(), want, "{baseline:?} user {u}");
        }

        // The item half: W's Gramian, shared (uniform c0) or scaled per item.
        let (w, h0) = (als.w.clone(), als.h.clone());
        als.item_half(None).unwrap();
        let p = &als.problem;
        let wb = encode(&w);
        let gram = gramian_blocked(w.view(), GramWeights::Uniform(1.0f32)).unwrap();
        let uniform = gramian_blocked(w.view(), GramWeights::Uniform(p.c0[0])).unwrap();
        for j in 0..p.n() {
            let (g0, c0): (Vec<f32>, _) = match baseline {
                BaselineWeight::Uniform { .. } => (
                    uniform.as_slice().unwrap().to_vec(),
                    Baseline::Uniform(p.c0[0]),
                ),
                BaselineWeight::Popularity { .. } => (
                    gram.iter().map(|&v| p.c0[j] * v).collect(),
                    Baseline::Uniform(p.c0[j]),
                ),
            };
            let want = kernel_row(
                &wb,
                &g0,
                c0,
                &p.items.row(j),
                p.item_lambda[j],
                h0.row(j).to_vec(),
            );
            assert_eq!(als.h.row(j).to_vec(), want, "{baseline:?} item {j}");
        }

        // Selected users only (the row-by-row path over the shared items).
        let (w0, h) = (als.w.clone(), als.h.clone());
        let select = [0u32, 7, 1200];
        als.user_half(Some(&select)).unwrap();
        let p = &als.problem;
        let hb = encode(&h);
        let g0 = p.item_gramian(h.view()).unwrap();
        for u in 0..p.m() {
            if select.contains(&(u as u32)) {
                let want = kernel_user(p, &hb, &g0, &w0, u);
                assert_eq!(
                    als.w.row(u).to_vec(),
                    want,
                    "{baseline:?} selected user {u}"
                );
            } else {
                assert_eq!(als.w.row(u), w0.row(u), "user {u} was not selected");
            }
        }
    }
}

#[test]
fn a_bf16_fold_in_equals_the_kernel_over_the_encoded_items() {
    let values = random_values(300, 120, 0.1, 32);
    for baseline in [
        BaselineWeight::Uniform { c0: 1.0 },
        BaselineWeight::Popularity { c0: 5.0, beta: 0.4 },
    ] {
        let mut cfg = cg_config(CgRows::Bf16, baseline, 2);
        cfg.reg_scaling = RegScaling::None;
        let model = wmf_host::als::train_model(
            &values,
            IdMap::sequential(300),
            IdMap::sequential(120),
            &cfg,
            &mut |_| {},
        )
        .expect("training");
        let user = [(3u32, 1.0f32), (17, 2.0), (40, 1.0), (41, 5.0), (99, 1.0)];
        // the model's own solver, with more steps: the fold-in's rows are
        // encoded alone (O(n_u k)), the kernel here reads the whole side
        let solver = Solver::Cg {
            steps: 3,
            rows: CgRows::Bf16,
        };
        let got = wmf_host::foldin::recalculate_user(&model, &user, Some(solver), None).unwrap();
        let g0 = wmf_host::foldin::model_gramian(&model).unwrap();
        let hb = encode(&model.item_factors);
        let c0 = match baseline {
            BaselineWeight::Uniform { c0 } => Baseline::Uniform(c0),
            BaselineWeight::Popularity { .. } => Baseline::PerItem(&model.item_c0[..]),
        };
        let items: Vec<u32> = user.iter().map(|&(j, _)| j).collect();
        let conf: Vec<f32> = user.iter().map(|&(_, v)| 1.0 + 2.0 * v).collect();
        let want = kernel_row(
            &hb,
            g0.as_slice().unwrap(),
            c0,
            &Row::implicit(&items, &conf),
            cfg.lambda,
            vec![0.0; K],
        );
        assert_eq!(got, want, "{baseline:?}");
        // and it is not the f32 fold-in (the rows really were rounded)
        let f32_rows =
            wmf_host::foldin::recalculate_user(&model, &user, Some(Solver::cg(3)), None).unwrap();
        assert_ne!(got, f32_rows);
    }
}

#[test]
fn bf16_training_reaches_the_loss_of_f32_training() {
    let values = random_values(400, 150, 0.08, 33);
    let mut losses = Vec::new();
    for rows in [CgRows::F32, CgRows::Bf16] {
        let mut cfg = cg_config(rows, BaselineWeight::Uniform { c0: 1.0 }, 2);
        cfg.iterations = 8;
        let mut als = Als::<f32>::new(&values, &cfg).unwrap();
        for _ in 0..cfg.iterations {
            als.iterate().unwrap();
        }
        losses.push(als.loss().unwrap());
    }
    let rel = (losses[1] - losses[0]).abs() / losses[0];
    // the rounded rows move the fixed point by about the rounding (2^-8)
    // times the observed part's share; far below a training step's change
    assert!(
        rel < 1e-3,
        "f32 {} vs bf16 {}: {rel:e}",
        losses[0],
        losses[1]
    );
    assert_ne!(losses[0], losses[1], "the bf16 run must differ");
}
