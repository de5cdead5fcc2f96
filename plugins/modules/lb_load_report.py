#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: lb_load_report
short_description: Turn a load's records into a report of throughput, latency, failures and backend shares
version_added: 1.0.0
description:
  - Reads the per-request records written by M(halb.loadbalancer.lb_load) and reports what the client saw over
    the whole run (requests, duration, throughput, failures by cause, p50/p90/p99/max latency, each backend's share
    of the answers) and second by second (requests, failures, requests per second, p50/p99 latency, answers per
    backend). A request belongs to the second in which it ended.
  - Writes the report as JSON to O(report_path) and, when matplotlib is installed, a plot to O(plot_path) showing,
    per second, answers and failures, p50 and p99 latency, and each backend's share; without matplotlib the plot
    is skipped and its C(lines) say so.
  - The playbook C(halb.loadbalancer.load_report) runs the load through the inventory's VIP and then this module.
author: halb.loadbalancer contributors (!UNKNOWN)
options:
  records_path:
    description:
      - The records file written by M(halb.loadbalancer.lb_load) (its O(halb.loadbalancer.lb_load#module:records_path)).
    type: path
    required: true
  report_path:
    description:
      - JSON file to write the report to; its directory is created when missing.
    type: path
    required: true
  plot_path:
    description:
      - PNG file to draw the per-second plot into; omit for no plot.
    type: path
  title:
    description:
      - Title of the plot, also kept in the report.
    type: str
    default: Load report
  status:
    description:
      - A status snapshot taken while the load ran (the C(nodes), C(backends) and C(vips) that the
        C(halb.loadbalancer.status) playbook gathers), kept in the report as C(status_under_load).
    type: dict
    default: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: In check mode it reads the records and returns the report, and writes no file.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Load the VIP and keep every request's record
  halb.loadbalancer.lb_load:
    url: "http://{{ keepalived_vip }}/"
    allowed_addresses: ["{{ keepalived_vip }}"]
    seconds: 20
    records_path: /tmp/load/records.json
  delegate_to: localhost
  run_once: true

- name: Report throughput, latency, failures and backend shares
  halb.loadbalancer.lb_load_report:
    records_path: /tmp/load/records.json
    report_path: /tmp/load/report.json
    plot_path: /tmp/load/report.png
  delegate_to: localhost
  run_once: true
  register: load_report

- name: Show it
  ansible.builtin.debug:
    msg: "{{ load_report.lines }}"
"""

RETURN = r"""
report:
  description:
    - The report also written to O(report_path).
    - C(totals) holds C(requests), C(failures), C(errors) (failures by cause), C(rps), C(latency) (C(count),
      C(p50_ms), C(p90_ms), C(p99_ms), C(max_ms)) and C(backends) (per backend its C(answers) and C(share), a
      fraction of all answers).
    - C(per_second) has one entry per second of the run with C(second), C(requests), C(failures), C(rps),
      C(p50_ms), C(p99_ms) and C(backends) (answers per backend).
  returned: always
  type: dict
lines:
  description: The report in a few lines, and where its files went (or that the plot was skipped, and why).
  returned: always
  type: list
  elements: str
report_path:
  description: Where the report was written.
  returned: unless in check mode
  type: str
plot_path:
  description: Where the plot was drawn; absent when it was not.
  returned: when a plot was drawn
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.halb.loadbalancer.plugins.module_utils import drill_plot, load_client, load_plot, load_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            records_path=dict(type="path", required=True),
            report_path=dict(type="path", required=True),
            plot_path=dict(type="path"),
            title=dict(type="str", default="Load report"),
            status=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        load, records = load_client.read_records(params["records_path"])
        started, ended = float(load["started"]), float(load["ended"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        module.fail_json(msg="records_path: cannot read load records from %s: %s" % (params["records_path"], exc))
    report = load_report.analyse(records, started, ended)
    report.update(
        title=params["title"], url=load.get("url"), method=load.get("method"), connections=load.get("connections")
    )
    if params["status"]:
        report["status_under_load"] = params["status"]
    lines = load_report.lines(report)
    result = dict(changed=True, report=report)
    if module.check_mode:
        module.exit_json(lines=lines + ["check mode: no report written"], **result)

    load_client.write_text(params["report_path"], json.dumps(report, indent=2, sort_keys=True) + "\n")
    result["report_path"] = params["report_path"]
    lines.append("report: %s" % params["report_path"])
    if params["plot_path"]:
        missing = drill_plot.available()
        if missing:
            lines.append("plot skipped: " + missing)
        else:
            load_plot.write_png(params["plot_path"], params["title"], report)
            result["plot_path"] = params["plot_path"]
            lines.append("plot: %s" % params["plot_path"])
    module.exit_json(lines=lines, **result)


if __name__ == "__main__":
    main()
