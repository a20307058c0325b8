//! Writes the fixtures of the C tests and of the C fold-in example, computed
//! by the Rust kernel (`wmf_kernel`, called directly, not through the C ABI):
//!
//! ```text
//! cargo run -p wmf-ffi --example c_fixture -- OUT_DIR
//! ```
//!
//! - `OUT_DIR/fixture.txt`: seeded inputs and the kernel's outputs, one array
//!   per line, `NAME KIND COUNT VALUES...` (KIND `f` float, `d` double, `u`
//!   uint32, `z` size_t). Floats are printed in shortest round-trip form, so
//!   `strtof` / `strtod` read back the exact values.
//! - `OUT_DIR/model.wmfb`: a small model in the "WMFB" blob format (item
//!   factors, Gramian, per-item c0, CRC32), for `examples/c-foldin`.
//! - `OUT_DIR/foldin.expected`: the example's top-10 item ids for its
//!   built-in interaction list, one per line.

use std::fmt::Write as _;
use std::io::Write as _;
use wmf_kernel::{
    Baseline, CellUpdate, CgParams, Dense, Factors, Items, Real, Row, Whitened, cholesky_in_place,
    eals_online_update, gradient_step_row, gramian, low_rank_scratch_len, row_gradient, row_loss,
    row_normal_equations, score_items, solve_row_cg, solve_row_cholesky, solve_row_eals,
    solve_row_low_rank, top_n_into, whiten_rows,
};

type Res = Result<(), Box<dyn std::error::Error>>;

/// xorshift64*: a tiny deterministic generator (the C side reads the inputs
/// from the fixture, so only this file needs it).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[lo, hi)`, with 24 random bits (exact in `f32`).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 40) as f64 / (1u64 << 24) as f64)
    }
    fn vec<T: Real>(&mut self, len: usize, lo: f64, hi: f64) -> Vec<T> {
        (0..len)
            .map(|_| T::from_f64(self.uniform(lo, hi)))
            .collect()
    }
}

/// One fixture file being written.
struct Fixture(String);

impl Fixture {
    fn reals<T: Real>(&mut self, name: &str, v: &[T]) -> Res {
        let kind = if core::mem::size_of::<T>() == 4 {
            'f'
        } else {
            'd'
        };
        write!(self.0, "{name} {kind} {}", v.len())?;
        for x in v {
            // `{:?}` is the shortest representation that round-trips.
            write!(self.0, " {x:?}")?;
        }
        self.0.push('\n');
        Ok(())
    }
    fn u32s(&mut self, name: &str, v: &[u32]) -> Res {
        write!(self.0, "{name} u {}", v.len())?;
        for x in v {
            write!(self.0, " {x}")?;
        }
        self.0.push('\n');
        Ok(())
    }
    fn sizes(&mut self, name: &str, v: &[usize]) -> Res {
        write!(self.0, "{name} z {}", v.len())?;
        for x in v {
            write!(self.0, " {x}")?;
        }
        self.0.push('\n');
        Ok(())
    }
}

/// The dimensions and parameters the C test reads back from the fixture.
const DENSE: (usize, usize, usize) = (5, 7, 3);
const ITEMS: (usize, usize) = (12, 4);
const ROW_ITEMS: [u32; 4] = [1, 4, 5, 9];
const NEW_ITEM: usize = 7;

