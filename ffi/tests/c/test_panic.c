/* Forces a Rust panic inside the library's panic boundary and checks that it
 * comes back as WMF_STATUS_PANIC instead of unwinding into C. Links a build
 * made with `--features panic-test`; `wmf_test_panic` is not in wmf.h nor in
 * a normal build. */
#include <stdio.h>

#include "wmf.h"

wmf_status wmf_test_panic(void);

int main(void) {
    int pass = 0, fail = 0, i;
    for (i = 0; i < 2; i++) { /* twice: the library stays usable after a panic */
        wmf_status s = wmf_test_panic();
        if (s == WMF_STATUS_PANIC) {
            pass++;
        } else {
            fail++;
            fprintf(stderr, "FAIL: wmf_test_panic returned %d (%s)\n", (int)s, wmf_status_str((int)s));
        }
    }
    if (wmf_solve_row_cg_scratch_len(4) == 12) {
        pass++;
    } else {
        fail++;
        fprintf(stderr, "FAIL: library unusable after a caught panic\n");
    }
    printf("%d passed, %d failed\n", pass, fail);
    return fail == 0 ? 0 : 1;
}
