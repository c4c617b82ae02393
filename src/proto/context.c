/* proto context: PRSS setup, accounting scopes, declared-cost table,
 * share tensor allocation. */
#include <stdio.h>
#include <string.h>
#include "proto_impl.h"

/* ---- tensors ------------------------------------------------------------------ */

/* Both planes in one block; `zero` unless the caller overwrites everything. */
static cc_status alloc_planes(uint64_t *s[2], size_t n, bool zero)
{
    size_t words;
    if (!cc_mul_size(n ? n : 1, 2, &words))
        return cc_error_set(CC_ERR_NOMEM, "share tensor of %zu elements overflows", n);
    uint64_t *p = pr_alloc(words);
    if (!p) return cc_error_wrap(CC_ERR_NOMEM, "share tensor of %zu elements", n);
    if (zero) memset(p, 0, 8 * words);
    s[0] = p;
    s[1] = p + n;
    return CC_OK;
}

/* Arithmetic and boolean tensors share one layout: planes, n, rows × cols. */
static cc_status alloc_2d(uint64_t *s[2], size_t *n, size_t *r, size_t *c, size_t rows,
                          size_t cols)
{
    size_t count;
    if (!cc_mul_size(rows, cols, &count))
        return cc_error_set(CC_ERR_ARG, "share tensor %zu x %zu overflows", rows, cols);
    CC_TRY(alloc_planes(s, count, true));
    *n = count;
    *r = rows;
    *c = cols;
    return CC_OK;
}

cc_status cc_ashare_alloc(cc_ashare *t, size_t n) { return cc_ashare_alloc_2d(t, 1, n); }

/* A temporary whose every element the caller overwrites: no zeroing pass. */
cc_status pr_ashare_tmp(cc_ashare *t, size_t n)
{
    memset(t, 0, sizeof *t);
    CC_TRY(alloc_planes(t->s, n, false));
    t->n = n;
    t->rows = 1;
    t->cols = n;
    return CC_OK;
}

cc_status cc_ashare_alloc_2d(cc_ashare *t, size_t rows, size_t cols)
{
    memset(t, 0, sizeof *t);
    return alloc_2d(t->s, &t->n, &t->rows, &t->cols, rows, cols);
}

void cc_ashare_free(cc_ashare *t)
{
    if (t->s[0]) pr_free(t->s[0]);
    memset(t, 0, sizeof *t);
}

cc_status cc_bshare_alloc(cc_bshare *t, size_t n) { return cc_bshare_alloc_2d(t, 1, n); }

cc_status cc_bshare_alloc_2d(cc_bshare *t, size_t rows, size_t cols)
{
    memset(t, 0, sizeof *t);
    return alloc_2d(t->s, &t->n, &t->rows, &t->cols, rows, cols);
}

void cc_bshare_free(cc_bshare *t)
{
    if (t->s[0]) pr_free(t->s[0]);
    memset(t, 0, sizeof *t);
}

cc_ashare cc_ashare_slice(const cc_ashare *t, size_t first, size_t n)
{
    CC_ASSERT(first <= t->n && n <= t->n - first);
    cc_ashare v = {{t->s[0] + first, t->s[1] + first}, n, 1, n};
    return v;
}

cc_bshare cc_bshare_slice(const cc_bshare *t, size_t first, size_t n)
{
    CC_ASSERT(first <= t->n && n <= t->n - first);
    cc_bshare v = {{t->s[0] + first, t->s[1] + first}, n, 1, n};
    return v;
}

/* ---- scratch cache ----------------------------------------------------------------
 * Protocol steps allocate and free buffers of the same few sizes on every
 * call; returning them to the OS each time costs a page fault per 4 KiB on
 * the next call (a third of the run time of a 10^6-element MSB).  Freed
 * blocks are kept per thread (up to PR_CACHE_BLOCKS blocks and
 * PR_CACHE_BYTES bytes) and reused best-fit.  Each block has a 64-byte
 * header with its capacity. */
#define PR_HEADER 64
#define PR_CACHE_BLOCKS 16
#define PR_CACHE_BYTES ((size_t)1 << 30)

typedef struct pr_block { size_t cap; } pr_block;
static _Thread_local pr_block *cache[PR_CACHE_BLOCKS];
static _Thread_local size_t cache_bytes;

