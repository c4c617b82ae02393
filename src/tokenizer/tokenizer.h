/* tokenizer — the LLaMA SentencePiece BPE vocabulary with byte fallback,
 * loaded from llama2.c `tokenizer.bin` or Hugging Face `tokenizer.json`:
 * text to token ids and back, as llama2.c's encode()/decode() do.  The
 * client alone tokenizes; the parties only ever see one-hot shares. */
#ifndef CARACAL_TOKENIZER_H
#define CARACAL_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include "caracal/status.h"

typedef struct cc_tokenizer cc_tokenizer;
enum { CC_TOKEN_UNK = 0, CC_TOKEN_BOS = 1, CC_TOKEN_EOS = 2 };

/* Parse a tokenizer from memory: `len` bytes of a llama2.c tokenizer.bin or
 * of a Hugging Face tokenizer.json (no terminator needed).  Errors name the
 * format, not a file.  The buffer is not kept. */
cc_status cc_tokenizer_parse_bin(const void *buf, size_t len, cc_tokenizer **out);
cc_status cc_tokenizer_parse_json(const char *text, size_t len, cc_tokenizer **out);
/* Read a file and parse it as above (errors name the file). */
cc_status cc_tokenizer_load_bin(const char *path, cc_tokenizer **out);
cc_status cc_tokenizer_load_json(const char *path, cc_tokenizer **out);
/* By extension: *.json -> tokenizer.json, else tokenizer.bin. */
cc_status cc_tokenizer_load(const char *path, cc_tokenizer **out);
void cc_tokenizer_free(cc_tokenizer *t);
int cc_tokenizer_vocab_size(const cc_tokenizer *t);

/* Encodes UTF-8 text as llama2.c's encode(): a dummy space is prepended to
 * non-empty text, characters missing from the vocabulary fall back to byte
 * tokens <0xNN>, then the best-scoring pair merge is applied until none is
 * left.  Writes at most `cap` ids; *n_out is the count (an error if cap is
 * too small: strlen(text) + 3 always suffices). */
cc_status cc_tokenizer_encode(const cc_tokenizer *t, const char *text, bool bos, bool eos,
                              int *ids, size_t cap, size_t *n_out);
/* The bytes of one token as it is printed after `prev`: byte tokens become
 * their byte, the leading space after BOS is dropped.  *len_out bytes, not
 * NUL-terminated (a byte token can be 0). */
cc_status cc_tokenizer_piece(const cc_tokenizer *t, int prev, int id,
                             const char **bytes, size_t *len_out);
/* Decodes a sequence into buf (NUL-terminated, truncation is an error). */
cc_status cc_tokenizer_decode(const cc_tokenizer *t, const int *ids, size_t n,
                              char *buf, size_t cap, size_t *len_out);

#endif
