# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks on the whole inventory that role argument specs cannot express.

Each function returns a list of messages, empty when all is well. A message
names the variable, the host and the value, and says how to fix it, so the
play can stop before any host is changed. Values may come as strings (extra
vars, hostvars, set_fact): "150" is the number 150, "abc" is reported, never
a traceback.

Controller only (plugin_utils): the filters of this collection use it, it is
never shipped to managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import math
import re

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec

# What keepalived.conf and its script lines can take as they are. Every
# pattern ends in \Z: "$" would let a trailing newline through.
INSTANCE_NAME_RE = lb_spec.NAME_RE
# systemd unit names, template instances (nginx@shop.service) included.
UNIT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_.@-]{0,254}\Z")
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}\Z")
# A track URL, polled by curl from a script line: http(s), a host (IP,
# [IPv6] or DNS name), an optional port and an RFC 3986 path.
TRACK_URL_RE = re.compile(r"(https?)://(\[[^]/]*\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(/.*)?\Z", re.DOTALL)
# No whitespace, quote, '#', '!', '{' or '}': keepalived.conf would read
# them as the end of the value or the start of a comment or block.
AUTH_PASS_RE = re.compile(r"[A-Za-z0-9._~@%^*+=,:/-]+\Z")


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


def _number(value, whole=False):
    """(number, problem): value as an int (whole) or float, or the problem
    ("must be a number", "must be a whole number") when it is not one.
    Numeric strings count as numbers; booleans do not."""
    if isinstance(value, bool) or value is None:
        return None, "must be a number"
    if isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None, "must be a number"
    else:
        return None, "must be a number"
    if not math.isfinite(number):
        return None, "must be a number"
    if whole:
        if number != int(number):
            return None, "must be a whole number"
        return int(number), None
    return number, None


def _address(value):
    """An ipaddress address, or None when value is not one. A zone index
    ("fe80::1%eth0") is refused: ipaddress takes any text after the '%',
    newlines and braces included, and every address here reaches a config."""
    text = "%s" % (value,)
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _vip_network(address, nets):
    """The most specific subnet of nets that holds address, or None."""
    holding = [net.network for net in nets if address in net.network]
    return max(holding, key=lambda network: network.prefixlen) if holding else None


def _reserved_address_error(host, vip, interface, network, address, field):
    """The VIP must not be the network or broadcast address of its subnet
    (for IPv6: the subnet-router anycast address, RFC 4291 2.6.1). /31 and
    /127 point-to-point subnets have neither (RFC 3021, RFC 6164)."""
    if network.prefixlen >= network.max_prefixlen - 1:
        return None
    if address == network.network_address and address.version == 4:
        what, why = "the network address", "no host can hold it"
    elif address == network.network_address:
        what, why = "the subnet-router anycast address", "every router on the link answers it (RFC 4291)"
    elif address == network.broadcast_address and address.version == 4:
        what, why = "the broadcast address", "no host can hold it"
    else:
        return None
    # ipaddress calls the last address of an IPv6 network its broadcast_address too; it is a usable one.
    last = network.broadcast_address - 1 if address.version == 4 else network.broadcast_address
    return "%s: %s on %s is %s of %s on %s; %s. Pick a free address between %s and %s." % (
        field,
        vip,
        host,
        what,
        network,
        interface,
        why,
        network.network_address + 1,
        last,
    )


