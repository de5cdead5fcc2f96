# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters of the bgp_anycast role's pre-flight check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.plugin_utils import bgp_settings


def bgp_anycast_errors(settings, host):
    return bgp_settings.errors(host, settings)


class FilterModule(object):
    def filters(self):
        return {"bgp_anycast_errors": bgp_anycast_errors}
