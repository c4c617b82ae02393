/* llama7b_token — the client of Caracal's secure LLaMA inference.
 *
 * With no arguments it runs the three parties on this machine (loopback, one
 * process each) with LLaMA-7B geometry and synthetic weights, feeds a fixed
 * 8-token prompt, generates one token and prints the report.  See --help. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cli.h"
#include "core.h"
#include "kern.h"
#include "cli_impl.h"
#include "bundle.h"
#include "import.h"
#include "job.h"
#include "model.h"
#include "tokenizer.h"
#include "net.h"
#include "nn.h"
#include "thread.h"

#define MAX_IDS 1024

/* "Once upon a time there was a" in the LLaMA vocabulary, BOS first. */
static const int default_prompt[] = { 1, 9038, 2501, 263, 931, 727, 471, 263 };

typedef struct options {
    const char *checkpoint, *shares, *synthetic, *prompt, *tokenizer, *ids;
    const char *config, *key, *parties, *json, *all_logits, *cpus, *reveal, *approx;
    int n_new, threads, frac_bits;
    unsigned connect_timeout_ms;
    bool insecure, verify, quiet;
    cc_link_profile link;   /* --link-profile: every link of the run, client links included */
} options;

static void usage(FILE *out)
{
    fprintf(out,
"usage: llama7b_token [options]\n"
"Secure LLaMA inference on three compute parties (PUMA, replicated sharing).\n"
"With no options: three local parties, LLaMA-7B geometry, synthetic weights,\n"
"a fixed 8-token prompt, one generated token.\n\n"
"weights (local parties):\n"
"  --synthetic GEOM       seed-derived weights, no files: llama-7b (default), stories260k,\n"
"                         gpt2-base\n"
"  --checkpoint FILE      llama2.c .bin or HF safetensors dir; shared on the fly\n"
"  --shares DIR           pre-made share bundles (caracal-share)\n"
"  -f, --frac-bits N      fixed-point fractional bits (default 18)\n"
"  --verify               check every tensor checksum when opening bundles\n"
"input:\n"
"  --ids 1,2,3            prompt token ids (BOS included by you)\n"
"  --prompt TEXT          prompt text, needs --tokenizer FILE (tokenizer.bin|.json)\n"
"  -n N                   tokens to generate (default 1)\n"
"  --reveal token|logits  reveal only the token id (default) or the logits\n"
"  --approx puma|precise  nonlinear approximation set (default precise)\n"
"  --all-logits FILE      write float32 logits [prompt][vocab] of every prompt position\n"
"remote parties:\n"
"  --config FILE          cluster config (docs/NETWORK.md) with the parties' keys\n"
"  --key FILE             this client's secret key (caracal-keygen)\n"
"  --parties H:P,H:P,H:P  override the party endpoints of the config\n"
"  --connect-timeout-ms N give up connecting to the parties after N ms (default 30000)\n"
"run:\n"
"  --threads N            worker threads per local party (default: cores / 3, >= 1)\n"
"  --cpus LIST            cpu list for the local parties' workers (default: each\n"
"                         party its own third of the cores, when there are >= 3)\n"
"  --insecure-plaintext-links  no link encryption (benchmarks on a trusted network)\n"
"  --link-profile P       emulate a network on every link: none (default), lan (1 ms\n"
"                         round trip, 10 Gbit/s), wan (40 ms, 0.4 Gbit/s) or RTT_MS,GBPS\n"
"                         (e.g. 20,1.5); remote parties take the flag themselves\n"
"  --json FILE            write the report as JSON\n"
"  -q, --quiet            no per-layer progress\n"
"  -h, --help\n");
}

static int parse_ids(const char *s, int *ids, int cap)
{
    return cc_cli_int_list(s, 0, 1000000000, ids, cap);
}

/* How long the client (and the local parties) wait for a message from a live
 * peer: a day (docs/NETWORK.md, "Failures and timeouts"). */
#define CLIENT_IO_TIMEOUT_MS 86400000u

/* ---- local run: three forked parties + this process as the client ------------ */

typedef struct local_party_args {
    cc_secure_party_options po;
    cc_model_config synth;
    int threads;
    const char *cpus;
} local_party_args;

typedef struct client_args {
    cc_secure_request req;
    cc_secure_result *res;
} client_args;

