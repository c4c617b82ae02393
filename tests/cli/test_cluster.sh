#!/usr/bin/env bash
# The deployment path of README "Running on three servers", on loopback:
# caracal-keygen -> caracal-share -> three caracal-party servers -> the
# llama7b_token client, checked with compare_logits.py against the golden
# logits; then the
# failures a user meets first: bad arguments, parties that are not there.
set -euo pipefail
bin=$1 models=${CARACAL_MODELS:-$2} here=$3
if [ ! -r "$models/stories260K.bin" ]; then
  if [ "${CI:-}" = true ] || [ "${CARACAL_REQUIRE_DATA:-}" = 1 ]; then
    echo "FAIL: $models/stories260K.bin not found and test data is required"; exit 1
  fi
  echo "SKIP: $models/stories260K.bin not found (set CARACAL_MODELS)"; exit 0
fi
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
"$bin/caracal-keygen" --local-cluster "$work/keys" --base-port "$port" >/dev/null
"$bin/caracal-share" --checkpoint "$models/stories260K.bin" --out "$work/bundle" >/dev/null 2>&1
for i in 0 1 2; do
  "$bin/caracal-party" --party $i --config "$work/keys/cluster.conf" --key "$work/keys/p$i.key" \
      --shares "$work/bundle" --jobs 1 --allow-reveal logits --quiet 2>"$work/p$i.log" &
done
ids=$(python3 -c "
import struct,sys; d=open(sys.argv[1],'rb').read(); L,V=struct.unpack_from('ii',d)
print(','.join(map(str,struct.unpack_from('%di'%L,d,8))))" "$models/stories260K.golden.bin")
"$bin/llama7b_token" --config "$work/keys/cluster.conf" --key "$work/keys/client.key" \
    --ids "$ids" -n 0 --all-logits "$work/logits.bin" --json "$work/report.json" -q >"$work/out" 2>&1 \
  || { cat "$work/out" "$work"/p*.log; exit 1; }
wait
python3 "$here/compare_logits.py" "$models/stories260K.golden.bin" "$work/logits.bin"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['bytes_total'] > 0 and len(r['parties']) == 3" "$work/report.json"

# the parties' default reveal policy (token) refuses a job asking for logits:
# the client and every party name the cause
port2=$((port + 10))
sed "s/:$port\b/:$port2/; s/:$((port + 1))\b/:$((port2 + 1))/; s/:$((port + 2))\b/:$((port2 + 2))/" \
    "$work/keys/cluster.conf" >"$work/keys/cluster2.conf"
pids=()
for i in 0 1 2; do
  "$bin/caracal-party" --party $i --config "$work/keys/cluster2.conf" --key "$work/keys/p$i.key" \
      --shares "$work/bundle" --jobs 1 --quiet 2>"$work/q$i.log" &
  pids+=($!)
done
if "$bin/llama7b_token" --config "$work/keys/cluster2.conf" --key "$work/keys/client.key" \
    --ids "$ids" -n 0 --all-logits "$work/refused.bin" -q >"$work/out" 2>&1; then
  echo "a logits job was served by parties that allow only tokens"; exit 1
fi
grep -q -- "--allow-reveal logits" "$work/out" || { cat "$work/out"; exit 1; }
for _ in $(seq 100); do
  [ "$(grep -l -- "--allow-reveal logits" "$work"/q*.log | wc -l)" -eq 3 ] && break; sleep 0.1
done
for i in 0 1 2; do grep -q -- "--allow-reveal logits" "$work/q$i.log" || { cat "$work/q$i.log"; exit 1; }; done
kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true
[ ! -e "$work/refused.bin" ]

# w2.ccw truncated under running parties between two jobs: the second job is
# refused by name on the parties and the client (no SIGBUS, no hang)
port3=$((port + 20))
sed "s/:$port\b/:$port3/; s/:$((port + 1))\b/:$((port3 + 1))/; s/:$((port + 2))\b/:$((port3 + 2))/" \
    "$work/keys/cluster.conf" >"$work/keys/cluster3.conf"
pids=()
for i in 0 1 2; do
  "$bin/caracal-party" --party $i --config "$work/keys/cluster3.conf" --key "$work/keys/p$i.key" \
      --shares "$work/bundle" --jobs 2 --quiet 2>"$work/t$i.log" &
  pids+=($!)
done
client3=("$bin/llama7b_token" --config "$work/keys/cluster3.conf" --key "$work/keys/client.key" --ids 1,2 -n 1 -q)
"${client3[@]}" >"$work/out" 2>&1 || { cat "$work/out" "$work"/t*.log; exit 1; }
truncate -s 8192 "$work/bundle/w2.ccw"
if "${client3[@]}" >"$work/out" 2>&1; then echo "a job ran on a truncated bundle"; exit 1; fi
grep -q "truncated since this party validated it" "$work/out" || { cat "$work/out"; exit 1; }
for i in 1 2; do
  for _ in $(seq 100); do grep -q "truncated since" "$work/t$i.log" && break; sleep 0.1; done
  grep -q "truncated since" "$work/t$i.log" || { cat "$work/t$i.log"; exit 1; }
done
kill "${pids[@]}" 2>/dev/null || true
for p in "${pids[@]}"; do
  rc=0; wait "$p" || rc=$?
  [ "$rc" -lt 128 ] || [ "$rc" -eq 143 ] || { echo "a party died of signal $((rc - 128))"; exit 1; }
done

# bad arguments: exit 2 with a message
if "$bin/llama7b_token" --reveal sideways 2>"$work/err"; then exit 1; fi
grep -q -- "--reveal" "$work/err"
if "$bin/llama7b_token" --ids 1,x,3 2>"$work/err"; then exit 1; fi
grep -q -- "--ids" "$work/err"
rc=0; "$bin/caracal-party" --party 0 --config "$work/keys/cluster.conf" --key "$work/keys/p0.key" \
    --shares "$work/bundle" --allow-reveal everything 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--allow-reveal" "$work/err"
# nobody listening: a clear error within the connect timeout, not a hang
rc=0; timeout 60 "$bin/llama7b_token" --config "$work/keys/cluster.conf" --key "$work/keys/client.key" \
    --connect-timeout-ms 1500 --ids 1 -q >"$work/err" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { echo "expected a connect failure, got rc=$rc"; exit 1; }
grep -qi "connect" "$work/err"
echo "cluster test passed"
