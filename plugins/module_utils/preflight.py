# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks on the whole inventory that role argument specs cannot express.

Each function returns a list of messages, empty when all is well. A message
names the variable, the host and the value, and says how to fix it, so the
play can stop before any host is changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress


def _networks(iface_facts):
    """The IPv4 and IPv6 networks configured on an interface (from facts).

    Host routes (/32, /128) are left out: they define no subnet, and that is
    how keepalived adds the VIP, so a node holding the VIP right now still
    passes the check.
    """
    nets = []
    ipv4 = iface_facts.get("ipv4") or {}
    for entry in [ipv4] + list(iface_facts.get("ipv4_secondaries") or []):
        if entry.get("address") and entry.get("netmask"):
            nets.append(ipaddress.ip_interface("%s/%s" % (entry["address"], entry["netmask"])))
    for entry in iface_facts.get("ipv6") or []:
        if entry.get("address") and entry.get("prefix") and entry.get("scope") != "link":
            nets.append(ipaddress.ip_interface("%s/%s" % (entry["address"], entry["prefix"])))
    return [net for net in nets if net.network.prefixlen < net.max_prefixlen]


def vip_errors(host, vip, interface, facts):
    """VIP must be a valid address inside a subnet of the chosen interface,
    and must not be the address of the node itself."""
    if not vip:
        return [
            "keepalived_vip is not set for %s. Set it to a spare address in the subnet of %s, the "
            "floating IP your clients will use." % (host, interface)
        ]
    try:
        address = ipaddress.ip_address("%s" % vip)
    except ValueError:
        return [
            "keepalived_vip: %r on %s is not an IP address. Set it to a free address "
            "in the subnet of %s, e.g. 192.0.2.100." % (vip, host, interface)
        ]
    iface_facts = facts.get(interface.replace("-", "_").replace(".", "_"))
    if not iface_facts:
        have = sorted(i for i in facts.get("interfaces") or [] if i != "lo")
        return [
            "keepalived_interface: %s does not exist on %s (it has: %s). Set keepalived_interface "
            "to the interface that carries the VIP's subnet." % (interface, host, ", ".join(have) or "none")
        ]
    nets = [n for n in _networks(iface_facts) if n.version == address.version]
    for net in nets:
        if net.ip == address:
            return [
                "keepalived_vip: %s is the address of %s itself on %s. The VIP must be a spare "
                "address in %s that no host owns." % (vip, host, interface, net.network)
            ]
    if any(address in net.network for net in nets):
        return []
    subnets = ", ".join(sorted(str(n.network) for n in nets)) or "no IPv%d address" % address.version
    return [
        "keepalived_vip: %s is not inside the subnet of %s on %s (%s). Pick a free address in "
        "that subnet, or set keepalived_interface to the interface that carries %s."
        % (vip, interface, host, subnets, vip)
    ]


def vrrp_errors(host, version, advert_int, priority, virtual_router_id, auth_pass=""):
    """Ranges and combinations keepalived would reject or silently ignore."""
    errors = []
    version, advert_int = int(version), float(advert_int)
    if not 1 <= int(virtual_router_id) <= 255:
        errors.append("keepalived_virtual_router_id: %s on %s is outside 1-255." % (virtual_router_id, host))
    if not 1 <= int(priority) <= 254:
        errors.append(
            "keepalived_priority: %s on %s is outside 1-254 (255 is reserved for the address owner)." % (priority, host)
        )
    low, high = (0.01, 40.95) if version == 3 else (1, 255)
    if not low <= advert_int <= high:
        errors.append(
            "keepalived_advert_int: %s s on %s is outside %s-%s s for VRRPv%d." % (advert_int, host, low, high, version)
        )
    elif version == 2 and advert_int != int(advert_int):
        errors.append(
            "keepalived_advert_int: %s s on %s needs keepalived_vrrp_version: 3 (VRRPv2 adverts "
            "are whole seconds)." % (advert_int, host)
        )
    if auth_pass and version == 3:
        errors.append(
            "keepalived_auth_pass: set on %s, but VRRPv3 has no authentication (RFC 5798). Remove "
            "it, or set keepalived_vrrp_version: 2." % host
        )
    if auth_pass and len(auth_pass) > 8:
        errors.append(
            "keepalived_auth_pass: VRRP PASS authentication takes at most 8 characters (%d given "
            "on %s)." % (len(auth_pass), host)
        )
    return errors


def priority_errors(nodes):
    """Nodes of one VRRP instance need distinct priorities, or the election
    falls back to comparing IP addresses and the MASTER is not who you chose.

    nodes: list of dicts with host, virtual_router_id, priority.
    """
    seen = {}
    errors = []
    for node in nodes:
        key = (int(node["virtual_router_id"]), int(node["priority"]))
        if key in seen:
            errors.append(
                "keepalived_priority: %s and %s both have priority %d in VRRP instance %d. "
                "Give each node a distinct priority (e.g. 150 on the preferred MASTER, 100 on the BACKUP)."
                % (seen[key], node["host"], key[1], key[0])
            )
        else:
            seen[key] = node["host"]
    return errors


def _server_label(var, index, server):
    name = server.get("name") if isinstance(server, dict) else None
    return "%s[%d]%s" % (var, index, " (%s)" % name if name else "")


def backend_pool_errors(servers, var="haproxy_backend_servers", weight_range=(0, 256), engine="HAProxy"):
    """A pool must have at least one active server, ports and weights in
    range, and no address:port or server name twice (the engine would send
    double traffic there, or refuse the config)."""
    if not servers:
        return [
            "%s: the backend pool is empty. List at least one server, e.g. "
            "[{name: web1, address: 192.0.2.11, port: 8080}]." % var
        ]
    errors = []
    endpoints = {}
    names = {}
    for index, server in enumerate(servers):
        label = _server_label(var, index, server)
        port = int(server["port"])
        if not 1 <= port <= 65535:
            errors.append("%s: port %d is not a TCP port (1-65535)." % (label, port))
        weight = server.get("weight")
        if weight is not None and not weight_range[0] <= int(weight) <= weight_range[1]:
            errors.append(
                "%s: weight %s is out of range for %s (%d-%d)."
                % (label, weight, engine, weight_range[0], weight_range[1])
            )
        endpoint = (str(server["address"]).strip("[]").lower(), int(server["port"]))
        if endpoint in endpoints:
            errors.append(
                "%s: %s port %d is already listed at %s[%d]. Remove the duplicate or "
                "change its port." % (label, endpoint[0], endpoint[1], var, endpoints[endpoint])
            )
        else:
            endpoints[endpoint] = index
        name = server.get("name")
        if name in names:
            errors.append(
                "%s: server name %r is already used at %s[%d]. Server names must be unique "
                "within a pool." % (label, name, var, names[name])
            )
        else:
            names[name] = index
    if all(server.get("backup") for server in servers):
        errors.append(
            "%s: every server is marked backup, so no server would take traffic while all "
            "are healthy. Set backup: false on at least one server." % var
        )
    return errors