fn cases<T: Real>(fx: &mut Fixture, p: &str, seed: u64) -> Res {
    let mut rng = Rng(seed);
    let e = |e: wmf_kernel::Error| -> Box<dyn std::error::Error> { e.to_string().into() };

    // Dense block.
    let (m, n, k) = DENSE;
    let x: Vec<T> = (0..m * n)
        .map(|_| T::from_f64((rng.next() % 2) as f64))
        .collect();
    let c: Vec<T> = rng.vec(m * n, 0.0, 4.0);
    let w: Vec<T> = rng.vec(m * k, -1.0, 1.0);
    let h: Vec<T> = rng.vec(n * k, -1.0, 1.0);
    let lambda = T::from_f64(0.1);
    let d = Dense::new(&x, &c, &w, &h, m, n, k).map_err(e)?;
    let mut r = vec![T::ZERO; m * n];
    d.weighted_residual(&mut r).map_err(e)?;
    let loss = d.loss(lambda).map_err(e)?;
    let mut gw = vec![T::ZERO; m * k];
    d.grad_w(lambda, &mut gw).map_err(e)?;
    let mut gh = vec![T::ZERO; n * k];
    d.grad_h(lambda, &mut gh).map_err(e)?;
    fx.sizes(&format!("{p}.dense.dims"), &[m, n, k])?;
    fx.reals(&format!("{p}.dense.lambda"), &[lambda])?;
    for (name, v) in [("x", &x), ("c", &c), ("w", &w), ("h", &h)] {
        fx.reals(&format!("{p}.dense.{name}"), v)?;
    }
    fx.reals(&format!("{p}.dense.residual"), &r)?;
    fx.reals(&format!("{p}.dense.loss"), &[loss])?;
    fx.reals(&format!("{p}.dense.grad_w"), &gw)?;
    fx.reals(&format!("{p}.dense.grad_h"), &gh)?;

    // Item side: factors, per-item c0 and their Gramian; a uniform Gramian too.
    let (n, k) = ITEMS;
    let h: Vec<T> = rng.vec(n * k, -1.0, 1.0);
    let c0: Vec<T> = rng.vec(n, 0.5, 1.5);
    let f = Factors::new(&h, n, k).map_err(e)?;
    let mut g0 = vec![T::ZERO; k * k];
    gramian(&f, Baseline::PerItem(&c0), &mut g0).map_err(e)?;
    let c0_uniform = T::from_f64(0.7);
    let mut g_uniform = vec![T::ZERO; k * k];
    gramian(&f, Baseline::Uniform(c0_uniform), &mut g_uniform).map_err(e)?;
    fx.sizes(&format!("{p}.items.dims"), &[n, k])?;
    fx.reals(&format!("{p}.items.h"), &h)?;
    fx.reals(&format!("{p}.items.c0"), &c0)?;
    fx.reals(&format!("{p}.items.c0_uniform"), &[c0_uniform])?;
    fx.reals(&format!("{p}.gramian.per_item"), &g0)?;
    fx.reals(&format!("{p}.gramian.uniform"), &g_uniform)?;
    let items = Items::new(f, &g0, Baseline::PerItem(&c0)).map_err(e)?;

    // One user's row.
    let conf: Vec<T> = rng.vec(ROW_ITEMS.len(), 1.0, 5.0);
    let pref: Vec<T> = rng.vec(ROW_ITEMS.len(), 0.5, 1.0);
    let row = Row::new(&ROW_ITEMS, &conf, Some(&pref));
    let lambda = T::from_f64(0.3);
    let w0: Vec<T> = rng.vec(k, -0.5, 0.5);
    fx.u32s(&format!("{p}.row.items"), &ROW_ITEMS)?;
    fx.reals(&format!("{p}.row.conf"), &conf)?;
    fx.reals(&format!("{p}.row.pref"), &pref)?;
    fx.reals(&format!("{p}.row.lambda"), &[lambda])?;
    fx.reals(&format!("{p}.row.w0"), &w0)?;

    let loss = row_loss(&items, &row, lambda, &w0).map_err(e)?;
    fx.reals(&format!("{p}.row_loss"), &[loss])?;
    let mut grad = vec![T::ZERO; k];
    row_gradient(&items, &row, lambda, &w0, &mut grad).map_err(e)?;
    fx.reals(&format!("{p}.row_gradient"), &grad)?;

    let (mut a, mut b) = (vec![T::ZERO; k * k], vec![T::ZERO; k]);
    row_normal_equations(&items, &row, lambda, &mut a, &mut b).map_err(e)?;
    fx.reals(&format!("{p}.normal.a"), &a)?;
    fx.reals(&format!("{p}.normal.b"), &b)?;

    let mut scratch = vec![T::ZERO; k * k];
    let mut x_chol = vec![T::ZERO; k];
    solve_row_cholesky(&items, &row, lambda, &mut scratch, &mut x_chol).map_err(e)?;
    fx.reals(&format!("{p}.cholesky.x"), &x_chol)?;

    // The whitened item side and a low-rank fold-in through it (the row's
    // confidences raised by 1.5, above every c0, so the method applies).
    let mut l = g0.clone();
    for d in 0..k {
        l[d * k + d] += lambda;
    }
    cholesky_in_place(&mut l, k).map_err(e)?;
    let mut hw = h.clone();
    whiten_rows(&l, k, &mut hw).map_err(e)?;
    fx.reals(&format!("{p}.whiten.l"), &l)?;
    fx.reals(&format!("{p}.whiten.hw"), &hw)?;
    let conf_lr: Vec<T> = conf.iter().map(|&c| c + T::from_f64(1.5)).collect();
    let row_lr = Row::new(&ROW_ITEMS, &conf_lr, Some(&pref));
    let whitened = Whitened::new(
        Factors::new(&hw, n, k).map_err(e)?,
        &l,
        Baseline::PerItem(&c0),
    )
    .map_err(e)?;
    let mut lr_scratch = vec![T::ZERO; low_rank_scratch_len(ROW_ITEMS.len(), k)];
    let mut x_lr = vec![T::ZERO; k];
    if !solve_row_low_rank(&whitened, &row_lr, &mut lr_scratch, &mut x_lr).map_err(e)? {
        return Err("the fixture's low-rank row was declined".into());
    }
    fx.reals(&format!("{p}.lowrank.conf"), &conf_lr)?;
    fx.reals(&format!("{p}.lowrank.x"), &x_lr)?;

    let mut x_cg = w0.clone();
    let mut cg_scratch = vec![T::ZERO; wmf_kernel::cg_scratch_len(k)];
    let params = CgParams { steps: 2, tol: 0.0 };
    let rep = solve_row_cg(&items, &row, lambda, &mut x_cg, params, &mut cg_scratch).map_err(e)?;
    fx.reals(&format!("{p}.cg.x"), &x_cg)?;
    fx.sizes(&format!("{p}.cg.steps"), &[rep.steps])?;
    fx.reals(&format!("{p}.cg.residual_sq"), &[rep.residual_sq])?;

    let mut w_eals = w0.clone();
    let mut pred = vec![T::ZERO; ROW_ITEMS.len()];
    solve_row_eals(&items, &row, lambda, &mut w_eals, 3, &mut pred).map_err(e)?;
    fx.reals(&format!("{p}.eals.w"), &w_eals)?;

    // Online update: a new interaction with item NEW_ITEM on the cached normal equations.
    let (mut a_on, mut b_on, mut w_on) = (a.clone(), b.clone(), x_chol.clone());
    let conf_new = T::from_f64(4.0);
    let update = CellUpdate::new_interaction(conf_new, c0[NEW_ITEM]);
    let h_i = &h[NEW_ITEM * k..(NEW_ITEM + 1) * k];
    eals_online_update(&mut a_on, &mut b_on, &mut w_on, k, h_i, update, 2).map_err(e)?;
    fx.sizes(&format!("{p}.online.item"), &[NEW_ITEM])?;
    fx.reals(&format!("{p}.online.conf"), &[conf_new])?;
    fx.reals(&format!("{p}.online.a"), &a_on)?;
    fx.reals(&format!("{p}.online.b"), &b_on)?;
    fx.reals(&format!("{p}.online.w"), &w_on)?;

    let mut w_gd = w0.clone();
    let lr = T::from_f64(0.05);
    let mut g_scratch = vec![T::ZERO; k];
    gradient_step_row(&items, &row, lambda, &mut w_gd, lr, &mut g_scratch).map_err(e)?;
    fx.reals(&format!("{p}.gd.lr"), &[lr])?;
    fx.reals(&format!("{p}.gd.w"), &w_gd)?;

    let mut scores = vec![T::ZERO; n];
    score_items(&f, &w0, &mut scores).map_err(e)?;
    fx.reals(&format!("{p}.scores"), &scores)?;

    let (mut top_items, mut top_scores) = ([0u32; 5], [T::ZERO; 5]);
    let got = top_n_into(&f, &w0, &ROW_ITEMS, &mut top_items, &mut top_scores).map_err(e)?;
    fx.u32s(&format!("{p}.top.items"), &top_items[..got])?;
    fx.reals(&format!("{p}.top.scores"), &top_scores[..got])?;
    Ok(())
}

