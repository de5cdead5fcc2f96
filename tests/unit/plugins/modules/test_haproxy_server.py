"""Tests of the haproxy_server module, run through main() against a fake HAProxy socket."""

import pytest
from module_runner import run_module

from ansible_collections.halb.loadbalancer.plugins.modules import haproxy_server
from ansible_collections.halb.loadbalancer.tests.unit.plugins.module_utils.test_haproxy_runtime import (
    FakeHAProxy,
    FakeServer,
)


@pytest.fixture
def haproxy(tmp_path):
    """web1 ready at weight 100 with 3 sessions, web2 drained; api1 in a static-algorithm backend."""
    fake = FakeHAProxy(
        tmp_path / "admin.sock",
        {
            "web": [FakeServer("web1", sessions=3), FakeServer("web2", admin=0x08)],
            "api": [FakeServer("api1", weight=10)],
        },
        static_backends=["api"],
    )
    yield fake
    fake.close()


@pytest.fixture
def run(haproxy):
    """run(check_mode=..., diff=..., **options) against the fake, socket option preset."""

    def run_on_fake(check_mode=False, diff=False, **options):
        return run_module(haproxy_server, dict({"socket": haproxy.path}, **options), check_mode=check_mode, diff=diff)

    return run_on_fake


@pytest.mark.parametrize(
    ("options", "changed", "commands", "report"),
    [
        pytest.param(
            {"server": "web1", "state": "drain"},
            True,
            ["set server web/web1 state drain"],
            {"status": "DRAIN", "admin_state": "drain", "weight": 100, "sessions": 3},
            id="drain a ready server",
        ),
        pytest.param(
            {"server": "web2", "state": "drain"},
            False,
            [],
            {"status": "DRAIN", "admin_state": "drain"},
            id="drain a drained server",
        ),
        pytest.param(
            {"server": "web1", "state": "maint"},
            True,
            ["set server web/web1 state maint"],
            {"status": "MAINT", "admin_state": "maint"},
            id="maint",
        ),
        pytest.param(
            {"server": "web2", "state": "ready"},
            True,
            ["set server web/web2 state ready"],
            {"status": "UP", "admin_state": "ready"},
            id="ready a drained server",
        ),
        pytest.param(
            {"server": "web1", "weight": 50},
            True,
            ["set server web/web1 weight 50"],
            {"weight": 50, "effective_weight": 50, "admin_state": "ready"},
            id="weight",
        ),
        pytest.param({"server": "web1", "weight": 100}, False, [], {"weight": 100}, id="same weight"),
        pytest.param(
            {"server": "web2", "state": "ready", "weight": 20},
            True,
            ["set server web/web2 weight 20", "set server web/web2 state ready"],
            {"status": "UP", "weight": 20},
            id="back in rotation after the weight changes",
        ),
        pytest.param(
            {"server": "web1", "state": "drain", "weight": 0},
            True,
            ["set server web/web1 state drain", "set server web/web1 weight 0"],
            {"status": "DRAIN", "weight": 0},
            id="out of rotation before the weight changes",
        ),
        pytest.param(
            {"server": "web1"},
            False,
            [],
            {"status": "UP", "admin_state": "ready", "weight": 100, "sessions": 3, "response_time_ms": 12},
            id="report only",
        ),
        pytest.param(
            {"backend": "api", "server": "api1", "weight": 0},
            True,
            ["set server api/api1 weight 0"],
            {"weight": 0},
            id="static algorithm takes weight 0",
        ),
    ],
)
def test_changes(run, haproxy, options, changed, commands, report):
    result = run(**dict({"backend": "web"}, **options))
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is changed
    assert result["commands"] == commands
    assert haproxy.set_commands() == commands
    assert {key: result[key] for key in report} == report
    assert set(result) >= {"status", "admin_state", "weight", "sessions", "response_time_ms", "total_time_ms"}
    assert "waited_s" not in result


def inherit_maint(haproxy):
    web1 = haproxy.server("web", "web1")
    web1.admin, web1.tracked = 0x02, "web/web2"


def drained_and_down(haproxy):
    haproxy.server("web", "web2").up = False


def slow_start(haproxy):
    haproxy.server("web", "web1").effective_weight = 25


@pytest.mark.parametrize(
    ("setup", "options", "changed", "report"),
    [
        # A drained server whose health check fails shows DOWN; it is still drained.
        (drained_and_down, {"server": "web2", "state": "drain"}, False, {"status": "DOWN", "admin_state": "drain"}),
        (drained_and_down, {"server": "web2", "state": "ready"}, True, {"status": "DOWN", "admin_state": "ready"}),
        # Maintenance inherited from a tracked server is not the module's to lift...
        (inherit_maint, {"server": "web1", "state": "ready"}, False, {"status": "MAINT (via web/web2)"}),
        # ...but forcing it keeps the server out when the tracked one comes back.
        (inherit_maint, {"server": "web1", "state": "maint"}, True, {"admin_state": "maint"}),
        # The weight compared is the one set, not the effective one during a slow start.
        (slow_start, {"server": "web1", "weight": 100}, False, {"weight": 100, "effective_weight": 25}),
    ],
)
def test_state_beyond_the_status_text(run, haproxy, setup, options, changed, report):
    setup(haproxy)
    result = run(backend="web", **options)
    assert result["changed"] is changed
    assert {key: result[key] for key in report} == report


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"state": "drain"}, {"state": "drain"}),
        ({"state": "maint"}, {"state": "ready"}),
        ({"weight": 7}, {"weight": 7}),
    ],
)
def test_runs_in_a_row(run, first, second):
    """The second run sees the first one's change: unchanged when it asks the same."""
    one = run(backend="web", server="web1", **first)
    two = run(backend="web", server="web1", **second)
    assert one["changed"] is True
    assert two["changed"] is (first != second)
    if second.get("state") == "ready":
        assert (one["status"], two["status"]) == ("MAINT", "UP")


