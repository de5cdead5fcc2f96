# Shared helpers for the project's scripts; sourced, never run.
# shellcheck shell=bash

HALB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HALB_STATE_DIR=${HALB_STATE_DIR:-$HALB_ROOT/.state}
HALB_VENV=${HALB_VENV:-$HALB_ROOT/.venv}
mkdir -p "$HALB_STATE_DIR"
export HALB_ROOT HALB_STATE_DIR HALB_VENV

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# The Debian mirror this machine's apt already uses (it is the one that is
# reachable here); deb.debian.org when none is configured.
debian_mirror() {
  local uri
  uri=$(grep -hsoE '^(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list |
    grep -oE 'https?://[^[:space:]]+' | head -n1)
  echo "${uri:-http://deb.debian.org/debian}"
}

need_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 needs root. Install it yourself ($2) or rerun as root."
}

# Install Debian packages that are missing; a no-op when all are there.
ensure_debs() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "installing ${missing[*]}" "apt-get install ${missing[*]}"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq >"$HALB_STATE_DIR/apt.log" 2>&1 || { cat "$HALB_STATE_DIR/apt.log" >&2; die "apt-get update failed"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >>"$HALB_STATE_DIR/apt.log" 2>&1 || { tail -30 "$HALB_STATE_DIR/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

# haproxy and nginx (with the Lua module fastest_response needs) for the
# renderer tests (`haproxy -c`, `nginx -t` on rendered files), and the Lua
# each runs (OpenResty's LuaJIT in nginx: luajit2, as the Lua module needs;
# Lua 5.3 in HAProxy) for the balancer tests.
# The services must not start on this machine: a policy-rc.d that says "no"
# holds while the packages install.
ensure_engine_binaries() {
  local missing=() pkg
  for pkg in haproxy nginx libnginx-mod-stream libnginx-mod-http-lua luajit2 lua5.3; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "installing ${missing[*]}" "apt-get install ${missing[*]}"
  local guard=/usr/sbin/policy-rc.d own_guard=0
  if [ ! -e "$guard" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard" && own_guard=1
  fi
  ensure_debs "${missing[@]}"
  [ "$own_guard" -eq 1 ] && rm -f "$guard"
  return 0
}

# A Docker engine that answers. Debian's docker.io brings dockerd; start it
# in the background when nothing runs it (no systemd on this kind of machine).
ensure_docker() {
  docker info >/dev/null 2>&1 && return 0
  ensure_debs docker.io
  if ! command -v docker >/dev/null 2>&1; then die "no docker client found after installing docker.io"; fi
  docker info >/dev/null 2>&1 && return 0
  need_root "starting dockerd" "start the Docker engine"
  log "starting dockerd (log: $HALB_STATE_DIR/dockerd.log)"
  nohup /usr/sbin/dockerd >"$HALB_STATE_DIR/dockerd.log" 2>&1 &
  echo $! >"$HALB_STATE_DIR/dockerd.pid"
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  tail -20 "$HALB_STATE_DIR/dockerd.log" >&2
  die "dockerd did not answer within 30 s"
}

# A virtualenv at $1 holding requirements file $2, rebuilt only when that
# file changes; $3 is a program it must have (bin/$3).
ensure_requirements_venv() {
  local venv=$1 requirements=$2 program=$3 stamp want pip_log
  stamp="$venv/.requirements.sha256"
  pip_log="$HALB_STATE_DIR/pip-$(basename "$venv").log"
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -x "$venv/bin/$program" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "creating virtualenv $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" \
    >"$pip_log" 2>&1 || { tail -30 "$pip_log" >&2; die "pip install -r $requirements failed"; }
  echo "$want" >"$stamp"
}

# The project's virtualenv.
ensure_venv() {
  ensure_requirements_venv "$HALB_VENV" "$HALB_ROOT/requirements.txt" python
}

# sslyze, the TLS scanner the Molecule security tests run against the VIP,
# in a virtualenv of its own: it pins a cryptography older than Ansible's.
ensure_sslyze() {
  ensure_requirements_venv "$HALB_STATE_DIR/sslyze" "$HALB_ROOT/requirements-sslyze.txt" sslyze
}

# galaxy-importer, the checks Galaxy runs on an uploaded collection; it
# brings its own ansible-core and ansible-lint.
ensure_galaxy_importer() {
  ensure_requirements_venv "$HALB_STATE_DIR/galaxy-importer" "$HALB_ROOT/requirements-galaxy-importer.txt" python
}

# antsibull-docs, which generates docs/reference/ (scripts/docs.sh); it brings
# Sphinx and an older docutils than the project's virtualenv has.
ensure_docs_venv() {
  ensure_requirements_venv "$HALB_STATE_DIR/docs" "$HALB_ROOT/requirements-docs.txt" antsibull-docs
}

# Make `halb.loadbalancer` resolvable from this checkout without installing
# it: a collections tree whose halb/loadbalancer entry points at the repo.
ensure_collection_link() {
  local ns="$HALB_STATE_DIR/collections/ansible_collections/halb"
  mkdir -p "$ns"
  ln -sfn "$HALB_ROOT" "$ns/loadbalancer"
}

activate_venv() {
  # shellcheck disable=SC1091
  . "$HALB_VENV/bin/activate"
  export ANSIBLE_COLLECTIONS_PATH="$HALB_STATE_DIR/collections"
}
