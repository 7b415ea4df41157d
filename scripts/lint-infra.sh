#!/usr/bin/env bash
# Lint the SAM template (infra/template.yaml) with cfn-lint: any error or warning fails.
# cfn-lint is installed from scripts/requirements-lint.txt into the project venv
# (.tools/venv) by scripts/python-venv.sh, only when that file changed.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

python="$(scripts/python-venv.sh scripts/requirements-lint.txt | tail -n1)"
venv_bin="$(dirname -- "$python")"

"$venv_bin/cfn-lint" --non-zero-exit-code warning -- infra/template.yaml
echo "lint-infra: OK (cfn-lint $("$venv_bin/cfn-lint" --version | awk '{print $NF}'), infra/template.yaml)"
