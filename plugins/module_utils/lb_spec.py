# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer spec: one typed description that every role, module
and renderer reads.

parse(data, engine) takes plain dicts (what users write in group_vars),
validates them and returns a normalized, frozen Spec. Every problem raises
SpecError naming the path of the field, e.g.
``pools[1].servers[2].port: 70000 is not a TCP port (1-65535)``, and the fix.

It is the only validator of what ends up in the config files, so it is
strict: names, addresses, URL paths and file paths must match patterns
anchored at the very end of the string (a trailing newline never passes),
and none of them can hold whitespace, quotes, ';', '{', '}' or '#'.
Numbers may be strings of digits (templating often makes them so); a bool
is never a number.
Standard library only: this also runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from collections import namedtuple

from ansible_collections.halb.loadbalancer.plugins.module_utils import balancer_lua, tls_policy
from ansible_collections.halb.loadbalancer.plugins.module_utils import spec_fields as fields
from ansible_collections.halb.loadbalancer.plugins.module_utils import spec_logging, spec_routing
from ansible_collections.halb.loadbalancer.plugins.module_utils.engine_facts import (
    ENGINES,
    MAX_MAXCONN,
    NODE_EXPORTER_BACKEND,
    RATE_TABLE_PREFIX,
    STRATEGIES,
    STRATEGY_ALIASES,
    WEIGHT_RANGE,
)

from ansible_collections.halb.loadbalancer.plugins.module_utils.spec_fields import SpecError, duration_ms, file_path

# More of the spec's public names that live in spec_fields, for the
# modules, filters and tests that read them from here.
DNS_NAME_RE = fields.DNS_NAME_RE
NAME_RE = fields.NAME_RE
URL_PATH_CHARS = fields.URL_PATH_CHARS
URL_PATH_RE = fields.URL_PATH_RE
listen_address = fields.listen_address

MODES = ("http", "tcp")


Server = namedtuple("Server", "name address port weight backup max_fails fail_timeout_ms drain")
HealthCheck = namedtuple("HealthCheck", "enabled path expected_status interval_ms timeout_ms fall rise")
# persistence: spec_routing.Persistence or None. slow_start_ms: 0 for none.
# connect_ms, server_ms, retries: the pool's own, or None for the spec's.
Pool = namedtuple(
    "Pool",
    "name strategy servers health_check keepalive fastest persistence slow_start_ms connect_ms server_ms retries",
)
FastestResponse = namedtuple("FastestResponse", "half_life_ms penalty probe_interval_ms")
Tls = namedtuple("Tls", "certificate key min_version ciphers hsts redirect_http sni")
# A certificate served to clients that ask for one of `names` by SNI.
SniCertificate = namedtuple("SniCertificate", "names certificate key")
Hsts = namedtuple("Hsts", "max_age_s include_subdomains preload")
Acl = namedtuple("Acl", "allow deny paths")
PathAcl = namedtuple("PathAcl", "prefix allow deny")
# Per client address: `rate` requests a second, `burst` more at once, and
# `status` for every request beyond (see the renderers for how each engine
# counts).
RateLimit = namedtuple("RateLimit", "rate burst status")
Cache = namedtuple("Cache", "enabled size_mb max_object_kb ttl_s bypass_cookies")
Frontend = namedtuple(
    "Frontend", "name bind port mode pool tls acl rate_limit cache websocket routes security_headers access_log"
)
Route = spec_routing.Route
Timeouts = namedtuple("Timeouts", "connect_ms client_ms server_ms http_request_ms tunnel_ms reload_grace_ms")
Spec = namedtuple("Spec", "engine frontends pools timeouts retries redispatch maxconn logging")


# --- field readers (the generic ones are in spec_fields) --------------------


def _strategy(value, path):
    value = STRATEGY_ALIASES.get(value, value) if isinstance(value, str) else value
    if value not in STRATEGIES:
        raise SpecError(
            path,
            "unknown strategy %r" % (value,),
            "Use one of: %s" % ", ".join(STRATEGIES + tuple(sorted(STRATEGY_ALIASES))),
        )
    return value


def _pool_ref(value, path, pool_names):
    """The name of a pool of this spec."""
    if not isinstance(value, str) or value not in pool_names:
        raise SpecError(
            path,
            "%r is not a pool of this spec" % (value,),
            "Use one of: %s" % ", ".join(sorted(pool_names)) if pool_names else "Define pools first",
        )
    return value


# --- sections ---------------------------------------------------------------

SERVER_FIELDS = ("name", "address", "port", "weight", "backup", "max_fails", "fail_timeout", "drain")


