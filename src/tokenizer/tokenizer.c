/* LLaMA SentencePiece-BPE tokenizer: vocabulary index, encode, decode.
 *
 * Encoding follows llama2.c's encode(): optional BOS, a dummy space before
 * non-empty text, one token per UTF-8 character (or its bytes as <0xNN>
 * tokens when the character is not in the vocabulary), then repeatedly the
 * best adjacent merge: highest score of the merged piece (tokenizer.bin) or
 * lowest merge rank (tokenizer.json).  Text is never logged (it is the
 * client's secret). */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "tokenizer_impl.h"

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;            /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash_pair(uint64_t key)
{
    key ^= key >> 33;                                /* murmur3 finaliser */
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return key;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

cc_status tok_alloc(int vocab_size, cc_tokenizer **out)
{
    *out = NULL;
    if (vocab_size <= 0 || vocab_size > (1 << 22))
        return cc_error_set(CC_ERR_FORMAT, "tokenizer: vocabulary size %d out of range", vocab_size);
    cc_tokenizer *t = cc_calloc(1, sizeof *t);
    if (!t) return cc_error_wrap(CC_ERR_NOMEM, "tokenizer");
    t->vocab_size = vocab_size;
    t->pieces = cc_calloc((size_t)vocab_size, sizeof *t->pieces);
    t->piece_len = cc_calloc((size_t)vocab_size, sizeof *t->piece_len);
    t->scores = cc_calloc((size_t)vocab_size, sizeof *t->scores);
    t->byte_value = cc_calloc((size_t)vocab_size, sizeof *t->byte_value);
    t->index_cap = pow2_at_least(2 * (size_t)vocab_size);
    t->index = cc_alloc(t->index_cap * sizeof *t->index);
    if (!t->pieces || !t->piece_len || !t->scores || !t->byte_value || !t->index) {
        cc_tokenizer_free(t);
        return cc_error_wrap(CC_ERR_NOMEM, "tokenizer");
    }
    memset(t->index, 0xff, t->index_cap * sizeof *t->index);
    *out = t;
    return CC_OK;
}

void cc_tokenizer_free(cc_tokenizer *t)
{
    if (!t) return;
    for (int i = 0; t->pieces && i < t->vocab_size; i++) cc_free(t->pieces[i]);
    cc_free(t->pieces);
    cc_free(t->piece_len);
    cc_free(t->scores);
    cc_free(t->byte_value);
    cc_free(t->index);
    cc_free(t->pair_key);
    cc_free(t->pair_rank);
    cc_free(t);
}

int cc_tokenizer_vocab_size(const cc_tokenizer *t) { return t->vocab_size; }

cc_status tok_set_piece(cc_tokenizer *t, int id, const char *bytes, size_t len, float score)
{
    if (id < 0 || id >= t->vocab_size)
        return cc_error_set(CC_ERR_FORMAT, "tokenizer: token id %d outside [0, %d)", id,
                            t->vocab_size);
    if (t->pieces[id])
        return cc_error_set(CC_ERR_FORMAT, "tokenizer: token id %d defined twice", id);
    char *p = cc_alloc(len + 1);
    if (!p) return cc_error_wrap(CC_ERR_NOMEM, "tokenizer piece");
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        /* U+2581 LOWER ONE EIGHTH BLOCK = E2 96 81 is SentencePiece's space */
        if (i + 2 < len && (unsigned char)bytes[i] == 0xe2 && (unsigned char)bytes[i + 1] == 0x96 &&
            (unsigned char)bytes[i + 2] == 0x81) {
            p[n++] = ' ';
            i += 2;
        } else {
            p[n++] = bytes[i];
        }
    }
    p[n] = '\0';
    t->pieces[id] = p;
    t->piece_len[id] = n;
    t->scores[id] = score;
    return CC_OK;
}

int tok_lookup(const cc_tokenizer *t, const char *s, size_t len)
{
    const size_t mask = t->index_cap - 1;
    for (size_t i = hash_bytes(s, len) & mask;; i = (i + 1) & mask) {
        int id = t->index[i];
        if (id < 0) return -1;
        if (t->piece_len[id] == len && memcmp(t->pieces[id], s, len) == 0) return id;
    }
}

