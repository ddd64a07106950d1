#!/usr/bin/env bash
# shellcheck shell=bash
# bench/netns.sh — a NIC-like topology for the benchmarks (TOPOLOGY=netns in
# lib.sh). On 127.0.0.1 the sender pays for the receiver's kernel receive
# path (loopback hands each packet to the stack on the sending CPU); behind a
# real NIC each side pays for its own. Here:
#
#   netns rwgb-cli: rwgb-c 10.77.0.2/24 ==veth== rwgb-s 10.77.0.1/24 :netns rwgb-srv
#   (clients, CPU $GEN_CPU)                          (servers, CPU $SRV_CPU)
#
# with RPS on each veth end's receive queue: rwgb-s's rx-0 rps_cpus = the mask
# of $SRV_CPU, rwgb-c's = the mask of $GEN_CPU, so a packet the client sends
# is handed over (IPI, per-CPU backlog) to $SRV_CPU and the server side's IP
# and TCP receive processing runs there, and the client's receive processing
# runs on $GEN_CPU. Without RPS veth, like loopback, would run it on the
# sending CPU. Writing rps_cpus failing (kernel without CONFIG_RPS, no rx
# queue in sysfs, mask refused) is an error (exit 2), never ignored.
#
# Offloads: kernel defaults, left alone. veth has TSO/GSO and checksum
# offload on and GRO off (no NAPI), so a TCP sender hands over up to 64 KiB
# GSO packets that the receiver's stack takes whole, as with a NIC doing
# TSO + LRO/GRO, and as on loopback (TSO/GSO on too), so the 1 MiB-body
# scenario compares like with like. Turning TSO off would make the sender
# segment to the 1500-byte MTU in software, which a NIC does not make it do;
# turning veth's GRO on switches veth to its NAPI path, which polls (and
# GROs) on the sending CPU, which is what this topology is to avoid. MTU:
# veth's default 1500 (Ethernet; loopback has 65536).
#
# Sysctls: each namespace has its own TCP settings, starting from the
# kernel's defaults rather than the host's; the ones in NETNS_MIRROR
# (somaxconn, the local port range, SYN backlog, TIME-WAIT reuse, buffer
# sizes, congestion control, ...) are copied from the host into both, so the
# two topologies differ in the path only. The host's net.core.somaxconn
# (4096 here) caps nginx's backlog=16384 as on loopback; 10 000 connections
# fit the default port range (32768-60999) to one address. NETNS_SYSCTLS
# ("key=value ...", e.g. "net.core.somaxconn=65535") is written into both
# namespaces after that. Global settings (netdev_max_backlog, which bounds
# the per-CPU backlog queue RPS feeds and loopback feeds alike) are not
# touched.
#
# CPU accounting: receive work (softirq) that runs on a CPU while a task runs
# there is charged to that task by this kernel's tick accounting (no
# CONFIG_IRQ_TIME_ACCOUNTING), so the client's CPU figure includes its own
# receive path; work run while the CPU was idle is charged to nobody and
# shows as lib.sh's "other" CPU (M_OTHER, judged against DISTURB_TOTAL_FRAC).
#
# Usage: bench/netns.sh up | down | status   (root; GEN_CPU, SRV_CPU,
# NETNS_SYSCTLS as in lib.sh). `up` builds it (or reconfigures an existing
# one), `down` deletes both namespaces (idempotent), `status` prints the
# links, RPS masks, sysctls and per-CPU softnet counters (exit 1 when down).
# lib.sh sources it with TOPOLOGY=netns: netns_up at start, and netns_down on
# exit when that run created the namespaces (a pair built beforehand with
# `bench/netns.sh up` is reused and left up).
set -euo pipefail

NETNS_SRV=rwgb-srv
NETNS_CLI=rwgb-cli
NETNS_SRV_DEV=rwgb-s
NETNS_CLI_DEV=rwgb-c
NETNS_SRV_ADDR=10.77.0.1
NETNS_CLI_ADDR=10.77.0.2
NETNS_PREFIX=24
NETNS_MIRROR="net.core.somaxconn net.ipv4.ip_local_port_range net.ipv4.tcp_max_syn_backlog
net.ipv4.tcp_syncookies net.ipv4.tcp_tw_reuse net.ipv4.tcp_fin_timeout net.ipv4.tcp_rmem
net.ipv4.tcp_wmem net.ipv4.tcp_congestion_control net.ipv4.tcp_slow_start_after_idle
net.ipv4.tcp_timestamps net.ipv4.tcp_sack net.ipv4.tcp_window_scaling net.ipv4.tcp_no_metrics_save"
NETNS_CREATED=0

netns_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# netns_fail MESSAGE: says what failed, removes a half-built pair made by
# this process, exits 2.
netns_fail() {
    printf 'bench/netns.sh: ERROR: %s\n' "$*" >&2
    if [[ $NETNS_CREATED == 1 ]]; then
        netns_down
    fi
    exit 2
}