/// The interaction list `examples/c-foldin/main.c` uses when given none.
pub const FOLDIN_DEFAULT: [(u32, f32); 3] = [(2, 4.0), (11, 2.0), (23, 5.0)];
/// Regularisation used by the example.
pub const FOLDIN_LAMBDA: f32 = 0.1;

fn foldin_model(dir: &std::path::Path) -> Res {
    let e = |e: wmf_kernel::Error| -> Box<dyn std::error::Error> { e.to_string().into() };
    let (n, k) = (40usize, 6usize);
    let mut rng = Rng(0x5eed_f01d);
    let h: Vec<f32> = rng.vec(n * k, -1.0, 1.0);
    let c0: Vec<f32> = rng.vec(n, 0.5, 1.5);
    let f = Factors::new(&h, n, k).map_err(e)?;
    let mut g0 = vec![0.0f32; k * k];
    gramian(&f, Baseline::PerItem(&c0), &mut g0).map_err(e)?;

    let mut blob = Vec::new();
    blob.extend_from_slice(b"WMFB");
    for v in [1u32, n as u32, k as u32, 0] {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    for v in h.iter().chain(&g0).chain(&c0) {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    let crc = crc32fast::hash(&blob);
    blob.extend_from_slice(&crc.to_le_bytes());
    std::fs::write(dir.join("model.wmfb"), &blob)?;

    // What the example must print for its default interactions.
    let items = Items::new(f, &g0, Baseline::PerItem(&c0)).map_err(e)?;
    let ids: Vec<u32> = FOLDIN_DEFAULT.iter().map(|c| c.0).collect();
    let conf: Vec<f32> = FOLDIN_DEFAULT.iter().map(|c| c.1).collect();
    let (mut a, mut w) = (vec![0.0f32; k * k], vec![0.0f32; k]);
    solve_row_cholesky(
        &items,
        &Row::implicit(&ids, &conf),
        FOLDIN_LAMBDA,
        &mut a,
        &mut w,
    )
    .map_err(e)?;
    let (mut top, mut scores) = ([0u32; 10], [0.0f32; 10]);
    let got = top_n_into(&f, &w, &ids, &mut top, &mut scores).map_err(e)?;
    let mut out = std::fs::File::create(dir.join("foldin.expected"))?;
    for id in &top[..got] {
        writeln!(out, "{id}")?;
    }
    Ok(())
}

fn main() -> Res {
    let dir = std::env::args_os()
        .nth(1)
        .ok_or("usage: c_fixture OUT_DIR")?;
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let mut fx = Fixture(String::new());
    cases::<f32>(&mut fx, "f32", 0x00c0_ffee)?;
    cases::<f64>(&mut fx, "f64", 0x00c0_ffee)?;
    std::fs::write(dir.join("fixture.txt"), fx.0)?;
    foldin_model(&dir)?;
    println!("wrote {}", dir.display());
    Ok(())
}
