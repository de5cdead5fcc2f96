# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters that expose the inventory pre-flight checks to roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.plugin_utils import preflight, vrrp_instances


def keepalived_vip_errors(facts, host, vip, interface):
    return preflight.vip_errors(host, vip, interface, facts)


def keepalived_vips_errors(facts, host, vips, nodes, group, vip, interface, version, unicast_peers=None):
    errors = vrrp_instances.vips_errors(host, vips, nodes, group, vip, version, unicast_peers)
    for index, entry in enumerate(vips if isinstance(vips, list) else []):
        if isinstance(entry, dict) and preflight._address(entry.get("address") or "") is not None:
            field = "keepalived_vips[%d].address" % index
            errors.extend(preflight.vip_errors(host, entry["address"], interface, facts, field))
    return errors


def keepalived_instances(vips, nodes, host, vip, virtual_router_id, priority, instance_name):
    return vrrp_instances.instances(vips, nodes, host, vip, virtual_router_id, priority, instance_name)


def keepalived_vrrp_records(facts, host, instances, interface):
    return [
        {
            "host": host,
            "virtual_router_id": instance["virtual_router_id"],
            "priority": instance["priority"],
            "priority_from": instance["priority_from"],
            "vip": instance["address"],
            "segment": preflight.vip_segment(instance["address"], interface, facts),
        }
        for instance in instances
    ]


def keepalived_vip_segment(facts, vip, interface):
    return preflight.vip_segment(vip, interface, facts)


def keepalived_vrrp_errors(
    host, version, advert_int, priority, virtual_router_id, auth_pass="", vip="", realtime_priority=0
):
    return preflight.vrrp_errors(
        host, version, advert_int, priority, virtual_router_id, auth_pass, vip, realtime_priority
    )


def keepalived_setting_errors(
    host, instance_name, unicast_peers, unicast_src_ip, track_units, track_urls, script_user, auth_pass="",
    metrics_dir="/run/halb/metrics",
):  # fmt: skip
    return preflight.setting_errors(
        host, instance_name, unicast_peers, unicast_src_ip, track_units, track_urls, script_user, auth_pass,
        metrics_dir,
    )  # fmt: skip


def keepalived_priority_errors(nodes):
    return preflight.priority_errors(nodes)


def keepalived_router_id_errors(nodes):
    return preflight.router_id_errors(nodes)


class FilterModule(object):
    def filters(self):
        return {
            "keepalived_vip_errors": keepalived_vip_errors,
            "keepalived_vip_segment": keepalived_vip_segment,
            "keepalived_vips_errors": keepalived_vips_errors,
            "keepalived_instances": keepalived_instances,
            "keepalived_vrrp_records": keepalived_vrrp_records,
            "keepalived_vrrp_errors": keepalived_vrrp_errors,
            "keepalived_setting_errors": keepalived_setting_errors,
            "keepalived_priority_errors": keepalived_priority_errors,
            "keepalived_router_id_errors": keepalived_router_id_errors,
        }
