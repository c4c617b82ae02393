/* prg: AES known answers on every path this CPU has, every path bit-exact
 * against the portable reference, thread-count independence, and PRSS with
 * the three parties simulated in-process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <cmocka.h>
#include <omp.h>

#include "core.h"
#include "prg.h"
#include "prg_impl.h"   /* cc_aes_ref_sbox_table: the portable S-box, for one test */

static void hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* Selects each path in turn; returns false (and says so) when unsupported. */
static bool use_impl(cc_prg_impl impl)
{
    if (!cc_prg_impl_supported(impl)) {
        print_message("[  SKIPPED ] %s AES path: not supported by this CPU\n", cc_prg_impl_name(impl));
        assert_int_equal(cc_prg_select_impl(impl), CC_ERR_UNSUPPORTED);
        return false;
    }
    assert_int_equal(cc_prg_select_impl(impl), CC_OK);
    assert_int_equal(cc_prg_active_impl(), impl);
    return true;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)   /* splitmix64: test data only */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void random_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd();
}

/* ---- known answers ------------------------------------------------------------ */

/* The bitsliced S-box equals its definition (FIPS-197 §5.1.1): the GF(2^8)
 * inverse (mod x^8+x^4+x^3+x+1, 0 -> 0) followed by the affine map. */
static uint8_t gf256_mul(uint8_t a, uint8_t b)
{
    uint8_t r = 0;
    for (int i = 0; i < 8; i++) {
        if (b & 1) r ^= a;
        a = (uint8_t)((a << 1) ^ (a & 0x80 ? 0x1b : 0));
        b >>= 1;
    }
    return r;
}

static void sbox_matches_definition(void **state)
{
    (void)state;
    uint8_t table[256];
    cc_aes_ref_sbox_table(table);
    for (int x = 0; x < 256; x++) {
        uint8_t inv = 0;
        for (int y = 1; y < 256 && x; y++)
            if (gf256_mul((uint8_t)x, (uint8_t)y) == 1) inv = (uint8_t)y;
        uint8_t s = 0x63;
        for (int r = 0; r < 5; r++) s ^= (uint8_t)((inv << r) | (inv >> ((8 - r) & 7)));
        assert_int_equal(table[x], s);
    }
    assert_int_equal(table[0x00], 0x63);   /* FIPS-197 Figure 7 spot checks */
    assert_int_equal(table[0x53], 0xed);
}

/* FIPS-197 Appendix A.1: expansion of 2b7e1516 28aed2a6 abf71588 09cf4f3c. */
static void key_expansion_fips197_a1(void **state)
{
    (void)state;
    uint8_t key[16], w4_7[16], w40_43[16];
    hex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    hex("a0fafe1788542cb123a339392a6c7605", w4_7, 16);
    hex("d014f9a8c9ee2589e13f0cc8b6630ca6", w40_43, 16);
    cc_aes128 k;
    cc_aes128_init(&k, key);
    assert_memory_equal(k.rk, key, 16);
    assert_memory_equal(k.rk + 16, w4_7, 16);
    assert_memory_equal(k.rk + 160, w40_43, 16);
}

/* FIPS-197 Appendix C.1 (AES-128), on every path. */
static void block_fips197_c1(void **state)
{
    (void)state;
    uint8_t key[16], pt[16], ct[16], out[16];
    hex("000102030405060708090a0b0c0d0e0f", key, 16);
    hex("00112233445566778899aabbccddeeff", pt, 16);
    hex("69c4e0d86a7b0430d8cdb78070b4c55a", ct, 16);
    cc_aes128 k;
    cc_aes128_init(&k, key);
    for (int i = 0; i < CC_PRG_IMPL_COUNT; i++) {
        if (!use_impl((cc_prg_impl)i)) continue;
        memset(out, 0, sizeof out);
        cc_aes128_encrypt_block(&k, pt, out);
        assert_memory_equal(out, ct, 16);
    }
    cc_prg_select_impl(CC_PRG_REF);
}

/* SP 800-38A F.5.1 CTR-AES128.Encrypt, all four blocks, on every path; also
 * every prefix length so partial final blocks are covered. */
