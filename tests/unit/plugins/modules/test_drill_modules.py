"""The drill's modules through main(): the load refuses foreign addresses and
records what it sent; the report writes JSON and a PNG and enforces limits."""

import json
import threading
import time

from module_runner import run_main

from ansible_collections.halb.loadbalancer.plugins.modules import lb_drill_report, lb_load, vip_watch


def test_load_refuses_an_address_that_is_not_a_vip_before_sending_anything(loopback):
    server, port = loopback.http()
    code, result = run_main(lb_load, {"url": "http://127.0.0.1:%d/" % port, "allowed_addresses": ["192.0.2.10"]})
    assert code == 1
    assert result["msg"].startswith("url: 127.0.0.1 is not a VIP of this inventory (allowed: 192.0.2.10)")
    assert server.requests == []


def test_load_names_an_option_out_of_range():
    code, result = run_main(
        lb_load, {"url": "http://192.0.2.10/", "allowed_addresses": ["192.0.2.10"], "connections": 0}
    )
    assert (code, result["msg"]) == (1, "connections: 0 is out of range; give 1 to 256 concurrent connections")


def test_load_records_every_request(loopback, tmp_path):
    _server, port = loopback.http()
    path = tmp_path / "records.json"
    args = {
        "url": "http://127.0.0.1:%d/" % port,
        "allowed_addresses": ["127.0.0.1"],
        "max_requests": 30,
        "connections": 3,
    }
    code, result = run_main(lb_load, dict(args, records_path=str(path)))
    assert code == 0
    assert (result["requests"], result["failures"], result["latency"]["count"]) == (30, 0, 30)
    saved = json.loads(path.read_text())
    assert len(saved["records"]) == 30 and saved["started"] <= saved["records"][0][0] <= saved["ended"]


def test_load_sends_nothing_in_check_mode(loopback):
    server, port = loopback.http()
    code, result = run_main(
        lb_load, {"url": "http://127.0.0.1:%d/" % port, "allowed_addresses": ["127.0.0.1"]}, check_mode=True
    )
    assert (code, result["requests"], server.requests) == (0, 0, [])


def _records_file(tmp_path):
    t0 = 1764410000.0
    rows = [[t0 + i / 100, 2.0, 200, "be1", ""] for i in range(100)]
    rows += [[t0 + 1.0 + i / 100, 5.0, 0, "", "ConnectionResetError"] for i in range(40)]
    rows += [[t0 + 1.4 + i / 100, 2.0, 200, "be2", ""] for i in range(160)]
    path = tmp_path / "records.json"
    path.write_text(json.dumps({"url": "http://192.0.2.10/", "started": t0, "ended": t0 + 3.0, "records": rows}))
    return str(path), t0


def test_report_writes_json_and_png(tmp_path):
    records, t0 = _records_file(tmp_path)
    watches = {"lb1": {"holding": [[t0, t0 + 1.0]]}, "lb2": {"holding": [[t0 + 1.4, t0 + 3.0]], "polls": 150}}
    args = {
        "records_path": records,
        "events": [{"name": "fault", "at": t0 + 1.0, "label": "kill -9 haproxy"}],
        "watches": watches,
        "report_path": str(tmp_path / "report.json"),
        "plot_path": str(tmp_path / "plot.png"),
    }
    code, result = run_main(lb_drill_report, args)
    assert code == 0, result
    event = json.loads((tmp_path / "report.json").read_text())["events"][0]
    assert (event["failures"], event["vip_before"], event["vip_after"]) == (40, ["lb1"], ["lb2"])
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["lines"][1].startswith("kill -9 haproxy at 1.00 s: outage 410 ms, 40 of 200 requests failed")


def test_report_fails_past_its_limits_after_writing(tmp_path):
    records, t0 = _records_file(tmp_path)
    args = {
        "records_path": records,
        "events": [{"name": "fault", "at": t0 + 1.0, "label": "stop keepalived"}],
        "report_path": str(tmp_path / "report.json"),
        "max_outage_ms": 300,
        "max_failed": 10,
    }
    code, result = run_main(lb_drill_report, args)
    assert code == 1
    assert result["msg"] == (
        "the drill went beyond its limits: stop keepalived: outage 410 ms > max_outage_ms 300; "
        "stop keepalived: 40 failed requests > max_failed 10"
    )
    assert (tmp_path / "report.json").exists()


def test_report_refuses_a_watch_that_failed(tmp_path):
    records, t0 = _records_file(tmp_path)
    args = {"records_path": records, "events": [{"name": "fault", "at": t0}], "report_path": str(tmp_path / "r.json")}
    code, result = run_main(lb_drill_report, dict(args, watches={"lb1": {"failed": True, "msg": "ip: not found"}}))
    assert (code, result["msg"]) == (1, "watches: lb1 has no 'holding' list; did vip_watch fail on it?")


def test_vip_watch_sees_loopback_held_and_a_documentation_address_not():
    code, held = run_main(vip_watch, {"address": "127.0.0.1", "seconds": 1, "interval_ms": 100})
    assert code == 0 and len(held["holding"]) == 1 and 9 <= held["polls"] <= 12
    code, absent = run_main(vip_watch, {"address": "192.0.2.77", "seconds": 1, "interval_ms": 200})
    assert (code, absent["holding"]) == (0, [])


def test_vip_watch_refuses_a_prefix_length():
    code, result = run_main(vip_watch, {"address": "192.0.2.7/24", "seconds": 1})
    assert code == 1 and result["msg"].startswith("address: '192.0.2.7/24' is not an IPv4 or IPv6 address")


def test_vip_watch_returns_the_split_brain_reports_made_while_it_watched(tmp_path):
    """Reports older than the watch are not its own; reports 0.1 s apart are
    one split brain; a torn write is skipped, not a crash."""
    marker = tmp_path / "split-brain"
    marker.write_text("%f\n" % (time.time() - 60))
    written = []

    def notify_script():
        for text in ("", "not a time"):
            time.sleep(0.15)
            marker.write_text(text)
        for _report in range(3):
            time.sleep(0.1)
            written.append(time.time())
            marker.write_text("%f\n" % written[-1])

    thread = threading.Thread(target=notify_script)
    thread.start()
    args = {"address": "192.0.2.77", "seconds": 1, "interval_ms": 20, "split_brain_file": str(marker)}
    code, result = run_main(vip_watch, args)
    thread.join()
    assert code == 0
    assert result["split_brain"] == [[round(written[0], 6), round(written[-1], 6)]]


def test_vip_watch_without_a_split_brain_file_reports_none(tmp_path):
    args = {"address": "192.0.2.77", "seconds": 1, "interval_ms": 200, "split_brain_file": str(tmp_path / "none")}
    assert run_main(vip_watch, args)[1]["split_brain"] == []
    assert run_main(vip_watch, {"address": "192.0.2.77", "seconds": 1, "interval_ms": 200})[1]["split_brain"] == []


def test_split_brain_reports_further_apart_than_the_gap_are_two():
    reports = []
    for at in (10.0, 10.1, 12.9, 16.0):
        vip_watch.add_report(reports, at)
    assert reports == [[10.0, 12.9], [16.0, 16.0]]
