/* AES-128 counter-mode streams: path selection, the stream layout of prg.h
 * (element j = word j&1 of block j>>1, block c = AES_k(LE64(c)||LE64(stream))),
 * odd offsets and tails, and the OpenMP split of large ranges. */
#include "prg_impl.h"
#include "core.h"

#include <omp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ---- path selection ---------------------------------------------------------- */

static const aes_kernels *const kernels_of[CC_PRG_IMPL_COUNT] = {
    [CC_PRG_REF] = &cc_aes_kernels_ref,
    [CC_PRG_AESNI] = &cc_aes_kernels_aesni,
    [CC_PRG_VAES256] = &cc_aes_kernels_vaes256,
    [CC_PRG_VAES512] = &cc_aes_kernels_vaes512,
};

static cc_prg_impl active_impl = CC_PRG_REF;
static pthread_once_t select_once = PTHREAD_ONCE_INIT;

bool cc_prg_impl_supported(cc_prg_impl impl)
{
    const cc_cpu *c = cc_cpu_features();
    switch (impl) {
    case CC_PRG_REF:     return true;
    case CC_PRG_AESNI:   return c->aesni;
    case CC_PRG_VAES256: return c->aesni && c->avx2 && c->vaes;
    case CC_PRG_VAES512: return c->aesni && c->avx512f && c->vaes;
    default:             return false;
    }
}

const char *cc_prg_impl_name(cc_prg_impl impl)
{
    return (unsigned)impl < CC_PRG_IMPL_COUNT ? kernels_of[impl]->name : "unknown";
}

/* The best supported path at or below `ceiling`. */
static cc_prg_impl best_at_most(cc_prg_impl ceiling)
{
    for (int i = (int)ceiling; i > CC_PRG_REF; i--)
        if (cc_prg_impl_supported((cc_prg_impl)i)) return (cc_prg_impl)i;
    return CC_PRG_REF;
}

static void select_at_startup(void)
{
    const char *isa = getenv("CARACAL_ISA");
    cc_prg_impl want = CC_PRG_VAES512;          /* no override: the widest available */
    if (isa && *isa) {
        if (strcmp(isa, "ref") == 0) want = CC_PRG_REF;
        else if (strcmp(isa, "avx2") == 0) want = CC_PRG_VAES256;
        else if (strcmp(isa, "avx512") == 0) want = CC_PRG_VAES512;
        else cc_warn("prg: CARACAL_ISA=%s is not one of ref|avx2|avx512; using the best AES path", isa);
    }
    cc_prg_impl got = best_at_most(want);
    if (isa && *isa && got != want && want != CC_PRG_VAES512)
        cc_warn("prg: CARACAL_ISA=%s: this CPU lacks %s, using %s", isa,
                cc_prg_impl_name(want), cc_prg_impl_name(got));
    else if (isa && strcmp(isa, "avx512") == 0 && got != want)
        cc_warn("prg: CARACAL_ISA=avx512: this CPU lacks AVX-512 VAES, using %s",
                cc_prg_impl_name(got));
    if (got == CC_PRG_REF && want != CC_PRG_REF)
        cc_warn("prg: no AES-NI; using the portable (bitsliced, ~100x slower) AES path");
    __atomic_store_n(&active_impl, got, __ATOMIC_RELEASE);
}

static const aes_kernels *active(void)
{
    pthread_once(&select_once, select_at_startup);
    return kernels_of[__atomic_load_n(&active_impl, __ATOMIC_ACQUIRE)];
}

cc_prg_impl cc_prg_active_impl(void)
{
    pthread_once(&select_once, select_at_startup);
    return __atomic_load_n(&active_impl, __ATOMIC_ACQUIRE);
}

cc_status cc_prg_select_impl(cc_prg_impl impl)
{
    pthread_once(&select_once, select_at_startup);
    if ((unsigned)impl >= CC_PRG_IMPL_COUNT)
        return cc_error_set(CC_ERR_ARG, "prg: no AES path number %d", (int)impl);
    if (!cc_prg_impl_supported(impl))
        return cc_error_set(CC_ERR_UNSUPPORTED, "prg: this CPU cannot run the %s AES path",
                            cc_prg_impl_name(impl));
    __atomic_store_n(&active_impl, impl, __ATOMIC_RELEASE);
    return CC_OK;
}

/* ---- raw AES ------------------------------------------------------------------ */

void cc_aes128_init(cc_aes128 *k, const uint8_t key[16])
{
    cc_aes_ref_expand(key, k->rk);
}

void cc_aes128_encrypt_block(const cc_aes128 *k, const uint8_t in[16], uint8_t out[16])
{
    active()->ecb(k, in, out, 1);
}

/* SP 800-38A §6.5: the whole 16-byte counter block is one big-endian
 * integer incremented per block (wrapping mod 2^128). */
static void be128_increment(uint8_t ctr[16])
{
    for (int i = 15; i >= 0; i--)
        if (++ctr[i] != 0) break;
}

