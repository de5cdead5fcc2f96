# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters that expose the inventory pre-flight checks to roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.module_utils import preflight


def keepalived_vip_errors(facts, host, vip, interface):
    return preflight.vip_errors(host, vip, interface, facts)


def keepalived_vrrp_errors(host, version, advert_int, priority, virtual_router_id, auth_pass=""):
    return preflight.vrrp_errors(host, version, advert_int, priority, virtual_router_id, auth_pass)


def keepalived_priority_errors(nodes):
    return preflight.priority_errors(nodes)


def backend_pool_errors(servers, var="haproxy_backend_servers", weight_range=(0, 256), engine="HAProxy"):
    return preflight.backend_pool_errors(servers, var, tuple(weight_range), engine)


class FilterModule(object):
    def filters(self):
        return {
            "keepalived_vip_errors": keepalived_vip_errors,
            "keepalived_vrrp_errors": keepalived_vrrp_errors,
            "keepalived_priority_errors": keepalived_priority_errors,
            "backend_pool_errors": backend_pool_errors,
        }
