# shellcheck shell=bash
# bench/lib.sh — shared helpers for the rwg benchmark scripts (source it, do not run it).
#
# Provides: a pinned nginx target (CPU 1) in a temp dir, stopped on exit; a
# measured command runner (client CPU and max RSS via /usr/bin/time, other
# processes' CPU from /proc/stat so disturbed runs are flagged and repeated);
# a results file with median / min / max helpers and table printing.
#
# Knobs (environment): RWG (binary), GEN_CPU (0), SRV_CPU (1), BENCH_OUT
# (results dir), BENCH_KEEP=1 (keep the temp dir), MAX_TRIES (3 tries per
# measurement while disturbed; 2 with QUICK=1), QUIET_WAIT (wait up to 60 s,
# 5 with QUICK=1, for other load to pass before each run), DISTURB_FRAC (0.10:
# other processes' user-mode CPU above 10% of one CPU during a run marks it
# disturbed; also the machine's quiet level), DISTURB_TOTAL_FRAC (0.35: all
# unattributed CPU, which includes kernel work for our own sockets), ROUNDS,
# DURATION, QUICK.
#
# TOPOLOGY=loopback (default) | netns: where the traffic flows.
#   loopback: servers listen on 127.0.0.1 and clients run in the host's
#     namespace; the kernel hands each packet to the receiver's stack on the
#     sending CPU, so the sender pays for the receiver's receive path (the
#     client's CPU figures include some of the server's kernel work, and the
#     other way round).
#   netns: bench/netns.sh builds two namespaces joined by a veth pair, with
#     RPS steering each side's receive processing to its own CPU, as behind a
#     NIC: servers (nginx, rwg serve) run under `ip netns exec rwgb-srv`
#     (still pinned to SRV_CPU) on 10.77.0.1, clients and health probes under
#     `ip netns exec rwgb-cli` (still pinned to GEN_CPU). Needs root. The
#     namespaces are deleted on exit when this run created them (NETNS_KEEP=1
#     keeps them; `bench/netns.sh down` deletes them). BENCH_OUT's default
#     name ends in -netns.
# SRV_HOST (set from TOPOLOGY, not read from the environment) is the address
# servers listen on and clients target. Every results.tsv row carries the
# topology (6th column; rows without one are loopback), the tables read only
# the rows of the run's topology, and machine_info prints a "topology:" line.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
RWG=${RWG:-$REPO_DIR/target/release/rwg}
GEN_CPU=${GEN_CPU:-0}
SRV_CPU=${SRV_CPU:-1}
DISTURB_FRAC=${DISTURB_FRAC:-0.10}
DISTURB_TOTAL_FRAC=${DISTURB_TOTAL_FRAC:-0.35}
CLK_TCK=$(getconf CLK_TCK)
TOPOLOGY=${TOPOLOGY:-loopback}

# SRV_EXEC / CLI_EXEC: the prefix that runs a command in the server's / the
# client's network namespace (empty on loopback); SRV_HOST: the server's address.
case $TOPOLOGY in
    loopback)
        SRV_HOST=127.0.0.1
        SRV_EXEC=()
        CLI_EXEC=()
        TOPO_SUFFIX=
        ;;
    netns)
        # shellcheck source=SCRIPTDIR/netns.sh
        source "$BENCH_DIR/netns.sh"
        SRV_HOST=$NETNS_SRV_ADDR
        SRV_EXEC=(ip netns exec "$NETNS_SRV")
        CLI_EXEC=(ip netns exec "$NETNS_CLI")
        TOPO_SUFFIX=-netns
        ;;
    *)
        echo "TOPOLOGY must be loopback or netns (got $TOPOLOGY)" >&2
        exit 2
        ;;
esac

# Rounds and duration: QUICK=1 means 2 rounds of 3 s unless set explicitly,
# and less patience with a busy machine (QUIET_WAIT s before each run, MAX_TRIES).
if [[ ${QUICK:-0} == 1 ]]; then
    ROUNDS=${ROUNDS:-2}
    DURATION=${DURATION:-3s}
    QUIET_WAIT=${QUIET_WAIT:-5}
    MAX_TRIES=${MAX_TRIES:-2}
else
    ROUNDS=${ROUNDS:-3}
    DURATION=${DURATION:-10s}
    QUIET_WAIT=${QUIET_WAIT:-60}
    MAX_TRIES=${MAX_TRIES:-3}
fi
DUR_S=${DURATION%s}
if ! [[ $DUR_S =~ ^[0-9]+$ ]]; then
    echo "DURATION must be whole seconds like 10s (got $DURATION)" >&2
    exit 2
fi

BENCH_TMP=$(mktemp -d /tmp/rwg-bench.XXXXXX)
chmod 755 "$BENCH_TMP" # nginx's worker (nobody) reads files under it
BENCH_OUT=${BENCH_OUT:-/tmp/rwg-bench-out/$(date +%Y%m%d-%H%M%S)$TOPO_SUFFIX}
mkdir -p "$BENCH_OUT"
RESULTS=${RESULTS:-$BENCH_OUT/results.tsv}
RUNLOG=${RUNLOG:-$BENCH_OUT/runs.log}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- limits ----

