#!/usr/bin/env bash
# Lint the API with buf, check it for breaking changes against main, and fail
# when the generated Python code does not match the .proto files.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=.venv/bin/buf
"$buf" lint
if git rev-parse --verify -q origin/main >/dev/null; then
  against='.git#ref=origin/main'
else
  against='.git#branch=main'
fi
if git rev-parse --verify -q main >/dev/null || git rev-parse --verify -q origin/main >/dev/null; then
  "$buf" breaking --against "$against"
fi
scripts/gen_protos.sh
if ! git diff --quiet -- protos/ || [[ -n $(git ls-files --others --exclude-standard protos/) ]]; then
  echo "Generated code under protos/ is stale. Run scripts/gen_protos.sh and commit the result." >&2
  git status --short protos/ >&2
  exit 1
fi
echo "protos: lint, breaking and generated code OK"
