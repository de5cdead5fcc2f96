#!/usr/bin/env python3
"""Write the README's data-plane tables from the committed benchmark result.

    python scripts/dataplane_table.py          # rewrite them from docs/results/dataplane.json
    python scripts/dataplane_table.py --check  # exit 1 when they are stale

benchmarks/dataplane.py writes docs/results/dataplane.json and calls
this script; the figures in the README come only from that file.
"""

from __future__ import annotations

import json
import os
import sys
from statistics import median

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from role_docs import block_check, block_main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_FILE = os.path.join(ROOT, "docs", "results", "dataplane.json")
PLOT_FILE = os.path.join(ROOT, "docs", "results", "dataplane.png")
BEGIN = "<!-- BEGIN GENERATED: data-plane benchmark (scripts/dataplane_table.py) -->"
END = "<!-- END GENERATED: data-plane benchmark -->"
STALE = "README.md data-plane figures are stale: run python scripts/dataplane_table.py"

# The configurations, in the order the tables list them (benchmarks/dataplane.py).
CONFIGS = ("direct", "ours", "ours_quiet", "ours_tls_rsa", "ours_tls_ecdsa", "brief", "plain_nginx", "plain_haproxy")
LABELS = {
    "direct": "one backend, direct",
    "ours": "ours (site.yml)",
    "ours_quiet": "ours, access_log: errors",
    "ours_tls_rsa": "ours, HTTPS, RSA 2048",
    "ours_tls_ecdsa": "ours, HTTPS, ECDSA P-256",
    "brief": "the brief's nginx example",
    "plain_nginx": "untuned nginx",
    "plain_haproxy": "untuned HAProxy",
}
MODES = {"keepalive": "keep-alive clients", "new_connection": "a new connection per request"}
# HTTPS only: openssl s_time clients opening connections with new sessions.
FULL_HANDSHAKE = "full_handshake"

# The targets (issue 12), on req/s with keep-alive clients: (config,
# against, at least, how the verdict names it).
OURS_OF_BRIEF_MIN = 1.5
OURS_OF_DIRECT_MIN = 0.6
HTTPS_OF_HTTP_MIN = 0.8
TLS_CONFIGS = ("ours_tls_rsa", "ours_tls_ecdsa")
TARGETS = (
    ("ours", "brief", OURS_OF_BRIEF_MIN, "ours / brief"),
    ("ours", "direct", OURS_OF_DIRECT_MIN, "ours / direct"),
    ("ours_tls_rsa", "ours", HTTPS_OF_HTTP_MIN, "HTTPS (RSA) / HTTP"),
    ("ours_tls_ecdsa", "ours", HTTPS_OF_HTTP_MIN, "HTTPS (ECDSA) / HTTP"),
)


def _runs(runs, engine, config, mode, connections=None):
    return [r for r in runs if (r["engine"], r["config"], r["mode"]) == (engine, config, mode)
            and connections in (None, r["connections"])]  # fmt: skip


def medians(runs, engine, config, mode, figure) -> dict:
    """{connections: median of figure} of one configuration's runs."""
    counts = sorted({r["connections"] for r in _runs(runs, engine, config, mode)})
    return {c: median(r[figure] for r in _runs(runs, engine, config, mode, c)) for c in counts}


def ratio(runs, engine, mode, connections, config, against, figure="rps") -> float | None:
    """Median over the rounds of config's figure / against's, each pair from
    one round (the same minute of this machine)."""
    mine = {r["round"]: r[figure] for r in _runs(runs, engine, config, mode, connections)}
    theirs = {r["round"]: r[figure] for r in _runs(runs, engine, against, mode, connections)}
    pairs = [mine[n] / theirs[n] for n in mine if theirs.get(n)]
    return round(median(pairs), 3) if pairs else None


def _cell(runs, engine, config, mode, connections) -> str:
    picked = _runs(runs, engine, config, mode, connections)
    if not picked:
        return "-"
    rps = median(r["rps"] for r in picked)
    p50, p99 = median(r["p50_ms"] for r in picked), median(r["p99_ms"] for r in picked)
    failed = sum(r["errors"] + r["non_2xx"] for r in picked)
    cpu = [r["proxy_cpu_us_per_request"] for r in picked if r["proxy_cpu_us_per_request"] is not None]
    text = "%.0f · %.1f/%.1f" % (rps, p50, p99)
    if cpu:
        text += " · %.0f µs" % median(cpu)
    return text + (" · **%d failed**" % failed if failed else "")


def _ratio_text(value) -> str:
    return "-" if value is None else "%.2fx" % value


def verdict(runs, engines, connections) -> str:
    """The targets, met or not, with every miss named (the HTTPS ones when
    the result has HTTPS runs)."""
    tls = any(r["config"] in TLS_CONFIGS for r in runs)
    misses, total = [], 0
    for engine in engines:
        for count in connections:
            for config, against, limit, name in TARGETS:
                if config in TLS_CONFIGS and not tls:
                    continue
                value = ratio(runs, engine, "keepalive", count, config, against)
                total += 1
                if value is None or value < limit:
                    misses.append("%s at %d connections: %s %s (target %.1fx)"
                                  % (engine, count, name, _ratio_text(value), limit))  # fmt: skip
    met = total - len(misses)
    text = "Targets (req/s with keep-alive clients, for each engine and connection count: ours at least %.1fx the " % (
        OURS_OF_BRIEF_MIN
    )
    text += "brief's example and %.1fx one backend reached directly" % OURS_OF_DIRECT_MIN
    text += (", HTTPS at least %.1fx plain HTTP" % HTTPS_OF_HTTP_MIN) if tls else ""
    text += "): %d of %d met" % (met, total)
    return text + (". Missed: " + "; ".join(misses) + "." if misses else ".")