uint64_t *pr_alloc(size_t n_words)
{
    size_t bytes;
    if (!cc_mul_size(n_words ? n_words : 1, sizeof(uint64_t), &bytes) ||
        bytes > SIZE_MAX - PR_HEADER) {
        cc_error_set(CC_ERR_NOMEM, "scratch of %zu words overflows", n_words);
        return NULL;
    }
    int best = -1;
    for (int i = 0; i < PR_CACHE_BLOCKS; i++)
        if (cache[i] && cache[i]->cap >= bytes && (best < 0 || cache[i]->cap < cache[best]->cap))
            best = i;
    /* reuse only blocks that are not wastefully large */
    if (best >= 0 && cache[best]->cap / 2 <= bytes + 4096) {
        pr_block *b = cache[best];
        cache[best] = NULL;
        cache_bytes -= b->cap;
        return (uint64_t *)(void *)((char *)b + PR_HEADER);
    }
    pr_block *b = cc_alloc(bytes + PR_HEADER);
    if (!b) return NULL;
    b->cap = bytes;
    return (uint64_t *)(void *)((char *)b + PR_HEADER);
}

void pr_free(void *p)
{
    if (!p) return;
    pr_block *b = (pr_block *)(void *)((char *)p - PR_HEADER);
    if (b->cap + cache_bytes <= PR_CACHE_BYTES) {
        int slot = -1;
        for (int i = 0; i < PR_CACHE_BLOCKS && slot < 0; i++)
            if (!cache[i]) slot = i;
        if (slot < 0) {            /* evict the smallest cached block */
            slot = 0;
            for (int i = 1; i < PR_CACHE_BLOCKS; i++)
                if (cache[i]->cap < cache[slot]->cap) slot = i;
            if (cache[slot]->cap > b->cap) { cc_free(b); return; }
            cache_bytes -= cache[slot]->cap;
            cc_free(cache[slot]);
        }
        cache[slot] = b;
        cache_bytes += b->cap;
        return;
    }
    cc_free(b);
}

void cc_proto_release_cache(void)
{
    for (int i = 0; i < PR_CACHE_BLOCKS; i++) {
        cc_free(cache[i]);
        cache[i] = NULL;
    }
    cache_bytes = 0;
}

cc_status pr_check_n(const char *op, const char *what, size_t have, size_t want)
{
    if (have == want) return CC_OK;
    return cc_error_set(CC_ERR_ARG, "%s: %s has %zu elements but the op expects %zu", op, what,
                        have, want);
}

/* ---- context -------------------------------------------------------------------- */

cc_status cc_proto_init(cc_proto *ctx, cc_net *net, unsigned f)
{
    memset(ctx, 0, sizeof *ctx);
    if (!net) return cc_error_set(CC_ERR_ARG, "proto init: no network");
    if (f == 0 || f > 40)
        return cc_error_set(CC_ERR_ARG, "proto init: fixed-point bits f=%u outside 1..40", f);
    ctx->net = net;
    ctx->party = cc_net_party(net);
    ctx->f = f;
    uint8_t kp[16], kn[16];
    /* The link to prev derives the same key at both ends: that is k_i for
     * us and k_{(i-1)+1} for prev. */
    cc_status s = cc_net_shared_key(net, CC_PREV, "ccprss01", 0, kp);
    if (s == CC_OK) s = cc_net_shared_key(net, CC_NEXT, "ccprss01", 0, kn);
    if (s == CC_OK) cc_prss_init(&ctx->prss, kp, kn);
    cc_wipe(kp, sizeof kp);
    cc_wipe(kn, sizeof kn);
    if (s != CC_OK) return cc_error_wrap(s, "proto init: PRSS keys");
    return CC_OK;
}

void cc_proto_free(cc_proto *ctx)
{
    cc_prss_wipe(&ctx->prss);
    memset(ctx, 0, sizeof *ctx);
}

/* ---- accounting ----------------------------------------------------------------- */

static cc_proto_ledger_entry *ledger_entry(cc_proto *ctx, const char *tag)
{
    for (size_t i = 0; i < ctx->ledger_len; i++)
        if (strcmp(ctx->ledger[i].tag, tag) == 0) return &ctx->ledger[i];
    if (ctx->ledger_len == CC_PROTO_LEDGER_MAX) return NULL;   /* stats only: drop */
    cc_proto_ledger_entry *e = &ctx->ledger[ctx->ledger_len++];
    memset(e, 0, sizeof *e);
    snprintf(e->tag, sizeof e->tag, "%s", tag);
    return e;
}

