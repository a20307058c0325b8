/* The type-generic body of the C tests, included once per scalar type by
 * test_wmf.c with these macros defined:
 *   REAL      float / double
 *   SFX       f32 / f64           (suffix of every wmf_* name)
 *   PFX       "f32" / "f64"       (prefix of the fixture names)
 *   FXR       fx_f32 / fx_f64     (fixture reader for REAL arrays)
 *   REAL_BIG  a finite value whose square (or double) overflows
 *   TOL_ELEM, TOL_SOLVE           relative tolerances (see tol_ok)
 * Every entry point is called and compared with the Rust kernel's results
 * from the fixture; every status code it can return is provoked. */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define F(name) CAT(name, SFX)

#define DENSE F(wmf_dense)
#define ITEMS F(wmf_items)
#define ROW F(wmf_row)
#define UPDATE F(wmf_cell_update)

#define SENTINEL ((REAL)12345.0)

/* |got - want| <= tol * max(1, |want|) element-wise. */
static void F(close)(const REAL *got, const REAL *want, size_t n, double tol, const char *what) {
    size_t i;
    size_t bad = n;
    double worst = 0.0;
    for (i = 0; i < n; i++) {
        double g = (double)got[i];
        double w = (double)want[i];
        double err = fabs(g - w) / (fabs(w) > 1.0 ? fabs(w) : 1.0);
        if (!(err <= tol) && bad == n) {
            bad = i;
        }
        if (err > worst) {
            worst = err;
        }
    }
    CHECK(bad == n, "%s %s: element %zu differs from the kernel (worst rel. error %.3g > %.3g)",
          PFX, what, bad, worst, tol);
}

static void F(fill)(REAL *v, size_t n, REAL value) {
    size_t i;
    for (i = 0; i < n; i++) {
        v[i] = value;
    }
}

static int F(all_equal)(const REAL *v, size_t n, REAL value) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (v[i] != value) {
            return 0;
        }
    }
    return 1;
}

#define UNTOUCHED(buf, n, what) \
    CHECK(F(all_equal)((buf), (n), SENTINEL), "%s %s: output written on failure", PFX, what)
#define ZEROED(buf, n, what) \
    CHECK(F(all_equal)((buf), (n), (REAL)0), "%s %s: output not zero-filled on NON_FINITE_RESULT", PFX, what)

/* ---------------------------------------------------------------- dense */

static void F(test_dense)(void) {
    const size_t *dims = fx_size(PFX ".dense.dims", 3);
    const size_t m = dims[0], n = dims[1], k = dims[2];
    const REAL lambda = FXR(PFX ".dense.lambda", 1)[0];
    DENSE d;
    DENSE bad;
    REAL *r = (REAL *)xcalloc(m * n, sizeof(REAL));
    REAL *gw = (REAL *)xcalloc(m * k, sizeof(REAL));
    REAL *gh = (REAL *)xcalloc(n * k, sizeof(REAL));
    REAL *xbad = (REAL *)xcalloc(m * n, sizeof(REAL));
    REAL *big_w = (REAL *)xcalloc(m * (WMF_MAX_K + 1), sizeof(REAL));
    REAL *big_h = (REAL *)xcalloc(n * (WMF_MAX_K + 1), sizeof(REAL));
    REAL loss = SENTINEL;
    REAL one[1] = {1};
    REAL zero[1] = {0};
    REAL big[1] = {REAL_BIG};
    REAL two[1] = {2};

    d.x = FXR(PFX ".dense.x", m * n);
    d.c = FXR(PFX ".dense.c", m * n);
    d.w = FXR(PFX ".dense.w", m * k);
    d.h = FXR(PFX ".dense.h", n * k);
    d.m = m;
    d.n = n;
    d.k = k;

    EXPECT_STATUS(F(wmf_dense_residual)(&d, r), WMF_STATUS_OK);
    F(close)(r, FXR(PFX ".dense.residual", m * n), m * n, TOL_ELEM, "dense residual");
    EXPECT_STATUS(F(wmf_dense_loss)(&d, lambda, &loss), WMF_STATUS_OK);
    F(close)(&loss, FXR(PFX ".dense.loss", 1), 1, TOL_ELEM, "dense loss");
    EXPECT_STATUS(F(wmf_dense_grad_w)(&d, lambda, gw), WMF_STATUS_OK);
    F(close)(gw, FXR(PFX ".dense.grad_w", m * k), m * k, TOL_ELEM, "dense grad_w");
    EXPECT_STATUS(F(wmf_dense_grad_h)(&d, lambda, gh), WMF_STATUS_OK);
    F(close)(gh, FXR(PFX ".dense.grad_h", n * k), n * k, TOL_ELEM, "dense grad_h");

    /* Bad input: a status, and the outputs left as they were. */
    F(fill)(r, m * n, SENTINEL);
    F(fill)(gw, m * k, SENTINEL);
    F(fill)(gh, n * k, SENTINEL);
    loss = SENTINEL;
    EXPECT_STATUS(F(wmf_dense_residual)(NULL, r), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_dense_residual)(&d, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_dense_loss)(&d, lambda, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_dense_grad_w)(&d, lambda, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_dense_grad_h)(NULL, lambda, gh), WMF_STATUS_NULL_POINTER);
    bad = d;
    bad.x = NULL;
    EXPECT_STATUS(F(wmf_dense_residual)(&bad, r), WMF_STATUS_NULL_POINTER);
    bad = d;
    bad.k = 0;
    EXPECT_STATUS(F(wmf_dense_residual)(&bad, r), WMF_STATUS_ZERO_DIMENSION);
    bad = d;
    bad.m = 0;
    EXPECT_STATUS(F(wmf_dense_loss)(&bad, lambda, &loss), WMF_STATUS_ZERO_DIMENSION);
    bad = d;
    bad.k = WMF_MAX_K + 1;
    bad.w = big_w;
    bad.h = big_h;
    EXPECT_STATUS(F(wmf_dense_grad_w)(&bad, lambda, gw), WMF_STATUS_DIMENSION_TOO_LARGE);
    bad = d;
    bad.m = SIZE_MAX / 2 + 1; /* m * n overflows size_t */
    EXPECT_STATUS(F(wmf_dense_residual)(&bad, r), WMF_STATUS_SIZE_OVERFLOW);
    bad = d;
    bad.m = SIZE_MAX / 4; /* m * n * sizeof(REAL) overflows */
    bad.n = 1;
    bad.k = 1;
    EXPECT_STATUS(F(wmf_dense_loss)(&bad, lambda, &loss), WMF_STATUS_SIZE_OVERFLOW);
    memcpy(xbad, d.x, m * n * sizeof(REAL));
    xbad[m * n - 1] = (REAL)NAN;
    bad = d;
    bad.x = xbad;
    EXPECT_STATUS(F(wmf_dense_residual)(&bad, r), WMF_STATUS_NON_FINITE);
    xbad[m * n - 1] = (REAL)INFINITY;
    EXPECT_STATUS(F(wmf_dense_grad_h)(&bad, lambda, gh), WMF_STATUS_NON_FINITE);
    memcpy(xbad, d.c, m * n * sizeof(REAL));
    xbad[3] = (REAL)-0.5;
    bad = d;
    bad.c = xbad;
    EXPECT_STATUS(F(wmf_dense_residual)(&bad, r), WMF_STATUS_NEGATIVE);
    EXPECT_STATUS(F(wmf_dense_loss)(&d, (REAL)-1, &loss), WMF_STATUS_NEGATIVE);
    EXPECT_STATUS(F(wmf_dense_grad_w)(&d, (REAL)NAN, gw), WMF_STATUS_NON_FINITE);
    UNTOUCHED(r, m * n, "dense residual");
    UNTOUCHED(gw, m * k, "dense grad_w");
    UNTOUCHED(gh, n * k, "dense grad_h");
    UNTOUCHED(&loss, 1, "dense loss");

    /* Overflow: c (x - w h) = 2 * BIG is not finite; r is zero-filled. */
    bad.x = big;
    bad.c = two;
    bad.w = zero;
    bad.h = one;
    bad.m = bad.n = bad.k = 1;
    EXPECT_STATUS(F(wmf_dense_residual)(&bad, r), WMF_STATUS_NON_FINITE_RESULT);
    ZEROED(r, 1, "dense residual");
    UNTOUCHED(r + 1, m * n - 1, "dense residual (beyond m*n)");
    EXPECT_STATUS(F(wmf_dense_loss)(&bad, lambda, &loss), WMF_STATUS_NON_FINITE_RESULT);
    UNTOUCHED(&loss, 1, "dense loss");
    /* Gradients: x = BIG, w h = -BIG, so the residual 2 (BIG + BIG) overflows. */
    bad.w = one;
    {
        REAL neg_big[1] = {-REAL_BIG};
        bad.h = neg_big;
        EXPECT_STATUS(F(wmf_dense_grad_w)(&bad, lambda, gw), WMF_STATUS_NON_FINITE_RESULT);
        ZEROED(gw, 1, "dense grad_w");
        EXPECT_STATUS(F(wmf_dense_grad_h)(&bad, lambda, gh), WMF_STATUS_NON_FINITE_RESULT);
        ZEROED(gh, 1, "dense grad_h");
    }

    free(r);
    free(gw);
    free(gh);
    free(xbad);
    free(big_w);
    free(big_h);
}