# Raise the open-file limit to 65536, or to the hard limit when that is lower.
raise_nofile() {
    local want=65536 hard
    hard=$(ulimit -Hn)
    if [[ $hard != unlimited && $hard -lt $want ]]; then
        want=$hard
    fi
    ulimit -n "$want" 2>/dev/null || true
}

# ----------------------------------------------------------------- nginx ----

NGINX_PID=
NGINX_PORT=
NGINX_WORKER=

# A free TCP port on SRV_HOST, asked in the server's namespace.
free_port() {
    "${SRV_EXEC[@]}" python3 -c 'import socket, sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "$SRV_HOST"
}

# Writes the config for port $1 into $BENCH_TMP/nginx.
# nginx_write_conf DIR SERVER_BODY [HTTP_EXTRA]: the nginx.conf every
# benchmark uses (1 worker, no access log, keep-alive for the whole run, temp
# files in DIR) around one server block; h2.sh uses it too.
nginx_write_conf() {
    local dir=$1 server=$2 extra=${3:-}
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 30000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 20000; multi_accept on; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    $extra
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    server {
        $server
    }
}
EOF
}

# nginx_conf PORT: HTTP/1.1 on SRV_HOST:PORT, GET / (12 bytes) and GET /1m (1 MiB file).
nginx_conf() {
    local port=$1 dir=$BENCH_TMP/nginx
    mkdir -p "$dir/tmp"
    chmod 755 "$dir"
    [[ -f $dir/1m.bin ]] || head -c 1048576 /dev/urandom >"$dir/1m.bin"
    nginx_write_conf "$dir" "listen $SRV_HOST:$port backlog=16384;
        location / { return 200 \"hello world\\n\"; }
        location /1m { alias $dir/1m.bin; }" \
        "sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;"
}

# Starts nginx on CPU $SRV_CPU on a free port of SRV_HOST (in the server's
# namespace with TOPOLOGY=netns, probed from the client's); sets NGINX_PORT,
# NGINX_PID, NGINX_WORKER and BASE_URL. Stopped by the EXIT trap.
nginx_start() {
    command -v nginx >/dev/null || { echo "nginx not found (bench/run.sh installs it)" >&2; exit 2; }
    local try port
    for try in 1 2 3 4 5; do
        port=$(free_port)
        nginx_conf "$port"
        # ip netns exec and taskset exec, so $! is nginx's master.
        "${SRV_EXEC[@]}" taskset -c "$SRV_CPU" nginx -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/nginx.conf" \
            >>"$BENCH_TMP/nginx/stdout.log" 2>&1 &
        NGINX_PID=$!
        for _ in $(seq 1 50); do
            if "${CLI_EXEC[@]}" curl -fsS -o /dev/null --max-time 1 "http://$SRV_HOST:$port/"; then
                NGINX_PORT=$port
                break
            fi
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.1
        done
        if [[ -n $NGINX_PORT ]]; then
            NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1 || true)
            BASE_URL=http://$SRV_HOST:$NGINX_PORT
            log "nginx on $BASE_URL (master $NGINX_PID, worker ${NGINX_WORKER:-?}, CPU $SRV_CPU)"
            return 0
        fi
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=
        log "nginx did not come up on port $port (try $try): $(tail -1 "$BENCH_TMP/nginx/error.log" 2>/dev/null)"
    done
    echo "could not start nginx" >&2
    exit 2
}

nginx_stop() {
    if [[ -n ${NGINX_PID:-} ]]; then
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=
    fi
}

# srv_grpc: `rwg serve --grpc` on SRV_HOST, CPU $SRV_CPU (in the server's
# namespace with TOPOLOGY=netns); NGINX_PID / NGINX_WORKER = its pid, SRV_PORT
# its port.
srv_grpc() {
    srv_rwg --grpc
}

# srv_rwg [FLAG...]: `rwg serve FLAG...` (--grpc, --h2c, --h2c --tls, or none
# for HTTP/1.1) as srv_grpc.
srv_rwg() {
    local mode=$* port
    port=$(free_port)
    "${SRV_EXEC[@]}" taskset -c "$SRV_CPU" "$RWG_BIN" serve "$@" --host "$SRV_HOST" -p "$port" --cpus "$SRV_CPU" \
        >"$BENCH_TMP/serve.log" 2>&1 &
    NGINX_PID=$!
    NGINX_WORKER=$NGINX_PID
    # shellcheck disable=SC2034 # read by the calling scripts
    SRV_PORT=$port
    for _ in $(seq 1 50); do
        grep -q listening "$BENCH_TMP/serve.log" 2>/dev/null && break
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$BENCH_TMP/serve.log" >&2; exit 2; }
        sleep 0.1
    done
    log "rwg serve ${mode:-(HTTP/1.1)} on $SRV_HOST:$port (pid $NGINX_PID, CPU $SRV_CPU)"
}

