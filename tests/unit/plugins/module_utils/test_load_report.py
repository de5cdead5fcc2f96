"""What a load report says, from records: totals, seconds, lines; and the
progress file as a reader sees it."""

import json
import threading
import time

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import load_client, load_report
from ansible_collections.halb.loadbalancer.plugins.module_utils.load_client import Record

T0 = 1764410000.0


def requests(start, end, step=0.01, ms=2.0, backends=("be1", "be2"), error=""):
    """One request every `step` s from start to end (seconds after T0), the
    answers going round the backends; with `error`, all failed."""
    count = round((end - start) / step)
    if error:
        return [Record(T0 + start + i * step, ms, 0, "", error) for i in range(count)]
    return [Record(T0 + start + i * step, ms, 200, backends[i % len(backends)]) for i in range(count)]


def story():
    """3 s: two backends answer in 2 ms; in the second second be2 is gone
    (50 resets), and be1 answers the rest in 8 ms."""
    records = requests(0, 1.0) + requests(1.0, 1.5, error="ConnectionResetError")
    records += requests(1.5, 3.0, ms=8.0, backends=("be1",))
    records.append(Record(T0 + 2.5, 0.5, 503, "be1"))
    return load_report.analyse(records, T0, T0 + 3.0)


def test_each_second_counts_requests_failures_latency_and_backends():
    first, second, third = story()["per_second"]
    assert first == {
        "second": 0, "requests": 100, "failures": 0, "rps": 100.0, "p50_ms": 2.0, "p99_ms": 2.0,
        "backends": {"be1": 50, "be2": 50},
    }  # fmt: skip
    # Requests belong to the second they ended in: the last one sent before
    # 1.0 s (at 0.99 s, 2 ms) ended in the first second.
    assert (second["requests"], second["failures"], second["backends"]) == (100, 50, {"be1": 50})
    assert (second["p50_ms"], second["p99_ms"]) == (8.0, 8.0)
    assert (third["requests"], third["failures"], third["rps"]) == (101, 1, 101.0)


def test_a_request_belongs_to_the_second_it_ended_in():
    """As in the progress lines: sent at 0.995 s, answered at 1.005 s."""
    rows = load_report.per_second([Record(T0 + 0.995, 10.0, 200, "be1")], T0, T0 + 2.0)
    assert [(row["requests"], row["backends"]) for row in rows] == [(0, {}), (1, {"be1": 1})]


def test_totals_add_p90_and_give_backends_as_shares():
    totals = story()["totals"]
    assert (totals["requests"], totals["failures"]) == (301, 51)
    assert totals["errors"] == {"ConnectionResetError": 50, "status 503": 1}
    assert totals["latency"] == {"count": 250, "p50_ms": 8.0, "p90_ms": 8.0, "p99_ms": 8.0, "max_ms": 8.0}
    assert totals["backends"] == {"be1": {"answers": 200, "share": 0.8}, "be2": {"answers": 50, "share": 0.2}}


@pytest.mark.parametrize("duration, rows, last_rps", [(3.003, 3, 10.0), (2.6, 3, 16.7), (0.3, 1, 33.3)])
def test_the_last_second_takes_the_remainder_of_the_run(duration, rows, last_rps):
    """No row for a sliver after the last full second; a short run is one
    row; the last row's rate is over its own length."""
    records = requests(duration - 0.1, duration)  # 10 requests ending in the last 0.1 s
    seconds = load_report.per_second(records, T0, T0 + duration)
    assert (len(seconds), seconds[-1]["requests"], seconds[-1]["rps"]) == (rows, 10, last_rps)


def test_lines_say_totals_latency_causes_backends_and_the_worst_second():
    assert load_report.lines(story()) == [
        "301 requests in 3.0 s: 100.3 req/s, 51 failed",
        "latency p50 8.0 ms, p90 8.0 ms, p99 8.0 ms, max 8.0 ms",
        "failures by cause: ConnectionResetError 50, status 503 1",
        "backends: be1 200 (80.0%), be2 50 (20.0%)",
        "per second: 100 to 100 req/s (lowest in second 0), worst p99 8.0 ms (second 1)",
    ]


