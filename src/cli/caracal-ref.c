/* caracal-ref — runs the plaintext float32 reference model (src/model) on
 * token ids or a tokenized prompt: all-position logits in the
 * compare-logits layout, greedy generation, BERT classification.
 *
 *   caracal-ref --model stories260K.bin --ids 1,403,407 --all-logits out.bin
 *   caracal-ref --model stories260K.bin --ids-from golden.bin --all-logits out.bin
 *   caracal-ref --model DIR --tokenizer tokenizer.json --prompt "Once upon" --generate 20
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core.h"
#include "import.h"
#include "model.h"
#include "ref.h"
#include "tokenizer.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: caracal-ref --model PATH (--ids 1,2,3 | --ids-from REF.bin | --prompt TEXT --tokenizer PATH)\n"
        "                   [--all-logits FILE] [--generate N] [--batch N] [--step] [--types 0,0,1]\n"
        "  --model PATH       llama2.c .bin, or Hugging Face dir / .safetensors with config.json\n"
        "  --ids LIST         comma-separated token ids (include BOS yourself)\n"
        "  --ids-from FILE    the prompt ids of a compare-logits reference file\n"
        "                     (int32 L, int32 V, int32 tokens[L], ...)\n"
        "  --prompt TEXT      text to encode with --tokenizer (BOS prepended)\n"
        "  --tokenizer PATH   llama2.c tokenizer.bin or HF tokenizer.json\n"
        "  --all-logits FILE  write float32 logits[L][V] for every prompt position\n"
        "  --generate N       greedy-decode N tokens after the prompt\n"
        "  --batch N          positions per prefill call (default: the whole prompt)\n"
        "  --step             feed the prompt one token at a time through the KV cache\n"
        "  --types LIST       BERT token types (default all 0)\n");
}

static int fail(const char *what)
{
    fprintf(stderr, "caracal-ref: %s: %s\n", what, cc_error_message());
    return 1;
}

/* Parses "1,2,3" into a malloc'd array. */
static int parse_list(const char *s, int **out, int *n)
{
    size_t cap = strlen(s) / 2 + 1;
    int *v = malloc(cap * sizeof *v);
    int count = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > 1 << 30 || (*end && *end != ',')) {
            fprintf(stderr, "caracal-ref: bad id list \"%s\" (need comma-separated non-negative integers)\n", s);
            free(v);
            return 2;
        }
        v[count++] = (int)x;
        p = *end ? end + 1 : end;
    }
    if (count == 0) {
        fprintf(stderr, "caracal-ref: empty id list\n");
        free(v);
        return 2;
    }
    *out = v;
    *n = count;
    return 0;
}

static int read_reference_ids(const char *path, int **out, int *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "caracal-ref: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    int32_t hdr[2];
    int ok = fread(hdr, 4, 2, f) == 2 && hdr[0] > 0 && hdr[0] <= (1 << 16) && hdr[1] > 0 &&
             hdr[1] <= (1 << 22);
    /* the whole layout must fit: 8 + 4L + 4LV bytes */
    ok = ok && fseek(f, 0, SEEK_END) == 0 &&
         ftell(f) == 8 + 4L * hdr[0] + 4L * hdr[0] * (long)hdr[1] && fseek(f, 8, SEEK_SET) == 0;
    int *v = ok ? malloc((size_t)hdr[0] * sizeof *v) : NULL;
    ok = ok && v && fread(v, 4, (size_t)hdr[0], f) == (size_t)hdr[0];
    fclose(f);
    if (!ok) {
        fprintf(stderr, "caracal-ref: %s is not a reference logits file (int32 L, V, tokens[L])\n", path);
        free(v);
        return 1;
    }
    *out = v;
    *n = hdr[0];
    return 0;
}

static int write_floats(const char *path, const float *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(v, sizeof *v, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "caracal-ref: cannot write %s: %s\n", path, strerror(errno));
        if (f) fclose(f);
        return 1;
    }
    return 0;
}

static void print_ids(const char *label, const int *ids, int n)
{
    printf("%s", label);
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
    printf("\n");
}

