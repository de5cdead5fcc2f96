#!/usr/bin/env bash
# The built-in lab, end to end (README command 1):
#   up      set everything up and start the lab containers
#   deploy  run playbooks/site.yml against inventories/lab
#   demo    requests through the VIP, then kill the MASTER and measure
#   drill   the failover drill playbook against the lab (extra arguments
#           go to ansible-playbook, e.g. -e failover_drill_fault=keepalived_kill)
#   kills   hard-kill the MASTER container 10 times, report the spread
#   bench   the strategies benchmark (round robin, least connections,
#           fastest response x both engines, one backend slowed)
#   dataplane  the data-plane benchmark (our configs against the brief's
#           nginx example, plain configs and a direct backend)
#   control the control-plane benchmark (cold converge and re-runs of the
#           lab and a wider lab, a rolling upgrade, a render of 1,000 servers)
#   down    remove the lab containers and network
#   all     setup + up + deploy + demo (the default)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

inventory=${HALB_LAB_INVENTORY:-$HALB_ROOT/inventories/lab}

up() {
  bash "$HALB_ROOT/scripts/setup.sh"
  activate_venv
  cd "$HALB_ROOT"
  ansible-playbook -i "$inventory" lab/up.yml
}

deploy() {
  activate_venv
  cd "$HALB_ROOT"
  ansible-playbook -i "$inventory" playbooks/site.yml
}

demo() {
  activate_venv
  cd "$HALB_ROOT"
  python lab/demo.py --inventory "$inventory"
}

kills() {
  activate_venv
  cd "$HALB_ROOT"
  python lab/kill_drills.py --inventory "$inventory" "$@"
}

drill() {
  activate_venv
  cd "$HALB_ROOT"
  ansible-playbook -i "$inventory" playbooks/failover_drill.yml -e failover_drill_report_dir="$HALB_STATE_DIR/drill" "$@"
}

bench() {
  up
  activate_venv
  cd "$HALB_ROOT"
  python benchmarks/strategies.py "$@"
}

dataplane() {
  up
  activate_venv
  cd "$HALB_ROOT"
  python benchmarks/dataplane.py "$@"
}

control() {
  bash "$HALB_ROOT/scripts/setup.sh"
  activate_venv
  cd "$HALB_ROOT"
  python benchmarks/control_plane.py "$@"
}

down() {
  activate_venv
  cd "$HALB_ROOT"
  ansible-playbook -i "$inventory" lab/down.yml
}

case "${1:-all}" in
  up) up ;;
  deploy) deploy ;;
  demo) demo ;;
  drill) shift; drill "$@" ;;
  kills) shift; kills "$@" ;;
  bench) shift; bench "$@" ;;
  dataplane) shift; dataplane "$@" ;;
  control) shift; control "$@" ;;
  down) down ;;
  all) up && deploy && demo ;;
  *) die "usage: $0 [all|up|deploy|demo|drill|kills|bench|dataplane|control|down]" ;;
esac