static int party_main(cc_net *net, void *arg)
{
    local_party_args *a = arg;
    /* Without --cpus each party gets its own third of the cores (NUMA- and
     * cache-friendly); below three cores the OS balances unbound threads. */
    char share[256];
    const char *cpus = a->cpus;
    if (!cpus && cc_thread_machine_cores() >= 3 &&
        cc_thread_share(cc_net_party(net), 3, share, sizeof share) == CC_OK)
        cpus = share;
    if (cc_thread_init(cpus, a->threads) != CC_OK) {
        cc_error_log("%s", cc_error_message());
        return 2;
    }
    cc_secure_party_options po = a->po;
    po.progress = po.progress && cc_net_party(net) == 0;
    cc_status s = cc_secure_party_serve(net, &po);
    if (s != CC_OK) {
        cc_error_log("%s", cc_error_message());
        return 1;
    }
    return 0;
}

static int client_main(cc_client *client, void *arg)
{
    client_args *a = arg;
    cc_status s = cc_secure_client_run(client, &a->req, a->res);
    if (s != CC_OK) {
        fprintf(stderr, "llama7b_token: client: %s\n", cc_error_message());
        return 1;
    }
    return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

/* --checkpoint: the model owner's step, done here for a one-machine run.  The
 * checkpoint is read tensor by tensor, so a 7B model converts in a few GB. */
static cc_status share_checkpoint(const char *path, int f, const char *dir)
{
    cc_checkpoint *ck = NULL;
    CC_TRY(cc_checkpoint_open(path, &ck));
    cc_tensor_source src;
    cc_status s = cc_checkpoint_source(ck, &src);
    if (s == CC_OK) {
        cc_bundle_write_options wo = { .frac_bits = f > 0 ? (unsigned)f : 0 };
        s = cc_bundle_write(&src, dir, &wo);
        cc_tensor_source_free(&src);
    }
    cc_checkpoint_close(ck);
    return s;
}

/* The conversion runs OpenMP regions (PRG expansion, packing), and libgomp
 * keeps its worker threads afterwards; fork() would then copy a process whose
 * thread pool exists only in the parent's bookkeeping, and a local party's
 * first parallel region could hang.  So the conversion runs in a child of its
 * own and this process stays single-threaded until it forks the parties
 * (run_local checks that).  The child reports a failure's text on a pipe. */
static cc_status share_checkpoint_in_child(const char *path, int f, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/caracal-shares-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        cc_status s = cc_error_set(CC_ERR_IO, "mkdtemp %s: %s", dir, strerror(errno));
        dir[0] = '\0';
        return s;
    }
    int fds[2];
    if (pipe(fds) != 0) return cc_error_set(CC_ERR_IO, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return cc_error_set(CC_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        cc_status s = share_checkpoint(path, f, dir);
        if (s != CC_OK) {
            const char *m = cc_error_message();
            ssize_t w = write(fds[1], m, strlen(m));
            (void)w;
        }
        _exit(s == CC_OK ? 0 : 1);
    }
    close(fds[1]);
    char msg[1024];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fds[0], msg + got, sizeof msg - 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || (got += (size_t)r) == sizeof msg - 1) break;
    }
    msg[got] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return CC_OK;
    if (WIFSIGNALED(st))
        return cc_error_set(CC_ERR_INTERNAL, "the converter died of signal %d", WTERMSIG(st));
    return cc_error_set(CC_ERR_IO, "%s", got ? msg : "the converter failed");
}

static int write_all_logits(const char *path, const cc_secure_result *r, int n_prompt)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "llama7b_token: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t n = (size_t)n_prompt * (size_t)r->vocab;
    bool ok = fwrite(r->all_logits, sizeof(float), n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok) fprintf(stderr, "llama7b_token: writing %s failed\n", path);
    return ok ? 0 : 1;
}

static int fail(const char *what)
{
    fprintf(stderr, "llama7b_token: %s: %s\n", what, cc_error_message());
    return 1;
}

/* Endpoints from --parties override those of the config file. */
static cc_status override_parties(cc_cluster *cl, const char *list)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL, *tok = strtok_r(buf, ",", &save);
    for (int i = 0; i < 3; i++, tok = strtok_r(NULL, ",", &save)) {
        if (!cc_cli_hostport(tok, cl->party[i].host, sizeof cl->party[i].host, &cl->party[i].port))
            return cc_error_set(CC_ERR_ARG, "--parties wants host:port,host:port,host:port");
    }
    return CC_OK;
}

