//! Dense block kernels and their fixed-size wrappers against the plain reference.

use crate::common::{reference, rel_err, rel_err1, rng, tol, trials, uniform_vec};
use wmf_kernel::{Dense, dense::fixed};

#[test]
fn dense_block_equals_reference() {
    for seed in 0..trials(20, 2) as u64 {
        let mut r = rng(seed + 50);
        let shape @ (m, n, k) = if crate::common::MIRI {
            (2, 3, 2)
        } else {
            (
                rand::Rng::gen_range(&mut r, 1..9),
                rand::Rng::gen_range(&mut r, 1..9),
                rand::Rng::gen_range(&mut r, 1..9),
            )
        };
        let x = uniform_vec(&mut r, m * n, -1.0, 2.0);
        let c = uniform_vec(&mut r, m * n, 0.0, 5.0);
        let w = uniform_vec(&mut r, m * k, -1.0, 1.0);
        let h = uniform_vec(&mut r, n * k, -1.0, 1.0);
        let d = Dense::new(&x, &c, &w, &h, m, n, k).unwrap();
        assert_eq!(d.shape(), shape);
        let mut res = vec![0.0; m * n];
        d.weighted_residual(&mut res).unwrap();
        let want = reference::weighted_residual(&x, &c, &w, &h, shape);
        assert!(
            rel_err(&res, &want) <= tol::dense_block(),
            "seed {seed}: residual"
        );
        for lambda in [0.0, 0.3] {
            let f = d.loss(lambda).unwrap();
            let want = reference::loss(&x, &c, &w, &h, shape, lambda);
            assert!(rel_err1(f, want) <= tol::dense_block(), "seed {seed}: loss");
            let mut gw = vec![0.0; m * k];
            d.grad_w(lambda, &mut gw).unwrap();
            let want = reference::grad_w(&x, &c, &w, &h, shape, lambda);
            assert!(
                rel_err(&gw, &want) <= tol::dense_block(),
                "seed {seed}: grad_w"
            );
            let mut gh = vec![0.0; n * k];
            d.grad_h(lambda, &mut gh).unwrap();
            let want = reference::grad_h(&x, &c, &w, &h, shape, lambda);
            assert!(
                rel_err(&gh, &want) <= tol::dense_block(),
                "seed {seed}: grad_h"
            );
        }
    }
}

fn arr<const R: usize, const C: usize>(v: &[f64]) -> [[f64; C]; R] {
    let mut out = [[0.0; C]; R];
    for (o, s) in out.as_flattened_mut().iter_mut().zip(v) {
        *o = *s;
    }
    out
}

/// The const-generic wrappers return exactly what the slice kernels write.
#[test]
fn fixed_dense_wrappers_equal_slice_versions() {
    const M: usize = 3;
    const N: usize = 4;
    const K: usize = 2;
    let mut r = rng(77);
    let (xv, cv) = (
        uniform_vec(&mut r, M * N, -1.0, 2.0),
        uniform_vec(&mut r, M * N, 0.0, 5.0),
    );
    let (wv, hv) = (
        uniform_vec(&mut r, M * K, -1.0, 1.0),
        uniform_vec(&mut r, N * K, -1.0, 1.0),
    );
    let (x, c) = (arr::<M, N>(&xv), arr::<M, N>(&cv));
    let (w, h) = (arr::<M, K>(&wv), arr::<N, K>(&hv));
    let d = Dense::new(&xv, &cv, &wv, &hv, M, N, K).unwrap();
    let lambda = 0.2;

    let mut res = vec![0.0; M * N];
    d.weighted_residual(&mut res).unwrap();
    assert_eq!(
        fixed::weighted_residual(&x, &c, &w, &h)
            .unwrap()
            .as_flattened(),
        &res[..]
    );
    assert_eq!(
        fixed::loss(&x, &c, &w, &h, lambda).unwrap(),
        d.loss(lambda).unwrap()
    );
    let mut gw = vec![0.0; M * K];
    d.grad_w(lambda, &mut gw).unwrap();
    assert_eq!(
        fixed::grad_w(&x, &c, &w, &h, lambda)
            .unwrap()
            .as_flattened(),
        &gw[..]
    );
    let mut gh = vec![0.0; N * K];
    d.grad_h(lambda, &mut gh).unwrap();
    assert_eq!(
        fixed::grad_h(&x, &c, &w, &h, lambda)
            .unwrap()
            .as_flattened(),
        &gh[..]
    );

    // and they validate like the slice versions
    let mut bad = c;
    bad[1][2] = -1.0;
    assert_eq!(
        fixed::loss(&x, &bad, &w, &h, lambda),
        Err(wmf_kernel::Error::Negative {
            what: "c",
            index: N + 2
        })
    );
}