static int run_bert(cc_ref_model *m, const cc_model_config *c, const int *ids, int n,
                    const int *types, int n_types)
{
    if (types && n_types != n) {
        fprintf(stderr, "caracal-ref: %d token types for %d tokens\n", n_types, n);
        return 2;
    }
    if (c->n_classes == 0) {
        fprintf(stderr, "caracal-ref: this BERT checkpoint has no classifier head\n");
        return 1;
    }
    float *cls = malloc((size_t)c->n_classes * sizeof *cls);
    if (cc_ref_bert_forward(m, ids, types, n, NULL, cls) != CC_OK) { free(cls); return fail("forward"); }
    printf("class logits:");
    for (int i = 0; i < c->n_classes; i++) printf(" %.6f", cls[i]);
    printf("\n");
    free(cls);
    return 0;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *ids_arg = NULL, *ids_from = NULL, *prompt = NULL;
    const char *tok_path = NULL, *logits_path = NULL, *types_arg = NULL;
    int n_generate = 0, batch = 0;
    bool step = false;
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"ids", required_argument, 0, 'i'},
        {"ids-from", required_argument, 0, 'r'}, {"prompt", required_argument, 0, 'p'},
        {"tokenizer", required_argument, 0, 't'}, {"all-logits", required_argument, 0, 'o'},
        {"generate", required_argument, 0, 'g'}, {"batch", required_argument, 0, 'b'},
        {"step", no_argument, 0, 's'}, {"types", required_argument, 0, 'y'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm': model_path = optarg; break;
        case 'i': ids_arg = optarg; break;
        case 'r': ids_from = optarg; break;
        case 'p': prompt = optarg; break;
        case 't': tok_path = optarg; break;
        case 'o': logits_path = optarg; break;
        case 'g': if (!cc_cli_int(optarg, 0, INT_MAX, &n_generate)) n_generate = -1; break;
        case 'b': if (!cc_cli_int(optarg, 0, INT_MAX, &batch)) batch = -1; break;
        case 's': step = true; break;
        case 'y': types_arg = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !model_path || (!!ids_arg + !!ids_from + !!prompt) != 1 ||
        (prompt && !tok_path) || n_generate < 0 || batch < 0) {
        fprintf(stderr, "caracal-ref: need --model and exactly one of --ids, --ids-from, "
                        "--prompt (with --tokenizer); counts must be non-negative\n");
        usage(stderr);
        return 2;
    }

    /* every exit below goes through `done`, so nothing leaks on an error */
    cc_tokenizer *tok = NULL;
    cc_model_weights w = {0};
    cc_ref_model *m = NULL;
    int *ids = NULL, *types = NULL, *out = NULL, n = 0, n_types = 0, rc = 0;
    float *logits = NULL;
    char *text = NULL;
    if (tok_path && cc_tokenizer_load(tok_path, &tok) != CC_OK) { rc = fail("tokenizer"); goto done; }
    if (ids_arg && (rc = parse_list(ids_arg, &ids, &n)) != 0) goto done;
    if (ids_from && (rc = read_reference_ids(ids_from, &ids, &n)) != 0) goto done;
    if (prompt) {
        size_t cap = strlen(prompt) + 3, got;
        if (!(ids = malloc(cap * sizeof *ids))) { rc = fail("encode"); goto done; }
        if (cc_tokenizer_encode(tok, prompt, true, false, ids, cap, &got) != CC_OK) {
            rc = fail("encode");
            goto done;
        }
        n = (int)got;
    }

    uint64_t t0 = cc_now_ns();
    if (cc_checkpoint_load(model_path, &w) != CC_OK) { rc = fail("loading model"); goto done; }
    const cc_model_config *c = &w.config;
    if (tok && cc_tokenizer_vocab_size(tok) != c->vocab_size)
        fprintf(stderr, "caracal-ref: warning: tokenizer has %d tokens, model %d\n",
                cc_tokenizer_vocab_size(tok), c->vocab_size);
    if (cc_ref_create(&w, step ? 1 : batch, &m) != CC_OK) { rc = fail("model"); goto done; }
    uint64_t t1 = cc_now_ns();
    printf("model: %s, dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, seq %d (loaded in %.1f ms)\n",
           cc_arch_name(c->arch), c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
           c->vocab_size, c->max_seq_len, (double)(t1 - t0) * 1e-6);
    print_ids("prompt ids: ", ids, n);

    if (c->arch == CC_ARCH_BERT) {
        if (types_arg && (rc = parse_list(types_arg, &types, &n_types)) != 0) goto done;
        rc = run_bert(m, c, ids, n, types, n_types);
        goto done;
    }
    if (n > c->max_seq_len) {
        fprintf(stderr, "caracal-ref: %d prompt tokens exceed max_seq_len %d\n", n, c->max_seq_len);
        rc = 1;
        goto done;
    }
    if (logits_path && !(logits = malloc((size_t)n * c->vocab_size * sizeof *logits))) {
        rc = fail("logits");
        goto done;
    }
    uint64_t t2 = cc_now_ns();
    for (int pos = 0; pos < n; pos += step ? 1 : n)
        if (cc_ref_forward(m, ids + pos, step ? 1 : n, pos,
                           logits ? logits + (size_t)pos * c->vocab_size : NULL) != CC_OK) {
            rc = fail("forward");
            goto done;
        }
    uint64_t t3 = cc_now_ns();
    printf("prefill: %d positions in %.2f ms (%s)\n", n, (double)(t3 - t2) * 1e-6,
           step ? "token at a time" : "batched");
    if (logits) {
        rc = write_floats(logits_path, logits, (size_t)n * c->vocab_size);
        if (rc == 0) printf("wrote logits [%d][%d] to %s\n", n, c->vocab_size, logits_path);
    }
    if (rc == 0 && n_generate > 0) {
        int n_out = 0;
        if (!(out = malloc((size_t)n_generate * sizeof *out))) { rc = fail("generate"); goto done; }
        if (cc_ref_generate(m, ids, n, n_generate, out, &n_out) != CC_OK) {
            rc = fail("generate");
            goto done;
        }
        print_ids("generated ids: ", out, n_out);
        if (tok) {
            size_t cap = 64 + (size_t)n_out * 64, len;
            text = malloc(cap);
            if (text && cc_tokenizer_decode(tok, out, (size_t)n_out, text, cap, &len) == CC_OK)
                printf("generated text: %s\n", text);
        }
    }
done:
    free(text);
    free(out);
    free(logits);
    free(types);
    cc_ref_free(m);
    cc_weights_free(&w);
    cc_tokenizer_free(tok);
    free(ids);
    return rc;
}
