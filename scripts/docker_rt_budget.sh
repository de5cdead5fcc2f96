#!/usr/bin/env bash
# Give containers a real-time CPU budget, so that keepalived's VRRP process
# (keepalived_realtime_priority) can run at real-time priority inside them.
#   scripts/docker_rt_budget.sh CONTAINER...
# Only needed on a cgroup v1 host whose kernel has real-time group
# scheduling (this kind of machine): there a cgroup gets no real-time time
# at all until it is given some, and Docker gives none. On cgroup v2, or
# without real-time group scheduling, it does nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

parent=/sys/fs/cgroup/cpu/docker
per_container=50000   # 50 ms of each second: VRRP needs a few
parent_budget=500000  # room for ten containers

[ -w "$parent/cpu.rt_runtime_us" ] || exit 0
# A parent's budget must cover its children's, so it goes first.
if [ "$(cat "$parent/cpu.rt_runtime_us")" -lt "$parent_budget" ]; then
  echo "$parent_budget" >"$parent/cpu.rt_runtime_us"
fi
# Docker keeps it in the container's settings and applies it at every
# start: a container killed and started again keeps its budget.
for container in "$@"; do
  docker update --cpu-rt-runtime "$per_container" "$container" >/dev/null ||
    die "cannot give $container a real-time budget"
done