def _server(data, path, engine, index):
    data = fields.mapping(data, path)
    fields.no_unknown(data, path, SERVER_FIELDS)
    if "address" not in data or "port" not in data:
        raise SpecError(path, "a server needs address and port", "e.g. {address: 192.0.2.11, port: 8080}")
    address = fields.address(data["address"], path + ".address")
    port = fields.as_int(data["port"], path + ".port", 1, 65535, "a TCP port")
    low, high = WEIGHT_RANGE[engine]
    weight = fields.as_int(data.get("weight", 1), path + ".weight", low, high, check_range=False)
    if not low <= weight <= high:
        raise SpecError(
            path + ".weight",
            "%d is out of range for %s (%d-%d)" % (weight, engine, low, high),
            "0 (drain) exists only on HAProxy; use drain: true for nginx"
            if engine == "nginx" and weight == 0
            else "Write %s" % fields.int_range(low, high),
        )
    return Server(
        name=fields.name(data.get("name", "s%d" % (index + 1)), path + ".name"),
        address=address,
        port=port,
        weight=weight,
        backup=fields.as_bool(data.get("backup", False), path + ".backup"),
        max_fails=fields.as_int(data.get("max_fails", 3), path + ".max_fails", 0, 100),
        fail_timeout_ms=fields.whole_seconds(data.get("fail_timeout", "10s"), path + ".fail_timeout"),
        drain=fields.as_bool(data.get("drain", False), path + ".drain"),
    )


HEALTH_FIELDS = ("enabled", "path", "expected_status", "interval", "timeout", "fall", "rise")


def _health_check(data, path):
    data = fields.mapping(data or {}, path)
    fields.no_unknown(data, path, HEALTH_FIELDS)
    hc_path = fields.url_path(data.get("path", "/health"), path + ".path", "a URL path", "/health")
    interval = duration_ms(data.get("interval", "2s"), path + ".interval")
    timeout = duration_ms(data.get("timeout", "2s"), path + ".timeout")
    if interval < 100:
        raise SpecError(path + ".interval", "%d ms is too short" % interval, "Check at most every 100ms")
    return HealthCheck(
        enabled=fields.as_bool(data.get("enabled", True), path + ".enabled"),
        path=hc_path,
        expected_status=fields.as_int(
            data.get("expected_status", 200), path + ".expected_status", 100, 599, "an HTTP status"
        ),
        interval_ms=interval,
        timeout_ms=timeout,
        fall=fields.as_int(data.get("fall", 3), path + ".fall", 1, 100),
        rise=fields.as_int(data.get("rise", 2), path + ".rise", 1, 100),
    )


POOL_FIELDS = (
    "name", "strategy", "servers", "health_check", "keepalive", "fastest_response", "persistence", "slow_start",
    "timeouts", "retries",
)  # fmt: skip
POOL_TIMEOUT_FIELDS = ("connect", "server")
FASTEST_FIELDS = ("half_life", "penalty", "probe_interval")


def _fastest(data, path, strategy):
    """Knobs of the in-engine fastest_response balancer (balancer_lua)."""
    if data is not None and strategy != "fastest_response":
        raise SpecError(path, "these settings are for strategy fastest_response, the pool's is %s" % strategy,
                        "Remove them, or set strategy: fastest_response")  # fmt: skip
    data = fields.mapping(data or {}, path)
    fields.no_unknown(data, path, FASTEST_FIELDS)
    values = dict(half_life=balancer_lua.DEFAULT_HALF_LIFE_MS, probe_interval=balancer_lua.DEFAULT_PROBE_INTERVAL_MS)
    for field in ("half_life", "probe_interval"):
        if field in data:
            values[field] = duration_ms(data[field], path + "." + field)
            if not 10 <= values[field] <= 60000:
                raise SpecError(
                    path + "." + field,
                    "%s is out of range (10ms-60s)" % data[field],
                    "Write a duration from 10ms to 60s, e.g. %s: 1s" % field,
                )
    return FastestResponse(
        half_life_ms=values["half_life"],
        penalty=fields.as_int(data.get("penalty", balancer_lua.DEFAULT_PENALTY), path + ".penalty", 1, 10),
        probe_interval_ms=values["probe_interval"],
    )


