// bench_net — the network runtime between three local parties (loopback).
//
//   BM_rotate/<MiB>/<encrypted>   every party sends <MiB> to next while
//                                 receiving as much from prev, repeated;
//                                 bytes_per_second = bytes per link per second
//   BM_round/<bytes>/<encrypted>  cc_net_exchange of a small message around the
//                                 ring; the time per iteration is one round
//
// Each benchmark iteration forks the three parties once (cc_net_launch_local);
// P0 times the measured loop after a warm-up and reports it through shared
// memory (manual time), so process start-up and handshakes are not counted.
// Encrypted runs use AES-256-GCM when the CPU has it (else XChaCha20-Poly1305);
// plaintext runs are --insecure-plaintext-links and say so in their label.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

extern "C" {
#include "core.h"
#include "net.h"
}
#include "net_impl.h"

#include "bench_link_profile.h"

namespace {

struct Shared {
    uint64_t ns;     // P0's measured loop time
    uint64_t reps;
    int status;
    char cipher[32];
};

struct Job {
    Shared *out;
    size_t bytes;
    int reps, warmup;
    bool rotate;     // else: round-trip exchange
};

int party(cc_net *net, void *p)
{
    Job *j = static_cast<Job *>(p);
    uint8_t *a = static_cast<uint8_t *>(std::calloc(1, j->bytes + 1));
    uint8_t *b = static_cast<uint8_t *>(std::malloc(j->bytes + 1));
    cc_status s = CC_OK;
    uint64_t t0 = 0;
    for (int i = 0; s == CC_OK && i < j->warmup + j->reps; i++) {
        if (i == j->warmup) t0 = cc_now_ns();
        s = cc_net_exchange(net, CC_NEXT, a, CC_PREV, b, j->bytes);
    }
    uint64_t dt = cc_now_ns() - t0;
    if (cc_net_party(net) == 0) {
        j->out->ns = dt;
        j->out->reps = static_cast<uint64_t>(j->reps);
        j->out->status = s;
        std::snprintf(j->out->cipher, sizeof j->out->cipher, "%s", cc_net_cipher_name(net));
    }
    std::free(a);
    std::free(b);
    return s == CC_OK ? 0 : 1;
}

Shared *shared_new()
{
    void *p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<Shared *>(p);
}

void run(benchmark::State &state, size_t bytes, bool encrypted, int reps, int warmup, bool rotate)
{
    Shared *sh = shared_new();
    cc_net_options o;
    cc_net_options_default(&o);
    o.insecure_plaintext = !encrypted;
    o.link_profile = bench_link_profile();
    if (const char *c = std::getenv("CARACAL_NET_CHUNK")) o.chunk_bytes = std::strtoull(c, nullptr, 10);
    uint64_t total_ns = 0, total_reps = 0;
    for (auto _ : state) {
        std::memset(sh, 0, sizeof *sh);
        Job j{sh, bytes, reps, warmup, rotate};
        cc_launch_result res;
        if (cc_net_launch_local(party, &j, nullptr, nullptr, &o, &res) != CC_OK || sh->status != CC_OK) {
            state.SkipWithError(cc_error_message());
            break;
        }
        state.SetIterationTime(static_cast<double>(sh->ns) * 1e-9 / static_cast<double>(sh->reps));
        total_ns += sh->ns;
        total_reps += sh->reps;
    }
    if (total_reps) {
        state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
        state.counters["us_per_op"] = static_cast<double>(total_ns) / 1e3 / static_cast<double>(total_reps);
        state.counters["chunk_KiB"] = static_cast<double>(o.chunk_bytes) / 1024.0;
    }
    state.SetLabel(encrypted ? sh->cipher : "INSECURE-PLAINTEXT (--insecure-plaintext-links)");
    munmap(sh, sizeof *sh);
}

// ---- baseline: the same pattern over bare TCP sockets ----------------------------
// Three forked processes in a ring, plain blocking write()/read() of the whole
// message (a thread writes to next while the process reads from prev): what
// the kernel's loopback costs with no framing, threads' hand-offs or crypto.
struct RawJob {
    Shared *out;
    size_t bytes;
    int reps, warmup;
    int fd_next, fd_prev;
};

bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

bool read_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

void *raw_writer(void *p)
{
    RawJob *j = static_cast<RawJob *>(p);
    uint8_t *a = static_cast<uint8_t *>(std::calloc(1, j->bytes + 1));
    for (int i = 0; i < j->warmup + j->reps; i++)
        if (!write_all(j->fd_next, a, j->bytes)) break;
    std::free(a);
    return nullptr;
}

int tcp_pair_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) usleep(1000);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void raw_party(int me, const uint16_t port[3], const int lfd[3], RawJob j, bool rotate)
{
    // dial next, accept prev (the listener is non-blocking: poll for it)
    j.fd_next = tcp_pair_connect(port[(me + 1) % 3]);
    pollfd pf{lfd[me], POLLIN, 0};
    poll(&pf, 1, 10000);
    j.fd_prev = accept(lfd[me], nullptr, nullptr);
    int fl = fcntl(j.fd_prev, F_GETFL);
    fcntl(j.fd_prev, F_SETFL, fl & ~O_NONBLOCK);
    int one = 1;
    setsockopt(j.fd_prev, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t *b = static_cast<uint8_t *>(std::malloc(j.bytes + 1));
    uint64_t t0 = 0;
    bool ok = true;
    if (rotate) {
        pthread_t t;
        pthread_create(&t, nullptr, raw_writer, &j);
        for (int i = 0; ok && i < j.warmup + j.reps; i++) {
            if (i == j.warmup) t0 = cc_now_ns();
            ok = read_all(j.fd_prev, b, j.bytes);
        }
        pthread_join(t, nullptr);
    } else {
        for (int i = 0; ok && i < j.warmup + j.reps; i++) {
            if (i == j.warmup) t0 = cc_now_ns();
            ok = write_all(j.fd_next, b, j.bytes) && read_all(j.fd_prev, b, j.bytes);
        }
    }
    if (me == 0) {
        j.out->ns = cc_now_ns() - t0;
        j.out->reps = static_cast<uint64_t>(j.reps);
        j.out->status = ok ? 0 : 1;
    }
    std::free(b);
    _exit(ok ? 0 : 1);
}

void run_raw(benchmark::State &state, size_t bytes, int reps, int warmup, bool rotate)
{
    Shared *sh = shared_new();
    for (auto _ : state) {
        std::memset(sh, 0, sizeof *sh);
        uint16_t port[3] = {0, 0, 0};
        int lfd[3];
        for (int i = 0; i < 3; i++) cc_net_listen("127.0.0.1", &port[i], &lfd[i]);
        pid_t pid[3];
        for (int i = 0; i < 3; i++) {
            pid[i] = fork();
            if (pid[i] == 0) raw_party(i, port, lfd, RawJob{sh, bytes, reps, warmup, -1, -1}, rotate);
        }
        for (int i = 0; i < 3; i++) close(lfd[i]);
        for (int i = 0; i < 3; i++) waitpid(pid[i], nullptr, 0);
        if (sh->status != 0 || sh->reps == 0) {
            state.SkipWithError("raw TCP baseline failed");
            break;
        }
        state.SetIterationTime(static_cast<double>(sh->ns) * 1e-9 / static_cast<double>(sh->reps));
    }
    state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
    state.SetLabel("baseline: bare TCP, no framing/threads/crypto");
    munmap(sh, sizeof *sh);
}

void BM_raw_rotate(benchmark::State &state)
{
    size_t mib = static_cast<size_t>(state.range(0));
    int reps = static_cast<int>(CC_MAX(static_cast<size_t>(4), static_cast<size_t>(512) / mib));
    run_raw(state, mib << 20, reps, 1, true);
}

void BM_raw_round(benchmark::State &state)
{
    run_raw(state, static_cast<size_t>(state.range(0)), 3000, 200, false);
}

void BM_rotate(benchmark::State &state)
{
    size_t mib = static_cast<size_t>(state.range(0));
    int reps = static_cast<int>(CC_MAX(static_cast<size_t>(4), static_cast<size_t>(512) / mib));
    run(state, mib << 20, state.range(1) != 0, reps, 1, true);
}

// Encrypted vs plaintext throughput as one figure: every iteration runs both
// (alternating which goes first), so both see the same machine load.
// enc_over_plain = encrypted throughput / plaintext throughput.
void BM_rotate_ratio(benchmark::State &state)
{
    size_t bytes = static_cast<size_t>(state.range(0)) << 20;
    int reps = static_cast<int>(CC_MAX(static_cast<size_t>(4), static_cast<size_t>(256) / static_cast<size_t>(state.range(0))));
    Shared *sh = shared_new();
    double t_plain = 0, t_enc = 0;
    int k = 0;
    for (auto _ : state) {
        double t[2] = {0, 0};
        for (int pass = 0; pass < 2; pass++) {
            bool enc = (pass + k) % 2 == 1;
            cc_net_options o;
            cc_net_options_default(&o);
            o.insecure_plaintext = !enc;
            o.link_profile = bench_link_profile();
            if (const char *c = std::getenv("CARACAL_NET_CHUNK")) o.chunk_bytes = std::strtoull(c, nullptr, 10);
            std::memset(sh, 0, sizeof *sh);
            Job j{sh, bytes, reps, 1, true};
            if (cc_net_launch_local(party, &j, nullptr, nullptr, &o, nullptr) != CC_OK || sh->status != CC_OK) {
                state.SkipWithError(cc_error_message());
                munmap(sh, sizeof *sh);
                return;
            }
            t[enc] = static_cast<double>(sh->ns) * 1e-9 / static_cast<double>(sh->reps);
        }
        t_plain += t[0];
        t_enc += t[1];
        state.SetIterationTime(t[1]);
        k++;
    }
    state.counters["enc_over_plain"] = t_plain / t_enc;
    state.counters["plain_MBps"] = static_cast<double>(bytes) * k / t_plain / 1e6;
    state.counters["enc_MBps"] = static_cast<double>(bytes) * k / t_enc / 1e6;
    state.SetLabel("time = encrypted rotate; plaintext (--insecure-plaintext-links) measured alongside");
    munmap(sh, sizeof *sh);
}

void BM_round(benchmark::State &state)
{
    run(state, static_cast<size_t>(state.range(0)), state.range(1) != 0, 3000, 200, false);
}

// ---- AEAD alone: one core sealing a chunk -------------------------------------------
// impl 0 = libsodium AES-256-GCM, 1 = our VAES AES-256-GCM, 2 = XChaCha20-Poly1305
// (the fallback), 3 = memcpy (baseline: what touching the bytes once costs).
void BM_aead_seal(benchmark::State &state)
{
    int impl = static_cast<int>(state.range(0));
    size_t n = static_cast<size_t>(state.range(1)) << 10;
    if (sodium_init() < 0 || (impl == 0 && !crypto_aead_aes256gcm_is_available()) ||
        (impl == 1 && !cc_gcm_available())) {
        state.SkipWithError("not available on this CPU");
        return;
    }
    uint8_t *in = static_cast<uint8_t *>(std::calloc(1, n)), *out = static_cast<uint8_t *>(std::malloc(n));
    uint8_t key[32] = {1}, nonce[24] = {0}, ad[32] = {0}, tag[16];
    unsigned long long tl;
    crypto_aead_aes256gcm_state st;
    crypto_aead_aes256gcm_beforenm(&st, key);
    cc_gcm *g = static_cast<cc_gcm *>(cc_alloc(sizeof(cc_gcm)));
    if (impl == 1) cc_gcm_init(g, key);
    for (auto _ : state) {
        switch (impl) {
        case 0: crypto_aead_aes256gcm_encrypt_detached_afternm(out, tag, &tl, in, n, ad, 32, nullptr, nonce, &st); break;
        case 1: cc_gcm_seal(g, nonce, ad, 32, in, n, out, tag); break;
        case 2: crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, tag, &tl, in, n, ad, 32, nullptr, nonce, key); break;
        default: std::memcpy(out, in, n);
        }
        benchmark::DoNotOptimize(out);
    }
    static const char *const names[] = {"libsodium AES-256-GCM", "VAES AES-256-GCM (ours)",
                                        "XChaCha20-Poly1305", "memcpy baseline"};
    state.SetLabel(names[impl]);
    state.SetBytesProcessed(static_cast<int64_t>(n) * state.iterations());
    cc_free(g);
    std::free(in);
    std::free(out);
}

}  // namespace

BENCHMARK(BM_aead_seal)->ArgNames({"impl", "KiB"})->ArgsProduct({{0, 1, 2, 3}, {256}});

BENCHMARK(BM_raw_rotate)->ArgNames({"MiB"})->Arg(1)->Arg(16)->Arg(64)
    ->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_rotate)->ArgNames({"MiB", "encrypted"})
    ->ArgsProduct({{1, 16, 64}, {0, 1}})->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_rotate_ratio)->ArgNames({"MiB"})->Arg(4)->Arg(32)
    ->UseManualTime()->Iterations(6)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_round)->ArgNames({"bytes"})->Arg(8)->Arg(4096)
    ->UseManualTime()->Iterations(3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_round)->ArgNames({"bytes", "encrypted"})
    ->ArgsProduct({{8, 4096}, {0, 1}})->UseManualTime()->Iterations(3)->Unit(benchmark::kMicrosecond);

CARACAL_BENCH_MAIN()
