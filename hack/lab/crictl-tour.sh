#!/usr/bin/env bash
# Every crictl command a node operator uses, against skiff, each with a check
# of what it printed. Run inside hack/lab/with-skiff.ts (it sets SKIFF_SOCKET,
# LAB_AUTH_REGISTRY, LAB_AUTH_CREDS). Prints one line per check, then a total.
#   crictl-tour.sh /path/to/crictl
set -uo pipefail
crictl_bin=$1
: "${SKIFF_SOCKET:?run inside with-skiff.ts}"
work=$(mktemp -d /tmp/skiff-crictl-XXXXXX)
trap 'rm -rf "$work"' EXIT
crictl() { "$crictl_bin" --runtime-endpoint "unix://$SKIFF_SOCKET" --image-endpoint "unix://$SKIFF_SOCKET" --timeout 60s "$@"; }

passed=0
failed=0
# check NAME COMMAND...: the command must succeed; its output is kept in $out.
check() {
  local name=$1
  shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
  fi
}
has() { grep -q -- "$1" <<<"$out"; }
lacks() { ! grep -q -- "$1" <<<"$out"; }

BUSYBOX=registry.k8s.io/e2e-test-images/busybox:1.29-2
NGINX=registry.k8s.io/e2e-test-images/nginx:1.14-2
PRIVATE=$LAB_AUTH_REGISTRY/private/busybox:1

check "version" crictl version
has "RuntimeName:  skiff" && has "RuntimeApiVersion:  v1" && check "version names skiff and API v1" true || check "version names skiff and API v1" false
check "info" crictl info
has '"RuntimeReady"' && [[ $(grep -c '"status": true' <<<"$out") -ge 2 ]] && check "info: runtime and network ready" true || check "info: runtime and network ready" false

# Images
check "pull" crictl pull "$BUSYBOX"
check "pull (nginx)" crictl pull "$NGINX"
check "pull --creds" crictl pull --creds "$LAB_AUTH_CREDS" "$PRIVATE"
crictl rmi "$PRIVATE" >/dev/null 2>&1
check "pull --auth" crictl pull --auth "$(printf %s "$LAB_AUTH_CREDS" | base64 -w0)" "$PRIVATE"
crictl rmi "$PRIVATE" >/dev/null 2>&1
if crictl pull "$PRIVATE" >/dev/null 2>&1; then check "pull without credentials is refused" false; else check "pull without credentials is refused" true; fi
check "images" crictl images
has "e2e-test-images/busybox" && has "1.29-2" || check "images lists the busybox tag" false
check "images -q" crictl images -q
[[ $(grep -c '^sha256:' <<<"$out") -ge 2 ]] && check "images -q prints ids" true || check "images -q prints ids" false
check "images --digests" crictl images --digests
grep -E "e2e-test-images/busybox +1.29-2 +[0-9a-f]{13} " <<<"$out" >/dev/null && check "images --digests shows the repo digest" true || check "images --digests shows the repo digest" false
check "inspecti" crictl inspecti "$BUSYBOX"
has '"repoTags"' && check "inspecti shows repoTags" true || check "inspecti shows repoTags" false
check "imagefsinfo" crictl imagefsinfo
has '"usedBytes"' && check "imagefsinfo shows usage" true || check "imagefsinfo shows usage" false

