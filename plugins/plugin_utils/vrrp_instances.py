# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VRRP instances a node runs: one per VIP.

Two ways to give the VIPs:

- keepalived_vip: one VIP, one instance; each node's keepalived_priority
  decides which node holds it (active/passive).
- keepalived_vips: several VIPs, each an instance of its own (its own
  virtual router id), each MASTER on a different node (active-active).
  The nodes of keepalived_vips_group take turns in inventory order: VIP i
  is MASTER on node i mod n, the node after it is its first BACKUP, and so
  on round the list. An entry's priorities map overrides that per node.
  Clients are spread over the VIPs by DNS (one A/AAAA record per VIP).

The inventory order is used rather than the play's hosts, so a run with
--limit derives the same priorities as a full one.

Controller only (plugin_utils), like preflight.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.plugin_utils import preflight

# Derived priorities: the MASTER of a VIP gets MASTER_PRIORITY, each node
# after it PRIORITY_STEP less, so every priority stays in 1-254 for up to
# MAX_NODES nodes and a node that loses its own VIP's tracking (priority
# unchanged, state FAULT) never ties with another.
MASTER_PRIORITY = 200
PRIORITY_STEP = 10
MAX_NODES = (MASTER_PRIORITY - 1) // PRIORITY_STEP

VIP_FIELDS = ("address", "virtual_router_id", "name", "priorities")


def default_name(router_id):
    """The instance name of a keepalived_vips entry without one."""
    return "halb_vip_%s" % (router_id,)


def derived_priority(position, index, count):
    """The priority of the node at position (in the group's order) for VIP
    number index of count nodes: the VIP's own node first."""
    return MASTER_PRIORITY - PRIORITY_STEP * ((position - index) % count)


def _instance(name, vip, router_id, priority, priority_from):
    text = "%s" % (vip,)
    return {
        "name": name,
        "address": text,
        "cidr": "%s/%d" % (text, 128 if ":" in text else 32),
        "virtual_router_id": router_id,
        "priority": priority,
        # The variable that set the priority, for messages.
        "priority_from": priority_from,
    }


def instances(vips, nodes, host, vip, virtual_router_id, priority, instance_name):
    """The node's instances, each a dict of name, address, cidr (the VIP as a
    host address), virtual_router_id, priority and priority_from. Entries
    that are not dicts are skipped (vips_errors reports them first)."""
    if not vips:
        return [_instance(instance_name, vip, virtual_router_id, priority, "keepalived_priority")]
    nodes = list(nodes or [])
    position = nodes.index(host) if host in nodes else 0
    result = []
    for index, entry in enumerate(vips if isinstance(vips, list) else []):
        if not isinstance(entry, dict):
            continue
        router_id = entry.get("virtual_router_id")
        overrides = entry.get("priorities") if isinstance(entry.get("priorities"), dict) else {}
        if host in overrides:
            chosen, source = overrides[host], "keepalived_vips[%d].priorities" % index
        else:
            chosen, source = derived_priority(position, index, max(len(nodes), 1)), "keepalived_vips order"
        result.append(_instance(entry.get("name") or default_name(router_id), entry.get("address"), router_id,
                                chosen, source))  # fmt: skip
    return result


def _entry_errors(host, index, entry, nodes, group, version):
    field = "keepalived_vips[%d]" % index
    if not isinstance(entry, dict):
        return ["%s: %r on %s is not a mapping. Write e.g. {address: 192.0.2.101, virtual_router_id: 52}."
                % (field, entry, host)]  # fmt: skip
    errors = []
    unknown = sorted("%s" % (key,) for key in entry if key not in VIP_FIELDS)
    if unknown:
        errors.append("%s on %s has unknown key(s) %s. It takes %s." % (field, host, ", ".join(unknown),
                                                                        ", ".join(VIP_FIELDS)))  # fmt: skip
    address = preflight._address(entry.get("address")) if entry.get("address") not in (None, "") else None
    if address is None:
        errors.append("%s.address: %r on %s is not an IP address. Set the VIP, e.g. 192.0.2.101."
                      % (field, entry.get("address"), host))  # fmt: skip
    elif address.version == 6 and preflight._number(version, whole=True)[0] == 2:
        errors.append("%s.address: %s on %s is an IPv6 address, but keepalived_vrrp_version is 2 and VRRPv2 "
                      "carries IPv4 addresses only (RFC 3768). Set keepalived_vrrp_version: 3."
                      % (field, address, host))  # fmt: skip
    router_id, problem = preflight._number(entry.get("virtual_router_id"), whole=True)
    if problem or not 1 <= router_id <= 255:
        errors.append("%s.virtual_router_id: %r on %s %s. Give each VIP its own router id in 1-255, the same on "
                      "every node and unique on the L2 segment." % (field, entry.get("virtual_router_id"), host,
                                                                    problem or "is outside 1-255"))  # fmt: skip
    name = entry.get("name")
    if name is not None and not (isinstance(name, str) and preflight.INSTANCE_NAME_RE.match(name)):
        errors.append("%s.name: %r on %s is not a name keepalived.conf can take. Use a letter, then up to 62 "
                      "letters, digits, '_' or '-', e.g. shop_vip_1." % (field, name, host))  # fmt: skip
    priorities = entry.get("priorities", {})
    if not isinstance(priorities, dict):
        errors.append("%s.priorities on %s must map node names to priorities, e.g. {lb2: 250}." % (field, host))
        priorities = {}
    for node, value in sorted(priorities.items(), key=lambda item: "%s" % (item[0],)):
        if node not in nodes:
            errors.append("%s.priorities names %s, which is not in group %s (%s). Name nodes of that group."
                          % (field, node, group, ", ".join(nodes) or "empty"))  # fmt: skip
        number, problem = preflight._number(value, whole=True)
        if problem or not 1 <= number <= 254:
            errors.append("%s.priorities.%s: %r %s. Set a priority in 1-254 (the highest holds the VIP)."
                          % (field, node, value, problem or "is outside 1-254"))  # fmt: skip
    return errors