def test_check_mode_changes_nothing(run, haproxy):
    result = run(backend="web", server="web1", state="maint", weight=30, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["commands"] == ["set server web/web1 state maint", "set server web/web1 weight 30"]
    assert haproxy.set_commands() == []
    web1 = haproxy.server("web", "web1")
    assert (web1.admin, web1.uweight) == (0, 100)
    # The report is HAProxy's, unchanged; the diff says what would change.
    assert (result["admin_state"], result["weight"]) == ("ready", 100)
    assert result["diff"]["before"] == {"state": "ready", "weight": 100}
    assert result["diff"]["after"] == {"state": "maint", "weight": 30}


def test_check_mode_does_not_wait(run, haproxy):
    result = run(backend="web", server="web1", state="drain", wait=True, check_mode=True)
    assert result["changed"] is True
    assert "waited_s" not in result
    assert haproxy.set_commands() == []


def test_diff(run):
    result = run(backend="web", server="web2", state="ready", diff=True)
    assert result["diff"] == {
        "before_header": "web/web2",
        "after_header": "web/web2",
        "before": {"state": "drain", "weight": 100},
        "after": {"state": "ready", "weight": 100},
    }


@pytest.mark.parametrize("state", ["drain", "maint"])
def test_wait_until_sessions_end(run, haproxy, state):
    haproxy.server("web", "web1").drops_per_poll = 1  # 3 sessions: 2, 1, 0
    result = run(backend="web", server="web1", state=state, wait=True, wait_interval=0.01)
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert result["sessions"] == 0
    assert result["waited_s"] > 0
    polls = [cmd for cmd in haproxy.commands if cmd.startswith("show stat ")]
    assert len(polls) == 4  # before, after the change, two more while waiting


def test_wait_on_an_idle_drained_server(run):
    result = run(backend="web", server="web2", state="drain", wait=True)
    assert result["changed"] is False
    assert result["waited_s"] == 0


def test_wait_timeout_says_how_many_sessions_remain(run, haproxy):
    haproxy.server("web", "web1").sessions = 4  # and they never end
    result = run(backend="web", server="web1", state="drain", wait=True, wait_timeout=1, wait_interval=0.05)
    assert result["failed"] is True
    assert result["msg"].startswith(
        "server web1 in backend web still has 4 session(s) after waiting 1s (wait_timeout)."
    )
    assert "shutdown sessions server web/web1" in result["msg"]
    assert result["changed"] is True  # it did drain the server
    assert result["commands"] == ["set server web/web1 state drain"]
    assert (result["sessions"], result["status"]) == (4, "DRAIN")
    assert result["waited_s"] >= 1


def test_wait_without_drain_warns(run):
    result = run(backend="web", server="web1", state="ready", wait=True)
    assert result["changed"] is False
    assert "wait: true has no effect" in result["warnings"][0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"backend": "web", "server": "web9", "state": "drain"},
            "server web9 not found in backend web (it has: web1, web2). Set the server option",
            id="unknown server",
        ),
        pytest.param(
            {"backend": "db", "server": "db1", "state": "drain"},
            "backend db not found on socket {socket} (HAProxy: Can't find backend.). Set the backend option to a "
            "`backend` or `listen` section of haproxy.cfg (known backends: web, api).",
            id="unknown backend",
        ),
        pytest.param(
            {"backend": "web", "server": "web1", "state": "drain", "socket": "/nonexistent/admin.sock"},
            "socket /nonexistent/admin.sock does not exist: is HAProxy running with "
            "`stats socket /nonexistent/admin.sock level admin` in its global section?",
            id="missing socket",
        ),
        pytest.param(
            {"backend": "api", "server": "api1", "weight": 50},
            "HAProxy rejected `set server api/api1 weight 50` (backend api, server api1): Backend is using a static "
            "LB algorithm and only accepts weights '0%' and '100%'.",
            id="weight refused by HAProxy",
        ),
        pytest.param(
            {"backend": "web", "server": "web1", "weight": 300},
            "weight: 300 is out of range; HAProxy takes 0 to 256.",
            id="weight out of range",
        ),
        pytest.param(
            {"backend": "web", "server": "web1", "state": "drain", "wait": True, "wait_timeout": -1},
            "wait_timeout: -1 is negative",
            id="negative wait_timeout",
        ),
        pytest.param(
            {"backend": "web", "server": "web1", "wait_interval": 0},
            "wait_interval: 0.0 must be more than 0 seconds.",
            id="zero wait_interval",
        ),
        pytest.param(
            {"backend": "web", "server": "web1 state maint", "state": "ready"},
            "server: 'web1 state maint' is not a valid HAProxy name",
            id="name with spaces",
        ),
        pytest.param(
            {"backend": "web", "server": "web1", "state": "off"},
            "value of state must be one of: ready, drain, maint, got: off",
            id="unknown state",
        ),
    ],
)
def test_errors(run, haproxy, options, message):
    result = run(**options)
    assert result["failed"] is True
    assert message.format(socket=haproxy.path) in result["msg"]
    assert result.get("changed", False) is False
    assert (haproxy.server("web", "web1").admin, haproxy.server("web", "web1").uweight) == (0, 100)


def test_permission_denied_on_a_read_only_socket(tmp_path):
    fake = FakeHAProxy(tmp_path / "ro.sock", {"web": [FakeServer("web1")]}, level="operator")
    try:
        result = run_module(haproxy_server, {"socket": fake.path, "backend": "web", "server": "web1", "state": "drain"})
    finally:
        fake.close()
    assert result["failed"] is True
    assert "Permission denied. The stats socket needs `level admin`" in result["msg"]
