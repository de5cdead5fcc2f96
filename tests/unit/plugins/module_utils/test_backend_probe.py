"""Backend probes against real servers on loopback: HTTP, TCP, failures, latency."""

import errno
import socket
import time

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import backend_probe as bp
from ansible_collections.halb.loadbalancer.tests.unit.plugins.loopback import closed_port


@pytest.fixture
def http_backend(loopback):
    """Factory: start an HTTP server on loopback, return (server, port)."""
    return loopback.http


@pytest.fixture
def raw_listener(loopback):
    """Factory: a TCP listener on 127.0.0.1 whose connections get `reply` (None: silence until closed)."""
    return loopback.raw


def ipv6_loopback_available():
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            sock.bind(("::1", 0))
        finally:
            sock.close()
    except OSError:
        return False
    return True


def settings(**overrides):
    values = {"probes": 3, "timeout": 1.0}
    values.update(overrides)
    return bp.ProbeSettings(**values)


# --- percentiles and summaries -------------------------------------------


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([7], 95, 7),
        ([1, 2, 3, 4, 5], 95, 5),  # ceil(4.75) = 5: with 5 values p95 is the max
        ([1, 2, 3, 4, 5], 50, 3),
        ([5, 1, 4, 2, 3], 50, 3),  # order of input does not matter
        (list(range(1, 21)), 95, 19),  # ceil(19.0) = 19
        (list(range(1, 101)), 95, 95),
        (list(range(1, 11)), 95, 10),  # ceil(9.5) = 10
        (list(range(1, 11)), 90, 9),
        ([3, 1, 2], 0, 1),  # rank is at least 1
        ([3, 1, 2], 100, 3),
        ([15, 20, 35, 40, 50], 30, 20),  # ceil(1.5) = 2
    ],
)
def test_nearest_rank(values, percent, expected):
    assert bp.nearest_rank(values, percent) == expected


@pytest.mark.parametrize(("values", "percent"), [([], 95), ([1], 101), ([1], -1)])
def test_nearest_rank_rejects(values, percent):
    with pytest.raises(ValueError):
        bp.nearest_rank(values, percent)


@pytest.mark.parametrize(
    ("latencies", "expected"),
    [
        ([], None),
        ([2.0], {"min": 2.0, "median": 2.0, "p95": 2.0, "max": 2.0}),
        ([4.0, 1.0, 3.0, 2.0], {"min": 1.0, "median": 2.5, "p95": 4.0, "max": 4.0}),
        ([1.23456, 1.23456], {"min": 1.235, "median": 1.235, "p95": 1.235, "max": 1.235}),
    ],
)
def test_latency_summary(latencies, expected):
    assert bp.latency_summary(latencies) == expected


def test_failures_grouped_most_frequent_first():
    results = [
        {"ok": False, "reason": "timeout", "detail": "t"},
        {"ok": True, "reason": None, "detail": None},
        {"ok": False, "reason": "wrong_status", "detail": "got 503, expected 200"},
        {"ok": False, "reason": "wrong_status", "detail": "got 500, expected 200"},
        {"ok": False, "reason": "timeout", "detail": "t"},
    ]
    failures = bp.group_failures(results)
    assert failures == [
        {"reason": "timeout", "detail": "t", "count": 2},
        {"reason": "wrong_status", "detail": "got 503, expected 200", "count": 1},
        {"reason": "wrong_status", "detail": "got 500, expected 200", "count": 1},
    ]
    # Summed over details wrong_status has 2 too; the tie goes to the one seen first.
    assert bp.top_failure(failures) == "timeout"
    assert bp.top_failure(failures[1:]) == "wrong_status"
    assert bp.top_failure([]) is None


@pytest.mark.parametrize(
    ("address", "port", "expected"),
    [
        ("192.0.2.1", 80, "192.0.2.1:80"),
        ("2001:db8::1", 8080, "[2001:db8::1]:8080"),
        ("[2001:db8::1]", 8080, "[2001:db8::1]:8080"),
        ("web1.example.com", 443, "web1.example.com:443"),
    ],
)
def test_endpoint(address, port, expected):
    assert bp.endpoint(address, port) == expected


# --- single probes against real servers ----------------------------------


