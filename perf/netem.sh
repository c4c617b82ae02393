#!/usr/bin/env bash
# netem.sh — run the three Caracal parties in three network namespaces joined
# by point-to-point veth links shaped with tc netem (docs/NETWORK.md).
#
#   perf/netem.sh up PROFILE            create namespaces cc-p0..cc-p2 + links
#   perf/netem.sh exec I CMD...         run CMD inside party I's namespace
#   perf/netem.sh down                  remove everything
#   perf/netem.sh run PROFILE [--client CMD] -- CMD...
#        up, then CMD in all three namespaces at once ({i} in CMD becomes the
#        party id, $CC_PARTY too), the optional client command in cc-p0,
#        wait, report exit codes, down (also on Ctrl-C); exit 1 if any failed
#   perf/netem.sh selfcheck PROFILE [BUILD_DIR] [-- PARTY_ARGS...]
#        keys + cluster config for the namespaces, then caracal-party's
#        self-check on every party and the client (prints round-trip times);
#        e.g. "-- --rotate-mib 64" adds a throughput probe
#
# PROFILE: lan  = 5 Gbit/s per link, 1 ms RTT (the PUMA paper's LAN)
#          wan  = 100 Mbit/s per link, 40 ms RTT
#          none = unshaped veth links
# Party I is reachable at 10.77.0.(I+1) from both other parties; each link
# P_i<->P_j is its own veth pair with netem (RTT/2 delay + rate) on both ends,
# so the three links are shaped independently, as between three servers.
# Needs root (ip netns, tc).  Nothing outside the cc-p* namespaces is touched.
set -euo pipefail

NS=(cc-p0 cc-p1 cc-p2)

die() { echo "netem.sh: $*" >&2; exit 2; }

profile_params() {
    case "$1" in
        lan)  RATE=5gbit;   DELAY=0.5ms ;;
        wan)  RATE=100mbit; DELAY=20ms ;;
        none) RATE="";      DELAY="" ;;
        *) die "unknown profile '$1' (lan, wan, none)" ;;
    esac
}

down() {
    for ns in "${NS[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

# netem on one interface; a kernel without sch_netem is an error, unless
# CC_NETEM_ALLOW_TBF=1 accepts a token bucket (rate only, no delay).
TBF_ONLY=""
shape() {
    local ns=$1 dev=$2
    # limit: enough packets for the bandwidth-delay product
    if tc -n "$ns" qdisc add dev "$dev" root netem delay "$DELAY" rate "$RATE" limit 200000 2>/dev/null; then
        return 0
    fi
    if [[ ${CC_NETEM_ALLOW_TBF:-0} == 1 ]]; then
        tc -n "$ns" qdisc add dev "$dev" root tbf rate "$RATE" burst 1mb latency 50ms ||
            die "tc tbf failed on $dev"
        TBF_ONLY=1
        return 0
    fi
    down
    die "tc netem is not available in this kernel (sch_netem); set CC_NETEM_ALLOW_TBF=1 to shape the rate only (no RTT)"
}

up() {
    [[ $(id -u) -eq 0 ]] || die "needs root (ip netns, tc)"
    profile_params "$1"
    down
    for i in 0 1 2; do
        ip netns add "${NS[$i]}"
        ip -n "${NS[$i]}" link set lo up
        ip -n "${NS[$i]}" addr add "10.77.0.$((i + 1))/32" dev lo
        ip netns exec "${NS[$i]}" sysctl -qw net.ipv4.conf.all.rp_filter=0
        ip netns exec "${NS[$i]}" sysctl -qw net.ipv4.conf.default.rp_filter=0
    done
    local pair end a b x y
    for pair in "0 1" "0 2" "1 2"; do
        read -r a b <<<"$pair"
        ip link add "v$a$b" netns "${NS[$a]}" type veth peer name "v$b$a" netns "${NS[$b]}"
        for end in "$a $b" "$b $a"; do
            read -r x y <<<"$end"
            ip -n "${NS[$x]}" link set "v$x$y" up
            ip -n "${NS[$x]}" route add "10.77.0.$((y + 1))/32" dev "v$x$y"
            if [[ -n $RATE ]]; then shape "${NS[$x]}" "v$x$y"; fi
        done
    done
    echo "netem.sh: namespaces ${NS[*]} up, profile $1 (${RATE:-unshaped}${DELAY:+, one-way delay $DELAY}${TBF_ONLY:+ -- RATE ONLY, RTT NOT EMULATED})"
}

run_all() {
    local profile=$1; shift
    local client=""
    if [[ ${1:-} == --client ]]; then client=$2; shift 2; fi
    [[ ${1:-} == -- ]] && shift
    [[ $# -gt 0 ]] || die "run: no command"
    up "$profile"
    trap down EXIT INT TERM
    local pids=() cmd
    for i in 0 1 2; do
        cmd=${*//\{i\}/$i}
        CC_PARTY=$i ip netns exec "${NS[$i]}" bash -c "$cmd" &
        pids+=($!)
    done
    if [[ -n $client ]]; then
        ip netns exec "${NS[0]}" bash -c "$client" &
        pids+=($!)
    fi
    local rc=0 k=0
    for p in "${pids[@]}"; do
        if wait "$p"; then code=0; else code=$?; rc=1; fi
        if [[ $k -lt 3 ]]; then echo "netem.sh: P$k exited with $code"; else echo "netem.sh: client exited with $code"; fi
        k=$((k + 1))
    done
    return $rc
}

selfcheck() {
    local profile=$1 build=build
    shift
    if [[ $# -gt 0 && $1 != -- ]]; then build=$1; shift; fi
    [[ ${1:-} == -- ]] && shift
    local extra="$*"

    local bin=$build/bin
    [[ -x $bin/caracal-party && -x $bin/caracal-keygen ]] || die "build caracal-party and caracal-keygen in $build first"
    local dir
    dir=$(mktemp -d /tmp/caracal-netem.XXXXXX)
    "$bin/caracal-keygen" --local-cluster "$dir" --host 10.77.0.1 --base-port 7400 >/dev/null
    sed -i -e 's/^party 1 10\.77\.0\.1:/party 1 10.77.0.2:/' -e 's/^party 2 10\.77\.0\.1:/party 2 10.77.0.3:/' "$dir/cluster.conf"
    local rc=0
    run_all "$profile" --client "$bin/caracal-party --party client --config $dir/cluster.conf --key $dir/client.key" \
        -- "$bin/caracal-party --party {i} --config $dir/cluster.conf --key $dir/p{i}.key --quiet $extra" || rc=$?
    rm -rf "$dir"
    return $rc
}

case "${1:-}" in
    up) [[ $# -eq 2 ]] || die "usage: up PROFILE"; up "$2" ;;
    down) down ;;
    exec) [[ $# -ge 3 ]] || die "usage: exec I CMD..."; i=$2; shift 2; ip netns exec "${NS[$i]}" "$@" ;;
    run) [[ $# -ge 3 ]] || die "usage: run PROFILE [--client CMD] -- CMD..."; shift; run_all "$@" ;;
    selfcheck) [[ $# -ge 2 ]] || die "usage: selfcheck PROFILE [BUILD_DIR] [-- PARTY_ARGS]"; shift; selfcheck "$@" ;;
    *) sed -n '2,27p' "$0"; exit 2 ;;
esac
