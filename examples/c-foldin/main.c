/* On-device style fold-in with libwmf: load a model's item side from a
 * "WMFB" blob (item factors, Gramian G0, per-item c0; written by `wmf export`),
 * take one user's interactions, solve the user's factor exactly (Cholesky)
 * and print the 10 best items the user has not seen.
 *
 * Build (one command, against the installed library):
 *   cc -std=c99 -O2 main.c $(pkg-config --cflags --libs wmf) -o foldin
 * Run:
 *   ./foldin MODEL.wmfb [ITEM:CONFIDENCE ...]
 * Without interactions it uses the built-in list 2:4 11:2 23:5.
 * Item ids must be distinct; they are sorted here as the library requires. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmf.h>

#define LAMBDA 0.1f
#define TOP 10
#define MAX_INTERACTIONS 256

/* CRC-32 (IEEE 802.3, reflected, as zlib and crc32fast compute it). */
static uint32_t crc32_ieee(const unsigned char *p, size_t len) {
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int b;
    for (i = 0; i < len; i++) {
        crc ^= p[i];
        for (b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Reads `count` little-endian floats. */
static void le_floats(float *out, const unsigned char *p, size_t count) {
    size_t i;
    for (i = 0; i < count; i++) {
        uint32_t bits = le32(p + 4 * i);
        memcpy(&out[i], &bits, sizeof bits);
    }
}

typedef struct {
    size_t n, k;
    float *h;  /* n * k */
    float *g0; /* k * k */
    float *c0; /* n */
} model;

/* Loads and checks a WMFB blob; returns 0 on success, prints why otherwise. */
static int load_model(const char *path, model *m) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;
    size_t n, k, need;
    int ok = -1;
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 24 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: not a WMFB blob (too short)\n", path);
        goto done;
    }
    buf = (unsigned char *)malloc((size_t)size);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: read failed\n", path);
        goto done;
    }
    if (memcmp(buf, "WMFB", 4) != 0 || le32(buf + 4) != 1 || le32(buf + 16) != 0) {
        fprintf(stderr, "%s: not a WMFB version 1 f32 blob\n", path);
        goto done;
    }
    n = le32(buf + 8);
    k = le32(buf + 12);
    if (n == 0 || k == 0 || k > WMF_MAX_K || n > ((size_t)size / 4)) {
        fprintf(stderr, "%s: bad dimensions n=%zu k=%zu\n", path, n, k);
        goto done;
    }
    need = 20 + 4 * (n * k + k * k + n) + 4;
    if ((size_t)size != need) {
        fprintf(stderr, "%s: size %ld, expected %zu for n=%zu k=%zu\n", path, size, need, n, k);
        goto done;
    }
    if (crc32_ieee(buf, need - 4) != le32(buf + need - 4)) {
        fprintf(stderr, "%s: CRC32 mismatch (corrupt file)\n", path);
        goto done;
    }
    m->n = n;
    m->k = k;
    m->h = (float *)malloc(n * k * sizeof(float));
    m->g0 = (float *)malloc(k * k * sizeof(float));
    m->c0 = (float *)malloc(n * sizeof(float));
    if (m->h == NULL || m->g0 == NULL || m->c0 == NULL) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    le_floats(m->h, buf + 20, n * k);
    le_floats(m->g0, buf + 20 + 4 * n * k, k * k);
    le_floats(m->c0, buf + 20 + 4 * (n * k + k * k), n);
    ok = 0;
done:
    free(buf);
    fclose(f);
    return ok;
}

typedef struct {
    uint32_t item;
    float conf;
} interaction;

static int by_item(const void *a, const void *b) {
    uint32_t x = ((const interaction *)a)->item, y = ((const interaction *)b)->item;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    static const interaction defaults[] = {{2, 4.0f}, {11, 2.0f}, {23, 5.0f}};
    interaction seen[MAX_INTERACTIONS];
    uint32_t ids[MAX_INTERACTIONS];
    float conf[MAX_INTERACTIONS];
    uint32_t top[TOP];
    float score[TOP];
    float w[WMF_MAX_K];
    float *scratch;
    size_t nu = 0, count = 0, i;
    model m = {0, 0, NULL, NULL, NULL};
    wmf_items_f32 items;
    wmf_row_f32 row;
    wmf_status s;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.wmfb [ITEM:CONFIDENCE ...]\n", argv[0]);
        return 2;
    }
    if (load_model(argv[1], &m) != 0) {
        goto out;
    }
    if (argc > 2) {
        for (i = 2; i < (size_t)argc && nu < MAX_INTERACTIONS; i++) {
            unsigned long item;
            float c;
            if (sscanf(argv[i], "%lu:%f", &item, &c) != 2) {
                fprintf(stderr, "bad interaction '%s' (want ITEM:CONFIDENCE)\n", argv[i]);
                goto out;
            }
            seen[nu].item = (uint32_t)item;
            seen[nu].conf = c;
            nu++;
        }
    } else {
        nu = sizeof defaults / sizeof defaults[0];
        memcpy(seen, defaults, sizeof defaults);
    }
    qsort(seen, nu, sizeof seen[0], by_item);
    for (i = 0; i < nu; i++) {
        ids[i] = seen[i].item;
        conf[i] = seen[i].conf;
    }

    items.h = m.h;
    items.n = m.n;
    items.k = m.k;
    items.g0 = m.g0;
    items.c0 = m.c0;
    items.c0_uniform = 0.0f;
    items.checked = 0;
    /* Check the model once; later calls then skip the O(n k) scan of h. */
    s = wmf_items_check_f32(&items);
    if (s != WMF_STATUS_OK) {
        fprintf(stderr, "bad model: %s\n", wmf_status_str((int)s));
        goto out;
    }
    row.items = ids;
    row.conf = conf;
    row.pref = NULL; /* implicit feedback: every preference is 1 */
    row.len = nu;

    scratch = (float *)malloc(wmf_solve_row_cholesky_scratch_len(m.k) * sizeof(float));
    if (scratch == NULL) {
        goto out;
    }
    s = wmf_solve_row_cholesky_f32(&items, &row, LAMBDA, scratch, wmf_solve_row_cholesky_scratch_len(m.k), w);
    free(scratch);
    if (s != WMF_STATUS_OK) {
        fprintf(stderr, "fold-in failed: %s\n", wmf_status_str((int)s));
        goto out;
    }
    s = wmf_top_n_f32(m.h, m.n, m.k, w, ids, nu, top, score, TOP, &count);
    if (s != WMF_STATUS_OK) {
        fprintf(stderr, "top-N failed: %s\n", wmf_status_str((int)s));
        goto out;
    }
    printf("model: %zu items, k = %zu; user: %zu interactions; libwmf %s\n", m.n, m.k, nu, wmf_version());
    printf("rank  item  score\n");
    for (i = 0; i < count; i++) {
        printf("%4zu  %4u  %.6f\n", i + 1, (unsigned)top[i], (double)score[i]);
    }
    rc = 0;
out:
    free(m.h);
    free(m.g0);
    free(m.c0);
    return rc;
}
