/*
 * aecodec instruction counter: a QEMU TCG plugin that counts the guest instructions
 * executed between two marker functions, exactly (one callback per executed
 * instruction, no sampling, no per-block approximation).
 *
 *   qemu-system-arm ... -d plugin -plugin ./icount.so,begin=0xADDR,end=0xADDR
 *
 * begin/end are the entry addresses of the firmware's `aecodec_bench_begin` and
 * `aecodec_bench_end` (bit 0, the Thumb bit of ELF function symbols, is ignored).
 * A pair opens when the instruction at `begin` executes and closes when the
 * instruction at `end` executes; the count of a pair is the number of instructions
 * executed in between (neither marker entry instruction is counted; the rest of the
 * `begin` function, its return, and the call into `end` are, which a pair with nothing
 * in between measures). A `begin` while a pair is open is ignored, as is an `end`
 * while none is. At exit the plugin prints one line per pair (the first 256) and a
 * summary line:
 *
 *   icount: pair 0 insns 5
 *   icount: pairs 9 total 123456
 *
 * Optional arguments:
 *   out=FILE   also write these lines to FILE (qemu_plugin_outs only prints with -d plugin);
 *   hist=FILE  write, for every instruction address executed inside pairs, the number of
 *              times it executed ("0xADDR COUNT" lines, ascending addresses; addresses
 *              below 4 MiB, which covers the flash of both boards), to find the hot loop.
 *
 * No QEMU headers needed: the few declarations of the stable plugin API (qemu-plugin.h)
 * used here are written out below. QEMU 7.x expects API version 1 (QEMU_PLUGIN_VERSION);
 * QEMU refuses to load a plugin whose `qemu_plugin_version` it does not support, so a
 * mismatch is reported at start, never silently miscounted.
 *
 * Build: gcc -shared -fPIC -O2 -o icount.so icount.c
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the subset of qemu-plugin.h (QEMU 7.2, API version 1) used here ---- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t; /* only passed through, never read */
enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);
/* ---- end of the API subset ---- */

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

#define MAX_PAIRS 256

static uint64_t begin_addr, end_addr;
static bool have_begin, have_end;
static bool open_pair;
static uint64_t current;
static uint64_t total;
static uint64_t pairs;
static uint64_t pair_counts[MAX_PAIRS];
static FILE *out_file;
static FILE *hist_file;
/* Per-halfword execution counts inside pairs, for addresses below HIST_LIMIT. */
#define HIST_LIMIT (4u << 20)
static uint64_t *hist;

/* Single-vCPU boards (mps2-an386, microbit): no locking needed. */
static void on_insn(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    if (open_pair) {
        current++;
        if (udata)
            ++*(uint64_t *)udata;
    }
}

static void on_begin(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    if (!open_pair) {
        open_pair = true;
        current = 0;
    }
}

static void on_end(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    if (open_pair) {
        open_pair = false;
        if (pairs < MAX_PAIRS)
            pair_counts[pairs] = current;
        pairs++;
        total += current;
    }
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        qemu_plugin_vcpu_udata_cb_t cb = on_insn;
        if (pc == begin_addr)
            cb = on_begin;
        else if (pc == end_addr)
            cb = on_end;
        void *slot = (hist && pc < HIST_LIMIT) ? &hist[pc >> 1] : NULL;
        qemu_plugin_register_vcpu_insn_exec_cb(insn, cb, QEMU_PLUGIN_CB_NO_REGS, slot);
    }
}

static void emit(const char *line)
{
    qemu_plugin_outs(line);
    if (out_file)
        fputs(line, out_file);
}

static void report(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    char line[128];
    for (uint64_t i = 0; i < pairs && i < MAX_PAIRS; i++) {
        snprintf(line, sizeof line, "icount: pair %" PRIu64 " insns %" PRIu64 "\n", i,
                 pair_counts[i]);
        emit(line);
    }
    snprintf(line, sizeof line, "icount: pairs %" PRIu64 " total %" PRIu64 "%s\n", pairs, total,
             open_pair ? " (a pair was still open at exit)" : "");
    emit(line);
    if (out_file)
        fclose(out_file);
    if (hist_file) {
        for (uint64_t i = 0; i < HIST_LIMIT / 2; i++)
            if (hist[i])
                fprintf(hist_file, "0x%08" PRIx64 " %" PRIu64 "\n", i << 1, hist[i]);
        fclose(hist_file);
    }
}

static bool parse_addr(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x = strtoull(s, &end, 0);
    if (*s == '\0' || *end != '\0')
        return false;
    *v = (uint64_t)x & ~(uint64_t)1; /* drop the Thumb bit */
    return true;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "begin=", 6) == 0 && parse_addr(a + 6, &begin_addr)) {
            have_begin = true;
        } else if (strncmp(a, "end=", 4) == 0 && parse_addr(a + 4, &end_addr)) {
            have_end = true;
        } else if (strncmp(a, "out=", 4) == 0) {
            out_file = fopen(a + 4, "w");
            if (!out_file) {
                fprintf(stderr, "icount: cannot open %s\n", a + 4);
                return -1;
            }
        } else if (strncmp(a, "hist=", 5) == 0) {
            hist_file = fopen(a + 5, "w");
            hist = calloc(HIST_LIMIT / 2, sizeof *hist);
            if (!hist_file || !hist) {
                fprintf(stderr, "icount: cannot open %s\n", a + 5);
                return -1;
            }
        } else {
            fprintf(stderr, "icount: bad argument '%s' (want begin=0x..,end=0x..[,out=FILE][,hist=FILE])\n", a);
            return -1;
        }
    }
    if (!have_begin || !have_end || begin_addr == end_addr) {
        fprintf(stderr, "icount: need two distinct addresses begin=0x.. and end=0x..\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, report, NULL);
    return 0;
}
