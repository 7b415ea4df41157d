#!/usr/bin/env bash
# Lint the SAM template (infra/template.yaml): cfn-lint (any error or warning fails), then
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
echo "lint-infra: OK (cfn-lint $("$venv_bin/cfn-lint" --version | awk '{print $NF}'), $("$sam" --version), infra/template.yaml)"