def vip_errors(host, vip, interface, facts, field="keepalived_vip"):
    """VIP must be a valid address inside a subnet of the chosen interface,
    must not be the subnet's network or broadcast address, and must not be
    the address of the node itself. field names the variable in messages
    (keepalived_vips[1].address for an entry of that list)."""
    if not vip:
        return [
            "%s is not set for %s. Set it to a spare address in the subnet of %s, the "
            "floating IP your clients will use." % (field, host, interface)
        ]
    address = _address(vip)
    if address is None:
        return [
            "%s: %r on %s is not an IP address. Set it to a free address "
            "in the subnet of %s, e.g. 192.0.2.100." % (field, vip, host, interface)
        ]
    interface = "%s" % (interface,)
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
                "%s: %s is the address of %s itself on %s. The VIP must be a spare "
                "address in %s that no host owns." % (field, vip, host, interface, net.network)
            ]
    network = _vip_network(address, nets)
    if network is not None:
        error = _reserved_address_error(host, vip, interface, network, address, field)
        return [error] if error else []
    subnets = ", ".join(sorted(str(n.network) for n in nets)) or "no IPv%d address" % address.version
    return [
        "%s: %s is not inside the subnet of %s on %s (%s). Pick a free address in "
        "that subnet, or set keepalived_interface to the interface that carries %s."
        % (field, vip, interface, host, subnets, vip)
    ]


def vip_segment(vip, interface, facts):
    """The L2 segment the VIP lives on: the subnet of the interface that
    holds it, e.g. "172.29.10.0/24"; empty when there is none (vip_errors
    says why)."""
    address = _address(vip) if vip else None
    iface_facts = facts.get(("%s" % (interface,)).replace("-", "_").replace(".", "_")) if address else None
    if not iface_facts:
        return ""
    network = _vip_network(address, [n for n in _networks(iface_facts) if n.version == address.version])
    return str(network) if network is not None else ""


def _number_error(var, value, host, problem, fix):
    return "%s: %r on %s %s. %s" % (var, value, host, problem, fix)


def vrrp_errors(host, version, advert_int, priority, virtual_router_id, auth_pass="", vip="", realtime_priority=0):
    """Ranges and combinations keepalived would reject or silently ignore."""
    errors = []
    version_in, version = version, _number(version, whole=True)[0]
    if version not in (2, 3):
        errors.append(
            "keepalived_vrrp_version: %r on %s is not a VRRP version keepalived speaks. Set it to 3 "
            "(or 2 for IPv4 peers that only speak VRRPv2)." % (version_in, host)
        )
        version = None
    router_id, problem = _number(virtual_router_id, whole=True)
    if problem:
        errors.append(
            _number_error(
                "keepalived_virtual_router_id",
                virtual_router_id,
                host,
                problem,
                "Set it to a whole number in 1-255, the same on every node of the instance, e.g. 51.",
            )
        )
    elif not 1 <= router_id <= 255:
        errors.append(
            "keepalived_virtual_router_id: %s on %s is outside 1-255. Pick a number in 1-255, the same on "
            "every node of the instance and unique on the L2 segment." % (router_id, host)
        )
    prio, problem = _number(priority, whole=True)
    if problem:
        errors.append(
            _number_error(
                "keepalived_priority",
                priority,
                host,
                problem,
                "Set it to a whole number in 1-254, e.g. 150 on the preferred MASTER and 100 on the BACKUP.",
            )
        )
    elif not 1 <= prio <= 254:
        errors.append(
            "keepalived_priority: %s on %s is outside 1-254 (255 is reserved for the address owner)." % (prio, host)
        )
    advert, problem = _number(advert_int)
    if problem:
        errors.append(
            _number_error(
                "keepalived_advert_int", advert_int, host, problem, "Set it to the seconds between adverts, e.g. 1."
            )
        )
    elif version is not None:
        low, high = (0.01, 40.95) if version == 3 else (1, 255)
        if not low <= advert <= high:
            errors.append(
                "keepalived_advert_int: %s s on %s is outside %s-%s s for VRRPv%d." % (advert, host, low, high, version)
            )
        elif version == 2 and advert != int(advert):
            errors.append(
                "keepalived_advert_int: %s s on %s needs keepalived_vrrp_version: 3 (VRRPv2 adverts "
                "are whole seconds)." % (advert, host)
            )
    auth_pass = "" if auth_pass is None else "%s" % (auth_pass,)
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
    address = _address(vip) if vip else None
    if version == 2 and address is not None and address.version == 6:
        errors.append(
            "keepalived_vip: %s on %s is an IPv6 address, but keepalived_vrrp_version is 2 and VRRPv2 "
            "carries IPv4 addresses only (RFC 3768). Set keepalived_vrrp_version: 3%s."
            % (vip, host, " and remove keepalived_auth_pass" if auth_pass else "")
        )
    realtime, problem = _number(realtime_priority, whole=True)
    if problem or not 0 <= realtime <= 99:
        errors.append(
            "keepalived_realtime_priority: %r on %s %s. Set it to a real-time priority in 1-99 (e.g. 50), or 0 "
            "for the normal scheduler." % (realtime_priority, host, problem or "is outside 0-99")
        )
    return errors


