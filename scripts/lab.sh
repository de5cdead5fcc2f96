#!/usr/bin/env bash
# The built-in lab, end to end (README command 1):
#   up      set everything up and start the lab containers
#   deploy  run playbooks/site.yml against inventories/lab
#   demo    requests through the VIP, then kill the MASTER and measure
#   bench   the strategies benchmark (round robin, least connections,
#           fastest response x both engines, one backend slowed)
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

bench() {
  up
  activate_venv
  cd "$HALB_ROOT"
  python benchmarks/strategies.py "$@"
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
  bench) shift; bench "$@" ;;
  down) down ;;
  all) up && deploy && demo ;;
  *) die "usage: $0 [all|up|deploy|demo|bench|down]" ;;
esac
