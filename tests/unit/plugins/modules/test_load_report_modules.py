"""The load report's modules through main(): the load writes its progress
file; the report writes JSON and a PNG (or says why not) and nothing in
check mode."""

import json

from module_runner import run_main

from ansible_collections.halb.loadbalancer.plugins.module_utils import drill_plot
from ansible_collections.halb.loadbalancer.plugins.modules import lb_load, lb_load_report

T0 = 1764410000.0


def test_load_leaves_its_last_progress_done_and_agreeing_with_its_result(loopback, tmp_path):
    _server, port = loopback.http()
    path = tmp_path / "reports" / "progress.json"  # the directory is made
    args = {"url": "http://127.0.0.1:%d/" % port, "allowed_addresses": ["127.0.0.1"], "max_requests": 40}
    code, result = run_main(lb_load, dict(args, progress_path=str(path)))
    assert (code, result["progress_path"]) == (0, str(path))
    last = json.loads(path.read_text())
    assert (last["done"], last["requests"], last["failures"], result["requests"]) == (True, 40, 0, 40)
    assert last["p99_ms"] == result["latency"]["p99_ms"]


def test_load_refuses_a_progress_path_it_cannot_write_before_sending(loopback, tmp_path):
    server, port = loopback.http()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = {"url": "http://127.0.0.1:%d/" % port, "allowed_addresses": ["127.0.0.1"], "max_requests": 5}
    code, result = run_main(lb_load, dict(args, progress_path=str(blocker / "progress.json")))
    assert code == 1
    assert result["msg"].startswith("progress_path: cannot write %s/progress.json: " % blocker)
    assert server.requests == []


def _records_file(tmp_path):
    """2 s: be1 and be2 take turns answering in 2 ms, then 20 resets."""
    rows = [[T0 + i / 100, 2.0, 200, "be%d" % (1 + i % 2), ""] for i in range(180)]
    rows += [[T0 + 1.8 + i / 100, 1.0, 0, "", "ConnectionResetError"] for i in range(20)]
    path = tmp_path / "records.json"
    load = {"url": "http://192.0.2.10/", "method": "GET", "connections": 4, "started": T0, "ended": T0 + 2.0}
    path.write_text(json.dumps(dict(load, records=rows)))
    return str(path)


def saved_path(tmp_path):
    return tmp_path / "out" / "report.json"


def _args(tmp_path, **more):
    args = {
        "records_path": _records_file(tmp_path),
        "report_path": str(saved_path(tmp_path)),
        "plot_path": str(tmp_path / "out" / "report.png"),
    }
    return dict(args, **more)


def test_report_writes_json_with_totals_and_seconds_and_a_png(tmp_path):
    status = {"nodes": {"lb1": {"vips_held": ["192.0.2.10"]}}, "backends": {}, "vips": ["192.0.2.10"]}
    code, result = run_main(lb_load_report, _args(tmp_path, title="4 connections", status=status))
    assert code == 0, result
    saved = json.loads(saved_path(tmp_path).read_text())
    assert saved == result["report"]
    assert (saved["totals"]["requests"], saved["totals"]["failures"]) == (200, 20)
    assert saved["totals"]["backends"] == {"be1": {"answers": 90, "share": 0.5}, "be2": {"answers": 90, "share": 0.5}}
    assert [(s["second"], s["requests"], s["failures"]) for s in saved["per_second"]] == [(0, 100, 0), (1, 100, 20)]
    assert (saved["url"], saved["connections"], saved["title"]) == ("http://192.0.2.10/", 4, "4 connections")
    assert saved["status_under_load"] == status
    assert (tmp_path / "out" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["lines"][0] == "200 requests in 2.0 s: 100.0 req/s, 20 failed"
    assert result["lines"][2:4] == [
        "failures by cause: ConnectionResetError 20",
        "backends: be1 90 (50.0%), be2 90 (50.0%)",
    ]
    assert result["lines"][-2:] == ["report: %s" % saved_path(tmp_path), "plot: %s" % (tmp_path / "out" / "report.png")]
    assert result["changed"] is True and result["plot_path"] == str(tmp_path / "out" / "report.png")


def test_report_without_matplotlib_writes_the_json_and_says_the_plot_was_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(drill_plot, "available", lambda: "matplotlib is not installed on the controller")
    code, result = run_main(lb_load_report, _args(tmp_path))
    assert code == 0 and "plot_path" not in result
    assert result["lines"][-1] == "plot skipped: matplotlib is not installed on the controller"
    assert saved_path(tmp_path).exists() and not (tmp_path / "out" / "report.png").exists()


def test_report_in_check_mode_reports_and_writes_nothing(tmp_path):
    code, result = run_main(lb_load_report, _args(tmp_path), check_mode=True)
    assert (code, result["changed"], result["report"]["totals"]["requests"]) == (0, True, 200)
    assert result["lines"][-1] == "check mode: no report written"
    assert not (tmp_path / "out").exists()


def test_report_names_records_it_cannot_read(tmp_path):
    code, result = run_main(lb_load_report, _args(tmp_path, records_path=str(tmp_path / "none.json")))
    assert code == 1
    assert result["msg"].startswith("records_path: cannot read load records from %s: " % (tmp_path / "none.json"))
