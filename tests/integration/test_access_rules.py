"""Access rules and rate limits as the real engines enforce them: each
engine runs the rendered config on loopback in front of a local backend,
and clients connect from different loopback source addresses (127.0.0.x).
The Molecule scenarios prove the same through the VIP."""

import http.client
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit", "plugins", "module_utils"))
from engines import HAPROXY, NGINX, free_ports, make_cert

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lab"))
from ansible_collections.halb.loadbalancer.plugins.module_utils import (
    balancer_lua,
    lb_spec,
    render_haproxy,
    render_nginx,
)
from halblab import tls_ca

RATE = 5  # requests per second per client on the rate-limited frontend


class _Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("X-Powered-By", "PHP/8.2.7")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _get(port, path, source, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3, source_address=(source, 0))
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        if headers is not None:
            headers.update((k.lower(), v) for k, v in resp.getheaders())
        return resp.status
    except (ConnectionError, http.client.RemoteDisconnected):
        return "refused"  # an engine closing a TCP connection it rejects
    finally:
        conn.close()


@pytest.fixture(scope="module")
def backend():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def _sni_bundle(directory):
    cert, key = tls_ca.Authority().issue(["admin.halb.test", "*.api.halb.test"])
    path = directory / "admin.pem"
    path.write_text(tls_ca.cert_pem(cert) + tls_ca.key_pem(key))
    return str(path)