bench_cleanup() {
    nginx_stop
    if [[ $TOPOLOGY == netns && ${NETNS_CREATED:-0} == 1 ]]; then
        if [[ ${NETNS_KEEP:-0} == 1 ]]; then
            log "kept namespaces $NETNS_SRV / $NETNS_CLI (bench/netns.sh down removes them)"
        else
            netns_down
        fi
    fi
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        log "kept $BENCH_TMP"
    else
        rm -rf "$BENCH_TMP"
    fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

if [[ $TOPOLOGY == netns ]]; then
    netns_up # exits 2 (after removing what it built) when RPS cannot be set
    [[ $NETNS_CREATED == 1 ]] || log "netns: $NETNS_SRV / $NETNS_CLI were up before this run; left up at exit"
fi

# ----------------------------------------------------------- measurement ----

# Ticks over all CPUs: "busy steal user", where busy is
# user+nice+system+irq+softirq and user is user+nice.
proc_stat_busy() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $9, $2 + $3; exit }' /proc/stat
}

# "utime+stime utime" ticks of pid $1 ("0 0" when gone).
proc_ticks() {
    local pid=$1
    if [[ -n $pid && -r /proc/$pid/stat ]]; then
        # Fields after the ")" of the comm: state is $1, utime $12, stime $13.
        sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13, $12 }'
    else
        echo 0 0
    fi
}

# measure LIMIT_S OUTFILE -- CMD...
# Runs CMD pinned to $GEN_CPU under /usr/bin/time, killed after LIMIT_S (in
# the client's namespace with TOPOLOGY=netns: `ip netns exec` runs, and
# execs, outside what /usr/bin/time measures).
# Sets: M_RC M_USER M_SYS M_CPU (user+sys s) M_RSS (KiB) M_WALL M_NGINX
# (server CPU s) M_OTHER (CPU s of everything else: other processes, and
# kernel work for our own sockets that no task is charged with, e.g. TCP
# timers and softirqs run from idle, which is large with 10 000 connections)
# M_OTHER_USER (user-mode CPU s of other processes) M_STEAL (s) and
# M_DISTURBED (1 when M_OTHER_USER or M_STEAL exceeds DISTURB_FRAC of the
# wall time, or M_OTHER exceeds DISTURB_TOTAL_FRAC of it).
measure() {
    local limit=$1 out=$2
    shift 3
    local tf=$BENCH_TMP/time.out b0 s0 u0 n0 nu0 b1 s1 u1 n1 nu1
    read -r b0 s0 u0 < <(proc_stat_busy)
    read -r n0 nu0 < <(proc_ticks "$NGINX_WORKER")
    set +e
    "${CLI_EXEC[@]}" taskset -c "$GEN_CPU" /usr/bin/time -f '%U %S %M %e' -o "$tf" \
        timeout -k 5 "$limit" "$@" >"$out" 2>"$out.err"
    M_RC=$?
    set -e
    read -r b1 s1 u1 < <(proc_stat_busy)
    read -r n1 nu1 < <(proc_ticks "$NGINX_WORKER")
    # /usr/bin/time prints "Command exited with non-zero status N" first then.
    read -r M_USER M_SYS M_RSS M_WALL < <(tail -1 "$tf")
    M_CPU=$(awk -v u="$M_USER" -v s="$M_SYS" 'BEGIN { printf "%.3f", u + s }')
    M_NGINX=$(awk -v a="$n0" -v b="$n1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')
    M_STEAL=$(awk -v a="$s0" -v b="$s1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')
    M_OTHER=$(awk -v a="$b0" -v b="$b1" -v t="$CLK_TCK" -v c="$M_CPU" -v n="$M_NGINX" \
        'BEGIN { printf "%.3f", (b - a) / t - c - n }')
    M_OTHER_USER=$(awk -v a="$u0" -v b="$u1" -v t="$CLK_TCK" -v c="$M_USER" -v na="$nu0" -v nb="$nu1" \
        'BEGIN { printf "%.3f", (b - a) / t - c - (nb - na) / t }')
    M_DISTURBED=$(awk -v o="$M_OTHER" -v ou="$M_OTHER_USER" -v s="$M_STEAL" -v w="$M_WALL" \
        -v f="$DISTURB_FRAC" -v ft="$DISTURB_TOTAL_FRAC" \
        'BEGIN { print (ou > f * w || s > f * w || o > ft * w) ? 1 : 0 }')
    printf '%s rc=%s cpu=%s user=%s sys=%s rss=%sKiB wall=%s nginx=%s other=%s other_user=%s steal=%s disturbed=%s topology=%s :: %s\n' \
        "$(date +%T)" "$M_RC" "$M_CPU" "$M_USER" "$M_SYS" "$M_RSS" "$M_WALL" "$M_NGINX" \
        "$M_OTHER" "$M_OTHER_USER" "$M_STEAL" "$M_DISTURBED" "$TOPOLOGY" "$*" >>"$RUNLOG"
}

# Waits (up to QUIET_WAIT seconds) until the machine is quiet:
# over 1 s, all CPUs together busy less than DISTURB_FRAC of one CPU (nginx
# is idle between runs). Then runs anyway; the run is judged as usual.
wait_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) b0 b1 s busy noted=0
    while ((SECONDS < deadline)); do
        read -r b0 s _ < <(proc_stat_busy)
        sleep 1
        read -r b1 s _ < <(proc_stat_busy)
        busy=$(awk -v a="$b0" -v b="$b1" -v t="$CLK_TCK" -v f="$DISTURB_FRAC" \
            'BEGIN { print ((b - a) / t > f) ? 1 : 0 }')
        [[ $busy == 0 ]] && return 0
        if [[ $noted == 0 ]]; then
            log "  machine busy ($(awk -v a="$b0" -v b="$b1" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }') CPU-s/s), waiting up to ${QUIET_WAIT}s"
            noted=1
        fi
    done
    log "  still busy; running anyway"
}

