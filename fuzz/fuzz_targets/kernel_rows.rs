//! The kernel's row functions with arbitrary sizes, values and item ids, in
//! `f32` and `f64`: no panic, no hang, and every `Ok` output is finite
//! (the kernel reports a non-finite result as an error, never returns it);
//! the CG over rows in bfloat16 is the CG over the decoded rows; the host's
//! lane folds change no result.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wmf_kernel::{
    Baseline, Bf16Factors, CellUpdate, CgParams, Factors, Items, LaneFold, Real, Row,
};

#[derive(Arbitrary, Debug)]
struct Input {
    f64: bool,
    n: u8,
    k: u16,
    /// Factor values in thousandths (mostly moderate numbers).
    h: Vec<i16>,
    /// One raw value injected somewhere (NaN, inf, 1e39 as f32 = inf, subnormals...).
    raw: Option<(u16, f64)>,
    per_item_c0: Option<Vec<i16>>,
    c0_uniform: i16,
    /// A Gramian of our own instead of the true one (may be indefinite).
    own_g0: Option<Vec<i16>>,
    items: Vec<u32>,
    /// Make the ids valid (ascending, < n) instead of raw.
    valid_ids: bool,
    conf: Vec<i16>,
    pref: Option<Vec<i16>>,
    lambda: i16,
    w: Vec<i16>,
    steps: u8,
    tol_exp: i8,
    sweeps: u8,
    lr: i16,
    exclude: Vec<u32>,
    capacity: u8,
    short_by: u8,
}

fn fill<T: Real>(src: &[i16], len: usize) -> Vec<T> {
    (0..len)
        .map(|i| {
            src.get(i % src.len().max(1))
                .map_or(T::ZERO, |&v| T::from_f64(f64::from(v) / 1000.0))
        })
        .collect()
}

fn finite<T: Real>(v: &[T]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// One row's inputs, solved with and without a host's lane fold.
struct Folds<'a, T> {
    items: &'a Items<'a, T>,
    row: &'a Row<'a, T>,
    lambda: T,
    w0: &'a [T],
    params: CgParams,
    whitened: Option<&'a wmf_kernel::Whitened<'a, T>>,
    low_rank_len: usize,
}

impl<T: Real> Folds<'_, T> {
    fn check<F: LaneFold>(&self, fold: F) {
        let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
        let folded = self.items.with_fold(fold);
        let (row, lambda) = (self.row, self.lambda);
        let mut scratch = vec![T::ZERO; wmf_kernel::cg_scratch_len(self.items.k())];
        let (mut xa, mut xb) = (self.w0.to_vec(), self.w0.to_vec());
        let got =
            wmf_kernel::solve_row_cg(&folded, row, lambda, &mut xa, self.params, &mut scratch);
        let want =
            wmf_kernel::solve_row_cg(self.items, row, lambda, &mut xb, self.params, &mut scratch);
        assert_eq!(got, want, "CG with a host fold differs");
        assert_eq!(bits(&xa), bits(&xb), "CG with a host fold differs");
        let got = wmf_kernel::row_loss(&folded, row, lambda, self.w0);
        let want = wmf_kernel::row_loss(self.items, row, lambda, self.w0);
        assert_eq!(
            got.map(|l| l.to_f64().to_bits()),
            want.map(|l| l.to_f64().to_bits()),
            "row_loss with a host fold differs"
        );
        if let Some(wt) = self.whitened {
            let mut scratch = vec![T::ZERO; self.low_rank_len];
            let (mut xa, mut xb) = (self.w0.to_vec(), self.w0.to_vec());
            let got = wmf_kernel::solve_row_low_rank_folded(wt, row, &mut scratch, &mut xa, fold);
            let want = wmf_kernel::solve_row_low_rank(wt, row, &mut scratch, &mut xb);
            assert_eq!(got, want, "low-rank solve with a host fold differs");
            assert_eq!(
                bits(&xa),
                bits(&xb),
                "low-rank solve with a host fold differs"
            );
        }
    }
}