void pr_enter(cc_proto *ctx, const char *tag)
{
    if (ctx->scope_depth++ == 0) {
        ctx->recv_since_send = true;      /* a fresh net op frame */
        snprintf(ctx->scope_tag, sizeof ctx->scope_tag, "%s", tag);
        cc_net_op_begin(ctx->net, ctx->scope_tag);
        cc_proto_ledger_entry *e = ledger_entry(ctx, ctx->scope_tag);
        if (e) e->calls++;
    }
}

void pr_exit(cc_proto *ctx)
{
    CC_ASSERT(ctx->scope_depth > 0);
    if (--ctx->scope_depth == 0) cc_net_op_end(ctx->net);
}

void pr_book(cc_proto *ctx, cc_proto_cost c)
{
    CC_ASSERT(ctx->scope_depth > 0);
    cc_proto_ledger_entry *e = ledger_entry(ctx, ctx->scope_tag);
    if (!e) return;
    e->rounds += c.rounds;
    e->bytes_sent += c.bytes_sent;
}

/* Does this role's part of the op end with a receive?  (Only asked for ops
 * in which the role communicates at all.)  Send-only parts: the owner of an
 * input, the sender of reveal_to, every party in reveal_client, and the
 * truncation helper. */
static bool ends_with_recv(cc_proto_op op, int role)
{
    switch (op) {
    case CC_OP_INPUT:
    case CC_OP_INPUT_SEEDED: return role != 0;
    case CC_OP_REVEAL_TO: return role != 2;
    case CC_OP_REVEAL_CLIENT: return false;
    case CC_OP_TRUNC:
    case CC_OP_MUL_TRUNC:
    case CC_OP_MATMUL_TRUNC: return role != 0;
    default: return true;
    }
}

/* Does this role take part at all (send or receive)? */
static bool role_active(cc_proto_op op, size_t n, int role)
{
    if (n == 0) return false;
    if (op == CC_OP_REVEAL_TO) return role != 1;
    return true;
}

void pr_book_cost(cc_proto *ctx, cc_proto_op op, size_t n, cc_proto_cost c, int role)
{
    const bool sends = c.bytes_sent > 0;
    if (c.rounds > 0 && !ctx->recv_since_send) c.rounds--;   /* first send joins the last round */
    pr_book(ctx, c);
    if (role_active(op, n, role)) ctx->recv_since_send = sends ? ends_with_recv(op, role) : true;
}

void pr_book_op(cc_proto *ctx, cc_proto_op op, size_t n, size_t aux, int role)
{
    pr_book_cost(ctx, op, n, cc_proto_op_cost(op, n, aux, role), role);
}

void cc_proto_scope_begin(cc_proto *ctx, const char *tag) { pr_enter(ctx, tag); }
unsigned cc_proto_trunc_phase(const cc_proto *ctx) { return (unsigned)(ctx->trunc_calls % 3); }
void cc_proto_scope_end(cc_proto *ctx) { pr_exit(ctx); }

size_t cc_proto_declared(const cc_proto *ctx, cc_proto_ledger_entry *out, size_t cap)
{
    for (size_t i = 0; i < ctx->ledger_len && i < cap; i++) out[i] = ctx->ledger[i];
    return ctx->ledger_len;
}

void cc_proto_declared_reset(cc_proto *ctx) { ctx->ledger_len = 0; }

/* ---- declared costs (docs/PROTOCOLS.md; derivations in docs/PROTOCOLS.md) ------------
 * Bytes this party sends and rounds as cc_net counts them (a send after a
 * receive, the op's first send included).  n == 0 sends nothing. */