# measure_stable LIMIT_S OUTFILE -- CMD...
# Like measure, but repeats (up to MAX_TRIES) while the run was disturbed by
# other processes' CPU. When every try was disturbed, the least disturbed one
# is kept: its OUTFILE, OUTFILE.err and the files named in KEEP_FILES (space
# separated, e.g. a JSON summary the command wrote) and its M_* figures, with
# M_DISTURBED=1.
measure_stable() {
    local out=$2 try f best=
    local -a keep=("$out" "$out.err")
    local -a saved=()
    read -r -a saved <<<"${KEEP_FILES:-}"
    keep+=("${saved[@]}")
    for try in $(seq 1 "$MAX_TRIES"); do
        wait_quiet
        measure "$@"
        [[ $M_DISTURBED == 0 ]] && return 0
        log "  disturbed (other CPU ${M_OTHER}s, of it user ${M_OTHER_USER}s, steal ${M_STEAL}s in ${M_WALL}s), try $try/$MAX_TRIES"
        if [[ -z $best ]] || awk -v a="$M_OTHER" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$M_OTHER
            for f in "${keep[@]}"; do
                if [[ -e $f ]]; then cp -f "$f" "$f.best"; else rm -f "$f.best"; fi
            done
            B_M=("$M_RC" "$M_USER" "$M_SYS" "$M_CPU" "$M_RSS" "$M_WALL" "$M_NGINX" "$M_OTHER" "$M_STEAL" "$M_OTHER_USER")
        fi
    done
    if [[ $best != "$M_OTHER" ]]; then
        for f in "${keep[@]}"; do
            if [[ -e $f.best ]]; then mv -f "$f.best" "$f"; else rm -f "$f"; fi
        done
        read -r M_RC M_USER M_SYS M_CPU M_RSS M_WALL M_NGINX M_OTHER M_STEAL M_OTHER_USER <<<"${B_M[*]}"
        log "  kept the least disturbed try (other CPU ${M_OTHER}s)"
    fi
    for f in "${keep[@]}"; do rm -f "$f.best"; done
    M_DISTURBED=1
    return 0
}

# Seconds a run of DUR_S may take before it is killed (LIMIT_S overrides).
limit_for() { echo "${LIMIT_S:-$((DUR_S + 30))}"; }

# ---------------------------------------------------------- tool parsers ----

# json_get FILE JQ_EXPR
json_get() { jq -r "$2 // empty" "$1"; }
# json_p99 FILE DISTRIBUTION: the overall distribution's p99 in µs.
json_p99() { json_get "$1" "[.overall.$2.percentiles[]? | select(.name == \"p99\") | .us][0]"; }

# wrk / wrk2: requests, req/s.
wrk_requests() { awk '/requests in/ { print $1; exit }' "$1"; }
wrk_rps() { awk '/^Requests\/sec:/ { print $2; exit }' "$1"; }
# wrk2 --latency: 99.000% line, converted to microseconds.
wrk2_p99_us() {
    awk '$1 == "99.000%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        m = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : 1;
        printf "%.1f", v * m; exit }' "$1"
}
# hey: requests (all status lines), req/s, p99 (seconds -> µs).
hey_requests() { awk '/responses$/ { n += $2 } END { print n + 0 }' "$1"; }
hey_rps() { awk '/Requests\/sec:/ { print $2; exit }' "$1"; }
hey_p99_us() { awk '/99% in/ { printf "%.1f", $3 * 1e6; exit }' "$1"; }

# ------------------------------------------------------------- results ----

# record SCENARIO TOOL METRIC VALUE [DISTURBED]
# Row: scenario tool metric value disturbed topology (tab separated).
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-0}" "$TOPOLOGY" >>"$RESULTS"
}

