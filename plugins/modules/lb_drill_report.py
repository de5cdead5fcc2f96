#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: lb_drill_report
short_description: Turn a failover drill's load records and VIP watches into a report and a timeline plot
version_added: 1.0.0
description:
  - Reads the per-request records written by M(halb.loadbalancer.lb_load), the events the drill injected and
    what M(halb.loadbalancer.vip_watch) saw on each node, and reports what a client saw.
  - For each event (the fault, then the restore) it gives the requests sent and failed, the outage (the longest
    time without a successful answer), when answers flowed again, who held the VIP before and after, and the
    p50/p99 latency during and after it; for the whole drill, the latency before the fault, throughput, and
    the VIP's story (every change of holder, time with no holder and time with two holders, a split brain
    when it lasts, the hand-over itself when it is a few tens of milliseconds at a pre-emption).
  - Writes the report as JSON to O(report_path) and, when matplotlib is installed, a timeline plot to
    O(plot_path), showing answers and failures per 50 ms, median latency, who held the VIP, and the events.
  - With O(max_outage_ms) or O(max_failed) it fails when an event went beyond them, after writing the report.
author: halb.loadbalancer contributors (!UNKNOWN)
options:
  records_path:
    description:
      - The records file written by M(halb.loadbalancer.lb_load) (its O(halb.loadbalancer.lb_load#module:records_path)).
    type: path
    required: true
  events:
    description:
      - What the drill did, in any order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Short name, such as V(fault) or V(restore).
        type: str
        required: true
      at:
        description: Unix time (seconds) the event happened.
        type: float
        required: true
      label:
        description: What to print on the plot, such as C(kill -9 haproxy on lb1).
        type: str
  watches:
    description:
      - The result of M(halb.loadbalancer.vip_watch) of each load balancer node, by node name.
      - Its C(split_brain) intervals, when there are some, go into the report as each node's split-brain reports.
    type: dict
    default: {}
  title:
    description:
      - Title of the plot.
    type: str
    default: Failover drill
  report_path:
    description:
      - JSON file to write the report to.
    type: path
    required: true
  plot_path:
    description:
      - PNG file to draw the timeline into; omit for no plot.
    type: path
  max_outage_ms:
    description:
      - Fail when an event's outage is longer than this.
    type: float
  max_failed:
    description:
      - Fail when an event made more requests fail than this.
    type: int
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: none
    details: Not supported, it writes the report files.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Report what the client saw
  halb.loadbalancer.lb_drill_report:
    records_path: /tmp/drill/records.json
    events:
      - {name: fault, at: "{{ fault_time }}", label: "systemctl stop keepalived on lb1"}
    watches: "{{ vip_watches }}"
    report_path: /tmp/drill/report.json
    plot_path: /tmp/drill/timeline.png
    max_outage_ms: 1000
  delegate_to: localhost
"""

RETURN = r"""
report:
  description: The report also written to O(report_path); its C(events) list has one entry per event.
  returned: always
  type: dict
lines:
  description: The report in a few sentences, one per event.
  returned: always
  type: list
  elements: str
plot_path:
  description: Where the plot was drawn; absent when it was not.
  returned: when a plot was drawn
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.halb.loadbalancer.plugins.module_utils import drill_plot, drill_report, load_client


def _watches(module, raw):
    """Keep each node's intervals; a watch that failed is an error, not a node that never held the VIP."""
    watches = {}
    for node, result in sorted(raw.items()):
        if not isinstance(result, dict) or "holding" not in result:
            module.fail_json(msg="watches: %s has no 'holding' list; did vip_watch fail on it?" % node)
        watches[node] = {
            "holding": [[float(a), float(b)] for a, b in result["holding"]],
            # Split-brain reports, from vip_watch's split_brain_file (absent on older watches).
            "split_brain": [[float(a), float(b)] for a, b in result.get("split_brain") or []],
        }
    return watches


def _limits_broken(report, max_outage_ms, max_failed):
    broken = []
    for event in report["events"]:
        if max_outage_ms is not None and event["outage_ms"] > max_outage_ms:
            broken.append(
                "%s: outage %.0f ms > max_outage_ms %.0f" % (event["label"], event["outage_ms"], max_outage_ms)
            )
        if max_failed is not None and event["failures"] > max_failed:
            broken.append("%s: %d failed requests > max_failed %d" % (event["label"], event["failures"], max_failed))
    return broken


def main():
    module = AnsibleModule(
        argument_spec=dict(
            records_path=dict(type="path", required=True),
            events=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True), at=dict(type="float", required=True), label=dict(type="str")
                ),
            ),
            watches=dict(type="dict", default={}),
            title=dict(type="str", default="Failover drill"),
            report_path=dict(type="path", required=True),
            plot_path=dict(type="path"),
            max_outage_ms=dict(type="float"),
            max_failed=dict(type="int"),
        ),
    )
    params = module.params
    try:
        load, records = load_client.read_records(params["records_path"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        module.fail_json(msg="records_path: cannot read load records from %s: %s" % (params["records_path"], exc))
    watches = _watches(module, params["watches"])
    events = [dict(e, label=e["label"] or e["name"]) for e in params["events"]]
    report = drill_report.analyse(records, events, watches, load["started"], load["ended"])
    report.update(
        url=load.get("url"), method=load.get("method"), connections=load.get("connections"), title=params["title"]
    )
    load_client.write_text(params["report_path"], json.dumps(report, indent=2, sort_keys=True) + "\n")

    result = dict(changed=True, report=report, lines=drill_report.lines(report))
    if params["plot_path"]:
        missing = drill_plot.available()
        if missing:
            module.warn("plot_path: no plot drawn: " + missing)
        else:
            drill_plot.write_png(params["plot_path"], params["title"], records, report, watches)
            result["plot_path"] = params["plot_path"]
    broken = _limits_broken(report, params["max_outage_ms"], params["max_failed"])
    if broken:
        module.fail_json(msg="the drill went beyond its limits: " + "; ".join(broken), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