# Pods
cat >"$work/pod.json" <<EOF
{"metadata":{"name":"tour","namespace":"crictl","uid":"tour-uid","attempt":0},"log_directory":"$work/logs","labels":{"tour":"yes"},"port_mappings":[{"container_port":80,"host_port":0}],"linux":{}}
EOF
cat >"$work/sleeper.json" <<EOF
{"metadata":{"name":"sleeper"},"image":{"image":"$BUSYBOX"},"command":["sh","-c","i=0; while true; do echo line \$i; i=\$((i+1)); sleep 0.5; done"],"log_path":"sleeper/0.log","labels":{"role":"sleeper"}}
EOF
sed -e 's/"tour"/"tour-run"/' -e 's/tour-uid/tour-run-uid/' "$work/pod.json" >"$work/pod-run.json"
cat >"$work/web.json" <<EOF
{"metadata":{"name":"web"},"image":{"image":"$NGINX"},"log_path":"web.log"}
EOF
cat >"$work/tty.json" <<EOF
{"metadata":{"name":"tty"},"image":{"image":"$BUSYBOX"},"command":["sh"],"stdin":true,"tty":true,"log_path":"tty.log"}
EOF
check "runp" crictl runp "$work/pod.json"
pod=$out
check "pods" crictl pods
has "tour" && has "Ready" && check "pods shows the pod Ready" true || check "pods shows the pod Ready" false
check "pods --name" crictl pods --name tour -q
[[ "$out" == "$pod" ]] && check "pods --name finds it" true || check "pods --name finds it" false
check "pods --label" crictl pods --label tour=yes -q
[[ "$out" == "$pod" ]] && check "pods --label finds it" true || check "pods --label finds it" false
check "pods --label (no match)" crictl pods --label tour=no -q
[[ -z "$out" ]] && check "pods --label excludes others" true || check "pods --label excludes others" false
check "pods --state ready" crictl pods --state ready -q
check "inspectp" crictl inspectp "$pod"
has '"SANDBOX_READY"' && has '"ip"' && check "inspectp shows state and IP" true || check "inspectp shows state and IP" false
check "inspectp (short id)" crictl inspectp "${pod:0:12}"

# Containers
check "create" crictl create "$pod" "$work/sleeper.json" "$work/pod.json"
sleeper=$out
check "ps -a shows it created" crictl ps -a --id "$sleeper"
has "Created" && check "ps -a: Created" true || check "ps -a: Created" false
check "start" crictl start "$sleeper"
check "create + start (nginx)" sh -c "id=\$($crictl_bin --runtime-endpoint unix://$SKIFF_SOCKET create $pod $work/web.json $work/pod.json) && $crictl_bin --runtime-endpoint unix://$SKIFF_SOCKET start \$id >/dev/null && echo \$id"
web=$out
sed -e 's/"sleeper"/"runner"/' -e 's#sleeper/0.log#runner/0.log#' -e 's/"role":"sleeper"/"role":"runner"/' "$work/sleeper.json" >"$work/runner.json"
check "run (a pod and its container in one go)" crictl run "$work/runner.json" "$work/pod-run.json"
runc_id=$out
check "ps --id after run" crictl ps -q --id "$runc_id"
[[ "$out" == "$runc_id" ]] && check "run's container is running" true || check "run's container is running" false
check "ps" crictl ps
has "sleeper" && has "web" && has "Running" && check "ps lists both running" true || check "ps lists both running" false
check "ps --name" crictl ps -q --name sleeper
[[ "$out" == "$sleeper" ]] && check "ps --name finds it" true || check "ps --name finds it" false
check "ps --label" crictl ps -q --label role=sleeper
[[ "$out" == "$sleeper" ]] && check "ps --label finds it" true || check "ps --label finds it" false
check "ps --pod" crictl ps -q --pod "$pod"
[[ $(wc -l <<<"$out") -eq 2 ]] && check "ps --pod finds both" true || check "ps --pod finds both" false
check "ps --state running" crictl ps -q --state running
check "inspect" crictl inspect "$sleeper"
has '"CONTAINER_RUNNING"' && has '"pid"' && check "inspect shows state and pid" true || check "inspect shows state and pid" false
check "inspect -o go-template" crictl inspect -o go-template --template '{{.info.pid}}' "$sleeper"
[[ "$out" =~ ^[0-9]+$ && "$out" -gt 0 ]] && check "inspect's .info.pid is a pid" true || check "inspect's .info.pid is a pid" false

