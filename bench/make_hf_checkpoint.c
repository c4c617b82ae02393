/* make_hf_checkpoint DIR [LAYERS [VOCAB]] — a LLaMA-7B-shaped Hugging Face
 * checkpoint (f16 safetensors + config.json, tied embeddings) for timing
 * `caracal-share --checkpoint` where no real 7B checkpoint can be
 * downloaded.  Values are tests/import's deterministic 8-bit weights (exact
 * in f16), written with its independent safetensors writer.  Holds the
 * whole checkpoint as float32 while writing (1 layer: ~1 GB). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/test_checkpoint_writer.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: make_hf_checkpoint DIR [LAYERS (1)] [VOCAB (8000)]\n");
        return 2;
    }
    const char *dir = argv[1];
    const int L = argc > 2 ? atoi(argv[2]) : 1, V = argc > 3 ? atoi(argv[3]) : 8000;
    enum { D = 4096, H = 11008, HEADS = 32 };
    if (L < 1 || L > 32 || V < 1 || (mkdir(dir, 0755) != 0 && access(dir, F_OK) != 0)) {
        fprintf(stderr, "make_hf_checkpoint: bad arguments or cannot create %s\n", dir);
        return 1;
    }
    static const struct { const char *name; int64_t rows, cols; } per_layer[] = {
        { "input_layernorm.weight", D, 0 }, { "self_attn.q_proj.weight", D, D },
        { "self_attn.k_proj.weight", D, D }, { "self_attn.v_proj.weight", D, D },
        { "self_attn.o_proj.weight", D, D }, { "post_attention_layernorm.weight", D, 0 },
        { "mlp.gate_proj.weight", H, D }, { "mlp.up_proj.weight", H, D },
        { "mlp.down_proj.weight", D, H },
    };
    const size_t n = 2 + 9 * (size_t)L;
    tw_tensor *t = calloc(n, sizeof *t);
    char (*names)[96] = calloc(n, sizeof *names);
    uint64_t state = 12345;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t rows, cols;
        if (i == 0) {
            snprintf(names[k], 96, "model.embed_tokens.weight");
            rows = V; cols = D;
        } else if (i == n - 1) {
            snprintf(names[k], 96, "model.norm.weight");
            rows = D; cols = 0;
        } else {
            size_t j = (i - 1) % 9;
            snprintf(names[k], 96, "model.layers.%zu.%s", (i - 1) / 9, per_layer[j].name);
            rows = per_layer[j].rows; cols = per_layer[j].cols;
        }
        size_t numel = (size_t)rows * (size_t)(cols ? cols : 1);
        float *data = malloc(numel * sizeof *data);
        if (!data) { fprintf(stderr, "make_hf_checkpoint: out of memory\n"); return 1; }
        tw_fill(data, numel, &state, cols ? 12 : 8);
        t[k] = (tw_tensor){ names[k], cols ? 2 : 1, { rows, cols }, data };
        k++;
    }
    char path[4096], cfg[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (tw_write_safetensors(path, "F16", t, n) != 0) {
        fprintf(stderr, "make_hf_checkpoint: writing %s failed\n", path);
        return 1;
    }
    snprintf(cfg, sizeof cfg, "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
             "\"hidden_size\":%d,\"intermediate_size\":%d,\"num_hidden_layers\":%d,"
             "\"num_attention_heads\":%d,\"num_key_value_heads\":%d,\"vocab_size\":%d,"
             "\"max_position_embeddings\":2048,\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,"
             "\"tie_word_embeddings\":true,\"hidden_act\":\"silu\",\"rope_scaling\":null}",
             D, H, L, HEADS, HEADS, V);
    snprintf(path, sizeof path, "%s/config.json", dir);
    tw_write_text(path, cfg);
    for (size_t i = 0; i < n; i++) free((void *)t[i].data);
    free(names);
    free(t);
    printf("wrote %s: LLaMA-7B shapes, %d layer(s), vocab %d, f16, tied embeddings\n", dir, L, V);
    return 0;
}
