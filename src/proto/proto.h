/* proto — three-party protocols on replicated secret shares (docs/PROTOCOLS.md,
 * Appendix A; ABY3 ePrint 2018/403; Dalskov–Escudero–Keller arXiv 1910.12435).
 *
 * Sharing.  x = x0 + x1 + x2 mod 2^64; party P_i holds the pair
 * (x_i, x_{i+1}) = (s[0], s[1]).  Boolean shares are the same with XOR, 64
 * bits packed per word: a boolean tensor of n words holds n 64-bit values.
 * "Bit tensors" (results of MSB / less-than / equality, inputs of mux and
 * bit injection) are boolean tensors whose value lives in bit 0 of each word
 * (the other 63 bits are zero in every share).
 *
 * Every op works on whole tensors: each protocol round sends one message per
 * link whatever the element count.  Every op brackets its traffic with a net
 * op tag (cc_net_op_begin) and records the cost it *declares* for this party
 * in the context's ledger under the same tag, so tests compare declared with
 * measured (cc_net_stats) per tag.  Ops called inside a scope opened with
 * cc_proto_scope_begin() are booked under the scope's tag instead (the nn
 * layer uses this for "gelu", "softmax", ...).
 *
 * Communication never depends on secret values: message sizes and order are
 * functions of public shapes only.
 *
 * Outputs are caller-allocated tensors of the right element count; unless an
 * op says otherwise, the output may alias an input.  All three parties must
 * call the same ops in the same order with the same shapes (the PRSS counter
 * rule of src/prg/prg.h).  Errors: CC_ERR_ARG for shape mismatches (message
 * names the op and both sizes); network errors propagate with the op tag. */
#ifndef CARACAL_PROTO_H
#define CARACAL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"
#include "net.h"
#include "prg.h"
#include "ring.h"

/* ---- tensors ------------------------------------------------------------ */

/* Arithmetic replicated share: s[0] = x_i, s[1] = x_{i+1} (n words each,
 * one 64-byte aligned allocation).  rows × cols is an optional 2-D view
 * (rows*cols == n); a 1-D tensor has rows = 1, cols = n. */
typedef struct cc_ashare {
    uint64_t *s[2];
    size_t n;
    size_t rows, cols;
} cc_ashare;

/* Boolean replicated share (XOR), same layout. */
typedef struct cc_bshare {
    uint64_t *s[2];
    size_t n;
    size_t rows, cols;
} cc_bshare;

/* Allocate zeroed tensors (n may be 0).  free is a no-op on a zeroed struct. */
cc_status cc_ashare_alloc(cc_ashare *t, size_t n);
cc_status cc_ashare_alloc_2d(cc_ashare *t, size_t rows, size_t cols);
void cc_ashare_free(cc_ashare *t);
cc_status cc_bshare_alloc(cc_bshare *t, size_t n);
cc_status cc_bshare_alloc_2d(cc_bshare *t, size_t rows, size_t cols);
void cc_bshare_free(cc_bshare *t);
/* Tensor storage and protocol scratch come from a per-thread cache of freed
 * blocks (≤ 1 GiB) so repeated ops do not page-fault; this returns it. */
void cc_proto_release_cache(void);
/* A view of elements [first, first+n) (no copy, do not free). */
cc_ashare cc_ashare_slice(const cc_ashare *t, size_t first, size_t n);
cc_bshare cc_bshare_slice(const cc_bshare *t, size_t first, size_t n);

/* A replicated weight W (K×N) prepared for share×weight matmul
 * (Appendix A "Matmul"): party i holds W_i and W_{i+1}; it keeps, in the
 * GEMM's packed layout (cc_ring_pack_b), pack(W_i + W_{i+1}) and pack(W_i).
 * Then Z_i = X_i·(W_i + W_{i+1}) + X_{i+1}·W_i is party i's term of the
 * 3-out-of-3 product; the inner dimension K never communicates.  The packed
 * buffers may point into an mmap (src/model); `owned` says whether
 * cc_proto_weight_free releases them. */
