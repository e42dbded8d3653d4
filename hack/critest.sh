#!/usr/bin/env bash
# Runs cri-tools' critest (a binary you built yourself, e.g. v1.28.0) against a
# skiff daemon built from this checkout, with critest's images served from a
# local registry that skiff reaches as registry.k8s.io's and gcr.io's mirror.
#   sudo hack/critest.sh /path/to/critest [critest flags...]
# Env: SKIFF_LAB_HANDLER=crun runs it with crun as the default handler.
# Prints critest's report; exits with critest's status. Skips when no binary is given.
set -euo pipefail
cd "$(dirname "$0")/.."
critest=${1:-}
if [[ -z "$critest" ]]; then
  echo "critest.sh: skipped: give the path of a critest binary (cri-tools' cmd/critest, built outside this project)" >&2
  exit 0
fi
shift
if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$critest" "$@"; fi
[[ -x "$critest" ]] || { echo "critest.sh: $critest is not an executable file" >&2; exit 2; }
critest=$(readlink -f "$critest")

hack/install-deps.sh --test >/dev/null
[[ -d node_modules ]] || hack/npm-install.sh
npm run build --silent >/dev/null

# The one spec that pulls a pinned upstream digest cannot pass offline.
exec npx vite-node hack/lab/with-skiff.ts -- sh -c '
  exec "$0" --runtime-endpoint "unix://$SKIFF_SOCKET" --image-endpoint "unix://$SKIFF_SOCKET" \
    --ginkgo.skip "public image with digest should be pulled and removed" --ginkgo.no-color "$@"' "$critest" "$@"