def _pool(data, path, engine):
    data = fields.mapping(data, path)
    fields.no_unknown(data, path, POOL_FIELDS)
    if "name" not in data:
        raise SpecError(path + ".name", "missing", "Every pool needs a name, e.g. name: shop")
    servers_raw = fields.as_list(data.get("servers"), path + ".servers")
    if not servers_raw:
        raise SpecError(path + ".servers", "the pool is empty", "List at least one server")
    servers = tuple(_server(s, "%s.servers[%d]" % (path, i), engine, i) for i, s in enumerate(servers_raw))
    seen_endpoints, seen_names = {}, {}
    for i, server in enumerate(servers):
        spath = "%s.servers[%d]" % (path, i)
        endpoint = (server.address, server.port)
        if endpoint in seen_endpoints:
            raise SpecError(
                spath,
                "%s port %d is already listed at servers[%d]" % (server.address, server.port, seen_endpoints[endpoint]),
                "Remove the duplicate or change its port",
            )
        if server.name in seen_names:
            raise SpecError(
                spath + ".name", "%r is already used at servers[%d]" % (server.name, seen_names[server.name])
            )
        seen_endpoints[endpoint] = seen_names[server.name] = i
    if all(s.drain or s.backup for s in servers) and any(s.drain for s in servers):
        raise SpecError(
            path + ".servers",
            "every active server is drained, so the pool would take no new traffic",
            "Leave at least one server in service",
        )
    if all(s.backup for s in servers):
        raise SpecError(
            path + ".servers",
            "every server is a backup, so none takes traffic while all are healthy",
            "Set backup: false on at least one server",
        )
    strategy = _strategy(data.get("strategy", "round_robin"), path + ".strategy")
    health_check = _health_check(data.get("health_check"), path + ".health_check")
    timeouts = fields.mapping(data.get("timeouts") or {}, path + ".timeouts")
    fields.no_unknown(timeouts, path + ".timeouts", POOL_TIMEOUT_FIELDS)
    pool_timeouts = dict((field, _positive_ms(timeouts, field, path + ".timeouts")) for field in POOL_TIMEOUT_FIELDS)
    persistence = spec_routing.parse_persistence(
        data.get("persistence"), path + ".persistence", engine, strategy, "strategy" in data
    )
    spec_routing.check_backup_servers(persistence, servers, path, engine)
    return Pool(
        name=fields.name(data["name"], path + ".name"),
        strategy=strategy,
        servers=servers,
        health_check=health_check,
        keepalive=fields.as_int(data.get("keepalive", 32), path + ".keepalive", 0, 10000),
        fastest=_fastest(data.get("fastest_response"), path + ".fastest_response", strategy),
        persistence=persistence,
        slow_start_ms=_slow_start(data.get("slow_start"), path + ".slow_start", engine, health_check),
        connect_ms=pool_timeouts["connect"],
        server_ms=pool_timeouts["server"],
        retries=fields.as_int(data["retries"], path + ".retries", 0, 100) if "retries" in data else None,
    )


def _positive_ms(data, field, path, default=None):
    """The timeout `field` of the mapping `data` (at `path`) in ms, at least
    1ms; without it, `default` (None: no value, returned as it is)."""
    if field in data:
        value = data[field]
    elif default is None:
        return None
    else:
        value = default
    ms = fields.duration_ms(value, path + "." + field)
    if ms < 1:
        raise SpecError(path + "." + field, "must be longer than 0",
                        "Write a duration of at least 1ms, e.g. %s: 5s, or remove it for the default"
                        % field)  # fmt: skip
    return ms


def _slow_start(value, path, engine, health_check):
    """How long a server back from down takes to reach its full weight.
    None, false and any duration of 0 (0, "0", "0s", "0ms", ...) mean off."""
    ms = 0 if value is None or value is False else fields.duration_ms(value, path)
    if ms == 0:
        return 0
    if engine == "nginx":
        raise SpecError(path, "is not supported by nginx open source (server slow_start is NGINX Plus): a "
                        "server back from down gets its full share at once",
                        "Remove slow_start, or use HAProxy")  # fmt: skip
    if not health_check.enabled:
        raise SpecError(path, "needs health checks: the ramp starts when a check finds the server up again",
                        "Turn health_check on, or remove slow_start")  # fmt: skip
    if not 1000 <= ms <= 3600000:
        raise SpecError(path, "%s is out of range (1s-1h)" % value, "Write e.g. slow_start: 30s")
    return ms


TLS_FIELDS = ("enabled", "certificate", "key", "min_version", "ciphers", "hsts", "redirect_http", "sni")
SNI_FIELDS = ("names", "certificate", "key")
HSTS_FIELDS = ("max_age", "include_subdomains", "preload")


def _hsts(value, path):
    """true (Mozilla's two years), false, or {max_age, include_subdomains, preload}."""
    if value is False:
        return None
    if value is None or value is True:
        value = {}
    data = fields.mapping(value, path)
    fields.no_unknown(data, path, HSTS_FIELDS)
    return Hsts(
        max_age_s=fields.as_int(data.get("max_age", tls_policy.HSTS_MAX_AGE_S), path + ".max_age", 0, 2**31 - 1,
                                "a number of seconds"),
        include_subdomains=fields.as_bool(data.get("include_subdomains", False), path + ".include_subdomains"),
        preload=fields.as_bool(data.get("preload", False), path + ".preload"),
    )  # fmt: skip


