/* caracal-share — the model owner's converter (docs/BUNDLES.md).
 *
 *   caracal-share --checkpoint FILE|DIR --out DIR [-f BITS]
 *   caracal-share --synthetic llama-7b|stories260k --out DIR [geometry] [--seed HEX]
 *   caracal-share --inspect DIR [--verify]
 *
 * Writes party0.ccb, party1.ccb, party2.ccb and w2.ccw into DIR.  Give
 * party<i>.ccb to server P_i, and w2.ccw to P1 and P2 (P0 needs no weight
 * bytes at all). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core.h"
#include "bundle.h"
#include "import.h"
#include "model.h"
#include "prg.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: caracal-share --checkpoint PATH --out DIR [-f BITS]\n"
        "       caracal-share --synthetic PRESET --out DIR [-f BITS] [geometry] [--seed HEX]\n"
        "       caracal-share --inspect DIR [--verify]\n"
        "\n"
        "Converts a model to fixed point and writes the three parties' share bundles\n"
        "(party0.ccb, party1.ccb, party2.ccb) and the one explicit share w2.ccw into DIR.\n"
        "Give party<i>.ccb to server P<i>, and w2.ccw to P1 and P2.\n"
        "\n"
        "  --checkpoint PATH  llama2.c .bin, or a Hugging Face model dir / .safetensors\n"
        "  --synthetic PRESET pseudo-random LLaMA weights of realistic magnitude, for\n"
        "                     benchmarks: llama-7b or stories260k (geometry only)\n"
        "  --out DIR          output directory (created if missing)\n"
        "  -f, --frac-bits N  fixed-point fractional bits (default 18)\n"
        "  --dim N --hidden N --layers N --heads N --kv-heads N --vocab N --seq N\n"
        "                     override the synthetic geometry\n"
        "  --seed HEX         32 hex digits: reproducible synthetic weights (the share\n"
        "                     seeds are always fresh from the OS)\n"
        "  --inspect DIR      check a bundle directory and print what it holds\n"
        "  --verify           with --inspect: also check every tensor's BLAKE2b\n"
        "  --threads N        conversion threads (default: all cores; the output is\n"
        "                     byte-identical for any count)\n"
        "  --quiet            no progress output\n");
}

/* ---- progress: a bar on a terminal, plain lines otherwise ------------------ */

typedef struct progress {
    bool tty, quiet;
    uint64_t t0;
    int last_step;
} progress;

/* "1.23 GB" or "45.6 MB", in the unit the total calls for. */
static const char *size_unit(uint64_t total, double *scale)
{
    *scale = total >= 1000000000u ? 1e9 : 1e6;
    return total >= 1000000000u ? "GB" : "MB";
}

static void on_progress(void *ctx, uint64_t done, uint64_t total, const char *tensor)
{
    progress *p = ctx;
    if (p->quiet || total == 0) return;
    double frac = (double)done / (double)total;
    double secs = cc_ns_to_s(cc_now_ns() - p->t0);
    double rate = secs > 0 ? (double)done / secs / 1e6 : 0.0;
    double scale;
    const char *unit = size_unit(total, &scale);
    if (p->tty) {
        enum { W = 30 };
        char bar[W + 1];
        int fill = (int)(frac * W);
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        fprintf(stderr, "\r[%s] %3.0f%%  %.2f/%.2f %s  %4.0f MB/s  %-32.32s", bar, frac * 100,
                (double)done / scale, (double)total / scale, unit, rate, tensor);
        if (done == total) fputc('\n', stderr);
    } else {
        int step = (int)(frac * 10);   /* a line per 10% */
        if (step > p->last_step || done == total) {
            p->last_step = step;
            fprintf(stderr, "caracal-share: %3.0f%% (%.2f of %.2f %s, %.0f MB/s), at %s\n",
                    frac * 100, (double)done / scale, (double)total / scale, unit, rate, tensor);
        }
    }
    fflush(stderr);
}

/* ---- argument parsing -------------------------------------------------------- */

static bool parse_int(const char *s, int lo, int hi, int *out) { return cc_cli_int(s, lo, hi, out); }

/* (sscanf's %2x took " f", "+f" and "-f" for hex digits) */
static bool parse_hex16(const char *s, uint8_t out[16]) { return cc_cli_hex(s, out, 16); }