def _served_name(port, server_name):
    """The first DNS name of the certificate served for server_name (SNI)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=3) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as conn,
    ):
        der = conn.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    return cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value


@pytest.fixture(params=lb_spec.ENGINES)
def engine(request, backend, tmp_path):
    """The engine serving `shop` (ACLs) and `limited` (rate limit) on loopback."""
    name = request.param
    names = ("shop", "limited", "strict", "secure", "plain")
    ports = dict(zip(names, free_ports(len(names))))
    spec = lb_spec.parse(
        {
            "pools": [{"name": "app", "servers": [{"name": "be1", "address": "127.0.0.1", "port": backend}]}],
            "frontends": [
                {
                    "name": "shop", "bind": "127.0.0.1", "port": ports["shop"], "pool": "app",
                    "security_headers": {"X-Frame-Options": "DENY"},
                    "acl": {
                        "deny": ["127.0.0.3/32"],
                        "paths": [{"prefix": "/admin", "allow": ["127.0.0.1/32", "::1/128"]}],
                    },
                },
                {"name": "limited", "bind": "127.0.0.1", "port": ports["limited"], "pool": "app", "rate_limit": RATE},
                {"name": "strict", "bind": "127.0.0.1", "port": ports["strict"], "pool": "app",
                 "rate_limit": {"requests_per_second": RATE, "burst": 0, "status": 503}},
                {"name": "secure", "bind": "127.0.0.1", "port": ports["secure"], "pool": "app",
                 "tls": {"certificate": make_cert(str(tmp_path)), "redirect_http": ports["plain"],
                         "sni": [{"names": ["admin.halb.test", "*.api.halb.test"],
                                  "certificate": _sni_bundle(tmp_path)}]}},
            ],
        },
        name,
    )  # fmt: skip
    (tmp_path / balancer_lua.FILE_NAME).write_text(balancer_lua.source(name))
    if name == "haproxy":
        text = render_haproxy.render(spec, runtime_socket=str(tmp_path / "admin.sock"), server_state_file=None,
                                     lua_dir=str(tmp_path))  # fmt: skip
        config = tmp_path / "haproxy.cfg"
        command = [HAPROXY, "-db", "-f", str(config)]
    else:
        (tmp_path / "cache").mkdir()
        text = render_nginx.render(spec, pid=str(tmp_path / "nginx.pid"), error_log=str(tmp_path / "error.log"),
                                   access_log=str(tmp_path / "access.log"), cache_dir=str(tmp_path / "cache"),
                                   lua_dir=str(tmp_path))  # fmt: skip
        config = tmp_path / "nginx.conf"
        command = [NGINX, "-c", str(config), "-g", "daemon off;"]
    config.write_text(text)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while _get(ports["shop"], "/", "127.0.0.1") != 200:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
        time.sleep(0.1)
    yield ports
    proc.terminate()
    proc.wait(10)


@pytest.mark.parametrize("host", ["shop.example", "192.0.2.7", "[2001:db8::7]"])
def test_plain_http_redirects_to_the_same_host_on_the_tls_port(engine, host):
    """The plain port in the Host header never leaks into the redirect."""
    for sent in (host, "%s:%d" % (host, engine["plain"])):
        conn = http.client.HTTPConnection("127.0.0.1", engine["plain"], timeout=3)
        conn.request("GET", "/orders?page=2", headers={"Host": sent})
        resp = conn.getresponse()
        conn.close()
        location = "https://%s:%d/orders?page=2" % (host, engine["secure"])
        assert (resp.status, resp.getheader("Location")) == (301, location)


@pytest.mark.parametrize(("server_name", "served"), [
    ("admin.halb.test", "admin.halb.test"),
    ("ADMIN.halb.test", "admin.halb.test"),
    ("v2.api.halb.test", "admin.halb.test"),
    ("shop.halb.test", "halb.test"),  # no entry: the default certificate
    ("api.halb.test", "halb.test"),
])  # fmt: skip
def test_each_server_name_gets_its_certificate(engine, server_name, served):
    assert _served_name(engine["secure"], server_name) == served


def test_a_denied_network_gets_403_and_the_rest_200(engine):
    assert _get(engine["shop"], "/products", "127.0.0.2") == 200
    assert _get(engine["shop"], "/products", "127.0.0.3") == 403


def test_an_admin_path_answers_its_allow_list_only(engine):
    assert _get(engine["shop"], "/admin/orders", "127.0.0.1") == 200
    assert _get(engine["shop"], "/admin/orders", "127.0.0.2") == 403
    assert _get(engine["shop"], "/products", "127.0.0.2") == 200  # other paths stay open


def test_the_rate_limit_answers_429_above_it_and_200_below(engine):
    # Below the limit: one request every 0.3 s stays under 5 per second.
    below = []
    for _ in range(6):
        below.append(_get(engine["limited"], "/", "127.0.0.4"))
        time.sleep(0.3)
    assert below == [200] * 6, below
    # Above it: 40 back to back from one client; another client is not affected.
    burst = [_get(engine["limited"], "/", "127.0.0.5") for _ in range(40)]
    assert 429 in burst and burst.count(200) <= 2 * RATE + 2, burst
    assert _get(engine["limited"], "/", "127.0.0.6") == 200


def test_a_rate_limit_without_burst_answers_its_own_status(engine):
    """burst 0: back to back, the rate is all that passes in the first
    second (nginx: one at once, then one per 1/rate s), and the rest get
    the configured status."""
    began = time.monotonic()
    burst = [_get(engine["strict"], "/", "127.0.0.7") for _ in range(40)]
    assert time.monotonic() - began < 1.0, "too slow to test a one-second window"
    assert set(burst) == {200, 503}, burst
    assert 1 <= burst.count(200) <= RATE, burst
    # The default burst (one second's worth) lets more through at once.
    assert burst.count(200) < [_get(engine["limited"], "/", "127.0.0.8") for _ in range(40)].count(200)


def test_security_headers_come_with_every_answer_and_no_version_banner(engine):
    for path, source, status in (("/products", "127.0.0.2", 200), ("/admin", "127.0.0.2", 403)):
        headers = {}
        assert _get(engine["shop"], path, source, headers) == status
        assert headers["x-content-type-options"] == "nosniff", headers
        assert headers["x-frame-options"] == "DENY", headers
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", headers
        assert headers.get("server", "") in ("", "nginx"), headers  # never a version
        assert "x-powered-by" not in headers, headers
    # Without security_headers, none are added.
    plain = {}
    _get(engine["limited"], "/", "127.0.0.7", plain)
    assert "x-frame-options" not in plain, plain
