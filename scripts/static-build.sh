#!/usr/bin/env bash
# Static (musl) builds of the shipped binaries: what the Containerfile builds, for `make test`'s
# empty-root test (debug) and `make dist` (release). Installs what it needs, idempotently: the
# Rust musl target (rustup) and musl-gcc (Debian's musl-tools, for the C in ring and rusqlite).
#
# Usage: scripts/static-build.sh [--release] PACKAGE...   (prints the binaries' folder on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
log() { echo "static-build: $*" >&2; }

profile=debug
cargo_flags=()
if [[ "${1:-}" == "--release" ]]; then
    profile=release
    cargo_flags+=(--release)
    shift
fi
[[ $# -gt 0 ]] || { echo "usage: $0 [--release] PACKAGE..." >&2; exit 2; }

if ! rustup target list --installed | grep -qx "$target"; then
    log "adding the Rust target $target"
    rustup target add "$target" >&2
fi
if ! command -v musl-gcc >/dev/null; then
    log "installing musl-tools (musl-gcc)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || { log "apt-get update failed (run it as root)"; exit 1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null \
            || { log "cannot install musl-tools"; exit 1; }
    fi
fi

packages=()
for package in "$@"; do packages+=(-p "$package"); done
cargo build --locked "${cargo_flags[@]}" --target "$target" "${packages[@]}" >&2
echo "${CARGO_TARGET_DIR:-$PWD/target}/$target/$profile"
