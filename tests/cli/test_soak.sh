#!/usr/bin/env bash
# Soak test (issue 13): three caracal-party servers on stories260K shares
# serve 30 token jobs from llama7b_token while being disturbed the way a
# public service is:
#   * before every job a stray connection to one party's port: a HELLO-like
#     header with random bytes, garbage, a socket that connects and idles
#     (kept open across the job), or one that connects and hangs up;
#   * a client killed with SIGKILL in the middle of a long generation;
#   * P1 killed with SIGKILL between jobs and started again (the next job may
#     fail once; every later one must succeed);
#   * 40 s without any job (longer than the start-up and keep-alive limits).
# Checked: every completed job's tokens equal the plaintext greedy tokens of
# caracal-ref; no other job fails; every party is still up at the end and
# exits 0 on SIGTERM; each party's VmRSS after the last job is within 10 % of
# its VmRSS after its fifth job (P1: the fifth job after its restart), so
# nothing grows per job or per disturbance.
set -euo pipefail
. "$(dirname "$0")/service_lib.sh"
bin=$1 models=${CARACAL_MODELS:-$2}
if [ ! -r "$models/stories260K.bin" ]; then
  if [ "${CI:-}" = true ] || [ "${CARACAL_REQUIRE_DATA:-}" = 1 ]; then
    echo "FAIL: $models/stories260K.bin not found and test data is required"; exit 1
  fi
  echo "SKIP: $models/stories260K.bin not found (set CARACAL_MODELS)"; exit 77
fi
t_start=$(date +%s)
work=$(mktemp -d)
pids=() idle_fds=() client_pid=
cleanup() {
  for p in "${pids[@]}" $client_pid; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for i in 0 1 2; do echo "--- p$i.log (last 15 lines)"; tail -n 15 "$work/p$i.log"; done
  exit 1
}
port=$((20000 + RANDOM % 20000))
"$bin/caracal-keygen" --local-cluster "$work/keys" --base-port "$port" >/dev/null
conf=$work/keys/cluster.conf
"$bin/caracal-share" --checkpoint "$models/stories260K.bin" --out "$work/bundle" >"$work/share.log" 2>&1 \
  || { cat "$work/share.log"; fail "caracal-share"; }

start_party() {
  "$bin/caracal-party" --party "$1" --config "$conf" --key "$work/keys/p$1.key" \
      --shares "$work/bundle" --threads 1 --quiet 2>>"$work/p$1.log" &
  pids[$1]=$!
}
alive() { for i in 0 1 2; do kill -0 "${pids[$i]}" 2>/dev/null || fail "P$i is gone ($1)"; done; }
# A party's VmRSS once it is idle again: the client returns as soon as it has
# its tokens, while the party is still tearing the job down and releasing
# its scratch memory, so every measurement (baselines and final) waits for
# that to settle first.
rss_kb() { sleep 0.5; awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Stray connection number k to party k % 3.  Errors (a party restarting)
# are ignored: the point is what the party does with them.
stray() {
  local k=$1 p=$((port + $1 % 3)) fd
  { exec {fd}<>"/dev/tcp/127.0.0.1/$p"; } 2>/dev/null || return 0
  case $(($1 % 4)) in
    0) { printf 'CARACAL1\x02\x00\x00\x00'; head -c 100 /dev/urandom; } >&"$fd" 2>/dev/null || true
       exec {fd}>&- ;;
    1) head -c 300 /dev/urandom >&"$fd" 2>/dev/null || true; exec {fd}>&- ;;
    2) idle_fds+=("$fd") ;;   # connect and say nothing; closed after the job
    3) exec {fd}>&- ;;
  esac
}
close_idle() { for fd in "${idle_fds[@]}"; do exec {fd}>&-; done; idle_fds=(); }