typedef struct cc_proto_weight {
    size_t K, N;
    const uint64_t *packed_sum;   /* pack(W_i + W_{i+1}) */
    const uint64_t *packed_self;  /* pack(W_i) */
    /* Alternative to packed_sum: pack(W_{i+1}) as stored (an mmap'd bundle
     * plane or a seed expansion).  When set, packed_sum is ignored and
     * Z_i = (X_i + X_{i+1})·W_i + X_i·W_{i+1}: the same two GEMMs, and no
     * pass over the weight to form W_i + W_{i+1}. */
    const uint64_t *packed_next;
    /* Alternative to packed_self and/or packed_next (the packed_next form):
     * a plane generated from an AES-CTR stream while it is multiplied
     * (seed-derived weights).  Word t of pack(W_i) is element gen_first + t
     * of *gen_self, word t of pack(W_{i+1}) element gen_first + t of
     * *gen_next.  Each depth slice of a panel is expanded into cache and
     * consumed at once (cc_ring_gemm_apacked_gen); the plane never reaches
     * memory.  Either plane may be generated and the other stored (a bundle
     * party holds one plane on disk and derives the other from a seed); a
     * set stream replaces that plane's pointer.  Streams must outlive the
     * call. */
    const cc_prg *gen_self, *gen_next;
    uint64_t gen_first;
    bool owned;
} cc_proto_weight;

/* Build from a K×N replicated share (row-major, tb = CC_NOTRANS) or from its
 * transpose stored N×K (tb = CC_TRANS).  Local, no communication. */
cc_status cc_proto_weight_from_share(cc_proto_weight *w, const cc_ashare *W, size_t K,
                                     size_t N, cc_trans tb);
void cc_proto_weight_free(cc_proto_weight *w);

/* ---- context and declared costs --------------------------------------------- */

#define CC_PROTO_LEDGER_MAX 64
typedef struct cc_proto_ledger_entry {
    char tag[48];
    uint64_t calls, rounds, bytes_sent;
} cc_proto_ledger_entry;

typedef struct cc_proto {
    cc_net *net;
    int party;                /* 0, 1, 2 — protocol code uses next/prev only */
    unsigned f;               /* fixed-point fractional bits (default 18) */
    cc_prss prss;
    uint64_t trunc_calls;     /* rotates the truncation helper role */
    int scope_depth;
    char scope_tag[48];
    size_t ledger_len;
    cc_proto_ledger_entry ledger[CC_PROTO_LEDGER_MAX];
    bool recv_since_send;     /* mirrors cc_net's round rule inside a scope */
} cc_proto;

/* PRSS setup: keys from cc_net_shared_key(net, CC_PREV/CC_NEXT, "ccprss01",
 * 0, ...) into cc_prss_init, local copies wiped.  No messages. */
cc_status cc_proto_init(cc_proto *ctx, cc_net *net, unsigned f);
void cc_proto_free(cc_proto *ctx);   /* wipes the PRSS keys */

/* Book every following op under `tag` until the matching end (nests).
 * Declared rounds follow cc_net's rule across the ops of a scope too: an
 * op's first send starts no new round when this party has received nothing
 * since its previous send (e.g. after the truncation helper's send-only
 * round), so declared == measured holds for scopes as well. */
void cc_proto_scope_begin(cc_proto *ctx, const char *tag);
void cc_proto_scope_end(cc_proto *ctx);

/* Declared cost of one call of an op for this party.  `n` is the number of
 * elements the op communicates on (for matmul: batch·M·N outputs; for row
 * reductions: rows·cols inputs, `cols` in `aux`).  `role`: for input and
 * input_seeded (party − owner) mod 3; for reveal_to (party − target) mod 3;
 * for trunc / mul_trunc / matmul_trunc (party − helper) mod 3 with
 * helper = call counter mod 3 (cc_proto_trunc_phase) and `aux` =
 * cc_proto_trunc_aux(shift) (a call with several shifts is priced by
 * cc_proto_trunc_seg_cost); for a2b, msb, eq, b2a_bit, mux, max_rows,
 * argmax_rows the party index (a2b, eq: P0 re-shares; msb, b2a_bit, mux
 * and the row reductions rotate the re-sharer over thirds); ignored
 * otherwise.  For the digit MSBs `aux` is the number of thresholds that
 * share each element's round-1 message (cc_proto_lt_public_multi; 0 or 1:
 * a plain MSB) and `n` the number of elements of x.  Rounds count sends that follow a receive, the way cc_net
 * counts them (the op's first send included). */
typedef struct cc_proto_cost {
    uint64_t rounds, bytes_sent;
} cc_proto_cost;

