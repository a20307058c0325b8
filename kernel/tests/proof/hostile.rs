//! Property tests over random sizes and hostile values (NaN, ±inf, negative
//! confidences and λ, out-of-range or unsorted ids, wrong lengths, k = 0,
//! k > MAX_K, 1e38): no input panics, a single corruption of a valid call
//! gives exactly the documented error, and anything that succeeds has finite
//! outputs.

use proptest::prelude::*;
use proptest::sample::Index;
use rand::Rng;
use wmf_kernel::{
    Baseline, CellUpdate, CgParams, Dense, Error, Factors, Items, MAX_K, Real, Row, cd_sweeps,
    cholesky_in_place, cholesky_solve_in_place, eals_online_update, gradient_step_row, gramian,
    row_gradient, row_loss, row_normal_equations, score_items, select_top_n_into, solve_row_cg,
    solve_row_cholesky, solve_row_eals, solve_spd_in_place, top_n_into,
};

use crate::common::{cast, rng};

/// Few cases under Miri (each case is interpreted), no failure files (Miri
/// isolates the file system), no forking.
fn config() -> ProptestConfig {
    ProptestConfig {
        // PROPTEST_CASES overrides the native count for a longer soak.
        cases: if cfg!(miri) {
            4
        } else {
            std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(512)
        },
        failure_persistence: None,
        fork: false,
        ..ProptestConfig::default()
    }
}

/// Mostly ordinary numbers, often hostile ones.
fn hostile() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -3.0f64..3.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e38),
        1 => Just(-1e38),
        1 => Just(3.4e38),
        1 => Just(1e300),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(1e-40),
        1 => Just(-1e-30),
    ]
}

/// The error a value must raise where it has to be finite and `>= 0`.
fn nonneg_error<T: Real>(v: T, what: &'static str, index: usize) -> Option<Error> {
    if !v.is_finite() {
        Some(Error::NonFinite { what, index })
    } else if v < T::ZERO {
        Some(Error::Negative { what, index })
    } else {
        None
    }
}

/// The error a value must raise where it has to be finite.
fn finite_error<T: Real>(v: T, what: &'static str, index: usize) -> Option<Error> {
    (!v.is_finite()).then_some(Error::NonFinite { what, index })
}

/// With valid arguments, only an overflow may fail.
fn overflow_only(r: &Result<(), Error>) -> bool {
    matches!(
        r,
        Ok(()) | Err(Error::NonFiniteResult { .. } | Error::NotPositiveDefinite { .. })
    )
}

pub(crate) fn all_finite<T: Real>(v: &[T]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// A valid fold-in problem with a non-empty row.
#[derive(Debug, Clone)]
pub(crate) struct Case<T> {
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) h: Vec<T>,
    pub(crate) g0: Vec<T>,
    pub(crate) c0: Vec<T>,
    pub(crate) per_item: bool,
    pub(crate) items: Vec<u32>,
    pub(crate) conf: Vec<T>,
    pub(crate) pref: Option<Vec<T>>,
    pub(crate) lambda: T,
    pub(crate) w: Vec<T>,
}

impl<T: Real> Case<T> {
    pub(crate) fn new(seed: u64, n: usize, k: usize) -> Self {
        let mut r = rng(seed);
        let h: Vec<f64> = (0..n * k).map(|_| r.gen_range(-1.0..1.0)).collect();
        let per_item = r.gen_bool(0.5);
        let c0: Vec<f64> = if per_item {
            (0..n).map(|_| r.gen_range(0.0..2.0)).collect()
        } else {
            vec![1.0; n]
        };
        let mut items: Vec<u32> = (0..n as u32).filter(|_| r.gen_bool(0.5)).collect();
        if items.is_empty() {
            items.push(r.gen_range(0..n as u32));
        }
        let conf: Vec<f64> = items.iter().map(|_| r.gen_range(0.0..5.0)).collect();
        let pref = r.gen_bool(0.5).then(|| {
            items
                .iter()
                .map(|_| r.gen_range(-1.0..2.0))
                .collect::<Vec<f64>>()
        });
        let w: Vec<f64> = (0..k).map(|_| r.gen_range(-1.0..1.0)).collect();
        let h: Vec<T> = cast(&h);
        let c0: Vec<T> = cast(&c0);
        let mut g0 = vec![T::ZERO; k * k];
        let base = if per_item {
            Baseline::PerItem(&c0[..])
        } else {
            Baseline::Uniform(c0[0])
        };
        gramian(&Factors::new(&h, n, k).unwrap(), base, &mut g0).unwrap();
        Case {
            n,
            k,
            h,
            g0,
            per_item,
            c0,
            items,
            conf: cast(&conf),
            pref: pref.map(|p| cast(&p)),
            lambda: T::from_f64(0.5),
            w: cast(&w),
        }
    }

