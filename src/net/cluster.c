/* Cluster config files (format documented in docs/NETWORK.md):
 *
 *   # comment
 *   party 0 10.0.0.1:7400 <64 hex digits: P0's public key>
 *   party 1 10.0.0.2:7400 <...>
 *   party 2 [fd00::3]:7400 <...>
 *   client <64 hex digits>          (optional)
 *
 * Every error names the file and line. */
#include "net_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cc_status parse_hostport(const char *text, cc_endpoint *ep, const char *path, int line)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return cc_error_set(CC_ERR_FORMAT, "%s:%d: expected host:port, got '%s'", path, line, text);
    const char *h = text;
    size_t hlen = (size_t)(colon - text);
    if (h[0] == '[') { /* [v6]:port */
        if (hlen < 2 || h[hlen - 1] != ']')
            return cc_error_set(CC_ERR_FORMAT, "%s:%d: bad bracketed host '%s'", path, line, text);
        h++;
        hlen -= 2;
    }
    /* no brackets inside a host: "[[x]]:1" would save as "[x]:1" and read back as "x" */
    if (hlen == 0 || hlen >= sizeof ep->host || memchr(h, '[', hlen) || memchr(h, ']', hlen))
        return cc_error_set(CC_ERR_FORMAT, "%s:%d: bad host in '%s'", path, line, text);
    memcpy(ep->host, h, hlen);
    ep->host[hlen] = '\0';
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port == 0 || port > 65535)
        return cc_error_set(CC_ERR_FORMAT, "%s:%d: bad port in '%s' (1..65535)", path, line, text);
    ep->port = (uint16_t)port;
    return CC_OK;
}

static cc_status parse_key(const char *text, uint8_t out[32], const char *path, int line)
{
    if (strlen(text) != 64 || !cc_hex_decode(text, out, 32))
        return cc_error_set(CC_ERR_FORMAT, "%s:%d: expected a 64-hex-digit public key, got '%s'",
                            path, line, text);
    return CC_OK;
}

/* One line (NUL-terminated, comment already cut) into *out. */
static cc_status parse_line(char *buf, cc_cluster *out, bool seen[CC_NET_PARTIES],
                            const char *path, int line)
{
    char *save = NULL, *w[5] = {0};
    int n = 0;
    for (char *t = strtok_r(buf, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save))
        w[n < 5 ? n++ : 4] = t;
    if (n == 0) return CC_OK;
    if (strcmp(w[0], "party") == 0 && n == 4) {
        char *end;
        long id = strtol(w[1], &end, 10);
        if (*end || id < 0 || id >= CC_NET_PARTIES)
            return cc_error_set(CC_ERR_FORMAT, "%s:%d: party id must be 0, 1 or 2", path, line);
        if (seen[id])
            return cc_error_set(CC_ERR_FORMAT, "%s:%d: party %ld listed twice", path, line, id);
        seen[id] = true;
        CC_TRY(parse_hostport(w[2], &out->party[id], path, line));
        return parse_key(w[3], out->party[id].pk, path, line);
    }
    if (strcmp(w[0], "client") == 0 && n == 2) {
        if (out->has_client)
            return cc_error_set(CC_ERR_FORMAT, "%s:%d: client listed twice", path, line);
        out->has_client = true;
        return parse_key(w[1], out->client_pk, path, line);
    }
    return cc_error_set(CC_ERR_FORMAT, "%s:%d: expected 'party I host:port PUBKEY' or "
                        "'client PUBKEY'", path, line);
}

#define CLUSTER_LINE_MAX 1023 /* bytes per line, newline excluded */

cc_status cc_cluster_parse(const char *text, size_t len, const char *path, cc_cluster *out)
{
    memset(out, 0, sizeof *out);
    bool seen[CC_NET_PARTIES] = {false};
    char buf[CLUSTER_LINE_MAX + 1];
    int line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        line++;
        if (n > CLUSTER_LINE_MAX)
            return cc_error_set(CC_ERR_FORMAT, "%s:%d: line too long", path, line);
        if (memchr(text + pos, '\0', n))
            return cc_error_set(CC_ERR_FORMAT, "%s:%d: NUL byte in a text file", path, line);
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        pos += n + (nl != NULL);
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        CC_TRY(parse_line(buf, out, seen, path, line));
    }
    for (int i = 0; i < CC_NET_PARTIES; i++)
        if (!seen[i]) return cc_error_set(CC_ERR_FORMAT, "%s: no line for party %d", path, i);
    return CC_OK;
}

/* A config is a few lines; anything near this size is not one. */
#define CLUSTER_FILE_MAX (1u << 20)

cc_status cc_cluster_load(const char *path, cc_cluster *out)
{
    FILE *f = fopen(path, "r");
    if (!f) return cc_error_set(CC_ERR_IO, "cannot open cluster config %s: %s", path, strerror(errno));
    char *text = malloc(CLUSTER_FILE_MAX + 1);
    if (!text) {
        fclose(f);
        return cc_error_set(CC_ERR_NOMEM, "out of memory reading %s", path);
    }
    size_t len = fread(text, 1, CLUSTER_FILE_MAX + 1, f);
    cc_status s = CC_OK;
    if (ferror(f)) s = cc_error_set(CC_ERR_IO, "reading %s failed", path);
    else if (len > CLUSTER_FILE_MAX)
        s = cc_error_set(CC_ERR_FORMAT, "%s: larger than %u bytes, not a cluster config", path,
                         CLUSTER_FILE_MAX);
    fclose(f);
    if (s == CC_OK) s = cc_cluster_parse(text, len, path, out);
    free(text);
    return s;
}

cc_status cc_cluster_save(const char *path, const cc_cluster *c, bool overwrite)
{
    char text[2048], hex[65];
    size_t n = (size_t)snprintf(text, sizeof text, "# caracal cluster config: party ID "
                                "HOST:PORT PUBKEY, optional client PUBKEY\n");
    for (int i = 0; i < CC_NET_PARTIES; i++) {
        cc_hex_encode(c->party[i].pk, 32, hex);
        bool v6 = strchr(c->party[i].host, ':') != NULL;
        n += (size_t)snprintf(text + n, sizeof text - n, "party %d %s%s%s:%u %s\n", i,
                              v6 ? "[" : "", c->party[i].host, v6 ? "]" : "", c->party[i].port, hex);
    }
    if (c->has_client) {
        cc_hex_encode(c->client_pk, 32, hex);
        n += (size_t)snprintf(text + n, sizeof text - n, "client %s\n", hex);
    }
    return cc_file_write_atomic(path, 0644, text, strlen(text), overwrite);
}
