"""The response-time agent: log parsing, weights applied to HAProxy's
runtime API (a fake on a real UNIX socket) and to nginx's server file."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec, render_nginx
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


def shop_spec():
    """Pool shop with SERVERS (weight 1 each: 1000 in nginx), fastest_response, behind one frontend."""
    servers = [{"name": s["name"], "address": s["address"], "port": s["port"]} for s in SERVERS]
    return lb_spec.parse(
        {
            "pools": [{"name": "shop", "strategy": "fastest_response", "servers": servers}],
            "frontends": [{"name": "www", "port": 8080, "bind": "127.0.0.1", "pool": "shop"}],
        },
        "nginx",
    )


def nginx_main_config(directory, weights_dir):
    """The nginx.conf the lb role renders for pool shop (fastest_response,
    SERVERS), its servers in <weights_dir>/shop.conf: written in `directory`
    with its pid and logs, and its path."""
    os.makedirs(str(directory), exist_ok=True)
    text = render_nginx.render(
        shop_spec(),
        pid=os.path.join(str(directory), "nginx.pid"),
        error_log=os.path.join(str(directory), "error.log"),
        access_log=os.path.join(str(directory), "access.log"),
        weights_dir=str(weights_dir),
        agent_log="127.0.0.1:5514",
    )
    path = os.path.join(str(directory), "nginx.conf")
    with open(path, "w") as handle:
        handle.write(text)
    return path


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
            "config": nginx_main_config(tmp_path / "etc", tmp_path),
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
    cfg = config("nginx", tmp_path)
    agent = agent_mod.Agent(dict(cfg, nginx=dict(cfg["nginx"], min_reload_interval_s=0, check_command=["false"])))
    server_file = tmp_path / "shop.conf"
    server_file.write_text("# the file nginx runs with\n")
    now = feed_slow_be1(agent, lambda s, ms: "halb: 172.29.10.%d:8080 %.3f 200" % (20 + int(s[-1]), ms / 1000.0))
    agent.apply(now)
    assert server_file.read_text() == "# the file nginx runs with\n"


# --- nginx: a candidate server file, checked before it goes live (issue 10) ---

# Records what it sees when it runs, then exits with the code given, or
# with "exec" runs the command that follows (the real nginx):
#   record.py <record file> <name> <exit code | exec> [arguments...]
RECORDER = """
import json, os, sys

record, name, code, argv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
weights = os.environ["HALB_TEST_WEIGHTS"]


def read(path):
    with open(path) as handle:
        return handle.read()


seen = {"name": name, "argv": argv, "weights_dir": sorted(os.listdir(weights))}
seen["live"] = read(os.path.join(weights, "shop.conf"))
if "-c" in argv:
    copy = argv[argv.index("-c") + 1]
    seen["copy"], seen["copy_mode"], seen["copy_text"] = copy, os.stat(copy).st_mode & 0o777, read(copy)
candidate = os.path.join(weights, ".shop.conf.candidate")
if os.path.exists(candidate):
    seen["candidate"] = read(candidate)
with open(record, "a") as handle:
    handle.write(json.dumps(seen) + "\\n")
if code == "exec":
    os.execv(argv[0], argv)