netns_exists() { [[ -e /run/netns/$1 ]]; }

# netns_cpu_mask CPULIST ("1", "0,2", "2-3") -> the sysfs cpumask ("2", "5",
# "c"; 32-bit words joined by commas past CPU 31). Returns 1 on a bad list.
netns_cpu_mask() {
    local list=$1 part lo hi c w max=0 out
    local -a parts words=()
    IFS=, read -r -a parts <<<"$list"
    ((${#parts[@]})) || return 1
    for part in "${parts[@]}"; do
        if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then
            lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]}
        elif [[ $part =~ ^[0-9]+$ ]]; then
            lo=$part hi=$part
        else
            return 1
        fi
        for ((c = lo; c <= hi; c++)); do
            w=$((c / 32))
            words[w]=$((${words[w]:-0} | (1 << (c % 32))))
            ((w > max)) && max=$w
        done
    done
    out=$(printf '%x' "${words[max]}")
    for ((w = max - 1; w >= 0; w--)); do out+=$(printf ',%08x' "${words[w]:-0}"); done
    echo "$out"
}

# Mask text without commas and leading zeros ("00000002" -> "2", "0" -> "0").
netns_mask_norm() {
    local m=${1//,/}
    while [[ $m == 0?* ]]; do m=${m#0}; done
    echo "$m"
}

# netns_rps NS DEV CPULIST: RPS on every rx queue of DEV to CPULIST, read
# back and checked.
netns_rps() {
    local ns=$1 dev=$2 cpus=$3 mask q got n=0
    mask=$(netns_cpu_mask "$cpus") || netns_fail "bad CPU list '$cpus' for RPS on $dev"
    for q in $(ip netns exec "$ns" sh -c "ls -d /sys/class/net/$dev/queues/rx-* 2>/dev/null"); do
        ip netns exec "$ns" sh -c "echo $mask > $q/rps_cpus" 2>/dev/null ||
            netns_fail "cannot write RPS mask $mask (CPU $cpus) to $q/rps_cpus in netns $ns (kernel without CONFIG_RPS, or CPU $cpus not usable?): receive processing would not be split per side"
        got=$(ip netns exec "$ns" cat "$q/rps_cpus" 2>/dev/null) ||
            netns_fail "cannot read back $q/rps_cpus in netns $ns"
        [[ $(netns_mask_norm "$got") == "$(netns_mask_norm "$mask")" ]] ||
            netns_fail "RPS mask on $q in netns $ns reads $got after writing $mask (CPU $cpus offline or isolated?)"
        n=$((n + 1))
    done
    ((n > 0)) || netns_fail "$dev in netns $ns has no rx queue in sysfs (/sys/class/net/$dev/queues/rx-*): cannot set RPS"
}

# netns_sysctls NS: the host's values of NETNS_MIRROR, then NETNS_SYSCTLS.
netns_sysctls() {
    local ns=$1 key val kv
    for key in $NETNS_MIRROR; do
        val=$(sysctl -n "$key" 2>/dev/null) || continue # not on this kernel
        ip netns exec "$ns" sysctl -q -w "$key=$val" >/dev/null 2>&1 ||
            netns_fail "cannot set $key=$val in netns $ns"
    done
    for kv in ${NETNS_SYSCTLS:-}; do
        ip netns exec "$ns" sysctl -q -w "$kv" >/dev/null 2>&1 ||
            netns_fail "cannot set $kv (NETNS_SYSCTLS) in netns $ns"
    done
}

# True when both namespaces exist and hold their veth end with its address.
netns_complete() {
    netns_exists "$NETNS_SRV" && netns_exists "$NETNS_CLI" &&
        ip -n "$NETNS_SRV" -o addr show dev "$NETNS_SRV_DEV" 2>/dev/null | grep -q " $NETNS_SRV_ADDR/" &&
        ip -n "$NETNS_CLI" -o addr show dev "$NETNS_CLI_DEV" 2>/dev/null | grep -q " $NETNS_CLI_ADDR/"
}

# Builds the pair (or reuses a complete one, NETNS_CREATED=0) and configures
# it: links up, RPS, sysctls; then checks the server address answers a ping.
netns_up() {
    local gen=${GEN_CPU:-0} srv=${SRV_CPU:-1}
    [[ $(id -u) == 0 ]] || netns_fail "TOPOLOGY=netns needs root (ip netns, sysfs writes)"
    command -v ip >/dev/null || netns_fail "ip (iproute2) not found"
    if netns_complete; then
        netns_log "netns: $NETNS_SRV / $NETNS_CLI exist already; reconfiguring them"
    else
        netns_down
        NETNS_CREATED=1
        ip netns add "$NETNS_SRV" || netns_fail "ip netns add $NETNS_SRV"
        ip netns add "$NETNS_CLI" || netns_fail "ip netns add $NETNS_CLI"
        ip link add "$NETNS_SRV_DEV" netns "$NETNS_SRV" type veth peer name "$NETNS_CLI_DEV" netns "$NETNS_CLI" ||
            netns_fail "ip link add veth $NETNS_SRV_DEV/$NETNS_CLI_DEV"
        ip -n "$NETNS_SRV" addr add "$NETNS_SRV_ADDR/$NETNS_PREFIX" dev "$NETNS_SRV_DEV" ||
            netns_fail "address $NETNS_SRV_ADDR on $NETNS_SRV_DEV"
        ip -n "$NETNS_CLI" addr add "$NETNS_CLI_ADDR/$NETNS_PREFIX" dev "$NETNS_CLI_DEV" ||
            netns_fail "address $NETNS_CLI_ADDR on $NETNS_CLI_DEV"
    fi
    local ns dev
    for ns in "$NETNS_SRV" "$NETNS_CLI"; do
        dev=$NETNS_SRV_DEV
        [[ $ns == "$NETNS_CLI" ]] && dev=$NETNS_CLI_DEV
        ip -n "$ns" link set lo up || netns_fail "lo up in $ns"
        ip -n "$ns" link set "$dev" up || netns_fail "$dev up in $ns"
        netns_sysctls "$ns"
    done
    netns_rps "$NETNS_SRV" "$NETNS_SRV_DEV" "$srv"
    netns_rps "$NETNS_CLI" "$NETNS_CLI_DEV" "$gen"
    # The veth carrier comes up asynchronously; wait until a TCP connect from
    # the client side to a closed port on the server address is refused (a
    # RST came back: the path works both ways).
    local i
    for i in $(seq 1 50); do
        ip netns exec "$NETNS_CLI" python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], 9)) in (0, 111) else 1)' "$NETNS_SRV_ADDR" 2>/dev/null && break
        ((i < 50)) || netns_fail "$NETNS_SRV_ADDR is not reachable from $NETNS_CLI"
        sleep 0.1
    done
    netns_log "netns: $NETNS_CLI $NETNS_CLI_ADDR ($NETNS_CLI_DEV, RPS CPU $gen) <-veth-> $NETNS_SRV $NETNS_SRV_ADDR ($NETNS_SRV_DEV, RPS CPU $srv)"
}