static int fail(const char *what)
{
    fprintf(stderr, "caracal-share: %s: %s\n", what, cc_error_message());
    return 1;
}

static void hex8(const uint8_t *h, char out[17])
{
    for (int i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Opens every party file present in dir and checks they belong together. */
static int inspect(const char *dir, bool verify)
{
    cc_bundle *b[3] = { NULL, NULL, NULL };
    int found = 0, rc = 0;
    for (int p = 0; p < 3; p++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, cc_bundle_party_file(p));
        if (access(path, F_OK) != 0) continue;
        cc_bundle_open_options o = { .party = p, .frac_bits = -1, .verify = verify, .no_prefetch = true };
        if (cc_bundle_open(path, &o, &b[p]) != CC_OK) { rc = fail("inspect"); continue; }
        found++;
        const cc_model_config *c = cc_bundle_config(b[p]);
        char h[17];
        hex8(cc_bundle_content_hash(b[p]), h);
        printf("P%d: %s, dim %d, hidden %d, %d layers, %d/%d heads, vocab %d; f = %u; "
               "largest layer %.1f MB (both planes); content hash %s...%s\n",
               p, cc_arch_name(c->arch), c->dim, c->hidden_dim, c->n_layers, c->n_heads,
               c->n_kv_heads, c->vocab_size, cc_bundle_frac_bits(b[p]),
               (double)cc_bundle_max_layer_bytes(b[p]) / 1e6, h,
               verify && p != 0 ? ", checksums verified" : "");
    }
    for (int p = 1; p < 3; p++)
        if (b[0] && b[p] && cc_bundle_check_peer(b[0], cc_bundle_content_hash(b[p]), "this bundle set") != CC_OK)
            rc = fail("inspect");
    for (int p = 0; p < 3; p++) cc_bundle_close(b[p]);
    if (found == 0) {
        fprintf(stderr, "caracal-share: %s holds no party files\n", dir);
        return 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    enum { O_CKPT = 256, O_SYNTH, O_OUT, O_DIM, O_HIDDEN, O_LAYERS, O_HEADS, O_KV, O_VOCAB,
           O_SEQ, O_SEED, O_INSPECT, O_VERIFY, O_QUIET, O_THREADS };
    static const struct option opts[] = {
        { "checkpoint", required_argument, NULL, O_CKPT },
        { "synthetic", required_argument, NULL, O_SYNTH },
        { "out", required_argument, NULL, O_OUT },
        { "frac-bits", required_argument, NULL, 'f' },
        { "dim", required_argument, NULL, O_DIM },
        { "hidden", required_argument, NULL, O_HIDDEN },
        { "layers", required_argument, NULL, O_LAYERS },
        { "heads", required_argument, NULL, O_HEADS },
        { "kv-heads", required_argument, NULL, O_KV },
        { "vocab", required_argument, NULL, O_VOCAB },
        { "seq", required_argument, NULL, O_SEQ },
        { "seed", required_argument, NULL, O_SEED },
        { "inspect", required_argument, NULL, O_INSPECT },
        { "verify", no_argument, NULL, O_VERIFY },
        { "quiet", no_argument, NULL, O_QUIET },
        { "threads", required_argument, NULL, O_THREADS },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *ckpt = NULL, *synth = NULL, *out = NULL, *inspect_dir = NULL;
    int f = 18, threads = 0;
    int geo[7];                  /* dim hidden layers heads kv vocab seq; -1: from preset */
    for (int i = 0; i < 7; i++) geo[i] = -1;
    uint8_t seed[16];
    bool have_seed = false, verify = false, quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        switch (c) {
        case O_CKPT: ckpt = optarg; break;
        case O_SYNTH: synth = optarg; break;
        case O_OUT: out = optarg; break;
        case 'f':
            if (!parse_int(optarg, 1, 40, &f)) {
                fprintf(stderr, "caracal-share: -f %s: fractional bits must be 1..40\n", optarg);
                return 2;
            }
            break;
        case O_DIM: case O_HIDDEN: case O_LAYERS: case O_HEADS: case O_KV: case O_VOCAB: case O_SEQ:
            if (!parse_int(optarg, 1, 1 << 24, &geo[c - O_DIM])) {
                fprintf(stderr, "caracal-share: --%s %s: expected a positive integer\n",
                        opts[c - O_DIM + 4].name, optarg);
                return 2;
            }
            break;
        case O_SEED:
            if (!parse_hex16(optarg, seed)) {
                fprintf(stderr, "caracal-share: --seed: expected 32 hex digits\n");
                return 2;
            }
            have_seed = true;
            break;
        case O_INSPECT: inspect_dir = optarg; break;
        case O_VERIFY: verify = true; break;
        case O_QUIET: quiet = true; break;
        case O_THREADS:
            if (!parse_int(optarg, 1, 1024, &threads)) {
                fprintf(stderr, "caracal-share: --threads %s: expected 1..1024\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "caracal-share: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (inspect_dir) {
        if (ckpt || synth || out) {
            fprintf(stderr, "caracal-share: --inspect takes no other mode\n");
            return 2;
        }
        return inspect(inspect_dir, verify);
    }
    if ((ckpt != NULL) == (synth != NULL) || !out) {
        fprintf(stderr, "caracal-share: give exactly one of --checkpoint or --synthetic, and --out\n");
        usage(stderr);
        return 2;
    }
    bool geometry_given = false;
    for (int i = 0; i < 7; i++) geometry_given |= geo[i] >= 0;
    if (ckpt && (geometry_given || have_seed)) {
        fprintf(stderr, "caracal-share: geometry options and --seed only apply to --synthetic\n");
        return 2;
    }

    /* A checkpoint is read lazily, tensor by tensor: a 7B model converts
     * in a few GB of memory. */
    cc_checkpoint *ck = NULL;
    cc_tensor_source src;
    if (ckpt) {
        if (cc_checkpoint_open(ckpt, &ck) != CC_OK) return fail(ckpt);
        if (cc_checkpoint_source(ck, &src) != CC_OK) {
            cc_checkpoint_close(ck);
            return fail(ckpt);
        }
    } else {
        cc_model_config cfg;
        if (cc_config_preset(synth, &cfg) != CC_OK) {
            fprintf(stderr, "caracal-share: --synthetic: %s\n", cc_error_message());
            return 2;
        }
        int *fields[7] = { &cfg.dim, &cfg.hidden_dim, &cfg.n_layers, &cfg.n_heads, &cfg.n_kv_heads,
                           &cfg.vocab_size, &cfg.max_seq_len };
        for (int i = 0; i < 7; i++)
            if (geo[i] >= 0) *fields[i] = geo[i];
        if (geo[3] >= 0 && geo[4] < 0) cfg.n_kv_heads = cfg.n_heads;
        if (!have_seed) cc_prg_random_seed(seed);
        cc_status s = cc_tensor_source_synthetic(&cfg, seed, &src);
        cc_wipe(seed, sizeof seed);
        if (s != CC_OK) return fail("--synthetic");
    }

    progress pr = { .tty = isatty(STDERR_FILENO), .quiet = quiet, .t0 = cc_now_ns(), .last_step = -1 };
    cc_bundle_write_options wo = { .frac_bits = (unsigned)f, .threads = threads,
                                   .progress = on_progress, .progress_ctx = &pr };
    cc_status s = cc_bundle_write(&src, out, &wo);
    cc_tensor_source_free(&src);
    if (ck) cc_checkpoint_close(ck);
    if (s != CC_OK) return fail(out);

    /* read back what we wrote: the header checks and the hash to report */
    cc_bundle *b = NULL;
    cc_bundle_open_options o = { .party = 1, .frac_bits = f, .no_prefetch = true };
    if (cc_bundle_open(out, &o, &b) != CC_OK) return fail("reading back");
    char h[17];
    hex8(cc_bundle_content_hash(b), h);
    const cc_model_config *cfg = cc_bundle_config(b);
    printf("wrote %s: %s, %d layers, f = %d, content hash %s...\n"
           "  party0.ccb -> P0 (seeds only), party1.ccb + w2.ccw -> P1, party2.ccb + w2.ccw -> P2\n"
           "  largest layer %.1f MB per party (both share planes)\n",
           out, cc_arch_name(cfg->arch), cfg->n_layers, f, h,
           (double)cc_bundle_max_layer_bytes(b) / 1e6);
    cc_bundle_close(b);
    return 0;
}