# stats SCENARIO TOOL METRIC -> "median min max n disturbed_count" (or "- - - 0 0")
# over the rows of this run's TOPOLOGY (a row without one is loopback).
stats() {
    awk -F'\t' -v sc="$1" -v t="$2" -v m="$3" -v topo="$TOPOLOGY" \
        '$1 == sc && $2 == t && $3 == m && $4 != "" && ($6 == "" ? "loopback" : $6) == topo { print $4 "\t" $5 }' "$RESULTS" 2>/dev/null |
        sort -g | awk -F'\t' '
        { v[NR] = $1; d += $2 }
        END {
            if (NR == 0) { print "- - - 0 0"; exit }
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%s %s %s %d %d\n", fmt(med), fmt(v[1]), fmt(v[NR]), NR, d
        }
        function fmt(x) { return (x >= 100 || x <= -100) ? sprintf("%.0f", x) : sprintf("%.3g", x) }'
}

median() { stats "$@" | awk '{ print $1 }'; }

# ratio A B -> A/B with 2 decimals, "-" when either is missing.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}

# paired_ratio SCENARIO A B METRIC -> the median over rounds of A_i / B_i
# (the i-th value recorded for each tool, i.e. the same round), "-" when
# either is missing. Robust to a machine that is slower in some rounds than
# in others, which moves both tools of a round together.
paired_ratio() {
    awk -F'\t' -v sc="$1" -v a="$2" -v b="$3" -v m="$4" -v topo="$TOPOLOGY" '
        $1 == sc && $3 == m && $4 != "" && ($6 == "" ? "loopback" : $6) == topo { if ($2 == a) A[++na] = $4; else if ($2 == b) B[++nb] = $4 }
        END { n = (na < nb) ? na : nb; for (i = 1; i <= n; i++) if (B[i] + 0 != 0) print A[i] / B[i] }' "$RESULTS" 2>/dev/null |
        sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "-"; exit }
            printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# table SCENARIO "TOOL..." "METRIC:Label..." [REF_TOOL]
# One row per tool: "median (min–max)" per metric, then the ratio of this
# tool's median to REF_TOOL's (default: the first tool) for each metric, and
# the median of the per-round ratios ("paired").
table() {
    local sc=$1 tools=$2 metrics=$3 ref=${4:-} t m line s med lo hi n d refmed
    [[ -n $ref ]] || ref=${tools%% *}
    line=$(printf '%-14s' tool)
    for m in $metrics; do line+=$(printf ' | %-26s' "${m#*:}"); done
    line+=" | runs"
    echo "$line"
    echo "${line//[^|]/-}"
    for t in $tools; do
        line=$(printf '%-14s' "$t")
        n=0
        d=0
        for m in $metrics; do
            s=$(stats "$sc" "$t" "${m%%:*}")
            read -r med lo hi n d <<<"$s"
            if [[ $med == - ]]; then
                line+=$(printf ' | %-26s' "-")
            else
                line+=$(printf ' | %-26s' "$med ($lo-$hi)")
            fi
        done
        if [[ ${d:-0} -gt 0 ]]; then line+=" | $n ($d disturbed)"; else line+=" | $n"; fi
        echo "$line"
    done
    for t in $tools; do
        [[ $t == "$ref" ]] && continue
        line=$(printf '%-14s' "$ref/$t")
        for m in $metrics; do
            med=$(median "$sc" "$ref" "${m%%:*}")
            refmed=$(median "$sc" "$t" "${m%%:*}")
            line+=$(printf ' | %-26s' "$(ratio "$med" "$refmed")")
        done
        echo "$line"
        line=$(printf '%-14s' "  paired")
        for m in $metrics; do
            line+=$(printf ' | %-26s' "$(paired_ratio "$sc" "$ref" "$t" "${m%%:*}")")
        done
        echo "$line"
    done
}

# A block header for one scenario.
block() { printf '\n=== %s ===\n' "$*"; }

# Copies the rwg binary into the temp dir so a concurrent rebuild of
# target/release cannot swap it mid-benchmark; sets RWG_BIN.
snapshot_rwg() {
    [[ -x $RWG ]] || { echo "no rwg binary at $RWG (cargo build --release)" >&2; exit 2; }
    if [[ $(head -c 4 "$RWG") == $'\x7fELF' ]]; then
        cp -p "$RWG" "$BENCH_TMP/rwg"
        RWG_BIN=$BENCH_TMP/rwg
    else
        RWG_BIN=$RWG # a bench/bundle.sh wrapper: it finds its binary beside itself
    fi
    log "rwg: $RWG ($(sha256sum "$RWG_BIN" | cut -c1-12), built $(date -r "$RWG" '+%F %T'))"
}

# Machine facts for the report.
machine_info() {
    echo "nproc: $(nproc)  kernel: $(uname -r)  cpu: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  rwg: $("$RWG" --version 2>/dev/null || echo '?')  rounds: $ROUNDS  duration: $DURATION"
    topology_info
}