static void ctr_sp800_38a_f51(void **state)
{
    (void)state;
    uint8_t key[16], iv[16], pt[64], ct[64], out[64];
    hex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv, 16);
    hex("6bc1bee22e409f96e93d7e117393172a" "ae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52ef" "f69f2445df4f9b17ad2b417be66c3710", pt, 64);
    hex("874d6191b620e3261bef6864990db6ce" "9806f66b7970fdff8617187bb9fffdff"
        "5ae4df3edbd5d35e5b4f09020db03eab" "1e031dda2fbe03d1792170a0f3009cee", ct, 64);
    cc_aes128 k;
    cc_aes128_init(&k, key);
    for (int i = 0; i < CC_PRG_IMPL_COUNT; i++) {
        if (!use_impl((cc_prg_impl)i)) continue;
        for (size_t len = 0; len <= 64; len++) {
            memset(out, 0xee, sizeof out);
            cc_aes128_ctr_be(&k, iv, pt, out, len);
            assert_memory_equal(out, ct, len);
            for (size_t j = len; j < 64; j++) assert_int_equal(out[j], 0xee);
        }
    }
    cc_prg_select_impl(CC_PRG_REF);
}

/* ---- the stream layout of prg.h, pinned --------------------------------------- */

static void stream_layout(void **state)
{
    (void)state;
    uint8_t seed[16];
    random_bytes(seed, 16);
    cc_prg p;
    const uint64_t stream = 0x0123456789abcdefu;
    cc_prg_init(&p, seed, stream);
    const uint64_t firsts[] = { 0, 1, 2, 77, (uint64_t)1 << 40 | 1 };
    for (size_t f = 0; f < CC_ARRAY_LEN(firsts); f++) {
        uint64_t got[5];
        cc_prg_u64(&p, firsts[f], 5, got);
        for (uint64_t j = firsts[f]; j < firsts[f] + 5; j++) {
            uint8_t in[16], blk[16];
            for (int b = 0; b < 8; b++) {
                in[b] = (uint8_t)((j >> 1) >> (8 * b));
                in[8 + b] = (uint8_t)(stream >> (8 * b));
            }
            cc_aes128_encrypt_block(&p.key, in, blk);
            uint64_t w = 0;
            for (int b = 0; b < 8; b++) w |= (uint64_t)blk[8 * (j & 1) + b] << (8 * b);
            assert_int_equal(got[j - firsts[f]], w);
        }
    }
    /* other stream ids and seeds give other words */
    cc_prg q;
    cc_prg_init(&q, seed, stream + 1);
    uint64_t a[4], b[4];
    cc_prg_u64(&p, 0, 4, a);
    cc_prg_u64(&q, 0, 4, b);
    assert_memory_not_equal(a, b, sizeof a);
    cc_prg_wipe(&q);
    const uint8_t zero[sizeof q] = { 0 };
    assert_memory_equal(&q, zero, sizeof q);
    cc_prg_wipe(&p);
}

/* ---- every path == portable, every mode, edge offsets and lengths --------------- */

static uint64_t combine(int mode, uint64_t old, uint64_t w)
{
    return mode == 1 ? old ^ w : mode == 2 ? old + w : mode == 3 ? old - w : w;
}

static void run_mode(int mode, const cc_prg *p, uint64_t first, size_t n, uint64_t *out)
{
    switch (mode) {
    case 0: cc_prg_u64(p, first, n, out); break;
    case 1: cc_prg_u64_xor(p, first, n, out); break;
    case 2: cc_prg_u64_add(p, first, n, out); break;
    default: cc_prg_u64_sub(p, first, n, out); break;
    }
}

