/* caracal-keygen + caracal-party as real programs: a four-process cluster
 * (three parties and the client) passes its self-check; a wrong key file, a
 * wrong party and bad usage fail with the documented exit codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core.h"
#include "net.h"

static char dir[256], conf[300];

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static pid_t spawn(const char *cmd)
{
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return p;
}

static int wait_code(pid_t p, uint64_t deadline)
{
    int st;
    while (waitpid(p, &st, WNOHANG) == 0) {
        if (cc_now_ns() > deadline) {
            kill(p, SIGKILL);
            waitpid(p, &st, 0);
            return -1;
        }
        usleep(5000);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/caracal_cli_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char cmd[2048];
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "%s/caracal-keygen --out %s/%s > /dev/null", CARACAL_BIN_DIR, dir,
                 i < 3 ? (const char *[]){"p0", "p1", "p2"}[i] : "client");
        if (run(cmd) != 0) return -1;
    }
    /* free ports: bind port 0, note it, release it just before the run */
    cc_cluster c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 4; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s.key", dir, i < 3 ? (const char *[]){"p0", "p1", "p2"}[i] : "client");
        cc_keypair kp;
        if (cc_keypair_load(path, &kp) != CC_OK) return -1;
        if (i < 3) {
            strcpy(c.party[i].host, "127.0.0.1");
            int fd;
            if (cc_net_listen("127.0.0.1", &c.party[i].port, &fd) != CC_OK) return -1;
            close(fd);
            memcpy(c.party[i].pk, kp.pk, 32);
        } else {
            c.has_client = true;
            memcpy(c.client_pk, kp.pk, 32);
        }
        cc_keypair_wipe(&kp);
    }
    snprintf(conf, sizeof conf, "%s/cluster.conf", dir);
    return cc_cluster_save(conf, &c, false) == CC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Self-check of a four-process cluster; `extra` is added to every command
 * line.  Leaves P1's stats JSON in buf. */