def _tls(data, path, engine):
    if data is None or data is False:
        return None
    data = fields.mapping(data, path)
    fields.no_unknown(data, path, TLS_FIELDS)
    if not fields.as_bool(data.get("enabled", True), path + ".enabled"):
        for field in ("hsts", "redirect_http", "sni"):
            if data.get(field) not in (None, False, []):
                raise SpecError(path + "." + field, "needs TLS, and tls.enabled is false",
                                "Remove %s, or turn TLS on" % field)  # fmt: skip
        return None
    cert = data.get("certificate")
    if not cert:
        raise SpecError(
            path + ".certificate",
            "TLS is on but no certificate is given",
            "Set certificate: /etc/ssl/private/site.pem (and key:), or tls.enabled: false",
        )
    cert, key = _certificate_files(data, path, engine)
    min_version = str(data.get("min_version", "1.2"))
    if min_version not in tls_policy.MIN_VERSIONS:
        raise SpecError(path + ".min_version", "%r is not supported" % min_version, "Use 1.2 or 1.3")
    ciphers = data.get("ciphers", tls_policy.INTERMEDIATE_CIPHERS)
    if not isinstance(ciphers, str) or not tls_policy.CIPHERS_RE.match(ciphers):
        raise SpecError(path + ".ciphers", "%r is not an OpenSSL cipher list" % (ciphers,),
                        "Write names joined by colons, e.g. ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384, "
                        "or leave it out for Mozilla's intermediate list")  # fmt: skip
    redirect = data.get("redirect_http", False)
    if redirect is not False and redirect is not None:
        redirect = fields.as_int(redirect, path + ".redirect_http", 1, 65535, "a TCP port")
    else:
        redirect = None
    return Tls(certificate=cert, key=key, min_version=min_version, ciphers=ciphers,
               hsts=_hsts(data.get("hsts"), path + ".hsts"), redirect_http=redirect,
               sni=_sni(data.get("sni"), path + ".sni", engine))  # fmt: skip


def _certificate_files(data, path, engine):
    """(certificate, key or None) of a tls or tls.sni[] mapping."""
    cert = file_path(data.get("certificate"), path + ".certificate")
    key = data.get("key") or None
    if key:
        key = file_path(key, path + ".key")
    if engine == "haproxy" and key and key != cert + ".key":
        raise SpecError(
            path + ".key",
            "HAProxy reads the key from the certificate file or from %s.key" % cert,
            "Put the key inside %s, or at %s.key, and leave key out" % (cert, cert),
        )
    return cert, key


def certificate_files(fe):
    """(field path, certificate, key or None, SNI names) of every
    certificate a frontend serves: the default one (no names), then
    tls.sni's."""
    if not fe.tls:
        return []
    files = [("tls", fe.tls.certificate, fe.tls.key, ())]
    files += [("tls.sni[%d]" % i, e.certificate, e.key, e.names) for i, e in enumerate(fe.tls.sni)]
    return files


def _sni(value, path, engine):
    """Certificates beside the default one, each for the server names a
    client asks for (SNI); a name asked for by no entry gets the default."""
    entries, seen = [], {}
    for i, raw in enumerate(fields.as_list(value, path)):
        epath = "%s[%d]" % (path, i)
        raw = fields.mapping(raw, epath)
        fields.no_unknown(raw, epath, SNI_FIELDS)
        names = fields.as_list(raw.get("names"), epath + ".names")
        if not names:
            raise SpecError(epath + ".names", "is empty", "List the server names this certificate is for")
        for j, name in enumerate(names):
            npath = "%s.names[%d]" % (epath, j)
            if not fields.is_wildcard_dns_name(name):
                raise SpecError(npath, "%r is not a server name" % (name,),
                                "Write a DNS name, e.g. admin.shop.example or *.shop.example")  # fmt: skip
            if name.lower() in seen:
                raise SpecError(npath, "%s is also a name of %s" % (name, seen[name.lower()]),
                                "Give each name to one certificate")  # fmt: skip
            seen[name.lower()] = epath
        cert, key = _certificate_files(raw, epath, engine)
        entries.append(SniCertificate(tuple(name.lower() for name in names), cert, key))
    return tuple(entries)


RATE_LIMIT_FIELDS = ("requests_per_second", "burst", "status")
RATE_LIMIT_MAX = 1000000


