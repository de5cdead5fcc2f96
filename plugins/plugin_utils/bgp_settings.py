# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks on the bgp_anycast role's settings before any host is changed.

Every value here reaches frr.conf or a unit's command line as it is, so
each is checked against a range or a strict pattern; a message names the
variable, the host and the fix. Controller only (plugin_utils).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.halb.loadbalancer.plugins.plugin_utils import preflight

# 4-byte ASNs (RFC 6793); 0 and 65535 / 4294967295 are reserved (RFC 7300).
ASN_MIN, ASN_MAX = 1, 4294967294
# TCP MD5 keys (RFC 2385) as frr.conf takes them on one line: no
# whitespace, no '!' or '#' (comments), nothing that ends the word.
PASSWORD_RE = re.compile(r"[A-Za-z0-9._~@%^*+=,:/-]{1,80}\Z")
NEIGHBOR_FIELDS = ("address", "asn", "password", "bfd")
# Seconds: hold 0 (never) or 3-65535 (RFC 4271); keepalive below hold.
HOLD_MIN, HOLD_MAX = 3, 65535
# BFD in milliseconds, as bfdd takes them.
BFD_INTERVAL_MIN, BFD_INTERVAL_MAX = 10, 60000
BFD_MULTIPLIER_MIN, BFD_MULTIPLIER_MAX = 2, 255
# The health check's poll, in milliseconds.
CHECK_INTERVAL_MIN, CHECK_INTERVAL_MAX = 50, 10000


def _whole(value, low, high):
    """(number, problem) for a whole number in low-high."""
    number, problem = preflight._number(value, whole=True)
    if problem:
        return None, problem
    if not low <= number <= high:
        return None, "is outside %d-%d" % (low, high)
    return number, None


def _neighbor_errors(host, index, neighbor):
    field = "bgp_anycast_neighbors[%d]" % index
    if not isinstance(neighbor, dict):
        return ["%s: %r on %s is not a mapping. Write e.g. {address: 192.0.2.1, asn: 65000}." % (field, neighbor, host)]
    errors = []
    unknown = sorted("%s" % (key,) for key in neighbor if key not in NEIGHBOR_FIELDS)
    if unknown:
        errors.append("%s on %s has unknown key(s) %s. It takes %s."
                      % (field, host, ", ".join(unknown), ", ".join(NEIGHBOR_FIELDS)))  # fmt: skip
    if preflight._address(neighbor.get("address")) is None:
        errors.append("%s.address: %r on %s is not an IP address. Set the router's address on the link, e.g. "
                      "192.0.2.1." % (field, neighbor.get("address"), host))  # fmt: skip
    _asn, problem = _whole(neighbor.get("asn"), ASN_MIN, ASN_MAX)
    if problem:
        errors.append("%s.asn: %r on %s %s. Set the router's AS number (1-4294967294, e.g. 65000)."
                      % (field, neighbor.get("asn"), host, problem))  # fmt: skip
    password = neighbor.get("password")
    if password not in (None, "") and not PASSWORD_RE.match("%s" % (password,)):
        # Never echo the password.
        errors.append("%s.password on %s has characters frr.conf cannot take, or is longer than 80. Use letters, "
                      "digits and . _ ~ @ %% ^ * + = , : / - only." % (field, host))  # fmt: skip
    if not isinstance(neighbor.get("bfd", False), bool):
        errors.append("%s.bfd: %r on %s must be true or false." % (field, neighbor.get("bfd"), host))
    return errors