sys.stderr.write("%s says no\\n" % name if int(code) else "")
sys.exit(int(code))
"""


class NginxHost:
    """An nginx host in tmp_path: etc/nginx.conf as the lb role renders it,
    weights/shop.conf as rendered (an old mtime, to tell any write), and
    the agent's config with these check and reload commands."""

    def __init__(self, tmp_path, monkeypatch, check_command, reload_command, servers=None):
        cfg = config("nginx", tmp_path)
        self.etc, self.weights = tmp_path / "etc", tmp_path / "weights"
        self.weights.mkdir()
        self.main = nginx_main_config(self.etc, self.weights)
        self.live = self.weights / "shop.conf"
        for path, text in render_nginx.weights_files(shop_spec(), str(self.weights)).items():
            with open(path, "w") as handle:
                handle.write(text)
        os.utime(str(self.live), (1000000000, 1000000000))
        self.rendered, self.stat = self.live.read_bytes(), os.stat(str(self.live))
        self.records = tmp_path / "records.jsonl"
        recorder = tmp_path / "record.py"
        recorder.write_text(RECORDER)
        monkeypatch.setenv("HALB_TEST_WEIGHTS", str(self.weights))
        self.record_command = lambda name, code: [sys.executable, str(recorder), str(self.records), name, str(code)]
        if servers:
            cfg["pools"]["shop"]["servers"] = servers
        cfg["nginx"] = {
            "weights_dir": str(self.weights),
            "config": self.main,
            "min_reload_interval_s": 0,
            "check_command": check_command(self),
            "reload_command": reload_command(self),
        }
        self.agent = agent_mod.Agent(cfg)

    def slow_be1(self, start=0.0, be1_ms=55):
        return feed(self.agent, "nginx", {"be1": be1_ms, "be2": 5, "be3": 5}, start=start)

    def seen(self):
        if not self.records.exists():
            return []
        return [json.loads(line) for line in self.records.read_text().splitlines()]

    def assert_untouched(self):
        after = os.stat(str(self.live))
        assert self.live.read_bytes() == self.rendered
        assert (after.st_ino, after.st_mtime_ns) == (self.stat.st_ino, self.stat.st_mtime_ns)

    def assert_no_leftovers(self):
        """Neither the candidate nor the copy of nginx.conf stays behind."""
        assert sorted(os.listdir(str(self.weights))) == ["shop.conf"]
        engine_files = {"nginx.pid", "error.log", "access.log"}  # nginx -t opens them
        assert set(os.listdir(str(self.etc))) - engine_files == {"nginx.conf"}


@pytest.mark.parametrize("accepted", [True, False], ids=["accepted", "refused"])
def test_nginx_candidate_is_checked_with_a_copy_of_the_main_config(tmp_path, monkeypatch, capsys, accepted):
    host = NginxHost(
        tmp_path,
        monkeypatch,
        check_command=lambda h: h.record_command("check", 0 if accepted else 1) + ["-t", "-q"],
        reload_command=lambda h: h.record_command("reload", 0),
    )
    host.agent.apply(host.slow_be1())
    seen = host.seen()
    check = seen[0]
    # nginx -t ran on a root-only copy of nginx.conf, next to it, that
    # includes the candidate instead of the live file...
    assert check["name"] == "check" and check["argv"][:3] == ["-t", "-q", "-c"]
    assert os.path.dirname(check["copy"]) == str(host.etc) and check["copy"] != host.main
    assert check["copy_mode"] == 0o600
    candidate = str(host.weights / ".shop.conf.candidate")
    with open(host.main) as handle:
        main = handle.read()
    assert check["copy_text"] == main.replace("include %s;" % host.live, "include %s;" % candidate) != main
    # ... while the live file was still the old one, the candidate next to it.
    assert check["live"].encode() == host.rendered
    assert check["weights_dir"] == [".shop.conf.candidate", "shop.conf"]
    assert 1 <= file_weight(check["candidate"], "be1") <= 20 and file_weight(check["candidate"], "be2") == 1000
    if accepted:
        # Replaced first, then reloaded: nginx reloads the new file.
        assert [s["name"] for s in seen] == ["check", "reload"]
        assert seen[1]["live"] == check["candidate"] and seen[1]["weights_dir"] == ["shop.conf"]
        assert host.live.read_text() == check["candidate"]
        assert 1 <= host.agent.pools["shop"]["applied"]["be1"] <= 20
    else:
        assert [s["name"] for s in seen] == ["check"]  # no reload
        host.assert_untouched()
        assert host.agent.pools["shop"]["applied"]["be1"] == 1000
        out = capsys.readouterr().out
        assert "pool shop: new weights failed" in out and "kept the old ones: check says no" in out
    host.assert_no_leftovers()


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
needs_nginx = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="no nginx binary")


