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
for role in haproxy keepalived demo_backend; do
  ansible-doc -t role "halb.loadbalancer.$role" >/dev/null
done
for module in lb_config backend_verify haproxy_server; do
  ansible-doc "halb.loadbalancer.$module" >/dev/null
done
for filter in backend_pool_errors keepalived_vip_errors keepalived_vrrp_errors keepalived_priority_errors lb_spec_errors; do
  ansible-doc -t filter "halb.loadbalancer.$filter" >/dev/null
done
ansible-playbook -i inventories/example --syntax-check halb.loadbalancer.site >/dev/null
log "installed collection: roles, modules, filters and playbooks resolve and document"