    pub(crate) fn items(&self) -> Items<'_, T> {
        let base = if self.per_item {
            Baseline::PerItem(&self.c0[..])
        } else {
            Baseline::Uniform(self.c0[0])
        };
        Items::new(
            Factors::new(&self.h, self.n, self.k).unwrap(),
            &self.g0,
            base,
        )
        .unwrap()
    }

    pub(crate) fn row(&self) -> Row<'_, T> {
        Row::new(&self.items, &self.conf, self.pref.as_deref())
    }
}

/// The row-level functions under test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Target {
    Loss,
    Gradient,
    Normal,
    Cholesky,
    Cg,
    Eals,
    Step,
}

const TARGETS: [Target; 7] = [
    Target::Loss,
    Target::Gradient,
    Target::Normal,
    Target::Cholesky,
    Target::Cg,
    Target::Eals,
    Target::Step,
];

impl Target {
    /// The name the function gives its user-factor argument, if it reads one.
    fn w_name(self) -> Option<&'static str> {
        match self {
            Target::Normal => None,
            Target::Cholesky | Target::Cg => Some("x"),
            _ => Some("w"),
        }
    }

    /// Whether the function checks the values (not only the length) of `w`.
    fn reads_w(self) -> bool {
        !matches!(self, Target::Normal | Target::Cholesky)
    }

    /// The scratch or output that the function length-checks, and its required length.
    fn scratch(self, k: usize, nu: usize) -> (&'static str, usize) {
        match self {
            Target::Loss => ("", 0),
            Target::Gradient | Target::Step => ("grad", k),
            Target::Normal => ("a", k * k),
            Target::Cholesky => ("a_scratch", k * k),
            Target::Cg => ("scratch", 3 * k),
            Target::Eals => ("pred_scratch", nu),
        }
    }

    /// Calls the function; `short` makes its scratch one element too short.
    /// Checks that a success leaves only finite outputs.
    fn call<T: Real>(
        self,
        items: &Items<'_, T>,
        row: &Row<'_, T>,
        lambda: T,
        w: &mut [T],
        short: bool,
    ) -> Result<(), Error> {
        let k = items.k();
        let (_, len) = self.scratch(k, row.len());
        let mut s = vec![T::ZERO; if short { len.saturating_sub(1) } else { len }];
        let mut b = vec![T::ZERO; k];
        let r = match self {
            Target::Loss => row_loss(items, row, lambda, w).map(|f| assert!(f.is_finite())),
            Target::Gradient => row_gradient(items, row, lambda, w, &mut s),
            Target::Normal => row_normal_equations(items, row, lambda, &mut s, &mut b),
            Target::Cholesky => solve_row_cholesky(items, row, lambda, &mut s, w),
            Target::Cg => solve_row_cg(
                items,
                row,
                lambda,
                w,
                CgParams {
                    steps: 2 * k,
                    tol: 0.0,
                },
                &mut s,
            )
            .map(|rep| {
                assert!(
                    !rep.residual_sq.is_nan(),
                    "CG reported a NaN residual: {rep:?}"
                );
            }),
            Target::Eals => solve_row_eals(items, row, lambda, w, 3, &mut s),
            Target::Step => gradient_step_row(items, row, lambda, w, T::from_f64(0.01), &mut s),
        };
        // From valid arguments CG never steps to a non-finite x: an
        // overflowing step is refused and x keeps the last finite iterate.
        let computed = matches!(r, Ok(()) | Err(Error::NonFiniteResult { .. }));
        assert!(
            self != Target::Cg || !computed || all_finite(w),
            "CG left a non-finite x: {r:?}"
        );
        if r.is_ok() {
            // CG and eALS scratch (residuals, prediction cache) is not an output.
            let s_is_output = !matches!(self, Target::Cg | Target::Eals);
            assert!(
                self == Target::Normal || all_finite(w),
                "{self:?} succeeded with a non-finite w/x"
            );
            assert!(
                !s_is_output || all_finite(&s),
                "{self:?} succeeded with non-finite output"
            );
            assert!(all_finite(&b), "{self:?} succeeded with non-finite b");
        }
        r
    }
}

