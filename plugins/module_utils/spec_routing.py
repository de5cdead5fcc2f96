# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which pool serves a request, and which server of it: a frontend's
routing rules and a pool's session persistence, parts of the LB spec
(lb_spec reads them with these functions).

Routing rules match the Host header (an exact name or "*." and a domain,
any depth below it), a path prefix or an exact path, or a host and a path
together. The first rule that matches wins; a request no rule matches goes
to the frontend's own pool. A rule that can never match, because an earlier
one catches every request it would, is an error: that is almost always a
rule written in the wrong order. Without such rules the engines' own
orders agree with "first match wins": HAProxy evaluates use_backend in
order, and nginx, which picks the longest location, finds no longer path
below an earlier rule's (see applicable_routes for host names).

Standard library only: this also runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.halb.loadbalancer.plugins.module_utils import spec_fields as fields
from ansible_collections.halb.loadbalancer.plugins.module_utils.spec_fields import SpecError

# host: None (any), "shop.example" or "*.shop.example" (lower case).
# Exactly one of path_prefix and path is set; a rule with neither in the
# spec matches every path (path_prefix "/").
Route = namedtuple("Route", "host path_prefix path pool")
# by: cookie (the load balancer inserts a cookie naming the server),
# app_cookie (hash of the application's cookie `name`), header (hash of the
# request header `name`), source (hash of the client address) or uri (hash
# of the path and query). name: the cookie or header, None for the others.
Persistence = namedtuple("Persistence", "by name")

ROUTE_FIELDS = ("host", "path_prefix", "path", "pool")

PERSISTENCE_FIELDS = ("by", "name")
PERSISTENCE_KINDS = ("cookie", "app_cookie", "header", "source", "uri")
# Each engine's hash decides the server of these: the pool's strategy
# would be ignored. `cookie` only decides for requests that carry it.
HASHED = ("app_cookie", "header", "source", "uri")
# Kinds that read HTTP: not for pools served by TCP frontends.
HTTP_ONLY = ("cookie", "app_cookie", "header", "uri")
# What each hashed kind keys on, in words (the renderers' comments).
HASH_KEYS = {"app_cookie": "cookie", "header": "header", "source": "client address", "uri": "URI"}
DEFAULT_COOKIE = "halb_server"
# A cookie that persistence hashes or inserts. nginx reads a cookie as
# $cookie_<name>, and a variable name is letters, digits and '_': a '-'
# would end it. Both engines take the same names. (The cache's bypass
# cookies, lb_spec.COOKIE_NAME_RE, may have a '-'.)
HASHED_COOKIE_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")
# A header name nginx passes on as it is: with an '_' it drops the header
# (underscores_in_headers off).
HEADER_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}\Z")


def _host(value, path):
    if not fields.is_wildcard_dns_name(value):
        raise SpecError(
            path,
            "%r is not a host name" % (value,),
            "Write a DNS name (shop.example) or '*.' and one for every name below it (*.shop.example)",
        )
    return value.lower()


def parse_route(raw, path, pool_ref):
    """One rule; pool_ref(value, path) checks the pool's name."""
    raw = fields.mapping(raw, path)
    fields.no_unknown(raw, path, ROUTE_FIELDS)
    if "path_prefix" in raw and "path" in raw:
        raise SpecError(path + ".path", "a rule takes path_prefix or path, not both",
                        "Use path for one exact path, path_prefix for everything below it")  # fmt: skip
    if not any(field in raw for field in ("host", "path_prefix", "path")):
        raise SpecError(path, "the rule matches nothing in particular",
                        "Give it a host, a path_prefix or a path (the frontend's pool takes the rest)")  # fmt: skip
    host = _host(raw["host"], path + ".host") if "host" in raw else None
    exact = fields.url_path(raw["path"], path + ".path", "a URL path", "/payments/notify") if "path" in raw else None
    prefix = None
    if exact is None:
        prefix = fields.url_path(raw.get("path_prefix", "/"), path + ".path_prefix", "a URL path prefix", "/payments")
    return Route(host, prefix, exact, pool_ref(raw.get("pool"), path + ".pool"))


def host_covers(host, other):
    """True when every request for `other` is also for `host` (None: any)."""
    if host is None or host == other:
        return True
    if other is None or not host.startswith("*."):
        return False
    # *.shop.example covers a.shop.example, *.a.shop.example, not shop.example.
    return (other[1:] if other.startswith("*.") else other).endswith(host[1:])


def _path_covers(route, other):
    if route.path is not None:
        return other.path == route.path
    return (other.path or other.path_prefix).startswith(route.path_prefix)


def covers(route, other):
    """True when `route` matches every request `other` matches."""
    return host_covers(route.host, other.host) and _path_covers(route, other)