# Prompts: prefixes of the golden sequence and a few others; n varies.
prompts=(1 1,461,461,319 1,403,407 1,461,461,319,339,339 1,201,499,327,460 1,330,256,418)
declare -A want
reference() {   # plaintext greedy tokens of prompt $1, $2 tokens, space-separated
  local key="$1/$2"
  if [ -z "${want[$key]:-}" ]; then
    want[$key]=$("$bin/caracal-ref" --model "$models/stories260K.bin" --ids "$1" --generate "$2" \
                 | sed -n 's/^generated ids: //p' | tr ',' ' ')
    [ -n "${want[$key]}" ] || fail "caracal-ref gave no tokens for $key"
  fi
  echo "${want[$key]}"
}

failed_jobs=0 completed=0
# job NUMBER [may-fail]: one token job, its tokens checked against the reference
job() {
  local k=$1 ids=${prompts[$(($1 % ${#prompts[@]}))]} n=$(($1 % 5 + 1)) got
  if ! timeout 120 "$bin/llama7b_token" --config "$conf" --key "$work/keys/client.key" \
        --ids "$ids" -n "$n" -q >"$work/client.out" 2>&1; then
    [ "${2:-}" = may-fail ] || fail "job $k (ids $ids, n $n) failed: $(cat "$work/client.out")"
    echo "job $k failed as allowed: $(tail -n 1 "$work/client.out")"
    failed_jobs=$((failed_jobs + 1))
    return 0
  fi
  got=$(sed -n 's/^tokens *//p' "$work/client.out" | tr -s ' ' | sed 's/ *$//')
  [ "$got" = "$(reference "$ids" "$n")" ] \
    || fail "job $k (ids $ids, n $n): tokens '$got', plaintext reference '$(reference "$ids" "$n")'"
  completed=$((completed + 1))
}

for i in 0 1 2; do start_party $i; done
declare -A base
for k in $(seq 1 30); do
  stray "$k"
  if [ "$k" -eq 9 ]; then job "$k" may-fail; else job "$k"; fi
  close_idle
  case $k in
    5) for i in 0 2; do base[$i]=$(rss_kb "${pids[$i]}"); done ;;
    8) # P1 crashes between jobs and is started again
       kill -9 "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
       start_party 1; sleep 0.5 ;;
    13) base[1]=$(rss_kb "${pids[1]}") ;;   # P1's fifth job since its restart (9..13)
    15) # a client killed in the middle of a long generation
       "$bin/llama7b_token" --config "$conf" --key "$work/keys/client.key" --ids 1 -n 400 -q \
           >"$work/killed.out" 2>&1 &
       client_pid=$!
       sleep 3
       kill -0 "$client_pid" 2>/dev/null || fail "the long job ended before it could be killed: $(cat "$work/killed.out")"
       kill -9 "$client_pid"; wait "$client_pid" 2>/dev/null || true; client_pid= ;;
    22) alive "before the idle gap"; sleep 40; alive "after 40 s idle" ;;
  esac
done
alive "after 30 jobs"
for i in 0 1 2; do
  now=$(rss_kb "${pids[$i]}")
  echo "P$i VmRSS: ${base[$i]} kB after its fifth job, $now kB after the last"
  [ $((now * 10)) -le $((base[$i] * 11)) ] && [ $((now * 10)) -ge $((base[$i] * 9)) ] \
    || fail "P$i's RSS moved by more than 10 % (${base[$i]} -> $now kB)"
done
[ "$failed_jobs" -le 1 ] || fail "$failed_jobs jobs failed"
[ "$completed" -ge 29 ] || fail "only $completed jobs completed"
grep -q "rejected a connection from 127.0.0.1" "$work/p0.log" "$work/p1.log" "$work/p2.log" \
  || fail "no stray connection was rejected and logged"
grep -q "failed: .*client" "$work/p0.log" || fail "P0 did not log the killed client's job as failed"

stop_parties
echo "soak passed: $completed jobs completed, $failed_jobs failed as allowed, $(( $(date +%s) - t_start )) s"
