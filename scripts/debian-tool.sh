#!/usr/bin/env bash
# Unpacks a Debian package into .tools/<package>/ without installing it: no root needed once the
# .deb is downloaded (into .tools/debs/), no system service started, idempotent. Used for the
# real `prometheus` (tests) and `ripgrep` (benchmarks).
#
# Usage: scripts/debian-tool.sh PACKAGE    (prints the unpacked root on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
package="${1:?usage: scripts/debian-tool.sh PACKAGE}"
root=".tools/$package"
log() { echo "debian-tool: $*" >&2; }

if [[ -f "$root/.unpacked" ]]; then
    echo "$PWD/$root"
    exit 0
fi
debs=.tools/debs
mkdir -p "$debs"
if ! ls "$debs/${package}"_*.deb >/dev/null 2>&1; then
    log "downloading Debian's $package package"
    if ! (cd "$debs" && apt-get download "$package" >/dev/null 2>&1); then
        # A fresh machine has no package lists yet.
        apt-get update -qq >/dev/null 2>&1 || { log "apt-get update failed (run it as root)"; exit 1; }
        (cd "$debs" && apt-get download "$package" >/dev/null) || { log "cannot download the $package package"; exit 1; }
    fi
fi
rm -rf "$root" "$root.partial"
dpkg-deb -x "$debs/${package}"_*.deb "$root.partial"
touch "$root.partial/.unpacked"
mv "$root.partial" "$root"
log "unpacked $package into $root"
echo "$PWD/$root"