def describe(route):
    parts = ["host %s" % route.host] if route.host else []
    parts.append("path %s" % route.path if route.path is not None else "path_prefix %s" % route.path_prefix)
    return ", ".join(parts)


def check_shadowed(routes, path):
    """A rule that comes after one matching all its requests never matches."""
    for j, later in enumerate(routes):
        for i, earlier in enumerate(routes[:j]):
            if covers(earlier, later):
                raise SpecError(
                    "%s[%d]" % (path, j),
                    "this rule (%s) can never match: routes[%d] (%s) comes first and takes every request it would"
                    % (describe(later), i, describe(earlier)),
                    "Move it above routes[%d], or remove it" % i,
                )


def applicable_routes(routes, host):
    """The rules an nginx server block for `host` (None: the block for
    every other name) serves, in order: those whose host covers it, less
    any whose path an earlier one there covers (in the block every rule's
    host matches). nginx picks the longest matching location; with no rule
    below an earlier rule's path, that is the first match."""
    out = []
    for route in routes:
        if (route.host is None or (host is not None and host_covers(route.host, host))) and not any(
            _path_covers(earlier, route) for earlier in out
        ):
            out.append(route)
    return out


def route_hosts(routes):
    """The host names of the rules, each once, in order."""
    hosts = []
    for route in routes:
        if route.host and route.host not in hosts:
            hosts.append(route.host)
    return hosts


def hash_comment(persistence):
    """The lines the renderers write above a hashed pool's balancing."""
    lines = [
        "Sticky: the same %s goes to the same server. Consistent hashing:" % HASH_KEYS[persistence.by],
        "a server that leaves takes only its own keys elsewhere.",
    ]
    if persistence.name:
        lines.append("Requests without the %s are balanced round robin." % HASH_KEYS[persistence.by])
    return lines


def parse_persistence(value, path, engine, strategy, strategy_given):
    """A pool's session persistence, or None."""
    if value is None or value is False:
        return None
    data = fields.mapping(value, path)
    fields.no_unknown(data, path, PERSISTENCE_FIELDS)
    by = data.get("by")
    if by not in PERSISTENCE_KINDS:
        raise SpecError(path + ".by", "unknown persistence %r" % (by,), "Use one of: %s" % ", ".join(PERSISTENCE_KINDS))
    if by == "cookie" and engine == "nginx":
        raise SpecError(path + ".by", "cookie is not supported by nginx open source (a cookie naming the server "
                        "is NGINX Plus's sticky)", "Use by: app_cookie with your application's session cookie, "
                        "which nginx hashes to a server")  # fmt: skip
    name = _persistence_name(data, path, by)
    if by in HASHED and strategy_given and strategy != "round_robin":
        raise SpecError(path + ".by", "%s hashes each request to its server, so strategy %s would be ignored"
                        % (by, strategy), "Leave strategy out (round robin serves requests without a key)")  # fmt: skip
    if by == "cookie" and strategy == "fastest_response":
        raise SpecError(path + ".by", "fastest_response picks the server of every request, so the cookie would "
                        "be ignored", "Use strategy round_robin or least_connections with it")  # fmt: skip
    return Persistence(by, name)


def check_backup_servers(persistence, servers, path, engine):
    """nginx refuses backup servers beside hash (the hash picks among all)."""
    if engine != "nginx" or persistence is None or persistence.by not in HASHED:
        return
    for i, server in enumerate(servers):
        if server.backup:
            raise SpecError("%s.servers[%d].backup" % (path, i), "nginx takes no backup server in a pool that "
                            "hashes (persistence by %s)" % persistence.by,
                            "Make it a normal server, or drain it while it should take no traffic")  # fmt: skip


def _persistence_name(data, path, by):
    if by in ("source", "uri"):
        if "name" in data:
            raise SpecError(path + ".name", "by: %s takes no name" % by, "Remove name")
        return None
    if by == "header":
        if "name" not in data:
            raise SpecError(path + ".name", "missing", "Name the header to hash, e.g. name: X-Cart-Id")
        name = data["name"]
        if not isinstance(name, str) or not HEADER_NAME_RE.match(name):
            raise SpecError(path + ".name", "%r is not a header name both engines pass on" % (name,),
                            "Use a letter, then letters, digits and '-' (no '_': nginx drops such "
                            "headers), e.g. X-Cart-Id")  # fmt: skip
        return name
    if by == "app_cookie" and "name" not in data:
        raise SpecError(path + ".name", "missing", "Name your application's session cookie, e.g. name: cart")
    name = data.get("name", DEFAULT_COOKIE)
    if not isinstance(name, str) or not HASHED_COOKIE_NAME_RE.match(name):
        raise SpecError(path + ".name", "%r is not a cookie name both engines read" % (name,),
                        "Use a letter, then letters, digits and '_' (nginx cannot read a cookie with '-')")  # fmt: skip
    return name
