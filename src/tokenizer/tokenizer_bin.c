/* llama2.c tokenizer.bin: int32 max_token_length, then per token
 * float32 score, int32 length, bytes.  The token count is not stored, so
 * entries are read to the end of the file. */
#include <string.h>

#include "core.h"
#include "tokenizer_impl.h"

/* Walks the entries once; when t is NULL only counts them. */
static cc_status parse(const unsigned char *d, size_t len, const char *path, cc_tokenizer *t,
                       int *count)
{
    int32_t max_len;
    memcpy(&max_len, d, 4);
    if (max_len <= 0 || max_len > 4096)
        return cc_error_set(CC_ERR_FORMAT, "%s: max_token_length %d is not plausible "
                            "(not a llama2.c tokenizer.bin?)", path, max_len);
    size_t off = 4;
    int n = 0;
    while (off < len) {
        float score;
        int32_t plen;
        if (len - off < 8)
            return cc_error_set(CC_ERR_FORMAT, "%s: truncated entry header of token %d", path, n);
        memcpy(&score, d + off, 4);
        memcpy(&plen, d + off + 4, 4);
        off += 8;
        if (plen < 0 || plen > max_len)
            return cc_error_set(CC_ERR_FORMAT, "%s: token %d has length %d outside [0, %d]", path,
                                n, plen, max_len);
        if (len - off < (size_t)plen)
            return cc_error_set(CC_ERR_FORMAT, "%s: truncated piece of token %d", path, n);
        if (t) CC_TRY(tok_set_piece(t, n, (const char *)d + off, (size_t)plen, score));
        off += (size_t)plen;
        if (++n > (1 << 22))
            return cc_error_set(CC_ERR_FORMAT, "%s: more than 2^22 tokens", path);
    }
    *count = n;
    return CC_OK;
}

cc_status cc_tokenizer_parse_bin(const void *buf, size_t len, cc_tokenizer **out)
{
    static const char what[] = "tokenizer.bin";
    *out = NULL;
    const unsigned char *d = buf;
    int n = 0;
    cc_tokenizer *t = NULL;
    cc_status s = CC_OK;
    if (len < 4) s = cc_error_set(CC_ERR_FORMAT, "%s: %zu bytes, too short for a tokenizer", what, len);
    if (s == CC_OK) s = parse(d, len, what, NULL, &n);
    if (s == CC_OK && n == 0) s = cc_error_set(CC_ERR_FORMAT, "%s: no tokens", what);
    if (s == CC_OK) s = tok_alloc(n, &t);
    if (s == CC_OK) s = parse(d, len, what, t, &n);
    if (s == CC_OK) s = tok_finish(t);
    if (s != CC_OK) {
        cc_tokenizer_free(t);
        return s;
    }
    *out = t;
    return CC_OK;
}

cc_status cc_tokenizer_load_bin(const char *path, cc_tokenizer **out)
{
    *out = NULL;
    unsigned char *d;
    size_t len;
    CC_TRY(cc_read_file(path, &d, &len));
    cc_status s = cc_tokenizer_parse_bin(d, len, out);
    cc_free(d);
    if (s != CC_OK) return cc_error_wrap(s, "loading tokenizer %s", path);
    return CC_OK;
}
