#!/usr/bin/env bash
# Three hosts and a client on one machine: four network namespaces (P0, P1,
# P2, client), each with its own address on its loopback (10.78.0.1..4),
# joined pairwise by veth links with host routes, so every connection crosses
# a real link between distinct addresses as between four servers.  Then the
# path of docs/DEPLOY.md: caracal-keygen on each host, the config assembled
# from the public keys, caracal-share by the model owner, each party's files
# copied to its host, three caracal-party servers, llama7b_token --config,
# and the logits checked against the golden ones with compare_logits.py.
# Skips (exit 77) when namespaces are unavailable (not root, no `ip netns`).
set -euo pipefail
bin=$1 models=${CARACAL_MODELS:-$2} here=$3
skip() { echo "SKIP: $*"; exit 77; }
if [ ! -r "$models/stories260K.bin" ]; then
  if [ "${CI:-}" = true ] || [ "${CARACAL_REQUIRE_DATA:-}" = 1 ]; then
    echo "FAIL: $models/stories260K.bin not found and test data is required"; exit 1
  fi
  skip "$models/stories260K.bin not found (set CARACAL_MODELS)"
fi
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null || skip "no ip (iproute2)"

# names unique to this run: other runs (and perf/netem.sh's cc-p*) may be up
tag=ccn$$
ns=("$tag-p0" "$tag-p1" "$tag-p2" "$tag-c")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # whatever still runs in this run's namespaces was started by it
  for n in "${ns[@]}"; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  done
  wait 2>/dev/null || true
  for n in "${ns[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "${ns[0]}" 2>/dev/null || skip "cannot create network namespaces here (ip netns add failed)"
for i in 1 2 3; do ip netns add "${ns[$i]}"; done
addr() { echo "10.78.0.$(($1 + 1))"; }
for i in 0 1 2 3; do
  ip -n "${ns[$i]}" link set lo up
  ip -n "${ns[$i]}" addr add "$(addr $i)/32" dev lo
  # replies leave by the veth of the peer, not by lo where the address is
  ip netns exec "${ns[$i]}" sysctl -qw net.ipv4.conf.all.rp_filter=0
done
for pair in "0 1" "0 2" "1 2" "0 3" "1 3" "2 3"; do
  read -r a b <<<"$pair"
  ip link add "v$a$b" netns "${ns[$a]}" type veth peer name "v$b$a" netns "${ns[$b]}" ||
    skip "cannot create veth links here"
  for end in "$a $b" "$b $a"; do
    read -r x y <<<"$end"
    ip -n "${ns[$x]}" link set "v$x$y" up
    ip -n "${ns[$x]}" route add "$(addr $y)/32" dev "v$x$y" src "$(addr $x)"
  done
done
in_ns() { local i=$1; shift; ip netns exec "${ns[$i]}" "$@"; }

# each host makes its own key pair; only the public keys leave the host
for i in 0 1 2; do mkdir -m 700 "$work/h$i"; in_ns $i "$bin/caracal-keygen" --out "$work/h$i/p$i" >/dev/null; done
mkdir -m 700 "$work/hc"; in_ns 3 "$bin/caracal-keygen" --out "$work/hc/client" >/dev/null
port=7400
{
  echo "# three hosts in network namespaces (tests/cli/test_netns_cluster.sh)"
  for i in 0 1 2; do echo "party $i $(addr $i):$port $(cat "$work/h$i/p$i.pub")"; done
  echo "client $(cat "$work/hc/client.pub")"
} >"$work/cluster.conf"
for h in h0 h1 h2 hc; do cp "$work/cluster.conf" "$work/$h/"; done

# the model owner converts once and hands party I its files (w2.ccw: P1, P2)
"$bin/caracal-share" --checkpoint "$models/stories260K.bin" --out "$work/owner" >/dev/null 2>&1
for i in 0 1 2; do
  mkdir "$work/h$i/bundle"
  cp "$work/owner/party$i.ccb" "$work/h$i/bundle/"
  [ "$i" -eq 0 ] || cp "$work/owner/w2.ccw" "$work/h$i/bundle/"
done

for i in 0 1 2; do
  in_ns $i "$bin/caracal-party" --party $i --config "$work/h$i/cluster.conf" --key "$work/h$i/p$i.key" \
      --shares "$work/h$i/bundle" --jobs 1 --allow-reveal logits --quiet \
      --connect-timeout-ms 20000 2>"$work/p$i.log" &
  pids+=($!)
done
ids=$(python3 -c "
import struct,sys; d=open(sys.argv[1],'rb').read(); L,V=struct.unpack_from('ii',d)
print(','.join(map(str,struct.unpack_from('%di'%L,d,8))))" "$models/stories260K.golden.bin")
timeout 60 ip netns exec "${ns[3]}" "$bin/llama7b_token" --config "$work/hc/cluster.conf" \
    --key "$work/hc/client.key" --ids "$ids" -n 0 --all-logits "$work/hc/logits.bin" \
    --connect-timeout-ms 20000 -q >"$work/out" 2>&1 || { cat "$work/out" "$work"/p*.log; exit 1; }
for p in "${pids[@]}"; do wait "$p" || { echo "FAIL: a party exited with $?"; cat "$work"/p*.log; exit 1; }; done
pids=()
python3 "$here/compare_logits.py" "$models/stories260K.golden.bin" "$work/hc/logits.bin"
# the hosts really are apart: the client's namespace reaches P0 only by its veth
in_ns 3 ip route get "$(addr 0)" | grep -q "dev v30" || { echo "FAIL: no veth route"; exit 1; }
echo "netns cluster test passed"
