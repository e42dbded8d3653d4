#!/usr/bin/env bash
# Installs, with apt, the real components skiff drives, and checks that each
# binary runs. Idempotent: packages already installed are left alone.
#   hack/install-deps.sh          what the daemon needs
#   hack/install-deps.sh --test   plus what the test suite needs (registry, busybox)
#   hack/install-deps.sh --bench  plus containerd, the baseline of the benchmarks
set -euo pipefail

# g++, make and python3 build the N-API addon (node-gyp). criu serves
# CheckpointContainer where it works with the kernel (Debian 12's 3.17 does not
# on Linux 6.13+; skiff then says so, and checkpoint.criu can name a newer one).
runtime_pkgs=(runc crun conmon containernetworking-plugins iptables catatonit util-linux iproute2 ca-certificates attr zstd criu g++ make python3)
test_pkgs=(docker-registry busybox-static openssl)

mode=${1:-}
pkgs=("${runtime_pkgs[@]}")
[[ "$mode" == "--test" || "$mode" == "--bench" ]] && pkgs+=("${test_pkgs[@]}")
[[ "$mode" == "--bench" ]] && pkgs+=(containerd)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm libnode-dev)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  # No services are wanted from these packages (docker-registry ships one):
  # tests start their own registry on a free loopback port.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

check() {
  local what=$1; shift
  if ! out=$("$@" 2>&1); then
    echo "install-deps: $what does not work: $*: $out" >&2
    exit 1
  fi
}
check runc runc --version
check crun crun --version
check conmon conmon --version
check iptables iptables --version
check catatonit catatonit --version
check getfattr getfattr --version
check zstd zstd --version
for plugin in bridge host-local loopback portmap; do
  [[ -x /usr/lib/cni/$plugin ]] || { echo "install-deps: CNI plugin /usr/lib/cni/$plugin is missing" >&2; exit 1; }
done
if [[ "$mode" == "--bench" ]]; then
  check containerd containerd --version
fi
if [[ "$mode" == "--test" || "$mode" == "--bench" ]]; then
  check docker-registry docker-registry --version
  check busybox-static /bin/busybox true
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  echo "install-deps: Node.js $(node --version) is too old; skiff needs Node.js 20 or newer" >&2
  exit 1
fi
echo "install-deps: ok"
