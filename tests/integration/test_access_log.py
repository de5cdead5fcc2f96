"""access_log (all, errors, off) as the real engines log: each engine runs
the rendered config on loopback, three frontends in front of one backend
that answers 200 on /ok and 503 on /fail, and the test reads what reached
the log (HAProxy: syslog datagrams to a UDP socket of the test's; nginx:
its access log file, written in 64 KB buffers at least every second)."""

import http.client
import os
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit", "plugins", "module_utils"))
from engines import HAPROXY, NGINX, free_ports

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec, render_haproxy, render_nginx

LEVELS = ("all", "errors", "off")


class _Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(503 if self.path.endswith("/fail") else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@pytest.fixture(scope="module")
def backend():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture(params=lb_spec.ENGINES)
def engine(request, backend, tmp_path):
    """({level: port}, read_log): read_log() returns every log line so far."""
    name = request.param
    ports = dict(zip(LEVELS, free_ports(len(LEVELS))))
    spec = lb_spec.parse(
        {
            "pools": [{"name": "app", "servers": [{"name": "be1", "address": "127.0.0.1", "port": backend}],
                       "health_check": {"enabled": False}}],
            "frontends": [{"name": "fe_" + level, "bind": "127.0.0.1", "port": port, "pool": "app",
                           "access_log": level} for level, port in ports.items()],
        },
        name,
    )  # fmt: skip
    if name == "haproxy":
        syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        syslog.bind(("127.0.0.1", 0))
        syslog.setblocking(False)
        log_target = "127.0.0.1:%d local0" % syslog.getsockname()[1]
        text = render_haproxy.render(spec, runtime_socket=str(tmp_path / "admin.sock"), server_state_file=None,
                                     log=log_target)  # fmt: skip
        config = tmp_path / "haproxy.cfg"
        command = [HAPROXY, "-db", "-f", str(config)]
        lines = []

        def read_log():
            while True:
                try:
                    lines.append(syslog.recv(65536).decode())
                except BlockingIOError:
                    return list(lines)

    else:
        syslog = None
        access_log = tmp_path / "access.log"
        text = render_nginx.render(spec, pid=str(tmp_path / "nginx.pid"), error_log=str(tmp_path / "error.log"),
                                   access_log=str(access_log), cache_dir=str(tmp_path))  # fmt: skip
        config = tmp_path / "nginx.conf"
        command = [NGINX, "-c", str(config), "-g", "daemon off;"]

        def read_log():
            return access_log.read_text().splitlines() if access_log.exists() else []

    config.write_text(text)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            _get(ports["all"], "/ready")
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
            time.sleep(0.1)
    yield ports, read_log
    proc.terminate()
    proc.wait(10)
    if syslog:
        syslog.close()


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
    ports, read_log = engine
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