@pytest.mark.parametrize(
    ("status", "body", "overrides", "reason", "detail"),
    [
        (200, b"ok", {}, None, None),
        (204, b"", {"expected_status": [200, 204]}, None, None),
        (204, b"", {"expected_status": 204}, None, None),
        (503, b"down", {}, "wrong_status", "got 503, expected 200"),
        (200, b"ok", {"expected_status": [201, 202]}, "wrong_status", "got 200, expected 201 or 202"),
        (200, b"<h1>status: READY</h1>", {"body_contains": "READY"}, None, None),
        (200, b"<h1>status: starting</h1>", {"body_contains": "READY"}, "body_mismatch", "does not contain 'READY'"),
        # Marker straddling two reads of 64 KiB.
        (200, b"x" * 65534 + b"READY", {"body_contains": "READY"}, None, None),
        (503, b"READY", {"body_contains": "READY"}, "wrong_status", "got 503"),  # status is checked first
        (200, b"ok", {"method": "HEAD"}, None, None),
    ],
)
def test_http_probe(http_backend, status, body, overrides, reason, detail):
    server, port = http_backend(status=status, body=body)
    result = bp.probe_once("127.0.0.1", port, settings(**overrides))
    assert result["reason"] == reason
    assert result["ok"] is (reason is None)
    if detail:
        assert detail in result["detail"]
    assert result["latency_ms"] > 0
    assert server.requests[0]["method"] == overrides.get("method", "GET")
    assert server.requests[0]["path"] == "/health"


@pytest.mark.parametrize(
    ("host_header", "expected"),
    [(None, "127.0.0.1:{port}"), ("www.example.com", "www.example.com")],
)
def test_host_header(http_backend, host_header, expected):
    server, port = http_backend()
    result = bp.probe_once("127.0.0.1", port, settings(host_header=host_header, path="/ready?full=1"))
    assert result["ok"]
    assert server.requests == [{"method": "GET", "path": "/ready?full=1", "host": expected.format(port=port)}]


@pytest.mark.parametrize("address", ["::1", "[::1]"])
def test_ipv6_http_and_tcp(http_backend, address):
    if not ipv6_loopback_available():
        pytest.skip("cannot bind ::1 on this machine: no IPv6 loopback")
    server, port = http_backend(host="::1")
    assert bp.probe_once(address, port, settings())["ok"]
    assert server.requests[0]["host"] == f"[::1]:{port}"  # bracketed in the Host header
    assert bp.probe_once(address, port, settings(mode="tcp"))["ok"]


def test_dns_name(http_backend):
    # Only a name /etc/hosts maps to loopback, so no query leaves the machine.
    try:
        with open("/etc/hosts") as handle:
            hosts = handle.read().split()
    except OSError:
        hosts = []
    if "localhost" not in hosts:
        pytest.skip("localhost is not in /etc/hosts; resolving it could query a DNS server")
    port = http_backend()[1]
    assert bp.probe_once("localhost", port, settings())["ok"]


def test_refused():
    for mode in ("http", "tcp"):
        result = bp.probe_once("127.0.0.1", closed_port(), settings(mode=mode))
        assert (result["ok"], result["reason"], result["detail"]) == (False, "refused", "connection refused")


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not an HTTP response"),
        (b"", "not an HTTP response"),  # closed without a word
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "95 bytes of the body missing"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort", "incomplete HTTP response"),
    ],
)
def test_not_http_is_protocol(raw_listener, reply, detail):
    port = raw_listener(reply)
    result = bp.probe_once("127.0.0.1", port, settings())
    assert result["reason"] == "protocol"
    assert detail in result["detail"]
    # The same listener is fine for a TCP probe: it only has to accept.
    assert bp.probe_once("127.0.0.1", port, settings(mode="tcp"))["ok"]


def test_timeout_bounds_the_whole_probe(raw_listener):
    port = raw_listener(None)  # accepts, never answers
    start = time.monotonic()
    result = bp.probe_once("127.0.0.1", port, settings(timeout=0.3))
    elapsed = time.monotonic() - start
    assert (result["reason"], result["detail"]) == ("timeout", "no complete answer within 0.3s")
    assert 0.25 <= elapsed < 1.0


def test_slow_answer_is_timeout(http_backend):
    port = http_backend(delay=0.5)[1]
    assert bp.probe_once("127.0.0.1", port, settings(timeout=0.2))["reason"] == "timeout"


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (OSError(errno.EHOSTUNREACH, "No route to host"), "No route to host"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "Network is unreachable"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "cannot resolve the address"),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "Connection reset by peer"),
    ],
)
def test_other_network_errors_are_unreachable(monkeypatch, error, detail):
    # No packet is sent: the failure is injected where the connection is made.
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(bp.socket, "create_connection", fail)
    for mode in ("http", "tcp"):
        result = bp.probe_once("backend.invalid", 80, settings(mode=mode))
        assert result["reason"] == "unreachable"
        assert detail in result["detail"]


# --- servers --------------------------------------------------------------


