"""What a drill report says, from records, events and VIP watches."""

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import drill_report
from ansible_collections.halb.loadbalancer.plugins.module_utils.load_client import Record

T0 = 1764410000.0


def answers(start, end, step=0.01, ok=True, ms=2.0):
    """One request every `step` s from start to end (seconds after T0)."""
    count = round((end - start) / step)
    status, backend, error = (200, "be1", "") if ok else (0, "", "Reset")
    return [Record(T0 + start + i * step, ms, status, backend, error) for i in range(count)]


def story():
    """lb1 holds the VIP; at 2.0 s its engine dies; lb2 holds it from 2.3 s;
    at 5.0 s lb1 comes back and takes it over again at 5.05 s."""
    records = answers(0, 2.0) + answers(2.0, 2.3, ok=False) + answers(2.3, 8.0)
    watches = {
        "lb1": {"holding": [[T0, T0 + 2.0], [T0 + 5.05, T0 + 8.0]]},
        "lb2": {"holding": [[T0 + 2.3, T0 + 5.05]]},
    }
    events = [{"name": "restore", "at": T0 + 5.0, "label": "start"}, {"name": "fault", "at": T0 + 2.0, "label": "kill"}]
    return drill_report.analyse(records, events, watches, T0, T0 + 8.0)


def test_each_event_gets_its_outage_failures_and_vip_holders():
    fault, restore = story()["events"]
    assert (fault["name"], fault["at_s"], fault["failures"], fault["requests"]) == ("fault", 2.0, 30, 300)
    assert fault["outage_ms"] == pytest.approx(310, abs=1)  # last answer 1.992 s, next 2.302 s
    assert fault["recovered_after_ms"] == pytest.approx(302, abs=1)
    assert (fault["vip_before"], fault["vip_after"]) == (["lb1"], ["lb2"])
    assert fault["vip_sequence"] == [[], ["lb2"]]  # from just after the fault on
    assert (restore["failures"], restore["recovered_after_ms"]) == (0, 0.0)
    assert (restore["vip_before"], restore["vip_after"]) == (["lb2"], ["lb1"])
    # One node alone holds the VIP 0.3 s after the fault, 0.05 s after the restore.
    assert (fault["single_holder_after_ms"], restore["single_holder_after_ms"]) == (
        pytest.approx(300),
        pytest.approx(50),
    )


def test_latency_is_split_into_before_during_and_after():
    report = story()
    assert report["latency_before"]["count"] == 200
    fault = report["events"][0]
    # During: from the fault until 1 s later (the outage was shorter).
    assert fault["latency_during"]["count"] == 70
    assert fault["latency_after"]["count"] == 200


def test_the_vip_story_counts_changes_split_brain_and_no_holder():
    vip = story()["vip"]
    assert vip["timeline"] == [[0.0, ["lb1"]], [2.0, []], [2.3, ["lb2"]], [5.05, ["lb1"]]]
    assert (vip["changes"], vip["two_holders_ms"], vip["no_holder_ms"]) == (3, 0.0, pytest.approx(300))


def test_two_holders_at_once_are_reported_as_split_brain():
    watches = {"lb1": {"holding": [[T0, T0 + 4.0]]}, "lb2": {"holding": [[T0 + 1.0, T0 + 3.5]]}}
    report = drill_report.analyse(answers(0, 4.0), [{"name": "fault", "at": T0 + 1.0}], watches, T0, T0 + 4.0)
    assert report["vip"]["two_holders_ms"] == pytest.approx(2500)
    assert report["events"][0]["vip_after"] == ["lb1"]
    assert report["events"][0]["vip_sequence"] == [["lb1", "lb2"], ["lb1"]]
    assert report["events"][0]["single_holder_after_ms"] == pytest.approx(2500)


def test_a_split_that_outlasts_the_drill_has_no_single_holder_time():
    watches = {"lb1": {"holding": [[T0, T0 + 4.0]]}, "lb2": {"holding": [[T0 + 1.0, T0 + 4.0]]}}
    report = drill_report.analyse(answers(0, 4.0), [{"name": "fault", "at": T0 + 0.5}], watches, T0, T0 + 4.0)
    assert report["events"][0]["single_holder_after_ms"] is None


def test_lines_tell_the_story_in_words():
    lines = drill_report.lines(story())
    assert lines[0] == "800 requests, 30 failed; before the first event p50 2.0 ms, p99 2.0 ms"
    assert lines[1].startswith("kill at 2.00 s: outage 310 ms, 30 of 300 requests failed, VIP lb1 -> lb2 (one holder")
    assert lines[-1].startswith("VIP holder changes: 3; time with two holders 0 ms (a split brain if it lasts")
    assert lines[-1].endswith("with none 300 ms")


def test_buckets_count_answers_and_failures_per_50_ms():
    rows = drill_report.buckets(answers(0, 0.1) + answers(0.1, 0.15, ok=False), T0, T0 + 0.15)
    assert [(round(start, 2), ok, failed) for start, ok, failed, _median in rows] == [
        (0.0, 5, 0),
        (0.05, 5, 0),
        (0.1, 0, 5),
        (0.15, 0, 0),
    ]


def test_a_request_cut_by_the_fault_counts_as_the_faults():
    """Started 5 ms before the fault, failed 20 ms after it: the fault's."""
    cut = Record(T0 + 1.995, 25.0, 0, "", "ConnectionResetError")
    records = answers(0, 1.99) + [cut] + answers(2.1, 3.0)
    watches = {"lb1": {"holding": [[T0, T0 + 3.0]]}}
    report = drill_report.analyse(records, [{"name": "fault", "at": T0 + 2.0}], watches, T0, T0 + 3.0)
    assert report["totals"]["failures"] == report["events"][0]["failures"] == 1
    assert report["latency_before"]["count"] == 199


def test_split_brain_reports_are_kept_per_node_and_named_in_the_event_they_fall_in():
    """lb2 loses lb1's adverts from 1.0 s to 3.5 s; lb1, still MASTER, hears
    lb2's and reports from 1.05 s to 3.45 s."""
    watches = {
        "lb1": {"holding": [[T0, T0 + 6.0]], "split_brain": [[T0 + 1.05, T0 + 3.45]]},
        "lb2": {"holding": [[T0 + 1.0, T0 + 3.5]], "split_brain": []},
    }
    events = [{"name": "fault", "at": T0 + 0.5}, {"name": "restore", "at": T0 + 4.0}]
    report = drill_report.analyse(answers(0, 6.0), events, watches, T0, T0 + 6.0)
    assert report["vip"]["split_brain_reports"] == {"lb1": [[1.05, 3.45]]}
    assert [e["split_brain_reported_by"] for e in report["events"]] == [["lb1"], []]
    assert drill_report.lines(report)[-1] == (
        "lb1 reported a split brain (as MASTER it heard another MASTER): 1.05-3.45 s"
    )


def test_watches_without_split_brain_reports_make_none():
    report = story()
    assert report["vip"]["split_brain_reports"] == {}
    assert [e["split_brain_reported_by"] for e in report["events"]] == [[], []]