def peer_family_errors(host, field, vip, unicast_peers):
    """An instance sends its adverts in its VIP's address family, so with
    unicast peers it needs at least one peer of that family (keepalived.conf
    lists only those)."""
    address = preflight._address(vip) if vip not in (None, "") else None
    peers = [preflight._address(peer) for peer in (unicast_peers if isinstance(unicast_peers, list) else [])]
    peers = [peer for peer in peers if peer is not None]
    if address is None or not peers or any(peer.version == address.version for peer in peers):
        return []
    return ["%s: %s on %s is an IPv%d address, but keepalived_unicast_peers lists no IPv%d address, so its adverts "
            "would reach no peer. Add the other nodes' IPv%d addresses to keepalived_unicast_peers."
            % (field, vip, host, address.version, address.version, address.version)]  # fmt: skip


def vips_errors(host, vips, nodes, group, vip, version, unicast_peers=None):
    """What is wrong with keepalived_vips on host (empty: nothing, or not
    set), and with the unicast peers' address family for each VIP (also for
    keepalived_vip). nodes: the hosts of group, in inventory order. The
    interface check of each address is preflight.vip_errors, run per entry
    by the filter."""
    if vips in (None, "", []):
        return peer_family_errors(host, "keepalived_vip", vip, unicast_peers)
    if not isinstance(vips, list):
        return ["keepalived_vips on %s must be a list of {address, virtual_router_id}, one per VIP." % host]
    errors = []
    if vip not in (None, ""):
        errors.append("keepalived_vip and keepalived_vips are both set on %s. Set one: keepalived_vip for one VIP "
                      "that one node holds at a time, keepalived_vips for several VIPs spread over the nodes."
                      % host)  # fmt: skip
    nodes = list(nodes or [])
    if host not in nodes:
        errors.append("keepalived_vips_group: %s is not in group %r (%s), whose inventory order spreads the VIPs. "
                      "Set keepalived_vips_group to the group of the LB nodes that share these VIPs."
                      % (host, group, ", ".join(nodes) or "no such group or empty"))  # fmt: skip
    if len(nodes) > MAX_NODES:
        errors.append("keepalived_vips_group: %r has %d nodes; derived priorities reach %d nodes at most. Split "
                      "the group, each with VIPs of its own." % (group, len(nodes), MAX_NODES))  # fmt: skip
    seen = {"address": {}, "virtual_router_id": {}, "name": {}}
    for index, entry in enumerate(vips):
        errors.extend(_entry_errors(host, index, entry, nodes, group, version))
        if not isinstance(entry, dict):
            continue
        errors.extend(peer_family_errors(host, "keepalived_vips[%d].address" % index, entry.get("address"),
                                         unicast_peers))  # fmt: skip
        address = preflight._address(entry.get("address")) if entry.get("address") not in (None, "") else None
        keys = {
            "address": str(address) if address is not None else None,
            "virtual_router_id": preflight._number(entry.get("virtual_router_id"), whole=True)[0],
            "name": entry.get("name") or default_name(entry.get("virtual_router_id")),
        }
        for what, value in keys.items():
            if value is None:
                continue
            if value in seen[what]:
                errors.append("keepalived_vips[%d].%s: %s on %s is also keepalived_vips[%d]'s. Each VIP is a VRRP "
                              "instance of its own: give each its own address, router id and name."
                              % (index, what, value, host, seen[what][value]))  # fmt: skip
            else:
                seen[what][value] = index
    return errors