/* ---------------------------------------------------------------- Gramian, rows, scoring */

static void F(test_rows)(void) {
    const size_t *dims = fx_size(PFX ".items.dims", 2);
    const size_t n = dims[0], k = dims[1];
    const size_t nu = 4;
    const REAL *h = FXR(PFX ".items.h", n * k);
    const REAL *c0 = FXR(PFX ".items.c0", n);
    const REAL c0_uniform = FXR(PFX ".items.c0_uniform", 1)[0];
    const REAL *g0 = FXR(PFX ".gramian.per_item", k * k);
    const REAL *w0 = FXR(PFX ".row.w0", k);
    const REAL lambda = FXR(PFX ".row.lambda", 1)[0];
    const size_t chol_len = wmf_solve_row_cholesky_scratch_len(k);
    const size_t cg_len = wmf_solve_row_cg_scratch_len(k);
    const size_t eals_len = wmf_solve_row_eals_scratch_len(nu);
    const size_t online_len = wmf_eals_online_update_scratch_len(k);
    const size_t gd_len = wmf_gradient_step_row_scratch_len(k);
    REAL *g = (REAL *)xcalloc(k * k, sizeof(REAL));
    REAL *a = (REAL *)xcalloc(k * k, sizeof(REAL));
    REAL *b = (REAL *)xcalloc(k, sizeof(REAL));
    REAL *x = (REAL *)xcalloc(k, sizeof(REAL));
    REAL *scratch = (REAL *)xcalloc(chol_len + cg_len + eals_len + online_len + gd_len, sizeof(REAL));
    REAL *scores = (REAL *)xcalloc(n, sizeof(REAL));
    REAL *big_h = (REAL *)xcalloc(n * (WMF_MAX_K + 1), sizeof(REAL));
    REAL *big_g = (REAL *)xcalloc((WMF_MAX_K + 1) * (WMF_MAX_K + 1), sizeof(REAL));
    REAL *zeros = (REAL *)xcalloc(n * k, sizeof(REAL));
    REAL loss = SENTINEL;
    REAL conf_bad[4];
    uint32_t ids_bad[4];
    uint32_t top_items[5] = {0, 0, 0, 0, 0};
    REAL top_scores[5] = {0, 0, 0, 0, 0};
    size_t count = 0;
    wmf_cg_report rep;
    ITEMS items;
    ITEMS bad_items;
    ROW row;
    ROW bad_row;
    ROW empty;
    UPDATE up;

    CHECK(chol_len == k * k && cg_len == 3 * k && eals_len == nu && online_len == k * k && gd_len == k,
          "%s scratch_len helpers: %zu %zu %zu %zu %zu", PFX, chol_len, cg_len, eals_len, online_len, gd_len);
    CHECK(wmf_solve_row_cholesky_scratch_len(0) == 0 && wmf_solve_row_cg_scratch_len(WMF_MAX_K + 1) == 0 &&
              wmf_eals_online_update_scratch_len(0) == 0 && wmf_gradient_step_row_scratch_len(WMF_MAX_K + 1) == 0 &&
              wmf_solve_row_eals_scratch_len(0) == 0,
          "scratch_len helpers must return 0 for an invalid k");

    /* Gramian, per-item and uniform c0. */
    EXPECT_STATUS(F(wmf_gramian)(h, n, k, c0, 0, g), WMF_STATUS_OK);
    F(close)(g, g0, k * k, TOL_ELEM, "gramian per-item");
    EXPECT_STATUS(F(wmf_gramian)(h, n, k, NULL, c0_uniform, g), WMF_STATUS_OK);
    F(close)(g, FXR(PFX ".gramian.uniform", k * k), k * k, TOL_ELEM, "gramian uniform");
    F(fill)(g, k * k, SENTINEL);
    EXPECT_STATUS(F(wmf_gramian)(NULL, n, k, c0, 0, g), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_gramian)(h, n, k, c0, 0, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_gramian)(h, 0, k, c0, 0, g), WMF_STATUS_ZERO_DIMENSION);
    EXPECT_STATUS(F(wmf_gramian)(big_h, n, WMF_MAX_K + 1, c0, 0, big_g), WMF_STATUS_DIMENSION_TOO_LARGE);
    EXPECT_STATUS(F(wmf_gramian)(h, SIZE_MAX / 2, 3, c0, 0, g), WMF_STATUS_SIZE_OVERFLOW);
    EXPECT_STATUS(F(wmf_gramian)(h, n, k, NULL, (REAL)-1, g), WMF_STATUS_NEGATIVE);
    EXPECT_STATUS(F(wmf_gramian)(h, n, k, NULL, (REAL)INFINITY, g), WMF_STATUS_NON_FINITE);
    UNTOUCHED(g, k * k, "gramian");
    {
        REAL hb[1] = {REAL_BIG};
        EXPECT_STATUS(F(wmf_gramian)(hb, 1, 1, NULL, 1, g), WMF_STATUS_NON_FINITE_RESULT);
        ZEROED(g, 1, "gramian");
    }

    items.h = h;
    items.n = n;
    items.k = k;
    items.g0 = g0;
    items.c0 = c0;
    items.c0_uniform = 0;
    items.checked = 0;
    row.items = fx_u32(PFX ".row.items", nu);
    row.conf = FXR(PFX ".row.conf", nu);
    row.pref = FXR(PFX ".row.pref", nu);
    row.len = nu;
    empty.items = NULL;
    empty.conf = NULL;
    empty.pref = NULL;
    empty.len = 0;

    /* Loss, gradient, normal equations. */
    EXPECT_STATUS(F(wmf_row_loss)(&items, &row, lambda, w0, &loss), WMF_STATUS_OK);
    F(close)(&loss, FXR(PFX ".row_loss", 1), 1, TOL_ELEM, "row_loss");
    EXPECT_STATUS(F(wmf_row_gradient)(&items, &row, lambda, w0, x), WMF_STATUS_OK);
    F(close)(x, FXR(PFX ".row_gradient", k), k, TOL_ELEM, "row_gradient");
    EXPECT_STATUS(F(wmf_row_normal_equations)(&items, &row, lambda, a, b), WMF_STATUS_OK);
    F(close)(a, FXR(PFX ".normal.a", k * k), k * k, TOL_ELEM, "normal equations a");
    F(close)(b, FXR(PFX ".normal.b", k), k, TOL_ELEM, "normal equations b");

    /* Solves. */
    EXPECT_STATUS(F(wmf_solve_row_cholesky)(&items, &row, lambda, scratch, chol_len, x), WMF_STATUS_OK);
    F(close)(x, FXR(PFX ".cholesky.x", k), k, TOL_SOLVE, "cholesky x");
    F(fill)(x, k, SENTINEL);
    {
        /* Checked once: the same answer without the O(n k) scan per call. */
        ITEMS checked_items = items;
        EXPECT_STATUS(F(wmf_items_check)(&checked_items), WMF_STATUS_OK);
        CHECK(checked_items.checked == WMF_ITEMS_CHECKED, "%s items_check must mark the struct", PFX);
        EXPECT_STATUS(F(wmf_solve_row_cholesky)(&checked_items, &row, lambda, scratch, chol_len, x), WMF_STATUS_OK);
        F(close)(x, FXR(PFX ".cholesky.x", k), k, TOL_SOLVE, "checked cholesky x");
        F(fill)(x, k, SENTINEL);
        checked_items.k = 0;
        checked_items.checked = 0;
        EXPECT_STATUS(F(wmf_items_check)(&checked_items), WMF_STATUS_ZERO_DIMENSION);
        CHECK(checked_items.checked == 0, "%s a failed items_check must not mark the struct", PFX);
        EXPECT_STATUS(F(wmf_items_check)(NULL), WMF_STATUS_NULL_POINTER);
    }
    EXPECT_STATUS(F(wmf_solve_row_cholesky)(&items, &empty, lambda, scratch, chol_len, x), WMF_STATUS_OK);
    CHECK(F(all_equal)(x, k, 0), "%s cholesky of an empty row must give x = 0", PFX);

    memcpy(x, w0, k * sizeof(REAL));
    EXPECT_STATUS(F(wmf_solve_row_cg)(&items, &row, lambda, x, 2, 0.0, scratch, cg_len, &rep), WMF_STATUS_OK);
    F(close)(x, FXR(PFX ".cg.x", k), k, TOL_SOLVE, "cg x");
    CHECK(rep.steps == fx_size(PFX ".cg.steps", 1)[0], "%s cg steps %zu", PFX, rep.steps);
    CHECK(fabs(rep.residual_sq - fx_f64(PFX ".cg.residual_sq", 1)[0]) <=
              TOL_SOLVE * (1.0 + fabs(fx_f64(PFX ".cg.residual_sq", 1)[0])),
          "%s cg residual %g", PFX, rep.residual_sq);

    memcpy(x, w0, k * sizeof(REAL));
    EXPECT_STATUS(F(wmf_solve_row_eals)(&items, &row, lambda, x, 3, scratch, eals_len), WMF_STATUS_OK);
    F(close)(x, FXR(PFX ".eals.w", k), k, TOL_SOLVE, "eals w");
    EXPECT_STATUS(F(wmf_solve_row_eals)(&items, &empty, lambda, x, 1, NULL, 0), WMF_STATUS_OK);

    /* Online update from the normal equations and the Cholesky solution. */
    {
        const size_t i = fx_size(PFX ".online.item", 1)[0];
        memcpy(a, FXR(PFX ".normal.a", k * k), k * k * sizeof(REAL));
        memcpy(b, FXR(PFX ".normal.b", k), k * sizeof(REAL));
        memcpy(x, FXR(PFX ".cholesky.x", k), k * sizeof(REAL));
        up.c_new = FXR(PFX ".online.conf", 1)[0];
        up.x_new = 1;
        up.c_old = c0[i];
        up.x_old = 0;
        EXPECT_STATUS(F(wmf_eals_online_update)(a, b, x, k, h + i * k, up, 2, scratch, online_len), WMF_STATUS_OK);
        F(close)(a, FXR(PFX ".online.a", k * k), k * k, TOL_ELEM, "online a");
        F(close)(b, FXR(PFX ".online.b", k), k, TOL_ELEM, "online b");
        F(close)(x, FXR(PFX ".online.w", k), k, TOL_SOLVE, "online w");
    }

    memcpy(x, w0, k * sizeof(REAL));
    EXPECT_STATUS(F(wmf_gradient_step_row)(&items, &row, lambda, x, FXR(PFX ".gd.lr", 1)[0], scratch, gd_len),
                  WMF_STATUS_OK);
    F(close)(x, FXR(PFX ".gd.w", k), k, TOL_SOLVE, "gradient step w");

    /* Scoring. */
    EXPECT_STATUS(F(wmf_score_items)(h, n, k, w0, scores), WMF_STATUS_OK);
    F(close)(scores, FXR(PFX ".scores", n), n, TOL_ELEM, "score_items");
    EXPECT_STATUS(F(wmf_top_n)(h, n, k, w0, row.items, nu, top_items, top_scores, 5, &count), WMF_STATUS_OK);
    CHECK(count == 5, "%s top_n count %zu", PFX, count);
    {
        const uint32_t *want = fx_u32(PFX ".top.items", 5);
        CHECK(memcmp(top_items, want, sizeof top_items) == 0, "%s top_n items %u %u %u %u %u", PFX,
              top_items[0], top_items[1], top_items[2], top_items[3], top_items[4]);
        F(close)(top_scores, FXR(PFX ".top.scores", 5), 5, TOL_ELEM, "top_n scores");
    }
    {
        /* Over the items struct, unchecked and checked: the same list, bit for bit. */
        uint32_t raw_items[5], again_items[5];
        REAL raw_scores[5], again_scores[5];
        size_t raw_count = 0, again_count = 0;
        ITEMS checked_items = items;
        memcpy(raw_items, top_items, sizeof raw_items);
        memcpy(raw_scores, top_scores, sizeof raw_scores);
        raw_count = count;
        EXPECT_STATUS(F(wmf_items_check)(&checked_items), WMF_STATUS_OK);
        for (int pass = 0; pass < 2; pass++) {
            const ITEMS *it = pass == 0 ? &items : &checked_items;
            F(fill)(again_scores, 5, SENTINEL);
            again_count = 777;
            EXPECT_STATUS(F(wmf_top_n_items)(it, w0, row.items, nu, again_items, again_scores, 5, &again_count),
                          WMF_STATUS_OK);
            CHECK(again_count == raw_count && memcmp(again_items, raw_items, sizeof raw_items) == 0 &&
                      memcmp(again_scores, raw_scores, sizeof raw_scores) == 0,
                  "%s top_n_items (%s) differs from top_n", PFX, pass == 0 ? "unchecked" : "checked");
        }
    }

    /* ---- statuses of the row functions; outputs untouched. */
    F(fill)(a, k * k, SENTINEL);
    F(fill)(b, k, SENTINEL);
    F(fill)(x, k, SENTINEL);
    loss = SENTINEL;
    EXPECT_STATUS(F(wmf_row_loss)(NULL, &row, lambda, w0, &loss), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_row_loss)(&items, NULL, lambda, w0, &loss), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_row_loss)(&items, &row, lambda, NULL, &loss), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_row_gradient)(&items, &row, lambda, w0, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_row_normal_equations)(&items, &row, lambda, a, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_solve_row_cholesky)(&items, &row, lambda, NULL, chol_len, x), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_solve_row_cg)(&items, &row, lambda, x, 2, 0.0, scratch, cg_len, NULL), WMF_STATUS_NULL_POINTER);
    bad_items = items;
    bad_items.g0 = NULL;
    EXPECT_STATUS(F(wmf_solve_row_eals)(&bad_items, &row, lambda, x, 1, scratch, eals_len), WMF_STATUS_NULL_POINTER);
    bad_row = row;
    bad_row.conf = NULL;
    EXPECT_STATUS(F(wmf_gradient_step_row)(&items, &bad_row, lambda, x, 0, scratch, gd_len), WMF_STATUS_NULL_POINTER);

    bad_items = items;
    bad_items.k = 0;
    EXPECT_STATUS(F(wmf_row_loss)(&bad_items, &row, lambda, w0, &loss), WMF_STATUS_ZERO_DIMENSION);
    bad_items = items;
    bad_items.h = big_h;
    bad_items.g0 = big_g;
    bad_items.k = WMF_MAX_K + 1;
    EXPECT_STATUS(F(wmf_row_normal_equations)(&bad_items, &row, lambda, a, b), WMF_STATUS_DIMENSION_TOO_LARGE);
    bad_items = items;
    bad_items.n = SIZE_MAX / 2;
    bad_items.k = 4;
    EXPECT_STATUS(F(wmf_solve_row_cholesky)(&bad_items, &row, lambda, scratch, chol_len, x), WMF_STATUS_SIZE_OVERFLOW);

    EXPECT_STATUS(F(wmf_solve_row_cholesky)(&items, &row, lambda, scratch, chol_len - 1, x), WMF_STATUS_LENGTH_MISMATCH);
    EXPECT_STATUS(F(wmf_solve_row_cg)(&items, &row, lambda, x, 2, 0.0, scratch, cg_len - 1, &rep), WMF_STATUS_LENGTH_MISMATCH);
    EXPECT_STATUS(F(wmf_solve_row_eals)(&items, &row, lambda, x, 1, scratch, eals_len - 1), WMF_STATUS_LENGTH_MISMATCH);
    EXPECT_STATUS(F(wmf_gradient_step_row)(&items, &row, lambda, x, 0, scratch, gd_len - 1), WMF_STATUS_LENGTH_MISMATCH);

    memcpy(ids_bad, row.items, sizeof ids_bad);
    ids_bad[3] = (uint32_t)n; /* out of range */
    bad_row = row;
    bad_row.items = ids_bad;
    EXPECT_STATUS(F(wmf_solve_row_cholesky)(&items, &bad_row, lambda, scratch, chol_len, x), WMF_STATUS_INDEX_OUT_OF_RANGE);
    ids_bad[3] = ids_bad[0]; /* not ascending */
    EXPECT_STATUS(F(wmf_solve_row_cg)(&items, &bad_row, lambda, x, 2, 0.0, scratch, cg_len, &rep), WMF_STATUS_NOT_ASCENDING);

    memcpy(conf_bad, row.conf, sizeof conf_bad);
    conf_bad[1] = (REAL)-1; /* negative confidence */
    bad_row = row;
    bad_row.conf = conf_bad;
    EXPECT_STATUS(F(wmf_row_normal_equations)(&items, &bad_row, lambda, a, b), WMF_STATUS_NEGATIVE);
    EXPECT_STATUS(F(wmf_solve_row_eals)(&items, &bad_row, lambda, x, 1, scratch, eals_len), WMF_STATUS_NEGATIVE);
    conf_bad[1] = (REAL)NAN;
    EXPECT_STATUS(F(wmf_gradient_step_row)(&items, &bad_row, lambda, x, 0, scratch, gd_len), WMF_STATUS_NON_FINITE);
    EXPECT_STATUS(F(wmf_row_gradient)(&items, &bad_row, lambda, w0, x), WMF_STATUS_NON_FINITE);
    EXPECT_STATUS(F(wmf_solve_row_cholesky)(&items, &row, (REAL)-0.1, scratch, chol_len, x), WMF_STATUS_NEGATIVE);
    EXPECT_STATUS(F(wmf_gradient_step_row)(&items, &row, lambda, x, (REAL)-0.1, scratch, gd_len), WMF_STATUS_NEGATIVE);
    EXPECT_STATUS(F(wmf_solve_row_cg)(&items, &row, lambda, x, 2, -1.0, scratch, cg_len, &rep), WMF_STATUS_NEGATIVE);
    EXPECT_STATUS(F(wmf_solve_row_cg)(&items, &row, lambda, x, 2, NAN, scratch, cg_len, &rep), WMF_STATUS_NON_FINITE);
    bad_items = items;
    bad_items.h = big_h;
    big_h[0] = (REAL)NAN;
    EXPECT_STATUS(F(wmf_row_loss)(&bad_items, &row, lambda, w0, &loss), WMF_STATUS_NON_FINITE);
    big_h[0] = 0;

    /* Singular normal equations: one item h = (1, 0), G0 = 0 (c0 = 0), lambda = 0:
     * A = [[1, 0], [0, 0]] has the exact zero pivot 1. */
    {
        const REAL h1[2] = {1, 0};
        const uint32_t id0[1] = {0};
        const REAL one1[1] = {1};
        REAL x2[2] = {SENTINEL, SENTINEL};
        bad_items.h = h1;
        bad_items.n = 1;
        bad_items.k = 2;
        bad_items.g0 = zeros;
        bad_items.c0 = NULL;
        bad_items.c0_uniform = 0;
        bad_row.items = id0;
        bad_row.conf = one1;
        bad_row.pref = NULL;
        bad_row.len = 1;
        EXPECT_STATUS(F(wmf_solve_row_cholesky)(&bad_items, &bad_row, 0, scratch, chol_len, x2),
                      WMF_STATUS_NOT_POSITIVE_DEFINITE);
        UNTOUCHED(x2, 2, "cholesky x (singular)");
    }

    UNTOUCHED(a, k * k, "row normal equations a");
    UNTOUCHED(b, k, "row normal equations b");
    UNTOUCHED(x, k, "row solve x");
    UNTOUCHED(&loss, 1, "row loss");

    /* Online update: bad input and overflow leave a, b, w untouched. */
    memcpy(a, FXR(PFX ".normal.a", k * k), k * k * sizeof(REAL));
    memcpy(b, FXR(PFX ".normal.b", k), k * sizeof(REAL));
    F(fill)(x, k, 0);
    up.c_new = 4;
    up.x_new = 1;
    up.c_old = 1;
    up.x_old = 0;
    EXPECT_STATUS(F(wmf_eals_online_update)(a, b, x, 0, h, up, 1, scratch, online_len), WMF_STATUS_ZERO_DIMENSION);
    EXPECT_STATUS(F(wmf_eals_online_update)(big_g, big_h, big_h + (WMF_MAX_K + 1), WMF_MAX_K + 1,
                                            big_h + 2 * (WMF_MAX_K + 1), up, 1, NULL, 0),
                  WMF_STATUS_DIMENSION_TOO_LARGE);
    EXPECT_STATUS(F(wmf_eals_online_update)(a, b, x, k, h, up, 1, scratch, online_len - 1), WMF_STATUS_LENGTH_MISMATCH);
    EXPECT_STATUS(F(wmf_eals_online_update)(a, NULL, x, k, h, up, 1, scratch, online_len), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_eals_online_update)(a, b, x, SIZE_MAX / 2, h, up, 1, scratch, online_len), WMF_STATUS_SIZE_OVERFLOW);
    up.c_new = -4;
    EXPECT_STATUS(F(wmf_eals_online_update)(a, b, x, k, h, up, 1, scratch, online_len), WMF_STATUS_NEGATIVE);
    up.c_new = 4;
    up.x_new = (REAL)NAN;
    EXPECT_STATUS(F(wmf_eals_online_update)(a, b, x, k, h, up, 1, scratch, online_len), WMF_STATUS_NON_FINITE);
    CHECK(memcmp(a, FXR(PFX ".normal.a", k * k), k * k * sizeof(REAL)) == 0, "%s online update wrote a on failure", PFX);
    {
        REAL a1[1] = {1}, b1[1] = {0}, w1[1] = {SENTINEL}, hb[1] = {REAL_BIG}, s1[1] = {0};
        up.c_new = REAL_BIG;
        up.x_new = 1;
        up.c_old = 0;
        EXPECT_STATUS(F(wmf_eals_online_update)(a1, b1, w1, 1, hb, up, 1, s1, 1), WMF_STATUS_NON_FINITE_RESULT);
        CHECK(a1[0] == 1 && b1[0] == 0 && w1[0] == SENTINEL, "%s online update overflow wrote its outputs", PFX);
    }

    /* Scoring statuses. */
    F(fill)(scores, n, SENTINEL);
    F(fill)(top_scores, 5, SENTINEL);
    count = 777;
    EXPECT_STATUS(F(wmf_score_items)(h, n, k, NULL, scores), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_score_items)(h, n, 0, w0, scores), WMF_STATUS_ZERO_DIMENSION);
    /* A misaligned output pointer (made through an integer, as a buggy caller might). */
    EXPECT_STATUS(F(wmf_score_items)(h, n, k, w0, (REAL *)(void *)((uintptr_t)(void *)scores + 1)),
                  WMF_STATUS_MISALIGNED_POINTER);
    EXPECT_STATUS(F(wmf_top_n)(h, n, k, w0, NULL, 0, top_items, top_scores, 5, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_top_n)(h, n, k, w0, NULL, 0, top_items, top_scores, 0, &count), WMF_STATUS_ZERO_DIMENSION);
    EXPECT_STATUS(F(wmf_top_n)(big_h, n, WMF_MAX_K + 1, big_h, NULL, 0, top_items, top_scores, 5, &count),
                  WMF_STATUS_DIMENSION_TOO_LARGE);
    EXPECT_STATUS(F(wmf_top_n)(h, n, k, w0, ids_bad, 4, top_items, top_scores, 5, &count), WMF_STATUS_NOT_ASCENDING);
    ids_bad[3] = 99;
    EXPECT_STATUS(F(wmf_top_n)(h, n, k, w0, ids_bad, 4, top_items, top_scores, 5, &count), WMF_STATUS_INDEX_OUT_OF_RANGE);
    EXPECT_STATUS(F(wmf_top_n)(h, n, k, w0, NULL, 1, top_items, top_scores, 5, &count), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_top_n_items)(NULL, w0, NULL, 0, top_items, top_scores, 5, &count), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_top_n_items)(&items, NULL, NULL, 0, top_items, top_scores, 5, &count),
                  WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_top_n_items)(&items, w0, NULL, 0, top_items, top_scores, 5, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_top_n_items)(&items, w0, NULL, 0, top_items, top_scores, 0, &count),
                  WMF_STATUS_ZERO_DIMENSION);
    EXPECT_STATUS(F(wmf_top_n_items)(&items, w0, ids_bad, 4, top_items, top_scores, 5, &count),
                  WMF_STATUS_INDEX_OUT_OF_RANGE);
    UNTOUCHED(scores, n, "score_items");
    UNTOUCHED(top_scores, 5, "top_n scores");
    CHECK(count == 777, "%s top_n wrote count on failure", PFX);
    {
        REAL hb[2] = {REAL_BIG, 1}, wb[1] = {REAL_BIG};
        EXPECT_STATUS(F(wmf_score_items)(hb, 2, 1, wb, scores), WMF_STATUS_NON_FINITE_RESULT);
        ZEROED(scores, 2, "score_items");
        EXPECT_STATUS(F(wmf_top_n)(hb, 2, 1, wb, NULL, 0, top_items, top_scores, 5, &count),
                      WMF_STATUS_NON_FINITE_RESULT);
        UNTOUCHED(top_scores, 5, "top_n scores");
        {
            REAL gb[1] = {1};
            ITEMS big = {hb, 2, 1, gb, NULL, 1, 0};
            EXPECT_STATUS(F(wmf_top_n_items)(&big, wb, NULL, 0, top_items, top_scores, 5, &count),
                          WMF_STATUS_NON_FINITE_RESULT);
            UNTOUCHED(top_scores, 5, "top_n_items scores");
        }
    }
    CHECK(count == 777, "%s top_n_items wrote count on failure", PFX);

    free(g);
    free(a);
    free(b);
    free(x);
    free(scratch);
    free(scores);
    free(big_h);
    free(big_g);
    free(zeros);
}

