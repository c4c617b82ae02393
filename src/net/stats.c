/* Per-op-tag communication statistics.
 *
 * Ops nest (gelu -> mul -> trunc); each level of the op stack accumulates
 * what happens while it is open, so a tag's figures include the ops it
 * calls (the table is inclusive; do not sum its rows).  Traffic outside any
 * op is recorded under "untagged".  A round is counted when a party sends
 * after having received since its previous send within that op (the first
 * send of an op opens its first round). */
#include "net_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int stat_index(cc_net *net, const char *tag)
{
    uint32_t h = cc_op_hash(tag);
    for (size_t i = 0; i < net->nstats; i++)
        if (net->stat_hash[i] == h && strncmp(net->stats[i].tag, tag, sizeof net->stats[i].tag - 1) == 0)
            return (int)i;
    if (net->nstats == CC_NET_MAX_TAGS) return CC_NET_MAX_TAGS - 1; /* the last row absorbs the rest */
    size_t i = net->nstats++;
    memset(&net->stats[i], 0, sizeof net->stats[i]);
    snprintf(net->stats[i].tag, sizeof net->stats[i].tag, "%s",
             i == CC_NET_MAX_TAGS - 1 ? "(other tags)" : tag);
    net->stat_hash[i] = h;
    return (int)i;
}

void cc_net_stats_init(cc_net *net)
{
    net->nstats = 0;
    net->depth = 0;
    net->overflow = 0;
    memset(&net->stack[0], 0, sizeof net->stack[0]);
    net->stack[0].stat = stat_index(net, "untagged");
    net->stack[0].recv_since_send = true;
}

void cc_net_stats_reset(cc_net *net)
{
    for (size_t i = 0; i < net->nstats; i++) {
        cc_net_stat *s = &net->stats[i];
        s->calls = s->rounds = s->bytes_sent = s->bytes_recv = s->ns = 0;
    }
    net->wait_ns = net->waits = 0;
    for (int d = 0; d <= net->depth; d++) {
        net->stack[d].rounds = net->stack[d].sent = net->stack[d].recv = 0;
        net->stack[d].t0 = cc_now_ns();
    }
}

const char *cc_net_current_op(const cc_net *net)
{
    return net->stats[net->stack[net->depth].stat].tag;
}

uint32_t cc_net_current_hash(const cc_net *net) { return net->stat_hash[net->stack[net->depth].stat]; }

void cc_net_op_begin(cc_net *net, const char *tag)
{
    if (net->depth == CC_NET_OP_DEPTH) { /* too deep: fold into the innermost op */
        net->overflow++;
        return;
    }
    cc_op_frame *f = &net->stack[++net->depth];
    memset(f, 0, sizeof *f);
    f->stat = stat_index(net, tag ? tag : "(null)");
    f->recv_since_send = true;
    f->t0 = cc_now_ns();
}

void cc_net_op_end(cc_net *net)
{
    if (net->overflow) {
        net->overflow--;
        return;
    }
    if (net->depth == 0) return; /* unbalanced end: ignore rather than corrupt */
    cc_op_frame *f = &net->stack[net->depth--];
    cc_net_stat *s = &net->stats[f->stat];
    s->calls++;
    s->rounds += f->rounds;
    s->bytes_sent += f->sent;
    s->bytes_recv += f->recv;
    s->ns += cc_now_ns() - f->t0;
}

/* The untagged level only sees traffic while no op is open; it is folded
 * into its row at once. */
void cc_net_account_send(cc_net *net, uint64_t bytes)
{
    int lo = net->depth == 0 ? 0 : 1;
    for (int d = lo; d <= net->depth; d++) {
        cc_op_frame *f = &net->stack[d];
        if (f->recv_since_send) {
            f->rounds++;
            f->recv_since_send = false;
        }
        f->sent += bytes;
    }
    if (net->depth == 0) {
        cc_net_stat *s = &net->stats[net->stack[0].stat];
        s->rounds += net->stack[0].rounds;
        s->bytes_sent += net->stack[0].sent;
        net->stack[0].rounds = net->stack[0].sent = 0;
    }
}

