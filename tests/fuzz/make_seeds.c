/* Writes the seed corpora of tests/fuzz/corpus from well-formed inputs
 * (the same shapes the unit tests use).  Run once after changing a format:
 *   build-fuzz/bin/fuzz_make_seeds tests/fuzz/corpus
 * and commit the files.  Not a fuzzer itself. */
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "bundle.h"
#include "bundle_impl.h"
#include "job_impl.h"
#include "net_impl.h"

static const char *root;

static void put(const char *harness, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, harness, name);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f && fwrite(p, 1, n, f) == n && fclose(f) == 0);
}

/* ---- frames: 3 control bytes, then frames of a plaintext link ---------------- */
typedef struct wire { uint8_t b[4096]; size_t n; uint64_t seq; } wire;

static void frame(wire *w, int type, uint64_t msg_len, const char *payload, uint32_t n, int flags)
{
    cc_frame_hdr h = {.type = (uint8_t)type, .flags = (uint8_t)flags, .op_hash = cc_op_hash("seed"),
                      .seq = w->seq++, .msg_len = msg_len, .chunk_len = n};
    cc_frame_encode(&h, w->b + w->n);
    w->n += CC_FRAME_HDR_BYTES;
    memcpy(w->b + w->n, payload, n);
    w->n += n;
}

static void control(wire *w, int nrecv, bool pre, uint16_t len)
{
    w->b[0] = (uint8_t)(nrecv | (pre ? 4 : 0));
    w->b[1] = (uint8_t)len;
    w->b[2] = (uint8_t)(len >> 8);
    w->n = 3;
    w->seq = 0;
}

enum { F = CC_FRAME_FIRST, L = CC_FRAME_LAST };

static void frames(void)
{
    wire w;
    control(&w, 1, false, 5);
    frame(&w, CC_FRAME_DATA, 5, "hello", 5, F | L);
    frame(&w, CC_FRAME_BYE, 0, "", 0, F | L);
    put("frame", "one_message_bye", w.b, w.n);

    control(&w, 1, true, 10);
    frame(&w, CC_FRAME_DATA, 10, "0123", 4, F);
    frame(&w, CC_FRAME_DATA, 10, "4567", 4, 0);
    frame(&w, CC_FRAME_DATA, 10, "89", 2, L);
    frame(&w, CC_FRAME_BYE, 0, "", 0, F | L);
    put("frame", "chunked_posted", w.b, w.n);

    control(&w, 3, false, 3);
    frame(&w, CC_FRAME_DATA, 3, "abc", 3, F | L);
    frame(&w, CC_FRAME_DATA, 3, "def", 3, F | L);
    frame(&w, CC_FRAME_DATA, 3, "ghi", 3, F | L);
    frame(&w, CC_FRAME_BYE, 0, "", 0, F | L);
    put("frame", "three_messages", w.b, w.n);

    control(&w, 2, true, 0);
    frame(&w, CC_FRAME_DATA, 0, "", 0, F | L);
    frame(&w, CC_FRAME_DATA, 0, "", 0, F | L);
    put("frame", "empty_messages_no_bye", w.b, w.n);

    control(&w, 1, false, 4);
    frame(&w, CC_FRAME_ABORT, 11, "P2 crashed!", 11, F | L);
    put("frame", "abort", w.b, w.n);

    control(&w, 1, false, 6);
    frame(&w, CC_FRAME_DATA, 6, "abc", 3, F);
    w.seq = 7;
    frame(&w, CC_FRAME_DATA, 6, "def", 3, L);
    put("frame", "out_of_sequence", w.b, w.n);
}

/* ---- handshake: mode byte, then what the remote end sends -------------------- */
static void hello(uint8_t out[80], int role, int target, int flags, int status, const uint8_t pk[32])
{
    memset(out, 0, 80);
    memcpy(out, "CARACAL1", 8);
    out[8] = 1;
    out[9] = (uint8_t)role;
    out[10] = (uint8_t)target;
    out[11] = (uint8_t)flags;
    out[12] = (uint8_t)status;
    memcpy(out + 16, pk, 32);
    for (int i = 0; i < 32; i++) out[48 + i] = (uint8_t)(i * 7 + role);
}