# The "topology:" line of the report.
topology_info() {
    if [[ $TOPOLOGY == netns ]]; then
        echo "topology: netns -- $(netns_describe); clients run as: ${CLI_EXEC[*]} taskset -c $GEN_CPU ..."
    else
        echo "topology: loopback -- client (CPU $GEN_CPU) and server (CPU $SRV_CPU) on 127.0.0.1; the sender's CPU runs the receiver's receive path"
    fi
}

# ------------------------------------------------------------ tool runs ----

# Converts a wrk-style duration ("812.00us", "1.23ms", "2.01s") to µs.
to_us() {
    awk -v x="$1" 'BEGIN { v = x; u = x; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u);
        m = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : 1;
        printf "%.1f", v * m }'
}

# cpu_per CPU_S COUNT -> CPU µs per unit (per request, per MiB, ...).
cpu_per() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", c * 1e6 / n; else print "" }'; }

# Records the CPU side of the last measure for SCENARIO TOOL (cpu_s, rss_kib).
record_cpu() {
    record "$1" "$2" cpu_s "$M_CPU" "$M_DISTURBED"
    record "$1" "$2" rss_kib "$M_RSS" "$M_DISTURBED"
    record "$1" "$2" other_cpu_s "$M_OTHER" "$M_DISTURBED"
}

# Reports a failed or erroring run with its exact command (never silently).
complain() {
    local what=$1 out=$2
    shift 2
    log "WARNING: $what :: $*"
    sed 's/^/    | /' "$out.err" | tail -5 >&2 || true
    printf 'WARNING %s: %s :: %s\n' "$(date +%T)" "$what" "$*" >>"$BENCH_OUT/warnings.log"
}

# run_rwg SCENARIO TOOL URL RWG_ARGS...
# Runs `rwg run RWG_ARGS --cpus $GEN_CPU -q --json F URL` and records: rps
# (achieved/s), reqs, cpu_us_req, p99_us (latency), lag_p99_us, warmup_ms,
# errors, plus cpu_s and rss_kib. Leaves the JSON in R_JSON.
run_rwg() {
    local sc=$1 tool=$2 url=$3
    shift 3
    local out=$BENCH_TMP/$sc.$tool.out
    R_JSON=$BENCH_TMP/$sc.$tool.json
    rm -f "$R_JSON"
    local cmd=("$RWG_BIN" run "$@" --cpus "$GEN_CPU" -q --json "$R_JSON" "$url")
    KEEP_FILES="$R_JSON ${KEEP_FILES:-}" measure_stable "$(limit_for)" "$out" -- "${cmd[@]}"
    if [[ ! -s $R_JSON ]]; then
        complain "rwg rc=$M_RC, no JSON" "$out" "${cmd[@]}"
        record "$sc" "$tool" failed 1
        return 0
    fi
    local reqs errs
    reqs=$(jq -r '.overall.scheduled - .overall.skipped' "$R_JSON")
    errs=$(jq -r '.overall.errors + .overall.dropped' "$R_JSON")
    if [[ $M_RC != 0 || $errs != 0 ]]; then
        complain "rwg rc=$M_RC errors=$errs skipped=$(json_get "$R_JSON" .overall.skipped) first_error=$(jq -c .run.first_error "$R_JSON")" "$out" "${cmd[@]}"
    fi
    local d=$M_DISTURBED
    record "$sc" "$tool" rps "$(json_get "$R_JSON" .overall.achieved_per_sec)" "$d"
    record "$sc" "$tool" reqs "$reqs" "$d"
    record "$sc" "$tool" cpu_us_req "$(cpu_per "$M_CPU" "$reqs")" "$d"
    # Answered requests only, as wrk and h2load report them.
    record "$sc" "$tool" p99_us "$(json_p99 "$R_JSON" latency_answered)" "$d"
    record "$sc" "$tool" lag_p99_us "$(json_p99 "$R_JSON" send_lag)" "$d"
    record "$sc" "$tool" warmup_ms "$(json_get "$R_JSON" .run.warmup_ms)" "$d"
    record "$sc" "$tool" errors "$errs" "$d"
    record "$sc" "$tool" skipped "$(json_get "$R_JSON" .overall.skipped)" "$d"
    record_cpu "$sc" "$tool"
    # shellcheck disable=SC2034 # read by the calling scripts
    R_REQS=$reqs
}

