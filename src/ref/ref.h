/* ref — the plaintext float32 forward pass of LLaMA, GPT-2 and BERT
 * (OpenBLAS sgemm): the accuracy oracle the secure engines are measured
 * against. */
#ifndef CARACAL_REF_H
#define CARACAL_REF_H

#include "model.h"

typedef struct cc_ref_model cc_ref_model;

/* Allocates every activation and the KV cache once.  `max_batch` is the most
 * positions one call processes at once (prefill chunks; BERT sequences
 * longer than it are an error); 0 means max_seq_len.  The weights must
 * outlive the model. */
cc_status cc_ref_create(const cc_model_weights *w, int max_batch, cc_ref_model **out);
void cc_ref_free(cc_ref_model *m);

/* Decoder models (LLaMA, GPT-2).  Feeds tokens[0..n) at positions
 * pos0..pos0+n-1, appending to the KV cache (positions before pos0 must
 * already be in it), and writes the logits of every fed position to
 * logits[n][vocab] (may be NULL).  n = 1 is the token-at-a-time step;
 * larger n is the batched prefill (split into max_batch chunks). */
cc_status cc_ref_forward(cc_ref_model *m, const int *tokens, int n, int pos0, float *logits);
/* Greedy decoding: prefill `prompt`, then append argmax tokens until n_new
 * are generated (or max_seq_len is reached).  out[] gets the new tokens. */
cc_status cc_ref_generate(cc_ref_model *m, const int *prompt, int n_prompt, int n_new,
                          int *out, int *n_out);

/* BERT: bidirectional encoding of tokens[0..n) (token_types may be NULL ->
 * all 0).  Writes the final hidden states hidden[n][dim] (may be NULL) and
 * the classifier logits class_logits[n_classes] computed from the pooled
 * first token (may be NULL; an error if the model has no classifier). */
cc_status cc_ref_bert_forward(cc_ref_model *m, const int *tokens, const int *token_types, int n,
                              float *hidden, float *class_logits);

#endif
