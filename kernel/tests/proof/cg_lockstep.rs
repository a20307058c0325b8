//! The CG row solve as the host runs it (rows in lock-step, `G0 p` for all
//! of them in one pass, four observed cells per pass) against the textbook
//! single-row CG written out here with plain loops: the same bits, for every
//! `k` (multiples of 16 and 4 or not), row length (multiples of 4 or not),
//! baseline, preference, `λ`, step count and tolerance, and the same error
//! for a row that fails, without disturbing the rows beside it. The same
//! over rows stored in bfloat16: the textbook CG over the decoded rows. And
//! with a fused fold ([`Fused`]): the textbook with the observed cells'
//! dots and updates written as `mul_add`, bit for bit again.

use crate::common::{MIRI, rng, sorted_sample};
use rand::Rng;
use rand::rngs::StdRng;
use wmf_kernel::{
    Baseline, Bf16Factors, CgParams, CgReport, Factors, Fused, Items, PortableFold, Real, Row,
    RowTable, bf16_to_f32, cg_rows_scratch_len, cg_scratch_len, encode_bf16, gramian, solve_row_cg,
    solve_rows_cg, solve_rows_cg_prechecked,
};

/// The standard library's fused multiply-add, for the fused textbook (an
/// independent reference, not the kernel's own `Real::fma`).
trait Fma: Real {
    fn std_fma(self, b: Self, c: Self) -> Self;
}
impl Fma for f32 {
    fn std_fma(self, b: f32, c: f32) -> f32 {
        self.mul_add(b, c)
    }
}
impl Fma for f64 {
    fn std_fma(self, b: f64, c: f64) -> f64 {
        self.mul_add(b, c)
    }
}

/// `c + a b`, rounded once when `fused`.
fn madd<T: Fma>(a: T, b: T, c: T, fused: bool) -> T {
    if fused { a.std_fma(b, c) } else { c + a * b }
}

/// [`ref_dot`] with its multiply-adds fused when `fused`.
fn ref_dot_m<T: Fma>(a: &[T], b: &[T], fused: bool) -> T {
    let full = a.len() / 16 * 16;
    let mut lanes = [T::ZERO; 16];
    for i in 0..full {
        lanes[i % 16] = madd(a[i], b[i], lanes[i % 16], fused);
    }
    let mut width = 16;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            lanes[l] += lanes[l + width];
        }
    }
    let mut s = lanes[0];
    for i in full..a.len() {
        s = madd(a[i], b[i], s, fused);
    }
    s
}

/// [`ref_axpy`] with its multiply-adds fused when `fused`.
fn ref_axpy_m<T: Fma>(alpha: T, x: &[T], y: &mut [T], fused: bool) {
    for i in 0..y.len() {
        y[i] = madd(alpha, x[i], y[i], fused);
    }
}

/// The kernel's dot product, defined as sixteen lane sums over the chunks of
/// sixteen, folded in halves (lane `l` gets lane `l + 8`, then `l + 4`,
/// `l + 2`, `l + 1`), then the tail in order.
fn ref_dot<T: Real>(a: &[T], b: &[T]) -> T {
    let full = a.len() / 16 * 16;
    let mut lanes = [T::ZERO; 16];
    for i in 0..full {
        lanes[i % 16] += a[i] * b[i];
    }
    let mut width = 16;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            lanes[l] += lanes[l + width];
        }
    }
    let mut s = lanes[0];
    for i in full..a.len() {
        s += a[i] * b[i];
    }
    s
}

fn ref_axpy<T: Real>(alpha: T, x: &[T], y: &mut [T]) {
    for i in 0..y.len() {
        y[i] += alpha * x[i];
    }
}

/// `y = G x` as the kernel defines it: rows in groups of four, then the rest.
fn ref_symv<T: Real>(g: &[T], x: &[T], y: &mut [T], k: usize) {
    let quads = k / 4 * 4;
    for c in 0..k {
        let mut s = T::ZERO;
        let mut r = 0;
        while r < quads {
            s += (x[r] * g[r * k + c] + x[r + 1] * g[(r + 1) * k + c])
                + (x[r + 2] * g[(r + 2) * k + c] + x[r + 3] * g[(r + 3) * k + c]);
            r += 4;
        }
        while r < k {
            s += x[r] * g[r * k + c];
            r += 1;
        }
        y[c] = s;
    }
}

struct RowIn<T> {
    items: Vec<u32>,
    conf: Vec<T>,
    pref: Option<Vec<T>>,
}