# run_wrk SCENARIO TOOL URL WRK_ARGS... (wrk or wrk2; --latency is added)
# Records rps, reqs, cpu_us_req, p99_us, errors, cpu_s, rss_kib.
run_wrk() {
    local sc=$1 tool=$2 url=$3
    shift 3
    local out=$BENCH_TMP/$sc.$tool.out bin=wrk
    [[ $tool == wrk2* ]] && bin=$WRK2_BIN
    local cmd=("$bin" "$@" --latency "$url")
    measure_stable "$(limit_for)" "$out" -- "${cmd[@]}"
    local reqs errs p99
    reqs=$(wrk_requests "$out")
    if [[ -z $reqs ]]; then
        complain "$tool rc=$M_RC, no result" "$out" "${cmd[@]}"
        record "$sc" "$tool" failed 1
        return 0
    fi
    errs=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
    [[ $errs == 0 ]] || complain "$tool errors=$errs" "$out" "${cmd[@]}"
    p99=$(awk '$1 == "99%" || $1 == "99.000%" { print $2; exit }' "$out")
    local d=$M_DISTURBED
    record "$sc" "$tool" rps "$(wrk_rps "$out")" "$d"
    record "$sc" "$tool" reqs "$reqs" "$d"
    record "$sc" "$tool" cpu_us_req "$(cpu_per "$M_CPU" "$reqs")" "$d"
    [[ -n $p99 ]] && record "$sc" "$tool" p99_us "$(to_us "$p99")" "$d"
    record "$sc" "$tool" errors "$errs" "$d"
    record_cpu "$sc" "$tool"
    # shellcheck disable=SC2034 # read by the calling scripts
    R_REQS=$reqs
}