def _rate_limit(value, path):
    """None (no limit), from a number of requests per second per client or
    a mapping of RATE_LIMIT_FIELDS. The burst defaults to one second's
    worth: a page's parallel requests pass, a flood does not."""
    if isinstance(value, dict):
        fields.no_unknown(value, path, RATE_LIMIT_FIELDS)
        if "requests_per_second" not in value:
            raise SpecError(path + ".requests_per_second", "is required", "Give the requests per second per client")
        rate = fields.as_int(value["requests_per_second"], path + ".requests_per_second", 1, RATE_LIMIT_MAX,
                             "a request rate per client and second")  # fmt: skip
        burst = fields.as_int(value.get("burst", rate), path + ".burst", 0, RATE_LIMIT_MAX, "a number of requests")
        status = fields.as_int(value.get("status", 429), path + ".status", 400, 599, "an HTTP error status")
        return RateLimit(rate, burst, status)
    rate = fields.as_int(0 if value is None else value, path, 0, RATE_LIMIT_MAX, "a request rate per client and second")
    return RateLimit(rate, rate, 429) if rate else None


CACHE_FIELDS = ("enabled", "size_mb", "max_object_kb", "ttl", "bypass_cookies")
# A cookie name the cache bypass can match: both engines' patterns take it
# as it is (nginx map regex, HAProxy req.cook). Persistence cookies are
# stricter (spec_routing.HASHED_COOKIE_NAME_RE: no '-').
COOKIE_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
# bypass_cookies: any Cookie header (the default), or none at all.
BYPASS_ANY, BYPASS_NONE = "any", "none"


def _bypass_cookies(value, path):
    """ "any" (a request with any cookie is neither served from the cache nor
    stored), "none" (cookies do not matter: the pool opts in), or the
    session cookies that do."""
    if value in (BYPASS_ANY, BYPASS_NONE):
        return value
    if not isinstance(value, list) or not value:
        raise SpecError(path, "%r is neither any, none nor a list of cookie names" % (value,),
                        "Write any (the default), none, or e.g. [sessionid, cart]")  # fmt: skip
    for i, name in enumerate(value):
        if not isinstance(name, str) or not COOKIE_NAME_RE.match(name):
            raise SpecError("%s[%d]" % (path, i), "%r is not a cookie name" % (name,),
                            "Use 1-64 letters, digits, _ and -, e.g. sessionid")  # fmt: skip
    return tuple(value)


def _cache(data, path, engine):
    if data is None or data is False:
        return Cache(False, 0, 0, 0, BYPASS_ANY)
    if data is True:
        data = {}
    data = fields.mapping(data, path)
    fields.no_unknown(data, path, CACHE_FIELDS)
    enabled = fields.as_bool(data.get("enabled", True), path + ".enabled")
    size_mb = fields.as_int(data.get("size_mb", 64), path + ".size_mb", 1, 4095)
    if engine == "nginx" and "max_object_kb" in data:
        raise SpecError(
            path + ".max_object_kb",
            "not supported by nginx open source (proxy_cache has no per-object size limit)",
            "Remove it for the nginx engine; size_mb bounds the whole cache",
        )
    max_object_kb = fields.as_int(data.get("max_object_kb", 512), path + ".max_object_kb", 1, 1048576)
    if engine == "haproxy" and max_object_kb > 2048:
        # HAProxy's cache keeps objects in shared memory and is meant for small ones.
        raise SpecError(
            path + ".max_object_kb",
            "%d KB is more than HAProxy's cache holds per object (2048 KB)" % max_object_kb,
            "Lower it, or use the nginx engine, whose cache lives on disk",
        )
    if max_object_kb > size_mb * 1024:
        raise SpecError(path + ".max_object_kb", "%d KB is larger than the cache (%d MB)" % (max_object_kb, size_mb))
    ttl_s = duration_ms(data.get("ttl", "60s"), path + ".ttl") // 1000
    if ttl_s < 1:
        raise SpecError(path + ".ttl", "must be at least 1s")
    bypass = _bypass_cookies(data.get("bypass_cookies", BYPASS_ANY), path + ".bypass_cookies")
    return Cache(enabled, size_mb, max_object_kb, ttl_s, bypass)


FRONTEND_FIELDS = (
    "name", "bind", "port", "mode", "pool", "tls", "acl", "rate_limit", "cache", "websocket", "routes",
    "security_headers", "access_log",
)  # fmt: skip

# Which requests an HTTP frontend logs. Logging every request costs the
# engine (and journald, for HAProxy) about as much CPU as proxying it
# (docs/results/dataplane.json), so a busy frontend may keep only the
# failures: answers 5xx and requests ended by an error, a timeout or a
# retry (HAProxy's dontlog-normal; nginx: 5xx, 400, 408 and 499).
ACCESS_LOG_LEVELS = ("all", "errors", "off")


def _cidrs(data, path, field):
    return tuple(
        fields.cidr(c, "%s.%s[%d]" % (path, field, i))
        for i, c in enumerate(fields.as_list(data.get(field), path + "." + field))
    )