typedef enum cc_proto_op {
    CC_OP_INPUT, CC_OP_INPUT_SEEDED, CC_OP_INPUT_CLIENT,
    CC_OP_REVEAL, CC_OP_REVEAL_TO, CC_OP_REVEAL_CLIENT,
    CC_OP_MUL, CC_OP_MATMUL, CC_OP_TRUNC, CC_OP_MUL_TRUNC, CC_OP_MATMUL_TRUNC,
    CC_OP_AND, CC_OP_A2B, CC_OP_MSB, CC_OP_EQ, CC_OP_B2A_BIT, CC_OP_MUX,
    CC_OP_MAX_ROWS, CC_OP_ARGMAX_ROWS, CC_OP_MSB_NARROW, CC_OP_MSB_DIGITS,
    CC_OP_MSB_NARROW_DIGITS, CC_OP_MSB_DIGITS8, CC_OP_MSB_NARROW_DIGITS8, CC_OP_MSB_DIGITS16,
    CC_OP_COUNT
} cc_proto_op;
const char *cc_proto_op_name(cc_proto_op op);
cc_proto_cost cc_proto_op_cost(cc_proto_op op, size_t n, size_t aux, int role);
/* `aux` of a truncation: its shift (message widths depend on it, trunc.c). */
static inline size_t cc_proto_trunc_aux(unsigned d) { return d; }
/* Declared cost of one segmented truncation (cc_proto_trunc_terms_seg):
 * segment q has len[q] elements shifted by d[q], its message fields at
 * that shift's widths; the rounds are the op's, the bytes their sum. */
cc_proto_cost cc_proto_trunc_seg_cost(cc_proto_op op, size_t nseg, const size_t *len,
                                      const unsigned *d, int role);
/* The helper of this context's next truncation is P_(phase); every
 * truncation call advances it by one (mod 3). */
unsigned cc_proto_trunc_phase(const cc_proto *ctx);

/* Snapshot of the ledger (declared rounds/bytes per tag, summed over calls). */
size_t cc_proto_declared(const cc_proto *ctx, cc_proto_ledger_entry *out, size_t cap);
void cc_proto_declared_reset(cc_proto *ctx);

/* ---- sharing (§3) ---------------------------------------------------------------
 * input: `owner` knows plain (n words, NULL at the others).  1 round, owner
 * sends 2·64 bits/elem (one share to next and prev), others 0. */
cc_status cc_proto_input(cc_proto *ctx, int owner, const uint64_t *plain, cc_ashare *out);
cc_status cc_proto_input_bool(cc_proto *ctx, int owner, const uint64_t *plain, cc_bshare *out);
/* Seed-compressed input from an owner party: x_o and x_{o+1} expand from
 * fresh seeds (16 B each) sent to the party that lacks them; x_{o+2} is sent
 * explicitly to both others.  1 round, owner: 2·64 bits/elem + 32 bytes. */
cc_status cc_proto_input_seeded(cc_proto *ctx, int owner, const uint64_t *plain, cc_ashare *out);
/* Input from the client over client links (seed-compressed: P0 gets two
 * seeds, P1 and P2 one seed and the explicit share x2).  Parties: 0 rounds
 * sent; client side below. */
cc_status cc_proto_input_client(cc_proto *ctx, cc_ashare *out);
/* reveal to all: 1 round, 64 bits/elem each; out: n plaintext words. */
cc_status cc_proto_reveal(cc_proto *ctx, const cc_ashare *x, uint64_t *out);
cc_status cc_proto_reveal_bool(cc_proto *ctx, const cc_bshare *x, uint64_t *out);
/* reveal to party `to` only (out may be NULL elsewhere): its prev sends
 * 64 bits/elem, 1 round. */
cc_status cc_proto_reveal_to(cc_proto *ctx, int to, const cc_ashare *x, uint64_t *out);
/* reveal to the client only: every party sends its x_i (64 bits/elem). */
cc_status cc_proto_reveal_client(cc_proto *ctx, const cc_ashare *x);

/* Client side of input_client / reveal_client (the client holds plaintext). */
cc_status cc_proto_client_input(cc_client *client, size_t n, const uint64_t *plain);
cc_status cc_proto_client_reveal(cc_client *client, size_t n, uint64_t *out);