def _instance_key(node):
    """(segment, virtual router id, VIP) of a recorded node; the router id is
    None when it is not a number (the per-host check reports that)."""
    router_id = _number(node.get("virtual_router_id"), whole=True)[0]
    address = _address(node.get("vip")) if node.get("vip") else None
    vip = str(address) if address is not None else node.get("vip") or None
    return node.get("segment") or None, router_id, vip


def priority_errors(nodes):
    """Nodes of one VRRP instance need distinct priorities, or the election
    falls back to comparing IP addresses and the MASTER is not who you chose.

    nodes: list of dicts with host, virtual_router_id, priority, and
    optionally vip, segment and priority_from (the variable that set the
    priority, for the message) (nodes of different segments or VIPs are
    different instances; router_id_errors reports a shared router id).
    """
    seen = {}
    errors = []
    for node in nodes:
        segment, router_id, vip = _instance_key(node)
        priority = _number(node.get("priority"), whole=True)[0]
        if router_id is None or priority is None:
            continue
        key = (segment, router_id, vip, priority)
        if key in seen:
            errors.append(
                "%s: %s and %s both have priority %d in VRRP instance %d. "
                "Give each node a distinct priority (e.g. 150 on the preferred MASTER, 100 on the BACKUP)."
                % (node.get("priority_from", "keepalived_priority"), seen[key], node["host"], priority, router_id)
            )
        else:
            seen[key] = node["host"]
    return errors


def router_id_errors(nodes):
    """Nodes that use one virtual router id on one L2 segment are one VRRP
    instance to keepalived: they must hold the same VIP. Two LB groups (or a
    mistyped VIP) on one segment with one router id fight over it.

    nodes: list of dicts with host, virtual_router_id, vip and segment (the
    subnet of the VIP, from vip_segment). Nodes without a segment are left
    out: their VIP check has failed already.
    """
    instances = {}  # (segment, router id) -> [(vip, first host)], in play order
    used = {}  # segment -> router ids in use
    for node in nodes:
        segment, router_id, vip = _instance_key(node)
        if segment is None or router_id is None:
            continue
        used.setdefault(segment, set()).add(router_id)
        vips = instances.setdefault((segment, router_id), [])
        if vip not in [known for known, _host in vips]:
            vips.append((vip, node["host"]))
    errors = []
    for (segment, router_id), vips in instances.items():
        first_vip, first_host = vips[0]
        for vip, host in vips[1:]:
            # Suggest the next router id not in use on the segment, e.g. 52 after 51.
            free = [n for n in list(range(router_id + 1, 256)) + list(range(1, router_id)) if n not in used[segment]]
            suggestion = ""
            if free:
                used[segment].add(free[0])
                suggestion = " (e.g. keepalived_virtual_router_id: %d for the group of %s)" % (free[0], host)
            errors.append(
                "keepalived_virtual_router_id: %d is used on segment %s by %s with VIP %s and by %s with "
                "VIP %s. Nodes with one router id on one L2 segment are one VRRP instance and must share "
                "one VIP. Give each LB pair a distinct router id%s, or the same keepalived_vip if they are "
                "one group." % (router_id, segment, first_host, first_vip, host, vip, suggestion)
            )
    return errors


