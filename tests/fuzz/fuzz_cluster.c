/* Fuzz the cluster config parser (cc_cluster_parse, behind cc_cluster_load).
 * Invariants on success: three parties with a non-empty host and a port,
 * and what cc_cluster_save writes parses back to the same cluster. */
#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "net.h"

static char saved_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(saved_path, sizeof saved_path, "/tmp/caracal-fuzz-cluster-%d.conf", (int)getpid());
    return 0;
}

static void check_roundtrip(const cc_cluster *c)
{
    FUZZ_CHECK(cc_cluster_save(saved_path, c, true) == CC_OK);
    FILE *f = fopen(saved_path, "r");
    FUZZ_CHECK(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    unlink(saved_path);
    cc_cluster back;
    if (cc_cluster_parse(text, n, "saved", &back) != CC_OK) {
        fprintf(stderr, "saved config does not parse: %s\n%.*s", cc_error_message(), (int)n, text);
        abort();
    }
    FUZZ_CHECK(memcmp(c, &back, sizeof back) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_cluster c;
    if (cc_cluster_parse((const char *)data, size, "fuzz", &c) == CC_OK) {
        for (int i = 0; i < CC_NET_PARTIES; i++) {
            size_t hl = strnlen(c.party[i].host, sizeof c.party[i].host);
            FUZZ_CHECK(hl > 0 && hl < sizeof c.party[i].host);
            FUZZ_CHECK(c.party[i].port != 0);
        }
        check_roundtrip(&c);
    }
    return 0;
}
