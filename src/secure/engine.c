/* The engine interface: one implementation table per architecture, picked
 * by the provider's config when the engine is created. */
#include "core.h"
#include "secure_impl.h"

struct cc_engine {
    const cc_engine_impl *impl;
    void *m;
};

static const cc_engine_impl *const engines[] = { &cc_engine_llama, &cc_engine_gpt2,
                                                 &cc_engine_bert };

cc_status cc_engine_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                           int max_batch, cc_engine **out)
{
    cc_arch arch = cc_sweights_config(w)->arch;
    const cc_engine_impl *impl = NULL;
    for (size_t i = 0; i < CC_ARRAY_LEN(engines); i++)
        if (engines[i]->arch == arch) impl = engines[i];
    if (!impl)
        return cc_error_set(CC_ERR_UNSUPPORTED, "no secure engine for a %s model",
                            cc_arch_name(arch));
    cc_engine *e = cc_calloc(1, sizeof *e);
    if (!e) return CC_ERR_NOMEM;
    e->impl = impl;
    cc_status s = impl->create(p, w, approx, max_seq, max_batch, &e->m);
    if (s != CC_OK) {
        cc_free(e);
        return s;
    }
    *out = e;
    return CC_OK;
}

void cc_engine_free(cc_engine *e)
{
    if (!e) return;
    e->impl->free(e->m);
    cc_free(e);
}

void cc_engine_on_progress(cc_engine *e, cc_secure_progress fn, void *ctx)
{
    e->impl->on_progress(e->m, fn, ctx);
}

bool cc_engine_generates(const cc_engine *e) { return e->impl->generates; }
int cc_engine_pos(const cc_engine *e) { return e->impl->pos(e->m); }

cc_status cc_engine_forward(cc_engine *e, const cc_ashare *onehot, const cc_ashare *type_onehot,
                            int n, int out_rows, cc_ashare *out)
{
    return e->impl->forward(e->m, onehot, type_onehot, n, out_rows, out);
}
