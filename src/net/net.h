/* net — authenticated TCP mesh between P0, P1, P2 and the client.
 *
 * Knows bytes, never shares.  Protocol code addresses peers only as next/prev
 * (MP-SPDZ style): next = (i+1) mod 3, prev = (i+2) mod 3.  Every frame is
 * length-prefixed, sequence-numbered and AEAD-sealed (unless the run uses
 * --insecure-plaintext-links); one sender and one receiver thread per link.
 *
 * Messages: cc_net_send() is asynchronous and zero-copy — the buffer must stay
 * untouched until cc_net_flush() returns.  cc_net_recv() blocks until the next
 * message from that peer is complete; its length must equal the expected
 * length exactly (a mismatch is a protocol error naming peer and op).  Large
 * messages travel as chunks; cc_net_recv_begin/wait let a consumer start on
 * the first bytes while the rest is in flight.
 *
 * Failure: a dead, silent (timeout) or misbehaving peer makes every call on
 * this cc_net return CC_ERR_PEER / CC_ERR_TIMEOUT / CC_ERR_AUTH with a message
 * naming the peer and the current op tag; nothing blocks forever.  When a call
 * returns an error, no network thread touches the caller's buffers any more
 * (free them, flushed or not).  A 0-byte message is still a message: its
 * receive waits for it.  One thread uses a cc_net at a time.
 * Details, wire format and failure semantics: docs/NETWORK.md. */
#ifndef CARACAL_NET_H
#define CARACAL_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"

typedef enum cc_dir { CC_PREV = 0, CC_NEXT = 1, CC_CLIENT = 2 } cc_dir;

#define CC_NET_PARTIES 3
#define CC_NET_PUBKEY_BYTES 32
#define CC_NET_SECKEY_BYTES 32

/* ---- keys and cluster config (format: docs/NETWORK.md) --------------------- */
typedef struct cc_keypair {
    uint8_t pk[CC_NET_PUBKEY_BYTES];
    uint8_t sk[CC_NET_SECKEY_BYTES];
} cc_keypair;

cc_status cc_keypair_generate(cc_keypair *kp);
/* Secret file mode 0600, public 0644; written atomically (temp file, fsync,
 * link/rename).  An existing file is an error unless `overwrite`. */
cc_status cc_keypair_save(const cc_keypair *kp, const char *path_secret, const char *path_public,
                          bool overwrite);
cc_status cc_keypair_load(const char *path_secret, cc_keypair *kp);
/* The same from memory: the `n` bytes of a secret-key file (`name` for
 * messages); checks format and that the public key matches the secret. */
cc_status cc_keypair_parse(const char *text, size_t n, const char *name, cc_keypair *kp);
void cc_keypair_wipe(cc_keypair *kp);

typedef struct cc_endpoint {
    char host[256];
    uint16_t port;
    uint8_t pk[CC_NET_PUBKEY_BYTES];
} cc_endpoint;

typedef struct cc_cluster {
    cc_endpoint party[CC_NET_PARTIES];
    bool has_client;
    uint8_t client_pk[CC_NET_PUBKEY_BYTES];  /* the client allowed to connect */
} cc_cluster;

cc_status cc_cluster_load(const char *path, cc_cluster *out);
/* The same from memory: `len` bytes of config text; `name` stands for the
 * file in error messages ("name:line: ..."). */
cc_status cc_cluster_parse(const char *text, size_t len, const char *name, cc_cluster *out);
/* Atomic like cc_keypair_save; an existing file is an error unless `overwrite`. */
cc_status cc_cluster_save(const char *path, const cc_cluster *c, bool overwrite);

/* ---- emulated links (--link-profile; docs/NETWORK.md "Emulated links") --------
 * The sender holds every frame back until its departure time
 *   depart = max(queued + rtt/2, previous departure) + frame bytes / rate,
 * i.e. a one-way latency of rtt/2 (frames in flight overlap their delays)
 * plus a serialisation rate per link and direction.  Zeroed = no emulation. */
typedef struct cc_link_profile {
    char name[32];               /* "lan", "wan", or the "RTT_MS,GBPS" text given */
    uint64_t rtt_ns;             /* round trip; each frame is delayed rtt/2 */
    double gbps;                 /* Gbit/s per link and direction; 0 = no rate limit */
} cc_link_profile;

