#!/usr/bin/env bash
# Everything the lab and the tests need, installed by the project itself:
# Debian packages, a running Docker engine, the Python virtualenv, the lab
# image and the collection link. Idempotent: a second run only checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_debs python3-venv debootstrap wrk curl git
ensure_engine_binaries
ensure_docker
ensure_venv
ensure_sslyze
ensure_galaxy_importer
ensure_docs_venv
ensure_collection_link
bash "$HALB_ROOT/scripts/lab_image.sh"
log "setup complete"
