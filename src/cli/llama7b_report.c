/* The llama7b_token report: per-party and total traffic, per op class
 * breakdown, timings, peak memory, the link profile and a projection of
 * the wall time onto other networks.  All figures are public metadata. */
#include "cli_impl.h"

#include <string.h>
#include <json-c/json.h>

#include "core.h"

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
            if (strcmp(tag, CC_NET_WAIT_TAG) == 0) continue; /* not an op: see projection */
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

/* ---- projection onto other networks (docs/NETWORK.md "Emulated links") ------
 *   projected = compute + rounds × RTT + max link bytes / rate
 * compute: the busiest party's wall time minus the time its thread sat
 *          blocked on the network (cc_net's "(network wait)" row) — what
 *          would remain on an infinitely fast network;
 * rounds:  the most rounds any party counted (a send after a receive);
 * bytes:   the most bytes any party sent — an upper bound on the busiest
 *          link direction (a party sends to two neighbours and the client).
 * A counted round costs one one-way delay (RTT/2) when all parties send at
 * once, and up to a whole RTT in request/response steps, which each party
 * counts once although the step crosses the network twice; so the report
 * gives the range with RTT/2 (low) and RTT (high, the formula above).
 * With RTT and rate of the run's own profile it brackets the measured wall
 * time; with other values it reads off other networks. */
typedef struct projection {
    double compute_s, wait_s[3];
    uint64_t rounds, bytes;
    bool have_wait;           /* every party reported its network wait */
} projection;

static const struct { const char *name; double rtt_s, gbps; } reference_nets[] = {
    {"lan", 1e-3, 10.0}, {"wan", 40e-3, 0.4},
};

static void project_init(const cc_secure_result *r, projection *pr)
{
    memset(pr, 0, sizeof *pr);
    pr->have_wait = true;
    for (int p = 0; p < 3; p++) {
        const cc_party_report *q = &r->party[p];
        bool found = false;
        for (uint32_t t = 0; t < q->n_tags; t++)
            if (strcmp(q->tags[t].tag, CC_NET_WAIT_TAG) == 0) {
                pr->wait_s[p] = q->tags[t].ns * 1e-9;
                found = true;
            }
        pr->have_wait &= found;
        double busy = q->wall_ns * 1e-9 - pr->wait_s[p];
        if (busy > pr->compute_s) pr->compute_s = busy;
        if (q->rounds > pr->rounds) pr->rounds = q->rounds;
        if (q->bytes_sent > pr->bytes) pr->bytes = q->bytes_sent;
    }
}

/* round_trips: latency per round in round trips (0.5 low, 1 high) */
static double project(const projection *pr, double rtt_s, double gbps, double round_trips)
{
    double t = pr->compute_s + (double)pr->rounds * rtt_s * round_trips;
    if (gbps > 0) t += (double)pr->bytes * 8.0 / (gbps * 1e9);
    return t;
}

static void print_network(FILE *out, const run_info *info, const cc_secure_result *r)
{
    const cc_link_profile *lp = info->link;
    if (cc_link_profile_active(lp))
        fprintf(out, "network        %s: emulated %.3g ms round trip, %.3g Gbit/s per link and "
                "direction%s\n", lp->name, lp->rtt_ns * 1e-6, lp->gbps,
                info->remote ? " (client links; the parties use their own --link-profile)" : "");
    else
        fprintf(out, "network        none (real links%s, no emulation)\n",
                info->remote ? "" : ": loopback");
    projection pr;
    project_init(r, &pr);
    fprintf(out, "compute        %.2f s (busiest party's wall minus its network wait; waits "
            "P0 %.2f / P1 %.2f / P2 %.2f s%s)\n", pr.compute_s, pr.wait_s[0], pr.wait_s[1],
            pr.wait_s[2], pr.have_wait ? "" : "; some party did not report its wait");
    fprintf(out, "projection     compute + rounds x RTT + max link bytes / rate (low: RTT/2 a round)\n"
            "               = %.2f s + %llu x RTT + %.3f GB / rate\n", pr.compute_s,
            (unsigned long long)pr.rounds, pr.bytes / 1e9);
    fprintf(out, "              ");
    for (size_t i = 0; i < CC_ARRAY_LEN(reference_nets); i++)
        fprintf(out, " %s %.1f..%.1f s |", reference_nets[i].name,
                project(&pr, reference_nets[i].rtt_s, reference_nets[i].gbps, 0.5),
                project(&pr, reference_nets[i].rtt_s, reference_nets[i].gbps, 1.0));
    if (cc_link_profile_active(lp))
        fprintf(out, " this run (%s) %.1f..%.1f s, measured %.1f s\n", lp->name,
                project(&pr, lp->rtt_ns * 1e-9, lp->gbps, 0.5),
                project(&pr, lp->rtt_ns * 1e-9, lp->gbps, 1.0), r->wall_s);
    else
        fprintf(out, " unshaped %.1f s, measured %.1f s\n", pr.compute_s, r->wall_s);
}

static json_object *network_json(const run_info *info, const cc_secure_result *r)
{
    const cc_link_profile *lp = info->link;
    bool on = cc_link_profile_active(lp);
    projection pr;
    project_init(r, &pr);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "link_profile", json_object_new_string(cc_link_profile_name(lp)));
    json_object_object_add(o, "rtt_ms", json_object_new_double(lp->rtt_ns * 1e-6));
    json_object_object_add(o, "gbps_per_link_direction", json_object_new_double(on ? lp->gbps : 0));
    json_object_object_add(o, "parties_remote", json_object_new_boolean(info->remote));
    json_object *w = json_object_new_array();
    for (int p = 0; p < 3; p++) json_object_array_add(w, json_object_new_double(pr.wait_s[p]));
    json_object_object_add(o, "network_wait_s", w);
    json_object_object_add(o, "compute_s", json_object_new_double(pr.compute_s));
    json_object_object_add(o, "projection_formula", json_object_new_string(
        "compute_s + rounds * rtt_s * k + max_link_bytes * 8 / (gbps * 1e9), k = 1 (high) or "
        "0.5 (low)"));
    json_object_object_add(o, "rounds", json_object_new_int64((int64_t)pr.rounds));
    json_object_object_add(o, "max_link_bytes", json_object_new_int64((int64_t)pr.bytes));
    static const char *const bound[2] = {"projected_wall_s", "projected_wall_s_low"};
    for (int b = 0; b < 2; b++) {
        double k = b ? 0.5 : 1.0;
        json_object *proj = json_object_new_object();
        for (size_t i = 0; i < CC_ARRAY_LEN(reference_nets); i++)
            json_object_object_add(proj, reference_nets[i].name, json_object_new_double(
                project(&pr, reference_nets[i].rtt_s, reference_nets[i].gbps, k)));
        json_object_object_add(proj, "this_run", json_object_new_double(
            on ? project(&pr, lp->rtt_ns * 1e-9, lp->gbps, k) : pr.compute_s));
        json_object_object_add(o, bound[b], proj);
    }
    json_object_object_add(o, "measured_wall_s", json_object_new_double(r->wall_s));
    return o;
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
    print_network(out, info, r);
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
    json_object_object_add(root, "network", network_json(info, r));
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