/* ---- local ops (0 rounds, 0 bytes) ---------------------------------------- */
cc_status cc_proto_add(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_ashare *out);
cc_status cc_proto_sub(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_ashare *out);
cc_status cc_proto_neg(cc_proto *ctx, const cc_ashare *a, cc_ashare *out);
cc_status cc_proto_add_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_ashare *out);
cc_status cc_proto_add_public_vec(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                  cc_ashare *out);
cc_status cc_proto_mul_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_ashare *out);
cc_status cc_proto_mul_public_vec(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                  cc_ashare *out);
/* out = a << bits (exact in the ring). */
cc_status cc_proto_shl(cc_proto *ctx, const cc_ashare *a, unsigned bits, cc_ashare *out);
/* out[r] = Σ_c a[r, c] for a rows×cols tensor (out has rows elements). */
cc_status cc_proto_sum_rows(cc_proto *ctx, const cc_ashare *a, size_t rows, size_t cols,
                            cc_ashare *out);
/* Boolean local ops. */
cc_status cc_proto_xor(cc_proto *ctx, const cc_bshare *a, const cc_bshare *b, cc_bshare *out);
cc_status cc_proto_xor_public(cc_proto *ctx, const cc_bshare *a, uint64_t c, cc_bshare *out);
/* out[j] = a[j] XOR c[j] (a public word per element). */
cc_status cc_proto_xor_public_vec(cc_proto *ctx, const cc_bshare *a, const uint64_t *c,
                                  cc_bshare *out);
cc_status cc_proto_and_public(cc_proto *ctx, const cc_bshare *a, uint64_t c, cc_bshare *out);
cc_status cc_proto_not(cc_proto *ctx, const cc_bshare *a, cc_bshare *out);
cc_status cc_proto_bshl(cc_proto *ctx, const cc_bshare *a, unsigned bits, cc_bshare *out);
cc_status cc_proto_bshr(cc_proto *ctx, const cc_bshare *a, unsigned bits, cc_bshare *out);

/* ---- multiplication (§4) ---------------------------------------------------
 * mul / square: z_i = x_i y_i + x_i y_{i+1} + x_{i+1} y_i + zero share, z_i
 * sent to prev.  1 round, 64 bits/elem. */
cc_status cc_proto_mul(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_ashare *out);
cc_status cc_proto_square(cc_proto *ctx, const cc_ashare *a, cc_ashare *out);
/* Batched matmul share×share: for each of `batch` heads, C = op(A)·op(B),
 * op(A) M×K, op(B) K×N, heads contiguous (A: batch·M·K, B: batch·K·N,
 * C: batch·M·N).  Q·Kᵀ is (CC_NOTRANS, CC_TRANS); P·V is (NOTRANS, NOTRANS).
 * 1 round, 64 bits per output element.  out must not alias a or b. */
cc_status cc_proto_matmul(cc_proto *ctx, size_t batch, size_t M, size_t N, size_t K,
                          cc_trans ta, const cc_ashare *a, cc_trans tb, const cc_ashare *b,
                          cc_ashare *out);
/* share×weight: X (M×K) · W (K×N) with W prepared above.  1 round,
 * 64 bits per output element. */
cc_status cc_proto_matmul_weight(cc_proto *ctx, size_t M, const cc_ashare *x,
                                 const cc_proto_weight *w, cc_ashare *out);

/* ---- truncation (Dalskov–Escudero–Keller, docs/PROTOCOLS.md) ------------
 * out within 1.25 ulps of x / 2^d (floor(x / 2^d) + {-1, 0, 1, 2}, unbiased)
 * for every |x| < 2^62 - 2^(d-2) (no wrap-around failure).  Helper role
 * rotates per call.  2 rounds (the helper sends in round 1 only); at d = 18
 * the helper sends 11 bytes/elem, the two openers 14 (trunc.c has the
 * widths for every d). */
cc_status cc_proto_trunc(cc_proto *ctx, const cc_ashare *x, unsigned d, cc_ashare *out);
/* Fused: multiply (or matmul) and truncate by d once, using the 3-out-of-3
 * product shares directly: the cost of one trunc (no separate reshare).
 * The fixed-point forms use d = ctx->f. */
cc_status cc_proto_mul_trunc(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b,
                             unsigned d, cc_ashare *out);
/* Sum of products truncated once: out = ⌊(Σ_{k<terms} a_k ⊙ b_k + c) / 2^d⌋
 * (or one below), a and b holding `terms` blocks of n = out->n elements, c
 * (n elements) optional.  Costs one mul_trunc of n elements whatever
 * `terms`: 2 rounds, 128 bits/elem for each role.  out must not alias a or b. */
