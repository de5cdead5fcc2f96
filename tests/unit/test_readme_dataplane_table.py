"""The README's data-plane tables are what scripts/dataplane_table.py makes
of the committed benchmark result: ratios pair runs of the same round, and
the verdict names every missed target."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import dataplane_table  # noqa: E402


def _run(config, rps, round_, connections=16, mode="keepalive", engine="nginx", **extra):
    run = {"engine": engine, "config": config, "mode": mode, "connections": connections, "round": round_,
           "rps": rps, "p50_ms": 1.0, "p99_ms": 3.0, "requests": int(rps * 6), "errors": 0, "non_2xx": 0,
           "proxy_cpu_us_per_request": None if config == "direct" else 40.0}  # fmt: skip
    run.update(extra)
    return run


def test_readme_tables_are_current():
    assert dataplane_table.check() is None


def test_ratios_pair_the_runs_of_one_round():
    # Round 0 ran on a slow minute, round 1 on a fast one: paired, ours is
    # 2x the brief in both; pooled medians would say otherwise.
    runs = [_run("ours", 2000, 0), _run("brief", 1000, 0), _run("ours", 8000, 1), _run("brief", 4000, 1)]
    assert dataplane_table.ratio(runs, "nginx", "keepalive", 16, "ours", "brief") == 2.0
    assert dataplane_table.ratio(runs, "nginx", "keepalive", 64, "ours", "brief") is None


def test_the_verdict_names_each_miss():
    runs = [_run("ours", 1400, 0), _run("brief", 1000, 0), _run("direct", 2000, 0)]
    text = dataplane_table.verdict(runs, ["nginx"], [16])
    assert "1 of 2 met" in text
    assert "nginx at 16 connections: ours / brief 1.40x (target 1.5x)" in text
    runs[0]["rps"] = 1600
    assert "2 of 2 met." in dataplane_table.verdict(runs, ["nginx"], [16])


def test_a_failed_request_shows_in_its_cell():
    runs = [_run("brief", 1000, 0, errors=3, non_2xx=2)]
    assert "**5 failed**" in dataplane_table._cell(runs, "nginx", "brief", "keepalive", 16)
    assert dataplane_table._cell(runs, "nginx", "ours", "keepalive", 16) == "-"


def test_https_targets_count_only_when_https_ran():
    runs = [_run("ours", 1600, 0), _run("brief", 1000, 0), _run("direct", 2000, 0)]
    assert "HTTPS" not in dataplane_table.verdict(runs, ["nginx"], [16])
    runs += [_run("ours_tls_rsa", 1200, 0), _run("ours_tls_ecdsa", 1400, 0)]
    text = dataplane_table.verdict(runs, ["nginx"], [16])
    assert "3 of 4 met" in text
    assert "nginx at 16 connections: HTTPS (RSA) / HTTP 0.75x (target 0.8x)" in text


def test_https_handshakes_are_the_new_connection_runs():
    runs = [
        _run(c, rps, 0, mode="new_connection")
        for c, rps in (("ours", 900), ("ours_tls_rsa", 300), ("ours_tls_ecdsa", 600))
    ]
    runs += [_run(c, 1000, 0) for c in ("ours", "ours_tls_rsa", "ours_tls_ecdsa")]
    rows = [line for line in dataplane_table._tls_lines(runs, ["nginx"], [16]) if line.startswith("| nginx")]
    assert rows == ["| nginx | 16 | 1.00x | 1.00x | 300 | 600 | 900 |"]


def test_full_handshakes_get_their_own_table_by_certificate():
    runs = [_run("ours_tls_rsa", 400, 0, mode="full_handshake", connections=4),
            _run("ours_tls_ecdsa", 900, 0, mode="full_handshake", connections=4)]  # fmt: skip
    rows = [line for line in dataplane_table._full_handshake_lines(runs, ["nginx"]) if line.startswith("| nginx")]
    assert rows == ["| nginx | 4 | 400 | 900 | 40 µs | 40 µs |"]
    assert dataplane_table._full_handshake_lines([_run("ours", 1000, 0)], ["nginx"]) == []
