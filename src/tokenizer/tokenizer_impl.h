/* tokenizer (private) — tokenizer state shared by the two file readers. */
#ifndef CARACAL_TOKENIZER_IMPL_H
#define CARACAL_TOKENIZER_IMPL_H

#include <stdint.h>
#include "tokenizer.h"

struct cc_tokenizer {
    int vocab_size;
    char **pieces;        /* NUL-terminated, SentencePiece's "▁" stored as ' ' */
    size_t *piece_len;
    size_t max_piece_len;
    float *scores;        /* merge priority (tokenizer.bin) */
    int bos_id, eos_id;
    int byte_token[256];  /* id of <0xNN>, -1 when the vocabulary lacks it */
    int16_t *byte_value;  /* [vocab]: the byte a <0xNN> token stands for, else -1 */
    int unk_id;           /* used only when a byte has no <0xNN> token */
    /* piece -> id, open addressing (capacity a power of two, -1 = empty) */
    int *index;
    size_t index_cap;
    /* tokenizer.json only: (left id, right id) -> merge rank.  When present,
     * merges go by lowest rank; otherwise by the merged piece's score. */
    uint64_t *pair_key;
    int *pair_rank;
    size_t pair_cap;
};

/* Allocates an empty tokenizer with room for vocab_size pieces. */
cc_status tok_alloc(int vocab_size, cc_tokenizer **out);
/* Sets piece `id` (copied; every "▁" (U+2581) becomes ' '). */
cc_status tok_set_piece(cc_tokenizer *t, int id, const char *bytes, size_t len, float score);
/* After all pieces are set: builds the index, byte table and special ids.
 * A duplicate piece or a missing id is an error. */
cc_status tok_finish(cc_tokenizer *t);
int tok_lookup(const cc_tokenizer *t, const char *s, size_t len);
/* tokenizer.json: registers merge (a, b) with the given rank. */
cc_status tok_add_merge(cc_tokenizer *t, int a, int b, int rank);

#endif
