"""The response-time agent: log parsing, weights applied to HAProxy's
runtime API (a fake on a real UNIX socket) and to nginx's server file."""

import importlib.util
import os
import sys

import pytest

from ansible_collections.halb.loadbalancer.tests.unit.plugins.module_utils.test_haproxy_runtime import (
    FakeHAProxy,
    FakeServer,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# On the host the agent sits next to copies of these two module_utils.
sys.path.insert(0, os.path.join(ROOT, "plugins", "module_utils"))
_spec = importlib.util.spec_from_file_location(
    "halb_response_agent", os.path.join(ROOT, "roles", "response_agent", "files", "halb_response_agent.py")
)
agent_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agent_mod)

SERVERS = [
    {"name": n, "address": "172.29.10.%d" % (20 + i), "port": 8080, "weight": w, "max_fails": 3,
     "fail_timeout_s": 10, "backup": False, "drain": False}
    for i, (n, w) in enumerate((("be1", 256), ("be2", 256), ("be3", 256)), start=1)
]  # fmt: skip


def config(engine, tmp_path, **extra):
    cfg = {
        "engine": engine,
        "listen": "127.0.0.1:0",
        "half_life_s": 1.0,
        "floor": 1,
        "exponent": 4.0,
        "noise_ms": 20.0,
        "interval_s": 0.5,
        "pools": {"shop": {"servers": [dict(s, weight=1000 if engine == "nginx" else 256) for s in SERVERS]}},
        "haproxy": {"socket": str(tmp_path / "admin.sock"), "reapply_s": 10},
        "nginx": {
            "weights_dir": str(tmp_path),
            "min_reload_interval_s": 5,
            "check_command": ["true"],
            "reload_command": ["true"],
        },
    }
    cfg.update(extra)
    return cfg


def haproxy_line(server, tr):
    return (
        "172.29.10.1:40000 [26/Nov/2026:01:08:16.717] www shop/%s 0/0/0/%d/%d 200 336 - - ---- 1/1/0/0/0 0/0 "
        '"GET /products HTTP/1.1"' % (server, tr, tr)
    )


def feed_slow_be1(agent, line_for, seconds=10.0, slow_ms=55, fast_ms=5):
    now = 0.0
    while now < seconds:
        now += 0.1
        for server in ("be1", "be2", "be3"):
            agent.parse(line_for(server, slow_ms if server == "be1" else fast_ms), now)
    return now


def test_haproxy_log_line_is_a_sample(tmp_path):
    agent = agent_mod.Agent(config("haproxy", tmp_path))
    assert agent.parse(haproxy_line("be2", 42), 1.0) == 1
    assert agent.pools["shop"]["balancer"].latencies()["be2"] == 42
    # Aborted requests (Tr -1) and other backends are not samples.
    assert agent.parse(haproxy_line("be2", -1), 2.0) == 0
    assert agent.parse(haproxy_line("be2", 5).replace("shop/", "other/"), 2.0) == 0


def test_nginx_log_line_with_a_retry_gives_two_samples(tmp_path):
    agent = agent_mod.Agent(config("nginx", tmp_path))
    message = "<190>Nov 26 02:20:00 halb: 172.29.10.21:8080, 172.29.10.22:8080 0.000, 0.052 502, 200"
    assert agent.parse(message, 1.0) == 2
    latencies = agent.pools["shop"]["balancer"].latencies()
    assert latencies["be1"] == 0 and latencies["be2"] == pytest.approx(52)
    # A cache hit has no upstream.
    assert agent.parse("<190>Nov 26 02:20:00 halb: - - -", 2.0) == 0


def test_haproxy_weights_go_through_the_runtime_api(tmp_path):
    fake = FakeHAProxy(tmp_path / "admin.sock", {"shop": [FakeServer(n, weight=256) for n in ("be1", "be2", "be3")]})
    try:
        agent = agent_mod.Agent(config("haproxy", tmp_path))
        now = feed_slow_be1(agent, haproxy_line)
        agent.apply(now)
        assert fake.server("shop", "be1").uweight <= 3
        assert fake.server("shop", "be2").uweight == fake.server("shop", "be3").uweight == 256
        # HAProxy reloaded (weights back to the config's): reapplied in time.
        fake.server("shop", "be1").uweight = 256
        agent.apply(now + 11)
        assert fake.server("shop", "be1").uweight <= 3
    finally:
        fake.close()


