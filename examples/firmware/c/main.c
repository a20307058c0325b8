/*
 * The on-device scenario through the C API (wmf.h, the ffi crate's no_std
 * static library), on QEMU mps2-an386. Same steps, parameters and report
 * format as the Rust firmware (examples/firmware/scenario/src/lib.rs), so
 * `wmf-fw-gen compare` checks both against the same host answer:
 *
 *   CRC-32 of the WMFB blob, header parse; CG fold-in with the first 10, 50
 *   and 100 interactions of the test user (user.h); Cholesky fold-in with
 *   all 100; the model's whitening (wmf_whiten_f32) and the low-rank
 *   fold-in of the first 10 (wmf_solve_row_low_rank_f32); normal equations;
 *   two eALS online updates; top 10 excluding the 102 seen items.
 *
 * Build-time inputs: WMF_FW_K (the rank), WMF_BLOB_PATH (the blob, linked
 * in with .incbin), user.h (wmf-fw-gen header). Prints over semihosting and
 * exits with status 0 on success, 1 on any error.
 */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"
#include "user.h"
#include "wmf.h"

#ifndef WMF_FW_K
#error "define WMF_FW_K (16 or 32)"
#endif
#define K WMF_FW_K
#define N_STAGES 12
/* Interactions of the low-rank fold-in (the scenario's LOW_RANK_N). */
#define LOW_RANK_N 10u

/* The model blob, 4-byte aligned in flash. */
__asm__(".section .rodata.wmf_model_blob,\"a\",%progbits\n"
        ".balign 4\n"
        ".global wmf_model_blob\n"
        "wmf_model_blob:\n"
        ".incbin \"" WMF_BLOB_PATH "\"\n"
        ".global wmf_model_blob_end\n"
        "wmf_model_blob_end:\n"
        ".previous\n");
extern const uint8_t wmf_model_blob[];
extern const uint8_t wmf_model_blob_end[];

extern uint32_t __stack_bottom[];

/* The per-user state between online updates, and the k x k scratch the C API
 * asks for (Cholesky, and the transactional online update), in static RAM. */
static float state_a[K * K];
static float state_b[K];
static float kk_scratch[K * K];
/* The whitened model (L, H L^-T) and the low-rank solve's scratch
 * (n_u k + n_u^2 floats), in static RAM. */
static float l_factor[K * K];
static float hw[(size_t)WMF_FW_N_ITEMS * K];
static float low_rank_scratch[LOW_RANK_N * K + LOW_RANK_N * LOW_RANK_N];

static const char *const stage_names[N_STAGES] = {
    "crc",    "validate",  "fold10", "fold50",  "fold100", "cholesky",
    "whiten", "lowrank10", "normal", "update1", "update2", "topn",
};
static uint32_t stage_stack[N_STAGES];
static uintptr_t paint_low, sp_at_begin;
#define PAINT 0x5EE5A11Cu
#define PAINT_WINDOW (32u * 1024u)

/* The QEMU instruction-count plugin watches this function (see tools/insn_mark.c). */
__attribute__((noinline, used)) void wmf_insn_mark(void)
{
    __asm__ volatile("nop");
}

static inline uintptr_t read_sp(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Paints [low, SP - 32): the stack below this frame (see the Rust firmware). */
__attribute__((noinline)) static void paint(uintptr_t low)
{
    uintptr_t high = (read_sp() - 32u) & ~(uintptr_t)3u;
    for (volatile uint32_t *p = (volatile uint32_t *)low; (uintptr_t)p < high; p++) {
        *p = PAINT;
    }
}

static void stage_begin(void)
{
    sp_at_begin = read_sp();
    uintptr_t bottom = (uintptr_t)__stack_bottom;
    paint_low = sp_at_begin - PAINT_WINDOW > bottom ? sp_at_begin - PAINT_WINDOW : bottom;
    paint_low &= ~(uintptr_t)3u;
    paint(paint_low);
    wmf_insn_mark();
}

static void stage_end(int stage)
{
    wmf_insn_mark();
    const volatile uint32_t *p = (const volatile uint32_t *)paint_low;
    while ((uintptr_t)p < sp_at_begin && *p == PAINT) {
        p++;
    }
    stage_stack[stage] = (uint32_t)(sp_at_begin - (uintptr_t)p);
}

/* ---- output: one line at a time through SYS_WRITE0, no printf ---- */
static char line[1024];
static size_t line_len;

static void put_str(const char *s)
{
    while (*s != '\0' && line_len + 1 < sizeof line) {
        line[line_len++] = *s++;
    }
}

static void put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    put_str(&buf[i]);
}

