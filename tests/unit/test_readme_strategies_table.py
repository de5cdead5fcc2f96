"""The README's strategies tables are what scripts/strategies_table.py makes
of the committed benchmark result, and its verdicts follow the targets."""

import copy
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import strategies_table  # noqa: E402


def _results():
    with open(strategies_table.RESULTS_FILE) as handle:
        return json.load(handle)["results"]


def test_readme_tables_are_current():
    assert strategies_table.check() is None


def test_every_run_has_a_row_and_every_fastest_run_a_verdict():
    results = _results()
    text = strategies_table.render()
    for name in results:
        engine, strategy, connections = name.split(" / ")
        assert "| %s / %s | %s |" % (engine, strategy, connections) in text
    fastest = [n for n in results if " / fastest_response / " in n]
    assert fastest
    assert len(strategies_table.targets(results)) == 2 + len(fastest)


def test_a_missed_target_says_so():
    results = copy.deepcopy(_results())
    name = next(n for n in results if " / fastest_response / " in n)
    result = results[name]
    result["while"]["p99_ms"] = result["before"]["p99_ms"] * (strategies_table.P99_RATIO_MAX + 0.1)
    result["slow_share_below_5pct_s"] = None
    result["back_to_fair_share_s"] = strategies_table.FAIR_MAX_S + 1
    engine, _strategy, connections = name.split(" / ")
    prefix = "| %s, %s connections |" % (engine, connections)
    line = next(line for line in strategies_table.targets(results) if line.startswith(prefix))
    assert line.count("(**missed**)") >= 3, line
    result["while"]["p99_ms"] = result["before"]["p99_ms"]
    result["slow_share_below_5pct_s"] = 1
    result["back_to_fair_share_s"] = 3
    line = next(line for line in strategies_table.targets(results) if line.startswith(prefix))
    assert line.split(" | ")[1:4] == ["1.00x (met)", "1 s (met)", "3 s (met)"], line


def test_the_summary_counts_every_verdict_and_names_each_miss():
    results = copy.deepcopy(_results())
    for name, cells in strategies_table.verdicts(results):
        for target, figure, met in cells:
            assert (target in strategies_table.summary(results)) or met, (name, target, figure)
    name = next(n for n in results if " / fastest_response / " in n)
    results[name]["slow_share_below_5pct_s"] = None
    engine, _strategy, connections = name.split(" / ")
    assert "%s, %s connections: <5 %% in never" % (engine, connections) in strategies_table.summary(results)
    checked = sum(len(cells) for _name, cells in strategies_table.verdicts(results))
    assert ("of its %d targets." % checked) in strategies_table.summary(results)


def _side_by_side(rps_ratio, p99_ratio):
    run = {"rps": 1000.0, "p99_ms": 2.0, "cpu_us_per_request": {"engine": 60.0, "backends": 120.0, "wrk": 20.0}}
    return {
        "connections": 4,
        "rounds": [{"round_robin": run, "fastest_response": run}],
        "of_round_robin": {"fastest_response": {"rps": rps_ratio, "p99": p99_ratio, "engine_cpu": 1.0}},
    }


def test_side_by_side_rounds_decide_the_healthy_targets():
    results = _results()
    name = next(n for n in results if " / fastest_response / " in n)
    engine, _strategy, connections = name.split(" / ")
    wanted = "%s, %s connections" % (engine, connections)

    def healthy_cells(ratio_rps, ratio_p99):
        healthy = {strategies_table.side_by_side_key(engine, int(connections)): _side_by_side(ratio_rps, ratio_p99)}
        cells = dict(strategies_table.verdicts(results, healthy))[wanted]
        return [(figure, met) for target, figure, met in cells if target.startswith("healthy")]

    assert healthy_cells(0.85, 1.2) == [("0.85x", False), ("1.20x", False)]
    assert healthy_cells(0.95, 1.05) == [("0.95x", True), ("1.05x", True)]


def test_the_side_by_side_table_shows_medians_and_cpu():
    settings = {"ab": 8, "rounds": 1}
    lines = strategies_table.side_by_side(settings, {"haproxy / 4": _side_by_side(0.9, 1.0)}, "halb-lab-be1")
    assert "| haproxy | 4 | round_robin | 1000 | 2.0 | 60 | 200 | - |" in lines
    assert "| haproxy | 4 | fastest_response | 1000 | 2.0 | 60 | 200 | 0.90x, 1.00x, 1.00x |" in lines


def test_the_p99_verdict_shows_the_other_backends_alone_and_judges_the_ratio_only():
    results = _results()
    name = next(n for n in results if " / fastest_response / " in n)
    engine, _strategy, connections = name.split(" / ")
    side = _side_by_side(1.0, 1.0)
    side["without_slowed_p99_of_healthy"] = 2.1
    healthy = {strategies_table.side_by_side_key(engine, int(connections)): side}
    fr = results[name]
    ratio = fr["while"]["p99_ms"] / fr["before"]["p99_ms"]
    cells = dict(strategies_table.verdicts(results, healthy))["%s, %s connections" % (engine, connections)]
    assert cells[0] == (
        "p99 slow / healthy",
        "%.2fx (the others alone: 2.10x)" % ratio,
        ratio <= strategies_table.P99_RATIO_MAX,
    )


def test_the_side_by_side_table_has_a_row_for_the_other_backends_alone():
    side = _side_by_side(0.9, 1.0)
    alone = {"rps": 800.0, "p99_ms": 4.0, "cpu_us_per_request": {"engine": 70.0, "backends": 130.0, "wrk": 20.0}}
    side["without_slowed"] = [alone]
    lines = strategies_table.side_by_side({"ab": 8, "rounds": 1}, {"nginx / 64": side}, "halb-lab-be1")
    assert "| nginx | 64 | fastest_response without halb-lab-be1 | 800 | 4.0 | 70 | 220 | - |" in lines
