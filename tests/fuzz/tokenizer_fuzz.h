/* What the two tokenizer harnesses do with a vocabulary that parsed:
 * encode a short string (ASCII, a multi-byte character, a byte with no
 * token of its own) and decode the ids back.  Invariants: encoding never
 * needs more than strlen + 3 ids, every id is in the vocabulary, every
 * piece and the decoded text stay within their lengths. */
#ifndef CARACAL_TOKENIZER_FUZZ_H
#define CARACAL_TOKENIZER_FUZZ_H

#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "tokenizer.h"

static inline void fuzz_tokenizer_use(cc_tokenizer *t)
{
    static const char text[] = "Once upon a time, \xc3\xa9t\xc3\xa9 \x01!";
    int ids[sizeof text + 3];
    size_t n = 0;
    int vocab = cc_tokenizer_vocab_size(t);
    FUZZ_CHECK(vocab > 0);
    if (cc_tokenizer_encode(t, text, true, true, ids, sizeof ids / sizeof ids[0], &n) == CC_OK) {
        FUZZ_CHECK(n <= sizeof ids / sizeof ids[0]);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(ids[i] >= 0 && ids[i] < vocab);
            const char *p;
            size_t len;
            if (cc_tokenizer_piece(t, i ? ids[i - 1] : CC_TOKEN_BOS, ids[i], &p, &len) == CC_OK && len)
                FUZZ_CHECK(p != NULL);
        }
        char out[512];
        size_t len = 0;
        if (cc_tokenizer_decode(t, ids, n, out, sizeof out, &len) == CC_OK)
            FUZZ_CHECK(len < sizeof out && out[len] == '\0');
    }
    cc_tokenizer_free(t);
}

#endif
