# Sourced by hack/critest.sh, crictl-tour.sh and kubelet.sh: the common start
# of a run against a real client binary built outside this project.
#   lab_prepare WHAT BINARY ARGS...   (ARGS: the script's own, for the re-run as root)
# Skips (exit 0) with a message when no binary is given; re-runs the script as
# root; checks the binary; installs what the lab needs and builds skiff. Sets
# $lab_binary to the binary's absolute path.
lab_prepare() {
  local what=$1 binary=$2
  shift 2
  if [[ -z "$binary" ]]; then
    echo "$(basename "$0"): skipped: give the path of a $what binary (built outside this project)" >&2
    exit 0
  fi
  if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$@"; fi
  [[ -x "$binary" ]] || { echo "$(basename "$0"): $binary is not an executable file" >&2; exit 2; }
  lab_binary=$(readlink -f "$binary")
  hack/install-deps.sh --test >/dev/null
  [[ -d node_modules ]] || hack/npm-install.sh
  npm run build --silent >/dev/null
}