static void run_selfcheck(const char *extra, char *buf, size_t cap)
{
    char cmd[2048];
    pid_t p[4];
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s/caracal-party --party %d --config %s --key %s/p%d.key "
                 "--stats-json %s/stats%d.json --quiet %s", CARACAL_BIN_DIR, i, conf, dir, i, dir,
                 i, extra);
        p[i] = spawn(cmd);
    }
    snprintf(cmd, sizeof cmd, "%s/caracal-party --party client --config %s --key %s/client.key %s",
             CARACAL_BIN_DIR, conf, dir, extra);
    p[3] = spawn(cmd);
    uint64_t deadline = cc_now_ns() + 30000000000ull;
    for (int i = 0; i < 4; i++) assert_int_equal(wait_code(p[i], deadline), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/stats1.json", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void cluster_selfcheck(void **state)
{
    (void)state;
    char buf[4096];
    run_selfcheck("", buf, sizeof buf);
    /* the stats JSON names the ops of the self-check */
    assert_non_null(strstr(buf, "\"tag\":\"selfcheck/ping\",\"calls\":1,\"rounds\":200"));
    assert_non_null(strstr(buf, "\"insecure_plaintext\":false"));
}

/* Remote parties take --link-profile themselves: the self-check's 200
 * exchanges (every party sends at once) cost one one-way delay each. */
static void cluster_selfcheck_emulated(void **state)
{
    (void)state;
    char buf[4096];
    run_selfcheck("--link-profile 20,10", buf, sizeof buf);
    const char *row = strstr(buf, "\"tag\":\"selfcheck/ping\"");
    assert_non_null(row);
    const char *ns = strstr(row, "\"ns\":");
    assert_non_null(ns);
    double ms = strtod(ns + 5, NULL) * 1e-6;
    print_message("selfcheck/ping under 20 ms round trips: %.1f ms for 200 exchanges\n", ms);
    assert_true(ms >= 200 * 10.0);
    assert_true(ms < 200 * 20.0); /* not a whole round trip each */
}

static void wrong_key_and_usage(void **state)
{
    (void)state;
    char cmd[2048];
    /* P1's key given to party 0: refused before any networking */
    snprintf(cmd, sizeof cmd, "%s/caracal-party --party 0 --config %s --key %s/p1.key 2>%s/err.txt",
             CARACAL_BIN_DIR, conf, dir, dir);
    assert_int_equal(run(cmd), 1);
    snprintf(cmd, sizeof cmd, "grep -q \"is not P0's key\" %s/err.txt", dir);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/caracal-party --party 7 --config %s --key x 2>/dev/null",
             CARACAL_BIN_DIR, conf);
    assert_int_equal(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s/caracal-party --config %s 2>/dev/null", CARACAL_BIN_DIR, conf);
    assert_int_equal(run(cmd), 2);
    /* a bad profile is a usage error that says what is accepted */
    snprintf(cmd, sizeof cmd, "%s/caracal-party --party 0 --config %s --key %s/p0.key "
             "--link-profile 40 2>%s/err.txt", CARACAL_BIN_DIR, conf, dir, dir);
    assert_int_equal(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "grep -q \"link-profile '40': unknown; use none, lan\" %s/err.txt", dir);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/caracal-keygen --bogus 2>/dev/null", CARACAL_BIN_DIR);
    assert_int_equal(run(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s/caracal-keygen --show %s/p0.key > %s/pk.txt && "
             "cmp -s %s/pk.txt %s/p0.pub", CARACAL_BIN_DIR, dir, dir, dir, dir);
    assert_int_equal(run(cmd), 0);
}

/* caracal-keygen keeps existing keys unless --force; files appear whole
 * (no temporary files left behind) with mode 0600 for secrets. */
static void keygen_never_clobbers(void **state)
{
    (void)state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -p %s/p0.key %s/p0.key.orig && cp -p %s/p0.pub %s/p0.pub.orig",
             dir, dir, dir, dir);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/caracal-keygen --out %s/p0 >/dev/null 2>%s/err.txt",
             CARACAL_BIN_DIR, dir, dir);
    assert_int_equal(run(cmd), 1);
    snprintf(cmd, sizeof cmd, "grep -q 'p0.key already exists' %s/err.txt && "
             "cmp -s %s/p0.key %s/p0.key.orig", dir, dir, dir);
    assert_int_equal(run(cmd), 0);
    /* a cluster directory that already has keys: nothing written at all */
    snprintf(cmd, sizeof cmd, "mkdir -p %s/lc && cp -p %s/p2.key %s/lc/p2.key && "
             "%s/caracal-keygen --local-cluster %s/lc >/dev/null 2>%s/err.txt", dir, dir, dir,
             CARACAL_BIN_DIR, dir, dir);
    assert_int_equal(run(cmd), 1);
    snprintf(cmd, sizeof cmd, "grep -q 'p2.key already exists' %s/err.txt && "
             "test $(ls %s/lc | wc -l) = 1 && cmp -s %s/lc/p2.key %s/p2.key", dir, dir, dir, dir);
    assert_int_equal(run(cmd), 0);
    /* --force replaces, atomically, with the right modes */
    snprintf(cmd, sizeof cmd, "%s/caracal-keygen --local-cluster %s/lc --force >/dev/null && "
             "! cmp -s %s/lc/p2.key %s/p2.key && test $(ls %s/lc | wc -l) = 9 && "
             "test \"$(stat -c %%a %s/lc/p0.key %s/lc/client.key %s/lc/p0.pub)\" = \"$(printf '600\\n600\\n644')\"",
             CARACAL_BIN_DIR, dir, dir, dir, dir, dir, dir, dir);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/caracal-keygen --out %s/p0 --force >/dev/null && "
             "! cmp -s %s/p0.key %s/p0.key.orig && mv %s/p0.key.orig %s/p0.key && "
             "mv %s/p0.pub.orig %s/p0.pub", CARACAL_BIN_DIR, dir, dir, dir, dir, dir, dir, dir);
    assert_int_equal(run(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cluster_selfcheck),
        cmocka_unit_test(cluster_selfcheck_emulated),
        cmocka_unit_test(wrong_key_and_usage),
        cmocka_unit_test(keygen_never_clobbers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
