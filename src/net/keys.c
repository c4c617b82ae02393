/* Static X25519 key pairs (libsodium crypto_kx) and their files.
 *
 * Files are one line of lowercase hex: the secret-key file holds sk||pk
 * (so loading it alone gives the whole pair), the public-key file holds pk.
 * Secret-key files are created with mode 0600 and refused if group/other
 * can read them.  Files are written atomically and, unless asked to,
 * never over an existing file (a lost secret key cannot be undone). */
#include "net_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cc_status sodium_ready(void)
{
    if (sodium_init() < 0) return cc_error_set(CC_ERR_INTERNAL, "libsodium failed to initialise");
    return CC_OK;
}

cc_status cc_keypair_generate(cc_keypair *kp)
{
    CC_TRY(sodium_ready());
    if (crypto_kx_keypair(kp->pk, kp->sk) != 0)
        return cc_error_set(CC_ERR_INTERNAL, "crypto_kx_keypair failed");
    return CC_OK;
}

void cc_keypair_wipe(cc_keypair *kp) { cc_wipe(kp, sizeof *kp); }

/* Write `len` bytes to `path` atomically: a temporary file in the same
 * directory (created with `mode`, so a secret is never readable by others,
 * not even for a moment), fsync, then link() — which fails if `path`
 * exists — or, with `overwrite`, rename() over it; then fsync the directory.
 * Either the old file or the complete new one is there, never a torn one. */
cc_status cc_file_write_atomic(const char *path, unsigned mode, const void *data, size_t len,
                               bool overwrite)
{
    if (!overwrite && access(path, F_OK) == 0)
        return cc_error_set(CC_ERR_IO, "%s already exists (not overwritten; --force replaces it)",
                            path);
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return cc_error_set(CC_ERR_ARG, "path too long: %s", path);
    int fd = mkstemp(tmp); /* mode 0600 until the fchmod below */
    if (fd < 0) return cc_error_set(CC_ERR_IO, "cannot create a file next to %s: %s", path, strerror(errno));
    cc_status s = CC_OK;
    if (fchmod(fd, (mode_t)mode) != 0)
        s = cc_error_set(CC_ERR_IO, "cannot chmod %s: %s", tmp, strerror(errno));
    const uint8_t *p = data;
    for (size_t off = 0; s == CC_OK && off < len;) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) s = cc_error_set(CC_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        else off += (size_t)w;
    }
    if (s == CC_OK && fsync(fd) != 0)
        s = cc_error_set(CC_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && s == CC_OK)
        s = cc_error_set(CC_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (s == CC_OK && !overwrite) {
        if (link(tmp, path) != 0)
            s = errno == EEXIST ? cc_error_set(CC_ERR_IO, "%s already exists (not overwritten; "
                                               "--force replaces it)", path)
                                : cc_error_set(CC_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        unlink(tmp);
    } else if (s == CC_OK) {
        if (rename(tmp, path) != 0) {
            s = cc_error_set(CC_ERR_IO, "cannot replace %s: %s", path, strerror(errno));
            unlink(tmp);
        }
    } else {
        unlink(tmp);
    }
    if (s == CC_OK) { /* make the new directory entry durable too */
        char dir[4200];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
        else snprintf(dir, sizeof dir, ".");
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return s;
}

cc_status cc_keypair_save(const cc_keypair *kp, const char *path_secret, const char *path_public,
                          bool overwrite)
{
    if (!path_secret) return cc_error_set(CC_ERR_ARG, "cc_keypair_save: no path for the secret key");
    for (int i = 0; !overwrite && i < 2; i++) { /* neither half is written over */
        const char *path = i ? path_public : path_secret;
        if (path && access(path, F_OK) == 0)
            return cc_error_set(CC_ERR_IO, "%s already exists (not overwritten; --force "
                                "replaces it)", path);
    }
    char line[4 * CC_NET_SECKEY_BYTES + 4];
    uint8_t both[CC_NET_SECKEY_BYTES + CC_NET_PUBKEY_BYTES];
    memcpy(both, kp->sk, CC_NET_SECKEY_BYTES);
    memcpy(both + CC_NET_SECKEY_BYTES, kp->pk, CC_NET_PUBKEY_BYTES);
    cc_hex_encode(both, sizeof both, line);
    strcat(line, "\n");
    cc_status s = cc_file_write_atomic(path_secret, 0600, line, strlen(line), overwrite);
    cc_wipe(both, sizeof both);
    cc_wipe(line, sizeof line);
    if (s != CC_OK || !path_public) return s;
    cc_hex_encode(kp->pk, CC_NET_PUBKEY_BYTES, line);
    strcat(line, "\n");
    return cc_file_write_atomic(path_public, 0644, line, strlen(line), overwrite);
}

cc_status cc_keypair_parse(const char *text, size_t n, const char *name, cc_keypair *kp)
{
    CC_TRY(sodium_ready());
    cc_status s = CC_OK;
    uint8_t both[CC_NET_SECKEY_BYTES + CC_NET_PUBKEY_BYTES];
    size_t want = 2 * sizeof both;
    if (n < want || (n > want && text[want] != '\n' && text[want] != '\r')) {
        s = cc_error_set(CC_ERR_FORMAT, "key file %s: expected %zu hex digits (secret||public key)",
                         name, want);
    } else if (!cc_hex_decode(text, both, sizeof both)) {
        s = cc_error_set(CC_ERR_FORMAT, "key file %s: not hexadecimal", name);
    } else {
        memcpy(kp->sk, both, CC_NET_SECKEY_BYTES);
        memcpy(kp->pk, both + CC_NET_SECKEY_BYTES, CC_NET_PUBKEY_BYTES);
        /* the stored public key must belong to the secret key */
        uint8_t derived[CC_NET_PUBKEY_BYTES];
        crypto_scalarmult_base(derived, kp->sk);
        if (sodium_memcmp(derived, kp->pk, sizeof derived) != 0)
            s = cc_error_set(CC_ERR_FORMAT, "key file %s: public key does not match secret key",
                             name);
    }
    cc_wipe(both, sizeof both);
    if (s != CC_OK) cc_keypair_wipe(kp);
    return s;
}

cc_status cc_keypair_load(const char *path_secret, cc_keypair *kp)
{
    CC_TRY(sodium_ready());
    int fd = open(path_secret, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cc_error_set(CC_ERR_IO, "cannot open key file %s: %s", path_secret, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077)) {
        close(fd);
        return cc_error_set(CC_ERR_AUTH, "secret key file %s is readable by group/others "
                            "(chmod 600 it)", path_secret);
    }
    char text[4 * CC_NET_SECKEY_BYTES + 8];
    ssize_t n = read(fd, text, sizeof text - 1);
    int err = errno;
    close(fd);
    cc_status s = n < 0 ? cc_error_set(CC_ERR_IO, "cannot read key file %s: %s", path_secret,
                                       strerror(err))
                        : cc_keypair_parse(text, (size_t)n, path_secret, kp);
    cc_wipe(text, sizeof text);
    return s;
}
