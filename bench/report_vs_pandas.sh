#!/usr/bin/env bash
# bench/report_vs_pandas.sh — `rwg report` against the original tool's pandas
# analyzer on one synthetic per-request CSV (10 M rows by default).
#
# Generates a CSV in rwg's `run -o` format (3 phases, ~94% status 200, ~5% 503,
# ~0.1% 500, ~1% skipped rows with empty status/latency/service/lag; latency
# exponential ~5 ms mean plus a 2% slow tail so some 200s miss a 50 ms SLO),
# then times, each pinned to CPU 0 under `/usr/bin/time -f '%e s %M KiB'`:
#   rwg:    rwg report FILE --slo 50ms --json OUT
#   pandas: python -c '<pd.read_csv(FILE); goodput (200 and latency_us <= 50000),
#           dropped (503), errors, skipped, throughput/s, latency quantiles
#           p50/p75/p90/p95/p99 via df.latency_us.quantile([...])>'
# (whole process for both, so pandas' import, ~0.5 s, is included).
# RUNS runs each (default 3), alternating order; reports the median wall time,
# rows/s, the peak RSS (median), and rwg/pandas ratios. Checks that both agree on
# ok/dropped/skipped/errors/goodput counts exactly and on p99 within 1%; exit 1
# if not.
# Env: ROWS (default 10000000), RUNS (3), CPU (0), RWG (default
# target/release/rwg), PYTHON (an interpreter that has pandas; otherwise a venv
# is created in the temp dir and `pip install pandas` is run), KEEP=1 keeps the
# temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${ROWS:-10000000}
RUNS=${RUNS:-3}
CPU=${CPU:-0}
RWG=${RWG:-$ROOT/target/release/rwg}
[[ -x $RWG ]] || { echo "no rwg binary at $RWG (cargo build --release)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rwg-vs-pandas.XXXXXX")
if [[ ${KEEP:-0} != 1 ]]; then trap 'rm -rf "$TMP"' EXIT; fi
CSV=$TMP/requests.csv

# --- python with pandas ---------------------------------------------------
if [[ -n ${PYTHON:-} ]] && "$PYTHON" -c 'import pandas' 2>/dev/null; then
    PY=$PYTHON
else
    echo "creating venv + pip install pandas in $TMP/venv ..." >&2
    python3 -m venv "$TMP/venv"
    "$TMP/venv/bin/pip" install -q pandas >&2
    PY=$TMP/venv/bin/python
fi
PD_VERSION=$("$PY" -c 'import pandas, sys; print(pandas.__version__, "python", sys.version.split()[0])')

# --- data -------------------------------------------------------------------
# Timestamps are 1764428400000000000 + i*100000 ns (10 k rows/s planned); they do
# not fit a double, so awk prints the fixed prefix "176442" and a 13-digit tail.
echo "generating $ROWS rows ..." >&2
t0=$(date +%s.%N)
awk -v n="$ROWS" 'BEGIN {
    srand(42)
    print "timestamp_ns,url,phase,status,latency_us,service_us,lag_us,bytes,error,in_flight"
    u = "http://127.0.0.1:8080/"
    for (i = 0; i < n; i++) {
        ts = sprintf("176442%013.0f", 8400000000000 + i * 100000)
        ph = int(i * 3 / n)
        r = rand()
        if (r < 0.01) { printf "%s,%s,%d,,,,,0,skipped,0\n", ts, u, ph; continue }
        st = (r < 0.06) ? 503 : (r < 0.061) ? 500 : 200
        lat = 100 - 5000 * log(1 - rand())
        if (rand() < 0.02) lat *= 12
        lag = 5 + 20 * rand()
        printf "%s,%s,%d,%d,%.3f,%.3f,%.3f,112,,%d\n", ts, u, ph, st, lat, lat - lag, lag, 1 + int(8 * rand())
    }
}' > "$CSV"
t1=$(date +%s.%N)
echo "generated $(du -h "$CSV" | cut -f1) in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s" >&2

# --- the pandas analyzer ----------------------------------------------------
cat > "$TMP/analyze.py" <<'EOF'
import json, sys
import pandas as pd

