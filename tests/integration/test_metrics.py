"""The Prometheus listener (lb_metrics_listen) as the real engines serve
it on loopback: HAProxy's built-in exporter with counters that move, the
node's exporter (and nginx's) passed through, everything else 404, and
addresses outside the allow list refused. The exporters behind it are
stand-ins answering on loopback (the real ones run in Molecule)."""

import http.client
import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit", "plugins", "module_utils"))
from engines import free_ports, start

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec
from ansible_collections.halb.loadbalancer.plugins.module_utils.engine_facts import METRICS_PATH, NODE_METRICS_PATH


class _Stub(BaseHTTPRequestHandler):
    """A backend, or an exporter: answers its name and the path it got."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("%s %s\n" % (self.server.name, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(name):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.name = name
    Thread(target=server.serve_forever, daemon=True).start()
    return server


def _get(port, path, host="127.0.0.1", source="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=3, source_address=(source, 0))
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


@pytest.fixture(params=lb_spec.ENGINES)
def metrics(request, tmp_path):
    """(frontend port, metrics port): the engine with one frontend, its
    metrics on 127.0.0.1 allowed to 127.0.0.1 only."""
    stubs = [_serve(name) for name in ("backend", "node_exporter", "nginx_exporter")]
    port, metrics_port, health_port = free_ports(3)
    spec = lb_spec.parse(
        {
            "pools": [{"name": "app", "health_check": {"enabled": False},
                       "servers": [{"name": "be1", "address": "127.0.0.1", "port": stubs[0].server_address[1]}]}],
            "frontends": [{"name": "www", "bind": "127.0.0.1", "port": port, "pool": "app"}],
        },
        request.param,
    )  # fmt: skip
    options = {
        "metrics_listen": "127.0.0.1:%d" % metrics_port,
        "metrics_allow": ("127.0.0.1/32",),
        "node_exporter": "127.0.0.1:%d" % stubs[1].server_address[1],
        "health_listen": "127.0.0.1:%d" % health_port,
    }
    if request.param == "nginx":
        options["nginx_exporter"] = "127.0.0.1:%d" % stubs[2].server_address[1]
    proc = start(request.param, spec, tmp_path, **options)
    deadline = time.monotonic() + 10
    while True:
        try:
            _get(port, "/ready")
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
            time.sleep(0.1)
    yield request.param, port, metrics_port
    proc.terminate()
    proc.wait(10)
    for stub in stubs:
        stub.shutdown()


def _haproxy_requests(metrics_port):
    status, text = _get(metrics_port, METRICS_PATH)
    assert status == 200, text
    found = re.search(r'^haproxy_frontend_http_requests_total\{proxy="www"\} ([0-9]+)$', text, re.M)
    assert found, text[:2000]
    return int(found.group(1))


def test_the_engine_metrics_and_the_node_exporter_behind_one_listener(metrics):
    engine, port, metrics_port = metrics
    if engine == "haproxy":
        before = _haproxy_requests(metrics_port)
        for _ in range(25):
            assert _get(port, "/")[0] == 200
        assert _haproxy_requests(metrics_port) == before + 25
    else:
        assert _get(metrics_port, METRICS_PATH) == (200, "nginx_exporter %s\n" % METRICS_PATH)
    # The node exporter is asked for its own /metrics.
    assert _get(metrics_port, NODE_METRICS_PATH) == (200, "node_exporter %s\n" % METRICS_PATH)
    assert _get(metrics_port, "/")[0] == 404
    assert _get(metrics_port, "/node/metrics/x")[0] == 404


def test_an_address_outside_the_allow_list_is_refused(metrics):
    _engine, _port, metrics_port = metrics
    for path in (METRICS_PATH, NODE_METRICS_PATH, "/"):
        assert _get(metrics_port, path, source="127.0.0.2")[0] == 403
