#!/usr/bin/env bash
# Run Molecule scenarios one after another (they share one Docker engine).
# Each scenario's output is kept in .state/molecule-<scenario>.log; when one
# fails, its failed tests and their messages are printed again at the very
# end, since a CI excerpt shows only the last lines and Molecule's destroy
# step comes after the verifier's summary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
activate_venv
cd "$HALB_ROOT/extensions"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(haproxy nginx allactive)
for scenario in "${scenarios[@]}"; do
  log "molecule test -s $scenario"
  output="$HALB_STATE_DIR/molecule-$scenario.log"
  if ! molecule test -s "$scenario" 2>&1 | tee "$output"; then
    log "molecule $scenario failed; its failed tests (full output: $output):"
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$output")
    grep -aE "^[^a-zA-Z]*E  " <<<"$plain" | tail -n 20 >&2 || true
    grep -aE "(FAILED|ERROR) tests/" <<<"$plain" | tail -n 10 >&2 || true
    exit 1
  fi
done