fn run<T: Real>(inp: &Input) {
    let n = usize::from(inp.n);
    // Mostly small ranks (fast runs); sometimes up to past MAX_K = 256.
    let k = if inp.k & 0x8000 != 0 {
        usize::from(inp.k % 300)
    } else {
        usize::from(inp.k % 17)
    };
    let nk = n * k;
    let mut h: Vec<T> = fill(&inp.h, nk);
    if let Some((at, v)) = inp.raw
        && !h.is_empty()
    {
        let at = usize::from(at) % h.len();
        h[at] = T::from_f64(v);
    }
    let short = usize::from(inp.short_by % 4 == 3);
    let h_len = nk.saturating_sub(short);
    let Ok(fac) = Factors::new(&h[..h_len], n, k) else {
        return;
    };
    let c0v: Option<Vec<T>> = inp.per_item_c0.as_ref().map(|c| fill(c, n));
    let c0 = match &c0v {
        Some(c) => Baseline::PerItem(c),
        None => Baseline::Uniform(T::from_f64(f64::from(inp.c0_uniform) / 1000.0)),
    };
    let mut g0 = vec![T::ZERO; k * k];
    match &inp.own_g0 {
        Some(g) => g0 = fill(g, k * k),
        None => {
            if wmf_kernel::gramian(&fac, c0, &mut g0).is_ok() {
                assert!(finite(&g0), "gramian returned non-finite values");
            }
        }
    }
    let Ok(items) = Items::new(fac, &g0, c0) else {
        return;
    };
    let mut ids = inp.items.clone();
    if inp.valid_ids && n > 0 {
        for id in &mut ids {
            *id %= n as u32;
        }
        ids.sort_unstable();
        ids.dedup();
    }
    let conf: Vec<T> = fill(&inp.conf, ids.len());
    let pref: Option<Vec<T>> = inp.pref.as_ref().map(|p| fill(p, ids.len()));
    let row = Row::new(&ids, &conf, pref.as_deref());
    let lambda = T::from_f64(f64::from(inp.lambda) / 1000.0);
    let w0: Vec<T> = fill(&inp.w, k);

    if let Ok(l) = wmf_kernel::row_loss(&items, &row, lambda, &w0) {
        assert!(l.is_finite(), "row_loss returned {l}");
    }
    let mut grad = vec![T::ZERO; k];
    if wmf_kernel::row_gradient(&items, &row, lambda, &w0, &mut grad).is_ok() {
        assert!(finite(&grad), "row_gradient returned non-finite values");
    }
    let (mut a, mut b) = (vec![T::ZERO; k * k], vec![T::ZERO; k]);
    if wmf_kernel::row_normal_equations(&items, &row, lambda, &mut a, &mut b).is_ok() {
        assert!(finite(&a) && finite(&b), "normal equations not finite");
        let mut w = w0.clone();
        if wmf_kernel::cd_sweeps(&a, &b, &mut w, k, usize::from(inp.sweeps % 4)).is_ok() {
            assert!(finite(&w), "cd_sweeps returned non-finite values");
        }
        if let Some(h_i) = h.get(..k) {
            let (mut a2, mut b2, mut w2) = (a.clone(), b.clone(), w0.clone());
            let up = CellUpdate::new_interaction(T::from_f64(2.0), T::ONE);
            if wmf_kernel::eals_online_update(&mut a2, &mut b2, &mut w2, k, h_i, up, 1).is_ok() {
                assert!(finite(&w2), "eals_online_update returned non-finite values");
            }
        }
    }
    let mut x = vec![T::ZERO; k];
    if wmf_kernel::solve_row_cholesky(&items, &row, lambda, &mut a, &mut x).is_ok() {
        assert!(finite(&x), "cholesky returned non-finite values");
    }
    // The low-rank solve: L from G0 + λI (or the Gramian itself taken as a
    // factor when it is not positive definite: an arbitrary lower triangle),
    // the factors whitened with it.
    let mut l = vec![T::ZERO; k * k];
    if wmf_kernel::whitening_factor(&g0, lambda, k, &mut l).is_ok() {
        assert!(finite(&l), "whitening_factor returned non-finite values");
    } else {
        l = g0.clone();
    }
    let mut hw = h[..h_len].to_vec();
    let whitened = wmf_kernel::whiten_rows(&l, k, &mut hw).is_ok();
    if !whitened {
        hw = h[..h_len].to_vec();
    }
    let low_rank_len = wmf_kernel::low_rank_scratch_len(ids.len(), k)
        .saturating_sub(short)
        .min(1 << 20);
    let wf = Factors::new(&hw, n, k);
    let wt = wf
        .ok()
        .and_then(|wf| wmf_kernel::Whitened::new(wf, &l, c0).ok());
    if let Some(wt) = &wt {
        let mut scratch = vec![T::ZERO; low_rank_len];
        let mut x = w0.clone();
        if let Ok(took) = wmf_kernel::solve_row_low_rank(wt, &row, &mut scratch, &mut x) {
            assert!(finite(&x), "low-rank solve returned non-finite values");
            assert!(took || x == w0, "low-rank solve wrote x when declining");
        }
    }
    let mut x = w0.clone();
    let mut scratch = vec![T::ZERO; wmf_kernel::cg_scratch_len(k)];
    let params = CgParams {
        steps: usize::from(inp.steps % 16),
        tol: 10f64.powi(i32::from(inp.tol_exp % 20)),
    };
    if wmf_kernel::solve_row_cg(&items, &row, lambda, &mut x, params, &mut scratch).is_ok() {
        assert!(finite(&x), "cg returned non-finite values");
    }
    // The one-pass matrix check is the row check (for the row without its
    // preferences, which a CSR matrix does not carry); the prechecked CG is
    // the checked CG, result and bits, whenever the checked one accepts
    // the call, and on any row neither panics nor leaves a non-finite x.
    let once = wmf_kernel::check_csr_rows(&[0, ids.len() as u64], &ids, &conf, n);
    assert_eq!(
        once.map_err(|(_, e)| e),
        items.check_row(&Row::implicit(&ids, &conf)),
        "check_csr_rows differs from check_row"
    );
    let (mut xc, mut xp) = (w0.clone(), w0.clone());
    let checked = wmf_kernel::solve_row_cg(&items, &row, lambda, &mut xc, params, &mut scratch);
    let [pre] = wmf_kernel::solve_rows_cg_prechecked::<T, _, 1>(
        &items,
        &[row],
        &[lambda],
        &mut xp,
        params,
        &mut scratch,
    );
    if pre.is_ok() {
        assert!(finite(&xp), "prechecked cg returned non-finite values");
    }
    if checked.is_ok() {
        assert_eq!(pre, checked, "prechecked cg differs from cg");
        let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&xp), bits(&xc), "prechecked cg differs from cg");
    }
    // The same CG over the rows in bfloat16 (with the same G0) is, result
    // and error alike, the CG over the decoded rows.
    let h32: Vec<f32> = h[..h_len].iter().map(|v| v.to_f64() as f32).collect();
    let mut hb = vec![0u16; h32.len()];
    if wmf_kernel::encode_bf16(&h32, &mut hb).is_ok()
        && let Ok(bf) = Bf16Factors::with_shape(&hb, n, k)
        && let Ok(compact) = Items::compact(bf, &g0, c0)
    {
        let decoded: Vec<T> = hb
            .iter()
            .map(|&b| T::from_f32(wmf_kernel::bf16_to_f32(b)))
            .collect();
        let plain = Factors::new(&decoded, n, k).and_then(|f| Items::new(f, &g0, c0));
        let plain = plain.expect("decoded bfloat16 rows are finite and shaped like the encoded");
        let (mut xa, mut xb) = (w0.clone(), w0.clone());
        let got = wmf_kernel::solve_row_cg(&compact, &row, lambda, &mut xa, params, &mut scratch);
        let want = wmf_kernel::solve_row_cg(&plain, &row, lambda, &mut xb, params, &mut scratch);
        assert_eq!(
            got, want,
            "bfloat16 CG differs from CG over the decoded rows"
        );
        let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&xa),
            bits(&xb),
            "bfloat16 CG differs from CG over the decoded rows"
        );
    }
    // The host's lane folds (AVX-512, AVX2, where this CPU has them) give
    // the kernel's results, errors and bits.
    let case = Folds {
        items: &items,
        row: &row,
        lambda,
        w0: &w0,
        params,
        whitened: wt.as_ref(),
        low_rank_len,
    };
    if let Some(fold) = wmf_host::fold::Avx512Fold::detect() {
        case.check(fold);
    }
    if let Some(fold) = wmf_host::fold::Avx2Fold::detect() {
        case.check(fold);
    }
    let mut x = w0.clone();
    let mut pred = vec![T::ZERO; wmf_kernel::eals_scratch_len(ids.len())];
    let sweeps = usize::from(inp.sweeps % 4);
    if wmf_kernel::solve_row_eals(&items, &row, lambda, &mut x, sweeps, &mut pred).is_ok() {
        assert!(finite(&x), "eals returned non-finite values");
    }
    let mut x = w0.clone();
    let lr = T::from_f64(f64::from(inp.lr) / 1000.0);
    if wmf_kernel::gradient_step_row(&items, &row, lambda, &mut x, lr, &mut grad).is_ok() {
        assert!(finite(&x), "gradient step returned non-finite values");
    }
    let mut scores = vec![T::ZERO; n];
    if wmf_kernel::score_items(&fac, &w0, &mut scores).is_ok() {
        assert!(finite(&scores));
    }
    let cap = usize::from(inp.capacity % 16);
    let (mut oi, mut os) = (vec![0u32; cap], vec![T::ZERO; cap]);
    if let Ok(got) = wmf_kernel::top_n_into(&fac, &w0, &inp.exclude, &mut oi, &mut os) {
        assert!(got <= cap.min(n));
        assert!(finite(&os[..got]));
        assert!(oi[..got].iter().all(|&j| (j as usize) < n));
        assert!(
            os[..got].windows(2).all(|s| s[0] >= s[1]),
            "top-n not sorted"
        );
    }
}

fuzz_target!(|inp: Input| {
    if inp.f64 {
        run::<f64>(&inp);
    } else {
        run::<f32>(&inp);
    }
});
