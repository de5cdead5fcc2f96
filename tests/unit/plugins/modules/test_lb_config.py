"""lb_config against the real engine binaries, writing into a temp dir."""

import os

import pytest
from module_runner import run_main, run_module

from ansible_collections.halb.loadbalancer.plugins.module_utils import balancer_lua
from ansible_collections.halb.loadbalancer.plugins.modules import lb_config
from ansible_collections.halb.loadbalancer.tests.unit.plugins.module_utils.test_haproxy_runtime import (
    FakeHAProxy,
    FakeServer,
)

SPEC = {
    "pools": [{"name": "shop", "servers": [{"name": "be1", "address": "127.0.0.1", "port": 8080}]}],
    "frontends": [{"name": "www", "port": 8088, "pool": "shop"}],
}


def args(tmp_path, engine, **extra):
    owner = {"owner": None, "group": None} if os.geteuid() else {}
    render = {"runtime_socket": str(tmp_path / "admin.sock")} if engine == "haproxy" else {
        "pid": str(tmp_path / "nginx.pid"), "error_log": str(tmp_path / "error.log"),
        "access_log": str(tmp_path / "access.log"), "cache_dir": str(tmp_path)}  # fmt: skip
    base = {"engine": engine, "spec": SPEC, "dest": str(tmp_path / ("%s.conf" % engine)), "render_options": render}
    base.update(owner)
    base.update(extra)
    return base


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_install_then_idempotent(tmp_path, engine):
    first = run_module(lb_config, args(tmp_path, engine))
    assert first["changed"] is True, first
    dest = tmp_path / ("%s.conf" % engine)
    assert "shop" in dest.read_text()
    second = run_module(lb_config, args(tmp_path, engine))
    assert second["changed"] is False, second
    assert second["checksum"] == first["checksum"]


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_change_keeps_a_backup_and_reports_diff(tmp_path, engine):
    run_module(lb_config, args(tmp_path, engine))
    spec = dict(SPEC, pools=[{"name": "shop", "strategy": "least_connections", "servers": SPEC["pools"][0]["servers"]}])
    result = run_module(lb_config, args(tmp_path, engine, spec=spec), diff=True)
    assert result["changed"] is True
    assert os.path.exists(result["backup_file"])
    assert result["strategies"] == {"shop": "least_connections"}
    assert "leastconn" in result["diff"]["after"] or "least_conn" in result["diff"]["after"]


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_check_mode_validates_but_writes_nothing(tmp_path, engine):
    result = run_module(lb_config, args(tmp_path, engine), check_mode=True)
    assert result["changed"] is True
    assert not (tmp_path / ("%s.conf" % engine)).exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".halb-")] == []


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_config_failing_engine_check_is_never_installed(tmp_path, engine):
    run_module(lb_config, args(tmp_path, engine))
    dest = tmp_path / ("%s.conf" % engine)
    good = dest.read_text()
    (tmp_path / "nope.pem").write_text("not a certificate\n")  # there, but no engine can load it
    broken = dict(
        SPEC,
        frontends=[{"name": "www", "port": 8443, "pool": "shop", "tls": {"certificate": str(tmp_path / "nope.pem")}}],
    )
    result = run_module(lb_config, args(tmp_path, engine, spec=broken))
    assert result["failed"] is True
    assert "was not changed" in result["msg"] and "nope.pem" in result["msg"], result["msg"]
    assert str(dest) + " (new)" in result["msg"]  # the engine's own message, with our file's name
    assert dest.read_text() == good
    assert [p for p in os.listdir(tmp_path) if p.startswith(".halb-")] == []


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_a_certificate_missing_on_the_host_is_named_before_anything_is_written(tmp_path, engine):
    missing = str(tmp_path / "tls" / "shop.pem")
    spec = dict(SPEC, frontends=[{"name": "www", "port": 8443, "pool": "shop", "tls": {"certificate": missing}}])
    result = run_module(lb_config, args(tmp_path, engine, spec=spec))
    assert result["failed"] is True
    assert result["field"] == "frontends[0].tls.certificate"
    assert result["msg"].startswith("Invalid LB spec: frontends[0].tls.certificate: %s does not exist on this host. "
                                    "Install it first" % missing), result["msg"]  # fmt: skip
    assert not (tmp_path / ("%s.conf" % engine)).exists()
    # Check mode only warns: in a dry run the task installing it has not run.
    dry = run_module(lb_config, args(tmp_path, engine, spec=spec), check_mode=True)
    assert "failed" not in dry and any(missing in w for w in dry.get("warnings", [])), dry


def test_invalid_spec_names_the_field(tmp_path):
    spec = dict(SPEC, pools=[{"name": "shop", "servers": [{"address": "127.0.0.1", "port": 70000}]}])
    result = run_module(lb_config, args(tmp_path, "haproxy", spec=spec))
    assert result["failed"] is True
    assert result["msg"] == "Invalid LB spec: pools[0].servers[0].port: 70000 is not a TCP port (1-65535)"
    assert result["field"] == "pools[0].servers[0].port"
    assert not (tmp_path / "haproxy.conf").exists()