@needs_nginx
def test_nginx_refused_candidate_never_touches_the_live_file(tmp_path, monkeypatch, capsys):
    """The real nginx -t refuses the candidate (max_fails=-1 in the agent's
    config for be3): the live file keeps its bytes, inode and mtime, and
    nothing is reloaded."""
    broken = [dict(s, weight=1000, max_fails=-1 if s["name"] == "be3" else 3) for s in SERVERS]
    host = NginxHost(
        tmp_path,
        monkeypatch,
        check_command=lambda h: h.record_command("check", "exec") + [NGINX, "-t", "-q"],
        reload_command=lambda h: h.record_command("reload", 0),
        servers=broken,
    )
    host.agent.apply(host.slow_be1())
    host.assert_untouched()
    [check] = host.seen()  # no reload
    assert check["name"] == "check" and "max_fails=-1" in check["candidate"] and "max_fails=-1" not in check["live"]
    host.assert_no_leftovers()
    out = capsys.readouterr().out
    # The error names the files the operator knows, not the agent's copies.
    assert "pool shop: new weights failed `" in out and " -t -q -c %s`, kept the old ones: " % host.main in out
    assert 'invalid parameter "max_fails=-1" in %s (new):' % host.live in out
    assert "configuration file %s test failed" % host.main in out
    assert ".candidate" not in out and ".halb-check-" not in out
    # The live file itself is what nginx runs with: still accepted.
    proc = subprocess.run([NGINX, "-t", "-q", "-c", host.main], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@needs_nginx
def test_nginx_accepted_candidate_replaces_the_live_file_then_reloads(tmp_path, monkeypatch):
    host = NginxHost(
        tmp_path,
        monkeypatch,
        check_command=lambda h: h.record_command("check", "exec") + [NGINX, "-t", "-q"],
        reload_command=lambda h: h.record_command("reload", 0),
    )
    host.agent.apply(host.slow_be1())
    text = host.live.read_text()
    assert 1 <= file_weight(text, "be1") <= 20 and file_weight(text, "be2") == 1000
    # nginx -t accepted the candidate while the old file was live; at reload
    # time the new file was in place, the candidate gone.
    check, reload = host.seen()
    assert check["name"] == "check" and check["candidate"] == text and check["live"].encode() == host.rendered
    assert reload["name"] == "reload" and reload["live"] == text and reload["weights_dir"] == ["shop.conf"]
    assert os.stat(str(host.live)).st_mode & 0o777 == 0o644
    host.assert_no_leftovers()
    proc = subprocess.run([NGINX, "-t", "-q", "-c", host.main], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_nginx_refused_weights_are_tried_again_only_after_a_material_change(tmp_path, monkeypatch, capsys):
    host = NginxHost(
        tmp_path,
        monkeypatch,
        check_command=lambda h: h.record_command("check", 1),
        reload_command=lambda h: h.record_command("reload", 0),
    )
    now = host.slow_be1()
    host.agent.apply(now)
    # The same weights a round later, and after min_reload_interval_s: not checked again.
    now = host.slow_be1(start=now, be1_ms=56)
    host.agent.apply(now)
    host.agent.apply(now + 6)
    assert [s["name"] for s in host.seen()] == ["check"]
    # be1 much less slow: its weight moves by more than a fifth, so it is tried.
    now = host.slow_be1(start=now + 6, be1_ms=25)
    host.agent.apply(now)
    seen = host.seen()
    assert [s["name"] for s in seen] == ["check", "check"]
    assert file_weight(seen[1]["candidate"], "be1") > 2 * file_weight(seen[0]["candidate"], "be1")
    # be1 heals: the wanted weights are the live ones again, nothing to check;
    # slow again as before, it is a new change and is tried.
    now = host.slow_be1(start=now, be1_ms=5)
    host.agent.apply(now)
    assert len(host.seen()) == 2
    now = host.slow_be1(start=now, be1_ms=25)
    host.agent.apply(now)
    seen = host.seen()
    assert len(seen) == 3 and seen[2]["candidate"] == seen[1]["candidate"]
    assert capsys.readouterr().out.count("kept the old ones") == 3
    host.assert_untouched()
    host.assert_no_leftovers()


def test_nginx_main_config_without_the_include_keeps_the_live_file(tmp_path, monkeypatch, capsys):
    """A main config that does not include the pool's file cannot check the
    candidate: nothing is checked, replaced or reloaded."""
    host = NginxHost(
        tmp_path,
        monkeypatch,
        check_command=lambda h: h.record_command("check", 0),
        reload_command=lambda h: h.record_command("reload", 0),
    )
    with open(host.main, "w") as handle:
        handle.write("events {}\n")
    host.agent.apply(host.slow_be1())
    assert host.seen() == []
    host.assert_untouched()
    host.assert_no_leftovers()
    assert "does not include %s" % host.live in capsys.readouterr().out


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


# --- drained, weight-0, backup and operator-drained servers (issue 9) -----------


def pool_config(engine, tmp_path, **per_server):
    """config() with some servers changed, e.g. be1={"drain": True}."""
    cfg = config(engine, tmp_path)
    shop = cfg["pools"]["shop"]
    shop["servers"] = [dict(s, **per_server.get(s["name"], {})) for s in shop["servers"]]
    return cfg


def fake_for(tmp_path, cfg, **admin):
    """A fake HAProxy started with the weights the renderer writes: 0 for a drained server."""
    servers = [
        FakeServer(s["name"], weight=0 if s["drain"] else s["weight"], admin=admin.get(s["name"], 0))
        for s in cfg["pools"]["shop"]["servers"]
    ]
    return FakeHAProxy(tmp_path / "admin.sock", {"shop": servers})


def feed(agent, engine, latencies, start=0.0, seconds=10.0):
    """Samples of every server for `seconds`: latencies {server: ms}."""
    now = start
    while now < start + seconds:
        now += 0.1
        for server, ms in sorted(latencies.items()):
            agent.parse(haproxy_line(server, ms) if engine == "haproxy" else nginx_line(server, ms), now)
    return now


def nginx_line(server, ms):
    return "halb: 172.29.10.%d:8080 %.3f 200" % (20 + int(server[-1]), ms / 1000.0)


def weight_commands(fake, server):
    return [c for c in fake.set_commands() if c.startswith("set server shop/%s weight " % server)]


def file_weight(text, server):
    return int(text.split("172.29.10.%d:8080 weight=" % (20 + int(server[-1])))[1].split()[0])


def file_line(text, server):
    return next(line for line in text.splitlines() if "172.29.10.%d:8080 " % (20 + int(server[-1])) in line)


# be1 out of rotation in the config, measured fastest (its persistent sessions)
# or slowest; be2 and be3 eligible, be3 50 ms slower than be2.
INELIGIBLE_HAPROXY = [
    ("drained-fastest", {"drain": True}, 1),
    ("drained-slowest", {"drain": True}, 300),
    ("weight-0-fastest", {"weight": 0}, 1),
    ("weight-0-slowest", {"weight": 0}, 300),
]


@pytest.mark.parametrize(
    ("change", "be1_ms"), [case[1:] for case in INELIGIBLE_HAPROXY], ids=[case[0] for case in INELIGIBLE_HAPROXY]
)
def test_haproxy_drained_or_weight_0_server_never_gets_a_weight(tmp_path, change, be1_ms):
    cfg = pool_config("haproxy", tmp_path, be1=change)
    fake = fake_for(tmp_path, cfg)
    try:
        agent = agent_mod.Agent(cfg)
        now = feed(agent, "haproxy", {"be1": be1_ms, "be2": 5, "be3": 55})
        agent.apply(now)  # the first round is a re-apply too
        # HAProxy reloaded: the config's weights again; the periodic re-apply restores the agent's.
        fake.server("shop", "be3").uweight = 256
        agent.apply(now + 11)
        agent.apply(now + 22)
        assert weight_commands(fake, "be1") == []
        assert fake.server("shop", "be1").uweight == 0
        # The eligible servers get their computed weights, be1 not compared with.
        assert fake.server("shop", "be2").uweight == 256
        assert 1 <= fake.server("shop", "be3").uweight <= 5
        assert len(weight_commands(fake, "be3")) == 3
    finally:
        fake.close()


@pytest.mark.parametrize("be1_ms", [1, 300], ids=["drained-fastest", "drained-slowest"])
def test_nginx_drained_server_keeps_the_renderers_line(tmp_path, be1_ms):
    cfg = pool_config("nginx", tmp_path, be1={"drain": True})
    servers = cfg["pools"]["shop"]["servers"]
    rendered = agent_mod.response_weights.nginx_server_lines(servers, dict((s["name"], s["weight"]) for s in servers))
    server_file = tmp_path / "shop.conf"
    server_file.write_text(rendered)
    agent = agent_mod.Agent(cfg)
    now = feed(agent, "nginx", {"be1": be1_ms, "be2": 5, "be3": 55})
    agent.apply(now)
    text = server_file.read_text()
    assert text != rendered  # be3 was lowered
    assert file_line(text, "be1") == file_line(rendered, "be1")
    assert file_line(text, "be1").endswith(" weight=1000 max_fails=3 fail_timeout=10s down;")
    assert file_weight(text, "be2") == 1000 and 1 <= file_weight(text, "be3") <= 20


@pytest.mark.parametrize(
    ("engine", "changes"),
    [
        ("haproxy", {"be1": {"drain": True}, "be2": {"weight": 0}, "be3": {"drain": True, "weight": 0}}),
        ("haproxy", {"be1": {"drain": True}, "be2": {"drain": True}, "be3": {"drain": True}}),
        ("nginx", {"be1": {"drain": True}, "be2": {"drain": True}, "be3": {"drain": True}}),
    ],
    ids=["haproxy-drained-and-weight-0", "haproxy-all-drained", "nginx-all-drained"],
)
def test_no_eligible_server_leaves_weights_alone(tmp_path, engine, changes):
    cfg = pool_config(engine, tmp_path, **changes)
    server_file = tmp_path / "shop.conf"
    server_file.write_text("# as rendered\n")
    fake = fake_for(tmp_path, cfg) if engine == "haproxy" else None
    try:
        agent = agent_mod.Agent(cfg)
        now = feed(agent, engine, {"be1": 1, "be2": 5, "be3": 55})
        for later in (0, 11, 22):
            agent.apply(now + later)
        if fake:
            assert fake.set_commands() == []
            assert [fake.server("shop", s).uweight for s in ("be1", "be2", "be3")] == [
                0 if cfg["pools"]["shop"]["servers"][i]["drain"] else cfg["pools"]["shop"]["servers"][i]["weight"]
                for i in range(3)
            ]
        assert server_file.read_text() == "# as rendered\n"
    finally:
        if fake:
            fake.close()


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
def test_backup_measured_fast_keeps_its_role_and_the_actives_weights(tmp_path, engine):
    """be3 is a backup, measured while it stood in for the actives (1 ms): the
    actives are compared with each other only, and be3 stays a backup."""
    cfg = pool_config(engine, tmp_path, be3={"backup": True})
    server_file = tmp_path / "shop.conf"
    server_file.write_text("# as rendered\n")
    fake = fake_for(tmp_path, cfg) if engine == "haproxy" else None
    top = 256 if engine == "haproxy" else 1000
    try:
        agent = agent_mod.Agent(dict(cfg, nginx=dict(cfg["nginx"], min_reload_interval_s=0)))
        now = feed(agent, engine, {"be3": 1}, seconds=5.0)  # failover: only the backup answers
        now = feed(agent, engine, {"be1": 30, "be2": 80}, start=now)  # actives back, be2 slower
        agent.apply(now)
        if fake:
            weights = [fake.server("shop", s).uweight for s in ("be1", "be2", "be3")]
        else:
            text = server_file.read_text()
            weights = [file_weight(text, s) for s in ("be1", "be2", "be3")]
            assert file_line(text, "be3").endswith(" backup;")
            assert " backup" not in file_line(text, "be1") + file_line(text, "be2")
        # be1: (50/100)^4 of be2 would have been 1/16 had be3 counted as the fastest.
        assert weights[0] == top and weights[1] == round(top * (50 / 100) ** 4) and weights[2] == top
    finally:
        if fake:
            fake.close()


# How an operator takes be3 out at run time, and puts it back.
OPERATOR = [
    ("state-drain", lambda c: c.set_state("shop", "be3", "drain"), lambda c: c.set_state("shop", "be3", "ready")),
    ("state-maint", lambda c: c.set_state("shop", "be3", "maint"), lambda c: c.set_state("shop", "be3", "ready")),
    ("weight-0", lambda c: c.set_weight("shop", "be3", 0), lambda c: c.set_weight("shop", "be3", 50)),
]


@pytest.mark.parametrize(("take_out", "put_back"), [case[1:] for case in OPERATOR], ids=[case[0] for case in OPERATOR])
def test_haproxy_operator_drain_at_run_time_is_left_alone(tmp_path, take_out, put_back):
    cfg = config("haproxy", tmp_path)
    fake = fake_for(tmp_path, cfg)
    operator = agent_mod.haproxy_runtime.RuntimeClient(fake.path)
    try:
        agent = agent_mod.Agent(cfg)
        now = feed(agent, "haproxy", {"be1": 5, "be2": 5, "be3": 55})
        agent.apply(now)
        assert fake.server("shop", "be3").uweight <= 3
        take_out(operator)
        before = (fake.server("shop", "be3").admin, fake.server("shop", "be3").uweight)
        sent = len(weight_commands(fake, "be3"))
        # be3 heals and answers its remaining sessions fastest: the agent
        # would raise it to full weight, and lower the others.
        now = feed(agent, "haproxy", {"be1": 5, "be2": 5, "be3": 1}, start=now)
        agent.apply(now)
        agent.apply(now + 11)  # the periodic re-apply
        assert len(weight_commands(fake, "be3")) == sent
        assert (fake.server("shop", "be3").admin, fake.server("shop", "be3").uweight) == before
        assert fake.server("shop", "be1").uweight == fake.server("shop", "be2").uweight == 256
        # Back in service: the agent steers it again at the next re-apply.
        put_back(operator)
        agent.apply(now + 22)
        computed = agent.pools["shop"]["balancer"].weights()
        assert dict((s, fake.server("shop", s).uweight) for s in computed) == computed
        assert computed["be3"] == 256 and 100 < computed["be1"] == computed["be2"] < 200
    finally:
        fake.close()


def test_haproxy_unreadable_states_send_no_weights(tmp_path):
    """Without the servers' states the agent cannot tell an operator's drain:
    it sends nothing, and tries again after reapply_s."""
    agent = agent_mod.Agent(config("haproxy", tmp_path))
    now = feed(agent, "haproxy", {"be1": 55, "be2": 5, "be3": 5})
    agent.apply(now)  # no HAProxy on the socket yet
    fake = fake_for(tmp_path, config("haproxy", tmp_path))
    try:
        agent.apply(now + 5)
        assert fake.commands == []
        agent.apply(now + 11)
        assert fake.server("shop", "be1").uweight <= 3
    finally:
        fake.close()


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), (False, False), ("True", True), ("false", False), ("yes", True), (0, False)]
)
def test_config_flags_quoted_by_templating_are_read_as_booleans(tmp_path, value, expected):
    import json

    cfg = config("haproxy", tmp_path)
    cfg["pools"]["shop"]["servers"][0].update(drain=value, backup=value)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    server = agent_mod.load_config(str(path))["pools"]["shop"]["servers"][0]
    assert server["drain"] is expected and server["backup"] is expected
