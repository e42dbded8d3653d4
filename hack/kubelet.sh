#!/usr/bin/env bash
# Runs an unmodified kubelet (1.26 or newer, a binary you built yourself) in
# standalone mode on a skiff daemon built from this checkout, through the
# scenario of hack/lab/kubelet-scenario.ts: static pods with probes, ports and
# limits, CrashLoopBackOff, logs/exec/port-forward through the kubelet's API,
# /stats/summary, a kubelet restart, and removal when the manifests go.
#   sudo hack/kubelet.sh /path/to/kubelet
# The kubelet changes vm.overcommit_memory, kernel.panic and kernel.panic_on_oops,
# and adds KUBE-* iptables chains; the scenario puts the sysctls back and removes
# the chains it made. Skips when no binary is given.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lab/prepare.sh
lab_prepare "kubelet" "${1:-}" "$@"
exec npx vite-node hack/lab/with-skiff.ts -- npx vite-node hack/lab/kubelet-scenario.ts -- "$lab_binary"
