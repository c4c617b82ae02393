/* caracal-keygen — static X25519 key pairs for parties and clients.
 *
 *   caracal-keygen --out PREFIX [--force]  PREFIX.key (secret, mode 0600) + PREFIX.pub
 *   caracal-keygen --show PREFIX.key       print the public key of a secret key file
 *   caracal-keygen --local-cluster DIR [--host H] [--base-port N] [--force]
 *        keys for P0, P1, P2 and a client in DIR plus DIR/cluster.conf
 *        (parties on H:N, H:N+1, H:N+2; default 127.0.0.1:7400)
 *
 * Existing files are never overwritten without --force (a replaced secret
 * key cannot be recovered); every file is written atomically (temp file,
 * fsync, rename), so a crash leaves the old file or the new one.
 *
 * The public key (hex) goes into the cluster config; see docs/NETWORK.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core.h"
#include "net.h"

static void usage(FILE *f)
{
    fputs("usage: caracal-keygen --out PREFIX [--force]\n"
          "       caracal-keygen --show SECRET_KEY_FILE\n"
          "       caracal-keygen --local-cluster DIR [--host HOST] [--base-port PORT] [--force]\n"
          "Writes X25519 key pairs (secret key files mode 0600); see docs/NETWORK.md.\n"
          "Existing key or config files are kept unless --force is given.\n", f);
}

static void print_pk(const uint8_t pk[CC_NET_PUBKEY_BYTES])
{
    for (int i = 0; i < CC_NET_PUBKEY_BYTES; i++) printf("%02x", pk[i]);
    printf("\n");
}

static bool force;   /* --force: replace existing files */

static cc_status write_pair(const char *prefix, cc_keypair *kp)
{
    char sk[4096], pk[4096];
    if (snprintf(sk, sizeof sk, "%s.key", prefix) >= (int)sizeof sk ||
        snprintf(pk, sizeof pk, "%s.pub", prefix) >= (int)sizeof pk)
        return cc_error_set(CC_ERR_ARG, "path too long: %s", prefix);
    CC_TRY(cc_keypair_generate(kp));
    return cc_keypair_save(kp, sk, pk, force);
}

static cc_status local_cluster(const char *dir, const char *host, long base_port)
{
    if (base_port < 1 || base_port > 65533)
        return cc_error_set(CC_ERR_ARG, "--base-port must be in 1..65533");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cc_error_set(CC_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    cc_cluster c;
    memset(&c, 0, sizeof c);
    static const char *const names[] = {"p0", "p1", "p2", "client"};
    char prefix[4096];
    /* refuse before writing anything, rather than half a cluster */
    for (int i = 0; !force && i < 9; i++) {
        if (i < 8) snprintf(prefix, sizeof prefix, "%s/%s.%s", dir, names[i / 2], i % 2 ? "pub" : "key");
        else snprintf(prefix, sizeof prefix, "%s/cluster.conf", dir);
        if (access(prefix, F_OK) == 0)
            return cc_error_set(CC_ERR_IO, "%s already exists (nothing written; --force replaces "
                                "the whole cluster's keys)", prefix);
    }
    for (int i = 0; i < 4; i++) {
        cc_keypair kp;
        snprintf(prefix, sizeof prefix, "%s/%s", dir, names[i]);
        cc_status s = write_pair(prefix, &kp);
        if (s == CC_OK && i < 3) {
            snprintf(c.party[i].host, sizeof c.party[i].host, "%s", host);
            c.party[i].port = (uint16_t)(base_port + i);
            memcpy(c.party[i].pk, kp.pk, CC_NET_PUBKEY_BYTES);
        } else if (s == CC_OK) {
            c.has_client = true;
            memcpy(c.client_pk, kp.pk, CC_NET_PUBKEY_BYTES);
        }
        cc_keypair_wipe(&kp);
        CC_TRY(s);
    }
    snprintf(prefix, sizeof prefix, "%s/cluster.conf", dir);
    CC_TRY(cc_cluster_save(prefix, &c, force));
    printf("wrote %s/{p0,p1,p2,client}.{key,pub} and %s\n", dir, prefix);
    return CC_OK;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *show = NULL, *cluster_dir = NULL, *host = "127.0.0.1";
    long base_port = 7400;
    for (int i = 1; i < argc; i++) {
        bool has_val = i + 1 < argc;
        if (!strcmp(argv[i], "--out") && has_val) out = argv[++i];
        else if (!strcmp(argv[i], "--show") && has_val) show = argv[++i];
        else if (!strcmp(argv[i], "--local-cluster") && has_val) cluster_dir = argv[++i];
        else if (!strcmp(argv[i], "--host") && has_val) host = argv[++i];
        else if (!strcmp(argv[i], "--force")) force = true;
        else if (!strcmp(argv[i], "--base-port") && has_val) {
            if (!cc_cli_long(argv[++i], 1, 65533, &base_port)) base_port = 0; /* refused below */
        }
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        else {
            fprintf(stderr, "caracal-keygen: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!!out + !!show + !!cluster_dir != 1) {
        usage(stderr);
        return 2;
    }
    cc_status s;
    cc_keypair kp;
    if (out) {
        s = write_pair(out, &kp);
        if (s == CC_OK) print_pk(kp.pk);
    } else if (show) {
        s = cc_keypair_load(show, &kp);
        if (s == CC_OK) print_pk(kp.pk);
    } else {
        s = local_cluster(cluster_dir, host, base_port);
    }
    cc_keypair_wipe(&kp);
    if (s != CC_OK) {
        fprintf(stderr, "caracal-keygen: %s\n", cc_error_message());
        return 1;
    }
    return 0;
}