def errors(host, settings):
    """What is wrong with the bgp_anycast_* settings of host. settings: a
    dict of the variables by name without the prefix (vips, asn,
    router_id, neighbors, hold_time, keepalive, bfd_interval,
    bfd_multiplier, check_interval, check_fall, check_rise)."""
    found = []
    vips = settings.get("vips")
    if not isinstance(vips, list) or not vips:
        found.append("bgp_anycast_vips on %s is empty. List the anycast VIP(s) every node announces, e.g. "
                     "[192.0.2.200]." % host)  # fmt: skip
        vips = []
    seen = set()
    for index, vip in enumerate(vips):
        address = preflight._address(vip)
        if address is None:
            found.append("bgp_anycast_vips[%d]: %r on %s is not an IP address." % (index, vip, host))
        elif address in seen:
            found.append("bgp_anycast_vips[%d]: %s on %s is listed twice." % (index, address, host))
        else:
            seen.add(address)
    _asn, problem = _whole(settings.get("asn"), ASN_MIN, ASN_MAX)
    if problem:
        found.append("bgp_anycast_asn: %r on %s %s. Set this node's AS number (1-4294967294, e.g. a private "
                     "65010)." % (settings.get("asn"), host, problem))  # fmt: skip
    router_id = preflight._address(settings.get("router_id"))
    if router_id is None or router_id.version != 4:
        found.append("bgp_anycast_router_id: %r on %s is not an IPv4 address. Set it to this node's own IPv4 "
                     "address (BGP router ids are IPv4-shaped even on IPv6-only nodes)."
                     % (settings.get("router_id"), host))  # fmt: skip
    neighbors = settings.get("neighbors")
    if not isinstance(neighbors, list) or not neighbors:
        found.append("bgp_anycast_neighbors on %s is empty. List the routers to peer with, e.g. "
                     "[{address: 192.0.2.1, asn: 65000}]." % host)  # fmt: skip
        neighbors = []
    addresses = set()
    for index, neighbor in enumerate(neighbors):
        found.extend(_neighbor_errors(host, index, neighbor))
        address = preflight._address(neighbor.get("address")) if isinstance(neighbor, dict) else None
        if address is not None and address in addresses:
            found.append("bgp_anycast_neighbors[%d].address: %s on %s is listed twice." % (index, address, host))
        elif address is not None:
            addresses.add(address)
    # Each VIP is announced over the neighbours of its own address family.
    for version in sorted({vip.version for vip in seen} - {address.version for address in addresses}):
        if addresses:
            found.append("bgp_anycast_vips on %s has IPv%d VIPs, but no neighbour in bgp_anycast_neighbors is an IPv%d "
                         "address, so nothing would announce them. Add the routers' IPv%d addresses."
                         % (host, version, version, version))  # fmt: skip
    hold, hold_problem = preflight._number(settings.get("hold_time"), whole=True)
    if hold_problem or not (hold == 0 or HOLD_MIN <= hold <= HOLD_MAX):
        found.append("bgp_anycast_hold_time: %r on %s %s. Set 0 (never) or 3-65535 seconds, e.g. 3."
                     % (settings.get("hold_time"), host, hold_problem or "is outside 0 or 3-65535"))  # fmt: skip
        hold = None
    keepalive, problem = _whole(settings.get("keepalive"), 1, HOLD_MAX)
    if problem:
        found.append("bgp_anycast_keepalive: %r on %s %s. Set the seconds between keepalives, e.g. 1."
                     % (settings.get("keepalive"), host, problem))  # fmt: skip
    elif hold and keepalive >= hold:
        found.append("bgp_anycast_keepalive: %d s on %s is not below bgp_anycast_hold_time (%d s). Send keepalives "
                     "at a third of the hold time, e.g. 1 and 3." % (keepalive, host, hold))  # fmt: skip
    for name, low, high, example in (
        ("bfd_interval", BFD_INTERVAL_MIN, BFD_INTERVAL_MAX, "100"),
        ("bfd_multiplier", BFD_MULTIPLIER_MIN, BFD_MULTIPLIER_MAX, "3"),
        ("check_interval", CHECK_INTERVAL_MIN, CHECK_INTERVAL_MAX, "200"),
        ("check_fall", 1, 100, "1"),
        ("check_rise", 1, 100, "2"),
    ):
        _value, problem = _whole(settings.get(name), low, high)
        if problem:
            found.append("bgp_anycast_%s: %r on %s %s. Set a whole number in %d-%d, e.g. %s."
                         % (name, settings.get(name), host, problem, low, high, example))  # fmt: skip
    units = settings.get("track_units")
    for index, unit in enumerate(units if isinstance(units, list) else [units]):
        if not isinstance(unit, str) or not preflight.UNIT_RE.match(unit):
            found.append("bgp_anycast_track_units[%d]: %r on %s is not a systemd unit name. Use e.g. haproxy or "
                         "nginx.service." % (index, unit, host))  # fmt: skip
    urls = settings.get("track_urls")
    for index, url in enumerate(urls if isinstance(urls, list) else [urls]):
        problem = preflight._track_url_problem(url)
        if problem:
            found.append("bgp_anycast_track_urls[%d]: %r on %s %s. Write e.g. http://127.0.0.1:8901/halb-health."
                         % (index, url, host, problem))  # fmt: skip
    return found
