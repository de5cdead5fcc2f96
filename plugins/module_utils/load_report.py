# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a bounded load showed a client: totals, latency percentiles,
failures by cause and each backend's share, over the whole run and second
by second, from lb_load's records; and the one-line form of its progress.

A request belongs to the second in which it ended (answered or failed), as
in the progress file; seconds count from the start of the load.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.halb.loadbalancer.plugins.module_utils import load_client

# How often a reader waiting for the next progress update looks at the file.
PROGRESS_POLL_S = 0.05


def latency(records):
    """count, p50/p90/p99 and max latency (ms) of the successful requests."""
    values = [r.ms for r in records if r.ok]
    return dict(load_client.latency(records), p90_ms=load_client.round_ms(load_client.percentile(values, 90)))


def shares(answers):
    """{backend: count} -> {backend: {answers, share}}, share a fraction of all answers."""
    total = sum(answers.values())
    return {name: {"answers": count, "share": round(count / total, 4)} for name, count in sorted(answers.items())}


def per_second(records, started, ended):
    """One row per second of the run: requests, failures, rps, p50/p99 ms and answers per backend.

    The last row takes the run's remainder (half a second to one and a half)
    so that a run of 20.003 s has 20 rows, not a 21st of 3 ms.
    """
    duration = max(0.0, ended - started)
    count = max(1, int(duration + 0.5))
    slots = [[] for _second in range(count)]
    for r in records:
        slots[min(count - 1, max(0, int(r.end - started)))].append(r)
    rows = []
    for second, slot in enumerate(slots):
        width = 1.0 if second < count - 1 else max(duration - second, 0.001)
        answered = [r for r in slot if r.ok]
        backends = {}
        for r in answered:
            if r.backend:
                backends[r.backend] = backends.get(r.backend, 0) + 1
        ms = [r.ms for r in answered]
        rows.append({
            "second": second,
            "requests": len(slot),
            "failures": len(slot) - len(answered),
            "rps": round(len(slot) / width, 1),
            "p50_ms": load_client.round_ms(load_client.percentile(ms, 50)),
            "p99_ms": load_client.round_ms(load_client.percentile(ms, 99)),
            "backends": dict(sorted(backends.items())),
        })  # fmt: skip
    return rows


def analyse(records, started, ended):
    """The load report: totals (lb_load's summary, p90 added, backends as shares) and the per-second rows."""
    totals = load_client.summary(records, ended - started)
    totals.update(latency=latency(records), backends=shares(totals["backends"]))
    return {
        "started": started,
        "ended": ended,
        "duration_s": round(ended - started, 3),
        "totals": totals,
        "per_second": per_second(records, started, ended),
    }


def lines(report):
    """The report in a few lines, for a person reading the play's output."""
    totals, rows = report["totals"], report["per_second"]
    lat = totals["latency"]
    causes = ", ".join("%s %d" % item for item in sorted(totals["errors"].items()))
    backends = ", ".join(
        "%s %d (%.1f%%)" % (name, backend["answers"], backend["share"] * 100)
        for name, backend in totals["backends"].items()
    )
    out = [
        "%d requests in %.1f s: %.1f req/s, %d failed"
        % (totals["requests"], report["duration_s"], totals["rps"], totals["failures"]),
        "latency p50 %s, p90 %s, p99 %s, max %s" % tuple(_ms(lat[k]) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")),
        "failures by cause: %s" % (causes or "none"),
        "backends: %s" % (backends or "none named (no X-Backend header in the answers)"),
    ]
    # The last row is a remainder of the run: its rate says less.
    full = rows[:-1] or rows
    slow = min(full, key=lambda row: row["rps"])
    timed = [row for row in rows if row["p99_ms"] is not None]
    worst = max(timed, key=lambda row: row["p99_ms"]) if timed else None
    out.append(
        "per second: %.0f to %.0f req/s (lowest in second %d), worst p99 %s%s"
        % (slow["rps"], max(row["rps"] for row in full), slow["second"], _ms(worst and worst["p99_ms"]),
           " (second %d)" % worst["second"] if worst else "")
    )  # fmt: skip
    return out


def progress_line(snapshot):
    """One progress file snapshot (load_client.Progress) as a line such as
    `12/20 s  4812 requests  401 req/s  0 failed  p99 6.2 ms`; the last one
    (done) gives the whole run's rate and p99."""
    counts = "%d requests  %.0f req/s  %d failed  p99 %s" % (
        snapshot["requests"], snapshot["rps"], snapshot["failures"], _ms(snapshot["p99_ms"]))  # fmt: skip
    if snapshot["done"]:
        return "done in %.1f s  %s (whole run)" % (snapshot["elapsed_s"], counts)
    return "%.0f/%g s  %s" % (snapshot["elapsed_s"], snapshot["seconds"], counts)


def read_progress(path):
    """The progress file's snapshot; None before the load has written it."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def next_progress(path, wait):
    """Wait up to `wait` s for the progress file to hold a newer update than
    it holds now (or the last one); return that snapshot with its `line`
    and `fresh` (whether it came within `wait`). The update written as the
    load starts (tick 0, nothing sent yet) is not news."""
    snapshot = read_progress(path)
    seen = snapshot["tick"] if snapshot else 0
    deadline = time.monotonic() + wait

    def fresh():
        return snapshot is not None and (snapshot["done"] or snapshot["tick"] > seen)

    while not fresh() and time.monotonic() < deadline:
        time.sleep(PROGRESS_POLL_S)
        snapshot = read_progress(path) or snapshot
    if snapshot is None:
        return {"done": False, "fresh": False, "line": "no progress yet: the load is starting"}
    line = progress_line(snapshot)
    if not fresh():
        line += "  (no update for %.0f s)" % max(0.0, time.time() - snapshot["updated_at"])
    return dict(snapshot, line=line, fresh=fresh())


def _ms(value):
    return "-" if value is None else "%.1f ms" % value
