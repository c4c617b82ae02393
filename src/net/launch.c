/* Local launcher: three party processes on loopback (plus the caller as the
 * optional client), fresh keys, ports bound in the parent (port 0) and
 * inherited by the children, so ports never collide and nothing retries.
 *
 * Children die with the parent (PR_SET_PDEATHSIG).  If one process fails,
 * the others get LAUNCH_GRACE_MS to notice (their links see EOF at once) and
 * report their own error; whatever still runs then is killed.  The children
 * end with _exit(): they are forks of the caller and must not run its atexit
 * handlers or flush its stdio buffers twice. */
#include "net_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAUNCH_GRACE_MS 5000u
/* Exit code of a child whose cc_net_open failed. */
#define LAUNCH_OPEN_FAILED 90

static void child_run(int me, const cc_cluster *cl, cc_keypair *key, const cc_net_options *opt,
                      int listen_fd, pid_t parent, cc_party_main party_main, void *arg)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(LAUNCH_OPEN_FAILED); /* parent already gone */
    char tag[8];
    snprintf(tag, sizeof tag, "P%d", me);
    cc_log_set_tag(tag);
    cc_net *net;
    cc_status s = cc_net_open_fd(cl, me, key, opt, listen_fd, &net);
    cc_keypair_wipe(key);
    if (s != CC_OK) {
        cc_error_log("%s", cc_error_message());
        fflush(stderr);
        _exit(LAUNCH_OPEN_FAILED);
    }
    int code = party_main(net, arg);
    if (code != 0) {
        char why[600];
        snprintf(why, sizeof why, "P%d's work failed (exit code %d): %s", me, code, cc_error_message());
        cc_error_log("party exited with code %d: %s", code, cc_error_message());
        cc_net_abort(net, why); /* tell the others now instead of a graceful goodbye */
    }
    cc_net_close(net);
    fflush(stdout);
    fflush(stderr);
    _exit(code & 0xff);
}

static int decode_status(int st)
{
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return 255;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

cc_status cc_net_launch_local(cc_party_main party_main, void *party_arg,
                              cc_client_main client_main, void *client_arg,
                              const cc_net_options *opt, cc_launch_result *res)
{
    cc_launch_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    if (!party_main) return cc_error_set(CC_ERR_ARG, "launcher: no party_main");
    cc_net_options o;
    cc_net_fill_defaults(&o, opt);
    cc_cluster cl;
    memset(&cl, 0, sizeof cl);
    cc_keypair keys[CC_NET_PARTIES], ckey;
    int lfd[CC_NET_PARTIES] = {-1, -1, -1};
    pid_t pid[CC_NET_PARTIES] = {0, 0, 0};
    cc_status s = CC_OK;
    for (int i = 0; s == CC_OK && i < CC_NET_PARTIES; i++) {
        s = cc_keypair_generate(&keys[i]);
        snprintf(cl.party[i].host, sizeof cl.party[i].host, "127.0.0.1");
        if (s == CC_OK) s = cc_net_listen("127.0.0.1", &cl.party[i].port, &lfd[i]);
        memcpy(cl.party[i].pk, keys[i].pk, 32);
    }
    if (s == CC_OK && client_main) {
        s = cc_keypair_generate(&ckey);
        cl.has_client = true;
        memcpy(cl.client_pk, ckey.pk, 32);
    }
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; s == CC_OK && i < CC_NET_PARTIES; i++) {
        pid[i] = fork();
        if (pid[i] < 0) {
            pid[i] = 0;
            s = cc_error_set(CC_ERR_INTERNAL, "launcher: fork failed: %s", strerror(errno));
        } else if (pid[i] == 0) {
            for (int j = 0; j < CC_NET_PARTIES; j++)
                if (j != i) close(lfd[j]);
            child_run(i, &cl, &keys[i], &o, lfd[i], parent, party_main, party_arg);
        }
    }
    for (int i = 0; i < CC_NET_PARTIES; i++) {
        if (lfd[i] >= 0) close(lfd[i]);
        cc_keypair_wipe(&keys[i]);
    }
    res->client_code = 0;
    char client_err[768] = "";
    if (s == CC_OK && client_main) {
        cc_client *c;
        cc_status cs = cc_client_open(&cl, &ckey, &o, &c);
        if (cs != CC_OK) {
            res->client_code = LAUNCH_OPEN_FAILED;
            snprintf(client_err, sizeof client_err, "%s", cc_error_message());
        } else {
            res->client_code = client_main(c, client_arg);
            if (res->client_code != 0)
                snprintf(client_err, sizeof client_err, "%s", cc_error_message());
            cc_client_close(c);
        }
    }
    if (client_main) cc_keypair_wipe(&ckey);

    /* Collect the children.  After the first failure, allow a grace period. */
    bool done[CC_NET_PARTIES], killed[CC_NET_PARTIES] = {false, false, false};
    int first_bad = -1;
    uint64_t kill_at = 0;
    if (s != CC_OK || res->client_code != 0) kill_at = cc_now_ns() + LAUNCH_GRACE_MS * 1000000ull;
    for (int i = 0; i < CC_NET_PARTIES; i++) {
        done[i] = pid[i] == 0;
        res->exit_code[i] = pid[i] == 0 ? -1 : 0;
    }
    for (;;) {
        bool all = true;
        for (int i = 0; i < CC_NET_PARTIES; i++) {
            if (done[i]) continue;
            int st;
            pid_t r = waitpid(pid[i], &st, WNOHANG);
            if (r == pid[i]) {
                done[i] = true;
                res->exit_code[i] = decode_status(st);
                if (res->exit_code[i] != 0 && first_bad < 0) {
                    first_bad = i;
                    if (!kill_at) kill_at = cc_now_ns() + LAUNCH_GRACE_MS * 1000000ull;
                }
            } else if (r < 0 && errno != EINTR) {
                done[i] = true;
                res->exit_code[i] = 255;
            } else {
                all = false;
            }
        }
        if (all) break;
        if (kill_at && cc_now_ns() >= kill_at) {
            for (int i = 0; i < CC_NET_PARTIES; i++)
                if (!done[i]) {
                    kill(pid[i], SIGKILL);
                    killed[i] = true;
                }
            kill_at = 0; /* the next rounds reap them */
            continue;
        }
        sleep_ms(2);
    }
    if (s != CC_OK) return s;
    /* Blame a party that died by a signal we did not send (the others only
     * reacted), else the first one seen failing. */
    for (int i = 0; i < CC_NET_PARTIES; i++)
        if (res->exit_code[i] > 128 && !killed[i]) first_bad = i;
    if (first_bad >= 0) {
        int c = res->exit_code[first_bad];
        if (c > 128)
            return cc_error_set(CC_ERR_PEER, "P%d was killed by signal %d", first_bad, c - 128);
        bool any_killed = killed[0] || killed[1] || killed[2];
        if (any_killed)
            return cc_error_set(CC_ERR_PEER, "P%d exited with code %d%s; parties still running "
                                "%u ms later were killed", first_bad, c,
                                c == LAUNCH_OPEN_FAILED ? " (could not set up its links)" : "",
                                LAUNCH_GRACE_MS);
        return cc_error_set(CC_ERR_PEER, "P%d exited with code %d%s", first_bad, c,
                            c == LAUNCH_OPEN_FAILED ? " (could not set up its links)" : "");
    }
    if (res->client_code != 0)
        return cc_error_set(CC_ERR_PEER, "the client failed with code %d: %s", res->client_code,
                            client_err);
    return CC_OK;
}