static int run_remote(const options *o, client_args *ca)
{
    cc_cluster cl;
    cc_keypair kp;
    if (!o->key) return fprintf(stderr, "llama7b_token: --config needs --key\n"), 2;
    if (cc_cluster_load(o->config, &cl) != CC_OK) return fail(o->config);
    if (o->parties && override_parties(&cl, o->parties) != CC_OK) return fail("--parties");
    if (cc_keypair_load(o->key, &kp) != CC_OK) return fail(o->key);
    cc_net_options no;
    cc_net_options_default(&no);
    no.insecure_plaintext = o->insecure;
    no.link_profile = o->link;   /* our links to the parties; theirs are their own flag */
    /* The client waits for whole forward passes (LLaMA-7B prefill on a slow
     * machine: many minutes).  The parties' keep-alives tell it they live, and
     * a dead or frozen party is declared so within 10 s, so the wait for a
     * live one is bounded by a day only (a protocol deadlock). */
    no.io_timeout_ms = CLIENT_IO_TIMEOUT_MS;
    if (o->connect_timeout_ms) no.connect_timeout_ms = o->connect_timeout_ms;
    cc_client *client;
    cc_status s = cc_client_open(&cl, &kp, &no, &client);
    cc_keypair_wipe(&kp);
    if (s != CC_OK) return fail("connecting to the parties");
    int rc = client_main(client, ca);
    cc_client_close(client);
    return rc;
}

static int run_local(const options *o, client_args *ca, local_party_args *pa, char *tmpdir,
                     size_t tmpcap)
{
    if (o->checkpoint) {
        fprintf(stderr, "llama7b_token: sharing %s (model owner's step)...\n", o->checkpoint);
        if (share_checkpoint_in_child(o->checkpoint, o->frac_bits, tmpdir, tmpcap) != CC_OK)
            return fail(o->checkpoint);
        pa->po.shares = tmpdir;
    } else if (o->shares) {
        pa->po.shares = o->shares;
    } else {
        const char *geom = o->synthetic ? o->synthetic : "llama-7b";
        if (cc_config_preset(geom, &pa->synth) != CC_OK) {
            fprintf(stderr, "llama7b_token: --synthetic: %s\n", cc_error_message());
            return 2;
        }
        pa->po.synthetic = &pa->synth;
    }
    cc_net_options no;
    cc_net_options_default(&no);
    no.insecure_plaintext = o->insecure;
    no.link_profile = o->link;   /* the forked parties inherit it with the options */
    /* A LLaMA-7B layer keeps a party busy with local GEMMs for seconds to
     * minutes and the client waits for the whole forward pass; dead peers are
     * still seen at once (sockets close) or by keep-alive (10 s), only a
     * deadlock between live processes waits this long. */
    no.io_timeout_ms = CLIENT_IO_TIMEOUT_MS;
    /* fork() keeps the calling thread only: forking after a thread pool
     * started (libgomp's, say) would hand the parties a broken pool */
    int threads = cc_process_threads();
    if (threads > 1) {
        cc_error_set(CC_ERR_INTERNAL, "%d threads before forking the local parties (an OpenMP "
                     "region ran in the launcher); refusing to fork", threads);
        return fail("local run");
    }
    cc_launch_result lr;
    cc_status s = cc_net_launch_local(party_main, pa, client_main, ca, &no, &lr);
    if (s != CC_OK) return fail("local run");
    return 0;
}