static void paths_match_reference(void **state)
{
    (void)state;
    const size_t lens[] = { 0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 66, 67,
                            129, 1000, 4099, 100000, 1000000 };
    const uint64_t pad = 0xa5a5a5a5a5a5a5a5u;
    size_t maxn = 1000000 + 4;
    uint64_t *ref = cc_alloc(maxn * 8), *init = cc_alloc(maxn * 8), *buf = cc_alloc(maxn * 8);
    assert_non_null(ref); assert_non_null(init); assert_non_null(buf);
    int tested = 0;
    for (size_t t = 0; t < CC_ARRAY_LEN(lens); t++) {
        size_t n = lens[t];
        uint8_t seed[16];
        random_bytes(seed, 16);
        cc_prg p;
        cc_prg_init(&p, seed, rnd());
        /* offsets: 0, 1, a random odd one, a random even one, and the range
         * ending at the last element 2^64 - 1 */
        uint64_t offs[5] = { 0, 1, (rnd() >> 8) | 1, (rnd() >> 8) & ~(uint64_t)1,
                             n ? UINT64_MAX - (n - 1) : 0 };
        const bool big = n >= 1000000;   /* keep the slow portable path's share small */
        for (int o = big ? 2 : 0; o < (big ? 4 : 5); o++) {
            uint64_t first = offs[o];
            assert_int_equal(cc_prg_select_impl(CC_PRG_REF), CC_OK);
            cc_prg_u64(&p, first, n, ref);
            if (n >= 64) {      /* a real stream, not a constant */
                assert_true(ref[0] != ref[1] || ref[1] != ref[2]);
            }
            for (size_t i = 0; i < n + 1; i++) init[i] = rnd();
            for (int impl = 0; impl < CC_PRG_IMPL_COUNT; impl++) {
                if (!cc_prg_impl_supported((cc_prg_impl)impl)) continue;
                assert_int_equal(cc_prg_select_impl((cc_prg_impl)impl), CC_OK);
                for (int mode = 0; mode < (big && impl == CC_PRG_REF ? 1 : 4); mode++) {
                    /* out at an odd u64 offset: 8- but not 16-byte aligned */
                    uint64_t *out = buf + 1;
                    memcpy(out, init, n * 8);
                    buf[0] = pad;
                    out[n] = pad;
                    run_mode(mode, &p, first, n, out);
                    assert_int_equal(buf[0], pad);
                    assert_int_equal(out[n], pad);
                    for (size_t i = 0; i < n; i++)
                        if (out[i] != combine(mode, init[i], ref[i]))
                            fail_msg("path %s mode %d n %zu first %llu: element %zu differs",
                                     cc_prg_impl_name((cc_prg_impl)impl), mode, n,
                                     (unsigned long long)first, i);
                    tested++;
                }
            }
        }
        cc_prg_wipe(&p);
    }
    for (int impl = 0; impl < CC_PRG_IMPL_COUNT; impl++)
        if (!cc_prg_impl_supported((cc_prg_impl)impl))
            print_message("[  SKIPPED ] %s AES path: not supported by this CPU\n",
                          cc_prg_impl_name((cc_prg_impl)impl));
    assert_true(tested > 0);
    cc_prg_select_impl(CC_PRG_REF);
    cc_free(ref); cc_free(init); cc_free(buf);
}

/* Raw ECB through ctr_be on multi-block batches: every path == portable. */
static void ctr_be_paths_match(void **state)
{
    (void)state;
    uint8_t key[16], iv[16];
    enum { LEN = 16 * 70 + 5 };
    static uint8_t in[LEN], ref[LEN], out[LEN];
    random_bytes(key, 16);
    random_bytes(iv, 16);
    memset(iv + 12, 0xff, 4);      /* force carries across the 32-bit boundary */
    random_bytes(in, LEN);
    cc_aes128 k;
    cc_aes128_init(&k, key);
    cc_prg_select_impl(CC_PRG_REF);
    cc_aes128_ctr_be(&k, iv, in, ref, LEN);
    for (int impl = 1; impl < CC_PRG_IMPL_COUNT; impl++) {
        if (!cc_prg_impl_supported((cc_prg_impl)impl)) continue;
        cc_prg_select_impl((cc_prg_impl)impl);
        cc_aes128_ctr_be(&k, iv, in, out, LEN);
        assert_memory_equal(out, ref, LEN);
    }
    cc_prg_select_impl(CC_PRG_REF);
}

/* ---- 1 thread vs 2 threads ---------------------------------------------------------- */

