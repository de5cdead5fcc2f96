# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check an LB spec on the controller, before any host is touched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec, response_weights


def lb_spec_errors(data, engine):
    try:
        lb_spec.parse(data, engine)
    except lb_spec.SpecError as exc:
        return [str(exc)]
    return []


def lb_fastest_pools(data, engine):
    """fastest_response pools of a valid spec, as the response agent takes them."""
    return response_weights.agent_pools(lb_spec.parse(data, engine), engine)


class FilterModule(object):
    def filters(self):
        return {"lb_spec_errors": lb_spec_errors, "lb_fastest_pools": lb_fastest_pools}