static void put_hex(uint32_t v)
{
    char buf[9];
    for (int i = 7; i >= 0; i--) {
        buf[i] = "0123456789abcdef"[v & 0xFu];
        v >>= 4;
    }
    buf[8] = '\0';
    put_str(buf);
}

static uint32_t f32_bits(float f)
{
    union {
        float f;
        uint32_t u;
    } c = {.f = f};
    return c.u;
}

static void flush_line(void)
{
    put_str("\n");
    line[line_len] = '\0';
    sh_write0(line);
    line_len = 0;
}

static void put_vec(const char *tag, const float *v)
{
    put_str(tag);
    for (size_t i = 0; i < K; i++) {
        put_str(" ");
        put_hex(f32_bits(v[i]));
    }
    flush_line();
}

static int fail(const char *what, int status)
{
    put_str("ERROR ");
    put_str(what);
    if (status >= 0) {
        put_str(": ");
        put_str(wmf_status_str(status));
    }
    flush_line();
    return 1;
}

/* ---- the WMFB blob ---- */

/* CRC-32 (IEEE, reflected 0xEDB88320), bit by bit: no table in flash. */
static uint32_t crc32(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int main(void)
{
    const uint8_t *blob = wmf_model_blob;
    const size_t len = (size_t)(wmf_model_blob_end - wmf_model_blob);
    wmf_insn_mark(); /* calibration pair */
    wmf_insn_mark();

    stage_begin();
    int crc_ok = len >= 24u && crc32(blob, len - 4u) == le32(blob + len - 4u);
    stage_end(0);
    if (!crc_ok) {
        return fail("model blob: bad length or CRC-32", -1);
    }

    stage_begin();
    const uint32_t n = le32(blob + 8), k = le32(blob + 12);
    int header_ok = blob[0] == 'W' && blob[1] == 'M' && blob[2] == 'F' && blob[3] == 'B' &&
                    le32(blob + 4) == 1u && le32(blob + 16) == 0u && k == K &&
                    n == WMF_FW_N_ITEMS &&
                    len == 24u + 4u * ((size_t)n * K + (size_t)K * K + n);
    /* One full check of the model (O(n k)); the calls below then skip that scan. */
    struct wmf_items_f32 items = {0};
    wmf_status model_status = WMF_STATUS_OK;
    if (header_ok) {
        const float *floats = (const float *)(const void *)(blob + 20);
        items.h = floats;
        items.n = n;
        items.k = K;
        items.g0 = floats + (size_t)n * K;
        items.c0 = floats + (size_t)n * K + K * K;
        items.c0_uniform = 0.0f;
        model_status = wmf_items_check_f32(&items);
    }
    stage_end(1);
    if (!header_ok) {
        return fail("model blob: bad magic, version, dtype, rank or length", -1);
    }
    if (model_status != WMF_STATUS_OK) {
        return fail("model check", (int)model_status);
    }

    static const size_t sizes[3] = {10u, 50u, WMF_FW_N_SEEN};
    float fold[3][K];
    size_t steps[3];
    for (int i = 0; i < 3; i++) {
        const struct wmf_row_f32 row = {wmf_fw_seen, wmf_fw_conf, NULL, sizes[i]};
        float scratch[3 * K];
        struct wmf_cg_report report;
        for (size_t f = 0; f < K; f++) {
            fold[i][f] = 0.0f;
        }
        stage_begin();
        enum wmf_status st = wmf_solve_row_cg_f32(&items, &row, WMF_FW_LAMBDA, fold[i], K,
                                                  WMF_FW_CG_TOL, scratch, 3 * K, &report);
        stage_end(2 + i);
        if (st != WMF_STATUS_OK) {
            return fail("fold-in (CG)", st);
        }
        steps[i] = report.steps;
    }

    const struct wmf_row_f32 row = {wmf_fw_seen, wmf_fw_conf, NULL, WMF_FW_N_SEEN};
    float chol[K];
    stage_begin();
    enum wmf_status st = wmf_solve_row_cholesky_f32(&items, &row, WMF_FW_LAMBDA, kk_scratch,
                                                    K * K, chol);
    stage_end(5);
    if (st != WMF_STATUS_OK) {
        return fail("fold-in (Cholesky)", st);
    }

    stage_begin();
    st = wmf_whiten_f32(&items, WMF_FW_LAMBDA, l_factor, K * K, hw, (size_t)n * K);
    stage_end(6);
    if (st != WMF_STATUS_OK) {
        return fail("whitening", st);
    }
    const struct wmf_whitened_f32 whitened = {
        .hw = hw, .n = n, .k = K, .l = l_factor, .c0 = items.c0, .c0_uniform = 0.0f};
    const struct wmf_row_f32 short_row = {wmf_fw_seen, wmf_fw_conf, NULL, LOW_RANK_N};
    float low_rank[K];
    uint32_t solved = 0;
    const size_t lr_len = wmf_solve_row_low_rank_scratch_len(LOW_RANK_N, K);
    if (lr_len > sizeof low_rank_scratch / sizeof low_rank_scratch[0]) {
        return fail("low-rank scratch too small", -1);
    }
    stage_begin();
    st = wmf_solve_row_low_rank_f32(&whitened, &short_row, low_rank_scratch, lr_len, low_rank,
                                    &solved);
    stage_end(7);
    if (st != WMF_STATUS_OK) {
        return fail("fold-in (low rank)", st);
    }
    if (solved != 1u) {
        return fail("fold-in (low rank): row declined", -1);
    }

    stage_begin();
    st = wmf_row_normal_equations_f32(&items, &row, WMF_FW_LAMBDA, state_a, state_b);
    stage_end(8);
    if (st != WMF_STATUS_OK) {
        return fail("normal equations", st);
    }

    float w[K], updated[2][K];
    for (size_t f = 0; f < K; f++) {
        w[f] = fold[2][f];
    }
    for (int u = 0; u < 2; u++) {
        const uint32_t item = wmf_fw_new_items[u];
        const struct wmf_cell_update_f32 upd = {
            .c_new = wmf_fw_new_conf[u],
            .x_new = 1.0f,
            .c_old = items.c0[item],
            .x_old = 0.0f,
        };
        stage_begin();
        st = wmf_eals_online_update_f32(state_a, state_b, w, K, items.h + (size_t)item * K, upd,
                                        WMF_FW_UPDATE_SWEEPS, kk_scratch, K * K);
        stage_end(9 + u);
        if (st != WMF_STATUS_OK) {
            return fail("online update", st);
        }
        for (size_t f = 0; f < K; f++) {
            updated[u][f] = w[f];
        }
    }

    /* Seen items plus the two new ones, strictly ascending. */
    uint32_t exclude[WMF_FW_N_SEEN + 2];
    size_t n_ex = 0;
    for (size_t t = 0; t < WMF_FW_N_SEEN; t++) {
        exclude[n_ex++] = wmf_fw_seen[t];
    }
    for (int u = 0; u < 2; u++) {
        size_t pos = n_ex;
        while (pos > 0 && exclude[pos - 1] > wmf_fw_new_items[u]) {
            exclude[pos] = exclude[pos - 1];
            pos--;
        }
        exclude[pos] = wmf_fw_new_items[u];
        n_ex++;
    }
    uint32_t top_items[WMF_FW_TOP];
    float top_scores[WMF_FW_TOP];
    size_t count = 0;
    stage_begin();
    /* Over the checked items: h is not scanned again. */
    st = wmf_top_n_items_f32(&items, w, exclude, n_ex, top_items, top_scores, WMF_FW_TOP, &count);
    stage_end(11);
    if (st != WMF_STATUS_OK) {
        return fail("top-n", st);
    }

    put_str("MODEL n=");
    put_u32(n);
    put_str(" k=");
    put_u32(K);
    flush_line();
    put_str("CG");
    for (int i = 0; i < 3; i++) {
        put_str(" ");
        put_u32((uint32_t)steps[i]);
    }
    flush_line();
    put_vec("FOLD10", fold[0]);
    put_vec("FOLD50", fold[1]);
    put_vec("FOLD100", fold[2]);
    put_vec("CHOL", chol);
    put_vec("LOWRANK10", low_rank);
    put_vec("UPD1", updated[0]);
    put_vec("UPD2", updated[1]);
    put_str("NEW");
    for (int u = 0; u < 2; u++) {
        put_str(" ");
        put_u32(wmf_fw_new_items[u]);
        put_str(":");
        put_hex(f32_bits(wmf_fw_new_conf[u]));
    }
    flush_line();
    put_str("TOP");
    for (size_t t = 0; t < count; t++) {
        put_str(" ");
        put_u32(top_items[t]);
        put_str(":");
        put_hex(f32_bits(top_scores[t]));
    }
    flush_line();
    for (int s = 0; s < N_STAGES; s++) {
        put_str("STACK ");
        put_str(stage_names[s]);
        put_str(" ");
        put_u32(stage_stack[s]);
        flush_line();
    }
    put_str("DONE");
    flush_line();
    return 0;
}