static int run(const options *o)
{
    if (!!o->checkpoint + !!o->shares + !!o->synthetic > 1 ||
        (o->config && (o->checkpoint || o->shares || o->synthetic))) {
        fprintf(stderr, "llama7b_token: choose one of --synthetic, --checkpoint, --shares "
                        "(remote parties bring their own weights)\n");
        return 2;
    }
    client_args ca = {0};
    cc_secure_result res;
    ca.res = &res;
    if (strcmp(o->reveal, "token") == 0) ca.req.reveal = CC_REVEAL_TOKEN;
    else if (strcmp(o->reveal, "logits") == 0) ca.req.reveal = CC_REVEAL_LOGITS;
    else return fprintf(stderr, "llama7b_token: --reveal token|logits\n"), 2;
    cc_approx approx;
    if (cc_approx_parse(o->approx, &approx) != CC_OK) return fail("--approx");
    ca.req.approx = (int)approx;
    ca.req.n_new = o->n_new;
    ca.req.all_logits = o->all_logits != NULL;

    static int ids[MAX_IDS];
    int n_ids;
    cc_tokenizer *tok = NULL;
    if (o->tokenizer && cc_tokenizer_load(o->tokenizer, &tok) != CC_OK) return fail(o->tokenizer);
    if (o->ids) {
        n_ids = parse_ids(o->ids, ids, MAX_IDS);
        if (n_ids < 1) return fprintf(stderr, "llama7b_token: --ids wants 1,2,3 (1..%d ids)\n",
                                      MAX_IDS), 2;
    } else if (o->prompt) {
        if (!tok) return fprintf(stderr, "llama7b_token: --prompt needs --tokenizer\n"), 2;
        size_t n;
        if (cc_tokenizer_encode(tok, o->prompt, true, false, ids, MAX_IDS, &n) != CC_OK)
            return fail("encoding the prompt");
        n_ids = (int)n;
    } else {
        n_ids = (int)CC_ARRAY_LEN(default_prompt);
        memcpy(ids, default_prompt, sizeof default_prompt);
    }
    ca.req.prompt = ids;
    ca.req.n_prompt = n_ids;

    if (o->cpus) {   /* refuse a bad list here, not in three forked parties */
        int cpu_ids[1024], n_cpus;
        if (cc_thread_parse_cpus(o->cpus, cpu_ids, (int)CC_ARRAY_LEN(cpu_ids), &n_cpus) != CC_OK)
            return fprintf(stderr, "llama7b_token: --cpus: %s\n", cc_error_message()), 2;
    }
    local_party_args pa = { .threads = o->threads, .cpus = o->cpus };
    if (!pa.threads) pa.threads = CC_MAX(1, cc_thread_machine_cores() / 3);
    pa.po.frac_bits = o->frac_bits;
    pa.po.verify = o->verify;
    /* the local parties serve this user only: allow what the options ask for
     * (remote parties apply their own --allow-reveal) */
    pa.po.allow_reveal = ca.req.reveal == CC_REVEAL_LOGITS || ca.req.all_logits ? CC_REVEAL_LOGITS
                                                                               : CC_REVEAL_TOKEN;
    pa.po.progress = !o->quiet;
    char tmpdir[512] = "";
    const char *weights = o->config ? "remote parties' bundles"
                        : o->checkpoint ? o->checkpoint : o->shares ? o->shares : NULL;
    char synth_name[96];
    if (!weights) {
        snprintf(synth_name, sizeof synth_name, "synthetic %s (seed-derived shares, meaningless "
                 "output)", o->synthetic ? o->synthetic : "llama-7b");
        weights = synth_name;
    }
    fprintf(stderr, "llama7b_token: %d prompt tokens, %d to generate, weights: %s\n", n_ids,
            o->n_new, weights);
    int rc = o->config ? run_remote(o, &ca) : run_local(o, &ca, &pa, tmpdir, sizeof tmpdir);
    if (tmpdir[0]) nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (rc != 0) {
        cc_tokenizer_free(tok);
        return rc;
    }
    char text[8192];
    size_t tl;
    bool have_text = tok && res.n_tokens > 0 &&
                     cc_tokenizer_decode(tok, res.tokens, (size_t)res.n_tokens, text, sizeof text,
                                         &tl) == CC_OK;
    run_info info = { .weights = weights, .reveal = o->reveal, .approx = cc_approx_name(approx),
                      .n_prompt = n_ids, .n_new = o->n_new, .threads = pa.threads,
                      .insecure = o->insecure, .text = have_text ? text : NULL,
                      .link = &o->link, .remote = o->config != NULL };
    report_print(stdout, &info, &res);
    if (o->json && report_json(o->json, &info, &res) != 0) {
        fprintf(stderr, "llama7b_token: cannot write %s\n", o->json);
        rc = 1;
    }
    if (o->all_logits && res.all_logits && write_all_logits(o->all_logits, &res, n_ids) != 0) rc = 1;
    cc_secure_result_free(&res);
    cc_tokenizer_free(tok);
    return rc;
}

