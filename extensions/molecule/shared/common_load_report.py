"""The load report as a user runs it: the collection's playbook
(halb.loadbalancer.load_report) against this scenario's inventory, a short
bounded load from this machine through the scenario's VIP, with progress
lines while it runs, the status table under load, and a JSON report whose
figures add up."""

import glob
import json
import os
import re

SECONDS = 3
# What a progress line looks like, e.g. "2/3 s  1412 requests  702 req/s  0 failed  p99 6.2 ms".
PROGRESS_LINE = re.compile(r"[0-9]+/%d s  [0-9]+ requests  [0-9]+ req/s  [0-9]+ failed  p99 (-|[0-9.]+ ms)" % SECONDS)


def test_load_report_shows_progress_and_reports_every_backend(scenario, tmp_path):
    scenario.wait_owner()
    out = scenario.playbook(
        "halb.loadbalancer.load_report",
        "load_report_seconds=%d" % SECONDS,
        # /orders is never cached, so every answer comes from a backend.
        "load_report_path=/orders",
        "load_report_report_dir=%s" % tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    (path,) = [
        p for p in glob.glob(os.path.join(str(tmp_path), "load-*.json"))
        if not p.endswith(("-records.json", "-progress.json"))
    ]  # fmt: skip
    with open(path) as handle:
        report = json.load(handle)
    totals, seconds = report["totals"], report["per_second"]
    print("\n[load report] " + json.dumps({"totals": totals, "per_second": seconds}, indent=1))

    assert totals["requests"] > 0 and totals["failures"] == 0, totals["errors"]
    # Every backend host answered (X-Backend is its host name).
    assert sorted(totals["backends"]) == sorted(scenario.backends), totals["backends"]
    assert all(backend["answers"] > 0 for backend in totals["backends"].values()), totals["backends"]
    # The per-second series covers the run and adds up to the totals.
    assert len(seconds) == SECONDS, seconds
    assert sum(row["requests"] for row in seconds) == totals["requests"]
    assert all(row["rps"] > 0 and row["p99_ms"] is not None for row in seconds), seconds
    with open(path[: -len(".json")] + ".png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"

    # While it ran: progress lines, and the status table under load.
    assert PROGRESS_LINE.search(out.stdout), out.stdout[-4000:]
    assert "VIP %s held by %s (OK)" % (scenario.vip, scenario.wait_owner()) in out.stdout, out.stdout[-4000:]
    scenario.results["load report"] = {
        "seconds": report["duration_s"],
        "requests": totals["requests"],
        "rps": totals["rps"],
        "p99_ms": totals["latency"]["p99_ms"],
        "backends": {name: backend["share"] for name, backend in totals["backends"].items()},
    }