static const char *const op_names[CC_OP_COUNT] = {
    [CC_OP_INPUT] = "input", [CC_OP_INPUT_SEEDED] = "input_seeded",
    [CC_OP_INPUT_CLIENT] = "input_client", [CC_OP_REVEAL] = "reveal",
    [CC_OP_REVEAL_TO] = "reveal_to", [CC_OP_REVEAL_CLIENT] = "reveal_client",
    [CC_OP_MUL] = "mul", [CC_OP_MATMUL] = "matmul", [CC_OP_TRUNC] = "trunc",
    [CC_OP_MUL_TRUNC] = "mul_trunc", [CC_OP_MATMUL_TRUNC] = "matmul_trunc",
    [CC_OP_AND] = "and", [CC_OP_A2B] = "a2b", [CC_OP_MSB] = "msb", [CC_OP_EQ] = "eq",
    [CC_OP_B2A_BIT] = "b2a_bit", [CC_OP_MUX] = "mux", [CC_OP_MAX_ROWS] = "max_rows",
    [CC_OP_ARGMAX_ROWS] = "argmax_rows", [CC_OP_MSB_NARROW] = "msb_narrow",
    [CC_OP_MSB_DIGITS] = "msb_digits", [CC_OP_MSB_NARROW_DIGITS] = "msb_narrow_digits",
    [CC_OP_MSB_DIGITS8] = "msb_digits8", [CC_OP_MSB_NARROW_DIGITS8] = "msb_narrow_digits8",
    [CC_OP_MSB_DIGITS16] = "msb_digits16",
};

const char *cc_proto_op_name(cc_proto_op op)
{
    return (unsigned)op < CC_OP_COUNT ? op_names[op] : "unknown";
}

static cc_proto_cost cost(uint64_t rounds, uint64_t bytes)
{
    cc_proto_cost c = {rounds, bytes};
    return c;
}

/* Bytes of a role-rotated op (pr_third_lo): `party` is the re-sharer (role
 * 0, sending b0 bytes/elem) on one third of the elements and in roles 1 and
 * 2 (b1, b2 bytes/elem) on the other two. */
static uint64_t rotated_bytes(size_t n, int party, uint64_t b0, uint64_t b1, uint64_t b2)
{
    uint64_t bytes = 0;
    for (int t = 0; t < 3; t++) {
        uint64_t nt = pr_third_lo(n, t + 1) - pr_third_lo(n, t);
        int r = pr_mod3(party - t);
        bytes += nt * (r == 0 ? b0 : r == 1 ? b1 : b2);
    }
    return bytes;
}

/* The MSBs' round 1 and tree, per variant (compare.c, msb_digits.c): the
 * re-sharer's bytes per element (its message to both neighbours), the
 * others' bytes per element and threshold, and the spans the tree starts
 * from.  Rounds: 1 + log2(spans). */
typedef struct msb_cost_row { uint64_t resharer, other; unsigned spans; } msb_cost_row;

static const msb_cost_row *msb_cost_of(cc_proto_op op)
{
    static const msb_cost_row bit_pairs = { 2 * 13, 8, 32 }, narrow = { 2 * 7, 4, 16 };
    static const msb_cost_row digits = { 2 * 32, 4, 16 }, narrow_digits = { 2 * 18, 2, 8 };
    static const msb_cost_row digits8 = { 2 * 256, 2, 8 }, narrow_digits8 = { 2 * 160, 1, 4 };
    static const msb_cost_row digits16 = { 2 * 32768, 1, 4 };
    switch (op) {
    case CC_OP_MSB: return &bit_pairs;
    case CC_OP_MSB_NARROW: return &narrow;
    case CC_OP_MSB_DIGITS: return &digits;
    case CC_OP_MSB_NARROW_DIGITS: return &narrow_digits;
    case CC_OP_MSB_DIGITS8: return &digits8;
    case CC_OP_MSB_NARROW_DIGITS8: return &narrow_digits8;
    case CC_OP_MSB_DIGITS16: return &digits16;
    default: return NULL;
    }
}

/* The carry tree over M comparisons from `spans` spans (pr_msb_tree): each
 * level's AND word (pr_width_bytes) per element, the last two levels' 4
 * and 1 bits packed, every message rounded up to whole bytes once. */
static uint64_t msb_tree_bytes(uint64_t M, unsigned spans)
{
    uint64_t bytes = 0;
    for (unsigned m = spans; m >= 2; m /= 2) {
        unsigned bits = m > 2 ? m : 1;
        bytes += bits < 8 ? (M * bits + 7) / 8 : pr_width_bytes(m) * M;
    }
    return bytes;
}

/* n elements with m thresholds each (the bit-pair variants: m = 1) */
static uint64_t msb_bytes_m(const msb_cost_row *c, size_t n, size_t m, int party)
{
    return rotated_bytes(n, party, c->resharer, c->other * m, c->other * m) +
           msb_tree_bytes((uint64_t)n * m, c->spans);
}

static unsigned msb_rounds(const msb_cost_row *c)
{
    unsigned r = 1;
    for (unsigned s = c->spans; s > 1; s /= 2) r++;
    return r;
}