static void threads_identical(void **state)
{
    (void)state;
    const size_t n = 1000003;
    uint64_t *a = cc_alloc(n * 8), *b = cc_alloc(n * 8);
    assert_non_null(a); assert_non_null(b);
    uint8_t seed[16];
    random_bytes(seed, 16);
    cc_prg p;
    cc_prg_init(&p, seed, 7);
    int saved = omp_get_max_threads();
    for (int impl = 0; impl < CC_PRG_IMPL_COUNT; impl++) {
        if (!cc_prg_impl_supported((cc_prg_impl)impl)) continue;
        cc_prg_select_impl((cc_prg_impl)impl);
        for (int mode = 0; mode < (impl == CC_PRG_REF ? 2 : 4); mode++) {
            for (size_t i = 0; i < n; i++) a[i] = b[i] = (uint64_t)i * 0x9e3779b97f4a7c15u;
            omp_set_num_threads(1);
            run_mode(mode, &p, 12345, n, a);
            omp_set_num_threads(2);
            run_mode(mode, &p, 12345, n, b);
            assert_memory_equal(a, b, n * 8);
        }
    }
    omp_set_num_threads(saved);
    cc_prg_select_impl(CC_PRG_REF);
    cc_prg_wipe(&p);
    cc_free(a); cc_free(b);
}

/* ---- PRSS, three parties in one process --------------------------------------------- */

/* Party i gets (k_i, k_{i+1}): k_i is shared with prev, k_{i+1} with next. */
static void make_parties(cc_prss s[3])
{
    uint8_t k[3][16];
    for (int i = 0; i < 3; i++) cc_prg_random_seed(k[i]);
    for (int i = 0; i < 3; i++) cc_prss_init(&s[i], k[i], k[(i + 1) % 3]);
    cc_wipe(k, sizeof k);
}

static bool all_zero(const uint64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) if (v[i]) return false;
    return true;
}

static void prss_three_parties(void **state)
{
    (void)state;
    cc_prss s[3];
    make_parties(s);
    enum { N = 1001 };
    static uint64_t z[3][N], r[3][N], rn[3][N], pv[3][N];
    const size_t sizes[] = { 1, 0, N, 2, 77 };
    for (size_t t = 0; t < CC_ARRAY_LEN(sizes); t++) {
        size_t n = sizes[t];
        /* arithmetic zero sharing */
        for (int i = 0; i < 3; i++) cc_prss_zero(&s[i], n, z[i]);
        for (size_t j = 0; j < n; j++) assert_int_equal(z[0][j] + z[1][j] + z[2][j], 0);
        if (n > 2) assert_false(all_zero(z[0], n));
        /* boolean zero sharing */
        for (int i = 0; i < 3; i++) cc_prss_zero_xor(&s[i], n, z[i]);
        for (size_t j = 0; j < n; j++) assert_int_equal(z[0][j] ^ z[1][j] ^ z[2][j], 0);
        if (n > 2) assert_false(all_zero(z[1], n));
        /* replicated random value: party i's r_next is party i+1's r_self */
        for (int i = 0; i < 3; i++) cc_prss_rand(&s[i], n, r[i], rn[i]);
        for (int i = 0; i < 3; i++)
            assert_memory_equal(rn[i], r[(i + 1) % 3], n * 8);
        if (n > 2) {
            assert_memory_not_equal(r[0], r[1], n * 8);
            assert_false(all_zero(r[2], n));
        }
        /* pairwise randomness: P_i with_next == P_{i+1} with_prev, third reserves */
        for (int i = 0; i < 3; i++) {
            int nx = (i + 1) % 3, other = (i + 2) % 3;
            cc_prss_with_next(&s[i], n, pv[i]);
            cc_prss_with_prev(&s[nx], n, pv[nx]);
            cc_prss_reserve(&s[other], n);
            assert_memory_equal(pv[i], pv[nx], n * 8);
        }
        /* private randomness never touches the common counter */
        uint64_t before = s[0].counter;
        for (int i = 0; i < 3; i++) cc_prss_private(&s[i], n, pv[i]);
        assert_int_equal(s[0].counter, before);
        if (n > 2) assert_memory_not_equal(pv[0], pv[1], n * 8);
        assert_int_equal(s[0].counter, s[1].counter);
        assert_int_equal(s[1].counter, s[2].counter);
    }
    /* successive calls draw fresh counter ranges */
    uint64_t a[4], b[4];
    cc_prss_with_prev(&s[0], 4, a);
    cc_prss_with_prev(&s[0], 4, b);
    assert_memory_not_equal(a, b, sizeof a);
    for (int i = 0; i < 3; i++) {
        cc_prss_wipe(&s[i]);
        const uint8_t zero[sizeof s[i]] = { 0 };
        assert_memory_equal(&s[i], zero, sizeof s[i]);
    }
}