# Deletes both namespaces (their veth pair goes with them); idempotent.
netns_down() {
    local ns
    for ns in "$NETNS_CLI" "$NETNS_SRV"; do
        if netns_exists "$ns"; then
            ip netns del "$ns" 2>/dev/null || netns_log "netns: could not delete $ns"
        fi
    done
    NETNS_CREATED=0
}

# One line for result headers.
netns_describe() {
    echo "clients in $NETNS_CLI ($NETNS_CLI_ADDR, RPS on CPU ${GEN_CPU:-0}) -> servers in $NETNS_SRV ($NETNS_SRV_ADDR, RPS on CPU ${SRV_CPU:-1}) over veth, MTU 1500, default offloads"
}

# Prints the topology's state; returns 1 when it is not up.
netns_status() {
    if ! netns_complete; then
        echo "netns topology: down"
        ip netns list 2>/dev/null | grep -E "^($NETNS_SRV|$NETNS_CLI)( |$)" | sed 's/^/  leftover: /' || true
        return 1
    fi
    echo "netns topology: up"
    local ns dev key q
    for ns in "$NETNS_SRV" "$NETNS_CLI"; do
        dev=$NETNS_SRV_DEV
        [[ $ns == "$NETNS_CLI" ]] && dev=$NETNS_CLI_DEV
        echo "== $ns"
        ip -n "$ns" -br addr show | sed 's/^/  /'
        for q in $(ip netns exec "$ns" sh -c "ls -d /sys/class/net/$dev/queues/rx-* 2>/dev/null"); do
            echo "  ${q#/sys/class/net/} rps_cpus=$(ip netns exec "$ns" cat "$q/rps_cpus")"
        done
        for key in net.core.somaxconn net.ipv4.ip_local_port_range net.ipv4.tcp_max_syn_backlog; do
            echo "  $(ip netns exec "$ns" sysctl "$key" 2>/dev/null | tr '\t' ' ')"
        done
    done
    # /proc/net/softnet_stat (hex): processed, dropped, ..., received_rps (IPIs), per CPU.
    echo "== softnet per CPU: processed dropped rps_ipis"
    local -a f
    local n=0
    while read -r -a f; do
        # Column 13, where present, is the CPU's number (offline CPUs have no line).
        printf '  cpu%d %d %d %d\n' "$((16#${f[12]:-$(printf '%x' "$n")}))" "$((16#${f[0]}))" "$((16#${f[1]}))" "$((16#${f[9]}))"
        n=$((n + 1))
    done </proc/net/softnet_stat
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    case ${1:-} in
        up) netns_up ;;
        down) netns_down ;;
        status) netns_status ;;
        *)
            echo "usage: bench/netns.sh up | down | status" >&2
            exit 2
            ;;
    esac
fi
