//! The kernel's gathered split of the normal equations plus a BLAS `syrk`
//! equals the kernel's own normal equations (the host's Cholesky path).

use rand::{Rng, SeedableRng, rngs::StdRng};
use wmf_host::gramian::Float;
use wmf_kernel::{Baseline, Factors, Items, Row};

#[test]
fn gathered_plus_syrk_equals_normal_equations() {
    let mut rng = StdRng::seed_from_u64(11);
    let (n, k) = (40usize, 7usize);
    let h: Vec<f64> = (0..n * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
    // per-item c0 around the confidences, so c − c0 takes both signs (and 0)
    let c0: Vec<f64> = (0..n)
        .map(|j| {
            if j % 5 == 0 {
                2.0
            } else {
                rng.gen_range(0.5..3.0)
            }
        })
        .collect();
    let fac = Factors::new(&h, n, k).unwrap();
    let mut g0 = vec![0.0; k * k];
    wmf_kernel::gramian(&fac, Baseline::PerItem(&c0), &mut g0).unwrap();
    let items = Items::new(fac, &g0, Baseline::PerItem(&c0)).unwrap();
    for trial in 0..20 {
        let mut idx: Vec<u32> = (0..n as u32).filter(|_| rng.gen_bool(0.3)).collect();
        if trial == 0 {
            idx.clear();
        }
        let conf: Vec<f64> = idx
            .iter()
            .map(|&j| {
                if j % 5 == 0 {
                    2.0
                } else {
                    rng.gen_range(0.5..3.0)
                }
            })
            .collect();
        let pref: Vec<f64> = idx.iter().map(|_| rng.gen_range(0.0..2.0)).collect();
        let row = Row::new(&idx, &conf, Some(&pref));
        let (mut a_ref, mut b_ref) = (vec![0.0; k * k], vec![0.0; k]);
        wmf_kernel::row_normal_equations(&items, &row, 0.3, &mut a_ref, &mut b_ref).unwrap();
        let (mut a, mut b) = (vec![0.0; k * k], vec![0.0; k]);
        let mut block = vec![0.0; wmf_kernel::gathered_rows_len(idx.len(), k)];
        let (pos, neg) = wmf_kernel::row_normal_equations_gathered(
            &items, &row, 0.3, &mut a, &mut block, &mut b,
        )
        .unwrap();
        let zeros = idx
            .iter()
            .zip(&conf)
            .filter(|&(&j, &c)| c == c0[j as usize])
            .count();
        assert_eq!(pos + neg + zeros, idx.len());
        f64::syrk_lower(1.0, &block[..pos * k], pos, k, &mut a);
        f64::syrk_lower(-1.0, &block[pos * k..(pos + neg) * k], neg, k, &mut a);
        for r in 0..k {
            for c in 0..=r {
                let (x, y) = (a[r * k + c], a_ref[r * k + c]);
                assert!(
                    (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                    "A[{r}][{c}] {x} vs {y}"
                );
            }
            assert!((b[r] - b_ref[r]).abs() <= 1e-12 * (1.0 + b_ref[r].abs()));
        }
    }
}

#[test]
fn gathered_rejects_a_short_block() {
    let h = [1.0f32, 0.0, 0.0, 1.0];
    let g0 = [1.0f32, 0.0, 0.0, 1.0];
    let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
    let (mut a, mut b, mut block) = ([0.0; 4], [0.0; 2], [0.0; 3]);
    let err = wmf_kernel::row_normal_equations_gathered(
        &items,
        &Row::implicit(&[0, 1], &[2.0, 3.0]),
        0.1,
        &mut a,
        &mut block,
        &mut b,
    )
    .unwrap_err();
    assert!(
        matches!(err, wmf_kernel::Error::LengthMismatch { what: "block", .. }),
        "{err:?}"
    );
}
