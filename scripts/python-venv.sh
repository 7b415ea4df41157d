#!/usr/bin/env bash
# Create (if missing) the project-local Python venv at $REPO/.tools/venv and
# install the given requirements files into it, only when a file changed since
# its last successful install (a sha256 stamp per requirements file is kept
# inside the venv).
#
# Usage: scripts/python-venv.sh [REQUIREMENTS_FILE ...]
#
# The last line on stdout is the venv's python path; everything else goes to
# stderr. Environment: PYTHON (default python3) selects the base interpreter; VENV_DIR
# (default $REPO/.tools/venv) another venv, for tools whose pins clash with the shared one.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
VENV="${VENV_DIR:-$REPO/.tools/venv}"
VPY="$VENV/bin/python"
STAMPS="$VENV/.requirements-stamps"
BASE_PY="${PYTHON:-python3}"

log() { printf '%s\n' "python-venv: $*" >&2; }

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 -- "$1" | cut -d' ' -f1
    else
        "$VPY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

# Resolve all requirements paths before doing anything (relative to the caller's cwd).
reqs=()
for arg in "$@"; do
    if [[ ! -f "$arg" ]]; then
        log "requirements file not found: $arg"
        exit 2
    fi
    reqs+=("$(cd -- "$(dirname -- "$arg")" && pwd -P)/$(basename -- "$arg")")
done

# A venv whose interpreter no longer runs (e.g. base python removed/upgraded) is rebuilt.
if [[ -x "$VPY" ]] && ! "$VPY" -c 'import sys' >/dev/null 2>&1; then
    log "existing venv at $VENV is broken; recreating"
    rm -rf -- "$VENV"
fi

# A venv without a working pip (e.g. an interrupted creation) is rebuilt too.
if [[ -x "$VPY" ]] && ! "$VPY" -m pip --version >/dev/null 2>&1; then
    log "existing venv at $VENV has no working pip; recreating"
    rm -rf -- "$VENV"
fi

if [[ ! -x "$VPY" ]]; then
    if ! command -v "$BASE_PY" >/dev/null 2>&1; then
        log "base interpreter '$BASE_PY' not found"
        exit 1
    fi
    log "creating venv at $VENV with $("$BASE_PY" --version 2>&1)"
    mkdir -p -- "$(dirname -- "$VENV")"
    if ! "$BASE_PY" -m venv -- "$VENV" >&2; then
        # Debian/Ubuntu python3 without python3-venv (no ensurepip): fall back
        # to virtualenv, installed from PyPI into a private directory if needed.
        rm -rf -- "$VENV"
        log "'$BASE_PY -m venv' failed; falling back to virtualenv"
        VENV_TOOL="$REPO/.tools/virtualenv-pkg"
        if ! PYTHONPATH="$VENV_TOOL${PYTHONPATH:+:$PYTHONPATH}" "$BASE_PY" -m virtualenv --version >/dev/null 2>&1; then
            PIP_ROOT_USER_ACTION=ignore "$BASE_PY" -m pip install -q --disable-pip-version-check --target "$VENV_TOOL" virtualenv >&2
        fi
        PYTHONPATH="$VENV_TOOL${PYTHONPATH:+:$PYTHONPATH}" "$BASE_PY" -m virtualenv -q "$VENV" >&2
    fi
    if ! "$VPY" -m pip --version >/dev/null 2>&1; then
        log "venv at $VENV was created without a working pip"
        rm -rf -- "$VENV"
        exit 1
    fi
    "$VPY" -m pip install -q --disable-pip-version-check --upgrade pip >&2 \
        || log "warning: could not upgrade pip; continuing with the bundled one"
fi

mkdir -p -- "$STAMPS"

for req in "${reqs[@]+"${reqs[@]}"}"; do
    # One stamp file per requirements file, named after its absolute path.
    key="$(printf '%s' "$req" | sed 's#[^A-Za-z0-9._-]#_#g')"
    stamp="$STAMPS/$key.sha256"
    sum="$(sha256_of "$req")"
    if [[ -f "$stamp" && "$(cat -- "$stamp")" == "$sum" ]]; then
        log "up to date: $req"
        continue
    fi
    log "installing: $req"
    # Run pip from the requirements file's directory so relative entries (-r, -c, paths) resolve.
    (cd -- "$(dirname -- "$req")" && "$VPY" -m pip install -q --disable-pip-version-check -r "$req") >&2
    printf '%s\n' "$sum" >"$stamp"
done

printf '%s\n' "$VPY"
