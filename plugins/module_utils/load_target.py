# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a load or a drill may send traffic: only to the inventory's own VIPs.

A load tool pointed at the wrong address is an attack on someone else's
server, so the URL is parsed strictly and every address its host resolves
to must be one the caller allows (the VIPs of the inventory) unless the
caller forces it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import socket

from ansible_collections.halb.loadbalancer.plugins.module_utils.load_client import Target

# RFC 3986 path and query characters, starting with "/"; no spaces, quotes or controls.
URL_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*\Z")
HOST_NAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
URL = re.compile(
    r"(?P<scheme>https?)://(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^/:\[\]]+))(?::(?P<port>[0-9]{1,5}))?(?P<path>/[^#]*)?\Z"
)


class TargetError(ValueError):
    """A URL that is malformed or points outside the allowed addresses."""


def _addresses(host):
    """The addresses a host (literal or name) stands for."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    if not HOST_NAME.match(host):
        raise TargetError("url: %r is neither an IP address nor a valid host name" % host)
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetError("url: the host name %s does not resolve (%s)" % (host, exc)) from None
    return sorted(set(str(ipaddress.ip_address(info[4][0])) for info in infos))


def parse_target(url, allowed, force=False):
    """A load_client.Target for url, or TargetError naming what is wrong and how to fix it."""
    match = URL.match(url or "")
    if not match:
        raise TargetError("url: %r is not an http:// or https:// URL such as http://192.0.2.10/orders" % url)
    host = match.group("ipv6") or match.group("host")
    path = match.group("path") or "/"
    if not URL_PATH.match(path):
        raise TargetError("url: the path %r has characters outside RFC 3986 (spaces, quotes, controls)" % path)
    tls = match.group("scheme") == "https"
    port = int(match.group("port") or (443 if tls else 80))
    if not 1 <= port <= 65535:
        raise TargetError("url: port %d is out of range 1-65535" % port)
    addresses = _addresses(host)
    try:
        allowed_set = set(str(ipaddress.ip_address(a)) for a in allowed)
    except ValueError as exc:
        raise TargetError("allowed_addresses: %s; list IP addresses (the inventory's VIPs)" % exc) from None
    outside = [a for a in addresses if a not in allowed_set]
    if outside and not force:
        raise TargetError(
            "url: %s is not a VIP of this inventory (allowed: %s); point the load at your own VIP, "
            "or set force: true if you really mean %s"
            % (", ".join(outside), ", ".join(sorted(allowed_set)) or "none", host)
        )
    return Target(addresses[0] if match.group("ipv6") else host, port, path, tls=tls)
