#!/usr/bin/env python3
"""Write the README's strategies tables from the committed benchmark result.

    python scripts/strategies_table.py          # rewrite the tables from docs/results/strategies.json
    python scripts/strategies_table.py --check  # exit 1 when they are stale

benchmarks/strategies.py writes docs/results/strategies.json and calls this
script; the figures in the README come only from that file.
"""

from __future__ import annotations

import json
import os
import sys
from statistics import median

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from role_docs import block_check, block_main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "docs", "results")
RESULTS_FILE = os.path.join(RESULTS, "strategies.json")
PLOT_FILE = os.path.join(RESULTS, "strategies.png")
BEGIN = "<!-- BEGIN GENERATED: strategies benchmark (scripts/strategies_table.py) -->"
END = "<!-- END GENERATED: strategies benchmark -->"
STALE = "README.md strategies figures are stale: run python scripts/strategies_table.py"

# A share "stays" below 5 % (or at 80 % of fair) for this many 1 s windows.
HOLD_S = 3

# The targets of fastest_response (README, issue 11): (column, limit, text).
P99_RATIO_MAX = 1.3  # p99 while one backend is slow / healthy p99
BELOW_5PCT_MAX_S = 2  # the slow backend's share below 5 % within
FAIR_MAX_S = 10  # back to 80 % of a fair share within
RPS_OF_RR_MIN = 0.9  # healthy throughput, against round robin's
P99_OF_RR_MAX = 1.1  # healthy p99, against round robin's


def key(engine: str, strategy: str, connections: int) -> str:
    return "%s / %s / %d" % (engine, strategy, connections)


def side_by_side_key(engine: str, connections: int) -> str:
    return "%s / %d" % (engine, connections)


def _cell(phase: dict) -> str:
    return "%.1f/%.1f/%.1f" % (phase["p50_ms"], phase["p95_ms"], phase["p99_ms"])


def _seconds(value) -> str:
    return "never" if value is None else "%g s" % value


def row(name: str, result: dict) -> str:
    engine, strategy, connections = name.split(" / ")
    failed = sum(result[p]["errors"] + result[p]["non_2xx"] for p in ("before", "while", "after"))
    return "| %s / %s | %s | %.0f | %s | %s | %s | %s | %s | %d | %.1f/%.1f |" % (
        engine, strategy, connections, result["before"]["rps"], _cell(result["before"]), _cell(result["while"]),
        _cell(result["after"]), _seconds(result["slow_share_below_5pct_s"]),
        _seconds(result["back_to_fair_share_s"]), failed, result["before"]["wrk_p99_ms"],
        result["while"]["wrk_p99_ms"],
    )  # fmt: skip


def _verdict(ok: bool, text: str) -> str:
    return "%s %s" % (text, "(met)" if ok else "(**missed**)")


def _healthy_ratios(results, healthy, engine, connections):
    """fastest_response's healthy (req/s, p99) against round robin's: the
    median over the side-by-side rounds where the run has them, else the
    two sequential runs' healthy phases; None without a round robin run."""
    side = (healthy or {}).get(side_by_side_key(engine, connections))
    if side and "fastest_response" in side["of_round_robin"]:
        ratios = side["of_round_robin"]["fastest_response"]
        return ratios["rps"], ratios["p99"]
    rr = results.get(key(engine, "round_robin", connections))
    fr = results.get(key(engine, "fastest_response", connections))
    if not (rr and fr):
        return None
    return fr["before"]["rps"] / rr["before"]["rps"], fr["before"]["p99_ms"] / rr["before"]["p99_ms"]


def _floor(healthy, engine, connections) -> str:
    """The p99 of the other backends alone against all healthy, where the
    run measured it: how near the slow-backend p99 is to what losing that
    backend's capacity costs by itself."""
    side = (healthy or {}).get(side_by_side_key(engine, connections)) or {}
    floor = side.get("without_slowed_p99_of_healthy")
    return "" if floor is None else " (the others alone: %.2fx)" % floor


def verdicts(results: dict, healthy: dict | None = None) -> list[tuple[str, list[tuple[str, str, bool]]]]:
    """[(row name, [(target, figure, met)])] for each fastest_response run;
    healthy holds the side-by-side rounds (benchmarks/strategies.py)."""
    out = []
    for name, result in results.items():
        engine, strategy, connections = name.split(" / ")
        if strategy != "fastest_response":
            continue
        ratio = result["while"]["p99_ms"] / result["before"]["p99_ms"]
        below, fair = result["slow_share_below_5pct_s"], result["back_to_fair_share_s"]
        floor = _floor(healthy, engine, int(connections))
        cells = [
            ("p99 slow / healthy", "%.2fx%s" % (ratio, floor), ratio <= P99_RATIO_MAX),
            ("<5 % in", _seconds(below), below is not None and below <= BELOW_5PCT_MAX_S),
            ("fair in", _seconds(fair), fair is not None and fair <= FAIR_MAX_S),
        ]
        ratios = _healthy_ratios(results, healthy, engine, int(connections))
        if ratios:
            rps, p99 = ratios
            cells += [
                ("healthy req/s vs round robin", "%.2fx" % rps, rps >= RPS_OF_RR_MIN),
                ("healthy p99 vs round robin", "%.2fx" % p99, p99 <= P99_OF_RR_MAX),
            ]
        out.append(("%s, %s connections" % (engine, connections), cells))
    return out