def _acl(value, path):
    """Who may connect: deny wins, then a non-empty allow list must match.
    paths: the same for requests whose path starts with prefix, on top."""
    data = fields.mapping(value or {}, path)
    fields.no_unknown(data, path, ("allow", "deny", "paths"))
    paths, seen = [], {}
    for i, raw in enumerate(fields.as_list(data.get("paths"), path + ".paths")):
        ppath = "%s.paths[%d]" % (path, i)
        raw = fields.mapping(raw, ppath)
        fields.no_unknown(raw, ppath, ("prefix", "allow", "deny"))
        prefix = fields.url_path(raw.get("prefix"), ppath + ".prefix", "a URL path prefix", "/admin")
        if prefix in seen:
            raise SpecError(ppath + ".prefix", "%s is already listed at paths[%d]" % (prefix, seen[prefix]),
                            "Merge the two rules")  # fmt: skip
        seen[prefix] = i
        rule = PathAcl(prefix, _cidrs(raw, ppath, "allow"), _cidrs(raw, ppath, "deny"))
        if not (rule.allow or rule.deny):
            raise SpecError(ppath, "the rule allows and denies nobody", "Give it allow: or deny: networks")
        paths.append(rule)
    return Acl(allow=_cidrs(data, path, "allow"), deny=_cidrs(data, path, "deny"), paths=tuple(paths))


# security_headers: true sends these; a mapping changes their values.
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
# Answer headers that name software versions: removed with security_headers.
BANNER_HEADERS = ("Server", "X-Powered-By")
# A header value both engines take inside double quotes.
HEADER_VALUE_RE = re.compile(r"[A-Za-z0-9 ._,:/=+()*-]{1,256}\Z")


def _security_headers(value, path):
    """((name, value), ...) to add to every answer; () for none."""
    if value is None or value is False:
        return ()
    data = {} if value is True else fields.mapping(value, path)
    known = dict(SECURITY_HEADERS)
    fields.no_unknown(data, path, tuple(known))
    out = []
    for name, default in SECURITY_HEADERS:
        header = data.get(name, default)
        if header is False:
            continue  # this one left out
        if not isinstance(header, str) or not HEADER_VALUE_RE.match(header):
            raise SpecError(path + "." + name, "%r is not a header value this collection writes" % (header,),
                            "Use letters, digits, spaces and . _ , : / = + ( ) * -, e.g. %s" % default)  # fmt: skip
        out.append((name, header))
    return tuple(out)


def _frontend(data, path, engine, pool_names):
    data = fields.mapping(data, path)
    fields.no_unknown(data, path, FRONTEND_FIELDS)
    name = fields.name(data.get("name", "fe%s" % path.split("[")[-1].rstrip("]")), path + ".name")
    mode = data.get("mode", "http")
    if mode not in MODES:
        raise SpecError(path + ".mode", "unknown mode %r" % (mode,), "Use http or tcp")
    bind = data.get("bind", "*")
    if bind not in ("*", "::"):
        bind = fields.address(bind, path + ".bind")
    tls = _tls(data.get("tls"), path + ".tls", engine)
    port = fields.as_int(data.get("port", 443 if tls else 80), path + ".port", 1, 65535, "a TCP port")
    pool = _pool_ref(data.get("pool"), path + ".pool", pool_names)
    acl = _acl(data.get("acl"), path + ".acl")
    rate_limit = _rate_limit(data.get("rate_limit"), path + ".rate_limit")
    cache = _cache(data.get("cache"), path + ".cache", engine)
    websocket = fields.as_bool(data.get("websocket", False), path + ".websocket")
    routes = tuple(
        spec_routing.parse_route(raw, "%s.routes[%d]" % (path, i), lambda value, at: _pool_ref(value, at, pool_names))
        for i, raw in enumerate(fields.as_list(data.get("routes"), path + ".routes"))
    )
    spec_routing.check_shadowed(routes, path + ".routes")
    if mode == "tcp" and tls and (tls.redirect_http or ("hsts" in (data.get("tls") or {}) and tls.hsts)):
        field = "redirect_http" if tls.redirect_http else "hsts"
        raise SpecError(path + ".tls." + field, "needs mode: http", "Leave %s out of a TCP frontend" % field)
    security_headers = _security_headers(data.get("security_headers"), path + ".security_headers")
    if mode == "tcp" and security_headers:
        raise SpecError(path + ".security_headers", "needs mode: http", "HTTP headers do not apply to a TCP frontend")
    access_log = data.get("access_log", "all")
    if access_log not in ACCESS_LOG_LEVELS:
        raise SpecError(path + ".access_log", "unknown level %r" % (access_log,), "Use all, errors or off")
    if mode == "tcp" and "access_log" in data:
        raise SpecError(path + ".access_log", "needs mode: http", "Leave access_log out of a TCP frontend")
    if mode == "tcp" and tls and tls.sni and engine == "nginx":
        raise SpecError(path + ".tls.sni", "is not supported by nginx open source for TCP frontends (its stream "
                        "module picks no certificate by name)", "Serve one certificate, or use mode: http")  # fmt: skip
    if mode == "tcp" and acl.paths:
        raise SpecError(path + ".acl.paths", "needs mode: http", "A TCP frontend has no paths: use allow and deny")
    if mode == "tcp":
        for field, on in (
            ("cache", cache.enabled),
            ("websocket", websocket),
            ("routes", routes),
            ("rate_limit", rate_limit),
        ):
            if on:
                raise SpecError(path + "." + field, "needs mode: http", "HTTP features do not apply to a TCP frontend")
    return Frontend(name, bind, port, mode, pool, tls, acl, rate_limit, cache, websocket, routes,
                    security_headers, access_log)  # fmt: skip


