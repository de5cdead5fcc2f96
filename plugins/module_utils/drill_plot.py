# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drill's timeline plot (PNG): answers and failures per 50 ms, latency,
who held the VIP, and the moments of the injected events.

matplotlib is needed only here, on the host that writes the report (the
controller); without it the report is written and the plot skipped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.module_utils.drill_report import buckets

BUCKET_S = 0.05


def available():
    """None when matplotlib can be used, else why not."""
    try:
        import matplotlib  # noqa: F401  pylint: disable=unused-import

        return None
    except ImportError as exc:
        return "matplotlib is not installed on the controller (%s); pip install matplotlib to get the plot" % exc


def write_png(path, title, records, report, watches):
    """Draw the timeline of one drill into path."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a controller or in CI
    import matplotlib.pyplot as plt

    started = report["started"]
    ended = started + report["duration_s"]
    rows = buckets(records, started, ended, BUCKET_S)
    xs = [row[0] for row in rows]
    per_s = 1.0 / BUCKET_S
    fig, (answers, latency, vip) = plt.subplots(
        3, 1, sharex=True, figsize=(10, 7), gridspec_kw={"height_ratios": [3, 2, 1.2]}
    )  # fmt: skip
    answers.bar(xs, [row[1] * per_s for row in rows], width=BUCKET_S, align="edge", color="#2e7d32", label="answered")
    answers.bar(xs, [row[2] * per_s for row in rows], width=BUCKET_S, align="edge", color="#c62828",
                bottom=[row[1] * per_s for row in rows], label="failed")  # fmt: skip
    answers.set_ylabel("requests/s\n(per 50 ms)")
    answers.legend(loc="lower left")
    answers.set_title(title)

    lat_x = [row[0] + BUCKET_S / 2 for row in rows if row[3] is not None]
    latency.plot(lat_x, [row[3] for row in rows if row[3] is not None], color="#1565c0", linewidth=0.8)
    latency.set_ylabel("median latency\nms (per 50 ms)")
    latency.set_yscale("log")

    nodes = sorted(watches)
    for i, node in enumerate(nodes):
        spans = [(a - started, b - a) for a, b in watches[node]["holding"]]
        vip.broken_barh(spans, (i - 0.35, 0.7), color="#6a1b9a")
    vip.set_yticks(range(len(nodes)))
    vip.set_yticklabels(nodes)
    vip.set_ylabel("holds VIP")
    vip.set_xlabel("seconds since the load began")
    vip.set_xlim(0, report["duration_s"])

    for event in report["events"]:
        for axis in (answers, latency, vip):
            axis.axvline(event["at_s"], color="black", linestyle="--", linewidth=1)
        answers.annotate(
            "%s\noutage %.0f ms, %d failed" % (event["label"], event["outage_ms"], event["failures"]),
            (event["at_s"], 1), xycoords=("data", "axes fraction"), xytext=(4, -4), textcoords="offset points",
            va="top", fontsize=8,
        )  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
