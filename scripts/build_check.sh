#!/usr/bin/env bash
# The collection as users get it: build the tarball, install it into an
# empty collections path, and check that its roles, plugins and playbooks
# resolve from there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
activate_venv
cd "$HALB_ROOT"

out="$HALB_STATE_DIR/build"
rm -rf "$out"
mkdir -p "$out/dist" "$out/installed"
ansible-galaxy collection build --force --output-path "$out/dist" >/dev/null
tarball=$(ls "$out"/dist/halb-loadbalancer-*.tar.gz)
ansible-galaxy collection install --offline --force -p "$out/installed" "$tarball" >"$out/install.log" 2>&1 ||
  { cat "$out/install.log" >&2; die "the built collection does not install"; }
log "built and installed $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"

export ANSIBLE_COLLECTIONS_PATH="$out/installed"
# Everything the installed collection ships, found by glob: a new role,
# module or filter is checked without editing this list.
shipped="$out/installed/ansible_collections/halb/loadbalancer"
for role in "$shipped"/roles/*/; do
  ansible-doc -t role "halb.loadbalancer.$(basename "$role")" >/dev/null
done
for module in "$shipped"/plugins/modules/*.py; do
  ansible-doc "halb.loadbalancer.$(basename "$module" .py)" >/dev/null
done
for filter in "$shipped"/plugins/filter/*.yml; do
  ansible-doc -t filter "halb.loadbalancer.$(basename "$filter" .yml)" >/dev/null
done
ansible-playbook -i inventories/example --syntax-check halb.loadbalancer.site >/dev/null
log "installed collection: roles, modules, filters and playbooks resolve and document"

# What Galaxy checks on upload: role READMEs, documentation, ansible-lint.
# A home of its own, emptied each run: its ansible-lint installs the
# collection under ~/.ansible/collections and prefers a copy found there,
# so a copy left by an earlier run would be linted instead of this tarball.
importer_rc=0
mkdir -p "$out/importer-home"
HOME="$out/importer-home" GALAXY_IMPORTER_CONFIG="$HALB_ROOT/.config/galaxy-importer.cfg" \
  "$HALB_STATE_DIR/galaxy-importer/bin/python" -m galaxy_importer.main "$tarball" \
  >"$out/galaxy-importer.log" 2>&1 || importer_rc=$?
if [ "$importer_rc" -ne 0 ] || ! grep -q "^Importer processing completed successfully" "$out/galaxy-importer.log"; then
  grep -v "^Loading " "$out/galaxy-importer.log" | tail -30 >&2
  die "galaxy-importer refused the tarball (exit $importer_rc)"
fi
warnings=$(grep -c "WARNING" "$out/galaxy-importer.log" || true)
[ "$warnings" -eq 0 ] || { grep "WARNING" "$out/galaxy-importer.log" >&2; die "galaxy-importer: $warnings warning(s)"; }
log "galaxy-importer: the tarball imports with no error and no warning"