TIMEOUT_FIELDS = ("connect", "client", "server", "http_request", "tunnel", "reload_grace")
# reload_grace: how long the old workers of a reload may finish their
# connections before they are stopped (HAProxy hard-stop-after, nginx
# worker_shutdown_timeout). Without a bound, every reload under long-lived
# connections (WebSockets, downloads) leaves a process behind.
TIMEOUT_DEFAULTS = {
    "connect": "5s",
    "client": "30s",
    "server": "30s",
    "http_request": "10s",
    "tunnel": "1h",
    "reload_grace": "5m",
}


def _timeouts(data, path):
    data = fields.mapping(data or {}, path)
    fields.no_unknown(data, path, TIMEOUT_FIELDS)
    values = {}
    for field in TIMEOUT_FIELDS:
        values[field + "_ms"] = _positive_ms(data, field, path, TIMEOUT_DEFAULTS[field])
    return Timeouts(**values)


SPEC_FIELDS = ("frontends", "pools", "timeouts", "retries", "redispatch", "maxconn", "logging")


# Names the renderers give sections of their own (HAProxy: the health
# frontend keepalived's track script asks, one stick-table backend per
# rate-limited frontend), so no frontend or pool may take them.
HEALTH_FRONTEND = "halb_health"
# The metrics listener (render_haproxy); its backend and the rate tables'
# names are in engine_facts (lb_status reads them too).
METRICS_FRONTEND = "halb_metrics"


def parse(data, engine):
    """Validate and normalize a spec for one engine; raise SpecError."""
    if engine not in ENGINES:
        raise SpecError("engine", "unknown engine %r" % (engine,), "Use haproxy or nginx")
    data = fields.mapping(data, "spec")
    fields.no_unknown(data, "", SPEC_FIELDS)
    pools_raw = fields.as_list(data.get("pools"), "pools")
    if not pools_raw:
        raise SpecError("pools", "no pools defined", "Define at least one pool with servers")
    pools = tuple(_pool(p, "pools[%d]" % i, engine) for i, p in enumerate(pools_raw))
    pool_names = {}
    for i, pool in enumerate(pools):
        if pool.name in pool_names:
            raise SpecError(
                "pools[%d].name" % i, "%r is already used at pools[%d]" % (pool.name, pool_names[pool.name])
            )
        if pool.name == NODE_EXPORTER_BACKEND:
            raise SpecError("pools[%d].name" % i, "%r is the metrics listener's own backend" % pool.name,
                            "Rename the pool")  # fmt: skip
        if pool.name.startswith(RATE_TABLE_PREFIX):
            raise SpecError("pools[%d].name" % i, "names starting with %s are the rate limits' own tables"
                            % RATE_TABLE_PREFIX, "Rename the pool")  # fmt: skip
        pool_names[pool.name] = i
    frontends_raw = fields.as_list(data.get("frontends"), "frontends")
    if not frontends_raw:
        raise SpecError("frontends", "no frontends defined", "Define at least one frontend with a port and a pool")
    frontends = tuple(_frontend(f, "frontends[%d]" % i, engine, pool_names) for i, f in enumerate(frontends_raw))
    for i, fe in enumerate(frontends):
        if fe.name in (HEALTH_FRONTEND, METRICS_FRONTEND):
            raise SpecError("frontends[%d].name" % i, "%r is a frontend of the collection's own (health URL, metrics)"
                            % fe.name, "Rename the frontend")  # fmt: skip
    _check_frontends(frontends)
    _check_pool_modes(frontends)
    for fe in frontends:
        for pool_name in (fe.pool,) + tuple(r.pool for r in fe.routes):
            if fe.mode == "tcp":
                _check_tcp_pool(pools[pool_names[pool_name]], pool_names[pool_name], fe)
    spec = Spec(
        engine=engine,
        frontends=frontends,
        pools=pools,
        timeouts=_timeouts(data.get("timeouts"), "timeouts"),
        retries=fields.as_int(data.get("retries", 3), "retries", 0, 100),
        redispatch=fields.as_bool(data.get("redispatch", True), "redispatch"),
        maxconn=_maxconn(data.get("maxconn", 4096)),
        logging=spec_logging.parse_logging(data.get("logging")),
    )
    return spec


