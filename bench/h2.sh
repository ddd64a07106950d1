#!/usr/bin/env bash
# bench/h2.sh — rwg against h2load (HTTP/2, gRPC) and wrk (TLS HTTP/1.1), all
# closed loop, generator on CPU 0, server on CPU 1, on 127.0.0.1 (or, with
# TOPOLOGY=netns, 10.77.0.1 across a veth pair between two namespaces):
#   h2c-c1   nginx h2c, 1 connection x 100 streams:  rwg --h2c  vs  h2load -c1 -m100
#   h2c-c8   nginx h2c, 8 connections x 100 streams: rwg --h2c  vs  h2load -c8 -m100
#   h2c-fast `rwg serve --h2c` (a server faster than the client, as at
#            100GbE), 8 connections x 100 streams: rwg --h2c  vs  h2load -c8 -m100
#   grpc     `rwg serve --grpc` unary Echo/Call, 1 connection x 100 streams:
#            rwg grpc:// --proto  vs  h2load POSTing the same pre-encoded gRPC frame
#   h2-tls   `rwg serve --h2c --tls` (rustls, self-signed), 8 connections x 100
#            streams: rwg https:// -k  vs  h2load -c8 -m100
#   tls      nginx TLS (self-signed RSA-2048), HTTP/1.1, 64 connections:
#            rwg https:// --http1  vs  wrk -t1 -c64
# The HTTP/2 and gRPC scenarios also run rwg-crate: rwg with --h2-crate, through
# the h2 crate's HTTP/2 client instead of the lean one.
# Figures: req/s, client CPU-us per request ((user+sys)/requests, /usr/bin/time),
# server CPU-us per request; medians (min-max) and rwg/peer ratios. Rounds
# alternate the tools' order. Installs nghttp2-client (h2load) when missing.
# Env: QUICK=1 (2 rounds x 3 s; default 3 rounds x 5 s), ROUNDS, DURATION, SCENARIOS
# (subset of "h2c-c1 h2c-c8 h2c-fast grpc tls"), TOPOLOGY (loopback | netns: servers in
# netns rwgb-srv, clients and probes in rwgb-cli; see lib.sh and netns.sh),
# plus lib.sh's other knobs.
set -euo pipefail

if [[ ${QUICK:-0} != 1 ]]; then
    DURATION=${DURATION:-5s}
fi
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCENARIOS=${SCENARIOS:-h2c-c1 h2c-c8 h2c-fast grpc h2-tls tls}
D=${DUR_S}s

if ! command -v h2load >/dev/null; then
    log "installing nghttp2-client (h2load)"
    apt_sudo=()
    [[ $(id -u) == 0 ]] || apt_sudo=(sudo)
    "${apt_sudo[@]}" apt-get install -y nghttp2-client >/dev/null ||
        { "${apt_sudo[@]}" apt-get update >/dev/null && "${apt_sudo[@]}" apt-get install -y nghttp2-client >/dev/null; }
fi
for tool in h2load wrk nginx openssl curl jq; do
    command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done

raise_nofile
snapshot_rwg

# ----------------------------------------------------------------- servers ----

# srv_nginx MODE (h2c | tls): nginx with 1 worker on CPU $SRV_CPU on SRV_HOST
# (in the server's namespace with TOPOLOGY=netns, probed from the client's);
# sets NGINX_PID / NGINX_WORKER (lib.sh's measure reads the server's CPU from
# it) and SRV_URL.
srv_nginx() {
    local mode=$1 dir=$BENCH_TMP/nginx port listen probe
    mkdir -p "$dir/tmp"
    chmod 755 "$dir"
    port=$(free_port)
    if [[ $mode == tls ]]; then
        [[ -f $dir/cert.pem ]] || openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
        listen="listen $SRV_HOST:$port ssl backlog=16384;
        ssl_certificate $dir/cert.pem;
        ssl_certificate_key $dir/key.pem;"
        SRV_URL=https://$SRV_HOST:$port/
        probe=("${CLI_EXEC[@]}" curl -fsS -k -o /dev/null --max-time 1 "$SRV_URL")
    else
        # Debian's nginx 1.22: h2c needs "http2" on the listen line.
        listen="listen $SRV_HOST:$port http2 backlog=16384;"
        SRV_URL=http://$SRV_HOST:$port/
        probe=("${CLI_EXEC[@]}" curl -fsS --http2-prior-knowledge -o /dev/null --max-time 1 "$SRV_URL")
    fi
    nginx_write_conf "$dir" "$listen
        location / { return 200 \"hello\\n\"; }"
    "${SRV_EXEC[@]}" taskset -c "$SRV_CPU" nginx -p "$dir" -c "$dir/nginx.conf" >>"$dir/stdout.log" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 1 50); do
        if "${probe[@]}" 2>/dev/null; then
            NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1 || true)
            log "nginx $mode on $SRV_URL (master $NGINX_PID, worker ${NGINX_WORKER:-?}, CPU $SRV_CPU)"
            return 0
        fi
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "nginx ($mode) did not come up: $(tail -2 "$dir/error.log" 2>/dev/null)" >&2
    exit 2
}

