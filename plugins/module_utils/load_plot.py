# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load report's plot (PNG), second by second: answers and failures,
p50 and p99 latency, and each backend's share of the answers.

matplotlib is needed only here, on the host that writes the report (the
controller); drill_plot.available() says whether it can be used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def write_png(path, title, report):
    """Draw the per-second rows of one load report (load_report.analyse) into path."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a controller or in CI
    import matplotlib.pyplot as plt

    rows = report["per_second"]
    xs = [row["second"] for row in rows]
    # Rates, not counts: the last row may be a little shorter or longer than a second.
    failed = [row["rps"] * row["failures"] / row["requests"] if row["requests"] else 0.0 for row in rows]
    answered = [row["rps"] - lost for row, lost in zip(rows, failed)]
    fig, (rate, latency, share) = plt.subplots(
        3, 1, sharex=True, figsize=(10, 7), gridspec_kw={"height_ratios": [3, 2, 2]}
    )  # fmt: skip
    rate.bar(xs, answered, width=0.9, align="edge", color="#2e7d32", label="answered")
    rate.bar(xs, failed, width=0.9, align="edge", color="#c62828", bottom=answered, label="failed")
    rate.set_ylabel("requests/s")
    rate.legend(loc="lower left")
    rate.set_title(title)

    for key, colour in (("p50_ms", "#90caf9"), ("p99_ms", "#1565c0")):
        timed = [(row["second"] + 0.45, row[key]) for row in rows if row[key] is not None]
        latency.plot([t for t, _ms in timed], [ms for _t, ms in timed], color=colour, marker=".", label=key[:3])
    latency.set_ylabel("latency ms")
    latency.set_ylim(bottom=0)
    latency.legend(loc="lower left")

    names = sorted(report["totals"]["backends"])
    bottom = [0.0] * len(rows)
    for name in names:
        fractions = [row["backends"].get(name, 0) / max(1, sum(row["backends"].values())) for row in rows]
        share.bar(xs, fractions, width=0.9, align="edge", bottom=bottom, label=name)
        bottom = [b + f for b, f in zip(bottom, fractions)]
    share.set_ylabel("share of\nanswers")
    share.set_ylim(0, 1)
    if names:
        share.legend(loc="lower left", fontsize=8, ncol=min(len(names), 4))
    share.set_xlabel("seconds since the load began")
    share.set_xlim(0, len(rows))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
