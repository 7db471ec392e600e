#!/usr/bin/env bash
# restic and borg on this machine, measured the way `bench/run.sh cas` measures cas-service (docs/benchmarks.md):
# SIZE MiB of random bytes (default 1024) ingested in one go into a fresh local repository, then a second version of
# the same file with 1 % of its bytes changed in 100 evenly spread runs; prints the time, MB/s and what each stored
# for the second version. Needs restic and borg (Debian: apt-get install restic borgbackup); default settings, except
# borg without encryption (-e none), as cas-service does not encrypt.
set -euo pipefail
SIZE_MIB=${1:-1024}
for tool in restic borg python3; do  # python3: the edit and the arithmetic
  command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install restic borgbackup)" >&2; exit 2; }
done
dir=$(mktemp -d /var/tmp/celluler-peers.XXXXXX)   # on disk, like the chunk store
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/data"
head -c $((SIZE_MIB << 20)) /dev/urandom > "$dir/v1"
python3 - "$dir/v1" "$dir/v2" <<'PY'
import os, sys
data = bytearray(open(sys.argv[1], 'rb').read())
n, places = len(data), 100
run = n // 100 // places
for i in range(places):
    start = i * (n // places)
    data[start:start + run] = os.urandom(run)
open(sys.argv[2], 'wb').write(data)
PY
sync

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" > "$dir/out" 2>&1; t1=$(date +%s.%N); python3 -c "print(f'{$t1 - $t0:.2f}')"; }
mbps() { python3 -c "print(round($SIZE_MIB * 1048576 / $1 / 1e6))"; }

export RESTIC_PASSWORD=celluler-bench RESTIC_CACHE_DIR="$dir/restic-cache"
restic init -q -r "$dir/restic"
cp "$dir/v1" "$dir/data/file"
t=$(seconds restic -r "$dir/restic" backup "$dir/data")
cp "$dir/v2" "$dir/data/file"
restic -r "$dir/restic" backup "$dir/data" > "$dir/out2" 2>&1
echo "restic $(restic version | cut -d' ' -f2)  ingest ${SIZE_MIB} MiB ${t} s = $(mbps "$t") MB/s   second version: $(grep -o 'Added to the repo[a-z]*: .*' "$dir/out2")"

borg init -e none "$dir/borg"
cp "$dir/v1" "$dir/data/file"
t=$(seconds borg create "$dir/borg::v1" "$dir/data")
cp "$dir/v2" "$dir/data/file"
borg create --stats "$dir/borg::v2" "$dir/data" > "$dir/out2" 2>&1
echo "borg $(borg --version | cut -d' ' -f2)  ingest ${SIZE_MIB} MiB ${t} s = $(mbps "$t") MB/s   second version: deduplicated size of this archive $(grep 'This archive' "$dir/out2" | awk '{print $(NF-1), $NF}')"