static void handshakes(void)
{
    uint8_t pk[4][32], sk[32];
    for (int r = 0; r < 4; r++) {
        uint8_t seed[crypto_kx_SEEDBYTES] = {(uint8_t)(r + 1)}; /* as in fuzz_handshake.c */
        FUZZ_CHECK(crypto_kx_seed_keypair(pk[r], sk, seed) == 0);
    }
    uint8_t in[1 + 80 + 32];
    memset(in, 0x5a, sizeof in);
    struct { const char *name; int mode, role, target, flags, status; } c[] = {
        {"respond_p0_aes", 0, 0, 1, 2, 0},
        {"respond_p2_chacha", 0, 2, 1, 0, 0},
        {"respond_client", 0, 3, 1, 2, 0},
        {"respond_insecure", 2, 0, 1, 1, 0},
        {"respond_wrong_target", 0, 0, 2, 2, 0},
        {"initiate_ok", 1, 0, 1, 2, 0},
        {"initiate_refused_key", 1, 0, 1, 2, 1},
        {"initiate_refused_mode", 3, 0, 1, 1, 3},
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(c); i++) {
        in[0] = (uint8_t)c[i].mode;
        hello(in + 1, c[i].role, c[i].target, c[i].flags, c[i].status, pk[c[i].role]);
        put("handshake", c[i].name, in, sizeof in);
    }
    put("handshake", "hello_only", in, 81);
}

/* ---- key files and cluster configs ------------------------------------------- */
static void keys_and_configs(void)
{
    cc_keypair kp;
    uint8_t seed[crypto_kx_SEEDBYTES] = {42};
    FUZZ_CHECK(crypto_kx_seed_keypair(kp.pk, kp.sk, seed) == 0);
    uint8_t both[64];
    memcpy(both, kp.sk, 32);
    memcpy(both + 32, kp.pk, 32);
    char hex[140];
    cc_hex_encode(both, 64, hex);
    put("keyfile", "no_newline", hex, 128);
    strcat(hex, "\n");
    put("keyfile", "newline", hex, 129);
    hex[128] = '\r';
    put("keyfile", "crlf", hex, 129);

    char pkhex[65], text[1024];
    cc_hex_encode(kp.pk, 32, pkhex);
    int n = snprintf(text, sizeof text,
                     "# test\n\nparty 1 10.0.0.2:7401 %s\nparty 0 localhost:7400 %s  # P0\n"
                     "party 2 [::1]:7402 %s\nclient %s\n", pkhex, pkhex, pkhex, pkhex);
    put("cluster", "unit_test", text, (size_t)n);
    n = snprintf(text, sizeof text,
                 "# caracal cluster config: party ID HOST:PORT PUBKEY, optional client PUBKEY\n"
                 "party 0 127.0.0.1:7400 %s\nparty 1 127.0.0.1:7401 %s\nparty 2 127.0.0.1:7402 %s\n",
                 pkhex, pkhex, pkhex);
    put("cluster", "keygen_local", text, (size_t)n);
    n = snprintf(text, sizeof text, "party 0 a:1 %s\r\nparty 2\t[fd00::3]:65535 %s\r\nparty 1 b:2 %s",
                 pkhex, pkhex, pkhex);
    put("cluster", "crlf_tabs_v6", text, (size_t)n);
}

/* ---- numeric options: selector byte (see fuzz_cli_num.c), then the text ------ */
static void cli(void)
{
    struct { const char *name; uint8_t sel; const char *text; } c[] = {
        {"long", 0, "-9223372036854775808"}, {"int", 1 | 3 << 3, "16"}, {"u32", 2 | 5 << 3, "60000"},
        {"ids", 3 | 1 << 3, "1,461,461,319"}, {"seed", 4, "00112233445566778899aabbccddeeff"},
        {"parties", 5, "[::1]:7400"}, {"host", 5, "10.0.0.1:7401"}, {"cpus", 6, "0-1,0"},
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(c); i++) {
        uint8_t buf[64];
        buf[0] = c[i].sel;
        size_t n = strlen(c[i].text);
        memcpy(buf + 1, c[i].text, n);
        put("cli_num", c[i].name, buf, n + 1);
    }
}

