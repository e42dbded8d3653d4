#!/usr/bin/env bash
# Installs skiff's and containerd's dependencies and runs the side-by-side
# benchmarks (bench/); results land in bench/results/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$@"; fi

hack/install-deps.sh --bench
hack/npm-install.sh
exec npm run bench -- "$@"
