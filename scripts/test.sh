#!/usr/bin/env bash
# All tests and gates (README command 2; .ci/run runs exactly this).
# Fast gates first, so a lint error fails in seconds, not after Molecule.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bash "$HALB_ROOT/scripts/setup.sh"
activate_venv
cd "$HALB_ROOT"

log "yamllint"
yamllint --strict .

log "ruff"
ruff check .
ruff format --check .

log "ansible-lint (production profile)"
# The Molecule platforms share their settings through YAML merge keys
# (<<: *lb), which Ansible's loader reports as duplicate keys. yamllint,
# above, already rejects real duplicate keys.
ANSIBLE_DUPLICATE_YAML_DICT_KEY=ignore ansible-lint --profile production

log "ansible-test sanity"
bash "$HALB_ROOT/scripts/sanity.sh"

log "collection build: the tarball installs and its content resolves"
bash "$HALB_ROOT/scripts/build_check.sh"

log "docs: antsibull-docs lint, docs/reference/ current, changelog fragments"
bash "$HALB_ROOT/scripts/docs.sh" --check
antsibull-changelog lint

log "pytest: unit and pre-flight tests"
python -m pytest -q tests/unit tests/integration

log "molecule: failover scenarios (haproxy on Debian 12, nginx on Debian 13, three active-active nodes on Debian 13), one after the other"
bash "$HALB_ROOT/scripts/molecule.sh" haproxy nginx allactive

log "all tests and gates passed"