void cc_net_account_recv(cc_net *net, uint64_t bytes)
{
    int lo = net->depth == 0 ? 0 : 1;
    for (int d = lo; d <= net->depth; d++) {
        net->stack[d].recv_since_send = true;
        net->stack[d].recv += bytes;
    }
    if (net->depth == 0) {
        net->stats[net->stack[0].stat].bytes_recv += net->stack[0].recv;
        net->stack[0].recv = 0;
    }
}

/* Listed first, so a caller that keeps only the first rows (the model's
 * party report) still has it. */
static size_t wait_row(const cc_net *net, cc_net_stat *out, size_t cap)
{
    if (!net->waits) return 0;
    if (cap) {
        memset(out, 0, sizeof *out);
        snprintf(out->tag, sizeof out->tag, "%s", CC_NET_WAIT_TAG);
        out->calls = net->waits;
        out->ns = net->wait_ns;
    }
    return 1;
}

size_t cc_net_stats(const cc_net *net, cc_net_stat *out, size_t cap)
{
    size_t n = wait_row(net, out, cap);
    for (size_t i = 0; i < net->nstats; i++) {
        const cc_net_stat *s = &net->stats[i];
        bool empty = !s->calls && !s->bytes_sent && !s->bytes_recv;
        if (empty) continue;
        if (n < cap) out[n] = *s;
        n++;
    }
    return n;
}

void cc_net_stats_print(const cc_net *net, void *stream)
{
    FILE *f = stream ? stream : stderr;
    fprintf(f, "P%d network stats (links: %s%s; rows are inclusive of nested ops)\n", net->me,
            cc_cipher_name(net->cipher), net->cipher == CC_CIPHER_NONE ? " -- NOT ENCRYPTED" : "");
    fprintf(f, "  %-32s %10s %10s %14s %14s %10s\n", "op", "calls", "rounds", "bytes sent",
            "bytes recv", "time ms");
    for (size_t i = 0; i < net->nstats; i++) {
        const cc_net_stat *s = &net->stats[i];
        if (!s->calls && !s->bytes_sent && !s->bytes_recv) continue;
        fprintf(f, "  %-32s %10llu %10llu %14llu %14llu %10.3f\n", s->tag,
                (unsigned long long)s->calls, (unsigned long long)s->rounds,
                (unsigned long long)s->bytes_sent, (unsigned long long)s->bytes_recv, s->ns * 1e-6);
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

cc_status cc_net_stats_json(const cc_net *net, char **json_out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return cc_error_set(CC_ERR_NOMEM, "cannot build stats JSON");
    fprintf(f, "{\"party\":%d,\"cipher\":", net->me);
    json_string(f, cc_cipher_name(net->cipher));
    fprintf(f, ",\"insecure_plaintext\":%s,\"ops\":[", net->cipher == CC_CIPHER_NONE ? "true" : "false");
    bool first = true;
    for (size_t i = 0; i < net->nstats; i++) {
        const cc_net_stat *s = &net->stats[i];
        if (!s->calls && !s->bytes_sent && !s->bytes_recv) continue;
        fprintf(f, "%s{\"tag\":", first ? "" : ",");
        json_string(f, s->tag);
        fprintf(f, ",\"calls\":%llu,\"rounds\":%llu,\"bytes_sent\":%llu,\"bytes_recv\":%llu,"
                "\"ns\":%llu}", (unsigned long long)s->calls, (unsigned long long)s->rounds,
                (unsigned long long)s->bytes_sent, (unsigned long long)s->bytes_recv,
                (unsigned long long)s->ns);
        first = false;
    }
    fputs("]}", f);
    if (fclose(f) != 0) {
        free(buf);
        return cc_error_set(CC_ERR_NOMEM, "cannot build stats JSON");
    }
    *json_out = buf;
    return CC_OK;
}