def _full_handshake_lines(runs, engines) -> list:
    """Full TLS handshakes a second (no session resumed), by certificate."""
    counts = sorted({r["connections"] for r in runs if r["mode"] == FULL_HANDSHAKE})
    if not counts:
        return []
    lines = ["", "Full TLS handshakes (`openssl s_time -new`: a new session on every connection, so every handshake "
             "signs with the certificate's key; the clients run on the same 2 cores):", "",
             "| ours on | s_time clients | full handshakes/s: RSA 2048 | ECDSA P-256 "
             "| proxy CPU per handshake: RSA 2048 | ECDSA P-256 |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for engine in engines:
        for count in counts:
            rates = [medians(runs, engine, c, FULL_HANDSHAKE, "rps").get(count) for c in TLS_CONFIGS]
            spent = [medians(runs, engine, c, FULL_HANDSHAKE, "proxy_cpu_us_per_request").get(count)
                     for c in TLS_CONFIGS]  # fmt: skip
            cells = ["-" if r is None else "%.0f" % r for r in rates]
            cells += ["-" if s is None else "%.0f µs" % s for s in spent]
            lines.append("| %s | %d | %s |" % (engine, count, " | ".join(cells)))
    return lines


def _tls_lines(runs, engines, connections) -> list:
    """HTTPS beside plain HTTP: keep-alive req/s ratios, and TLS connections
    a second as wrk makes them (a new connection per request, its previous
    session resumed)."""
    if not any(r["config"] in TLS_CONFIGS for r in runs):
        return []
    lines = ["", "HTTPS (Mozilla intermediate, the defaults) beside plain HTTP on the same deployment:", "",
             "| ours on | connections | keep-alive, HTTPS / HTTP: RSA 2048 | ECDSA P-256 "
             "| a new connection per request, connections/s (wrk resumes its sessions): RSA 2048 | ECDSA P-256 "
             "| plain HTTP, new connections/s |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for engine in engines:
        for count in connections:
            kept = [_ratio_text(ratio(runs, engine, "keepalive", count, c, "ours")) for c in TLS_CONFIGS]
            rates = [medians(runs, engine, c, "new_connection", "rps").get(count) for c in TLS_CONFIGS + ("ours",)]
            cells = kept + ["-" if r is None else "%.0f" % r for r in rates]
            lines.append("| %s | %d | %s |" % (engine, count, " | ".join(cells)))
    return lines + _full_handshake_lines(runs, engines)


def render(path: str = RESULTS_FILE) -> str:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    settings, machine, runs = data["settings"], data["machine"], data["runs"]
    engines, connections = settings["engines"], settings["connections"]
    versions = ", ".join("%s %s" % (p, v) for p, v in sorted(machine["ours"].items()))
    facts = (settings["load"], settings["seconds"], settings["rounds"], machine["cores"], machine["kernel"],
             machine["wrk"], versions, machine["backend"].get("nginx", "?"))  # fmt: skip
    lines = [
        "Load: %s; each run %d s, %d rounds per configuration, mode and connection count (the order turns each "
        "round); medians over the rounds. Machine: %d cores shared by wrk, the proxy and the backends, kernel %s, "
        "%s; ours: %s; backends: nginx %s." % facts,
        "",
        "Each cell: req/s · p50/p99 latency in ms · CPU per request of the proxy's container.",
        "",
    ]
    head = "| deployed engine | configuration | clients | " + " | ".join("%d connections" % c for c in connections)
    lines += [head + " |", "| --- | --- | --- |" + " --- |" * len(connections)]
    for engine in engines:
        for mode in MODES:
            for config in CONFIGS:
                cells = [_cell(runs, engine, config, mode, c) for c in connections]
                lines.append("| %s | %s | %s | %s |" % (engine, LABELS[config], MODES[mode], " | ".join(cells)))
    lines += ["", "Ratios of req/s, medians of the paired runs:", ""]
    lines += ["| ours on | clients | connections | ours / brief | ours / untuned same engine | ours / direct "
              "| errors-only log: ours / brief | ours / untuned | ours / direct |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for engine in engines:
        for mode in MODES:
            for count in connections:
                values = [ratio(runs, engine, mode, count, ours, against)
                          for ours in ("ours", "ours_quiet")
                          for against in ("brief", "plain_" + engine, "direct")]  # fmt: skip
                lines.append("| %s | %s | %d | %s |" % (engine, MODES[mode], count,
                                                        " | ".join(_ratio_text(v) for v in values)))  # fmt: skip
    lines += _tls_lines(runs, engines, connections)
    lines += ["", verdict(runs, engines, connections)]
    return "\n".join(lines) + "\n"


def check() -> str | None:
    return block_check(ROOT, render(), BEGIN, END, STALE)


def main(argv: list[str] | None = None) -> int:
    return block_main(argv, __doc__.splitlines()[0], "data-plane figures", check, render, BEGIN, END)


if __name__ == "__main__":
    sys.exit(main())
