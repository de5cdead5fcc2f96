"""The drill's load engine against real servers on loopback, and its arithmetic."""

import json
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


def test_a_run_rewrites_its_progress_file_every_second_and_last_when_done(loopback, tmp_path):
    """A reader polling the file meanwhile always finds a whole JSON
    document: an update at 0 s, one at each second, and a last one, done,
    that agrees with the records."""
    _server, port = loopback.http(delay=0.005)
    path = tmp_path / "progress.json"
    seen, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            if path.exists():
                snapshot = json.loads(path.read_text())  # a torn file would raise here
                if not seen or seen[-1] != snapshot:
                    seen.append(snapshot)
            time.sleep(0.01)

    thread = threading.Thread(target=reader)
    thread.start()
    records = load_client.run(Target("127.0.0.1", port), seconds=2.5, connections=2, progress_path=str(path))
    stop.set()
    thread.join()
    last = json.loads(path.read_text())
    seen += [last] if seen[-1] != last else []  # written after the reader's last look
    assert [s["tick"] for s in seen] == [0, 1, 2, 3]
    assert [s["done"] for s in seen] == [False, False, False, True] and seen[-1] == last
    assert [round(s["elapsed_s"]) for s in seen[:3]] == [0, 1, 2]
    assert seen[0]["requests"] == 0 and 0 < seen[1]["requests"] < seen[2]["requests"] < last["requests"]
    # Each second's rate is the requests answered in it.
    assert seen[2]["rps"] == pytest.approx(seen[2]["requests"] - seen[1]["requests"], rel=0.1)
    assert (last["requests"], last["failures"], last["seconds"]) == (len(records), 0, 2.5)
    assert last["p99_ms"] == load_client.latency(records)["p99_ms"]
    assert last["rps"] == pytest.approx(len(records) / last["elapsed_s"], rel=0.01)


def test_progress_counts_the_last_second_and_failures_so_far(tmp_path, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(load_client.time, "monotonic", lambda: clock[0])
    path = str(tmp_path / "progress.json")
    progress = load_client.Progress(path, 20)
    progress.update([])
    clock[0] += 0.5
    recent = [record(0, ms=float(ms)) for ms in range(1, 101)] + [record(0, ok=False, ms=5000.0)] * 3
    snapshot = progress.update(recent)
    assert {k: snapshot[k] for k in ("tick", "elapsed_s", "requests", "failures", "rps", "p99_ms", "done")} == {
        "tick": 1, "elapsed_s": 0.5, "requests": 103, "failures": 3, "rps": 206.0, "p99_ms": 99.0, "done": False,
    }  # fmt: skip
    clock[0] += 1.0
    quiet = progress.update([])
    assert [quiet[k] for k in ("tick", "requests", "failures", "rps", "p99_ms")] == [2, 103, 3, 0.0, None]
    with open(path) as handle:
        assert json.load(handle) == quiet


def test_a_progress_file_that_cannot_be_written_stops_the_run_before_it_sends(loopback, tmp_path):
    server, port = loopback.http()
    with pytest.raises(OSError):
        load_client.run(Target("127.0.0.1", port), seconds=5, progress_path=str(tmp_path / "missing" / "p.json"))
    assert server.requests == []