df = pd.read_csv(sys.argv[1])
skipped = df.error.eq("skipped")
resp = df.status.notna() & ~skipped
ok = resp & df.status.between(200, 299) & df.error.isna()
dropped = resp & df.status.eq(503)
errors = ~skipped & ~ok & ~dropped
goodput = ok & (df.latency_us <= 50000)
dur_s = (df.timestamp_ns.max() - df.timestamp_ns.min()) / 1e9
q = df.latency_us.quantile([0.5, 0.75, 0.9, 0.95, 0.99])
out = {
    "total": int(len(df)), "ok": int(ok.sum()), "goodput": int(goodput.sum()),
    "dropped": int(dropped.sum()), "errors": int(errors.sum()),
    "skipped": int(skipped.sum()),
    "throughput_per_sec": float(resp.sum() / dur_s),
    "p50_us": q[0.5], "p75_us": q[0.75], "p90_us": q[0.9], "p95_us": q[0.95], "p99_us": q[0.99],
}
json.dump(out, open(sys.argv[2], "w"))
EOF

# --- timing -----------------------------------------------------------------
# run NAME CMD... : appends "wall_s rss_kib" to $TMP/NAME.times
run() {
    local name=$1; shift
    taskset -c "$CPU" /usr/bin/time -f '%e s %M KiB' -o "$TMP/$name.time" "$@" > "$TMP/$name.log" 2>&1 \
        || { cat "$TMP/$name.log" "$TMP/$name.time" >&2; exit 1; }
    awk '/ s .* KiB$/ { print $1, $3 }' "$TMP/$name.time" >> "$TMP/$name.times"
    echo "  $name: $(tail -1 "$TMP/$name.time")" >&2
}
run_rwg()    { run rwg "$RWG" report "$CSV" --slo 50ms --json "$TMP/rwg.json"; }
run_pandas() { run pandas "$PY" "$TMP/analyze.py" "$CSV" "$TMP/pandas.json"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$CSV" > /dev/null   # page cache warm for both
for ((k = 1; k <= RUNS; k++)); do
    echo "round $k/$RUNS" >&2
    if ((k % 2)); then run_rwg; run_pandas; else run_pandas; run_rwg; fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- summary + agreement check ---------------------------------------------
"$PY" - "$TMP" "$ROWS" "$PD_VERSION" "$LOAD_BEFORE" "$LOAD_AFTER" <<'EOF'
import json, statistics, sys
tmp, rows = sys.argv[1], int(sys.argv[2])
def times(name):
    t = [tuple(map(float, l.split())) for l in open(f"{tmp}/{name}.times")]
    return statistics.median(x[0] for x in t), statistics.median(x[1] for x in t), t
rt, rr, rall = times("rwg")
pt, pr, pall = times("pandas")
print(f"rows {rows:,}; pandas {sys.argv[3]}; load before {sys.argv[4]}, after {sys.argv[5]}")
print(f"{'tool':8} {'median s':>9} {'rows/s':>12} {'peak RSS MiB':>13}   runs (s, KiB)")
for n, t, r, a in (("rwg", rt, rr, rall), ("pandas", pt, pr, pall)):
    print(f"{n:8} {t:9.2f} {rows / t:12,.0f} {r / 1024:13.0f}   {a}")
print(f"ratios: rwg rows/s / pandas rows/s = {pt / rt:.1f}x; pandas RSS / rwg RSS = {pr / rr:.1f}x")

rj = json.load(open(f"{tmp}/rwg.json"))["overall"]
pj = json.load(open(f"{tmp}/pandas.json"))
bad = []
for k in ("ok", "goodput", "dropped", "errors", "skipped"):
    a, b = rj[k], pj[k]
    print(f"  {k:9} rwg {a:>10,}  pandas {b:>10,}  {'ok' if a == b else 'MISMATCH'}")
    if a != b: bad.append(k)
print(f"  throughput/s rwg {rj['achieved_per_sec']:.1f}  pandas {pj['throughput_per_sec']:.1f}")
answered = {p["name"] + "_us": p["us"] for p in rj["latency_answered"]["percentiles"]}
for q in ("p50_us", "p75_us", "p90_us", "p95_us", "p99_us"):
    a, b = answered[q], pj[q]
    rel = abs(a - b) / b
    flag = "" if q != "p99_us" else ("  ok (<1%)" if rel < 0.01 else "  MISMATCH (>=1%)")
    print(f"  {q:9} rwg {a:12.3f}  pandas {b:12.3f}  diff {rel * 100:.3f}%{flag}")
    if q == "p99_us" and rel >= 0.01: bad.append(q)
if bad:
    print("DISAGREE:", ", ".join(bad)); sys.exit(1)
print("agreement: counts equal, p99 within 1%")
EOF