FASTEST = dict(SPEC, pools=[{"name": "shop", "strategy": "fastest_response", "servers": SPEC["pools"][0]["servers"]}])


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_fastest_response_writes_the_lua_balancer_the_config_loads(tmp_path, engine):
    base = args(tmp_path, engine, spec=FASTEST)
    base["render_options"] = dict(base["render_options"], lua_dir=str(tmp_path / "halb"))
    first = run_module(lb_config, base)
    lua = tmp_path / "halb" / "halb_balancer.lua"
    assert first["changed"] is True and first["balancer_file"] == str(lua)
    assert lua.read_text() == balancer_lua.source(engine)
    assert str(lua.parent) in (tmp_path / ("%s.conf" % engine)).read_text()
    assert oct(lua.stat().st_mode & 0o777) == "0o644"
    assert run_module(lb_config, base)["changed"] is False
    # A balancer file changed by hand (or by an older release) is put back.
    lua.write_text("-- stale\n")
    assert run_module(lb_config, base)["changed"] is True
    assert lua.read_text() == balancer_lua.source(engine)


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_no_lua_balancer_without_fastest_response(tmp_path, engine):
    base = args(tmp_path, engine)
    base["render_options"] = dict(base["render_options"], lua_dir=str(tmp_path / "halb"))
    result = run_module(lb_config, base)
    assert result["balancer_file"] is None
    assert not (tmp_path / "halb").exists()
    assert "halb_balancer" not in (tmp_path / ("%s.conf" % engine)).read_text()


def test_lua_balancer_is_checked_before_it_replaces_the_running_one(tmp_path):
    """A config the engine rejects leaves both files as they were."""
    base = args(tmp_path, "nginx", spec=FASTEST)
    base["render_options"] = dict(base["render_options"], lua_dir=str(tmp_path / "halb"))
    run_module(lb_config, base)
    lua = tmp_path / "halb" / "halb_balancer.lua"
    lua.write_text("-- the running one\n")
    (tmp_path / "no.pem").write_text("not a certificate\n")
    broken = dict(FASTEST, frontends=[dict(FASTEST["frontends"][0], tls={"certificate": str(tmp_path / "no.pem")})])
    result = run_module(lb_config, dict(base, spec=broken))
    assert result["failed"] is True and "(new)" in result["msg"], result["msg"]  # the engine refused it
    assert lua.read_text() == "-- the running one\n"


@pytest.fixture
def haproxy(tmp_path):
    """A running HAProxy (fake runtime API on the config's socket) with be1 and be2 in shop, both idle
    until a test gives be2 sessions; closed after the test."""
    fake = FakeHAProxy(tmp_path / "admin.sock", {"shop": [FakeServer("be1"), FakeServer("be2")]})
    yield fake
    fake.close()


def _busy(haproxy, sessions, drops_per_poll):
    """be2 holds sessions, of which drops_per_poll end between two reads once it is out of rotation."""
    be2 = haproxy.server("shop", "be2")
    be2.sessions, be2.drops_per_poll = sessions, drops_per_poll


def test_servers_the_new_config_removes_are_drained_before_it_is_installed(tmp_path, haproxy):
    _busy(haproxy, sessions=3, drops_per_poll=1)
    result = run_module(lb_config, args(tmp_path, "haproxy", drain_timeout=10))
    assert result["drained"] == ["shop/be2"]
    assert haproxy.set_commands() == ["set server shop/be2 state drain"]
    # It waited until be2's three sessions had ended, then installed the config.
    assert haproxy.server("shop", "be2").sessions == 0
    assert "server be2" not in (tmp_path / "haproxy.conf").read_text()
    assert not result.get("warnings")


def test_a_server_still_busy_after_drain_timeout_is_named_and_the_config_installed(tmp_path, haproxy):
    _busy(haproxy, sessions=3, drops_per_poll=0)
    result = run_module(lb_config, args(tmp_path, "haproxy", drain_timeout=1))
    assert result["drained"] == ["shop/be2"]
    assert any("shop/be2 still held sessions after 1s" in w for w in result["warnings"]), result
    assert (tmp_path / "haproxy.conf").exists()


def test_check_mode_names_the_servers_it_would_drain_and_drains_none(tmp_path, haproxy):
    result = run_module(lb_config, args(tmp_path, "haproxy"), check_mode=True)
    assert result["drained"] == ["shop/be2"]
    assert haproxy.set_commands() == []


def test_without_a_running_haproxy_nothing_is_drained(tmp_path):
    result = run_module(lb_config, args(tmp_path, "haproxy"))
    assert result["changed"] is True and result["drained"] == []


def test_a_negative_drain_timeout_is_refused(tmp_path):
    code, result = run_main(lb_config, args(tmp_path, "haproxy", drain_timeout=-1))
    assert code == 1
    assert result["msg"] == "drain_timeout: -1 is negative; give the seconds to wait, or 0 to skip the drain."


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_a_cipher_list_the_engine_rejects_is_its_clear_error_and_changes_nothing(tmp_path, engine):
    from ansible_collections.halb.loadbalancer.tests.unit.plugins.module_utils.engines import make_cert

    pem = make_cert(str(tmp_path))
    good = dict(SPEC, frontends=[{"name": "www", "port": 8443, "pool": "shop", "tls": {"certificate": pem}}])
    run_module(lb_config, args(tmp_path, engine, spec=good))
    dest = tmp_path / ("%s.conf" % engine)
    before = dest.read_text()
    bad = dict(good, frontends=[dict(good["frontends"][0], tls={"certificate": pem, "ciphers": "NO-SUCH-CIPHER"})])
    result = run_module(lb_config, args(tmp_path, engine, spec=bad))
    assert result["failed"] is True
    assert "was not changed" in result["msg"] and "cipher" in result["msg"].lower(), result["msg"]
    assert dest.read_text() == before


def test_the_metrics_listeners_node_exporter_is_never_drained(tmp_path):
    """It is the collection's own backend, not a pool the spec removed."""
    fake = FakeHAProxy(tmp_path / "admin.sock", {"shop": [FakeServer("be1")],
                                                 "halb_node_exporter": [FakeServer("node_exporter")]})  # fmt: skip
    try:
        result = run_module(lb_config, args(tmp_path, "haproxy", drain_timeout=10))
        assert result["drained"] == []
        assert fake.set_commands() == []
    finally:
        fake.close()