/* ---- model side: bundle party files, w2 header, job messages ----------------- */
static void read_whole(const char *path, uint8_t **p, size_t *n)
{
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f && fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    FUZZ_CHECK(len > 0 && fseek(f, 0, SEEK_SET) == 0);
    *p = malloc((size_t)len);
    FUZZ_CHECK(*p && fread(*p, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
}

static void bundles(void)
{
    /* a tiny synthetic LLaMA: three party files of ~5 KB each */
    cc_model_config c = {
        .arch = CC_ARCH_LLAMA, .dim = 16, .hidden_dim = 24, .n_layers = 1, .n_heads = 2,
        .n_kv_heads = 1, .vocab_size = 11, .max_seq_len = 8, .norm_eps = 1e-5f,
        .rope_theta = 10000.0f,
    };
    static const uint8_t seed[16] = { 7 };
    cc_tensor_source src;
    FUZZ_CHECK(cc_tensor_source_synthetic(&c, seed, &src) == CC_OK);
    char dir[] = "/tmp/caracal-seeds-XXXXXX";
    FUZZ_CHECK(mkdtemp(dir));
    FUZZ_CHECK(cc_bundle_write(&src, dir, NULL) == CC_OK);
    cc_tensor_source_free(&src);
    char path[600], name[32];
    for (int p = 0; p < 3; p++) {
        snprintf(path, sizeof path, "%s/%s", dir, cc_bundle_party_file(p));
        uint8_t *b;
        size_t n;
        read_whole(path, &b, &n);
        /* the bundle_table harness reads one mode byte first (fuzz_bundle_table.c) */
        uint8_t *in = malloc(n + 1);
        FUZZ_CHECK(in);
        for (int mode = 0; mode < 2; mode++) {
            in[0] = (uint8_t)mode;
            memcpy(in + 1, b, n);
            snprintf(name, sizeof name, "party%d-mode%d", p, mode);
            put("bundle_table", name, in, n + 1);
        }
        free(in);
        free(b);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/%s", dir, CCB_DATA_FILE_NAME);
    uint8_t *w;
    size_t n;
    read_whole(path, &w, &n);
    FUZZ_CHECK(n >= CCW_DATA_START);
    /* w2_header: one mode byte, then the header page */
    uint8_t in[1 + CCW_DATA_START];
    for (int mode = 0; mode < 2; mode++) {
        in[0] = (uint8_t)mode;
        memcpy(in + 1, w, CCW_DATA_START);
        snprintf(name, sizeof name, "w2-mode%d", mode);
        put("w2_header", name, in, sizeof in);
    }
    free(w);
    unlink(path);
    rmdir(dir);
}

static void jobs(void)
{
    /* job_wire: a cc_wire_job, a cc_wire_hello, a cc_party_report (the
     * harness cuts its input in that order) */
    static uint8_t buf[sizeof(cc_wire_job) + sizeof(cc_wire_hello) + sizeof(cc_party_report)];
    cc_wire_job job = {.magic = CC_JOB_MAGIC, .version = CC_JOB_VERSION, .n_prompt = 8, .n_new = 4};
    cc_wire_hello hello = {.magic = CC_HELLO_MAGIC, .vocab = 512, .dim = 64, .n_layers = 5, .f = 18};
    static cc_party_report rep;
    rep.n_tags = 2;
    strcpy(rep.tags[0].tag, "matmul");
    strcpy(rep.tags[1].tag, "softmax");
    rep.tags[0].calls = 3;
    memcpy(buf, &job, sizeof job);
    memcpy(buf + sizeof job, &hello, sizeof hello);
    memcpy(buf + sizeof job + sizeof hello, &rep, sizeof rep);
    put("job_wire", "valid", buf, sizeof buf);
    put("job_wire", "job-only", buf, sizeof job);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_seeds CORPUS_ROOT\n");
        return 2;
    }
    FUZZ_CHECK(sodium_init() >= 0);
    root = argv[1];
    frames();
    handshakes();
    keys_and_configs();
    cli();
    bundles();
    jobs();
    return 0;
}