cc_status cc_proto_mul_sum_trunc(cc_proto *ctx, size_t terms, const cc_ashare *a,
                                 const cc_ashare *b, const cc_ashare *c, unsigned d,
                                 cc_ashare *out);
/* The same without truncation: out = Σ_k a_k ⊙ b_k + c, re-shared once —
 * the cost of one mul of n elements (1 round, 64 bits/elem). */
cc_status cc_proto_mul_sum(cc_proto *ctx, size_t terms, const cc_ashare *a, const cc_ashare *b,
                           const cc_ashare *c, cc_ashare *out);
cc_status cc_proto_mul_fxp(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_ashare *out);
cc_status cc_proto_square_fxp(cc_proto *ctx, const cc_ashare *a, cc_ashare *out);
cc_status cc_proto_matmul_fxp(cc_proto *ctx, size_t batch, size_t M, size_t N, size_t K,
                              cc_trans ta, const cc_ashare *a, cc_trans tb, const cc_ashare *b,
                              cc_ashare *out);
cc_status cc_proto_matmul_weight_fxp(cc_proto *ctx, size_t M, const cc_ashare *x,
                                     const cc_proto_weight *w, cc_ashare *out);
/* The two halves of share×weight, for weights that arrive in pieces (column
 * blocks expanded into cache-sized buffers): _term writes this party's
 * 3-out-of-3 term of X·W (M × w->N, row stride ldz: a column block of a
 * wider output) with no communication; _finish_terms turns n = out->n terms
 * into a replicated share — truncated by f (fxp; 2 rounds, 128 bits/elem) or
 * reshared (1 round, 64 bits/elem) — booked like matmul_weight(_fxp). */
cc_status cc_proto_matmul_weight_term(cc_proto *ctx, size_t M, const cc_ashare *x,
                                      const cc_proto_weight *w, uint64_t *z, size_t ldz);
cc_status cc_proto_finish_terms(cc_proto *ctx, const uint64_t *z, bool fxp, cc_ashare *out);
/* The activation side of _term packed once and reused for every weight and
 * column block that multiplies the same X (a decoder step: one row against
 * every block of a weight group).  _init records a view of x (M×K; x must
 * stay unchanged while xp is in use) and packs nothing; each of the operands
 * X_i, X_{i+1}, X_i + X_{i+1} is packed for the GEMM (cc_ring_apack) the
 * first time a weight form needs it.  term_x equals _term bit for bit.
 * Zero-initialise xp or call _init first; _free releases it. */
typedef struct cc_proto_xpack {
    size_t M, K;
    cc_ashare x;
    cc_ring_apack op[3];          /* X_i, X_{i+1}, X_i + X_{i+1} */
    bool have[3];
} cc_proto_xpack;
cc_status cc_proto_xpack_init(cc_proto_xpack *xp, size_t M, size_t K, const cc_ashare *x);
void cc_proto_xpack_free(cc_proto_xpack *xp);
cc_status cc_proto_matmul_weight_term_x(cc_proto *ctx, cc_proto_xpack *xp,
                                        const cc_proto_weight *w, uint64_t *z, size_t ldz);
/* Multiply by a public fixed-point constant (scalar / per element) and
 * truncate by f once: local mul + trunc (2 rounds). */
cc_status cc_proto_mul_public_fxp(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_ashare *out);

/* ---- sums of products with one truncation: 3-out-of-3 terms (proto_terms.c)
 *
 * A product a·b of replicated shares is, locally and without communication,
 * a 3-out-of-3 additive sharing: party i holds z_i = a_i b_i + a_i b_{i+1} +
 * a_{i+1} b_i (ABY3 ePrint 2018/403 §3).  Terms of several
 * products and of replicated shares (party i's term of x is x_i = s[0]) add
 * up locally, so a whole expression Σ a_k b_k + Σ c_m can be truncated once
 * with the DEK truncation of 3-out-of-3 terms (trunc.c, Dalskov–Escudero–
 * Keller arXiv 1910.12435 §3.2.2): 2 rounds, 16 bytes per element for every
 * party — the cost of one fused mul_trunc whatever the number of products.
 * The nn layer uses this to sum squares per row, and to evaluate a
 * polynomial's last level together with its lower-degree part. */
/* z[j] += this party's term of a[j]·b[j] (n = a->n = b->n).  Local. */
void cc_proto_terms_mul_acc(const cc_proto *ctx, const cc_ashare *a, const cc_ashare *b,
                            uint64_t *z);
