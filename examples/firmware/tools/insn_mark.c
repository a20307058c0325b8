/*
 * insn_mark: a QEMU TCG plugin that counts executed guest instructions and
 * records the running count each time the guest executes the first
 * instruction of a marker function.
 *
 *   qemu-system-arm ... -plugin ./libinsn_mark.so,mark=0xADDR,out=FILE
 *
 * FILE gets one line per marker hit, "MARK <i> <instructions so far>", and
 * a final "TOTAL <instructions>". The difference between two consecutive
 * marks is the number of instructions executed between them, plus the
 * marker's own (constant) cost; the firmware marks twice in a row first to
 * calibrate that.
 *
 * Counting is an inline add of 1 per executed instruction (not per
 * translation block), so it is exact even when a block exits early.
 *
 * Written against QEMU's plugin API version 1 (QEMU 4.2 .. 8.x, Debian 12's
 * QEMU 7.2 included). Debian ships no plugin headers, so the few entry points
 * used are declared here.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t plugin_id;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info;

/* Declarations of the QEMU plugin API entry points this plugin uses. */
void qemu_plugin_register_vcpu_tb_trans_cb(plugin_id id,
    void (*cb)(plugin_id id, struct qemu_plugin_tb *tb));
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
    void (*cb)(unsigned int vcpu, void *userdata), int flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
    int op, void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(plugin_id id,
    void (*cb)(plugin_id id, void *userdata), void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
                                                 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

#define INLINE_ADD_U64 0
#define CB_NO_REGS 0
#define API_VERSION 1

EXPORT int qemu_plugin_version = API_VERSION;

static uint64_t insns;
static uint64_t mark_addr;
static unsigned marks;
static FILE *out;

static void on_mark(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    (void)userdata;
    /* The inline add of the marker instruction itself may or may not have
     * run yet; it is the same for every mark, so differences are exact. */
    fprintf(out, "MARK %u %" PRIu64 "\n", marks++, insns);
    fflush(out);
}

static void on_translate(plugin_id id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, INLINE_ADD_U64, &insns, 1);
        if ((qemu_plugin_insn_vaddr(insn) & ~(uint64_t)1) == mark_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, CB_NO_REGS, NULL);
        }
    }
}

static void on_exit_cb(plugin_id id, void *userdata)
{
    (void)id;
    (void)userdata;
    fprintf(out, "TOTAL %" PRIu64 "\n", insns);
    fflush(out);
}

EXPORT int qemu_plugin_install(plugin_id id, const struct qemu_info *info,
                               int argc, char **argv)
{
    (void)info;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "mark=", 5) == 0) {
            mark_addr = strtoull(argv[i] + 5, NULL, 0) & ~(uint64_t)1;
        } else if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        } else {
            fprintf(stderr, "insn_mark: unknown argument %s (want mark=ADDR, out=FILE)\n", argv[i]);
            return 1;
        }
    }
    if (mark_addr == 0 || path == NULL) {
        fprintf(stderr, "insn_mark: need mark=ADDR and out=FILE\n");
        return 1;
    }
    out = fopen(path, "w");
    if (out == NULL) {
        perror(path);
        return 1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