/* The local parties share this machine's cores, so idle OpenMP workers
 * must sleep rather than spin (libgomp reads the policy once, at load: set it
 * and re-execute ourselves when the caller has not chosen one). */
static void prefer_passive_openmp(char **argv)
{
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: run on with the default policy */
}

int main(int argc, char **argv)
{
    prefer_passive_openmp(argv);
    if (cc_kern_init() != CC_OK) {   /* e.g. CARACAL_ISA names a missing ISA */
        fprintf(stderr, "%s: %s\n", "llama7b_token", cc_error_message());
        return 2;
    }
    options o = { .n_new = 1, .reveal = "token", .approx = "precise", .frac_bits = -1 };
    enum { O_CKPT = 256, O_SHARES, O_SYNTH, O_PROMPT, O_TOK, O_IDS, O_CONFIG, O_KEY, O_PARTIES,
           O_JSON, O_ALL, O_CPUS, O_THREADS, O_REVEAL, O_APPROX, O_INSECURE, O_VERIFY,
           O_CONNECT_TIMEOUT, O_LINK_PROFILE };
    static const struct option lo[] = {
        {"checkpoint", 1, 0, O_CKPT}, {"shares", 1, 0, O_SHARES}, {"synthetic", 1, 0, O_SYNTH},
        {"prompt", 1, 0, O_PROMPT}, {"tokenizer", 1, 0, O_TOK}, {"ids", 1, 0, O_IDS},
        {"config", 1, 0, O_CONFIG}, {"key", 1, 0, O_KEY}, {"parties", 1, 0, O_PARTIES},
        {"json", 1, 0, O_JSON}, {"all-logits", 1, 0, O_ALL}, {"cpus", 1, 0, O_CPUS},
        {"threads", 1, 0, O_THREADS}, {"reveal", 1, 0, O_REVEAL}, {"approx", 1, 0, O_APPROX},
        {"insecure-plaintext-links", 0, 0, O_INSECURE}, {"verify", 0, 0, O_VERIFY},
        {"connect-timeout-ms", 1, 0, O_CONNECT_TIMEOUT}, {"link-profile", 1, 0, O_LINK_PROFILE},
        {"frac-bits", 1, 0, 'f'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "n:f:qh", lo, NULL)) != -1) {
        switch (c) {
        case O_CKPT: o.checkpoint = optarg; break;
        case O_SHARES: o.shares = optarg; break;
        case O_SYNTH: o.synthetic = optarg; break;
        case O_PROMPT: o.prompt = optarg; break;
        case O_TOK: o.tokenizer = optarg; break;
        case O_IDS: o.ids = optarg; break;
        case O_CONFIG: o.config = optarg; break;
        case O_KEY: o.key = optarg; break;
        case O_PARTIES: o.parties = optarg; break;
        case O_JSON: o.json = optarg; break;
        case O_ALL: o.all_logits = optarg; break;
        case O_CPUS: o.cpus = optarg; break;
        case O_THREADS: if (!cc_cli_int(optarg, 1, 65536, &o.threads)) goto bad; break;
        case O_REVEAL: o.reveal = optarg; break;
        case O_APPROX: o.approx = optarg; break;
        case O_INSECURE: o.insecure = true; break;
        case O_VERIFY: o.verify = true; break;
        case O_LINK_PROFILE:
            if (cc_link_profile_parse(optarg, &o.link) != CC_OK) {
                fprintf(stderr, "llama7b_token: %s\n", cc_error_message());
                return 2;
            }
            break;
        case O_CONNECT_TIMEOUT:
            if (!cc_cli_u32(optarg, 1, 3600000, &o.connect_timeout_ms)) goto bad;
            break;
        case 'n': if (!cc_cli_int(optarg, 0, MAX_IDS, &o.n_new)) goto bad; break;
        case 'f': if (!cc_cli_int(optarg, 8, 30, &o.frac_bits)) goto bad; break;
        case 'q': o.quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: goto bad;
        }
    }
    if (optind != argc) goto bad;
    return run(&o);
bad:
    fprintf(stderr, "llama7b_token: bad arguments (see --help)\n");
    return 2;
}