# run_h2load SCENARIO TOOL URL H2LOAD_ARGS...
# Records rps, reqs (done), cpu_us_req, errors (failed+errored+timeout+non-2xx),
# cpu_s, rss_kib. Requests from "requests: N total, N started, N done, N succeeded, ...".
run_h2load() {
    local sc=$1 tool=$2 url=$3
    shift 3
    local out=$BENCH_TMP/$sc.$tool.out
    local cmd=(h2load "$@" "$url")
    measure_stable "$(limit_for)" "$out" -- "${cmd[@]}"
    local reqs errs rps
    reqs=$(awk '/^requests:/ { gsub(/,/, ""); print $6; exit }' "$out")
    rps=$(awk '/^finished in/ { gsub(/,/, ""); print $4; exit }' "$out")
    if [[ -z $reqs || $reqs == 0 ]]; then
        complain "h2load rc=$M_RC, no requests done" "$out" "${cmd[@]}"
        sed 's/^/    | /' "$out" | tail -5 >&2 || true
        record "$sc" "$tool" failed 1
        return 0
    fi
    errs=$(awk '/^requests:/ { gsub(/,/, ""); n += $10 + $12 + $14 }
        /^status codes:/ { gsub(/,/, ""); n += $5 + $7 + $9 } END { print n + 0 }' "$out")
    [[ $M_RC == 0 && $errs == 0 ]] || complain "h2load rc=$M_RC errors=$errs" "$out" "${cmd[@]}"
    local d=$M_DISTURBED
    record "$sc" "$tool" rps "$rps" "$d"
    record "$sc" "$tool" reqs "$reqs" "$d"
    record "$sc" "$tool" cpu_us_req "$(cpu_per "$M_CPU" "$reqs")" "$d"
    record "$sc" "$tool" errors "$errs" "$d"
    record_cpu "$sc" "$tool"
    R_REQS=$reqs
}

# Server CPU per request of the last run (M_NGINX: the server pid's CPU).
record_srv() {
    [[ -n ${R_REQS:-} && $R_REQS != 0 ]] &&
        record "$1" "$2" srv_us_req "$(cpu_per "$M_NGINX" "$R_REQS")" "$M_DISTURBED"
    R_REQS=
}

# run_hey SCENARIO TOOL URL RATE CONNS (fixed rate: -q is per worker)
run_hey() {
    local sc=$1 tool=$2 url=$3 rate=$4 conns=$5
    local out=$BENCH_TMP/$sc.$tool.out q
    q=$(awk -v r="$rate" -v c="$conns" 'BEGIN { printf "%g", r / c }')
    local cmd=(hey -z "${DUR_S}s" -c "$conns" -q "$q" "$url")
    measure_stable "$(limit_for)" "$out" -- "${cmd[@]}"
    local reqs ok
    reqs=$(hey_requests "$out")
    if [[ $reqs == 0 ]]; then
        complain "hey rc=$M_RC, no result" "$out" "${cmd[@]}"
        record "$sc" "$tool" failed 1
        return 0
    fi
    ok=$(awk '/\[200\]/ { print $2; exit }' "$out")
    local d=$M_DISTURBED
    record "$sc" "$tool" rps "$(hey_rps "$out")" "$d"
    record "$sc" "$tool" reqs "$reqs" "$d"
    record "$sc" "$tool" cpu_us_req "$(cpu_per "$M_CPU" "$reqs")" "$d"
    record "$sc" "$tool" p99_us "$(hey_p99_us "$out")" "$d"
    record "$sc" "$tool" errors "$((reqs - ${ok:-0}))" "$d"
    record_cpu "$sc" "$tool"
}

# run_oha SCENARIO TOOL URL RATE CONNS
run_oha() {
    local sc=$1 tool=$2 url=$3 rate=$4 conns=$5
    local out=$BENCH_TMP/$sc.$tool.out fmt=(--output-format json)
    oha --help 2>&1 | grep -q -- '--output-format' || fmt=(-j)
    local rate_arg=(-q "$rate")
    [[ $rate == 0 ]] && rate_arg=() # closed loop: as fast as the connections go
    local cmd=(oha -z "${DUR_S}s" -c "$conns" "${rate_arg[@]}" --no-tui "${fmt[@]}" "$url")
    measure_stable "$(limit_for)" "$out" -- "${cmd[@]}"
    local reqs
    reqs=$(jq -r '[.statusCodeDistribution[]?] | add // 0' "$out" 2>/dev/null || echo 0)
    if [[ -z $reqs || $reqs == 0 ]]; then
        complain "oha rc=$M_RC, no result" "$out" "${cmd[@]}"
        record "$sc" "$tool" failed 1
        return 0
    fi
    local d=$M_DISTURBED
    record "$sc" "$tool" rps "$(jq -r '.summary.requestsPerSec' "$out")" "$d"
    record "$sc" "$tool" reqs "$reqs" "$d"
    record "$sc" "$tool" cpu_us_req "$(cpu_per "$M_CPU" "$reqs")" "$d"
    record "$sc" "$tool" p99_us "$(jq -r '.latencyPercentiles.p99 * 1e6' "$out")" "$d"
    record "$sc" "$tool" errors "$(jq -r '[.errorDistribution[]?] | add // 0' "$out")" "$d"
    record_cpu "$sc" "$tool"
    # shellcheck disable=SC2034 # read by record_srv
    R_REQS=$reqs
}

# run_bombardier SCENARIO TOOL URL RATE CONNS (codesenberg/bombardier)
run_bombardier() {
    local sc=$1 tool=$2 url=$3 rate=$4 conns=$5
    local out=$BENCH_TMP/$sc.$tool.out
    local cmd=(bombardier -c "$conns" -d "${DUR_S}s" --rate "$rate" -l -p r -o json "$url")
    measure_stable "$(limit_for)" "$out" -- "${cmd[@]}"
    local reqs
    reqs=$(jq -r '.result | .req1xx + .req2xx + .req3xx + .req4xx + .req5xx + .others' "$out" 2>/dev/null || echo 0)
    if [[ -z $reqs || $reqs == 0 ]]; then
        complain "bombardier rc=$M_RC, no result" "$out" "${cmd[@]}"
        record "$sc" "$tool" failed 1
        return 0
    fi
    local d=$M_DISTURBED
    record "$sc" "$tool" rps "$(jq -r '.result.rps.mean' "$out")" "$d"
    record "$sc" "$tool" reqs "$reqs" "$d"
    record "$sc" "$tool" cpu_us_req "$(cpu_per "$M_CPU" "$reqs")" "$d"
    record "$sc" "$tool" p99_us "$(jq -r '.result.latency.percentiles."99"' "$out")" "$d"
    record "$sc" "$tool" errors "$(jq -r '.result | .req4xx + .req5xx + .others' "$out")" "$d"
    record_cpu "$sc" "$tool"
}

# Fixed-rate peers found on PATH: sets PEERS (names) and prints the missing.
detect_rate_peers() {
    PEERS=()
    local missing=()
    WRK2_BIN=
    if command -v wrk2 >/dev/null; then
        WRK2_BIN=wrk2
    elif wrk --help 2>&1 | grep -q -- '--rate\|-R,'; then
        WRK2_BIN=wrk
    fi
    if [[ -n $WRK2_BIN ]]; then PEERS+=(wrk2); else missing+=(wrk2); fi
    if command -v oha >/dev/null; then PEERS+=(oha); else missing+=(oha); fi
    if command -v hey >/dev/null; then PEERS+=(hey); else missing+=(hey); fi
    # Debian's "bombardier" package is a game; only codesenberg's has --rate.
    if command -v bombardier >/dev/null && bombardier --help 2>&1 | grep -q -- '--rate'; then
        PEERS+=(bombardier)
    else
        missing+=(bombardier)
    fi
    log "fixed-rate peers present: ${PEERS[*]:-none}; missing: ${missing[*]:-none}"
    # shellcheck disable=SC2034 # read by the calling scripts
    PEERS_MISSING="${missing[*]:-none}"
}

# run_rate_peer SCENARIO PEER URL RATE CONNS
run_rate_peer() {
    local sc=$1 peer=$2 url=$3 rate=$4 conns=$5
    case $peer in
        wrk2) run_wrk "$sc" wrk2 "$url" -t1 -c"$conns" -d"${DUR_S}s" -R"$rate" ;;
        oha) run_oha "$sc" oha "$url" "$rate" "$conns" ;;
        hey) run_hey "$sc" hey "$url" "$rate" "$conns" ;;
        bombardier) run_bombardier "$sc" bombardier "$url" "$rate" "$conns" ;;
    esac
}