def test_nginx_weights_file_rewritten_checked_and_rate_limited(tmp_path):
    agent = agent_mod.Agent(config("nginx", tmp_path))
    server_file = tmp_path / "shop.conf"
    server_file.write_text("# old\n")

    def nginx_line(server, ms):
        index = int(server[-1])
        return "halb: 172.29.10.%d:8080 %.3f 200" % (20 + index, ms / 1000.0)

    now = feed_slow_be1(agent, nginx_line)
    agent.apply(now)
    text = server_file.read_text()
    slowed = int(text.split("172.29.10.21:8080 weight=")[1].split()[0])
    assert 1 <= slowed <= 20, text
    assert "172.29.10.22:8080 weight=1000 " in text
    # Healed, but within min_reload_interval_s: no rewrite yet.
    for step in range(1, 41):
        for server in ("be1", "be2", "be3"):
            agent.parse(nginx_line(server, 5), now + step * 0.1)
    agent.apply(now + 4)
    assert server_file.read_text() == text
    # Ten half-lives after healing, be1 is back to (nearly) its full weight.
    for step in range(41, 101):
        for server in ("be1", "be2", "be3"):
            agent.parse(nginx_line(server, 5), now + step * 0.1)
    agent.apply(now + 10)
    weight = int(server_file.read_text().split("172.29.10.21:8080 weight=")[1].split()[0])
    assert weight >= 950, server_file.read_text()


def test_nginx_failed_check_keeps_the_old_file(tmp_path):
    failing_check = {"weights_dir": str(tmp_path), "min_reload_interval_s": 0, "check_command": ["false"]}
    agent = agent_mod.Agent(config("nginx", tmp_path, nginx=dict(failing_check, reload_command=["true"])))
    server_file = tmp_path / "shop.conf"
    server_file.write_text("# the file nginx runs with\n")
    now = feed_slow_be1(agent, lambda s, ms: "halb: 172.29.10.%d:8080 %.3f 200" % (20 + int(s[-1]), ms / 1000.0))
    agent.apply(now)
    assert server_file.read_text() == "# the file nginx runs with\n"


def test_config_numbers_quoted_by_templating_are_read_as_numbers(tmp_path):
    import json

    cfg = config("haproxy", tmp_path, half_life_s="2.0", floor="1", interval_s="0.5", exponent="4.0")
    cfg["pools"]["shop"]["servers"][0]["weight"] = "256"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    loaded = agent_mod.load_config(str(path))
    assert loaded["half_life_s"] == 2.0 and loaded["floor"] == 1
    assert loaded["pools"]["shop"]["servers"][0]["weight"] == 256
    agent_mod.Agent(loaded)  # builds without a type error


# --- what the role installs on the host ---------------------------------------

ROLE = os.path.join(ROOT, "roles", "response_agent")


def installed_files():
    """Source paths of the files install.yml copies into /opt/halb-response-agent/."""
    import yaml

    with open(os.path.join(ROLE, "tasks", "install.yml")) as handle:
        tasks = yaml.safe_load(handle)
    copies = [t for t in tasks if (t.get("ansible.builtin.copy") or {}).get("dest") == "/opt/halb-response-agent/"]
    assert len(copies) == 1, "one task copies the agent and its modules"
    paths = []
    for item in copies[0]["loop"]:
        path = item.replace("{{ role_path }}", ROLE)
        paths.append(os.path.normpath(path if os.path.isabs(path) else os.path.join(ROLE, "files", path)))
    return paths


def test_install_copies_every_module_the_agent_imports():
    """The agent and the modules copied with it import each other as plain
    top-level modules: each one they import must be in the copy list."""
    import ast

    copied = installed_files()
    names = set(os.path.splitext(os.path.basename(path))[0] for path in copied)
    assert {"halb_response_agent", "engine_facts", "response_weights", "haproxy_runtime"} <= names
    module_utils = set(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "module_utils")))
    for path in copied:
        assert os.path.exists(path), path
        with open(path) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported = [node.module.rsplit(".", 1)[-1]]
            else:
                continue
            for name in imported:
                if name in module_utils:
                    assert name in names, "%s imports %s, which install.yml does not copy" % (path, name)


def test_agent_runs_from_its_install_directory_alone(tmp_path):
    """As on the host: the copied files in one directory, no collection on
    sys.path (python -I ignores PYTHONPATH and the user's site)."""
    import shutil
    import subprocess

    for path in installed_files():
        shutil.copy(path, str(tmp_path))
    # The agent's own directory is on sys.path, as when systemd runs the script.
    code = (
        "import sys; sys.path.insert(0, %r); import halb_response_agent as a; "
        "assert 'ansible_collections' not in sys.modules, sorted(sys.modules); "
        "print(a.engine_facts.TOP_WEIGHT['nginx'], a.response_weights.endpoint('2001:db8::1', 80))" % str(tmp_path)
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=str(tmp_path), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1000", "[2001:db8::1]:80"]
