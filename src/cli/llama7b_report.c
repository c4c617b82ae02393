/* The llama7b_token report: per-party and total traffic, per op class
 * breakdown, timings and peak memory.  All figures are public metadata. */
#include "llama7b_report.h"

#include <string.h>
#include <json-c/json.h>

#define MAX_CLASSES 48

typedef struct op_class {
    const char *tag;
    uint64_t rounds, bytes;   /* rounds: max over parties; bytes: sum over parties */
    uint64_t ns;              /* max over parties */
} op_class;

static size_t gather_classes(const cc_secure_result *r, op_class *cls)
{
    size_t n = 0;
    for (int p = 0; p < 3; p++)
        for (uint32_t t = 0; t < r->party[p].n_tags; t++) {
            const char *tag = r->party[p].tags[t].tag;
            size_t i = 0;
            while (i < n && strcmp(cls[i].tag, tag) != 0) i++;
            if (i == n) {
                if (n == MAX_CLASSES) continue;
                cls[n++] = (op_class){ .tag = tag };
            }
            const cc_party_report_tag *e = &r->party[p].tags[t];
            cls[i].bytes += e->bytes_sent;
            if (e->rounds > cls[i].rounds) cls[i].rounds = e->rounds;
            if (e->ns > cls[i].ns) cls[i].ns = e->ns;
        }
    return n;
}

static uint64_t total_bytes(const cc_secure_result *r)
{
    return r->party[0].bytes_sent + r->party[1].bytes_sent + r->party[2].bytes_sent;
}

void report_print(FILE *out, const run_info *info, const cc_secure_result *r)
{
    fprintf(out, "\n== Caracal secure inference report ==\n");
    fprintf(out, "weights        %s\n", info->weights);
    fprintf(out, "prompt         %d tokens, %d generated, reveal %s, approximations %s\n",
            info->n_prompt, info->n_new, info->reveal, info->approx);
    if (info->insecure) fprintf(out, "links          INSECURE PLAINTEXT (--insecure-plaintext-links)\n");
    else fprintf(out, "links          authenticated + encrypted\n");
    fprintf(out, "tokens        ");
    for (int i = 0; i < r->n_tokens; i++) fprintf(out, " %d", r->tokens[i]);
    fprintf(out, "\n");
    if (info->text) fprintf(out, "text           %s\n", info->text);
    fprintf(out, "wall time      %.2f s (prefill %.2f s, generation %.2f s)\n", r->wall_s,
            r->prefill_s, r->generate_s);
    fprintf(out, "communication  %.3f GB total over the three parties\n", (double)total_bytes(r) / 1e9);
    fprintf(out, "\n%-6s %12s %12s %8s %10s\n", "party", "sent MB", "recv MB", "rounds", "peak RSS");
    for (int p = 0; p < 3; p++)
        fprintf(out, "P%-5d %12.1f %12.1f %8llu %8.2f GB\n", p, r->party[p].bytes_sent / 1e6,
                r->party[p].bytes_recv / 1e6, (unsigned long long)r->party[p].rounds,
                r->party[p].peak_rss / 1e9);
    op_class cls[MAX_CLASSES];
    size_t n = gather_classes(r, cls);
    fprintf(out, "\n%-14s %10s %14s %8s\n", "op class", "time s", "bytes (all)", "rounds");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-14s %10.2f %14.3e %8llu\n", cls[i].tag, cls[i].ns * 1e-9,
                (double)cls[i].bytes, (unsigned long long)cls[i].rounds);
}

int report_json(const char *path, const run_info *info, const cc_secure_result *r)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "weights", json_object_new_string(info->weights));
    json_object_object_add(root, "prompt_tokens", json_object_new_int(info->n_prompt));
    json_object_object_add(root, "new_tokens", json_object_new_int(info->n_new));
    json_object_object_add(root, "reveal", json_object_new_string(info->reveal));
    json_object_object_add(root, "approx", json_object_new_string(info->approx));
    json_object_object_add(root, "insecure_plaintext_links", json_object_new_boolean(info->insecure));
    json_object_object_add(root, "threads_per_party", json_object_new_int(info->threads));
    json_object *toks = json_object_new_array();
    for (int i = 0; i < r->n_tokens; i++) json_object_array_add(toks, json_object_new_int(r->tokens[i]));
    json_object_object_add(root, "tokens", toks);
    json_object_object_add(root, "wall_s", json_object_new_double(r->wall_s));
    json_object_object_add(root, "prefill_s", json_object_new_double(r->prefill_s));
    json_object_object_add(root, "generate_s", json_object_new_double(r->generate_s));
    json_object_object_add(root, "bytes_total", json_object_new_int64((int64_t)total_bytes(r)));
    json_object *parties = json_object_new_array();
    for (int p = 0; p < 3; p++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "bytes_sent", json_object_new_int64((int64_t)r->party[p].bytes_sent));
        json_object_object_add(o, "bytes_recv", json_object_new_int64((int64_t)r->party[p].bytes_recv));
        json_object_object_add(o, "rounds", json_object_new_int64((int64_t)r->party[p].rounds));
        json_object_object_add(o, "peak_rss_bytes", json_object_new_int64((int64_t)r->party[p].peak_rss));
        json_object_array_add(parties, o);
    }
    json_object_object_add(root, "parties", parties);
    op_class cls[MAX_CLASSES];
    size_t n = gather_classes(r, cls);
    json_object *ops = json_object_new_object();
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "seconds", json_object_new_double(cls[i].ns * 1e-9));
        json_object_object_add(o, "bytes_all_parties", json_object_new_int64((int64_t)cls[i].bytes));
        json_object_object_add(o, "rounds", json_object_new_int64((int64_t)cls[i].rounds));
        json_object_object_add(ops, cls[i].tag, o);
    }
    json_object_object_add(root, "op_classes", ops);
    int rc = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY);
    json_object_put(root);
    return rc;
}
