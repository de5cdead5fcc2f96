#!/usr/bin/env python3
"""Write the README's measured-failover table from the committed result files.

    python scripts/failover_table.py                 # rewrite the table from docs/results/
    python scripts/failover_table.py --collect DIR   # first copy DIR/.state's newest results there
    python scripts/failover_table.py --check         # exit 1 when the table is stale

The Molecule scenarios write .state/molecule-<scenario>-failover.json and
`make lab` writes .state/demo-result.json on every run; --collect copies
them (e.g. from a clean-clone CI run) into docs/results/, which is committed.
The figures in the README come only from those files.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from role_docs import block_check, block_update

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join("docs", "results")
BEGIN = "<!-- BEGIN GENERATED: failover figures (scripts/failover_table.py) -->"
END = "<!-- END GENERATED: failover figures -->"
STALE = "README.md failover figures are stale: run python scripts/failover_table.py"
# The order steps run in, and how the table names them.
STEPS = [
    ("stop keepalived on MASTER", "keepalived stopped on the MASTER"),
    ("start keepalived again (pre-empts back)", "keepalived started again (pre-empts back)"),
    ("kill -9 {engine} on MASTER (keepalived up)", "{engine} killed (`kill -9`), keepalived up"),
    ("kill -9 keepalived on MASTER", "keepalived killed (`kill -9`) on the MASTER"),
]

# Active-active VIPs (Molecule allactive): each node MASTER of one VIP; the
# step's figures hold every VIP's client, and which VIP the step moved.
ACTIVE_STEPS = [
    ("kill node 2 (docker kill)", "a node killed (`docker kill`), each of %d nodes MASTER of one of %d VIPs"),
    ("node 2 back (docker start)", "that node started again: boots, pre-empts its VIP back"),
]

# All-active over BGP (Molecule allactive): a client behind the router.
ANYCAST_FAULTS = [
    ("anycast: engine stopped", "the engine stopped on one of %d anycast nodes (BGP + ECMP): its route withdrawn"),
    ("anycast: node killed", "an anycast node killed (`docker kill`): the router drops it by BFD"),
]


# The under-load rows, in the order the table shows them: (step key, row template, the fields
# that fill its placeholders in order). A field names a figure of the step's result, or "where" or
# "engine" (the scenario's); (name, round) rounds a figure that %d would otherwise truncate.
LOAD_ROWS = [
    (
        "saturating load",
        "| %d s through the VIP, %d connections (wrk) | %s | %d VIP moves (%d VRRP state changes); "
        "%d requests (%d/s), %d failed; load average %.1f on 2 cores |",
        ("seconds", "connections", "where", "vip_moves", "vrrp_transitions", "requests", ("rps", round), "errors",
         "loadavg"),
    ),
    (
        "reloads under load",
        "| %d reloads of %s, %d keep-alive connections for %d s | %s | %d of %d requests lost |",
        ("reloads", "engine", "connections", "seconds", "where", "lost", "requests"),
    ),
    (
        "rolling upgrade",
        "| rolling upgrade of %d backends (`halb.loadbalancer.rolling_upgrade`, each down 2 s), "
        "%d keep-alive connections | %s | %d of %d requests lost |",
        ("backends", "connections", "where", "failed", "requests"),
    ),
    (
        "lb rolling upgrade",
        "| rolling restart of the %d LB nodes (`halb.loadbalancer.lb_rolling_upgrade`, the VIP handed over "
        "and back), %d keep-alive connections | %s | %d of %d requests failed |",
        ("nodes", "connections", "where", "failed", "requests"),
    ),
    (
        "backend removed and added",
        "| a backend removed from the inventory, then added back (two runs of `site.yml`), %d keep-alive "
        "connections | %s | %d of %d requests failed |",
        ("connections", "where", "failed", "requests"),
    ),
    (
        "backend kill",
        "| a backend killed (`kill -9`) with requests in flight (%d ms each), %d GET + %d POST connections "
        "| %s | GET: %d of %d failed; POST: %d of %d failed (in flight on it, never resent) |",
        ("delay_ms", "connections", "connections", "where", "get_failed", "get_requests", "post_failed",
         "post_requests"),
    ),
]  # fmt: skip


def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _short_version(line: str) -> str:
    """'HAProxy version 2.6.12-1 2023/...' -> 'HAProxy 2.6.12-1'; 'nginx version: nginx/1.26.3' -> 'nginx/1.26.3'."""
    words = line.replace("nginx version: ", "").replace("HAProxy version", "HAProxy").split()
    return " ".join(words[:2])


def _row(what: str, where: str, step: dict) -> str:
    return "| %s | %s | %s ms | %d of %d |" % (what, where, round(step["outage_ms"]), step["failed"], step["requests"])


def _active_row(what: str, where: str, step: dict) -> str:
    """Its own VIP's outage and failures, and the other VIPs' (which must not move)."""
    own = step["vips"][step["moved"]]
    others = [figures for vip, figures in sorted(step["vips"].items()) if vip != step["moved"]]
    what = what % (len(step["vips"]), len(step["vips"])) if "%d" in what else what
    return "| %s | %s | its VIP %s ms; the %d others: longest gap %s ms | its VIP %d of %d; the others %d of %d |" % (
        what,
        where,
        round(own["outage_ms"]),
        len(others),
        round(max(figures["outage_ms"] for figures in others)),
        own["failed"],
        own["requests"],
        sum(figures["failed"] for figures in others),
        sum(figures["requests"] for figures in others),
    )


def _anycast_rows(where: str, steps: dict, nodes: int) -> list[str]:
    """The spread of new connections, then each fault as the client saw it."""
    rows = []
    spread = steps.get("anycast spread")
    if spread:
        shares = sorted(spread["per_node"].values(), reverse=True)
        rows.append("| nothing: new connections through the router to the anycast VIP | %s | - | spread over the %d "
                    "nodes %s of %d |" % (where, len(shares), " / ".join(str(n) for n in shares),
                                          spread["new_connections"]))  # fmt: skip
    for key, what in ANYCAST_FAULTS:
        step = steps.get(key)
        if step:
            rows.append("| %s | %s | new connections %d ms (route gone %d ms after the fault's command) | new: %d "
                        "of %d; established: %d of %d reset (%d were on that node, %d elsewhere moved by the "
                        "rehash); the node back in %.0f s |"
                        % (what % nodes if "%d" in what else what, where, round(step["new_outage_ms"]),
                           round(step["withdrawn_ms"]), step["new_failed"], step["new_connections"],
                           step["established_broken"], step["established"], step["established_on_gone_node"],
                           step["established_moved_and_broken"], step["rejoined_s"]))  # fmt: skip
    return rows


def _lab_where(kills: dict) -> str:
    """The lab the kill drills ran on: image, engine, adverts, and how the
    VRRP processes were scheduled (results from before it was recorded lack it)."""
    scheduling = sorted(set(kills.get("vrrp_scheduling", {}).values()))
    return "lab: %s, %s, adverts every %s s%s" % (
        kills["image"],
        kills["engine"],
        kills["advert_int"],
        ", VRRP " + "/".join(scheduling) if scheduling else "",
    )


def _figure(figures: dict, field):
    """One value for a LOAD_ROWS template: figures[field], or convert(figures[name]) for (name, convert)."""
    name, convert = field if isinstance(field, tuple) else (field, lambda figure: figure)
    return convert(figures[name])


def render(root: str = ROOT) -> str:
    rows = ["| what fails | where | client outage | failed requests |", "| --- | --- | --- | --- |"]
    demo = os.path.join(root, RESULTS, "lab-demo.json")
    if os.path.exists(demo):
        result = _load(demo)
        rows.append(_row("MASTER container killed (`docker kill`)", "`make lab`, unicast", result["kill_master"]))
        rows.append(_row("the old MASTER comes back and pre-empts", "`make lab`", result["rejoin"]))
    kills = os.path.join(root, RESULTS, "lab-kill-drills.json")
    if os.path.exists(kills):
        result = _load(kills)
        spread = result["outage_ms"]
        rows.append(
            "| MASTER container killed %d times (`make lab-kills`) | %s "
            "| min %d / median %d / max %d ms | %d of %d |"
            % (len(result["runs"]), _lab_where(result), round(spread["min"]), round(spread["median"]),
               round(spread["max"]), result["failed"], result["requests"])
        )  # fmt: skip
    for path in sorted(glob.glob(os.path.join(root, RESULTS, "molecule-*-failover.json"))):
        result = _load(path)
        platform, steps = result["platform"], result["steps"]
        scenario = os.path.basename(path)[len("molecule-") : -len("-failover.json")]
        where = "Molecule `%s`: Debian %s, %s, %s, %d nodes" % (
            scenario,
            platform["debian"],
            _short_version(platform["engine_version"]),
            platform["keepalived_version"].split(" (")[0],
            platform["lb_nodes"],
        )
        for key, what in STEPS:
            key, what = key.format(engine=platform["engine"]), what.format(engine=platform["engine"])
            if key in steps:
                rows.append(_row(what, where, steps[key]))
        for key, what in ACTIVE_STEPS:
            if key in steps:
                rows.append(_active_row(what, where, steps[key]))
        rows.extend(_anycast_rows(where, steps, platform["lb_nodes"]))
    return "\n".join(rows + [""] + _load_rows(root) + [""] + _drill_rows(root))


def _drill_rows(root: str) -> list[str]:
    """The failover drill playbook, run by Molecule as a user would, and its plot."""
    rows = [
        "| drill (`halb.loadbalancer.failover_drill`) | where | fault: outage, failed | restore: outage, failed "
        "| p99 before / during | no VIP holder / two holders |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    plots = []
    for path in sorted(glob.glob(os.path.join(root, RESULTS, "molecule-*-failover.json"))):
        result = _load(path)
        platform, drill = result["platform"], result["steps"].get("failover drill")
        if not drill:
            continue
        scenario = os.path.basename(path)[len("molecule-") : -len("-failover.json")]
        where = "Molecule `%s`: Debian %s, %s" % (
            scenario,
            platform["debian"],
            _short_version(platform["engine_version"]),
        )
        rows.append(
            "| %s on the MASTER, %d connections for %d s (%d requests, %d/s) | %s | %d ms, %d | %d ms, %d "
            "| %.0f / %.0f ms | %d ms / %d ms |"
            % (drill["label"], drill["connections"], round(drill["seconds"]), drill["requests"], round(drill["rps"]),
               where, round(drill["fault_outage_ms"]), drill["fault_failures"], round(drill["restore_outage_ms"]),
               drill["restore_failures"], drill["p99_before_ms"], drill["p99_during_ms"], round(drill["no_holder_ms"]),
               round(drill["two_holders_ms"]))
        )  # fmt: skip
        partition = result["steps"].get("partition drill")
        if partition:
            # Results written before the MASTER reported split brains have no such figure.
            reported = partition.get("split_brain_reported_after_ms")
            rows.append(
                "| the MASTER's VRRP adverts cut from its peers, then healed (%d requests) | %s | %d ms, %d "
                "| %d ms, %d; one VIP holder %d ms after healing | | two holders %d ms%s |"
                % (partition["requests"], where, round(partition["cut_outage_ms"]), partition["cut_failures"],
                   round(partition["heal_outage_ms"]), partition["heal_failures"],
                   round(partition["heal_single_holder_ms"]), round(partition["two_holders_ms"]),
                   "" if reported is None else "; the MASTER reported the split brain %d ms in" % round(reported))
            )  # fmt: skip
        plot = "molecule-%s-drill.png" % scenario
        if os.path.exists(os.path.join(root, RESULTS, plot)):
            plots.append("![%s drill timeline](%s/%s)" % (scenario, RESULTS, plot))
    if len(rows) == 2:
        return []
    return rows + ([""] + plots if plots else [])


def _load_rows(root: str) -> list[str]:
    """Under load (Molecule): a row per LOAD_ROWS step a scenario's results hold, in LOAD_ROWS order."""
    rows = [
        "| under load | where | result |",
        "| --- | --- | --- |",
    ]
    # The lab's own saturating load, run by `make lab-kills` before its kills.
    kills = os.path.join(root, RESULTS, "lab-kill-drills.json")
    if os.path.exists(kills):
        result = _load(kills)
        where = "`make lab-kills`, " + _lab_where(result)
        rows += _step_rows({"saturating load": result.get("saturating_load")}, where, result["engine"])
    for path in sorted(glob.glob(os.path.join(root, RESULTS, "molecule-*-failover.json"))):
        result = _load(path)
        platform, steps = result["platform"], result["steps"]
        scenario = os.path.basename(path)[len("molecule-") : -len("-failover.json")]
        engine = _short_version(platform["engine_version"])
        where = "Molecule `%s`: Debian %s, %s" % (scenario, platform["debian"], engine)
        rows += _step_rows(steps, where, platform["engine"])
    return rows if len(rows) > 2 else []


