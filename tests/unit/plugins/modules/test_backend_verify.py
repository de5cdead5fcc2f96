"""The backend_verify module run through main() against real backends on loopback."""

import time

import pytest
from module_runner import run_main

from ansible_collections.halb.loadbalancer.plugins.modules import backend_verify
from ansible_collections.halb.loadbalancer.tests.unit.plugins.loopback import closed_port

# kind -> how the backend behaves; None: not an HTTP server.
KINDS = {
    "ok": {"status": 200, "body": b"ok", "delay": 0.0},
    "down": {"status": 503, "body": b"maintenance", "delay": 0.0},
    "ready": {"status": 200, "body": b"status: READY", "delay": 0.0},
    "slow": {"status": 200, "body": b"ok", "delay": 0.2},
    "refused": None,  # a port bound, then closed
    "silent": None,  # accepts connections, never answers
    "garbage": None,  # answers anything with a line that is not HTTP
}


@pytest.fixture
def backends(loopback):
    """Factory: backends(("web1", "ok"), ...) -> (servers option, {name: HTTP server or None})."""

    def start(*specs):
        servers, http_servers = [], {}
        for name, kind in specs:
            http_servers[name] = None
            if KINDS[kind] is not None:
                http_servers[name], port = loopback.http(**KINDS[kind])
            elif kind == "refused":
                port = closed_port()
            else:
                port = loopback.raw(b"220 mail.example.com ESMTP ready\r\n" if kind == "garbage" else None)
            servers.append({"name": name, "address": "127.0.0.1", "port": port})
        return servers, http_servers

    return start


@pytest.fixture
def run():
    """run(args) -> (exit code, result dict) of backend_verify.main()."""

    def call(args):
        code, result = run_main(backend_verify, args)
        assert bool(result.get("failed")) is (code == 1)
        return code, result

    return call


def fast(args):
    """Few probes and a short timeout keep the failure cases quick."""
    values = {"probes": 3, "timeout": 0.3}
    values.update(args)
    return values


