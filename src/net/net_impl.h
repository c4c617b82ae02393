/* net internals shared by the files of src/net (not a public header).
 *
 * Structure:
 *   hub   — one per cc_net / cc_client: the lock, the "run failed" state and
 *           the condition the user thread waits on.
 *   link  — one authenticated TCP connection to one peer: socket, AEAD keys,
 *           a sender thread draining a queue of zero-copy send items and a
 *           receiver thread filling a queue of incoming messages.
 * Wire format of a frame (all little-endian), see docs/NETWORK.md:
 *   header (32 B, sent in clear, bound as AEAD associated data)
 *   payload (chunk_len bytes, encrypted)   AEAD tag (16 B, absent if insecure)
 */
#ifndef CARACAL_NET_IMPL_H
#define CARACAL_NET_IMPL_H

#include <pthread.h>
#include <sodium.h>
#include <sys/uio.h>

#include "core.h"
#include "net.h"

/* ---- AES-256-GCM with VAES + VPCLMULQDQ on 256-bit registers (8 blocks per
 * step), for the link AEAD (gcm_vaes.c).  Standard GCM (96-bit nonce),
 * byte-identical to libsodium's crypto_aead_aes256gcm, so the two ends of a
 * link may use either; tests check it against libsodium.  Only used when
 * cpuid reports AVX2 + AES-NI + PCLMULQDQ + VAES + VPCLMULQDQ
 * (cc_gcm_available). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define CC_GCM_ALIGN alignas(32)
extern "C" {
#else
#define CC_GCM_ALIGN _Alignas(32)
#endif

typedef struct cc_gcm {
    CC_GCM_ALIGN uint8_t rk[15][16];  /* AES-256 round keys */
    CC_GCM_ALIGN uint8_t hpow[8][16]; /* H^1..H^8 in the POLYVAL domain */
} cc_gcm;

bool cc_gcm_available(void);
void cc_gcm_init(cc_gcm *g, const uint8_t key[32]);
void cc_gcm_seal(const cc_gcm *g, const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
                 const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]);
/* In place allowed (buf_in == buf_out).  On a bad tag the output is zeroed. */
bool cc_gcm_open(const cc_gcm *g, const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
                 const uint8_t *in, size_t len, uint8_t *out, const uint8_t tag[16]);

#ifdef __cplusplus
}
#endif

/* ---- frames ----------------------------------------------------------------- */
/* DATA: a chunk of a message.  BYE: clean end of the sender's run.
 * ABORT: the sender failed; payload = its (non-secret) error text.
 * PING: keep-alive, empty, sent on a link with nothing else to send (never
 * counted in statistics or as progress of a message). */
enum { CC_FRAME_DATA = 1, CC_FRAME_BYE = 2, CC_FRAME_ABORT = 3, CC_FRAME_PING = 4 };
#define CC_ABORT_MAX 300
enum { CC_FRAME_FIRST = 1, CC_FRAME_LAST = 2 };
#define CC_FRAME_HDR_BYTES 32
#define CC_AEAD_TAG_BYTES 16

typedef struct cc_frame_hdr {
    uint8_t type, flags;
    uint32_t op_hash;   /* hash of the sender's op tag (diagnostics) */
    uint64_t seq;       /* per-direction frame counter, also the AEAD nonce */
    uint64_t msg_len;   /* total length of the message this chunk belongs to */
    uint32_t chunk_len; /* payload bytes in this frame */
} cc_frame_hdr;

void cc_frame_encode(const cc_frame_hdr *h, uint8_t out[CC_FRAME_HDR_BYTES]);
/* Parses without judging lengths/sequence; false if reserved bits are set
 * or the type is unknown. */
bool cc_frame_decode(const uint8_t in[CC_FRAME_HDR_BYTES], cc_frame_hdr *h);
uint32_t cc_op_hash(const char *tag);

/* ---- AEAD, one direction ----------------------------------------------------- */
typedef enum { CC_CIPHER_NONE, CC_CIPHER_AESGCM, CC_CIPHER_XCHACHA } cc_cipher;

