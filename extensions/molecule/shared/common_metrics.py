"""Prometheus metrics and JSON access logs on the converged scenario, for
either engine: the metrics listener (lb_metrics_listen 0.0.0.0:9101,
allowed to loopback only) answers the node itself and refuses anyone else;
the engine's request counter rises with requests through the VIP; the VRRP
state metric (keepalived's notify -> node_exporter's textfile collector)
names the holder MASTER, and flips when the VIP moves; every request
through the VIP leaves one JSON line with its upstream, times and id."""

import http.client
import json
import re
import time
import uuid

import pytest

METRICS = "http://127.0.0.1:9101"
# The engine's count of client requests, per frontend (HAProxy) or for the
# whole node (nginx's stub_status, keepalived's health polls included).
REQUESTS = {
    "haproxy": r'^haproxy_frontend_http_requests_total\{proxy="%s"\} ([0-9.e+]+)$',
    "nginx": r"^nginx_http_requests_total ([0-9.e+]+)$",
}


def _frontend_and_pool(scenario):
    """The names of the frontend on the VIP's port and of its pool, from the
    scenario's inventory (a full lb_spec, or the simple lb_* variables)."""
    variables = scenario.runner.get_variables(scenario.lbs[0])
    spec = variables.get("lb_spec") or {}
    if not spec:
        return variables.get("lb_frontend_name", "halb_frontend"), variables.get("lb_backend_name", "halb_pool")
    frontend = next(fe for fe in spec["frontends"] if fe.get("port", 80) == scenario.port)
    return frontend["name"], frontend["pool"]


def _scrape(scenario, name, path="/metrics"):
    out = scenario.host(name).run("curl -sS -m 5 %s%s" % (METRICS, path))
    assert out.rc == 0, (name, path, out.stderr)
    return out.stdout


def _value(text, pattern):
    found = re.search(pattern, text, re.M)
    assert found, "no match for %s in:\n%s" % (pattern, text[:3000])
    return float(found.group(1))


def _vrrp_state(scenario, name):
    """The state this node's VRRP state metric names (value 1), or None."""
    text = _scrape(scenario, name, "/node/metrics")
    pattern = r'^halb_vrrp_state\{instance="[^"]+",state="([A-Z]+)",vip="%s"\} 1$' % re.escape(scenario.vip)
    found = re.search(pattern, text, re.M)
    return found.group(1) if found else None


def _wait_state(scenario, name, state, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        seen = _vrrp_state(scenario, name)
        if seen == state or time.monotonic() > deadline:
            return seen
        time.sleep(0.25)


def test_metrics_answer_the_allowed_addresses_only(scenario):
    for name in scenario.lbs:
        text = _scrape(scenario, name)
        assert "# TYPE" in text, (name, text[:500])
        assert "node_textfile_scrape_error 0" in _scrape(scenario, name, "/node/metrics"), name
        address = scenario.host(name).run("hostname -I").stdout.split()[0]
        # The test runner is not on the allow list (loopback only).
        for path in ("/metrics", "/node/metrics"):
            conn = http.client.HTTPConnection(address, 9101, timeout=3)
            try:
                conn.request("GET", path)
                assert conn.getresponse().status == 403, (name, path)
            finally:
                conn.close()


def test_the_engine_request_counter_rises_on_the_holder(scenario):
    holder = scenario.wait_owner()
    pattern = REQUESTS[scenario.engine].replace("%s", re.escape(_frontend_and_pool(scenario)[0]))
    before = _value(_scrape(scenario, holder), pattern)
    scenario.spread(60)
    after = _value(_scrape(scenario, holder), pattern)
    # nginx's exporter counts keepalived's health polls too (a few a second).
    assert after - before >= 60, (before, after)
    if scenario.engine == "haproxy":
        assert after - before == 60, (before, after)


def test_the_vrrp_state_metric_follows_the_vip(scenario):
    holder = scenario.wait_owner(scenario.lbs[0])
    peer = scenario.other(holder)
    assert (_vrrp_state(scenario, holder), _vrrp_state(scenario, peer)) == ("MASTER", "BACKUP")
    scenario.host(holder).run_expect([0], "systemctl stop keepalived")
    try:
        scenario.wait_owner(peer)
        assert _wait_state(scenario, peer, "MASTER") == "MASTER"
        # keepalived is gone: its unit's ExecStopPost says so.
        assert _vrrp_state(scenario, holder) == "STOP"
    finally:
        scenario.host(holder).run_expect([0], "systemctl start keepalived")
    scenario.wait_owner(holder)
    assert _wait_state(scenario, holder, "MASTER") == "MASTER"
    assert _wait_state(scenario, peer, "BACKUP") == "BACKUP"


def _log_lines(scenario, name, marker):
    if scenario.engine == "haproxy":
        command = "journalctl -t haproxy -o cat --no-pager -n 500"
    else:
        command = "tail -n 500 /var/log/nginx/access.log"
    return [line for line in scenario.host(name).run(command).stdout.splitlines() if marker in line]


def _logged(scenario, name, marker, timeout=5.0):
    """The JSON entry of the request with id `marker` (nginx writes its
    buffer at least every second)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = _log_lines(scenario, name, marker)
        if lines or time.monotonic() > deadline:
            assert len(lines) == 1, lines
            return json.loads(lines[0][lines[0].index("{") :])
        time.sleep(0.25)


def _get_with_id(scenario, request_id):
    conn = http.client.HTTPConnection(scenario.vip, scenario.port, timeout=3)
    try:
        conn.request("GET", "/orders?log-test", headers={"X-Request-ID": request_id})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        return resp.getheader("X-Backend")
    finally:
        conn.close()


def test_each_request_leaves_one_json_line_with_its_upstream_and_id(scenario):
    holder = scenario.wait_owner()
    marker = "log-%s" % uuid.uuid4().hex
    _get_with_id(scenario, marker)
    entry = _logged(scenario, holder, marker)
    assert entry["request_id"] == marker
    assert (entry["method"], entry["uri"], entry["status"]) == ("GET", "/orders?log-test", 200)
    assert (entry["frontend"], entry["pool"]) == _frontend_and_pool(scenario), entry
    backends = [scenario.host(name).run("hostname -I").stdout.split()[0] + ":8080" for name in scenario.backends]
    assert entry["upstream"] in backends, (entry, backends)
    # nginx reads the two times from different clocks: they may cross by 1 ms.
    assert entry["request_ms"] + 1 >= entry["upstream_response_ms"] >= 0, entry


def test_the_nginx_access_log_rotates_without_losing_a_line(scenario):
    if scenario.engine != "nginx":
        pytest.skip("HAProxy logs to the journal, which journald rotates itself")
    holder = scenario.wait_owner()
    host = scenario.host(holder)
    before, after = "rotate-%s" % uuid.uuid4().hex, "rotate-%s" % uuid.uuid4().hex
    _get_with_id(scenario, before)
    _logged(scenario, holder, before)
    # Debian's rule (daily, 14 kept, compressed from the second): nginx
    # reopens its log when told (USR1 via the package's postrotate).
    host.run_expect([0], "logrotate -f /etc/logrotate.d/nginx")
    _get_with_id(scenario, after)
    assert _logged(scenario, holder, after)["request_id"] == after
    assert host.file("/var/log/nginx/access.log.1").contains(before)
    assert not host.file("/var/log/nginx/access.log").contains(before)
