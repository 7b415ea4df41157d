#!/usr/bin/env bash
# Keeps a long-lived cargo target dir (the CI cache) from filling the disk: once it is over
# a size limit, drops the incremental caches and test/bench executables older than two
# hours (cargo relinks what it needs; dependency libraries stay, so nothing builds cold).
# Usage: scripts/prune-target.sh [TARGET_DIR] (default: $CARGO_TARGET_DIR or ./target).
# KRKN_TARGET_LIMIT_GB sets the limit (default 30).
set -euo pipefail
target="${1:-${CARGO_TARGET_DIR:-target}}"
limit="${KRKN_TARGET_LIMIT_GB:-30}"
[ -d "$target" ] || exit 0
size=$(du -s -BG "$target" | cut -f1 | tr -d G)
if [ "$size" -le "$limit" ]; then
    echo "prune-target: $target is ${size} GB (limit ${limit} GB), kept"
    exit 0
fi
for profile in debug release; do
    rm -rf "$target/$profile/incremental"
    [ -d "$target/$profile/deps" ] || continue
    find "$target/$profile/deps" -maxdepth 1 -type f -perm -u+x \
        ! -name '*.so' ! -name '*.rlib' ! -name '*.rmeta' ! -name '*.d' -mmin +120 -delete
done
echo "prune-target: $target was ${size} GB (limit ${limit} GB), now $(du -s -BG "$target" | cut -f1)"