/* "none", "lan" (1 ms, 10 Gbit/s), "wan" (40 ms, 0.4 Gbit/s) or "RTT_MS,GBPS"
 * (e.g. "20,1.5").  Anything else is CC_ERR_ARG with a message saying what
 * is accepted. */
cc_status cc_link_profile_parse(const char *text, cc_link_profile *out);
bool cc_link_profile_active(const cc_link_profile *p);
/* "none" for an inactive (zeroed) profile. */
const char *cc_link_profile_name(const cc_link_profile *p);

typedef struct cc_net_options {
    bool insecure_plaintext;     /* --insecure-plaintext-links */
    cc_link_profile link_profile;/* --link-profile; zeroed = real links only */
    uint32_t connect_timeout_ms; /* how long to retry connecting at start-up */
    uint32_t io_timeout_ms;      /* a peer silent this long while awaited is dead */
    size_t chunk_bytes;          /* pipelining chunk size (clamped to 4 KiB..CC_NET_MAX_CHUNK) */
    uint64_t max_message_bytes;  /* a peer announcing a longer message is refused
                                    (default 4 GiB; a job sets it from its largest message) */
    /* Bytes a peer may send on one link before we asked for them (buffered
     * until the matching receive is posted); more ends the run with an error
     * naming the peer instead of growing memory.  Default 4 GiB. */
    uint64_t max_unrequested_bytes;
    /* Keep-alive: a link with nothing to send for keepalive_ms sends an empty
     * PING frame; a peer from which no frame at all arrives for
     * keepalive_misses intervals is declared dead (whether or not anybody
     * waits for it).  Defaults 1000 ms and 10 (dead after 10 s). */
    uint32_t keepalive_ms;
    uint32_t keepalive_misses;
    /* Serving between jobs (caracal-party): cc_net_open waits for the client
     * without a deadline, and connect_timeout_ms runs from its arrival;
     * dialing a party retries until it answers.  Without a client in the
     * cluster config this has no effect. */
    bool idle_until_client;
    /* > 0: cc_net_open gives up as soon as this descriptor becomes readable
     * (e.g. a pipe a signal handler writes to); 0 = none. */
    int cancel_fd;
} cc_net_options;

/* Largest frame payload a receiver accepts, whatever the options say. */
#define CC_NET_MAX_CHUNK (64u << 20)
void cc_net_options_default(cc_net_options *o);

/* ---- a compute party's view -------------------------------------------------- */
typedef struct cc_net cc_net;

/* Listen on cluster->party[me], connect to the other two (and accept the
 * client if cluster->has_client), run the authenticated handshake. */
cc_status cc_net_open(const cc_cluster *cluster, int me, const cc_keypair *my_key,
                      const cc_net_options *opt, cc_net **out);
/* Same, but on a listening socket the caller already bound (cc_net_listen);
 * takes ownership of listen_fd.  The launcher binds port 0 in the parent so
 * ports never collide. */
cc_status cc_net_open_fd(const cc_cluster *cluster, int me, const cc_keypair *my_key,
                         const cc_net_options *opt, int listen_fd, cc_net **out);
/* Bind + listen on host:*port (*port 0 = any free port, written back). */
cc_status cc_net_listen(const char *host, uint16_t *port, int *listen_fd);
/* Flushes pending sends, says goodbye to every peer and waits (bounded) for
 * theirs, then frees everything.  After a failure it just tears down. */
void cc_net_close(cc_net *net);
/* End the run on every party now: the peers' pending and future calls fail
 * with "P<me> aborted the run: <reason>" (no graceful goodbye).  For a party
 * whose own work failed; cc_net_close afterwards only tears down.  Unlike
 * the other calls it may come from another thread (e.g. a signal thread
 * stopping a job), as long as cc_net_close has not started. */
void cc_net_abort(cc_net *net, const char *reason);
/* Tighten or loosen the limits of a running net once the job is known
 * (e.g. from the model geometry): max_message_bytes and
 * max_unrequested_bytes as in cc_net_options; 0 keeps a value.  Applies to
 * frames that arrive from now on. */
