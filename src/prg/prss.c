/* PRSS: replicated correlated randomness from pairwise keys (docs/PROTOCOLS.md;
 * ABY3, ePrint 2018/403, §2.2 "shared randomness").  Party i knows
 * k_i (with prev) and k_{i+1} (with next); F(k, c) is the AES-CTR stream of
 * key k at element c.  All functions are local: 0 rounds, 0 bytes. */
#include "core.h"
#include "prg_impl.h"

void cc_prss_init(cc_prss *s, const uint8_t key_prev[16], const uint8_t key_next[16])
{
    uint8_t own_seed[16];
    cc_prg_random_seed(own_seed);
    cc_prg_init(&s->with_prev, key_prev, CC_PRSS_STREAM);
    cc_prg_init(&s->with_next, key_next, CC_PRSS_STREAM);
    cc_prg_init(&s->own, own_seed, CC_PRSS_STREAM);
    cc_wipe(own_seed, sizeof own_seed);
    s->counter = 0;
    s->own_counter = 0;
}

void cc_prss_wipe(cc_prss *s)
{
    cc_wipe(s, sizeof *s);
}

uint64_t cc_prss_reserve(cc_prss *s, size_t n)
{
    uint64_t first = s->counter;
    CC_ASSERT(n <= UINT64_MAX - first);           /* 2^64 elements never run out in practice */
    s->counter += n;
    return first;
}

/* z_i = F(k_i, c) - F(k_{i+1}, c): each key appears once with + (at the party
 * holding it as k_i) and once with - (at its prev), so Σ_i z_i = 0. */
void cc_prss_zero_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *z)
{
    const cc_prg_op ops[2] = { { &s->with_prev, AES_CTR_STORE }, { &s->with_next, AES_CTR_SUB } };
    cc_prg_apply(ops, 2, first, n, z);
}

void cc_prss_zero_xor_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *z)
{
    const cc_prg_op ops[2] = { { &s->with_prev, AES_CTR_STORE }, { &s->with_next, AES_CTR_XOR } };
    cc_prg_apply(ops, 2, first, n, z);
}

/* r = r_0 + r_1 + r_2 with r_i = F(k_i, c); P_i holds (r_i, r_{i+1}). */
void cc_prss_rand_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *r_self,
                     uint64_t *r_next)
{
    cc_prg_u64(&s->with_prev, first, n, r_self);
    cc_prg_u64(&s->with_next, first, n, r_next);
}

void cc_prss_with_prev_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *out)
{
    cc_prg_u64(&s->with_prev, first, n, out);
}

void cc_prss_with_next_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *out)
{
    cc_prg_u64(&s->with_next, first, n, out);
}

void cc_prss_zero(cc_prss *s, size_t n, uint64_t *z)
{
    cc_prss_zero_at(s, cc_prss_reserve(s, n), n, z);
}

void cc_prss_zero_xor(cc_prss *s, size_t n, uint64_t *z)
{
    cc_prss_zero_xor_at(s, cc_prss_reserve(s, n), n, z);
}

void cc_prss_rand(cc_prss *s, size_t n, uint64_t *r_self, uint64_t *r_next)
{
    cc_prss_rand_at(s, cc_prss_reserve(s, n), n, r_self, r_next);
}

void cc_prss_with_prev(cc_prss *s, size_t n, uint64_t *out)
{
    cc_prss_with_prev_at(s, cc_prss_reserve(s, n), n, out);
}

void cc_prss_with_next(cc_prss *s, size_t n, uint64_t *out)
{
    cc_prss_with_next_at(s, cc_prss_reserve(s, n), n, out);
}

void cc_prss_private(cc_prss *s, size_t n, uint64_t *out)
{
    CC_ASSERT(n <= UINT64_MAX - s->own_counter);
    cc_prg_u64(&s->own, s->own_counter, n, out);
    s->own_counter += n;
}
