"""Bad input stops the failover drill and the rolling upgrades with a clear
message naming the option, before any host is read or changed.

The "hosts" are this machine over a local connection with a VIP in the
loopback subnet; every case fails in a check that runs on the controller,
and the test asserts that no task touching a host started.
"""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(tmp_path, playbook, extra, lb_vars=None):
    inventory = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
            "children": {
                "lb": {"hosts": {"lb1": {}, "lb2": {}}, "vars": {"keepalived_vip": "127.0.0.100", **(lb_vars or {})}},
                "backends": {"hosts": {"be1": {}}},
            },
        }
    }
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump(inventory))
    extra_vars = json.dumps(
        {key: str(value) if isinstance(value, os.PathLike) else value for key, value in extra.items()}
    )
    command = ["ansible-playbook", "-i", str(inv), os.path.join(ROOT, "playbooks", playbook), "-e", extra_vars]
    env = dict(
        os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_CALLBACK_RESULT_FORMAT="json"
    )
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    return out.returncode, " ".join((out.stdout + out.stderr).replace("\\n", " ").split())


# Tasks that read or change a host; none may start on bad input.
HOST_TASKS = (
    "Read which addresses each node holds",
    "Watch who holds the VIP",
    "Inject the fault",
    "Drain its servers",
)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"failover_drill_fault": "reboot"}, "value of failover_drill_fault must be one of: .* got: reboot"),
        ({"failover_drill_seconds": 500}, "failover_drill_seconds must be 5 to 300"),
        ({"failover_drill_fault_at": 15, "failover_drill_restore_after": 10}, "at most failover_drill_seconds"),
        ({"failover_drill_node": "lb9"}, "failover_drill_node must be master, backup or one of lb1, lb2"),
        ({"failover_drill_fault": "partition"}, "failover_drill_fault=partition needs unicast VRRP"),
        ({"failover_drill_url": "http://192.0.2.7/"}, r"url: 192\.0\.2\.7 is not a VIP of this inventory"),
        ({"failover_drill_path": "/a b"}, r"url: the path '/a b' has characters outside RFC 3986"),
    ],
)
def test_the_drill_refuses_bad_options_before_touching_a_host(tmp_path, extra, message):
    code, output = run(tmp_path, "failover_drill.yml", extra)
    assert code != 0
    assert re.search(message, output), output[-3000:]
    for task in HOST_TASKS:
        assert task not in output


def test_the_rolling_upgrade_needs_an_existing_tasks_file(tmp_path):
    code, output = run(tmp_path, "rolling_upgrade.yml", {"rolling_upgrade_tasks": tmp_path / "missing.yml"})
    assert code != 0
    assert "rolling_upgrade_tasks: %s is not a file on the controller" % (tmp_path / "missing.yml") in output
    assert "Drain its servers" not in output


def test_the_rolling_upgrade_refuses_nginx(tmp_path):
    tasks = tmp_path / "upgrade.yml"
    tasks.write_text("---\n- name: Nothing\n  ansible.builtin.meta: noop\n")
    code, output = run(tmp_path, "rolling_upgrade.yml", {"rolling_upgrade_tasks": tasks}, {"lb_engine": "nginx"})
    assert code != 0
    assert "nginx open source has no runtime API to drain a server without a reload" in output
    assert "Drain its servers" not in output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"lb_rolling_upgrade_tasks": "/nonexistent/upgrade.yml"},
            "lb_rolling_upgrade_tasks: /nonexistent/upgrade.yml is not a file on the controller",
        ),
        ({"lb_rolling_upgrade_healthy_timeout": "soon"}, "lb_rolling_upgrade_healthy_timeout"),
    ],
)
def test_the_lb_rolling_upgrade_refuses_bad_options_before_touching_a_node(tmp_path, extra, message):
    code, output = run(tmp_path, "lb_rolling_upgrade.yml", extra)
    assert code != 0
    assert re.search(message, output), output[-3000:]
    for task in HOST_TASKS + ("Stop keepalived",):
        assert task not in output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"load_report_connections": 0}, "load_report_connections: 0 is out of range; give 1 to 256"),
        ({"load_report_seconds": 601}, "load_report_seconds: 601.0 is out of range; give 1 to 600 seconds"),
        ({"load_report_connections": "many"}, "argument 'load_report_connections' is of type"),
        ({"load_report_url": "http://192.0.2.7/"}, r"load_report_url: 192\.0\.2\.7 is not a VIP of this inventory"),
        ({"load_report_path": "/a b"}, r"load_report_url: the path '/a b' has characters outside RFC 3986"),
        ({"load_report_group": "nope"}, "load_report_group: nope is not a group of this inventory with hosts"),
    ],
)
def test_the_load_report_refuses_bad_options_before_any_load(tmp_path, extra, message):
    code, output = run(tmp_path, "load_report.yml", dict(extra, load_report_report_dir=tmp_path / "reports"))
    assert code != 0
    assert re.search(message, output), output[-3000:]
    assert "Start the load through the VIP" not in output
    assert not (tmp_path / "reports").exists()
