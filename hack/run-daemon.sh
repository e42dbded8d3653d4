#!/usr/bin/env bash
# Installs what skiff needs on a fresh Debian machine, builds it and runs the
# daemon in the foreground on its default socket (/run/skiff/skiff.sock).
# Extra arguments go to `skiff daemon` (e.g. --config FILE, --log-level debug).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$@"; fi

hack/install-deps.sh
hack/npm-install.sh
npm run build
exec bin/skiff daemon "$@"