/* Pieces filled with the _at variants, in any order, equal the whole. */
static void prss_at_pieces_equal_whole(void **state)
{
    (void)state;
    cc_prss a, b;
    uint8_t k0[16], k1[16];
    random_bytes(k0, 16);
    random_bytes(k1, 16);
    cc_prss_init(&a, k0, k1);
    cc_prss_init(&b, k0, k1);
    enum { N = 1003 };
    static uint64_t whole[5][N], part[5][N];
    cc_prss_zero(&a, N, whole[0]);
    cc_prss_zero_xor(&a, N, whole[1]);
    cc_prss_rand(&a, N, whole[2], whole[3]);
    cc_prss_with_next(&a, N, whole[4]);
    uint64_t f[4];
    for (int i = 0; i < 4; i++) f[i] = cc_prss_reserve(&b, N);
    assert_int_equal(a.counter, b.counter);
    /* pieces [0, 501) and [501, N), back to front, odd boundaries */
    const size_t cut = 501;
    for (int half = 1; half >= 0; half--) {
        size_t lo = half ? cut : 0, m = half ? N - cut : cut;
        cc_prss_zero_at(&b, f[0] + lo, m, part[0] + lo);
        cc_prss_zero_xor_at(&b, f[1] + lo, m, part[1] + lo);
        cc_prss_rand_at(&b, f[2] + lo, m, part[2] + lo, part[3] + lo);
        cc_prss_with_next_at(&b, f[3] + lo, m, part[4] + lo);
    }
    assert_memory_equal(part, whole, sizeof whole);
    cc_prss_wipe(&a);
    cc_prss_wipe(&b);
}

/* Same results whatever path or thread count the parties use. */
static void prss_path_and_thread_independent(void **state)
{
    (void)state;
    uint8_t k0[16], k1[16];
    random_bytes(k0, 16);
    random_bytes(k1, 16);
    enum { N = 300001 };
    uint64_t *ref = cc_alloc(N * 8), *got = cc_alloc(N * 8);
    cc_prss s;
    cc_prg_select_impl(CC_PRG_REF);
    cc_prss_init(&s, k0, k1);
    cc_prss_reserve(&s, 3);
    cc_prss_zero(&s, N, ref);
    cc_prss_wipe(&s);
    int saved = omp_get_max_threads();
    for (int impl = 0; impl < CC_PRG_IMPL_COUNT; impl++) {
        if (!cc_prg_impl_supported((cc_prg_impl)impl)) continue;
        cc_prg_select_impl((cc_prg_impl)impl);
        for (int th = 1; th <= 2; th++) {
            omp_set_num_threads(th);
            cc_prss_init(&s, k0, k1);
            cc_prss_reserve(&s, 3);
            cc_prss_zero(&s, N, got);
            cc_prss_wipe(&s);
            assert_memory_equal(got, ref, N * 8);
        }
    }
    omp_set_num_threads(saved);
    cc_prg_select_impl(CC_PRG_REF);
    cc_free(ref); cc_free(got);
}

int main(void)
{
    printf("prg: start-up path is %s\n", cc_prg_impl_name(cc_prg_active_impl()));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sbox_matches_definition),
        cmocka_unit_test(key_expansion_fips197_a1),
        cmocka_unit_test(block_fips197_c1),
        cmocka_unit_test(ctr_sp800_38a_f51),
        cmocka_unit_test(stream_layout),
        cmocka_unit_test(paths_match_reference),
        cmocka_unit_test(ctr_be_paths_match),
        cmocka_unit_test(threads_identical),
        cmocka_unit_test(prss_three_parties),
        cmocka_unit_test(prss_at_pieces_equal_whole),
        cmocka_unit_test(prss_path_and_thread_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
