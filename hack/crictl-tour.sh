#!/usr/bin/env bash
# Runs every crictl command an operator uses (hack/lab/crictl-tour.sh) with an
# unmodified crictl (a binary you built yourself, e.g. v1.28.0) against a
# skiff daemon built from this checkout, each with a check of its output.
#   sudo hack/crictl-tour.sh /path/to/crictl
# Env: SKIFF_LAB_HANDLER=crun. Skips when no binary is given.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lab/prepare.sh
lab_prepare "crictl (cri-tools' cmd/crictl)" "${1:-}" "$@"
exec npx vite-node hack/lab/with-skiff.ts -- bash hack/lab/crictl-tour.sh "$lab_binary"
