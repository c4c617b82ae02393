/* Hugging Face tokenizer.json (the LLaMA SentencePiece-BPE export):
 *   model.type "BPE", model.vocab {piece: id}, model.merges ["a b", ...] or
 *   [["a", "b"], ...] (rank = position), model.byte_fallback, added_tokens.
 * Pieces use "▁" for space like SentencePiece; they are stored with ' ' so
 * both file formats share one encoder.  Parsed with json-c. */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "core.h"
#include "tokenizer_impl.h"

static struct json_object *member(struct json_object *o, const char *key, json_type type)
{
    struct json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type)) return NULL;
    return v;
}

/* Id of a piece given in "▁" form (merges name pieces, not ids). */
static int lookup_raw(const cc_tokenizer *t, const char *raw, size_t len, char *scratch)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && (unsigned char)raw[i] == 0xe2 && (unsigned char)raw[i + 1] == 0x96 &&
            (unsigned char)raw[i + 2] == 0x81) {
            scratch[n++] = ' ';
            i += 2;
        } else {
            scratch[n++] = raw[i];
        }
    }
    return tok_lookup(t, scratch, n);
}

static cc_status load_merges(cc_tokenizer *t, struct json_object *merges)
{
    const size_t n = json_object_array_length(merges);
    t->pair_cap = 16;
    while (t->pair_cap < 2 * n + 16) t->pair_cap <<= 1;
    t->pair_key = cc_alloc(t->pair_cap * sizeof *t->pair_key);
    t->pair_rank = cc_alloc(t->pair_cap * sizeof *t->pair_rank);
    char *scratch = cc_alloc(2 * t->max_piece_len * 3 + 8);
    if (!t->pair_key || !t->pair_rank || !scratch) {
        cc_free(scratch);
        return cc_error_wrap(CC_ERR_NOMEM, "merge table");
    }
    memset(t->pair_rank, 0xff, t->pair_cap * sizeof *t->pair_rank);
    cc_status s = CC_OK;
    for (size_t r = 0; r < n && s == CC_OK; r++) {
        struct json_object *m = json_object_array_get_idx(merges, r);
        const char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        if (json_object_is_type(m, json_type_string)) {          /* "left right" */
            const char *str = json_object_get_string(m);
            const char *sp = strchr(str, ' ');
            if (sp) { a = str; la = (size_t)(sp - str); b = sp + 1; lb = strlen(b); }
        } else if (json_object_is_type(m, json_type_array) && json_object_array_length(m) == 2) {
            struct json_object *x = json_object_array_get_idx(m, 0), *y = json_object_array_get_idx(m, 1);
            if (json_object_is_type(x, json_type_string) && json_object_is_type(y, json_type_string)) {
                a = json_object_get_string(x); la = strlen(a);
                b = json_object_get_string(y); lb = strlen(b);
            }
        }
        if (!a || !b || la == 0 || lb == 0 || la > 3 * t->max_piece_len || lb > 3 * t->max_piece_len) {
            s = cc_error_set(CC_ERR_FORMAT, "merge %zu is not a pair of pieces", r);
            break;
        }
        const int ia = lookup_raw(t, a, la, scratch), ib = lookup_raw(t, b, lb, scratch);
        if (ia < 0 || ib < 0) {
            s = cc_error_set(CC_ERR_FORMAT, "merge %zu names a piece missing from the vocabulary", r);
            break;
        }
        s = tok_add_merge(t, ia, ib, (int)r);
    }
    cc_free(scratch);
    return s;
}

