# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a failover drill showed a client, from the load's records, the
injected events and each node's VIP intervals.

Times in the report are seconds since the load began (floats, ms precision);
the absolute start is kept as `started` (Unix time).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.module_utils import load_client

# After an event, latency counts as "during" for at least this long, and for
# as long as the outage it caused lasts.
DURING_MIN_S = 1.0


def owners_at(watches, t):
    """Nodes holding the VIP at Unix time t, sorted."""
    return sorted(node for node, watch in watches.items() if any(a <= t <= b for a, b in watch["holding"]))


def vip_timeline(watches, start, end):
    """[(t, [holders])] at every change of the holder set between start and end, with totals."""
    points = sorted(set([start] + [t for w in watches.values() for iv in w["holding"] for t in iv if start < t < end]))
    timeline, last = [], None
    for t in points:
        # A boundary belongs to the interval it opens: look just after it.
        holders = owners_at(watches, t + 1e-4)
        if holders != last:
            timeline.append((t, holders))
            last = holders
    split_s = none_s = 0.0
    for (t, holders), nxt in zip(timeline, [p[0] for p in timeline[1:]] + [end]):
        if len(holders) > 1:
            split_s += nxt - t
        elif not holders:
            none_s += nxt - t
    return timeline, split_s, none_s


def split_brain_reports(watches, start, end):
    """{node: [[from, to]]}: the intervals during which each node reported a
    split brain (the keepalived role's notify script), clipped to start..end;
    only nodes that reported."""
    found = {}
    for node, watch in sorted(watches.items()):
        kept = [[max(a, start), min(b, end)] for a, b in watch.get("split_brain", []) if b >= start and a <= end]
        if kept:
            found[node] = kept
    return found


def single_holder_after(watches, at, until):
    """Seconds from `at` until one node alone held the VIP for the rest of
    the segment (up to `until`); None when the segment ends otherwise."""
    changes = [t for w in watches.values() for iv in w["holding"] for t in iv if at < t < until]
    if len(owners_at(watches, until - 0.001)) != 1:
        return None
    return max(changes) - at if changes else 0.0


def _event_result(records, watches, event, until, started, last=False):
    at = event["at"]
    # A request belongs to the event during which it ended: one in flight
    # when the fault struck (and cut by it) counts as the fault's.
    window = [r for r in records if at <= r.end and (last or r.end < until)]
    gap_ms, frm, to = load_client.outage(records, at, until)
    failed = [r for r in window if not r.ok]
    # With no failed request the longest gap is ordinary spacing, not an outage.
    recovery_s = max(0.0, to - at) if failed else 0.0
    during_end = at + max(DURING_MIN_S, recovery_s)
    after = [r for r in window if r.end >= during_end]
    return {
        "name": event["name"],
        "label": event.get("label", event["name"]),
        "at_s": round(at - started, 3),
        "requests": len(window),
        "failures": len(failed),
        "outage_ms": round(gap_ms, 1),
        "outage_window_s": [round(frm - started, 3), round(to - started, 3)],
        "recovered_after_ms": round(recovery_s * 1000.0, 1),
        "vip_before": owners_at(watches, at - 0.001),
        # Who holds the VIP when the next event comes (or the drill ends),
        # and every holder set on the way there.
        "vip_after": owners_at(watches, until - 0.001),
        "vip_sequence": _sequence(watches, at, until),
        "split_brain_reported_by": sorted(split_brain_reports(watches, at, until)),
        "single_holder_after_ms": _ms(single_holder_after(watches, at, until)),
        "latency_during": load_client.latency([r for r in window if r.end < during_end]),
        "latency_after": load_client.latency(after),
    }


def analyse(records, events, watches, started, ended):
    """The drill report: totals, one entry per event, latency phases and the VIP's story."""
    events = sorted(events, key=lambda e: e["at"])
    first = events[0]["at"] if events else ended
    bounds = [e["at"] for e in events[1:]] + [ended]
    timeline, split_s, none_s = vip_timeline(watches, started, ended)
    reports = split_brain_reports(watches, started, ended)
    total = load_client.summary(records, ended - started)
    return {
        "started": started,
        "duration_s": round(ended - started, 3),
        "totals": total,
        "latency_before": load_client.latency([r for r in records if r.end < first]),
        "events": [
            _event_result(records, watches, e, until, started, last=i == len(events) - 1)
            for i, (e, until) in enumerate(zip(events, bounds))
        ],
        "vip": {
            "timeline": [[round(t - started, 3), holders] for t, holders in timeline],
            "changes": max(0, len(timeline) - 1),
            "two_holders_ms": round(split_s * 1000.0, 1),
            "no_holder_ms": round(none_s * 1000.0, 1),
            # What the nodes themselves reported: [from, to] seconds since the load began.
            "split_brain_reports": {
                node: [[round(a - started, 3), round(b - started, 3)] for a, b in intervals]
                for node, intervals in reports.items()
            },
        },
    }


def lines(report):
    """The report in a few sentences, for a person reading the play's output."""
    before = report["latency_before"]
    out = [
        "%d requests, %d failed; before the first event p50 %s ms, p99 %s ms"
        % (report["totals"]["requests"], report["totals"]["failures"], before["p50_ms"], before["p99_ms"])
    ]
    for e in report["events"]:
        out.append(
            "%s at %.2f s: outage %.0f ms, %d of %d requests failed, VIP %s -> %s (one holder after %s ms),"
            " p99 during %s ms"
            % (e["label"], e["at_s"], e["outage_ms"], e["failures"], e["requests"], ",".join(e["vip_before"]) or "none",
               ",".join(e["vip_after"]) or "none", e["single_holder_after_ms"], e["latency_during"]["p99_ms"])
        )  # fmt: skip
    vip = report["vip"]
    out.append(
        "VIP holder changes: %d; time with two holders %.0f ms (a split brain if it lasts; a few tens of ms"
        " at a pre-emption is the hand-over), with none %.0f ms"
        % (vip["changes"], vip["two_holders_ms"], vip["no_holder_ms"])
    )
    for node, intervals in sorted(vip["split_brain_reports"].items()):
        out.append(
            "%s reported a split brain (as MASTER it heard another MASTER): %s"
            % (node, ", ".join("%.2f-%.2f s" % (a, b) for a, b in intervals))
        )
    return out


def _sequence(watches, at, until):
    """The distinct holder sets, in order, from `at` to `until`."""
    timeline, _split, _none = vip_timeline(watches, at, until)
    return [holders for _t, holders in timeline]


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 1)


def buckets(records, started, ended, width=0.05):
    """Per bucket of `width` s: (start_s, ok, failed, p50 ms of the successes or None)."""
    count = max(1, int((ended - started) / width) + 1)
    oks = [[] for _bucket in range(count)]
    fails = [0] * count
    for r in records:
        # The epsilon keeps a request sent exactly on a bucket edge (in float
        # arithmetic, a hair before it) in the bucket that edge opens; Unix
        # times carry about 0.2 µs of float error.
        i = min(count - 1, max(0, int((r.start - started) / width + 1e-3)))
        if r.ok:
            oks[i].append(r.ms)
        else:
            fails[i] += 1
    return [(i * width, len(oks[i]), fails[i], load_client.percentile(oks[i], 50)) for i in range(count)]
