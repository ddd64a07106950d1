#!/usr/bin/env bash
# bench/bundle.sh DIR [TOOL...] — packs rwg and the benchmark's tools found on
# PATH, with every shared library they load and this machine's dynamic loader,
# into DIR, so that bench/ runs on a machine where nothing can be installed
# (a lent machine with no package registry). DIR/path/TOOL is a wrapper that
# execs the bundled loader on the bundled binary (same pid, so bench/lib.sh's
# CPU accounting still sees the tool). On the other machine:
#   PATH=DIR/path:$PATH RWG=DIR/path/rwg bench/scaling.sh
# Default tools: wrk h2load oha jq time taskset (the missing ones are named
# and skipped). rwg is taken from $RWG (target/release/rwg). Binaries are
# stripped to fit a lent machine's transfer limit.
set -euo pipefail

DIR=${1:?usage: bench/bundle.sh DIR [TOOL...]}
shift
TOOLS=("$@")
((${#TOOLS[@]})) || TOOLS=(wrk h2load oha jq time taskset)
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RWG=${RWG:-$REPO_DIR/target/release/rwg}

rm -rf "$DIR"
mkdir -p "$DIR/bin" "$DIR/lib" "$DIR/path"
DIR=$(cd "$DIR" && pwd)

# The libraries BIN loads (ldd's "=> /path" and the loader's own line).
libs_of() {
    ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'
}

# add NAME BIN: copies BIN and its libraries; writes the wrapper path/NAME.
add() {
    local name=$1 bin=$2 lib
    cp -L "$bin" "$DIR/bin/$name"
    strip "$DIR/bin/$name" 2>/dev/null || true
    for lib in $(libs_of "$bin"); do
        cp -Ln "$lib" "$DIR/lib/" 2>/dev/null || true
    done
    # The loader path is resolved when the wrapper runs: DIR may be moved.
    cat >"$DIR/path/$name" <<'EOF'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")/..
EOF
    echo "exec \"\$here/lib/ld-linux-x86-64.so.2\" --library-path \"\$here/lib\" \"\$here/bin/$name\" \"\$@\"" >>"$DIR/path/$name"
    chmod +x "$DIR/path/$name"
}

[[ -x $RWG ]] || { echo "no rwg binary at $RWG (cargo build --release)" >&2; exit 2; }
add rwg "$RWG"
missing=()
for t in "${TOOLS[@]}"; do
    if p=$(type -P "$t"); then add "$t" "$p"; else missing+=("$t"); fi
done
[[ -e $DIR/lib/ld-linux-x86-64.so.2 ]] || { echo "no x86-64 loader found by ldd" >&2; exit 2; }
echo "bundled into $DIR: rwg ${TOOLS[*]} ($(du -sh "$DIR" | cut -f1)); missing: ${missing[*]:-none}"
