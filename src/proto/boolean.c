/* Boolean shares: AND with narrow wire widths, local boolean ops, and the
 * portable instance of the comparison-tree kernels (msb_level.inc)
 * (docs/PROTOCOLS.md; ABY3 ePrint 2018/403 §3.1). */
#include <stdlib.h>
#include "proto_impl.h"

size_t pr_width_bytes(unsigned width)
{
    return width > 32 ? 8 : width > 16 ? 4 : width > 8 ? 2 : 1;
}

static inline uint64_t low_mask(unsigned width)
{
    return width >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << width) - 1;
}

/* Pack the low wb bytes of each word (little-endian) / unpack and mask. */
static void pack(size_t n, size_t wb, const uint64_t *z, uint64_t *msg)
{
    uint8_t *m = (uint8_t *)msg;
    switch (wb) {
    case 8: memcpy(m, z, 8 * n); break;
    case 4: for (size_t j = 0; j < n; j++) ((uint32_t *)msg)[j] = (uint32_t)z[j]; break;
    case 2: for (size_t j = 0; j < n; j++) ((uint16_t *)msg)[j] = (uint16_t)z[j]; break;
    default: for (size_t j = 0; j < n; j++) m[j] = (uint8_t)z[j]; break;
    }
}

static void unpack(size_t n, size_t wb, const uint64_t *msg, uint64_t mask, uint64_t *z)
{
    const uint8_t *m = (const uint8_t *)msg;
    switch (wb) {
    case 8: for (size_t j = 0; j < n; j++) z[j] = msg[j] & mask; break;
    case 4: for (size_t j = 0; j < n; j++) z[j] = ((const uint32_t *)msg)[j] & mask; break;
    case 2: for (size_t j = 0; j < n; j++) z[j] = ((const uint16_t *)msg)[j] & mask; break;
    default: for (size_t j = 0; j < n; j++) z[j] = m[j] & mask; break;
    }
}

/* AND over GF(2)^64 (ABY3 §3.1 with XOR): z_i = a_i b_i ⊕ a_i b_{i+1} ⊕
 * a_{i+1} b_i, masked with a PRSS XOR-zero share *on the packed message*
 * (the packing is linear, so the masks still cancel), sent to prev.  Only
 * the low `width` bits of each word travel: 1 round, pr_width_bytes(width)
 * bytes/elem.  Outputs are masked to `width` bits and may alias inputs. */
cc_status pr_and_width(cc_proto *ctx, size_t n, unsigned width, const uint64_t *a0,
                       const uint64_t *a1, const uint64_t *b0, const uint64_t *b1,
                       uint64_t *o0, uint64_t *o1)
{
    if (n == 0) return CC_OK;
    size_t wb = pr_width_bytes(width), words = (n * wb + 7) / 8;
    uint64_t *z = pr_alloc(n), *mine = pr_alloc(words), *theirs = pr_alloc(words);
    cc_status s = (z && mine && theirs) ? CC_OK : CC_ERR_NOMEM;
    if (s == CC_OK) {
        for (size_t j = 0; j < n; j++) z[j] = (a0[j] & (b0[j] ^ b1[j])) ^ (a1[j] & b0[j]);
        mine[words - 1] = 0;
        pack(n, wb, z, mine);
        cc_prss_zero_xor(&ctx->prss, words, theirs);
        cc_ring_xor(words, mine, theirs, mine);
        s = cc_net_exchange(ctx->net, CC_PREV, mine, CC_NEXT, theirs, n * wb);
    }
    if (s == CC_OK) {
        uint64_t mask = low_mask(width);
        unpack(n, wb, mine, mask, o0);
        unpack(n, wb, theirs, mask, o1);
    }
    pr_free(z);
    pr_free(mine);
    pr_free(theirs);
    return s;
}

cc_status cc_proto_and(cc_proto *ctx, const cc_bshare *a, const cc_bshare *b, cc_bshare *out)
{
    CC_TRY(pr_check_n("and", "second operand", b->n, a->n));
    CC_TRY(pr_check_n("and", "output", out->n, a->n));
    pr_enter(ctx, "and");
    pr_book_op(ctx, CC_OP_AND, a->n, 0, 0);
    cc_status s = pr_and_width(ctx, a->n, 64, a->s[0], a->s[1], b->s[0], b->s[1], out->s[0],
                               out->s[1]);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto and");
}

/* ---- local boolean ops -------------------------------------------------------------- */
#define BCHECK(op, a, out) CC_TRY(pr_check_n(op, "output", (out)->n, (a)->n))

