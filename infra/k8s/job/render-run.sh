#!/usr/bin/env bash
# Prints the collector Job for one run, named krkn-telemetry-<SUFFIX> (default: the UTC time),
# through a throwaway kustomize overlay over this folder (kustomize cannot emit generateName):
#   infra/k8s/job/render-run.sh | kubectl apply -f -
#   infra/k8s/job/render-run.sh "$RUN_UUID" | kubectl apply -f -
# KUBECTL names the kubectl to use (default: kubectl on PATH).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
suffix="${1:-$(date -u +%Y%m%d-%H%M%S)}"
[[ "$suffix" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || {
    echo "render-run: suffix must be lower-case letters, digits and '-': $suffix" >&2; exit 2; }
overlay="$(mktemp -d)"
trap 'rm -rf "$overlay"' EXIT
printf 'resources: [%s]\nnameSuffix: -%s\n' "$(realpath --relative-to="$overlay" "$here")" "$suffix" \
    >"$overlay/kustomization.yaml"
"${KUBECTL:-kubectl}" kustomize "$overlay"