/* "<0xAB>" -> 0xAB, else -1 */
static int parse_byte_piece(const char *p, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    if (len != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>') return -1;
    const char *hi = memchr(hex, p[3], 16), *lo = memchr(hex, p[4], 16);
    if (!hi || !lo || !p[3] || !p[4]) return -1;
    return (int)((hi - hex) * 16 + (lo - hex));
}

cc_status tok_finish(cc_tokenizer *t)
{
    const size_t mask = t->index_cap - 1;
    for (int b = 0; b < 256; b++) t->byte_token[b] = -1;
    for (int id = 0; id < t->vocab_size; id++) {
        if (!t->pieces[id])
            return cc_error_set(CC_ERR_FORMAT, "tokenizer: token id %d has no piece", id);
        if (tok_lookup(t, t->pieces[id], t->piece_len[id]) >= 0)
            return cc_error_set(CC_ERR_FORMAT, "tokenizer: piece of token %d appears twice", id);
        size_t i = hash_bytes(t->pieces[id], t->piece_len[id]) & mask;
        while (t->index[i] >= 0) i = (i + 1) & mask;
        t->index[i] = id;
        t->max_piece_len = CC_MAX(t->max_piece_len, t->piece_len[id]);
        int byte = parse_byte_piece(t->pieces[id], t->piece_len[id]);
        t->byte_value[id] = (int16_t)byte;
        if (byte >= 0) t->byte_token[byte] = id;
    }
    /* LLaMA's special ids; tokenizer.json may place them elsewhere */
    int bos = tok_lookup(t, "<s>", 3), eos = tok_lookup(t, "</s>", 4), unk = tok_lookup(t, "<unk>", 5);
    t->bos_id = bos >= 0 ? bos : CC_TOKEN_BOS;
    t->eos_id = eos >= 0 ? eos : CC_TOKEN_EOS;
    t->unk_id = unk >= 0 ? unk : CC_TOKEN_UNK;
    if (t->bos_id >= t->vocab_size || t->eos_id >= t->vocab_size || t->unk_id >= t->vocab_size)
        return cc_error_set(CC_ERR_FORMAT, "tokenizer: vocabulary of %d tokens lacks the special "
                            "tokens <unk> <s> </s> (ids 0-2)", t->vocab_size);
    return CC_OK;
}

cc_status tok_add_merge(cc_tokenizer *t, int a, int b, int rank)
{
    if (!t->pair_key) return cc_error_set(CC_ERR_INTERNAL, "tokenizer: merge table not allocated");
    const size_t mask = t->pair_cap - 1;
    const uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    for (size_t i = hash_pair(key) & mask;; i = (i + 1) & mask) {
        if (t->pair_rank[i] < 0) {
            t->pair_key[i] = key;
            t->pair_rank[i] = rank;
            return CC_OK;
        }
        if (t->pair_key[i] == key) return CC_OK;   /* keep the first (best) rank */
    }
}

static int merge_rank(const cc_tokenizer *t, int a, int b)
{
    const size_t mask = t->pair_cap - 1;
    const uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    for (size_t i = hash_pair(key) & mask;; i = (i + 1) & mask) {
        if (t->pair_rank[i] < 0) return -1;
        if (t->pair_key[i] == key) return t->pair_rank[i];
    }
}

/* Length of the UTF-8 character starting at s (1 for a stray byte): the lead
 * byte and up to three continuation bytes that follow it. */
static size_t utf8_char_len(const unsigned char *s)
{
    size_t want = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
                : (s[0] & 0xf8) == 0xf0 ? 4 : 1;
    size_t n = 1;
    while (n < want && (s[n] & 0xc0) == 0x80) n++;
    return n;
}

static cc_status push(int *ids, size_t cap, size_t *n, int id)
{
    if (*n >= cap)
        return cc_error_set(CC_ERR_RANGE, "tokenizer: output holds %zu ids, text needs more", cap);
    ids[(*n)++] = id;
    return CC_OK;
}

/* Pushes the tokens of one character: its piece, or its bytes. */
static cc_status push_char(const cc_tokenizer *t, const char *c, size_t len, int *ids,
                           size_t cap, size_t *n)
{
    int id = tok_lookup(t, c, len);
    if (id >= 0) return push(ids, cap, n, id);
    for (size_t i = 0; i < len; i++) {
        int b = t->byte_token[(unsigned char)c[i]];
        CC_TRY(push(ids, cap, n, b >= 0 ? b : t->unk_id));
    }
    return CC_OK;
}

/* The best merge among adjacent pairs: index of the left token, -1 if none. */
static int best_merge(const cc_tokenizer *t, const int *ids, size_t n, char *scratch,
                      int *merged_id)
{
    int best = -1;
    float best_score = 0.0f;
    int best_rank = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const size_t la = t->piece_len[ids[i]], lb = t->piece_len[ids[i + 1]];
        memcpy(scratch, t->pieces[ids[i]], la);
        memcpy(scratch + la, t->pieces[ids[i + 1]], lb);
        const int id = tok_lookup(t, scratch, la + lb);
        if (id < 0) continue;
        if (t->pair_key) {
            const int rank = merge_rank(t, ids[i], ids[i + 1]);
            if (rank < 0 || (best >= 0 && rank >= best_rank)) continue;
            best_rank = rank;
        } else {
            if (best >= 0 && t->scores[id] <= best_score) continue;
            best_score = t->scores[id];
        }
        best = (int)i;
        *merged_id = id;
    }
    return best;
}