/* z[j] += this party's term of x[j] << shift.  Local. */
void cc_proto_terms_add_share(const cc_proto *ctx, const cc_ashare *x, unsigned shift,
                              uint64_t *z);
/* z[j] += c << shift on exactly one party's term (a public constant).  Local. */
void cc_proto_terms_add_public(const cc_proto *ctx, size_t n, uint64_t c, unsigned shift,
                               uint64_t *z);
/* Re-share the terms as a replicated sharing of Σ z_i (no truncation):
 * 1 round, 8 bytes/elem, booked as CC_OP_MUL over out->n elements. */
cc_status cc_proto_reshare_terms(cc_proto *ctx, const uint64_t *z, cc_ashare *out);
/* out = Σ_i z_i / 2^d within 1.25 ulps (as cc_proto_trunc), for sums
 * |Σ z_i| < 2^62 - 2^(d-2); n = out->n terms.  The cost of one trunc; booked
 * as CC_OP_MUL_TRUNC over n elements (same helper rotation). */
cc_status cc_proto_trunc_terms(cc_proto *ctx, const uint64_t *z, unsigned d, cc_ashare *out);

/* Same with a different shift per segment: segment k covers len[k]
 * consecutive elements of z and is truncated by d[k] (1..62); Σ len[k] =
 * out->n.  One truncation protocol for the whole batch (same 2 rounds; each
 * segment's message fields at its own shift's widths), so products that
 * need different scales still share their rounds.  Booked as
 * CC_OP_MUL_TRUNC over out->n elements, priced by cc_proto_trunc_seg_cost;
 * at most 8 segments. */
cc_status cc_proto_trunc_terms_seg(cc_proto *ctx, const uint64_t *z, size_t nseg,
                                   const size_t *len, const unsigned *d, cc_ashare *out);

/* ---- boolean circuits and comparisons ------------------------------------------ */
/* AND on 64-bit words: 1 round, 64 bits/elem. */
cc_status cc_proto_and(cc_proto *ctx, const cc_bshare *a, const cc_bshare *b, cc_bshare *out);
/* A2B: full Kogge–Stone adder of (x0+x1) and x2, first level computed while
 * P0 re-shares.  6 rounds; P0 104 B/elem, P1/P2 88. */
cc_status cc_proto_a2b(cc_proto *ctx, const cc_ashare *x, cc_bshare *out);
/* MSB (bit tensor): 1 if x < 0 in the signed view.  Carry-only tree whose
 * first level is computed while one party re-shares the sum of its two
 * shares; that role rotates over thirds of the elements (P_t on third t).
 * 6 rounds; 33.6 B/elem on the party's own third, 15.6 B/elem on the other
 * two (21.6 B/elem on average, the same for every party). */
cc_status cc_proto_msb(cc_proto *ctx, const cc_ashare *x, cc_bshare *out);
/* Narrow MSB for x known to lie in [-2^32, 2^32) (bit 32 of x; outside that
 * range the result is unspecified): the carry tree runs over the 32 low bits
 * (16 spans) instead of 63.  5 rounds; the re-sharer 2·7 B/elem in round 1,
 * the others 4, then 2 + 1 + 1/2 + 1/8 B/elem for everyone; rotated like
 * msb: 11 B/elem per party on average (msb: 21.6).  lt_public_vec_narrow is
 * lt_public_vec through it (valid while |a - c| < 2^32). */
cc_status cc_proto_msb_narrow(cc_proto *ctx, const cc_ashare *x, cc_bshare *out);
cc_status cc_proto_lt_public_vec_narrow(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                        cc_bshare *out);
/* The MSB variants by what they assume and trade (one table in compare.c):
 *   CC_MSB_FULL            any x; first level over bit pairs       6 rounds, 21.6 B
 *   CC_MSB_NARROW          |x| < 2^32; bit pairs                   5 rounds, 11.0 B
 *   CC_MSB_DIGITS          any x; first level over 4-bit digits    5 rounds, 27.6 B
 *   CC_MSB_NARROW_DIGITS   |x| < 2^32; 4-bit digits                4 rounds, 15.0 B
 *   CC_MSB_DIGITS8         any x; 8-bit digits                     4 rounds, 173.6 B
 *   CC_MSB_NARROW_DIGITS8  |x| < 2^32; 8-bit digits                3 rounds, 107.9 B
 *   CC_MSB_DIGITS16        any x; 16-bit digits                    3 rounds, 21.8 KB
 * (bytes per element and party for one threshold, averaged over the
 * rotated roles).  The digit variants settle a whole digit of the carry
 * chain in the re-sharing round (msb_digits.c): fewer rounds for more
 * bytes in that round, which cc_proto_lt_public_multi shares among all the
 * thresholds of an element — so with several thresholds per element the
 * 4-bit digits are cheaper than bit pairs, and with dozens (the norms'
 * buckets, one row each) the 8-bit digits cost little more; on a handful
 * of rows even the 16-bit digits' 64 KB one-hot message per row pays. */