impl<T: Real> RowIn<T> {
    fn row(&self) -> Row<'_, T> {
        Row::new(&self.items, &self.conf, self.pref.as_deref())
    }
}

/// Textbook CG (happy path: valid inputs), one cell and one vector at a time.
#[allow(clippy::too_many_arguments)]
fn textbook_cg<T: Fma>(
    h: &[T],
    g0: &[T],
    c0: &[T],
    k: usize,
    row: &RowIn<T>,
    lambda: T,
    x: &mut [T],
    params: CgParams,
) -> CgReport {
    textbook_cg_m(h, g0, c0, k, row, lambda, x, params, false)
}

/// [`textbook_cg`] with the observed cells' dots and updates fused when
/// `fused` (what [`Fused`] fuses; the `k`-vector work keeps two roundings).
#[allow(clippy::too_many_arguments)]
fn textbook_cg_m<T: Fma>(
    h: &[T],
    g0: &[T],
    c0: &[T],
    k: usize,
    row: &RowIn<T>,
    lambda: T,
    x: &mut [T],
    params: CgParams,
    fused: bool,
) -> CgReport {
    let hrow = |j: u32| &h[j as usize * k..(j as usize + 1) * k];
    let pref = |t: usize| row.pref.as_ref().map_or(T::ONE, |p| p[t]);
    let (mut r, mut p, mut ap) = (vec![T::ZERO; k], vec![T::ZERO; k], vec![T::ZERO; k]);
    ref_symv(g0, x, &mut ap, k);
    ref_axpy(lambda, x, &mut ap);
    for i in 0..k {
        r[i] = -ap[i];
    }
    for (t, &j) in row.items.iter().enumerate() {
        let c = row.conf[t];
        let cx = c * pref(t);
        let coef = cx - (c - c0[j as usize]) * ref_dot_m(hrow(j), x, fused);
        ref_axpy_m(coef, hrow(j), &mut r, fused);
        ref_axpy_m(cx, hrow(j), &mut p, fused);
    }
    let b_sq = ref_dot(&p, &p);
    p.copy_from_slice(&r);
    let mut rr = ref_dot(&r, &r);
    let tol_sq = T::from_f64(params.tol * params.tol) * b_sq;
    let mut steps = 0;
    while steps < params.steps && rr > tol_sq && rr > T::ZERO {
        ref_symv(g0, &p, &mut ap, k);
        ref_axpy(lambda, &p, &mut ap);
        for (t, &j) in row.items.iter().enumerate() {
            let coef = (row.conf[t] - c0[j as usize]) * ref_dot_m(hrow(j), &p, fused);
            ref_axpy_m(coef, hrow(j), &mut ap, fused);
        }
        let pap = ref_dot(&p, &ap);
        assert!(pap > T::ZERO, "test problem is positive definite");
        let alpha = rr / pap;
        ref_axpy(alpha, &p, x);
        ref_axpy(-alpha, &ap, &mut r);
        let rr_new = ref_dot(&r, &r);
        steps += 1;
        let beta = rr_new / rr;
        rr = rr_new;
        for i in 0..k {
            p[i] = r[i] + beta * p[i];
        }
    }
    CgReport {
        steps,
        residual_sq: rr.to_f64(),
    }
}

fn random_row<T: Real>(r: &mut StdRng, n: usize, len: usize, explicit: bool) -> RowIn<T> {
    let items = sorted_sample(r, n, len);
    let conf = (0..len)
        .map(|_| T::from_f64(r.gen_range(1.0..20.0)))
        .collect();
    let pref = explicit.then(|| {
        (0..len)
            .map(|_| T::from_f64(r.gen_range(-1.0..2.0)))
            .collect()
    });
    RowIn { items, conf, pref }
}