def test_lines_of_a_load_nobody_answered():
    report = load_report.analyse(requests(0, 1.0, error="ConnectionRefusedError"), T0, T0 + 1.0)
    lines = load_report.lines(report)
    assert lines[1:4] == [
        "latency p50 -, p90 -, p99 -, max -",
        "failures by cause: ConnectionRefusedError 100",
        "backends: none named (no X-Backend header in the answers)",
    ]
    assert lines[4] == "per second: 100 to 100 req/s (lowest in second 0), worst p99 -"


def snapshot(**fields):
    base = {"tick": 12, "elapsed_s": 12.01, "seconds": 20.0, "requests": 4812, "failures": 0, "rps": 401.2,
            "p99_ms": 6.23, "done": False, "updated_at": time.time()}  # fmt: skip
    return dict(base, **fields)


def test_progress_line():
    assert load_report.progress_line(snapshot()) == "12/20 s  4812 requests  401 req/s  0 failed  p99 6.2 ms"
    assert (
        load_report.progress_line(snapshot(p99_ms=None, rps=0.0)) == "12/20 s  4812 requests  0 req/s  0 failed  p99 -"
    )
    assert load_report.progress_line(snapshot(done=True, elapsed_s=20.02, rps=240.6)) == (
        "done in 20.0 s  4812 requests  241 req/s  0 failed  p99 6.2 ms (whole run)"
    )


def test_next_progress_waits_for_the_next_update(tmp_path):
    path = str(tmp_path / "progress.json")
    load_client.write_json(path, snapshot(tick=3))
    timer = threading.Timer(0.3, load_client.write_json, (path, snapshot(tick=4, requests=5000)))
    timer.start()
    began = time.monotonic()
    got = load_report.next_progress(path, wait=2.0)
    timer.join()
    assert 0.25 <= time.monotonic() - began < 1.0
    assert (got["tick"], got["fresh"], got["line"]) == (
        4,
        True,
        "12/20 s  5000 requests  401 req/s  0 failed  p99 6.2 ms",
    )


def test_next_progress_gives_up_after_its_wait_and_says_so(tmp_path):
    path = str(tmp_path / "progress.json")
    load_client.write_json(path, snapshot(updated_at=time.time() - 3))
    began = time.monotonic()
    got = load_report.next_progress(path, wait=0.2)
    assert 0.2 <= time.monotonic() - began < 0.6
    assert got["fresh"] is False and got["line"].endswith("p99 6.2 ms  (no update for 3 s)")


def test_next_progress_returns_at_once_when_the_load_is_done(tmp_path):
    path = str(tmp_path / "progress.json")
    load_client.write_json(path, snapshot(done=True))
    began = time.monotonic()
    assert load_report.next_progress(path, wait=5)["done"] is True
    assert time.monotonic() - began < 0.1


def test_next_progress_before_the_load_has_begun(tmp_path):
    """No file yet, then the start-of-load update (tick 0): neither is news."""
    path = str(tmp_path / "progress.json")
    assert load_report.next_progress(path, wait=0) == {
        "done": False, "fresh": False, "line": "no progress yet: the load is starting"
    }  # fmt: skip
    threading.Timer(0.1, load_client.write_json, (path, snapshot(tick=0, requests=0))).start()
    got = load_report.next_progress(path, wait=0.4)
    assert (got["tick"], got["fresh"]) == (0, False)


def test_a_progress_file_is_replaced_whole(tmp_path):
    """A write that breaks half-way (json.dump has written part of it)
    leaves the last whole file, and no temporary file, behind."""
    path = tmp_path / "progress.json"
    load_client.write_json(str(path), {"tick": 1})
    load_client.write_json(str(path), {"tick": 2})
    with pytest.raises(TypeError):
        load_client.write_json(str(path), {"tick": 3, "broken": object()})
    assert json.loads(path.read_text()) == {"tick": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["progress.json"]
