/* C tests of libwmf: every entry point against the Rust kernel's results on
 * the same seeded inputs (read from the fixture written by
 * `cargo run -p wmf-ffi --example c_fixture -- DIR`), and every status code.
 *
 * Build (C99, warnings are errors), for example against the installed library:
 *   cc -std=c99 -Wall -Wextra -Wpedantic -Werror test_wmf.c $(pkg-config --cflags --libs wmf) -lm
 * Run:  ./test_wmf DIR/fixture.txt
 * The last line is "N passed, M failed"; the exit status is 0 only when M is 0. */
#include <float.h>

#include "harness.h"

#define REAL float
#define SFX f32
#define PFX "f32"
#define FXR fx_f32
#define REAL_BIG FLT_MAX
#define TOL_ELEM 1e-5
#define TOL_SOLVE 1e-4
#include "cases.h"
#undef REAL
#undef SFX
#undef PFX
#undef FXR
#undef REAL_BIG
#undef TOL_ELEM
#undef TOL_SOLVE

#define REAL double
#define SFX f64
#define PFX "f64"
#define FXR fx_f64
#define REAL_BIG DBL_MAX
#define TOL_ELEM 1e-12
#define TOL_SOLVE 1e-10
#include "cases.h"

static void test_status_strings(void) {
    int i, j;
    const char *unknown = wmf_status_str(-1);
    const char *version = wmf_version();
    CHECK(unknown != NULL && strcmp(unknown, "unknown wmf_status") == 0, "wmf_status_str(-1)");
    CHECK(strcmp(wmf_status_str(N_STATUS), unknown) == 0, "wmf_status_str(N_STATUS) must be unknown");
    CHECK(strcmp(wmf_status_str(100000), unknown) == 0, "wmf_status_str(100000) must be unknown");
    CHECK(strcmp(wmf_status_str(WMF_STATUS_OK), "ok") == 0, "wmf_status_str(OK)");
    for (i = 0; i < N_STATUS; i++) {
        const char *s = wmf_status_str(i);
        CHECK(s != NULL && s[0] != '\0' && strcmp(s, unknown) != 0, "status %d has no message", i);
        for (j = 0; j < i; j++) {
            CHECK(strcmp(s, wmf_status_str(j)) != 0, "statuses %d and %d share a message", i, j);
        }
    }
    /* The numbers are ABI: pin them. */
    CHECK(WMF_STATUS_OK == 0 && WMF_STATUS_NULL_POINTER == 1 && WMF_STATUS_ZERO_DIMENSION == 2 &&
              WMF_STATUS_DIMENSION_TOO_LARGE == 3 && WMF_STATUS_SIZE_OVERFLOW == 4 &&
              WMF_STATUS_LENGTH_MISMATCH == 5 && WMF_STATUS_INDEX_OUT_OF_RANGE == 6 &&
              WMF_STATUS_NOT_ASCENDING == 7 && WMF_STATUS_NON_FINITE == 8 && WMF_STATUS_NEGATIVE == 9 &&
              WMF_STATUS_NOT_POSITIVE_DEFINITE == 10 && WMF_STATUS_NON_FINITE_RESULT == 11 &&
              WMF_STATUS_PANIC == 12 && WMF_STATUS_MISALIGNED_POINTER == 13 && WMF_STATUS_INTERNAL == 14,
          "status numbers changed");
    CHECK(version != NULL && version[0] >= '0' && version[0] <= '9' && strchr(version, '.') != NULL,
          "wmf_version() = %s", version ? version : "(null)");
    CHECK(WMF_MAX_K >= 256, "WMF_MAX_K = %d", WMF_MAX_K);
}

int main(int argc, char **argv) {
    int i;
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE\n", argv[0]);
        return 2;
    }
    fx_load(argv[1]);
    printf("libwmf %s\n", wmf_version());
    test_dense_f32();
    test_dense_f64();
    test_rows_f32();
    test_rows_f64();
    test_low_rank_f32();
    test_low_rank_f64();
    test_status_strings();
    /* Every status must have been provoked, except PANIC (test_panic.c, with
     * the panic-test build) and INTERNAL (unreachable by design). */
    for (i = 0; i < N_STATUS; i++) {
        if (i == WMF_STATUS_PANIC || i == WMF_STATUS_INTERNAL) {
            continue;
        }
        CHECK(g_seen[i] > 0, "status %d (%s) never returned by any test", i, wmf_status_str(i));
    }
    fx_free();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}