/// One corruption of a valid row call.
#[derive(Debug, Clone)]
pub(crate) enum Corruption {
    Conf(Index, f64),
    Pref(Index, f64),
    ItemOutOfRange(Index, u32),
    Duplicate(Index),
    Swap(Index),
    ConfLen(bool),
    PrefLen,
    Lambda(f64),
    W(Index, f64),
    WLen(bool),
    ShortScratch,
}

pub(crate) fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        (any::<Index>(), hostile()).prop_map(|(i, v)| Corruption::Conf(i, v)),
        (any::<Index>(), hostile()).prop_map(|(i, v)| Corruption::Pref(i, v)),
        (any::<Index>(), prop_oneof![0u32..3, Just(u32::MAX)])
            .prop_map(|(i, d)| Corruption::ItemOutOfRange(i, d)),
        any::<Index>().prop_map(Corruption::Duplicate),
        any::<Index>().prop_map(Corruption::Swap),
        any::<bool>().prop_map(Corruption::ConfLen),
        Just(Corruption::PrefLen),
        hostile().prop_map(Corruption::Lambda),
        (any::<Index>(), hostile()).prop_map(|(i, v)| Corruption::W(i, v)),
        any::<bool>().prop_map(Corruption::WLen),
        Just(Corruption::ShortScratch),
    ]
}

/// Applies `c` to a valid case and returns the error the target must report
/// (`None`: the call is valid, and only an overflow may fail it).
pub(crate) fn corrupt<T: Real>(
    case: &mut Case<T>,
    c: &Corruption,
    target: Target,
) -> (Option<Error>, bool) {
    let nu = case.items.len();
    let mut short = false;
    let expected = match *c {
        Corruption::Conf(i, v) => {
            let p = i.index(nu);
            case.conf[p] = T::from_f64(v);
            nonneg_error(case.conf[p], "conf", p)
        }
        Corruption::Pref(i, v) => {
            let p = i.index(nu);
            let pref = case.pref.get_or_insert_with(|| vec![T::ONE; nu]);
            pref[p] = T::from_f64(v);
            finite_error(pref[p], "pref", p)
        }
        Corruption::ItemOutOfRange(i, d) => {
            let p = i.index(nu);
            let bad = (case.n as u32).saturating_add(d);
            case.items[p] = bad;
            Some(Error::IndexOutOfRange {
                what: "items",
                position: p,
                index: bad as usize,
                bound: case.n,
            })
        }
        Corruption::Duplicate(i) if nu >= 2 => {
            let p = i.index(nu - 1);
            case.items[p + 1] = case.items[p];
            Some(Error::NotAscending {
                what: "items",
                position: p + 1,
            })
        }
        Corruption::Swap(i) if nu >= 2 => {
            let p = i.index(nu - 1);
            case.items.swap(p, p + 1);
            Some(Error::NotAscending {
                what: "items",
                position: p + 1,
            })
        }
        Corruption::Duplicate(_) | Corruption::Swap(_) => None,
        Corruption::ConfLen(longer) => {
            if longer {
                case.conf.push(T::ONE);
            } else {
                case.conf.pop();
            }
            Some(Error::LengthMismatch {
                what: "conf",
                expected: nu,
                actual: case.conf.len(),
            })
        }
        Corruption::PrefLen => {
            let mut p = case.pref.take().unwrap_or_else(|| vec![T::ONE; nu]);
            p.push(T::ONE);
            case.pref = Some(p);
            Some(Error::LengthMismatch {
                what: "pref",
                expected: nu,
                actual: nu + 1,
            })
        }
        Corruption::Lambda(v) => {
            case.lambda = T::from_f64(v);
            nonneg_error(case.lambda, "lambda", 0)
        }
        Corruption::W(i, v) => {
            let p = i.index(case.k);
            case.w[p] = T::from_f64(v);
            match target.w_name() {
                Some(name) if target.reads_w() => finite_error(case.w[p], name, p),
                _ => None,
            }
        }
        Corruption::WLen(longer) => {
            if longer {
                case.w.push(T::ZERO);
            } else {
                case.w.pop();
            }
            target.w_name().map(|what| Error::LengthMismatch {
                what,
                expected: case.k,
                actual: case.w.len(),
            })
        }
        Corruption::ShortScratch => {
            let (what, len) = target.scratch(case.k, nu);
            short = true;
            (len > 0).then(|| Error::LengthMismatch {
                what,
                expected: len,
                actual: len - 1,
            })
        }
    };
    (expected, short)
}

