#!/usr/bin/env bash
# Run Molecule scenarios one after another (they share one Docker engine).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
activate_venv
cd "$HALB_ROOT/extensions"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(haproxy nginx)
for scenario in "${scenarios[@]}"; do
  log "molecule test -s $scenario"
  molecule test -s "$scenario"
done
