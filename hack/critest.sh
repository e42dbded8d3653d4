#!/usr/bin/env bash
# Runs cri-tools' critest (a binary you built yourself, e.g. v1.28.0) against a
# skiff daemon built from this checkout, with critest's images served from a
# local registry that skiff reaches as registry.k8s.io's and gcr.io's mirror.
#   sudo hack/critest.sh /path/to/critest [critest flags...]
# Env: SKIFF_LAB_HANDLER=crun runs it with crun as the default handler.
# Prints critest's report; exits with critest's status. Skips when no binary is given.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lab/prepare.sh
lab_prepare "critest (cri-tools' cmd/critest)" "${1:-}" "$@"
shift

# The one spec that pulls a pinned upstream digest cannot pass offline.
exec npx vite-node hack/lab/with-skiff.ts -- sh -c '
  exec "$0" --runtime-endpoint "unix://$SKIFF_SOCKET" --image-endpoint "unix://$SKIFF_SOCKET" \
    --ginkgo.skip "public image with digest should be pulled and removed" --ginkgo.no-color "$@"' "$lab_binary" "$@"