static cc_status load(struct json_object *root, cc_tokenizer **out)
{
    struct json_object *model = member(root, "model", json_type_object);
    if (!model) return cc_error_set(CC_ERR_FORMAT, "no \"model\" object");
    struct json_object *type = member(model, "type", json_type_string);
    if (!type || strcmp(json_object_get_string(type), "BPE") != 0)
        return cc_error_set(CC_ERR_FORMAT, "model type %s is not supported (need \"BPE\")",
                            type ? json_object_get_string(type) : "(missing)");
    struct json_object *vocab = member(model, "vocab", json_type_object);
    struct json_object *merges = member(model, "merges", json_type_array);
    if (!vocab || !merges) return cc_error_set(CC_ERR_FORMAT, "model.vocab or model.merges missing");
    struct json_object *fallback = member(model, "byte_fallback", json_type_boolean);
    if (!fallback || !json_object_get_boolean(fallback))
        return cc_error_set(CC_ERR_FORMAT, "model.byte_fallback is not true (not a SentencePiece "
                            "LLaMA tokenizer)");

    /* the vocabulary size is the largest id + 1, over vocab and added tokens */
    struct json_object *added = member(root, "added_tokens", json_type_array);
    const size_t n_added = added ? json_object_array_length(added) : 0;
    int max_id = -1;
    for (size_t i = 0; i < n_added; i++) {
        struct json_object *a = json_object_array_get_idx(added, i);
        struct json_object *id = member(a, "id", json_type_int), *content = member(a, "content", json_type_string);
        if (!id || !content) return cc_error_set(CC_ERR_FORMAT, "added_tokens[%zu] lacks id/content", i);
        int64_t v = json_object_get_int64(id);
        if (v < 0 || v >= (1 << 22)) return cc_error_set(CC_ERR_FORMAT, "added token id %lld out of range", (long long)v);
        if (v > max_id) max_id = (int)v;
    }
    json_object_object_foreach(vocab, key, val) {
        (void)key;
        if (!json_object_is_type(val, json_type_int))
            return cc_error_set(CC_ERR_FORMAT, "vocab entry is not an integer id");
        int64_t id = json_object_get_int64(val);
        if (id < 0 || id >= (1 << 22)) return cc_error_set(CC_ERR_FORMAT, "vocab id %lld out of range", (long long)id);
        if (id > max_id) max_id = (int)id;
    }
    cc_tokenizer *t;
    CC_TRY(tok_alloc(max_id + 1, &t));
    cc_status s = CC_OK;
    json_object_object_foreach(vocab, piece, idv) {
        s = tok_set_piece(t, (int)json_object_get_int64(idv), piece, strlen(piece), 0.0f);
        if (s != CC_OK) break;
    }
    /* added tokens (<unk>, <s>, </s>, ...) usually repeat vocab entries;
     * those that do not are extra ids */
    for (size_t i = 0; s == CC_OK && i < n_added; i++) {
        struct json_object *a = json_object_array_get_idx(added, i);
        const int id = (int)json_object_get_int64(member(a, "id", json_type_int));
        const char *content = json_object_get_string(member(a, "content", json_type_string));
        if (t->pieces[id]) continue;
        s = tok_set_piece(t, id, content, strlen(content), 0.0f);
    }
    if (s == CC_OK) s = tok_finish(t);
    if (s == CC_OK) s = load_merges(t, merges);
    if (s != CC_OK) {
        cc_tokenizer_free(t);
        return s;
    }
    *out = t;
    return CC_OK;
}

cc_status cc_tokenizer_parse_json(const char *text, size_t len, cc_tokenizer **out)
{
    *out = NULL;
    if (len > INT32_MAX)
        return cc_error_set(CC_ERR_FORMAT, "tokenizer.json: %zu bytes is too large", len);
    struct json_tokener *tok = json_tokener_new();
    if (!tok) return cc_error_wrap(CC_ERR_NOMEM, "tokenizer.json");
    struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return cc_error_set(CC_ERR_FORMAT, "cannot parse tokenizer.json: %s",
                            json_tokener_error_desc(jerr));
    }
    cc_status s = load(root, out);
    json_object_put(root);
    return s;
}

cc_status cc_tokenizer_load_json(const char *path, cc_tokenizer **out)
{
    *out = NULL;
    unsigned char *text;
    size_t len;
    CC_TRY(cc_read_file(path, &text, &len));
    cc_status s = cc_tokenizer_parse_json((const char *)text, len, out);
    cc_free(text);
    if (s != CC_OK) return cc_error_wrap(s, "tokenizer %s", path);
    return CC_OK;
}

cc_status cc_tokenizer_load(const char *path, cc_tokenizer **out)
{
    const size_t n = strlen(path);
    if (n >= 5 && strcmp(path + n - 5, ".json") == 0) return cc_tokenizer_load_json(path, out);
    return cc_tokenizer_load_bin(path, out);
}