typedef struct cc_aead {
    cc_gcm gcm;                      /* own VAES AES-GCM (when use_vaes) */
    crypto_aead_aes256gcm_state aes; /* libsodium's expanded key otherwise */
    uint8_t key[32];
    cc_cipher cipher;
    bool use_vaes;
} cc_aead;

/* Which AES-256-GCM implementation links use: the VAES one when the CPU has
 * it, unless env CARACAL_NET_GCM=sodium forces libsodium's. */
bool cc_aead_vaes_selected(void);

/* This process can do AES-256-GCM (AES-NI; env CARACAL_NET_CIPHER=xchacha
 * says no, to test the fallback and mixed clusters). */
bool cc_aead_local_aes(void);
const char *cc_cipher_name(cc_cipher c);
void cc_aead_init(cc_aead *a, cc_cipher c, const uint8_t key[32]);
void cc_aead_wipe(cc_aead *a);
size_t cc_aead_tag_bytes(const cc_aead *a);
/* Seal in place-or-out (out may equal in), tag written separately. */
void cc_aead_seal(const cc_aead *a, uint64_t seq, const uint8_t hdr[CC_FRAME_HDR_BYTES],
                  const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[CC_AEAD_TAG_BYTES]);
/* Open in place; false if the tag does not verify. */
bool cc_aead_open(const cc_aead *a, uint64_t seq, const uint8_t hdr[CC_FRAME_HDR_BYTES],
                  uint8_t *buf, size_t len, const uint8_t tag[CC_AEAD_TAG_BYTES]);

/* ---- sockets (non-blocking; every wait has a deadline) ---------------------- */
/* Deadline: absolute cc_now_ns() value, 0 = wait forever. */
/* Retries until the deadline (0 = forever); cancel_fd > 0 readable = give up. */
cc_status cc_sock_connect(const char *host, uint16_t port, uint64_t deadline_ns, int cancel_fd,
                          int *fd);
cc_status cc_sock_accept(int listen_fd, uint64_t deadline_ns, int *fd, char *peer_addr, size_t cap);
void cc_sock_tune(int fd);
/* Exact-length read/write.  `idle_ms` is a progress timeout (0 = none) on
 * top of the absolute deadline.  Returns CC_ERR_PEER on EOF/reset (with
 * *eof set when the peer closed cleanly before the first byte). */
cc_status cc_sock_read(int fd, void *buf, size_t len, uint64_t deadline_ns, uint32_t idle_ms,
                       bool *eof_at_start);
cc_status cc_sock_readv(int fd, struct iovec *iov, int n, uint64_t deadline_ns, uint32_t idle_ms);
cc_status cc_sock_writev(int fd, struct iovec *iov, int n, uint64_t deadline_ns, uint32_t idle_ms);

typedef struct cc_session_keys cc_session_keys; /* keys of one link (handshake) */

/* ---- hub --------------------------------------------------------------------- */
typedef struct cc_link cc_link;

typedef struct cc_hub {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* user waits: message progress, flush, failure */
    cc_status fail_status;      /* CC_OK while healthy */
    char fail_msg[768];
    cc_link *links[4];          /* indexed by peer role; NULL if absent */
    cc_net_options opt;
    char self_name[8];
} cc_hub;

void cc_hub_init(cc_hub *h, const cc_net_options *opt, const char *self_name);
void cc_hub_destroy(cc_hub *h);
/* Record the first failure, wake everybody and shut every socket down so the
 * other parties notice at once.  Call with h->mu held. */