def _track_url_problem(url):
    """Why a track URL cannot go into a script line as it is, or None."""
    match = TRACK_URL_RE.match(url) if isinstance(url, str) else None
    if not match:
        return "is not an http(s) URL of a host, an optional port and a path"
    host, port, path = match.group(2), match.group(3), match.group(4)
    if port is not None and not 1 <= int(port) <= 65535:
        return "has port %s, outside 1-65535" % port
    if host.startswith("["):
        if _address(host[1:-1]) is None:
            return "has %s, which is not an IPv6 address" % host
    elif _address(host) is None and not lb_spec.DNS_NAME_RE.match(host):
        return "has host %s, which is neither an IP address nor a DNS name" % host
    if path is not None and not lb_spec.URL_PATH_RE.match(path):
        return "has a path with characters a script line cannot take (use %s)" % lb_spec.URL_PATH_CHARS
    return None


def setting_errors(
    host, instance_name, unicast_peers, unicast_src_ip, track_units, track_urls, script_user, auth_pass,
    metrics_dir="/run/halb/metrics",
):  # fmt: skip
    """keepalived settings that reach keepalived.conf (or its script lines)
    as they are: each must match a strict pattern."""
    errors = []
    if not isinstance(instance_name, str) or not INSTANCE_NAME_RE.match(instance_name):
        errors.append(
            "keepalived_instance_name: %r on %s is not a name keepalived.conf can take. Use a letter, then up to 62 "
            "letters, digits, '_' or '-', e.g. halb_vip." % (instance_name, host)
        )
    peers = unicast_peers if isinstance(unicast_peers, list) else [unicast_peers]
    for index, peer in enumerate(peers):
        if _address(peer) is None:
            errors.append(
                "keepalived_unicast_peers[%d]: %r on %s is not an IP address. List the other nodes' addresses, "
                "e.g. 172.29.10.12." % (index, peer, host)
            )
    if unicast_src_ip not in ("", None) and _address(unicast_src_ip) is None:
        errors.append(
            "keepalived_unicast_src_ip: %r on %s is not an IP address. Set this node's own address, or leave it "
            "empty for the interface's." % (unicast_src_ip, host)
        )
    units = track_units if isinstance(track_units, list) else [track_units]
    for index, unit in enumerate(units):
        if not isinstance(unit, str) or not UNIT_RE.match(unit):
            errors.append(
                "keepalived_track_units[%d]: %r on %s is not a systemd unit name. Use e.g. haproxy or "
                "nginx.service (letters, digits and : _ . @ -)." % (index, unit, host)
            )
    urls = track_urls if isinstance(track_urls, list) else [track_urls]
    for index, url in enumerate(urls):
        problem = _track_url_problem(url)
        if problem:
            errors.append(
                "keepalived_track_urls[%d]: %r on %s %s. Write e.g. http://127.0.0.1:8901/halb-health."
                % (index, url, host, problem)
            )
    if not isinstance(script_user, str) or not USER_RE.match(script_user):
        errors.append(
            "keepalived_script_user: %r on %s is not a user name. Use lower-case letters, digits, '_' and '-', "
            "e.g. keepalived_script." % (script_user, host)
        )
    if auth_pass not in ("", None) and not AUTH_PASS_RE.match("%s" % (auth_pass,)):
        # Never echo the password.
        errors.append(
            "keepalived_auth_pass: on %s it has characters keepalived.conf cannot take (whitespace, quotes, '#', "
            "'!', '{', '}'). Use letters, digits and . _ ~ @ %% ^ * + = , : / - only." % host
        )
    try:
        lb_spec.file_path(metrics_dir, "keepalived_metrics_dir", "/run/halb/metrics")
    except lb_spec.SpecError as exc:
        errors.append("%s (on %s)" % (exc, host))
    return errors