@pytest.mark.parametrize(
    ("specs", "args", "failed", "unhealthy", "reasons", "msg"),
    [
        pytest.param(
            [("web1", "ok"), ("web2", "ok"), ("web3", "ok")],
            {},
            False,
            [],
            {},
            "3 of 3 backends healthy",
            id="all-healthy",
        ),
        pytest.param(
            [("web1", "ok"), ("web2", "ok"), ("web3", "refused")],
            {},
            True,
            ["web3"],
            {"web3": "refused"},
            "2 of 3 backends healthy, need at least 3; web3 (127.0.0.1:{web3}): refused x3 (connection refused)",
            id="refused-fails-by-default",
        ),
        pytest.param(
            [("web1", "ok"), ("web2", "ok"), ("web3", "refused")],
            {"min_healthy": 2},
            False,
            ["web3"],
            {"web3": "refused"},
            "2 of 3 backends healthy; web3 (127.0.0.1:{web3}): refused x3 (connection refused)",
            id="refused-tolerated-by-min_healthy",
        ),
        pytest.param(
            [("web1", "ok"), ("web2", "down")],
            {},
            True,
            ["web2"],
            {"web2": "wrong_status"},
            "1 of 2 backends healthy, need at least 2; web2 (127.0.0.1:{web2}): wrong_status x3 "
            "(got 503, expected 200)",
            id="wrong-status",
        ),
        pytest.param(
            [("web1", "ok"), ("web2", "down")],
            {"expected_status": [200, 503]},
            False,
            [],
            {},
            "2 of 2 backends healthy",
            id="status-list",
        ),
        pytest.param(
            [("web1", "ready"), ("web2", "ok")],
            {"body_contains": "READY"},
            True,
            ["web2"],
            {"web2": "body_mismatch"},
            "web2 (127.0.0.1:{web2}): body_mismatch x3 (response body does not contain 'READY')",
            id="body-mismatch",
        ),
        pytest.param(
            [("web1", "ok"), ("web2", "silent")],
            {"probes": 2},
            True,
            ["web2"],
            {"web2": "timeout"},
            "web2 (127.0.0.1:{web2}): timeout x2 (no complete answer within 0.3s)",
            id="timeout",
        ),
        pytest.param(
            [("web1", "ok"), ("mail", "garbage")],
            {"min_healthy": 1},
            False,
            ["mail"],
            {"mail": "protocol"},
            "mail (127.0.0.1:{mail}): protocol x3 (not an HTTP response: ",
            id="not-http",
        ),
        pytest.param(
            [("web1", "ok"), ("mail", "garbage"), ("silent", "silent"), ("gone", "refused")],
            {"mode": "tcp"},
            True,
            ["gone"],
            {"gone": "refused"},
            "3 of 4 backends healthy, need at least 4; gone (127.0.0.1:{gone}): refused x3",
            id="tcp-only-connects",
        ),
        pytest.param(
            [("web1", "refused"), ("web2", "down")],
            {"min_healthy": 0},
            False,
            ["web1", "web2"],
            {"web1": "refused", "web2": "wrong_status"},
            "0 of 2 backends healthy; web1 (127.0.0.1:{web1}): refused x3 (connection refused); web2 ",
            id="min_healthy-0-only-reports",
        ),
    ],
)
def test_pool(backends, run, specs, args, failed, unhealthy, reasons, msg):
    servers = backends(*specs)[0]
    code, result = run(fast(dict(args, servers=servers)))
    assert code == (1 if failed else 0)
    assert result["changed"] is False
    assert result["unhealthy"] == unhealthy
    assert (result["total"], result["healthy"]) == (len(specs), len(specs) - len(unhealthy))
    ports = {server["name"]: server["port"] for server in servers}
    assert msg.format(**ports) in result["msg"]
    for entry, server in zip(result["servers"], servers):
        assert (entry["name"], entry["address"], entry["port"]) == (server["name"], "127.0.0.1", server["port"])
        assert entry["healthy"] is (entry["name"] not in unhealthy)
        assert entry["probes"] == fast(args)["probes"]
        assert entry["top_failure"] == reasons.get(entry["name"])
        if entry["healthy"]:
            assert entry["successes"] == entry["probes"]
            assert set(entry["latency_ms"]) == {"min", "median", "p95", "max"}
            assert entry["failures"] == []
        else:
            assert entry["successes"] == 0
            assert entry["latency_ms"] is None
            assert entry["failures"][0]["reason"] == reasons[entry["name"]]
            assert entry["failures"][0]["count"] == entry["probes"]


def test_haproxy_pool_list_as_it_is_in_check_mode(backends, run):
    servers, http_servers = backends(("be1", "ok"), ("be2", "ok"))
    # The haproxy role's items carry weight and backup; one has no name.
    pool = [
        dict(servers[0], weight=2, backup=False, drain=False, max_fails=1, fail_timeout="2s"),
        {"address": "127.0.0.1", "port": servers[1]["port"], "weight": 1, "backup": True},
    ]
    code, result = run({"servers": pool, "probes": 2, "_ansible_check_mode": True})
    assert code == 0
    assert result["changed"] is False
    assert [entry["name"] for entry in result["servers"]] == ["be1", f"127.0.0.1:{servers[1]['port']}"]
    assert all("weight" not in entry and "backup" not in entry for entry in result["servers"])
    # Check mode changes nothing here, so the probes are sent all the same.
    assert [len(server.requests) for server in http_servers.values()] == [2, 2]


def test_latency_of_a_slow_backend(backends, run):
    servers = backends(("slow", "slow"))[0]
    code, result = run({"servers": servers, "probes": 3})
    assert code == 0
    latency = result["servers"][0]["latency_ms"]
    assert latency["max"] >= latency["p95"] >= latency["median"] >= latency["min"] >= 190


