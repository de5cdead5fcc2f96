"""The drill's load engine against real servers on loopback, and its arithmetic."""

import threading
import time

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import load_client
from ansible_collections.halb.loadbalancer.plugins.module_utils.load_client import Record, Target
from ansible_collections.halb.loadbalancer.tests.unit.plugins.loopback import closed_port

# A keep-alive answer after which the server closes the connection anyway:
# the next request on that connection meets a closed socket.
CLOSING_REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Backend: raw\r\n\r\nok"


def test_stops_at_max_requests(loopback):
    _server, port = loopback.http()
    records = load_client.run(Target("127.0.0.1", port), seconds=10, connections=4, max_requests=40)
    assert len(records) == 40
    assert all(r.ok and r.status == 200 for r in records)
    assert [r.start for r in records] == sorted(r.start for r in records)


def test_stops_at_its_deadline(loopback):
    _server, port = loopback.http(delay=0.02)
    began = time.monotonic()
    records = load_client.run(Target("127.0.0.1", port), seconds=0.5, connections=2, max_requests=100000)
    assert time.monotonic() - began < 0.5 + 1.0
    assert 5 <= len(records) <= 2 * 0.5 / 0.02 + 2


@pytest.mark.parametrize("interval", [0.0, 0.05])
def test_stops_early_when_told(loopback, interval):
    _server, port = loopback.http(delay=0.01)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    began = time.monotonic()
    records = load_client.run(Target("127.0.0.1", port), seconds=30, connections=2, interval=interval, stop=stop)
    assert time.monotonic() - began < 0.3 + 1.0
    assert records and all(r.ok for r in records)


def test_paced_connections_send_one_request_per_interval(loopback):
    server, port = loopback.http()
    load_client.run(Target("127.0.0.1", port), seconds=1.0, connections=1, interval=0.1)
    assert 8 <= len(server.requests) <= 11


def test_refused_connections_are_failures_with_their_cause():
    records = load_client.run(Target("127.0.0.1", closed_port()), seconds=5, connections=1, max_requests=3)
    assert [(r.ok, r.status, r.error) for r in records] == [(False, 0, "ConnectionRefusedError")] * 3


def test_error_statuses_count_as_failed(loopback):
    _server, port = loopback.http(status=503)
    result = load_client.summary(load_client.run(Target("127.0.0.1", port), seconds=5, max_requests=5), 1.0)
    assert (result["requests"], result["failures"], result["errors"]) == (5, 5, {"status 503": 5})


def test_a_stale_keepalive_get_is_retried_once_but_a_post_never(loopback):
    """The server closes each connection after one answer: GETs recover on a
    new connection, every other POST fails."""
    port = loopback.raw(CLOSING_REPLY)
    gets = load_client.run(Target("127.0.0.1", port), seconds=5, connections=1, max_requests=6)
    assert [r.ok for r in gets] == [True] * 6
    assert {r.backend for r in gets} == {"raw"}
    posts = load_client.run(
        Target("127.0.0.1", port, method="POST", body=b"{}"), seconds=5, connections=1, max_requests=6
    )
    assert [r.ok for r in posts] == [True, False] * 3


def record(start, ok=True, ms=1.0):
    return Record(start, ms, 200 if ok else 0, "" if not ok else "be1", "" if ok else "ConnectionResetError")


def test_outage_is_the_longest_time_without_an_answer():
    records = [record(t / 100) for t in range(0, 100)]  # an answer every 10 ms until 1 s
    records += [record(1.0 + t / 100, ok=False) for t in range(30)]  # 300 ms of failures
    records += [record(1.4 + t / 100) for t in range(50)]
    ms, frm, to = load_client.outage(records, 0.5, 2.0)
    assert ms == pytest.approx(1401 - 991, abs=0.5)
    assert (frm, to) == (pytest.approx(0.991), pytest.approx(1.401))


def test_outage_counts_from_the_window_start_when_nothing_answered_before():
    ms, frm, _to = load_client.outage([record(0.5)], 0.0, 1.0)
    assert (ms, frm) == (pytest.approx(501), 0.0)


def test_latency_percentiles_of_successes_only():
    records = [record(0, ms=float(ms)) for ms in range(1, 101)] + [record(0, ok=False, ms=5000.0)]
    assert load_client.latency(records) == {"count": 100, "p50_ms": 50.0, "p99_ms": 99.0, "max_ms": 100.0}
    assert load_client.latency([]) == {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}


def test_records_survive_their_json_form():
    row = Record(1764410000.123456, 12.3456, 200, "be1", "").as_list()
    again = Record.from_list(row)
    assert (again.start, again.ms, again.status, again.backend) == (1764410000.1235, 12.35, 200, "be1")
