/* Static X25519 key pairs (libsodium crypto_kx) and their files.
 *
 * Files are one line of lowercase hex: the secret-key file holds sk||pk
 * (so loading it alone gives the whole pair), the public-key file holds pk.
 * Secret-key files are created with mode 0600 and refused if group/other
 * can read them. */
#include "net_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cc_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool cc_hex_decode(const char *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(in[2 * i]);
        if (hi < 0) return false;
        int lo = hex_digit(in[2 * i + 1]);
        if (lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

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

static cc_status write_line(const char *path, mode_t mode, const char *line)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return cc_error_set(CC_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    /* O_CREAT does not change the mode of an existing file: force it. */
    if (fchmod(fd, mode) != 0) {
        close(fd);
        return cc_error_set(CC_ERR_IO, "cannot chmod %s: %s", path, strerror(errno));
    }
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t w = write(fd, line + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return cc_error_set(CC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) return cc_error_set(CC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return CC_OK;
}

cc_status cc_keypair_save(const cc_keypair *kp, const char *path_secret, const char *path_public)
{
    char line[4 * CC_NET_SECKEY_BYTES + 4];
    uint8_t both[CC_NET_SECKEY_BYTES + CC_NET_PUBKEY_BYTES];
    memcpy(both, kp->sk, CC_NET_SECKEY_BYTES);
    memcpy(both + CC_NET_SECKEY_BYTES, kp->pk, CC_NET_PUBKEY_BYTES);
    cc_hex_encode(both, sizeof both, line);
    strcat(line, "\n");
    cc_status s = write_line(path_secret, 0600, line);
    cc_wipe(both, sizeof both);
    cc_wipe(line, sizeof line);
    if (s != CC_OK || !path_public) return s;
    cc_hex_encode(kp->pk, CC_NET_PUBKEY_BYTES, line);
    strcat(line, "\n");
    return write_line(path_public, 0644, line);
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