typedef enum cc_msb_kind {
    CC_MSB_FULL, CC_MSB_NARROW, CC_MSB_DIGITS, CC_MSB_NARROW_DIGITS, CC_MSB_DIGITS8,
    CC_MSB_NARROW_DIGITS8, CC_MSB_DIGITS16, CC_MSB_KIND_COUNT
} cc_msb_kind;
/* The op a variant books (for cost tables). */
cc_proto_op cc_proto_msb_op(cc_msb_kind kind);
cc_status cc_proto_msb_kind(cc_proto *ctx, cc_msb_kind kind, const cc_ashare *x, cc_bshare *out);
/* a < c[j] through the given variant (valid while |a - c| is within its range). */
cc_status cc_proto_lt_public_vec_kind(cc_proto *ctx, cc_msb_kind kind, const cc_ashare *a,
                                      const uint64_t *c, cc_bshare *out);
/* out[k·n + j] = [a_j < c[k]] for m public thresholds c[0..m) (valid while
 * every |a_j - c[k]| is within the variant's range).  The digit variants
 * share the re-sharer's round-1 message among the m thresholds (one
 * one-hot message per element, then 2 or 4 B and a tree per threshold:
 * the four SiLU breakpoints cost 23.8 B per element and party instead of
 * 44 with four narrow bit-pair comparisons, in one round fewer); the
 * bit-pair variants run m plain comparisons in one batch. */
cc_status cc_proto_lt_public_multi(cc_proto *ctx, cc_msb_kind kind, const cc_ashare *a, size_t m,
                                   const uint64_t *c, cc_bshare *out);
/* a < b (signed, valid while |a - b| < 2^63) = MSB(a - b); vs a public
 * scalar / per-element vector; greater-than-public is lt with swapped sign. */
cc_status cc_proto_lt(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_bshare *out);
cc_status cc_proto_lt_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_bshare *out);
cc_status cc_proto_lt_public_vec(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                 cc_bshare *out);
cc_status cc_proto_gt_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_bshare *out);
/* Equality (bit tensor): P0 re-shares x0 + x1 while the first AND level is
 * computed, then an AND tree.  6 rounds; P0 30 B/elem, P1/P2 10 B/elem. */
cc_status cc_proto_eq(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_bshare *out);
cc_status cc_proto_eq_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_bshare *out);
/* Bit injection / B2A of a bit tensor: out ∈ {0,1} arithmetically.
 * 1 round; 16 B/elem on the party's own third (re-sharer), 8 elsewhere. */
cc_status cc_proto_b2a_bit(cc_proto *ctx, const cc_bshare *bit, cc_ashare *out);
/* out = bit ? x : y (mux, Π_Mul_BA).  2 rounds; b2a_bit + 8 B/elem. */
cc_status cc_proto_select(cc_proto *ctx, const cc_bshare *bit, const cc_ashare *x,
                          const cc_ashare *y, cc_ashare *out);
/* out = bit · x. */
cc_status cc_proto_mul_bit(cc_proto *ctx, const cc_bshare *bit, const cc_ashare *x,
                           cc_ashare *out);
/* Max over each row of a rows×cols tensor (log-depth tree of compare +
 * select, ⌈log2 cols⌉ levels of 8 rounds).  out: rows elements. */
cc_status cc_proto_max_rows(cc_proto *ctx, const cc_ashare *x, size_t rows, size_t cols,
                            cc_ashare *out);
/* Max and its index (the first maximal column on ties; the index is an
 * arithmetic share of the integer column number). */
cc_status cc_proto_argmax_rows(cc_proto *ctx, const cc_ashare *x, size_t rows, size_t cols,
                               cc_ashare *max_out, cc_ashare *index_out);

#endif
