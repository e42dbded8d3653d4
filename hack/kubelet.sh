#!/usr/bin/env bash
# Runs an unmodified kubelet (1.26 or newer, a binary you built yourself) in
# standalone mode on a skiff daemon built from this checkout, through the
# scenario of hack/lab/kubelet-scenario.ts: static pods with probes, ports and
# limits, CrashLoopBackOff, logs/exec/port-forward through the kubelet's API,
# /stats/summary, a kubelet restart, and removal when the manifests go.
#   sudo hack/kubelet.sh /path/to/kubelet
# The kubelet changes vm.overcommit_memory, kernel.panic and kernel.panic_on_oops;
# the scenario puts them back. Skips when no binary is given.
set -euo pipefail
cd "$(dirname "$0")/.."
kubelet=${1:-}
if [[ -z "$kubelet" ]]; then
  echo "kubelet.sh: skipped: give the path of a kubelet binary (built outside this project)" >&2
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$@"; fi
[[ -x "$kubelet" ]] || { echo "kubelet.sh: $kubelet is not an executable file" >&2; exit 2; }
kubelet=$(readlink -f "$kubelet")

hack/install-deps.sh --test >/dev/null
[[ -d node_modules ]] || hack/npm-install.sh
npm run build --silent >/dev/null
exec npx vite-node hack/lab/with-skiff.ts -- npx vite-node hack/lab/kubelet-scenario.ts -- "$kubelet"