# Logs
sleep 2
check "logs" crictl logs "$sleeper"
has "line 0" && check "logs has the first line" true || check "logs has the first line" false
check "logs --tail" crictl logs --tail 2 "$sleeper"
[[ $(wc -l <<<"$out") -eq 2 ]] && check "logs --tail 2 gives 2 lines" true || check "logs --tail 2 gives 2 lines" false
check "logs --timestamps" crictl logs --tail 1 --timestamps "$sleeper"
[[ "$out" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] && check "logs --timestamps prefixes a time" true || check "logs --timestamps prefixes a time" false
check "logs --since" crictl logs --since 1s "$sleeper"
# crictl counts --since in whole seconds: up to ~2 s of lines, two a second.
[[ $(wc -l <<<"$out") -le 6 ]] && lacks "line 0$" && check "logs --since 1s gives only recent lines" true || check "logs --since 1s gives only recent lines: $(wc -l <<<"$out") lines" false
out=$(timeout 3 "$crictl_bin" --runtime-endpoint "unix://$SKIFF_SOCKET" logs -f "$sleeper" 2>&1)
n1=$(grep -c line <<<"$out")
[[ $n1 -ge 5 ]] && check "logs -f keeps following" true || check "logs -f keeps following ($n1 lines)" false

# Exec, attach, port-forward
check "exec" crictl exec "$sleeper" echo exec-ok
[[ "$out" == "exec-ok" ]] && check "exec output" true || check "exec output" false
check "exec -s" crictl exec -s "$sleeper" sh -c "echo sync-ok"
[[ "$out" == "sync-ok" ]] && check "exec -s output" true || check "exec -s output" false
if out=$(crictl exec -s --timeout 1 "$sleeper" sleep 31 2>&1); then check "exec -s --timeout times out" false; else check "exec -s --timeout times out" true; fi
check "exec -s after a timeout" crictl exec -s "$sleeper" sh -c "pgrep -f '^sleep 31\$' || true"
[[ -z "$out" ]] && check "the timed-out command is gone" true || check "the timed-out command is gone: $out" false
check "exec -i" sh -c "echo piped-in | $crictl_bin --runtime-endpoint unix://$SKIFF_SOCKET exec -i $sleeper cat"
[[ "$out" == "piped-in" ]] && check "exec -i passes stdin" true || check "exec -i passes stdin" false
# crictl 1.28 exits 1 for any non-zero ExecSync exit code (the code itself is not passed on).
if crictl exec -s "$sleeper" sh -c "exit 7" >/dev/null 2>&1; then check "exec -s fails for a non-zero exit" false; else check "exec -s fails for a non-zero exit" true; fi
out=$(crictl exec "$sleeper" sh -c "exit 7" 2>&1)
has "exit code 7" && check "exec reports the exit code" true || check "exec reports the exit code: $out" false
check "exec -it (in a pty)" script -qec "$crictl_bin --runtime-endpoint unix://$SKIFF_SOCKET exec -it $sleeper tty" /dev/null
has "/dev/pts/" && check "exec -t has a terminal" true || check "exec -t has a terminal" false
out=$(timeout 3 "$crictl_bin" --runtime-endpoint "unix://$SKIFF_SOCKET" attach "$sleeper" 2>&1)
grep -q "line" <<<"$out" && check "attach streams output" true || check "attach streams output: $out" false
check "create + start a tty container" sh -c "id=\$($crictl_bin --runtime-endpoint unix://$SKIFF_SOCKET create $pod $work/tty.json $work/pod.json) && $crictl_bin --runtime-endpoint unix://$SKIFF_SOCKET start \$id && echo \$id"
tty=$(tail -n1 <<<"$out")
out=$( (sleep 1; echo "echo attached-\$((6*7))"; sleep 1) | script -qec "$crictl_bin --runtime-endpoint unix://$SKIFF_SOCKET attach -it $tty" /dev/null 2>&1)
has "attached-42" && check "attach -i to a tty container" true || check "attach -i to a tty container: $(tr -d '\r' <<<"$out" | tail -n2 | tr '\n' ' ')" false
port=$((20000 + RANDOM % 20000))
"$crictl_bin" --runtime-endpoint "unix://$SKIFF_SOCKET" port-forward "$pod" "$port:80" >"$work/pf.log" 2>&1 &
pf=$!
for _ in $(seq 1 50); do grep -q Forwarding "$work/pf.log" && break; sleep 0.1; done
out=$(curl -s -m 5 "http://127.0.0.1:$port/" 2>&1)
kill "$pf" 2>/dev/null
wait "$pf" 2>/dev/null
has "Welcome to nginx" && check "port-forward reaches nginx" true || check "port-forward reaches nginx: $out" false

# Stats and update
check "stats" crictl stats
has "sleeper" && check "stats lists the container" true || check "stats lists the container" false
check "stats -a" crictl stats -a
check "stats --id -o json" crictl stats -o json --id "$sleeper"
has '"workingSetBytes"' && check "stats json has memory" true || check "stats json has memory" false
out=$(timeout 4 "$crictl_bin" --runtime-endpoint "unix://$SKIFF_SOCKET" stats --watch --id "$sleeper" 2>&1)
[[ $(grep -c "sleeper\|${sleeper:0:13}" <<<"$out") -ge 2 ]] && check "stats --watch repeats" true || check "stats --watch repeats" false
check "statsp" crictl statsp
has "tour" && check "statsp lists the pod" true || check "statsp lists the pod" false
check "statsp -o json" crictl statsp -o json --id "$pod"
has '"network"' && check "statsp json has the network" true || check "statsp json has the network" false
check "metricsp" crictl metricsp
check "update" crictl update --memory 67108864 --cpu-quota 20000 "$sleeper"
check "read the cgroup" crictl exec -s "$sleeper" sh -c "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"
[[ "$out" == "67108864" ]] && check "update set the memory limit" true || check "update set the memory limit (got $out)" false
check "runtime-config" crictl runtime-config
has "cgroupfs\|CgroupDriver\|cgroup" && check "runtime-config names the cgroup driver" true || check "runtime-config names the cgroup driver" false

# Stop, previous logs, removal
check "stop" crictl stop --timeout 2 "$sleeper"
check "ps -a shows it exited" crictl ps -a --id "$sleeper"
has "Exited" && check "ps -a: Exited" true || check "ps -a: Exited" false
sed -e 's/"sleeper"}/"sleeper","attempt":1}/' -e 's#sleeper/0.log#sleeper/1.log#' "$work/sleeper.json" >"$work/sleeper1.json"
check "a second attempt" crictl create "$pod" "$work/sleeper1.json" "$work/pod.json"
second=$out
sleep 1
check "logs --previous" crictl logs --previous "$second"
has "line 0" && check "logs --previous reads the earlier attempt" true || check "logs --previous reads the earlier attempt" false
check "rm of an exited container" crictl rm "$sleeper"
check "rm -f of a running one" crictl rm -f "$web"
check "ps -a no longer shows them" crictl ps -a -q
lacks "$sleeper" && lacks "$web" && check "removed containers are gone" true || check "removed containers are gone" false
check "stopp" crictl stopp "$pod"
check "pods shows it NotReady" crictl pods --id "$pod"
has "NotReady" && check "pods: NotReady" true || check "pods: NotReady" false
check "rmp" crictl rmp "$pod"
check "rmp -f of the pod made by run" crictl rmp -f "$(crictl pods -q --name tour-run)"
check "pods -q" crictl pods -q
[[ -z "$out" ]] && check "no pods left" true || check "no pods left" false
check "rmi" crictl rmi "$NGINX"
check "rmi --prune" crictl rmi --prune
check "images after prune" crictl images -q
[[ -z "$out" ]] && check "prune removed unused images" true || check "prune removed unused images: $out" false

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