def _step_rows(steps: dict, where: str, engine: str) -> list[str]:
    """A row per LOAD_ROWS step that `steps` holds, in LOAD_ROWS order."""
    rows = []
    for key, template, fields in LOAD_ROWS:
        if steps.get(key):
            figures = dict(steps[key], where=where, engine=engine)
            rows.append(template % tuple(_figure(figures, field) for field in fields))
    return rows


def collect(source: str, root: str = ROOT) -> list[str]:
    """Copy a checkout's newest result files into docs/results/."""
    copied = []
    pairs = [(os.path.join(source, ".state", "demo-result.json"), "lab-demo.json")]
    pairs.append((os.path.join(source, ".state", "lab-kill-drills.json"), "lab-kill-drills.json"))
    for pattern in ("molecule-*-failover.json", "molecule-*-drill.png"):
        pairs += [(path, os.path.basename(path)) for path in glob.glob(os.path.join(source, ".state", pattern))]
    os.makedirs(os.path.join(root, RESULTS), exist_ok=True)
    for src, name in pairs:
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(root, RESULTS, name))
            copied.append(name)
    return copied


def check(root: str = ROOT) -> str | None:
    return block_check(root, render(root), BEGIN, END, STALE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md's failover table is stale")
    parser.add_argument("--collect", metavar="DIR", help="copy DIR/.state's result files into docs/results/ first")
    args = parser.parse_args(argv)
    if args.check:
        problem = check()
        if problem:
            print(problem, file=sys.stderr)
        return 1 if problem else 0
    if args.collect:
        print("collected: %s" % ", ".join(collect(args.collect)) or "nothing")
    changed = block_update(ROOT, render(ROOT), BEGIN, END)
    print("README.md failover figures %s" % ("updated" if changed else "already current"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
