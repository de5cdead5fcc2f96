"""The load_progress lookup as a playbook calls it: through Ansible, with
this checkout's collection (ansible.cfg's collections_path)."""

import json
import os
import subprocess
import sys

from ansible_collections.halb.loadbalancer.plugins.module_utils import load_client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def _lookup(expression):
    """What `ansible localhost -m debug` prints for msg={{ expression }}, as JSON."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    out = subprocess.run(
        [ansible, "localhost", "-m", "ansible.builtin.debug", "-a", "msg={{ %s }}" % expression],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]


def test_the_lookup_reads_the_file_with_its_options_and_formats_the_line(tmp_path):
    path = str(tmp_path / "progress.json")
    load_client.write_json(path, {"tick": 5, "elapsed_s": 5.0, "seconds": 20, "requests": 2000, "failures": 2,
                                  "rps": 400.0, "p99_ms": 3.25, "done": False, "updated_at": 0})  # fmt: skip
    # wait=0: the file as it is, no news; a typed option (float) from the docs.
    got = _lookup("lookup('halb.loadbalancer.load_progress', '%s', wait=0)" % path)
    assert got["fresh"] is False and got["requests"] == 2000
    assert got["line"].startswith("5/20 s  2000 requests  400 req/s  2 failed  p99 3.2 ms  (no update for ")
    missing = _lookup("lookup('halb.loadbalancer.load_progress', '%s', wait=0)" % (tmp_path / "none.json"))
    assert missing == {"done": False, "fresh": False, "line": "no progress yet: the load is starting"}
