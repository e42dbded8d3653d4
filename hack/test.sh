#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, builds skiff and
# runs the whole suite (unit + end-to-end against real runc, conmon, CNI and a
# real registry). Needs root: the e2e tests create namespaces, mounts and cgroups.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$@"; fi

hack/install-deps.sh --test
hack/npm-install.sh
npm run build
exec npx vitest run "$@"