void cc_aes128_ctr_be(const cc_aes128 *k, const uint8_t iv[16], const uint8_t *in,
                      uint8_t *out, size_t len)
{
    enum { BATCH = 32 };
    const aes_kernels *kern = active();
    uint8_t ctr[16], blocks[BATCH * 16], ks[BATCH * 16];
    memcpy(ctr, iv, 16);
    while (len > 0) {
        size_t nb = CC_MIN((size_t)BATCH, (len + 15) / 16);
        for (size_t b = 0; b < nb; b++) {
            memcpy(blocks + 16 * b, ctr, 16);
            be128_increment(ctr);
        }
        kern->ecb(k, blocks, ks, nb);
        size_t bytes = CC_MIN(len, 16 * nb);
        for (size_t i = 0; i < bytes; i++) out[i] = in[i] ^ ks[i];
        in += bytes;
        out += bytes;
        len -= bytes;
    }
    cc_wipe(ks, sizeof ks);
}

/* ---- streams ------------------------------------------------------------------- */

/* Below this many blocks (1 MiB of output, ~60 us on one core) a single
 * thread beats waking the team, and a busy machine cannot stall us at the
 * join barrier.
 * Work is cut into chunks of 2048 blocks (32 KiB of output) so that when
 * several streams are combined into one buffer (PRSS zero sharing), the
 * second stream finds the chunk still in L1/L2: one pass over memory. */
enum { PAR_MIN_BLOCKS = 65536, CHUNK_BLOCKS = 2048 };

/* Apply ops[0], ops[1], ... in order to the words of one block range. */
static void run_chunk(const aes_kernels *kern, const cc_prg_op *ops, int nops,
                      uint64_t block, size_t nblocks, uint64_t *out)
{
    for (int o = 0; o < nops; o++)
        kern->ctr[ops[o].mode](&ops[o].prg->key, ops[o].prg->stream, block, nblocks, out);
}

/* A single word (half a block) at element j, for odd heads and tails. */
static void run_word(const aes_kernels *kern, const cc_prg_op *ops, int nops,
                     uint64_t j, uint64_t *out)
{
    uint64_t tmp[2];
    for (int o = 0; o < nops; o++) {
        kern->ctr[AES_CTR_STORE](&ops[o].prg->key, ops[o].prg->stream, j >> 1, 1, tmp);
        *out = aes_ctr_combine(ops[o].mode, *out, tmp[j & 1]);
    }
    cc_wipe(tmp, sizeof tmp);
}

void cc_prg_apply(const cc_prg_op *ops, int nops, uint64_t first, size_t n, uint64_t *out)
{
    if (n == 0) return;
    CC_ASSERT(n - 1 <= UINT64_MAX - first);        /* the range may not wrap */
    const aes_kernels *kern = active();
    if (first & 1) {                 /* odd start: the high word of one block */
        run_word(kern, ops, nops, first, out);
        out++;
        first++;
        n--;
    }
    uint64_t block0 = first >> 1;
    size_t nblocks = n / 2;
    size_t nchunks = (nblocks + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS;
    if (nblocks >= PAR_MIN_BLOCKS && omp_get_max_threads() > 1 && !omp_in_parallel()) {
        #pragma omp parallel for schedule(dynamic)   /* robust to a busy core */
        for (size_t c = 0; c < nchunks; c++) {
            size_t b = c * CHUNK_BLOCKS;
            size_t nb = CC_MIN((size_t)CHUNK_BLOCKS, nblocks - b);
            run_chunk(kern, ops, nops, block0 + b, nb, out + 2 * b);
        }
    } else {                         /* small ranges: no team wake-up */
        for (size_t c = 0; c < nchunks; c++) {
            size_t b = c * CHUNK_BLOCKS;
            size_t nb = CC_MIN((size_t)CHUNK_BLOCKS, nblocks - b);
            run_chunk(kern, ops, nops, block0 + b, nb, out + 2 * b);
        }
    }
    if (n & 1)                       /* odd end: the low word of one block */
        run_word(kern, ops, nops, first + 2 * nblocks, out + 2 * nblocks);
}

static void fill(const cc_prg *p, uint64_t first, size_t n, uint64_t *out, aes_ctr_mode mode)
{
    const cc_prg_op op = { p, mode };
    cc_prg_apply(&op, 1, first, n, out);
}

void cc_prg_init(cc_prg *p, const uint8_t seed[16], uint64_t stream)
{
    cc_aes128_init(&p->key, seed);
    p->stream = stream;
}

void cc_prg_wipe(cc_prg *p)
{
    cc_wipe(p, sizeof *p);
}

void cc_prg_u64(const cc_prg *p, uint64_t first, size_t n, uint64_t *out)
{
    fill(p, first, n, out, AES_CTR_STORE);
}

void cc_prg_u64_xor(const cc_prg *p, uint64_t first, size_t n, uint64_t *out)
{
    fill(p, first, n, out, AES_CTR_XOR);
}

void cc_prg_u64_add(const cc_prg *p, uint64_t first, size_t n, uint64_t *out)
{
    fill(p, first, n, out, AES_CTR_ADD);
}

void cc_prg_u64_sub(const cc_prg *p, uint64_t first, size_t n, uint64_t *out)
{
    fill(p, first, n, out, AES_CTR_SUB);
}

void cc_prg_random_seed(uint8_t seed[16])
{
    /* Without an entropy source every share would be predictable: stop. */
    CC_ASSERT(sodium_init() >= 0);
    randombytes_buf(seed, 16);
}