def test_latency_stats_of_a_slow_server(http_backend):
    port = http_backend(delay=0.05)[1]
    result = bp.probe_server({"address": "127.0.0.1", "port": port}, settings(probes=5))
    assert (result["healthy"], result["successes"], result["probes"]) == (True, 5, 5)
    latency = result["latency_ms"]
    assert latency["median"] >= 45
    assert latency["max"] >= latency["p95"] >= latency["median"] >= latency["min"] >= 45
    assert result["failures"] == []
    assert result["top_failure"] is None
    assert result["name"] == f"127.0.0.1:{port}"


def test_failing_server_summary():
    port = closed_port()
    result = bp.probe_server({"address": "127.0.0.1", "port": port, "name": "web3"}, settings(probes=4))
    assert result["healthy"] is False
    assert result["successes"] == 0
    assert result["latency_ms"] is None
    assert result["failures"] == [{"reason": "refused", "detail": "connection refused", "count": 4}]
    assert result["top_failure"] == "refused"
    assert bp.describe_unhealthy(result) == f"web3 (127.0.0.1:{port}): refused x4 (connection refused)"
    result["name"] = f"127.0.0.1:{port}"  # the default name is not repeated
    assert bp.describe_unhealthy(result) == f"127.0.0.1:{port}: refused x4 (connection refused)"


class _Flaky:
    """Stands in for probe_once: fails the probes whose index is listed."""

    def __init__(self, failing):
        self.failing, self.calls = failing, 0

    def __call__(self, address, port, settings):
        index, self.calls = self.calls, self.calls + 1
        if index in self.failing:
            return {"ok": False, "latency_ms": 1.0, "reason": "timeout", "detail": "slow"}
        return {"ok": True, "latency_ms": 1.0, "reason": None, "detail": None}


@pytest.mark.parametrize(
    ("probes", "failing", "ratio", "healthy"),
    [
        (5, (), 1.0, True),
        (5, (0,), 1.0, False),
        (5, (0,), 0.8, True),  # 4 of 5 meets 0.8 exactly
        (5, (0, 1), 0.8, False),
        (5, (0, 1, 2, 3, 4), 0.0, True),
        (5, (0, 1, 2), 0.4, True),
        (5, (0, 1, 2, 3), 0.4, False),
        (25, tuple(range(18)), 0.28, True),  # 0.28 * 25 is 7.000000000000001 in floats; 7 successes do
        (25, tuple(range(19)), 0.28, False),
    ],
)
def test_min_success_ratio(monkeypatch, probes, failing, ratio, healthy):
    monkeypatch.setattr(bp, "probe_once", _Flaky(set(failing)))
    result = bp.probe_server({"address": "192.0.2.1", "port": 80}, settings(probes=probes, min_success_ratio=ratio))
    assert result["healthy"] is healthy
    assert result["successes"] == probes - len(failing)


def test_interval_between_probes_not_after_the_last(http_backend):
    port = http_backend()[1]
    pauses = []
    bp.probe_server({"address": "127.0.0.1", "port": port}, settings(probes=3, interval=0.25), sleep=pauses.append)
    assert pauses == [0.25, 0.25]


def test_partly_healthy_message():
    results = [
        {"name": "web1", "address": "192.0.2.11", "port": 80, "healthy": True, "successes": 5, "probes": 5,
         "failures": []},
        {"name": "web2", "address": "2001:db8::12", "port": 80, "healthy": False, "successes": 3, "probes": 5,
         "failures": [{"reason": "timeout", "detail": "no complete answer within 2s", "count": 2}]},
    ]  # fmt: skip
    assert bp.summary_message(results) == (
        "1 of 2 backends healthy; web2 ([2001:db8::12]:80): timeout x2 (no complete answer within 2s), 3 of 5 probes ok"
    )
    assert bp.summary_message(results, min_healthy=2).startswith("1 of 2 backends healthy, need at least 2; web2")
    assert bp.summary_message(results[:1], min_healthy=1) == "1 of 1 backends healthy"


def test_servers_probed_concurrently_in_input_order(http_backend):
    ports = [http_backend(delay=0.2)[1] for index in range(6)]
    servers = [{"address": "127.0.0.1", "port": port, "name": f"b{i}"} for i, port in enumerate(ports)]
    start = time.monotonic()
    results = bp.probe_servers(servers, settings(probes=1), workers=6)
    assert time.monotonic() - start < 1.0  # sequential would take 1.2 s
    assert [r["name"] for r in results] == [f"b{i}" for i in range(6)]
    assert all(r["healthy"] for r in results)
    assert bp.probe_servers([], settings()) == []