def targets(results: dict, healthy: dict | None = None) -> list[str]:
    lines = [
        "| fastest_response | p99 slow / healthy (<= %sx) | <5 %% in (<= %d s) | fair in (<= %d s) "
        "| healthy req/s vs round robin (>= %sx) | healthy p99 vs round robin (<= %sx) |"
        % (P99_RATIO_MAX, BELOW_5PCT_MAX_S, FAIR_MAX_S, RPS_OF_RR_MIN, P99_OF_RR_MAX),
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, cells in verdicts(results, healthy):
        shown = [_verdict(met, figure) for _target, figure, met in cells]
        shown += ["-"] * (5 - len(shown))
        lines.append("| %s | %s |" % (name, " | ".join(shown)))
    return lines


def summary(results: dict, healthy: dict | None = None) -> str:
    """One sentence: how many targets this run met, and each one it missed."""
    checked = [
        (name, target, figure, met) for name, cells in verdicts(results, healthy) for target, figure, met in cells
    ]
    missed = ["%s: %s %s" % (name, target, figure) for name, target, figure, met in checked if not met]
    text = "This run meets %d of its %d targets." % (len(checked) - len(missed), len(checked))
    return text + (" Missed: %s." % "; ".join(missed) if missed else "")


def render(path: str = RESULTS_FILE) -> str:
    with open(path) as handle:
        data = json.load(handle)
    settings = data["settings"]
    lines = [
        "Load: %s; %s slowed by +%d ms for %d s after %d s healthy, then %d s healed. Latencies in ms "
        "(p50/p95/p99) as each request measured them; \"<5 %% in\" is how long after slowing until the slow "
        "backend's share stays below 5 %% (%d s in a row), \"fair in\" how long after healing until it stays at "
        "80 %% of a fair third; \"failed\" counts socket errors and answers other than 2xx/3xx. The last column "
        "is wrk's own p99 (before/while slow), which wrk corrects for coordinated omission: every slow answer "
        "also counts as the requests a client sending at a fixed rate would have queued behind it."
        % (settings["load"], data["slowed"], settings["slow_ms"], settings["slow"], settings["warm"],
           settings["heal"], HOLD_S),
        "",
        "| engine / strategy | connections | req/s healthy | before | while slow | after | <5 % in | fair in "
        "| failed | wrk p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    lines += [row(name, result) for name, result in data["results"].items()]
    healthy = data.get("healthy", {})
    if healthy:
        lines += ["", *side_by_side(settings, healthy, data["slowed"])]
    lines += ["", "Against the targets:", ""] + targets(data["results"], healthy)
    lines += ["", summary(data["results"], healthy)]
    return "\n".join(lines)


def side_by_side(settings: dict, healthy: dict, slowed: str) -> list[str]:
    """The healthy comparison: every strategy on its own port of one engine
    process, alternated; medians over the rounds."""
    lines = [
        "All healthy, side by side: each strategy on its own port of one engine process, run in turn for %d s "
        "each, %d rounds (the order turns each round); medians over the rounds. CPU is microseconds per request "
        "of the engine's processes, and of everything in the lab (engine, journald, backends, wrk). "
        "\"without %s\" is fastest_response on the other backends alone, run after each round: the p99 a "
        "client sees when the slowed backend's capacity is gone, which is as low as the p99 while it is slow can "
        "go if the balancer keeps it out."
        % (settings["ab"], settings["rounds"], slowed),
        "",
        "| engine | connections | strategy | req/s | p99 | engine CPU | lab CPU "
        "| req/s, p99, engine CPU vs round robin |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for name, side in healthy.items():
        engine, connections = name.split(" / ")
        rows = [(strategy, [r[strategy] for r in side["rounds"]]) for strategy in side["rounds"][0]]
        if side.get("without_slowed"):
            rows.append(("fastest_response without %s" % slowed, side["without_slowed"]))
        for strategy, runs in rows:
            ratios = side["of_round_robin"].get(strategy)
            vs = "%.2fx, %.2fx, %.2fx" % (ratios["rps"], ratios["p99"], ratios["engine_cpu"]) if ratios else "-"
            lines.append("| %s | %s | %s | %.0f | %.1f | %.0f | %.0f | %s |" % (
                engine, connections, strategy, median(r["rps"] for r in runs), median(r["p99_ms"] for r in runs),
                median(r["cpu_us_per_request"]["engine"] for r in runs),
                median(sum(r["cpu_us_per_request"].values()) for r in runs), vs))  # fmt: skip
    return lines


def check() -> str | None:
    return block_check(ROOT, render(), BEGIN, END, STALE)


def main(argv: list[str] | None = None) -> int:
    return block_main(argv, __doc__.splitlines()[0], "strategies figures", check, render, BEGIN, END)


if __name__ == "__main__":
    sys.exit(main())