void cc_hub_fail_locked(cc_hub *h, cc_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cc_hub_fail(cc_hub *h, cc_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- link emulation (shape.c) ---------------------------------------------------- */
typedef struct cc_shaper {
    bool on;
    uint64_t half_rtt_ns;     /* one-way delay */
    double ns_per_byte;       /* serialisation time; 0 = no rate limit */
    uint64_t last_depart_ns;  /* departure of the previous frame (sender side) */
} cc_shaper;

void cc_shaper_init(cc_shaper *s, const cc_link_profile *p);
/* Departure time (cc_now_ns clock) of the next frame of `wire_bytes`
 * (header, payload and tag) of a message queued at `queued_ns`; advances
 * the schedule. */
uint64_t cc_shaper_depart(cc_shaper *s, uint64_t queued_ns, uint64_t wire_bytes);

/* ---- link ---------------------------------------------------------------------- */
typedef struct cc_send_item {
    const uint8_t *buf;
    uint64_t len;
    uint64_t queued_ns;       /* when the user queued it (emulated links) */
    uint32_t op_hash;
    uint8_t type;
} cc_send_item;

#define CC_SENDQ_CAP 1024
/* Messages up to this size are written by the calling thread when the link
 * is idle (see cc_link_send). */
#define CC_INLINE_SEND_MAX (64u << 10)

/* One incoming message; doubles as the public cc_net_rx handle. */
struct cc_net_rx {
    struct cc_net_rx *next;
    cc_link *link;
    uint64_t len;
    bool len_known;           /* set by the first frame or by the user */
    bool wire_started, complete, claimed, ended;
    bool copying;             /* the user copies early bytes out of `internal` */
    uint64_t have;            /* verified bytes available */
    uint8_t *user;            /* posted destination */
    uint8_t *internal;        /* early bytes when not yet posted */
    size_t cap;
    uint32_t wire_op_hash;
    uint64_t unrequested;     /* bytes charged to the link's unrequested budget */
    const char *op;           /* the user's op tag at recv_begin (for errors) */
};

struct cc_link {
    cc_hub *hub;
    int fd;
    int role;                 /* peer's role: 0..2 party, 3 client */
    char name[8];             /* "P1", "client" */
    cc_aead tx, rx;
    uint8_t prss_root[32];    /* crypto_kdf master for cc_net_shared_key */
    size_t chunk;
    /* sender (guarded by hub->mu) */
    pthread_t sender, receiver;
    bool threads_started;
    pthread_cond_t send_cv;
    cc_send_item q[CC_SENDQ_CAP];
    uint64_t q_head, q_tail;  /* monotone counters; items [head, tail) pending */
    bool closing;
    uint8_t *seal_buf;        /* ciphertext scratch, chunk bytes */
    uint64_t tx_seq;          /* sender thread only */
    cc_shaper shape;          /* departure schedule; sender thread only */
    uint64_t tx_last_ns;      /* when the last frame went out (keep-alive timer) */
    uint64_t pings_sent, pings_recv; /* keep-alive frames (not in any statistics) */
    /* receiver (guarded by hub->mu unless noted) */
    struct cc_net_rx *head, *tail, *wire_next, *user_next, *wire_cur;
    uint64_t rx_seq;          /* receiver thread only */
    uint64_t rx_alive_until;  /* receiver thread: the peer is dead if no frame starts by then */
    uint64_t rx_progress;     /* bytes received so far (atomic; progress for timeouts) */
    uint64_t tx_progress;     /* bytes written so far (atomic) */
    struct cc_net_rx *rx_writing; /* entry the receiver is filling outside the lock */
    uint64_t unrequested;     /* bytes buffered for receives not yet posted */
    bool tx_busy;             /* sender is reading a user buffer outside the lock */
    bool abort_pending;       /* run failed mid-frame: send ABORT once the frame is out */
    bool peer_bye, rx_done, tx_done;
};

/* Create a link over a handshaken socket (keys from the handshake). */
cc_status cc_link_create(cc_hub *hub, int fd, int role, const cc_session_keys *keys,
                         cc_link **out);
cc_status cc_link_start(cc_link *l);
/* Queue a message (hub->mu must NOT be held). */
cc_status cc_link_send(cc_link *l, const void *buf, uint64_t len, uint32_t op_hash,
                       const char *op);
cc_status cc_link_recv_begin(cc_link *l, void *buf, uint64_t len, const char *op,
                             struct cc_net_rx **rx);
cc_status cc_link_recv_wait(struct cc_net_rx *rx, uint64_t bytes, const char *op);
cc_status cc_link_recv_end(struct cc_net_rx *rx, const char *op);
/* Wait until every queued item of every link in the hub is on the wire. */
cc_status cc_hub_flush(cc_hub *h, const char *op);
/* Graceful goodbye + teardown of every link of the hub. */
void cc_hub_close_links(cc_hub *h);
void cc_link_free(cc_link *l);

/* ---- handshake ------------------------------------------------------------------ */
struct cc_session_keys {
    uint8_t tx[32], rx[32], prss_root[32];
    cc_cipher cipher;         /* agreed in the handshake */
};

const char *cc_role_name(int role); /* "P0".."P2", "client" */
/* HELLO layout (docs/NETWORK.md): "CARACAL1" | version | role | target |
 * flags | status | 3 x 0 | static pk (32) | nonce (32) | ephemeral pk (32) */
#define CC_HELLO_BYTES 112
#define CC_HELLO_VERSION 2
#define CC_ROLE_CLIENT 3

/* Initiator side: we dialled `peer_role`, whose pinned key is peer_pk. */
cc_status cc_handshake_initiate(int fd, int my_role, const cc_keypair *me, int peer_role,
                                const uint8_t peer_pk[32], bool insecure,
                                uint64_t deadline_ns, cc_session_keys *keys);
/* Responder side: accepts any role whose pinned key (pinned[role], NULL when
 * that role is not expected) matches; reports the role (on failure: the role
 * the connection claimed, or unchanged if it never said). */
cc_status cc_handshake_respond(int fd, int my_role, const cc_keypair *me,
                               const uint8_t *const pinned[4], bool insecure,
                               uint64_t deadline_ns, int *peer_role, cc_session_keys *keys);

/* ---- the compute party's net -------------------------------------------------- */
#define CC_NET_MAX_TAGS 256
#define CC_NET_OP_DEPTH 16

typedef struct cc_op_frame {
    int stat;                 /* index into stats[] */
    uint64_t t0, rounds, sent, recv;
    bool recv_since_send;     /* next send starts a new round */
} cc_op_frame;

struct cc_net {
    cc_hub hub;
    int me;
    cc_link *dir[3];          /* by cc_dir */
    cc_cipher cipher;
    /* statistics (user thread only) */
    cc_net_stat stats[CC_NET_MAX_TAGS];
    uint32_t stat_hash[CC_NET_MAX_TAGS];
    size_t nstats;
    cc_op_frame stack[CC_NET_OP_DEPTH + 1]; /* [0] = untagged traffic */
    int depth, overflow;
    uint64_t wait_ns, waits;  /* time blocked in receives and flushes (CC_NET_WAIT_TAG) */
};

void cc_net_account_send(cc_net *net, uint64_t bytes);
void cc_net_account_recv(cc_net *net, uint64_t bytes);
const char *cc_net_current_op(const cc_net *net);
uint32_t cc_net_current_hash(const cc_net *net);
void cc_net_stats_init(cc_net *net);

/* Test hook: called for each link a failing hub is about to shut down (the
 * teardown test sleeps there to widen any window in which a network thread
 * could touch a link that teardown already freed). */
extern void (*cc_net_test_fail_walk)(void);

/* Test hook: the client's raw socket to `party` (fault-injection tests). */
int cc_client_raw_fd(cc_client *c, int party);

/* ---- misc ----------------------------------------------------------------------- */
void cc_net_fill_defaults(cc_net_options *dst, const cc_net_options *src);
/* Atomic file write (temp file + fsync + link/rename); refuses an existing
 * file unless `overwrite`. */
cc_status cc_file_write_atomic(const char *path, unsigned mode, const void *data, size_t len,
                               bool overwrite);

#endif