def test_backends_are_probed_concurrently(backends, run):
    servers = backends(*[(f"web{i}", "slow") for i in range(10)])[0]
    start = time.monotonic()
    code, result = run({"servers": servers, "probes": 1})
    elapsed = time.monotonic() - start
    assert (code, result["healthy"]) == (0, 10)
    assert elapsed < 1.5, f"10 servers with 200 ms answers took {elapsed:.2f} s: not probed in parallel"


def test_tcp_mode_warns_about_http_options(backends, run):
    servers = backends(("web1", "ok"))[0]
    code, result = run({"servers": servers, "mode": "tcp", "probes": 1, "body_contains": "READY"})
    assert code == 0
    assert result["warnings"] == ["body_contains is ignored in mode tcp: a TCP probe sends no request."]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"servers": []}, "servers is empty. List at least one backend"),
        ({"port": 0}, "servers[0].port: 0 (web1) is outside 1-65535. Set it to the TCP port"),
        ({"port": 70000}, "servers[0].port: 70000 (web1) is outside 1-65535"),
        ({"address": " "}, "servers[0].address is empty. Set it to the IP address or DNS name"),
        ({"probes": 0}, "probes: 0 is less than 1. Send at least one probe per server."),
        ({"min_success_ratio": 1.5}, "min_success_ratio: 1.5 is outside 0-1. Use 1.0 to require every probe"),
        ({"min_success_ratio": -0.1}, "min_success_ratio: -0.1 is outside 0-1."),
        ({"min_healthy": 2}, "min_healthy: 2 is more than the 1 servers listed. Lower it to 1 at most"),
        ({"min_healthy": -1}, "min_healthy: -1 is negative."),
        ({"timeout": 0}, "timeout: 0.0 must be more than 0 seconds"),
        ({"interval": -1}, "interval: -1.0 is negative. Use 0 for no pause"),
        ({"workers": 0}, "workers: 0 is less than 1."),
        ({"expected_status": []}, "expected_status is empty. List the statuses of a healthy answer"),
        ({"expected_status": [200, 999]}, "expected_status: 999 is not an HTTP status. Use statuses within 100-599"),
        ({"path": "health"}, "path: 'health' must start with /"),
        ({"path": "/a b"}, "path: '/a b' must start with / and hold no spaces"),
        ({"method": "GET /x"}, "method: 'GET /x' is not an HTTP method."),
        ({"host_header": "a\r\nX-Evil: 1"}, "host_header: 'a\\r\\nX-Evil: 1' must be a host name"),
        # A trailing newline would end the request line or header early.
        ({"path": "/health\n"}, "path: '/health\\n' must start with / and hold no spaces"),
        ({"method": "GET\n"}, "method: 'GET\\n' is not an HTTP method."),
        ({"host_header": "www.example.com\n"}, "host_header: 'www.example.com\\n' must be a host name"),
        ({"mode": "udp"}, "value of mode must be one of: http, tcp"),  # Ansible's own check
        ({"unknown": 1}, "Unsupported parameters"),
    ],
)
def test_bad_input_fails_before_any_probe(backends, run, args, message):
    servers, http_servers = backends(("web1", "ok"))
    args = dict(args)
    server = dict(servers[0], **{k: args.pop(k) for k in ("port", "address") if k in args})
    code, result = run(dict({"servers": [server]}, **args))
    assert code == 1
    assert message in result["msg"]
    assert "servers" not in result or result["servers"] == []
    assert len(http_servers["web1"].requests) == 0


def test_all_bad_options_are_reported_at_once(backends, run):
    servers, http_servers = backends(("web1", "ok"))
    code, result = run({"servers": servers, "probes": 0, "min_healthy": 5})
    assert code == 1
    assert result["msg"].startswith("probes: 0 is less than 1.")
    assert "min_healthy: 5 is more than the 1 servers listed." in result["msg"]
    assert len(http_servers["web1"].requests) == 0