def _check_tcp_pool(pool, index, fe):
    """What a pool served by a TCP frontend cannot do: read HTTP."""
    if pool.strategy == "fastest_response":
        raise SpecError(
            "pools[%d].strategy" % index,
            "fastest_response measures HTTP response times, but pool %r serves the TCP frontend %s"
            % (pool.name, fe.name),
            "Use least_connections for TCP pools",
        )
    if pool.persistence and pool.persistence.by in spec_routing.HTTP_ONLY:
        raise SpecError("pools[%d].persistence.by" % index, "%s reads HTTP, but pool %r serves the TCP frontend %s"
                        % (pool.persistence.by, pool.name, fe.name), "Use by: source for TCP pools")  # fmt: skip


def _maxconn(value):
    maxconn = fields.as_int(value, "maxconn", 1)
    if maxconn > MAX_MAXCONN:
        # Why this limit: see MAX_MAXCONN in engine_facts.
        raise SpecError(
            "maxconn",
            "%d is more than the %d connections one load balancer host can hold open" % (maxconn, MAX_MAXCONN),
            "Lower it to %d at most (each connection needs two file descriptors and buffer memory)" % MAX_MAXCONN,
        )
    return maxconn


# Bind addresses that take a port on every address: "*" and 0.0.0.0 on every
# IPv4 address; "::" on every IPv6 address and, since Linux binds it dual
# stack by default (net.ipv6.bindv6only=0, and the renderers ask for v4v6 /
# ipv6only=off), on every IPv4 address as well.
IPV4_WILDCARDS = ("*", "0.0.0.0")  # noqa: S104 (names the wildcard, binds nothing)
IPV6_WILDCARD = "::"


def _family(bind):
    """4 or 6 for an IP address or wildcard, None for a DNS name."""
    if bind in IPV4_WILDCARDS:
        return 4
    try:
        return ipaddress.ip_address(bind).version
    except ValueError:
        return None


def _bind_clash(bind, other):
    """Why two binds on one port clash, or None when they do not."""
    if bind == other:
        return "both bind %s" % other
    for wildcard, specific in ((other, bind), (bind, other)):
        if wildcard == IPV6_WILDCARD:
            return "%s takes the port on every IPv6 and IPv4 address" % wildcard
        # A DNS name may resolve to an IPv4 address: counted as a clash.
        if wildcard in IPV4_WILDCARDS and _family(specific) in (4, None):
            return "%s takes the port on every IPv4 address" % wildcard
    return None


def _listeners(fe, i):
    """(port, spec path) of everything the frontend listens on."""
    out = [(fe.port, "frontends[%d].port" % i)]
    if fe.tls and fe.tls.redirect_http:
        out.append((fe.tls.redirect_http, "frontends[%d].tls.redirect_http" % i))
    return out


def _check_frontends(frontends):
    for i, fe in enumerate(frontends):
        for j, other in enumerate(frontends[:i]):
            if other.name == fe.name:
                raise SpecError("frontends[%d].name" % i, "%r is already used at frontends[%d]" % (fe.name, j))
        mine = _listeners(fe, i)
        if len(mine) == 2 and mine[0][0] == mine[1][0]:
            raise SpecError(mine[1][1], "port %d is the frontend's own port" % fe.port,
                            "Redirect from another port, usually 80")  # fmt: skip
        for j, other in enumerate(frontends[:i]):
            for port, where in mine:
                for other_port, _where in _listeners(other, j):
                    why = _bind_clash(fe.bind, other.bind) if other_port == port else None
                    if why:
                        raise SpecError(
                            where,
                            "port %d clashes with frontends[%d] (%s): %s" % (port, j, other.name, why),
                            "Give each frontend its own port or bind address",
                        )


def _check_pool_modes(frontends):
    used = {}
    for i, fe in enumerate(frontends):
        for pool in (fe.pool,) + tuple(r.pool for r in fe.routes):
            if pool in used and used[pool][0] != fe.mode:
                raise SpecError(
                    "frontends[%d].pool" % i,
                    "pool %r is used by a %s frontend and by frontends[%d] in %s mode"
                    % (pool, fe.mode, used[pool][1], used[pool][0]),
                    "Give TCP and HTTP frontends pools of their own",
                )
            used.setdefault(pool, (fe.mode, i))


def pool_modes(spec):
    """The mode (http or tcp) each pool is served in; unused pools: http."""
    modes = dict((pool.name, "http") for pool in spec.pools)
    for fe in spec.frontends:
        for pool in (fe.pool,) + tuple(r.pool for r in fe.routes):
            modes[pool] = fe.mode
    return modes
