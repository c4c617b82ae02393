#!/usr/bin/env bash
# caracal-party as a service (issue 13), on loopback with synthetic weights:
# three parties with --jobs 0 must survive strangers, idle time longer than
# the start-up timeout, a failed job, a restarted peer and a peer frozen
# mid-job, serve real jobs in between, and exit 0 on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/service_lib.sh"
bin=$1
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for i in 0 1 2; do echo "--- p$i.log"; tail -n 20 "$work/p$i.log"; done; exit 1; }
port=$((20000 + RANDOM % 20000))
"$bin/caracal-keygen" --local-cluster "$work/keys" --base-port "$port" >/dev/null
conf=$work/keys/cluster.conf
start_party() {
  "$bin/caracal-party" --party "$1" --config "$conf" --key "$work/keys/p$1.key" --synthetic stories260k \
      --jobs 0 --threads 1 --connect-timeout-ms 1500 --quiet 2>>"$work/p$1.log" &
  pids[$1]=$!
}
alive() { for i in 0 1 2; do kill -0 "${pids[$i]}" 2>/dev/null || fail "P$i exited ($1)"; done; }
job() {
  timeout 60 "$bin/llama7b_token" --config "$conf" --key "$work/keys/client.key" --ids 1,2,3 -n 1 -q \
      >"$work/client.out" 2>&1
}
for i in 0 1 2; do start_party $i; done
sleep 0.5

# strangers: a HELLO claiming to be the client with a random key, an old
# (v1) HELLO, garbage, a silent socket
python3 - "$port" <<'PY'
import os, socket, sys, time
port = int(sys.argv[1])
def conn(data):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(data); return s
hello = b"CARACAL1" + bytes([2, 3, 0, 2, 0, 0, 0, 0]) + os.urandom(96)
socks = [conn(hello), conn(b"CARACAL1" + bytes([1, 1, 0, 2]) + bytes(4) + os.urandom(64)),
         conn(os.urandom(200)), conn(b"")]
time.sleep(0.5)
PY
sleep 2.5   # idle for longer than the 1.5 s start-up timeout
alive "after strangers and idle time"
grep -q "rejected a connection from 127.0.0.1:[0-9]*: client presented public key" "$work/p0.log" \
  || fail "the stranger's rejection is not logged with its cause"
grep -q "handshake version 1, we speak 2" "$work/p0.log" || fail "old HELLO not named"

job || fail "job 1 failed: $(cat "$work/client.out")"

# a failed job: the self-check client speaks another protocol
if timeout 60 "$bin/caracal-party" --party client --config "$conf" --key "$work/keys/client.key" --io-timeout-ms 2000 \
     >/dev/null 2>&1; then fail "the self-check client should fail against serving parties"; fi
sleep 1.5
alive "after a failed job"
grep -q "job 2 failed" "$work/p0.log" || fail "the failed job is not logged"

job || fail "job after a failed job: $(cat "$work/client.out")"

# a peer party dies while the others wait and is restarted: it rejoins at
# the next job (P2 dials the others; P0 is dialed by them)
for victim in 2 0; do
  sleep 2   # the parties have formed the next job's mesh and wait for the client
  kill -9 "${pids[$victim]}"; wait "${pids[$victim]}" 2>/dev/null || true
  sleep 0.5
  start_party $victim
  sleep 1
  job || fail "job after restarting P$victim: $(cat "$work/client.out")"
  alive "after restarting P$victim"
done
grep -q "P0 closed its connection while we waited for the job; dialing it again" "$work/p1.log" \
  || fail "P1 did not notice that P0 went away"

# a party frozen in the middle of a job (SIGSTOP: its sockets stay open, it
# sends nothing, not even keep-alives): the serving parties wait up to 24 h
# for a live peer's message, but keep-alive declares this one dead within
# about 10 s, the job fails with that cause, and after SIGCONT the frozen
# party finds its job gone and serves the next one
timeout 60 "$bin/llama7b_token" --config "$conf" --key "$work/keys/client.key" --ids 1,2,3 -n 400 -q \
    >"$work/frozen.out" 2>&1 &
client=$!
sleep 1.5
kill -STOP "${pids[1]}"
t0=$(date +%s)
rc=0; wait "$client" || rc=$?
kill -CONT "${pids[1]}"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the job with a frozen party ended with rc=$rc: $(cat "$work/frozen.out")"
[ $(( $(date +%s) - t0 )) -le 25 ] || fail "a frozen party took more than 25 s to be noticed"
grep -Eq "declared dead|went silent" "$work/frozen.out" || fail "the frozen party is not named: $(cat "$work/frozen.out")"
sleep 2
alive "after a frozen party"
job || fail "job after a frozen party: $(cat "$work/client.out")"

# SIGTERM: every party exits 0, promptly
stop_parties
echo "service test passed"
