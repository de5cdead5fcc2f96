#!/usr/bin/env bash
# ansible-test insists on running from ansible_collections/<ns>/<name>, and
# on a real directory, not a symlink: copy the tracked files there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
activate_venv

# ansible-test bootstraps pip in its virtualenvs with a script it downloads
# from a host that is not reachable here; give it one that works offline.
pip_version=$(python - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$HALB_ROOT/scripts/ansible_test/get_pip_offline.py" "$cache"

tree="$HALB_STATE_DIR/sanity/ansible_collections/halb/loadbalancer"
rm -rf "$tree"
mkdir -p "$tree"
cd "$HALB_ROOT"
# Only collection content: the lab tooling, scripts and Molecule harness are
# not shipped (galaxy.yml build_ignore) and are linted by ruff instead.
git ls-files -z --cached --others --exclude-standard |
  grep -zvE '^(lab|scripts|extensions|benchmarks|tests/integration|\.ci)/' |
  xargs -0 cp --parents -t "$tree"/
cd "$tree"
# ansible-test lists files with git; a repository of its own keeps it from
# asking the checkout around it, where .state/ is ignored.
git init -q . && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity
# --venv: ansible-test installs each test's pinned tools into its own
# virtualenv (from PyPI); no test container is pulled.
ansible-test sanity --venv --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"