fn single_corruption<T: Real>(
    seed: u64,
    n: usize,
    k: usize,
    c: &Corruption,
    t: Target,
) -> Result<(), TestCaseError> {
    let mut case = Case::<T>::new(seed, n, k);
    let (expected, short) = corrupt(&mut case, c, t);
    let items = case.items();
    let mut w = case.w.clone();
    let got = t.call(&items, &case.row(), case.lambda, &mut w, short);
    match expected {
        Some(e) => prop_assert_eq!(got, Err(e), "{:?} {:?}", t, c),
        None => prop_assert!(overflow_only(&got), "{:?} {:?}: {:?}", t, c, got),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// A valid row call with one corruption fails with exactly the documented error.
    /// (Up to 40 items, so rows reach the 16-lane chunks of the branch-free
    /// checks; `k` from 16 for the chunks of the CG step's finite check.)
    #[test]
    fn row_functions_report_the_documented_error(
        seed in any::<u64>(),
        n in prop_oneof![1usize..9, 30usize..41],
        k in prop_oneof![1usize..7, 16usize..19],
        c in corruption(),
        t in proptest::sample::select(TARGETS.to_vec()),
    ) {
        single_corruption::<f32>(seed, n, k, &c, t)?;
        single_corruption::<f64>(seed, n, k, &c, t)?;
    }

    /// Entirely random arguments (any lengths, ids, k including 0 and > MAX_K,
    /// hostile values): nothing panics and any success is finite.
    #[test]
    fn random_arguments_never_panic(
        n in 0usize..6,
        k in prop_oneof![0usize..5, Just(MAX_K), Just(MAX_K + 1), Just(usize::MAX)],
        hv in proptest::collection::vec(hostile(), 0..24),
        g0v in proptest::collection::vec(hostile(), 0..20),
        ids in proptest::collection::vec(prop_oneof![0u32..6, Just(u32::MAX)], 0..5),
        confv in proptest::collection::vec(hostile(), 0..5),
        wv in proptest::collection::vec(hostile(), 0..5),
        lambda in hostile(),
        uniform in any::<bool>(),
    ) {
        let h: Vec<f32> = cast(&hv);
        let g0: Vec<f32> = cast(&g0v);
        let conf: Vec<f32> = cast(&confv);
        let w: Vec<f32> = cast(&wv);
        let lambda = lambda as f32;
        let kk = k.min(8);
        let _ = cholesky_in_place(&mut g0.clone(), k);
        let _ = solve_spd_in_place(&mut g0.clone(), &mut w.clone(), k);
        let _ = cholesky_solve_in_place(&g0, &mut w.clone(), k);
        let _ = cd_sweeps(&g0, &conf, &mut w.clone(), k, 2);
        let _ = eals_online_update(&mut g0.clone(), &mut conf.clone(), &mut w.clone(), k, &h, CellUpdate::new_interaction(lambda, 1.0), 2);
        let x: Vec<f32> = cast(&hv);
        let _ = Dense::new(&x, &x, &w, &h, n, n, k).map(|d| {
            let _ = d.loss(lambda);
            let _ = d.grad_w(lambda, &mut vec![0.0; n * kk]);
            let _ = d.grad_h(lambda, &mut vec![0.0; n * kk]);
            let _ = d.weighted_residual(&mut vec![0.0; n * n]);
        });
        if let Ok(f) = Factors::new(&h, n, k) {
            let _ = score_items(&f, &w, &mut vec![0.0; n]);
            let mut out = vec![0u32; 3];
            let mut sc = vec![0.0f32; 3];
            if let Ok(got) = top_n_into(&f, &w, &ids, &mut out, &mut sc) {
                prop_assert!(all_finite(&sc[..got]));
            }
            // Precomputed (possibly hostile) scores: the raw factor values.
            if let Ok(got) = select_top_n_into(&h, &ids, &mut out, &mut sc) {
                prop_assert!(all_finite(&sc[..got]));
            }
            let c0 = if uniform { Baseline::Uniform(lambda) } else { Baseline::PerItem(&conf[..]) };
            let _ = gramian(&f, c0, &mut vec![0.0; k * k]);
            if let Ok(items) = Items::new(f, &g0, c0) {
                let row = Row::implicit(&ids, &conf);
                for t in TARGETS {
                    let _ = t.call(&items, &row, lambda, &mut w.clone(), false);
                }
            }
        }
    }

    /// Valid arguments with huge (finite) values: success with finite
    /// outputs, or an overflow error; never a NaN, never another error.
    #[test]
    fn huge_values_overflow_cleanly(
        seed in any::<u64>(),
        n in 1usize..7,
        k in prop_oneof![1usize..6, 16usize..19],
        scale in prop_oneof![Just(1e18), Just(1e19), Just(1e37), Just(3e38)],
        g0_garbage in any::<bool>(),
        t in proptest::sample::select(TARGETS.to_vec()),
    ) {
        let mut case = Case::<f32>::new(seed, n, k);
        let s = scale as f32;
        for v in case.h.iter_mut().chain(case.w.iter_mut()).chain(case.conf.iter_mut()) {
            *v = (*v * s).clamp(-f32::MAX, f32::MAX); // huge but finite
        }
        let mut g0 = vec![0.0f32; k * k];
        let gram = gramian(&Factors::new(&case.h, n, k).unwrap(), Baseline::Uniform(1.0), &mut g0);
        let gram_ok = matches!(gram, Ok(()) | Err(Error::NonFiniteResult { what: "g" }));
        prop_assert!(gram_ok, "gramian: {:?}", gram);
        if gram.is_err() || g0_garbage {
            // any finite matrix, not necessarily positive definite
            g0 = (0..k * k).map(|i| if i % 3 == 0 { -s } else { s }).collect();
        }
        case.g0 = g0;
        case.per_item = false;
        let items = case.items();
        let mut w = case.w.clone();
        let got = t.call(&items, &case.row(), case.lambda * s, &mut w, false);
        prop_assert!(overflow_only(&got), "{:?}: {:?}", t, got);
    }
}

proptest! {
    #![proptest_config(config())]

    /// A valid dense block with one hostile value at a random position.
    #[test]
    fn dense_block_reports_the_documented_error(
        m in 1usize..5, n in 1usize..5, k in 1usize..4,
        which in 0usize..5, at in any::<Index>(), v in hostile(),
    ) {
        let mut x = vec![1.0f32; m * n];
        let mut c = vec![2.0f32; m * n];
        let mut w = vec![0.5f32; m * k];
        let mut h = vec![-0.5f32; n * k];
        let v32 = v as f32;
        let (expected, lambda) = match which {
            0 => { let p = at.index(x.len()); x[p] = v32; (finite_error(v32, "x", p), 0.1) }
            1 => { let p = at.index(c.len()); c[p] = v32; (nonneg_error(v32, "c", p), 0.1) }
            2 => { let p = at.index(w.len()); w[p] = v32; (finite_error(v32, "w", p), 0.1) }
            3 => { let p = at.index(h.len()); h[p] = v32; (finite_error(v32, "h", p), 0.1) }
            _ => (None, v32),
        };
        let d = Dense::new(&x, &c, &w, &h, m, n, k);
        match expected {
            Some(e) => prop_assert_eq!(d.map(|_| ()), Err(e)),
            None => {
                let d = d.unwrap();
                let lam_err = nonneg_error(lambda, "lambda", 0);
                let mut g = vec![0.0; m * k];
                let got = d.grad_w(lambda, &mut g);
                match lam_err {
                    Some(e) => prop_assert_eq!(got, Err(e)),
                    None => prop_assert!(overflow_only(&got)),
                }
                let loss = d.loss(lambda);
                match lam_err {
                    Some(e) => prop_assert_eq!(loss, Err(e)),
                    None => {
                        let fine = matches!(loss, Ok(f) if f.is_finite())
                            || loss == Err(Error::NonFiniteResult { what: "loss" });
                        prop_assert!(fine, "loss: {:?}", loss);
                    }
                }
            }
        }
    }
}

/// Constructors and the matrix-level functions name the argument and position.
#[test]
fn validation_errors_name_what_and_where() {
    let h = [1.0f32, 0.0, 0.0, 1.0, 0.5, 0.5];
    // Factors::new
    assert_eq!(
        Factors::new(&h, 3, 0).err(),
        Some(Error::ZeroDimension { what: "k" })
    );
    assert_eq!(
        Factors::new(&h, 0, 2).err(),
        Some(Error::ZeroDimension { what: "n" })
    );
    assert_eq!(
        Factors::new(&h, 1, MAX_K + 1).err(),
        Some(Error::DimensionTooLarge {
            what: "k",
            value: MAX_K + 1,
            max: MAX_K
        })
    );
    assert_eq!(
        Factors::new(&h, 2, 2).err(),
        Some(Error::LengthMismatch {
            what: "factors",
            expected: 4,
            actual: 6
        })
    );
    assert_eq!(
        Factors::new(&h, usize::MAX / 2, 4).err(),
        Some(Error::DimensionTooLarge {
            what: "n",
            value: usize::MAX / 2,
            max: u32::MAX as usize
        })
    );
    let bad = [1.0f32, f32::NAN, 0.0, 1.0];
    assert_eq!(
        Factors::new(&bad, 2, 2).err(),
        Some(Error::NonFinite {
            what: "factors",
            index: 1
        })
    );
    // Items::new and gramian
    let f = Factors::new(&h, 3, 2).unwrap();
    let g0 = [1.0f32, 0.0, 0.0, 1.0];
    assert_eq!(
        Items::new(f, &g0[..3], Baseline::Uniform(1.0)).err(),
        Some(Error::LengthMismatch {
            what: "g0",
            expected: 4,
            actual: 3
        })
    );
    assert_eq!(
        Items::new(f, &[1.0, f32::INFINITY, 0.0, 1.0], Baseline::Uniform(1.0)).err(),
        Some(Error::NonFinite {
            what: "g0",
            index: 1
        })
    );
    assert_eq!(
        Items::new(f, &g0, Baseline::Uniform(-1.0)).err(),
        Some(Error::Negative {
            what: "c0",
            index: 0
        })
    );
    assert_eq!(
        Items::new(f, &g0, Baseline::PerItem(&[1.0, 1.0])).err(),
        Some(Error::LengthMismatch {
            what: "c0",
            expected: 3,
            actual: 2
        })
    );
    assert_eq!(
        gramian(&f, Baseline::PerItem(&[1.0, f32::NAN, 1.0]), &mut [0.0; 4]),
        Err(Error::NonFinite {
            what: "c0",
            index: 1
        })
    );
    assert_eq!(
        gramian(&f, Baseline::Uniform(1.0), &mut [0.0; 3]),
        Err(Error::LengthMismatch {
            what: "g",
            expected: 4,
            actual: 3
        })
    );
    // Dense::new shapes
    let one = [1.0f64];
    assert_eq!(
        Dense::new(&one, &one, &one, &one, 0, 1, 1).err(),
        Some(Error::ZeroDimension { what: "m" })
    );
    assert_eq!(
        Dense::new(&one, &one, &one, &one, usize::MAX / 2, 3, 1)
            .err()
            .map(|e| matches!(e, Error::DimensionTooLarge { what: "m", .. })),
        Some(true)
    );
    assert_eq!(
        Dense::new(&one, &one, &one, &one, 1, 1, 2).err(),
        Some(Error::LengthMismatch {
            what: "w",
            expected: 2,
            actual: 1
        })
    );
    let d = Dense::new(&one, &one, &one, &one, 1, 1, 1).unwrap();
    assert_eq!(
        d.grad_h(0.0, &mut [0.0; 2]),
        Err(Error::LengthMismatch {
            what: "grad_h",
            expected: 1,
            actual: 2
        })
    );
    assert_eq!(
        d.weighted_residual(&mut []),
        Err(Error::LengthMismatch {
            what: "r",
            expected: 1,
            actual: 0
        })
    );
    // Cholesky family and coordinate descent
    assert_eq!(
        cholesky_in_place(&mut [1.0f64], 0),
        Err(Error::ZeroDimension { what: "k" })
    );
    assert_eq!(
        cholesky_in_place(&mut [1.0f64; 4], 3),
        Err(Error::LengthMismatch {
            what: "a",
            expected: 9,
            actual: 4
        })
    );
    assert_eq!(
        cholesky_in_place(&mut [1.0f64, f64::NAN, 0.0, 1.0], 2),
        Err(Error::NonFinite {
            what: "a",
            index: 1
        })
    );
    assert_eq!(
        solve_spd_in_place(&mut [1.0f64, 0.0, 0.0, 1.0], &mut [1.0, f64::INFINITY], 2),
        Err(Error::NonFinite {
            what: "b",
            index: 1
        })
    );
    assert_eq!(
        cd_sweeps(&[1.0f64], &[1.0], &mut [1.0, 2.0], 1, 1),
        Err(Error::LengthMismatch {
            what: "w",
            expected: 1,
            actual: 2
        })
    );
    // the online update validates before writing anything
    let (mut a, mut b, mut w) = ([2.0f64], [0.0], [0.0]);
    let good = CellUpdate::new_interaction(3.0, 1.0);
    for (upd, hi, want) in [
        (
            CellUpdate {
                c_new: -1.0,
                ..good
            },
            &[1.0][..],
            Error::Negative {
                what: "c_new",
                index: 0,
            },
        ),
        (
            CellUpdate {
                c_old: f64::NAN,
                ..good
            },
            &[1.0][..],
            Error::NonFinite {
                what: "c_old",
                index: 0,
            },
        ),
        (
            CellUpdate {
                x_new: f64::INFINITY,
                ..good
            },
            &[1.0][..],
            Error::NonFinite {
                what: "x_new",
                index: 0,
            },
        ),
        (
            CellUpdate {
                x_old: f64::NAN,
                ..good
            },
            &[1.0][..],
            Error::NonFinite {
                what: "x_old",
                index: 0,
            },
        ),
        (
            good,
            &[1.0, 2.0][..],
            Error::LengthMismatch {
                what: "h_i",
                expected: 1,
                actual: 2,
            },
        ),
        (
            good,
            &[f64::NAN][..],
            Error::NonFinite {
                what: "h_i",
                index: 0,
            },
        ),
    ] {
        assert_eq!(
            eals_online_update(&mut a, &mut b, &mut w, 1, hi, upd, 1),
            Err(want)
        );
        assert_eq!((a, b, w), ([2.0], [0.0], [0.0]));
    }
    // scoring
    let f = Factors::new(&h, 3, 2).unwrap();
    assert_eq!(
        score_items(&f, &[1.0], &mut [0.0; 3]),
        Err(Error::LengthMismatch {
            what: "w",
            expected: 2,
            actual: 1
        })
    );
    assert_eq!(
        score_items(&f, &[1.0, 1.0], &mut [0.0; 2]),
        Err(Error::LengthMismatch {
            what: "scores",
            expected: 3,
            actual: 2
        })
    );
    assert_eq!(
        top_n_into(&f, &[f32::NAN, 1.0], &[], &mut [0; 2], &mut [0.0; 2]),
        Err(Error::NonFinite {
            what: "w",
            index: 0
        })
    );
    // the gradient step's learning rate
    let items = Items::new(f, &g0, Baseline::Uniform(1.0)).unwrap();
    let row = Row::implicit(&[1], &[2.0]);
    for (lr, want) in [
        (
            -0.1f32,
            Error::Negative {
                what: "lr",
                index: 0,
            },
        ),
        (
            f32::NAN,
            Error::NonFinite {
                what: "lr",
                index: 0,
            },
        ),
    ] {
        let mut w = [0.5f32, 0.5];
        assert_eq!(
            gradient_step_row(&items, &row, 0.1, &mut w, lr, &mut [0.0; 2]),
            Err(want)
        );
        assert_eq!(w, [0.5, 0.5]);
    }
}
