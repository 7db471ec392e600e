#!/usr/bin/env bash
# Hypercore on this machine, in the shapes of `bench/run.sh data-feed` and `bench/run.sh data-replication`
# (docs/benchmarks.md): appends of 512 B and 64 KiB entries in batches of 128, then replication of each feed to a
# second core. Installs the pinned Hypercore (bench/hypercore/package-lock.json) from the npm registry into a temporary
# folder with the machine's Node.js and npm; nothing of it is kept. Arguments: 512 B entries (default 102400),
# 64 KiB entries (default 4096).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed" >&2; exit 2; }
dir=$(mktemp -d /var/tmp/celluler-hypercore.XXXXXX)   # on disk, like the feeds' database
trap 'rm -rf "$dir"' EXIT
cp "$here/hypercore/package.json" "$here/hypercore/package-lock.json" "$here/hypercore/bench.js" "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
mkdir "$dir/cores"
(cd "$dir" && BENCH_DIR="$dir/cores" node bench.js "${1:-102400}" "${2:-4096}")
