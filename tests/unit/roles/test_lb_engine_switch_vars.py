"""What the lb role stops and removes when a node switches engine, from
roles/lb/vars as a play templates them: the other engine's unit, and the
state file it would otherwise read on its next start (a switch back once
started HAProxy with the drains of a config long gone)."""

import os

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VARS = os.path.join(ROOT, "roles", "lb", "vars")


def resolved(engine, name):
    loader = DataLoader()
    variables = {"lb_engine": engine}
    for file_name in ("main.yml", engine + ".yml"):
        variables.update(loader.load_from_file(os.path.join(VARS, file_name)) or {})
    return Templar(loader=loader, variables=variables).template(variables[name])


@pytest.mark.parametrize(("engine", "removed"), [("nginx", ["/var/lib/haproxy/server-state"]), ("haproxy", [])])
def test_the_stopped_engine_state_file_is_removed(engine, removed):
    assert resolved(engine, "_lb_other_state_files") == removed


def test_haproxy_saves_its_states_where_the_switch_removes_them():
    assert resolved("haproxy", "_lb_haproxy_server_state_file") == resolved("nginx", "_lb_other_state_files")[0]
