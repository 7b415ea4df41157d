#!/usr/bin/env bash
# Lint the SAM template (infra/template.yaml) and the Kubernetes manifests (infra/k8s): cfn-lint (any error or warning fails), then
# `sam validate --lint` (SAM's own transform and checks). cfn-lint comes from
# scripts/requirements-lint.txt in the project venv (.tools/venv), the SAM CLI from
# scripts/requirements-sam.txt in its own (.tools/sam-venv); scripts/python-venv.sh installs
# each only when its file changed.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

python="$(scripts/python-venv.sh scripts/requirements-lint.txt | tail -n1)"
venv_bin="$(dirname -- "$python")"
"$venv_bin/cfn-lint" --non-zero-exit-code warning -- infra/template.yaml

sam_python="$(VENV_DIR="$PWD/.tools/sam-venv" scripts/python-venv.sh scripts/requirements-sam.txt | tail -n1)"
sam="$(dirname -- "$sam_python")/sam"
# No telemetry from a linter run; the region only names the partition SAM validates for.
SAM_CLI_TELEMETRY=0 "$sam" validate --lint --template infra/template.yaml --region us-east-1

# The manifests: every kustomization rendered (the base, the base with both optional
# components, one run's Job through render-run.sh, the example), then every object checked
# against Kubernetes' schemas offline.
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
"$venv_bin/kubectl" kustomize infra/k8s >"$rendered/base.yaml"
mkdir "$rendered/all"
rel="$(realpath --relative-to="$rendered/all" infra/k8s)"
printf 'resources: [%s]\ncomponents: [%s/components/count-secrets, %s/components/pod-logs]\n' \
    "$rel" "$rel" "$rel" >"$rendered/all/kustomization.yaml"
"$venv_bin/kubectl" kustomize "$rendered/all" >"$rendered/with-components.yaml"
KUBECTL="$venv_bin/kubectl" infra/k8s/job/render-run.sh lint-run >"$rendered/job.yaml"
grep -q '^  name: krkn-telemetry-lint-run$' "$rendered/job.yaml" \
    || { echo "lint-infra: render-run.sh did not name the Job krkn-telemetry-lint-run" >&2; exit 1; }
"$venv_bin/kubernetes-validate" --strict --quiet \
    "$rendered/base.yaml" "$rendered/with-components.yaml" "$rendered/job.yaml" \
    infra/k8s/examples/krkn-job.yaml infra/k8s/config-secret.example.yaml
bash -n infra/k8s/examples/krkn-then-collector.sh

echo "lint-infra: OK (cfn-lint $("$venv_bin/cfn-lint" --version | awk '{print $NF}'), $("$sam" --version), infra/template.yaml; kubectl kustomize + kubernetes-validate $("$venv_bin/kubernetes-validate" --version 2>&1 | awk '{print $NF}'), infra/k8s)"