void cc_net_set_limits(cc_net *net, uint64_t max_message_bytes, uint64_t max_unrequested_bytes);
int cc_net_party(const cc_net *net);
bool cc_net_insecure(const cc_net *net);
/* "AES-256-GCM", "XChaCha20-Poly1305" or "INSECURE-PLAINTEXT". */
const char *cc_net_cipher_name(const cc_net *net);
/* "P0".."P2" or "client": the peer in direction d (for messages). */
const char *cc_net_peer_name(const cc_net *net, cc_dir d);

cc_status cc_net_send(cc_net *net, cc_dir to, const void *buf, size_t len);
cc_status cc_net_recv(cc_net *net, cc_dir from, void *buf, size_t len);
cc_status cc_net_flush(cc_net *net);
/* Send to `to` and receive the same length from `from`, one round. */
cc_status cc_net_exchange(cc_net *net, cc_dir to, const void *sbuf,
                          cc_dir from, void *rbuf, size_t len);

/* Pipelined receive: chunks land in buf as they arrive. */
typedef struct cc_net_rx cc_net_rx;
cc_status cc_net_recv_begin(cc_net *net, cc_dir from, void *buf, size_t len, cc_net_rx **rx);
/* Block until at least `bytes` of the message are in buf. */
cc_status cc_net_recv_wait(cc_net_rx *rx, size_t bytes);
cc_status cc_net_recv_end(cc_net_rx *rx);

/* A 16-byte key shared with exactly one neighbour, derived from the link's
 * session key with crypto_kdf (context `ctx`, 8 chars; subkey id); the two
 * ends of a link derive the same key.  Used to seed PRSS.  Wipe after use. */
cc_status cc_net_shared_key(cc_net *net, cc_dir with, const char ctx[8], uint64_t id,
                            uint8_t out[16]);

/* ---- statistics per op tag ---------------------------------------------------
 * Protocol ops bracket their communication with op_begin/op_end.  A round is
 * counted each time a party sends after having received since its previous
 * send (within the op), so rounds = sequential communication steps. */
void cc_net_op_begin(cc_net *net, const char *tag);
void cc_net_op_end(cc_net *net);

typedef struct cc_net_stat {
    char tag[48];
    uint64_t calls, rounds, bytes_sent, bytes_recv, ns;
} cc_net_stat;
/* Snapshot; returns the number of tags (≤ cap written). */
size_t cc_net_stats(const cc_net *net, cc_net_stat *out, size_t cap);
void cc_net_stats_reset(cc_net *net);
/* Row of cc_net_stats() with the time this party's thread spent blocked on
 * the network (receives and flushes; calls = number of waits, no bytes, no
 * rounds).  The report subtracts it from the wall time to get compute. */
#define CC_NET_WAIT_TAG "(network wait)"
void cc_net_stats_print(const cc_net *net, void *FILE_stream);
cc_status cc_net_stats_json(const cc_net *net, char **json_out); /* free() it */

/* ---- the client's view: one link to each party ---------------------------- */
typedef struct cc_client cc_client;
cc_status cc_client_open(const cc_cluster *cluster, const cc_keypair *client_key,
                         const cc_net_options *opt, cc_client **out);
void cc_client_close(cc_client *c);
cc_status cc_client_send(cc_client *c, int party, const void *buf, size_t len);
cc_status cc_client_recv(cc_client *c, int party, void *buf, size_t len);
cc_status cc_client_flush(cc_client *c);
/* End the run for all three parties at once: each fails with "client
 * aborted the run: <reason>" instead of waiting for input that will never
 * come (e.g. the client rejected its own prompt). */
void cc_client_abort(cc_client *c, const char *reason);

/* ---- local launcher ------------------------------------------------------------
 * Forks three party processes on loopback with fresh keys and free ports.
 * Each child runs party_main(net, arg) and exits with its status; if client_main
 * is non-NULL the calling process becomes the client meanwhile.  Returns the
 * first failure (naming the party) or CC_OK; exit codes go to status[]. */
typedef int (*cc_party_main)(cc_net *net, void *arg);
typedef int (*cc_client_main)(cc_client *client, void *arg);
typedef struct cc_launch_result {
    int exit_code[CC_NET_PARTIES];
    int client_code;
} cc_launch_result;
cc_status cc_net_launch_local(cc_party_main party_main, void *party_arg,
                              cc_client_main client_main, void *client_arg,
                              const cc_net_options *opt, cc_launch_result *res);

#endif
