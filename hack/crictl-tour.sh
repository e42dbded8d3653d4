#!/usr/bin/env bash
# Runs every crictl command an operator uses (hack/lab/crictl-tour.sh) with an
# unmodified crictl (a binary you built yourself, e.g. v1.28.0) against a
# skiff daemon built from this checkout, each with a check of its output.
#   sudo hack/crictl-tour.sh /path/to/crictl
# Skips when no binary is given.
set -euo pipefail
cd "$(dirname "$0")/.."
crictl=${1:-}
if [[ -z "$crictl" ]]; then
  echo "crictl-tour.sh: skipped: give the path of a crictl binary (cri-tools' cmd/crictl, built outside this project)" >&2
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$@"; fi
[[ -x "$crictl" ]] || { echo "crictl-tour.sh: $crictl is not an executable file" >&2; exit 2; }
crictl=$(readlink -f "$crictl")

hack/install-deps.sh --test >/dev/null
[[ -d node_modules ]] || hack/npm-install.sh
npm run build --silent >/dev/null
exec npx vite-node hack/lab/with-skiff.ts -- bash hack/lab/crictl-tour.sh "$crictl"