# one SCENARIO TOOL: one measured run.
one() {
    local sc=$1 tool=$2
    R_REQS=
    case $sc/$tool in
        h2c-c1/rwg) run_rwg "$sc" rwg "$SRV_URL" --h2c -r 0 -d "$D" -c 1 -w 100 --max-streams 100 ;;
        h2c-c1/h2load) run_h2load "$sc" h2load "$SRV_URL" -c1 -m100 -D "$DUR_S" ;;
        h2c-c8/rwg) run_rwg "$sc" rwg "$SRV_URL" --h2c -r 0 -d "$D" -c 8 -w 800 --max-streams 100 ;;
        h2c-c8/h2load | h2c-fast/h2load) run_h2load "$sc" h2load "$SRV_URL" -c8 -m100 -D "$DUR_S" ;;
        h2c-fast/rwg) run_rwg "$sc" rwg "$SRV_URL" --h2c -r 0 -d "$D" -c 8 -w 800 --max-streams 100 ;;
        h2-tls/rwg) run_rwg "$sc" rwg "$SRV_URL" -k -r 0 -d "$D" -c 8 -w 800 --max-streams 100 ;;
        h2-tls/rwg-crate) run_rwg "$sc" rwg-crate "$SRV_URL" -k --h2-crate -r 0 -d "$D" -c 8 -w 800 --max-streams 100 ;;
        h2-tls/h2load) run_h2load "$sc" h2load "$SRV_URL" -c8 -m100 -D "$DUR_S" ;;
        h2c-c1/rwg-crate) run_rwg "$sc" rwg-crate "$SRV_URL" --h2c --h2-crate -r 0 -d "$D" -c 1 -w 100 --max-streams 100 ;;
        h2c-c8/rwg-crate | h2c-fast/rwg-crate)
            run_rwg "$sc" rwg-crate "$SRV_URL" --h2c --h2-crate -r 0 -d "$D" -c 8 -w 800 --max-streams 100
            ;;
        grpc/rwg)
            run_rwg "$sc" rwg "grpc://$SRV_HOST:$SRV_PORT/$GRPC_PATH" --proto "$REPO_DIR/proto/echo.proto" \
                --data '{"message":"hi"}' -r 0 -d "$D" -c 1 -w 100
            ;;
        grpc/rwg-crate)
            run_rwg "$sc" rwg-crate "grpc://$SRV_HOST:$SRV_PORT/$GRPC_PATH" --proto "$REPO_DIR/proto/echo.proto" \
                --data '{"message":"hi"}' --h2-crate -r 0 -d "$D" -c 1 -w 100
            ;;
        grpc/h2load)
            run_h2load "$sc" h2load "http://$SRV_HOST:$SRV_PORT/$GRPC_PATH" -c1 -m100 -D "$DUR_S" \
                -d "$GRPC_BODY" -H 'content-type: application/grpc' -H 'te: trailers'
            ;;
        tls/rwg) run_rwg "$sc" rwg "$SRV_URL" --insecure --http1 -r 0 -c 64 -w 64 -d "$D" ;;
        tls/wrk) run_wrk "$sc" wrk "$SRV_URL" -t1 -c64 -d"$D" ;;
    esac
    record_srv "$sc" "$tool"
}

# rounds SCENARIO TOOL...: ROUNDS rounds, the tools' order reversed on even rounds.
rounds() {
    local sc=$1 round t order
    shift
    for round in $(seq 1 "$ROUNDS"); do
        order=("$@")
        if ((round % 2 == 0)); then
            order=()
            for ((t = $#; t > 0; t--)); do order+=("${!t}"); done
        fi
        log "$sc round $round/$ROUNDS: ${order[*]}"
        for t in "${order[@]}"; do one "$sc" "$t"; done
    done
}

# The method path from the proto: /<package>.<Service>/<Method> (first rpc).
GRPC_PKG=$(awk '$1 == "package" { sub(/;$/, "", $2); print $2; exit }' "$REPO_DIR/proto/echo.proto")
GRPC_SVC=$(awk '$1 == "service" { print $2; exit }' "$REPO_DIR/proto/echo.proto")
GRPC_RPC=$(awk '$1 == "rpc" { sub(/\(.*/, "", $2); print $2; exit }' "$REPO_DIR/proto/echo.proto")
GRPC_PATH=$GRPC_PKG.$GRPC_SVC/$GRPC_RPC
# gRPC frame of EchoRequest{message: "hi"}: 0x00, u32 BE length 4, then 0a 02 68 69.
GRPC_BODY=$BENCH_TMP/grpc-body.bin
printf '\x00\x00\x00\x00\x04\x0a\x02\x68\x69' >"$GRPC_BODY"

for sc in $SCENARIOS; do
    case $sc in
        h2c-c1 | h2c-c8) srv_nginx h2c; rounds "$sc" rwg rwg-crate h2load ;;
        h2c-fast)
            srv_rwg --h2c
            SRV_URL=http://$SRV_HOST:$SRV_PORT/
            rounds "$sc" rwg rwg-crate h2load
            ;;
        grpc) srv_grpc; rounds grpc rwg rwg-crate h2load ;;
        h2-tls)
            srv_rwg --h2c --tls
            SRV_URL=https://$SRV_HOST:$SRV_PORT/
            rounds "$sc" rwg rwg-crate h2load
            ;;
        tls) srv_nginx tls; rounds tls rwg wrk ;;
        *) echo "unknown scenario $sc" >&2; exit 2 ;;
    esac
    nginx_stop