/// `solve_row_cg` on each row in turn, row `v` on `x[v k..(v + 1) k]`.
fn one_at_a_time<T: Real, H: RowTable<T>>(
    items: &Items<'_, T, H>,
    rows: &[Row<'_, T>],
    lambdas: &[T],
    x: &mut [T],
    params: CgParams,
) -> Vec<wmf_kernel::Result<CgReport>> {
    let k = items.k();
    let mut scratch = vec![T::ZERO; cg_scratch_len(k)];
    rows.iter()
        .zip(lambdas)
        .zip(x.chunks_exact_mut(k))
        .map(|((row, &lambda), xv)| solve_row_cg(items, row, lambda, xv, params, &mut scratch))
        .collect()
}

/// The rows over `items` with a fused fold, from `x0`: one at a time, and
/// four in lock-step (`prechecked`: without the per-row scans). Reports and
/// solutions of each.
#[allow(clippy::type_complexity)]
fn fused_solves<T: Real, H: RowTable<T>>(
    items: &Items<'_, T, H>,
    rows: &[Row<'_, T>; 4],
    lambdas: &[T; 4],
    x0: &[T],
    params: CgParams,
    prechecked: bool,
) -> (
    (Vec<wmf_kernel::Result<CgReport>>, Vec<T>),
    ([wmf_kernel::Result<CgReport>; 4], Vec<T>),
) {
    let fused = items.with_fold(Fused(PortableFold));
    let mut single = x0.to_vec();
    let reps_single = one_at_a_time(&fused, rows, lambdas, &mut single, params);
    let mut group = x0.to_vec();
    let mut scratch = vec![T::ZERO; cg_rows_scratch_len(4, items.k())];
    let reps_group = if prechecked {
        solve_rows_cg_prechecked(&fused, rows, lambdas, &mut group, params, &mut scratch)
    } else {
        solve_rows_cg(&fused, rows, lambdas, &mut group, params, &mut scratch)
    };
    ((reps_single, single), (reps_group, group))
}

fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

fn check<T: Fma>(seed: u64) {
    let mut r = rng(seed);
    let ks: &[usize] = if MIRI {
        &[3, 17]
    } else {
        &[1, 3, 4, 5, 15, 16, 17, 33, 64, 67]
    };
    for &k in ks {
        let n = if MIRI { 14 } else { 40 };
        let h: Vec<T> = (0..n * k)
            .map(|_| T::from_f64(r.gen_range(-0.5..0.5)))
            .collect();
        for per_item in [false, true] {
            let c0v: Vec<T> = (0..n)
                .map(|_| {
                    if per_item {
                        T::from_f64(r.gen_range(0.2..1.5))
                    } else {
                        T::ONE
                    }
                })
                .collect();
            let baseline = if per_item {
                Baseline::PerItem(&c0v)
            } else {
                Baseline::Uniform(T::ONE)
            };
            let fac = Factors::new(&h, n, k).unwrap();
            let mut g0 = vec![T::ZERO; k * k];
            gramian(&fac, baseline, &mut g0).unwrap();
            let items = Items::new(fac, &g0, baseline).unwrap();
            // The same rows in bfloat16 (with the exact G0), and what they
            // stand for: the solve over them must be the textbook's over
            // the decoded rows, bit for bit.
            let h32: Vec<f32> = h.iter().map(|v| v.to_f64() as f32).collect();
            let mut hb = vec![0u16; n * k];
            encode_bf16(&h32, &mut hb).unwrap();
            let h_hat: Vec<T> = hb
                .iter()
                .map(|&b| T::from_f64(f64::from(bf16_to_f32(b))))
                .collect();
            let compact =
                Items::compact(Bf16Factors::with_shape(&hb, n, k).unwrap(), &g0, baseline).unwrap();
            let lens: &[usize] = if MIRI {
                &[0, 5]
            } else {
                &[0, 1, 3, 4, 5, 8, 9, 13, 30]
            };
            for &len in lens {
                // Under Miri the order past a 16-lane chunk once, with
                // per-item weights and cells (the small order covers the rest).
                if MIRI && k > 16 && !(per_item && len > 0) {
                    continue;
                }
                // Under Miri a short tolerance run stands for the long one.
                let runs: &[(usize, f64)] = if MIRI {
                    &[(3, 1e-10), (0, 0.0), (8, 1e-3)]
                } else {
                    &[(3, 1e-10), (0, 0.0), (5, 0.0), (40, 1e-3)]
                };
                for &(steps, tol) in runs {
                    let params = CgParams { steps, tol };
                    let rows: Vec<RowIn<T>> = (0..4)
                        .map(|v| random_row(&mut r, n, (len + v) % (n + 1), per_item && v % 2 == 1))
                        .collect();
                    let lambdas: [T; 4] =
                        core::array::from_fn(|v| T::from_f64([0.1, 0.0, 2.5, 0.01][v]));
                    let x0: Vec<T> = (0..4 * k)
                        .map(|_| T::from_f64(r.gen_range(-0.3..0.3)))
                        .collect();
                    // the textbook, one row at a time
                    let mut want = x0.clone();
                    let mut want_rep = Vec::new();
                    for v in 0..4 {
                        let xv = &mut want[v * k..(v + 1) * k];
                        want_rep.push(textbook_cg(
                            &h, &g0, &c0v, k, &rows[v], lambdas[v], xv, params,
                        ));
                    }
                    // the kernel, one row at a time
                    let mut single = x0.clone();
                    let krows: [Row<'_, T>; 4] = core::array::from_fn(|v| rows[v].row());
                    let reps = one_at_a_time(&items, &krows, &lambdas, &mut single, params);
                    for v in 0..4 {
                        assert_eq!(
                            reps[v],
                            Ok(want_rep[v]),
                            "k {k} len {len} row {v} {params:?}"
                        );
                    }
                    assert_eq!(
                        bits(&single),
                        bits(&want),
                        "single, k {k} len {len} {params:?}"
                    );
                    // the kernel, four in lock-step
                    let mut group = x0.clone();
                    let mut scratch = vec![T::ZERO; cg_rows_scratch_len(4, k)];
                    let krows: [Row<'_, T>; 4] = core::array::from_fn(|v| rows[v].row());
                    let reps =
                        solve_rows_cg(&items, &krows, &lambdas, &mut group, params, &mut scratch);
                    for v in 0..4 {
                        assert_eq!(
                            reps[v],
                            Ok(want_rep[v]),
                            "k {k} len {len} row {v} {params:?}"
                        );
                    }
                    assert_eq!(
                        bits(&group),
                        bits(&want),
                        "group, k {k} len {len} {params:?}"
                    );
                    // the same four without the per-row scans (checked rows)
                    let mut pre = x0.clone();
                    let reps = solve_rows_cg_prechecked(
                        &items,
                        &krows,
                        &lambdas,
                        &mut pre,
                        params,
                        &mut scratch,
                    );
                    for v in 0..4 {
                        assert_eq!(
                            reps[v],
                            Ok(want_rep[v]),
                            "prechecked, k {k} len {len} row {v}"
                        );
                    }
                    assert_eq!(
                        bits(&pre),
                        bits(&want),
                        "prechecked, k {k} len {len} {params:?}"
                    );
                    // eight in lock-step (the host's group): the four rows twice
                    let mut group8 = [x0.clone(), x0.clone()].concat();
                    let mut scratch = vec![T::ZERO; cg_rows_scratch_len(8, k)];
                    let krows8: [Row<'_, T>; 8] = core::array::from_fn(|v| rows[v % 4].row());
                    let lambdas8: [T; 8] = core::array::from_fn(|v| lambdas[v % 4]);
                    let reps = solve_rows_cg(
                        &items,
                        &krows8,
                        &lambdas8,
                        &mut group8,
                        params,
                        &mut scratch,
                    );
                    for v in 0..8 {
                        assert_eq!(reps[v], Ok(want_rep[v % 4]), "k {k} len {len} row {v} of 8");
                    }
                    let want8 = [want.clone(), want.clone()].concat();
                    assert_eq!(
                        bits(&group8),
                        bits(&want8),
                        "group of 8, k {k} len {len} {params:?}"
                    );
                    // bfloat16 rows: the textbook over the decoded rows
                    let mut want_b = x0.clone();
                    let mut want_b_rep = Vec::new();
                    for v in 0..4 {
                        let xv = &mut want_b[v * k..(v + 1) * k];
                        want_b_rep.push(textbook_cg(
                            &h_hat, &g0, &c0v, k, &rows[v], lambdas[v], xv, params,
                        ));
                    }
                    let mut single_b = x0.clone();
                    let reps = one_at_a_time(&compact, &krows, &lambdas, &mut single_b, params);
                    for v in 0..4 {
                        assert_eq!(reps[v], Ok(want_b_rep[v]), "bf16 k {k} len {len} row {v}");
                    }
                    assert_eq!(
                        bits(&single_b),
                        bits(&want_b),
                        "bf16 single, k {k} len {len}"
                    );
                    let mut group_b = x0.clone();
                    let mut scratch = vec![T::ZERO; cg_rows_scratch_len(4, k)];
                    let reps = solve_rows_cg(
                        &compact,
                        &krows,
                        &lambdas,
                        &mut group_b,
                        params,
                        &mut scratch,
                    );
                    for v in 0..4 {
                        assert_eq!(reps[v], Ok(want_b_rep[v]), "bf16 k {k} len {len} row {v}");
                    }
                    assert_eq!(bits(&group_b), bits(&want_b), "bf16 group, k {k} len {len}");
                    // fused multiply-adds: the fused textbook, one row at a
                    // time and in lock-step, over rows of T and bfloat16
                    // (under Miri, rows of T in the first run of each case)
                    for (table, hh) in [("T", &h), ("bf16", &h_hat)] {
                        if MIRI && (table != "T" || (steps, tol) != runs[0]) {
                            continue;
                        }
                        let mut want_f = x0.clone();
                        let mut want_f_rep = Vec::new();
                        for v in 0..4 {
                            let xv = &mut want_f[v * k..(v + 1) * k];
                            want_f_rep.push(textbook_cg_m(
                                hh, &g0, &c0v, k, &rows[v], lambdas[v], xv, params, true,
                            ));
                        }
                        let ((reps_single, single_f), (reps_group, group_f)) = if table == "T" {
                            fused_solves(&items, &krows, &lambdas, &x0, params, true)
                        } else {
                            fused_solves(&compact, &krows, &lambdas, &x0, params, false)
                        };
                        for v in 0..4 {
                            let what = format!("fused {table} k {k} len {len} row {v}");
                            assert_eq!(reps_single[v], Ok(want_f_rep[v]), "single {what}");
                            assert_eq!(reps_group[v], Ok(want_f_rep[v]), "group {what}");
                        }
                        let what = format!("fused {table}, k {k} len {len} {params:?}");
                        assert_eq!(bits(&single_f), bits(&want_f), "single {what}");
                        assert_eq!(bits(&group_f), bits(&want_f), "group {what}");
                    }
                }
            }
        }
    }
}

#[test]
fn cg_single_and_lockstep_equal_the_textbook_bit_for_bit_f32() {
    check::<f32>(91);
}

#[test]
#[cfg_attr(miri, ignore = "Miri runs the f32 twin; the f64 one runs natively")]
fn cg_single_and_lockstep_equal_the_textbook_bit_for_bit_f64() {
    check::<f64>(92);
}

#[test]
fn a_failing_row_in_a_group_fails_alone_with_its_single_row_error() {
    let (n, k) = (12, 5);
    let mut r = rng(93);
    let h: Vec<f32> = (0..n * k).map(|_| r.gen_range(-0.5..0.5)).collect();
    let fac = Factors::new(&h, n, k).unwrap();
    let mut g0 = vec![0.0f32; k * k];
    gramian(&fac, Baseline::Uniform(1.0), &mut g0).unwrap();
    let items = Items::new(fac, &g0, Baseline::Uniform(1.0)).unwrap();
    let good = random_row::<f32>(&mut r, n, 6, false);
    let bad_item = RowIn {
        items: vec![1, 99],
        conf: vec![2.0, 3.0],
        pref: None,
    };
    let big = RowIn {
        items: vec![0, 1],
        conf: vec![f32::MAX, f32::MAX],
        pref: None,
    };
    let rows = [&good, &bad_item, &good, &big];
    let lambdas = [0.1f32, 0.1, -1.0, 0.1];
    let mut x0: Vec<f32> = (0..4 * k).map(|_| r.gen_range(-0.3..0.3)).collect();
    x0[3 * k] = f32::MAX; // with huge confidences: the residual overflows
    let params = CgParams::default();
    let mut single = x0.clone();
    let krows: [Row<'_, f32>; 4] = core::array::from_fn(|v| rows[v].row());
    let want = one_at_a_time(&items, &krows, &lambdas, &mut single, params);
    assert!(
        want[0].is_ok() && want[1].is_err() && want[2].is_err() && want[3].is_err(),
        "{want:?}"
    );
    let mut group = x0.clone();
    let mut scratch = vec![0.0f32; cg_rows_scratch_len(4, k)];
    let got = solve_rows_cg(&items, &krows, &lambdas, &mut group, params, &mut scratch);
    assert_eq!(got.to_vec(), want);
    assert_eq!(bits(&group), bits(&single));
    // a short scratch or x fails every row, and touches nothing
    let mut x = x0.clone();
    let mut short = vec![0.0f32; cg_rows_scratch_len(4, k) - 1];
    let got = solve_rows_cg(&items, &krows, &lambdas, &mut x, params, &mut short);
    assert!(
        got.iter().skip(1).all(|e| e.is_err()) && got[0].is_err(),
        "{got:?}"
    );
    assert_eq!(bits(&x), bits(&x0));
}