cc_status cc_tokenizer_encode(const cc_tokenizer *t, const char *text, bool bos, bool eos,
                              int *ids, size_t cap, size_t *n_out)
{
    *n_out = 0;
    if (!text) return cc_error_set(CC_ERR_ARG, "tokenizer: NULL text");
    size_t n = 0;
    if (bos) CC_TRY(push(ids, cap, &n, t->bos_id));
    const size_t first = n;
    if (text[0] != '\0') CC_TRY(push_char(t, " ", 1, ids, cap, &n));   /* dummy prefix */
    for (const char *p = text; *p;) {
        const size_t len = utf8_char_len((const unsigned char *)p);
        CC_TRY(push_char(t, p, len, ids, cap, &n));
        p += len;
    }
    /* scratch for the concatenation of two pieces */
    char *scratch = NULL;
    if (n - first > 1) {
        scratch = cc_alloc(2 * t->max_piece_len + 1);
        if (!scratch) return cc_error_wrap(CC_ERR_NOMEM, "tokenizer scratch");
    }
    for (;;) {
        int merged = -1;
        const int at = scratch ? best_merge(t, ids + first, n - first, scratch, &merged) : -1;
        if (at < 0) break;
        ids[first + (size_t)at] = merged;
        memmove(&ids[first + (size_t)at + 1], &ids[first + (size_t)at + 2],
                (n - first - (size_t)at - 2) * sizeof *ids);
        n--;
    }
    cc_free(scratch);
    if (eos) CC_TRY(push(ids, cap, &n, t->eos_id));
    *n_out = n;
    return CC_OK;
}

static const unsigned char all_bytes[256] = {
#define B4(x) x, x + 1, x + 2, x + 3
#define B16(x) B4(x), B4(x + 4), B4(x + 8), B4(x + 12)
    B16(0), B16(16), B16(32), B16(48), B16(64), B16(80), B16(96), B16(112),
    B16(128), B16(144), B16(160), B16(176), B16(192), B16(208), B16(224), B16(240)
#undef B16
#undef B4
};

cc_status cc_tokenizer_piece(const cc_tokenizer *t, int prev, int id, const char **bytes,
                             size_t *len_out)
{
    if (id < 0 || id >= t->vocab_size)
        return cc_error_set(CC_ERR_ARG, "token id %d outside the vocabulary [0, %d)", id,
                            t->vocab_size);
    if (id == t->bos_id || id == t->eos_id) {      /* control tokens print nothing */
        *bytes = "";
        *len_out = 0;
        return CC_OK;
    }
    if (t->byte_value[id] >= 0) {
        *bytes = (const char *)&all_bytes[t->byte_value[id]];
        *len_out = 1;
        return CC_OK;
    }
    const char *p = t->pieces[id];
    size_t len = t->piece_len[id];
    if (prev == t->bos_id && len > 0 && p[0] == ' ') { p++; len--; }  /* the dummy prefix */
    *bytes = p;
    *len_out = len;
    return CC_OK;
}

cc_status cc_tokenizer_decode(const cc_tokenizer *t, const int *ids, size_t n, char *buf,
                              size_t cap, size_t *len_out)
{
    size_t len = 0;
    if (len_out) *len_out = 0;
    if (cap == 0) return cc_error_set(CC_ERR_RANGE, "tokenizer: empty decode buffer");
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t pl;
        /* the first token after a missing BOS still carries its dummy space */
        CC_TRY(cc_tokenizer_piece(t, i ? ids[i - 1] : t->bos_id, ids[i], &p, &pl));
        if (len + pl + 1 > cap)
            return cc_error_set(CC_ERR_RANGE, "tokenizer: decoded text exceeds %zu bytes", cap);
        memcpy(buf + len, p, pl);
        len += pl;
    }
    buf[len] = '\0';
    if (len_out) *len_out = len;
    return CC_OK;
}