done

METRICS="rps:req/s cpu_us_req:client-CPU-us/req srv_us_req:server-CPU-us/req"
{
    echo
    machine_info
    echo "results: $RESULTS (raw runs: $RUNLOG)"
    for sc in $SCENARIOS; do
        case $sc in
            h2c-c1)
                block "h2c, nginx, 1 connection x 100 streams, GET / (6-byte body), $D x $ROUNDS rounds"
                echo "rwg: rwg run --h2c -r 0 -d $D -c 1 -w 100 --max-streams 100 --cpus $GEN_CPU -q --json F URL   h2load: taskset -c $GEN_CPU h2load -c1 -m100 -D $DUR_S URL"
                echo "rwg-crate: the same with --h2-crate (the h2 crate's HTTP/2 client)"
                table h2c-c1 "rwg rwg-crate h2load" "$METRICS"
                ;;
            h2c-c8)
                block "h2c, nginx, 8 connections x 100 streams, GET /, $D x $ROUNDS rounds"
                echo "rwg: rwg run --h2c -r 0 -d $D -c 8 -w 800 --max-streams 100 --cpus $GEN_CPU -q --json F URL   h2load: taskset -c $GEN_CPU h2load -c8 -m100 -D $DUR_S URL"
                echo "rwg-crate: the same with --h2-crate (the h2 crate's HTTP/2 client)"
                table h2c-c8 "rwg rwg-crate h2load" "$METRICS"
                ;;
            h2c-fast)
                block "h2c, rwg serve --h2c (faster than the client), 8 connections x 100 streams, GET /, $D x $ROUNDS rounds"
                echo "rwg: rwg run --h2c -r 0 -d $D -c 8 -w 800 --max-streams 100 --cpus $GEN_CPU -q --json F URL   h2load: taskset -c $GEN_CPU h2load -c8 -m100 -D $DUR_S URL"
                echo "rwg-crate: the same with --h2-crate (the h2 crate's HTTP/2 client)"
                table h2c-fast "rwg rwg-crate h2load" "$METRICS"
                ;;
            grpc)
                block "gRPC unary /$GRPC_PATH on rwg serve --grpc, 1 connection x 100 in flight, $D x $ROUNDS rounds"
                echo "rwg: rwg run grpc://H:P/$GRPC_PATH --proto proto/echo.proto --data '{\"message\":\"hi\"}' -r 0 -d $D -c 1 -w 100 --cpus $GEN_CPU -q --json F"
                echo "h2load: taskset -c $GEN_CPU h2load -c1 -m100 -D $DUR_S -d body.bin -H 'content-type: application/grpc' -H 'te: trailers' http://H:P/$GRPC_PATH"
                echo "rwg-crate: the same with --h2-crate (the h2 crate's HTTP/2 client)"
                table grpc "rwg rwg-crate h2load" "$METRICS"
                ;;
            h2-tls)
                block "h2 over TLS, rwg serve --h2c --tls (rustls), 8 connections x 100 streams, GET /, $D x $ROUNDS rounds"
                echo "rwg: rwg run -k -r 0 -d $D -c 8 -w 800 --max-streams 100 --cpus $GEN_CPU -q --json F URL   h2load: taskset -c $GEN_CPU h2load -c8 -m100 -D $DUR_S URL"
                echo "rwg-crate: the same with --h2-crate (the h2 crate's HTTP/2 client)"
                table h2-tls "rwg rwg-crate h2load" "$METRICS"
                ;;
            tls)
                block "TLS HTTP/1.1, nginx (RSA-2048 self-signed), 64 connections, $D x $ROUNDS rounds"
                echo "rwg: rwg run URL --insecure --http1 -r 0 -c 64 -w 64 -d $D --cpus $GEN_CPU -q --json F   wrk: taskset -c $GEN_CPU wrk -t1 -c64 -d$D --latency URL"
                table tls "rwg wrk" "$METRICS"
                ;;
        esac
    done
    if [[ -s $BENCH_OUT/warnings.log ]]; then
        echo
        echo "warnings:"
        cat "$BENCH_OUT/warnings.log"
    fi
} | tee "$BENCH_OUT/summary.txt"
