#!/usr/bin/env bash
# Give running containers a real-time CPU budget, so that keepalived's VRRP
# process (keepalived_realtime_priority) can run at real-time priority in
# them.
#   scripts/docker_rt_budget.sh CONTAINER...
# Only needed on a cgroup v1 host whose kernel has real-time group
# scheduling (this kind of machine): there a cgroup gets no real-time time
# at all until it is given some, and Docker gives none. On cgroup v2, or
# without real-time group scheduling, it does nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

per_container=50000  # 50 ms of each second: VRRP needs a few
parent_budget=500000 # room for ten containers

[ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ] || exit 0
for container in "$@"; do
  # Kept in the container's settings, Docker applies it at every later
  # start: a container killed and started again keeps its budget. It does
  # not apply it to the running container, so that is written below.
  docker update --cpu-rt-runtime "$per_container" "$container" >/dev/null ||
    die "cannot give $container a real-time budget"
  pid=$(docker inspect --format '{{.State.Pid}}' "$container")
  group=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3 }' "/proc/$pid/cgroup")
  dir=/sys/fs/cgroup/cpu$group
  # A parent's budget must cover its children's, so it goes first.
  if [ "$(cat "$(dirname "$dir")/cpu.rt_runtime_us")" -lt "$parent_budget" ]; then
    echo "$parent_budget" >"$(dirname "$dir")/cpu.rt_runtime_us"
  fi
  echo "$per_container" >"$dir/cpu.rt_runtime_us" || die "cannot give $container a real-time budget"
done
