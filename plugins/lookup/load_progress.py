# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: load_progress
short_description: Wait for the next progress update of a running load and return it with a printable line
version_added: 1.0.0
description:
  - Reads the progress file that M(halb.loadbalancer.lb_load) rewrites about once a second while it runs (its
    O(halb.loadbalancer.lb_load#module:progress_path)), so that a playbook running the load with C(async) can
    show its progress (a module cannot print while it runs).
  - Waits up to O(wait) seconds for the file to be rewritten, and returns at once when the load is done; a loop
    of one C(ansible.builtin.debug) per item then prints each update once, about every second.
  - Runs on the controller, where the playbook C(halb.loadbalancer.load_report) runs its load.
author: halb.loadbalancer contributors (!UNKNOWN)
options:
  _terms:
    description: The progress file.
    required: true
    type: list
    elements: path
  wait:
    description:
      - Seconds to wait for the next update; V(0) returns the file as it is.
    type: float
    default: 2.0
"""

EXAMPLES = r"""
- name: Show the load's progress about once a second, until it is done
  ansible.builtin.debug:
    msg: "{{ lookup('halb.loadbalancer.load_progress', '/tmp/load/progress.json').line }}"
  loop: "{{ range(25) | list }}"
  when: not lookup('halb.loadbalancer.load_progress', '/tmp/load/progress.json', wait=0).done
"""

RETURN = r"""
_raw:
  description:
    - One dict per file, with the progress file's fields (C(tick), C(elapsed_s), C(seconds), C(requests),
      C(failures), C(rps) and C(p99_ms) of the last second, C(done), C(updated_at)), C(line), such as
      C(12/20 s  4812 requests  401 req/s  0 failed  p99 6.2 ms), and C(fresh), whether an update came within
      O(wait).
    - Before the load has written the file, only C(done) (false), C(fresh) (false) and C(line).
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase
from ansible_collections.halb.loadbalancer.plugins.module_utils.load_report import next_progress


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [next_progress(path, self.get_option("wait")) for path in terms]