static uint64_t msb_bytes(size_t n, int party) { return msb_bytes_m(msb_cost_of(CC_OP_MSB), n, 1, party); }
/* bit injection (convert.c): re-sharer 2·8 bytes, the others 8. */
static uint64_t b2a_bytes(size_t n, int party) { return rotated_bytes(n, party, 16, 8, 8); }

cc_proto_cost cc_proto_op_cost(cc_proto_op op, size_t n, size_t aux, int role)
{
    const uint64_t N = n;
    if (n == 0) return cost(0, 0);
    switch (op) {
    case CC_OP_INPUT:        /* role 0 = owner: one share to next and prev */
        return role == 0 ? cost(1, 16 * N) : cost(0, 0);
    case CC_OP_INPUT_SEEDED: /* owner: (seed, x_{o+2}) to each neighbour */
        return role == 0 ? cost(1, 16 * N + 32) : cost(0, 0);
    case CC_OP_INPUT_CLIENT: /* the client sends; parties only receive */
        return cost(0, 0);
    case CC_OP_REVEAL:       /* x_i to next */
    case CC_OP_REVEAL_CLIENT:
        return cost(1, 8 * N);
    case CC_OP_REVEAL_TO:    /* role = (party - target) mod 3; prev of target sends */
        return role == 2 ? cost(1, 8 * N) : cost(0, 0);
    case CC_OP_MUL:
    case CC_OP_MATMUL:
    case CC_OP_AND:
        return cost(1, 8 * N);
    case CC_OP_TRUNC:        /* role = (party - helper) mod 3 */
    case CC_OP_MUL_TRUNC:
    case CC_OP_MATMUL_TRUNC:
    {   /* aux = cc_proto_trunc_aux(d); trunc.c: helper rc_b + rmsb_b,
         * openers the rounded masked term + their masked part of ρ */
        unsigned ow, mw;
        if (aux < 1 || aux > 62) return cost(0, 0);
        pr_trunc_widths((unsigned)aux, &ow, &mw);
        return role == 0 ? cost(1, 8 * N + pr_bits_bytes(N, mw))
                         : cost(2, pr_bits_bytes(N, ow) + pr_bits_bytes(N, mw));
    }
    case CC_OP_A2B:          /* role = party: P0 reshares u, then 6 PPA levels */
        return role == 0 ? cost(6, 104 * N) : cost(6, 88 * N);
    case CC_OP_MSB:          /* role = party; re-sharer rotates over thirds */
    case CC_OP_MSB_NARROW:
        return cost(msb_rounds(msb_cost_of(op)), msb_bytes_m(msb_cost_of(op), n, 1, role));
    case CC_OP_MSB_DIGITS:   /* role = party, aux = thresholds (0: one) */
    case CC_OP_MSB_NARROW_DIGITS:
    case CC_OP_MSB_DIGITS8:
    case CC_OP_MSB_NARROW_DIGITS8:
    case CC_OP_MSB_DIGITS16:
        return cost(msb_rounds(msb_cost_of(op)), msb_bytes_m(msb_cost_of(op), n, aux ? aux : 1, role));
    case CC_OP_EQ:           /* role = party */
        return role == 0 ? cost(6, 30 * N) : cost(6, 10 * N);
    case CC_OP_B2A_BIT:      /* role = party; re-sharer rotates over thirds */
        return cost(1, b2a_bytes(n, role));
    case CC_OP_MUX:          /* b2a_bit + mul */
        return cost(2, b2a_bytes(n, role) + 8 * N);
    case CC_OP_MAX_ROWS:
    case CC_OP_ARGMAX_ROWS: {/* n = rows·cols, aux = cols, role = party */
        if (aux == 0) return cost(0, 0);
        uint64_t rows = N / aux, cols = aux, rounds = 0, bytes = 0;
        /* per level: msb and b2a_bit on the pairs, one mul on values (and indices) */
        uint64_t mul_per_pair = op == CC_OP_MAX_ROWS ? 8 : 16;
        while (cols > 1) {
            uint64_t pairs = rows * (cols / 2);
            rounds += 8;
            bytes += msb_bytes(pairs, role) + b2a_bytes(pairs, role) + mul_per_pair * pairs;
            cols = cols - cols / 2;
        }
        return cost(rounds, bytes);
    }
    default:
        return cost(0, 0);
    }
}