cc_status cc_proto_xor(cc_proto *ctx, const cc_bshare *a, const cc_bshare *b, cc_bshare *out)
{
    (void)ctx;
    CC_TRY(pr_check_n("xor", "second operand", b->n, a->n));
    BCHECK("xor", a, out);
    for (int k = 0; k < 2; k++) cc_ring_xor(a->n, a->s[k], b->s[k], out->s[k]);
    return CC_OK;
}

/* A public constant lives in share x_0 (P0's s[0], P2's s[1]). */
static uint64_t *x0_plane(const cc_proto *ctx, uint64_t *s0, uint64_t *s1)
{
    return ctx->party == 0 ? s0 : ctx->party == 2 ? s1 : NULL;
}

static void bshare_copy(const cc_bshare *a, cc_bshare *out)
{
    for (int k = 0; k < 2; k++)
        if (out->s[k] != a->s[k]) memmove(out->s[k], a->s[k], 8 * a->n);
}

cc_status cc_proto_xor_public(cc_proto *ctx, const cc_bshare *a, uint64_t c, cc_bshare *out)
{
    BCHECK("xor_public", a, out);
    bshare_copy(a, out);
    uint64_t *p = x0_plane(ctx, out->s[0], out->s[1]);
    if (p)
        for (size_t j = 0; j < a->n; j++) p[j] ^= c;
    return CC_OK;
}

cc_status cc_proto_xor_public_vec(cc_proto *ctx, const cc_bshare *a, const uint64_t *c,
                                  cc_bshare *out)
{
    BCHECK("xor_public_vec", a, out);
    bshare_copy(a, out);
    uint64_t *p = x0_plane(ctx, out->s[0], out->s[1]);
    if (p)
        for (size_t j = 0; j < a->n; j++) p[j] ^= c[j];
    return CC_OK;
}

cc_status cc_proto_not(cc_proto *ctx, const cc_bshare *a, cc_bshare *out)
{
    return cc_proto_xor_public(ctx, a, ~UINT64_C(0), out);
}

cc_status cc_proto_and_public(cc_proto *ctx, const cc_bshare *a, uint64_t c, cc_bshare *out)
{
    (void)ctx;
    BCHECK("and_public", a, out);
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < a->n; j++) out->s[k][j] = a->s[k][j] & c;
    return CC_OK;
}

cc_status cc_proto_bshl(cc_proto *ctx, const cc_bshare *a, unsigned bits, cc_bshare *out)
{
    (void)ctx;
    BCHECK("bshl", a, out);
    if (bits > 63) return cc_error_set(CC_ERR_ARG, "bshl: shift %u is not 0..63", bits);
    for (int k = 0; k < 2; k++) cc_ring_shl(a->n, a->s[k], bits, out->s[k]);
    return CC_OK;
}

cc_status cc_proto_bshr(cc_proto *ctx, const cc_bshare *a, unsigned bits, cc_bshare *out)
{
    (void)ctx;
    BCHECK("bshr", a, out);
    if (bits > 63) return cc_error_set(CC_ERR_ARG, "bshr: shift %u is not 0..63", bits);
    for (int k = 0; k < 2; k++) cc_ring_shr_logic(a->n, a->s[k], bits, out->s[k]);
    return CC_OK;
}

/* Gather the even / odd bits of a word into its low half (GF(2)-linear). */
static inline uint64_t even_bits(uint64_t x)
{
    x &= UINT64_C(0x5555555555555555);
    x = (x | (x >> 1)) & UINT64_C(0x3333333333333333);
    x = (x | (x >> 2)) & UINT64_C(0x0F0F0F0F0F0F0F0F);
    x = (x | (x >> 4)) & UINT64_C(0x00FF00FF00FF00FF);
    x = (x | (x >> 8)) & UINT64_C(0x0000FFFF0000FFFF);
    x = (x | (x >> 16)) & UINT64_C(0x00000000FFFFFFFF);
    return x;
}
static inline uint64_t odd_bits(uint64_t x) { return even_bits(x >> 1); }

/* PEXT when the CPU has BMI2, unless CARACAL_ISA=ref forces the portable
 * kernels (the tests run both). */
bool pr_use_bmi2(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *isa = getenv("CARACAL_ISA");
        cached = cc_cpu_features()->bmi2 && !(isa && strcmp(isa, "ref") == 0);
    }
    return cached == 1;
}

/* Portable instance of the fused tree level. */
#define MSB_LEVEL_NAME pr_msb_level_portable
#define EVEN(x) even_bits(x)
#define ODD(x) odd_bits(x)
#define MSB_LEVEL_BODY msb_body_portable
#define MSB_UNZIP_NAME pr_msb_unzip_portable
#define EQ_UNZIP_NAME pr_eq_unzip_portable
#include "msb_level.inc"
#undef EVEN
#undef ODD

