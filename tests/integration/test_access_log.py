"""access_log (all, errors, off) as the real engines log: each engine runs
the rendered config on loopback, three frontends in front of one backend
that answers 200 on /ok and 503 on /fail, and the test reads what reached
the log (HAProxy: syslog datagrams to a UDP socket of the test's; nginx:
its access log file, written in 64 KB buffers at least every second) and
a remote syslog server (another UDP socket), in both formats."""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit", "plugins", "module_utils"))
from engines import HAPROXY, NGINX, free_ports

from ansible_collections.halb.loadbalancer.plugins.module_utils import (
    lb_spec,
    render_haproxy,
    render_nginx,
    spec_logging,
)

LEVELS = ("all", "errors", "off")


class _Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.endswith("/slow"):
            time.sleep(SLOW_S)
        self.send_response(503 if self.path.endswith("/fail") else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


SLOW_S = 0.12


def _get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _udp_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def _reader(sock, lines):
    """Every syslog datagram that reached sock so far."""

    def read():
        while True:
            try:
                lines.append(sock.recv(65536).decode())
            except BlockingIOError:
                return list(lines)

    return read


@pytest.fixture(scope="module")
def backend():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@contextmanager
def _running(name, backend, tmp_path, log_format):
    """({level: port}, read_log, read_remote): the engine on loopback with
    one frontend per access_log level, logging in log_format locally and
    to a remote syslog server (a UDP socket of the test's)."""
    ports = dict(zip(LEVELS, free_ports(len(LEVELS))))
    remote = _udp_socket()
    spec = lb_spec.parse(
        {
            "pools": [{"name": "app", "servers": [{"name": "be1", "address": "127.0.0.1", "port": backend}],
                       "health_check": {"enabled": False}}],
            "frontends": [{"name": "fe_" + level, "bind": "127.0.0.1", "port": port, "pool": "app",
                           "access_log": level} for level, port in ports.items()],
            "logging": {"format": log_format,
                        "syslog": {"address": "127.0.0.1", "port": remote.getsockname()[1]}},
        },
        name,
    )  # fmt: skip
    local = None
    if name == "haproxy":
        local = _udp_socket()
        log_target = "127.0.0.1:%d local0" % local.getsockname()[1]
        text = render_haproxy.render(spec, runtime_socket=str(tmp_path / "admin.sock"), server_state_file=None,
                                     log=log_target)  # fmt: skip
        config = tmp_path / "haproxy.cfg"
        command = [HAPROXY, "-db", "-f", str(config)]
        read_log = _reader(local, [])
    else:
        access_log = tmp_path / "access.log"
        text = render_nginx.render(spec, pid=str(tmp_path / "nginx.pid"), error_log=str(tmp_path / "error.log"),
                                   access_log=str(access_log), cache_dir=str(tmp_path))  # fmt: skip
        config = tmp_path / "nginx.conf"
        command = [NGINX, "-c", str(config), "-g", "daemon off;"]

        def read_log():
            return access_log.read_text().splitlines() if access_log.exists() else []

    config.write_text(text)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                _get(ports["all"], "/ready")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
                time.sleep(0.1)
        yield ports, read_log, _reader(remote, [])
    finally:
        proc.terminate()
        proc.wait(10)
        for sock in (local, remote):
            if sock:
                sock.close()


@pytest.fixture(params=[(name, log_format) for name in lb_spec.ENGINES for log_format in spec_logging.FORMATS],
                ids="-".join)  # fmt: skip
def engine(request, backend, tmp_path):
    with _running(request.param[0], backend, tmp_path, request.param[1]) as running:
        yield running


@pytest.fixture(params=lb_spec.ENGINES)
def json_engine(request, backend, tmp_path):
    with _running(request.param, backend, tmp_path, "json") as running:
        yield running


def _logged(read_log, marker, want, timeout=3.0):
    """Log lines naming marker, once `want` are there or timeout passed
    (nginx writes its buffer at least every second)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in read_log() if marker in line]
        if len(found) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_each_level_logs_what_it_says(engine):
    ports, read_log, _read_remote = engine
    for level, port in ports.items():
        assert [_get(port, "/%s/ok" % level) for _ in range(3)] == [200] * 3
        assert [_get(port, "/%s/fail" % level) for _ in range(2)] == [503] * 2
    # all: every request; errors: the two 503s; off: nothing. What "all"
    # logs shows the log works, so the other two are not silent by accident.
    assert len(_logged(read_log, "/all/ok", 3)) == 3
    assert len(_logged(read_log, "/all/fail", 2)) == 2
    assert len(_logged(read_log, "/errors/fail", 2)) == 2
    assert _logged(read_log, "/errors/ok", 1, timeout=1.5) == []
    assert _logged(read_log, "/off/", 1, timeout=0.5) == []


def _json(line):
    """The JSON object of a log line (a syslog datagram has a header first)."""
    return json.loads(line[line.index("{") :])


def test_json_lines_carry_one_schema_on_both_engines(json_engine, backend):
    ports, read_log, read_remote = json_engine
    assert _get(ports["all"], "/all/kept", {"X-Request-ID": "order-42.a:1"}) == 200
    # Not an id (a quote, a space): replaced, so the log stays valid JSON.
    assert _get(ports["all"], "/all/replaced", {"X-Request-ID": 'a b"c'}) == 200
    assert _get(ports["all"], "/all/new") == 200
    assert _get(ports["all"], "/all/slow") == 200
    assert _get(ports["all"], "/all/fail") == 503
    lines = dict(
        (marker, _logged(read_log, "/all/" + marker, 1)) for marker in ("kept", "replaced", "new", "slow", "fail")
    )
    entries = dict((marker, _json(found[0])) for marker, found in lines.items() if found)
    assert sorted(entries) == ["fail", "kept", "new", "replaced", "slow"], lines
    names = [field[0] for field in spec_logging.HTTP_FIELDS]
    for entry in entries.values():
        assert list(entry) == names
        assert entry["client"] == "127.0.0.1"
        assert entry["frontend"] == "fe_all"
        assert entry["pool"] == "app"
        assert entry["upstream"] == "127.0.0.1:%d" % backend
        assert entry["method"] == "GET"
        assert re.match(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-]", entry["time"]), entry
        assert isinstance(entry["request_ms"], int) and isinstance(entry["upstream_response_ms"], int)
    assert entries["kept"]["request_id"] == "order-42.a:1"
    assert re.match(spec_logging.REQUEST_ID_PATTERN, entries["replaced"]["request_id"])
    assert entries["replaced"]["request_id"] != entries["new"]["request_id"]
    assert (entries["kept"]["status"], entries["fail"]["status"]) == (200, 503)
    assert entries["kept"]["uri"] == "/all/kept"
    # Milliseconds on both engines: the backend took SLOW_S to answer.
    slow_ms = SLOW_S * 1000
    # nginx reads the two times from different clocks: a 1 ms overlap.
    assert slow_ms <= entries["slow"]["upstream_response_ms"] <= entries["slow"]["request_ms"] + 1
    assert slow_ms <= entries["slow"]["request_ms"] < slow_ms + 500
    assert 0 <= entries["new"]["upstream_response_ms"] < slow_ms
    # The same lines reach the remote syslog server.
    remote = _logged(read_remote, "/all/slow", 1)
    assert remote and _json(remote[0]) == entries["slow"]


def test_a_remote_syslog_server_gets_what_each_level_logs(json_engine):
    ports, _read_log, read_remote = json_engine
    assert _get(ports["errors"], "/errors/ok") == 200
    assert _get(ports["errors"], "/errors/fail") == 503
    assert _get(ports["off"], "/off/fail") == 503
    assert len(_logged(read_remote, "/errors/fail", 1)) == 1
    assert _logged(read_remote, "/errors/ok", 1, timeout=1.5) == []
    assert _logged(read_remote, "/off/", 1, timeout=0.5) == []


def test_access_log_is_refused_on_a_tcp_frontend():
    data = {
        "pools": [{"name": "db", "servers": [{"name": "db1", "address": "192.0.2.5", "port": 5432}]}],
        "frontends": [{"name": "pg", "mode": "tcp", "port": 5432, "pool": "db", "access_log": "errors"}],
    }
    with pytest.raises(lb_spec.SpecError, match=r"frontends\[0\]\.access_log: needs mode: http"):
        lb_spec.parse(data, "haproxy")


@pytest.mark.parametrize("value", ["none", "ALL", True, "all\n"])
def test_an_unknown_level_names_the_field_and_the_choices(value):
    data = {
        "pools": [{"name": "app", "servers": [{"name": "be1", "address": "192.0.2.5", "port": 80}]}],
        "frontends": [{"name": "www", "pool": "app", "access_log": value}],
    }
    with pytest.raises(lb_spec.SpecError, match=r"frontends\[0\]\.access_log: unknown level .*Use all, errors or off"):
        lb_spec.parse(data, "nginx")