/* ---------------------------------------------------------------- low-rank fold-in */

static void F(test_low_rank)(void) {
    const size_t *dims = fx_size(PFX ".items.dims", 2);
    const size_t n = dims[0], k = dims[1];
    const size_t nu = 4;
    const REAL lambda = FXR(PFX ".row.lambda", 1)[0];
    const size_t lr_len = wmf_solve_row_low_rank_scratch_len(nu, k);
    REAL *l = (REAL *)xcalloc(k * k, sizeof(REAL));
    REAL *hw = (REAL *)xcalloc(n * k + 1, sizeof(REAL)); /* + 1: room for the wrong-length call */
    REAL *scratch = (REAL *)xcalloc(lr_len, sizeof(REAL));
    REAL *x = (REAL *)xcalloc(k, sizeof(REAL));
    REAL *zero_h = (REAL *)xcalloc(n * k, sizeof(REAL));
    uint32_t solved = 7;
    ITEMS items;
    ITEMS singular;
    F(wmf_whitened) w;
    F(wmf_whitened) bad;
    ROW row;
    ROW low;
    ROW empty;
    REAL conf_low[4];
    size_t i;

    CHECK(lr_len == nu * k + nu * nu && wmf_solve_row_low_rank_scratch_len(0, k) == 0 &&
              wmf_solve_row_low_rank_scratch_len(nu, 0) == 0 &&
              wmf_solve_row_low_rank_scratch_len(nu, WMF_MAX_K + 1) == 0 &&
              wmf_solve_row_low_rank_scratch_len(SIZE_MAX, k) == SIZE_MAX,
          "%s low-rank scratch_len: %zu", PFX, lr_len);

    items.h = FXR(PFX ".items.h", n * k);
    items.n = n;
    items.k = k;
    items.g0 = FXR(PFX ".gramian.per_item", k * k);
    items.c0 = FXR(PFX ".items.c0", n);
    items.c0_uniform = 0;
    items.checked = 0;

    /* Whitening: L and H L^-T as the kernel computes them. */
    EXPECT_STATUS(F(wmf_whiten)(&items, lambda, l, k * k, hw, n * k), WMF_STATUS_OK);
    F(close)(l, FXR(PFX ".whiten.l", k * k), k * k, TOL_ELEM, "whiten l");
    F(close)(hw, FXR(PFX ".whiten.hw", n * k), n * k, TOL_ELEM, "whiten hw");

    w.hw = hw;
    w.n = n;
    w.k = k;
    w.l = l;
    w.c0 = items.c0;
    w.c0_uniform = 0;
    row.items = fx_u32(PFX ".row.items", nu);
    row.conf = FXR(PFX ".lowrank.conf", nu);
    row.pref = FXR(PFX ".row.pref", nu);
    row.len = nu;
    empty.items = NULL;
    empty.conf = NULL;
    empty.pref = NULL;
    empty.len = 0;

    /* The fold-in, the kernel's result and the normal equations' solution. */
    F(fill)(x, k, SENTINEL);
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&w, &row, scratch, lr_len, x, &solved), WMF_STATUS_OK);
    CHECK(solved == 1, "%s low-rank row must be solved (got %u)", PFX, (unsigned)solved);
    F(close)(x, FXR(PFX ".lowrank.x", k), k, TOL_SOLVE, "low-rank x");
    {
        REAL *chol = (REAL *)xcalloc(k * k, sizeof(REAL));
        REAL *xc = (REAL *)xcalloc(k, sizeof(REAL));
        EXPECT_STATUS(F(wmf_solve_row_cholesky)(&items, &row, lambda, chol, k * k, xc), WMF_STATUS_OK);
        F(close)(x, xc, k, TOL_SOLVE, "low-rank x against cholesky");
        free(chol);
        free(xc);
    }
    /* An empty row: x = 0, no scratch needed. */
    solved = 7;
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&w, &empty, NULL, 0, x, &solved), WMF_STATUS_OK);
    CHECK(solved == 1 && F(all_equal)(x, k, 0), "%s low-rank of an empty row must give x = 0", PFX);
    /* A cell below its c0: declined, x untouched. */
    for (i = 0; i < nu; i++) {
        conf_low[i] = row.conf[i];
    }
    conf_low[1] = 0;
    low = row;
    low.conf = conf_low;
    F(fill)(x, k, SENTINEL);
    solved = 7;
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&w, &low, scratch, lr_len, x, &solved), WMF_STATUS_OK);
    CHECK(solved == 0, "%s a row with a cell below c0 must be declined", PFX);
    UNTOUCHED(x, k, "declined low-rank x");

    /* Statuses; outputs untouched. */
    solved = 7;
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(NULL, &row, scratch, lr_len, x, &solved), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&w, &row, scratch, lr_len, x, NULL), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&w, &row, NULL, lr_len, x, &solved), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&w, &row, scratch, lr_len - 1, x, &solved),
                  WMF_STATUS_LENGTH_MISMATCH);
    bad = w;
    bad.l = NULL;
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&bad, &row, scratch, lr_len, x, &solved), WMF_STATUS_NULL_POINTER);
    bad = w;
    bad.k = 0;
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&bad, &row, scratch, lr_len, x, &solved), WMF_STATUS_ZERO_DIMENSION);
    bad = w;
    bad.c0 = NULL;
    bad.c0_uniform = -1;
    EXPECT_STATUS(F(wmf_solve_row_low_rank)(&bad, &row, scratch, lr_len, x, &solved), WMF_STATUS_NEGATIVE);
    {
        /* A factor with a zero pivot, and one with a NaN in its lower triangle. */
        REAL *l2 = (REAL *)xcalloc(k * k, sizeof(REAL));
        memcpy(l2, l, k * k * sizeof(REAL));
        l2[0] = 0;
        bad = w;
        bad.l = l2;
        EXPECT_STATUS(F(wmf_solve_row_low_rank)(&bad, &row, scratch, lr_len, x, &solved),
                      WMF_STATUS_NOT_POSITIVE_DEFINITE);
        l2[0] = l[0];
        l2[k] = (REAL)NAN;
        EXPECT_STATUS(F(wmf_solve_row_low_rank)(&bad, &row, scratch, lr_len, x, &solved), WMF_STATUS_NON_FINITE);
        free(l2);
    }
    {
        /* hw is not scanned: a NaN the row reads is reported, never returned in x. */
        REAL *hw2 = (REAL *)xcalloc(n * k, sizeof(REAL));
        memcpy(hw2, hw, n * k * sizeof(REAL));
        hw2[row.items[0] * k] = (REAL)NAN;
        bad = w;
        bad.hw = hw2;
        EXPECT_STATUS(F(wmf_solve_row_low_rank)(&bad, &row, scratch, lr_len, x, &solved), WMF_STATUS_NON_FINITE);
        free(hw2);
    }
    UNTOUCHED(x, k, "low-rank x");
    CHECK(solved == 7, "%s solved written on failure", PFX);

    {
        /* Up to WMF_LOW_RANK_GROUP rows side by side: each row's status, flag
         * and x bit for bit what the row gets alone. */
        ROW rows[4];
        uint32_t oob_ids[4];
        wmf_status statuses[4];
        uint32_t flags[4];
        const size_t g_len = wmf_solve_rows_low_rank_scratch_len(nu, k);
        REAL *gs = (REAL *)xcalloc(g_len, sizeof(REAL));
        REAL *xs = (REAL *)xcalloc(4 * k, sizeof(REAL));
        REAL *x1 = (REAL *)xcalloc(k, sizeof(REAL));
        size_t v;
        CHECK(wmf_solve_rows_low_rank_scratch_len(0, k) == 32 * k &&
                  wmf_solve_rows_low_rank_scratch_len(nu, 0) == 0 &&
                  wmf_solve_rows_low_rank_scratch_len(SIZE_MAX, k) == SIZE_MAX,
              "%s group scratch_len: %zu", PFX, g_len);
        for (i = 0; i < nu; i++) {
            oob_ids[i] = row.items[i];
        }
        oob_ids[nu - 1] = (uint32_t)n; /* an id out of range */
        rows[0] = row;
        rows[1] = low;
        rows[2] = empty;
        rows[3] = row;
        rows[3].items = oob_ids;
        F(fill)(xs, 4 * k, SENTINEL);
        EXPECT_STATUS(F(wmf_solve_rows_low_rank)(&w, rows, 4, gs, g_len, xs, statuses, flags), WMF_STATUS_OK);
        for (v = 0; v < 4; v++) {
            wmf_status want;
            uint32_t alone = 0;
            F(fill)(x1, k, SENTINEL);
            want = F(wmf_solve_row_low_rank)(&w, &rows[v], scratch, lr_len, x1, &alone);
            CHECK(statuses[v] == want && flags[v] == (want == WMF_STATUS_OK ? alone : 0u),
                  "%s group row %zu: status %d flag %u, alone %d %u", PFX, v, (int)statuses[v],
                  (unsigned)flags[v], (int)want, (unsigned)alone);
            CHECK(memcmp(xs + v * k, x1, k * sizeof(REAL)) == 0, "%s group row %zu: x is not the row's alone",
                  PFX, v);
        }
        CHECK(flags[0] == 1 && flags[1] == 0 && flags[2] == 1 && statuses[3] == WMF_STATUS_INDEX_OUT_OF_RANGE,
              "%s group flags %u %u %u, status %d", PFX, (unsigned)flags[0], (unsigned)flags[1],
              (unsigned)flags[2], (int)statuses[3]);
        /* Call-level errors write nothing. */
        F(fill)(xs, 4 * k, SENTINEL);
        statuses[0] = WMF_STATUS_INTERNAL;
        flags[0] = 7;
        EXPECT_STATUS(F(wmf_solve_rows_low_rank)(&w, rows, WMF_LOW_RANK_GROUP + 1, gs, g_len, xs, statuses, flags),
                      WMF_STATUS_DIMENSION_TOO_LARGE);
        EXPECT_STATUS(F(wmf_solve_rows_low_rank)(&w, rows, 4, gs, g_len - 1, xs, statuses, flags),
                      WMF_STATUS_LENGTH_MISMATCH);
        EXPECT_STATUS(F(wmf_solve_rows_low_rank)(&w, rows, 4, gs, g_len, xs, NULL, flags), WMF_STATUS_NULL_POINTER);
        EXPECT_STATUS(F(wmf_solve_rows_low_rank)(NULL, rows, 4, gs, g_len, xs, statuses, flags),
                      WMF_STATUS_NULL_POINTER);
        UNTOUCHED(xs, 4 * k, "group xs");
        CHECK(statuses[0] == WMF_STATUS_INTERNAL && flags[0] == 7, "%s group outputs written on failure", PFX);
        free(gs);
        free(xs);
        free(x1);
    }

    /* Whitening statuses. */
    F(fill)(l, k * k, SENTINEL);
    F(fill)(hw, n * k, SENTINEL);
    EXPECT_STATUS(F(wmf_whiten)(NULL, lambda, l, k * k, hw, n * k), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_whiten)(&items, lambda, NULL, k * k, hw, n * k), WMF_STATUS_NULL_POINTER);
    EXPECT_STATUS(F(wmf_whiten)(&items, (REAL)-1, l, k * k, hw, n * k), WMF_STATUS_NEGATIVE);
    EXPECT_STATUS(F(wmf_whiten)(&items, (REAL)NAN, l, k * k, hw, n * k), WMF_STATUS_NON_FINITE);
    EXPECT_STATUS(F(wmf_whiten)(&items, lambda, l, k * k - 1, hw, n * k), WMF_STATUS_LENGTH_MISMATCH);
    EXPECT_STATUS(F(wmf_whiten)(&items, lambda, l, k * k, hw, n * k + 1), WMF_STATUS_LENGTH_MISMATCH);
    UNTOUCHED(l, k * k, "whiten l");
    UNTOUCHED(hw, n * k, "whiten hw");
    /* All-zero factors: G0 = 0, and with lambda = 0 not positive definite. */
    singular = items;
    singular.h = zero_h;
    {
        REAL *g_zero = (REAL *)xcalloc(k * k, sizeof(REAL));
        singular.g0 = g_zero;
        EXPECT_STATUS(F(wmf_whiten)(&singular, 0, l, k * k, hw, n * k), WMF_STATUS_NOT_POSITIVE_DEFINITE);
        CHECK(F(all_equal)(l, k * k, 0) && F(all_equal)(hw, n * k, 0),
              "%s whiten must zero-fill its outputs on NOT_POSITIVE_DEFINITE", PFX);
        free(g_zero);
    }

    free(l);
    free(hw);
    free(scratch);
    free(x);
    free(zero_h);
}

#undef DENSE
#undef ITEMS
#undef ROW
#undef UPDATE
#undef SENTINEL
#undef UNTOUCHED
#undef ZEROED
#undef F
#undef CAT
#undef CAT_
