# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status playbook's table: every node's lb_status answer in one view."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_status


def lb_status_table(nodes, vips, backends=None):
    return lb_status.status_table(nodes, backends or {}, vips)


class FilterModule(object):
    def filters(self):
        return {"lb_status_table": lb_status_table}
