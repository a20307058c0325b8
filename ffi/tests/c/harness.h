/* Test harness for the wmf C tests: counters, checks and the fixture reader.
 * Plain C99; every function is static (single translation unit per binary). */
#ifndef WMF_TEST_HARNESS_H
#define WMF_TEST_HARNESS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wmf.h"

#define N_STATUS 15

static int g_pass = 0;
static int g_fail = 0;
static int g_seen[N_STATUS];

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            g_pass++;                                                           \
        } else {                                                                \
            g_fail++;                                                           \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

static void note_status(wmf_status s) {
    if ((int)s >= 0 && (int)s < N_STATUS) {
        g_seen[(int)s]++;
    }
}

/* Calls `call`, which returns a wmf_status, and checks it equals `want`. */
#define EXPECT_STATUS(call, want)                                               \
    do {                                                                        \
        wmf_status got_ = (call);                                               \
        note_status(got_);                                                      \
        CHECK(got_ == (want), "%s\n    returned %d (%s), expected %d (%s)",     \
              #call, (int)got_, wmf_status_str((int)got_), (int)(want),         \
              wmf_status_str((int)(want)));                                     \
    } while (0)

/* ---------------------------------------------------------------- fixture */

typedef struct {
    char name[64];
    char kind; /* f float, d double, u uint32, z size_t */
    size_t count;
    void *data;
} fx_entry;

static fx_entry *g_fx = NULL;
static size_t g_fx_len = 0;

static void fx_die(const char *what, const char *name) {
    fprintf(stderr, "fixture: %s: %s\n", what, name);
    exit(2);
}

static void fx_load(const char *path) {
    FILE *f = fopen(path, "r");
    size_t cap = 0;
    char name[64];
    char kind;
    size_t count;
    if (f == NULL) {
        fx_die("cannot open", path);
    }
    while (fscanf(f, "%63s %c %zu", name, &kind, &count) == 3) {
        size_t i;
        size_t size = kind == 'f' ? sizeof(float)
                    : kind == 'd' ? sizeof(double)
                    : kind == 'u' ? sizeof(uint32_t)
                                  : sizeof(size_t);
        fx_entry *e;
        if (g_fx_len == cap) {
            cap = cap ? 2 * cap : 64;
            g_fx = (fx_entry *)realloc(g_fx, cap * sizeof *g_fx);
            if (g_fx == NULL) {
                fx_die("out of memory", path);
            }
        }
        e = &g_fx[g_fx_len++];
        memcpy(e->name, name, sizeof name);
        e->kind = kind;
        e->count = count;
        e->data = malloc(count ? count * size : 1);
        if (e->data == NULL) {
            fx_die("out of memory", name);
        }
        for (i = 0; i < count; i++) {
            char tok[64];
            if (fscanf(f, "%63s", tok) != 1) {
                fx_die("truncated entry", name);
            }
            switch (kind) {
            case 'f': ((float *)e->data)[i] = strtof(tok, NULL); break;
            case 'd': ((double *)e->data)[i] = strtod(tok, NULL); break;
            case 'u': ((uint32_t *)e->data)[i] = (uint32_t)strtoul(tok, NULL, 10); break;
            case 'z': ((size_t *)e->data)[i] = (size_t)strtoull(tok, NULL, 10); break;
            default: fx_die("unknown kind", name);
            }
        }
    }
    fclose(f);
    if (g_fx_len == 0) {
        fx_die("empty fixture", path);
    }
}

static void fx_free(void) {
    size_t i;
    for (i = 0; i < g_fx_len; i++) {
        free(g_fx[i].data);
    }
    free(g_fx);
}

static const void *fx_get(const char *name, char kind, size_t count) {
    size_t i;
    for (i = 0; i < g_fx_len; i++) {
        if (strcmp(g_fx[i].name, name) == 0) {
            if (g_fx[i].kind != kind || g_fx[i].count != count) {
                fprintf(stderr, "fixture: %s has kind %c count %zu, expected %c %zu\n", name,
                        g_fx[i].kind, g_fx[i].count, kind, count);
                exit(2);
            }
            return g_fx[i].data;
        }
    }
    fx_die("missing entry", name);
    return NULL;
}

static const float *fx_f32(const char *name, size_t count) { return (const float *)fx_get(name, 'f', count); }
static const double *fx_f64(const char *name, size_t count) { return (const double *)fx_get(name, 'd', count); }
static const uint32_t *fx_u32(const char *name, size_t count) { return (const uint32_t *)fx_get(name, 'u', count); }
static const size_t *fx_size(const char *name, size_t count) { return (const size_t *)fx_get(name, 'z', count); }

/* Allocates `count` zeroed elements of `size` bytes (never NULL). */
static void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

#endif /* WMF_TEST_HARNESS_H */
