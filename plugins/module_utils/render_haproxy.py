# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a normalized LB spec (lb_spec.parse) as a complete haproxy.cfg.

Output is deterministic: sections and lines follow the spec's order, so an
unchanged spec renders byte for byte the same file and re-runs are
idempotent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.module_utils import (
    balancer_lua,
    lb_spec,
    spec_logging,
    spec_routing,
    tls_policy,
)
from ansible_collections.halb.loadbalancer.plugins.module_utils.engine_facts import (
    HEALTH_PATH,
    METRICS_PATH,
    NODE_METRICS_PATH,
    endpoint,
    render_options,
)
from ansible_collections.halb.loadbalancer.plugins.module_utils.lb_spec import BYPASS_ANY, BYPASS_NONE, pool_modes

BALANCE = {
    "round_robin": "roundrobin",
    "least_connections": "leastconn",
    # fastest_response picks each request's server in Lua (use-server, see
    # balancer_lua); roundrobin only stands in when that server is down.
    "fastest_response": "roundrobin",
}

# Persistence by hashing: what each kind hashes, as HAProxy's balance
# algorithm (%s: the cookie or header name).
HASH_BALANCE = {"app_cookie": "hash req.cook(%s)", "header": "hdr(%s)", "source": "source", "uri": "uri whole"}

# The methods nginx never passes to the next server once sent
# (proxy_next_upstream without non_idempotent): the twin rule for HAProxy.
NON_IDEMPOTENT = ("POST", "PATCH", "LOCK")
DEFAULT_OPTIONS = {
    "runtime_socket": "/run/haproxy/admin.sock",
    # Where server states (drain, maintenance, weights set at run time) are
    # saved before each reload and read back by the new workers, so a
    # reload loses no runtime state. None: states are not kept.
    "server_state_file": "/var/lib/haproxy/server-state",
    "chroot": "/var/lib/haproxy",
    "user": "haproxy",
    "group": "haproxy",
    "log": "/dev/log local0",
    # address:port of a local health URL (HEALTH_PATH) that answers 200
    # while HAProxy runs; keepalived polls it. None: no such frontend.
    "health_listen": None,
    # Directory of balancer_lua.FILE_NAME (lb_config writes it there).
    "lua_dir": "/etc/haproxy/halb",
    # address:port of the Prometheus metrics listener, answering only
    # metrics_allow (CIDRs); node_exporter: address:port of the node's
    # exporter, passed through. None: no metrics.
    "metrics_listen": None,
    "metrics_allow": (),
    "node_exporter": None,
}


def _bind(fe):
    if fe.bind == "*":
        where = ":%d" % fe.port
    elif fe.bind == "::":
        where = ":::%d v4v6" % fe.port
    else:
        where = endpoint(fe.bind, fe.port)
    if fe.tls:
        # The first crt is served to clients whose SNI no other matches;
        # HAProxy matches each one by the names in the certificate itself.
        crts = " ".join("crt %s" % path for path in [fe.tls.certificate] + [e.certificate for e in fe.tls.sni])
        where += " ssl %s ssl-min-ver TLSv%s" % (crts, fe.tls.min_version)
        where += " ciphers %s ciphersuites %s curves %s" % (fe.tls.ciphers, tls_policy.TLS13_SUITES, tls_policy.CURVES)
        where += " prefer-client-ciphers no-tls-tickets"
        if fe.mode == "http":
            where += " alpn h2,http/1.1"
    return "    bind %s" % where


def _global(spec, opts):
    return (
        [
            "global",
            "    log %s" % opts["log"],
        ]
        + _remote_syslog(spec.logging)
        + [
            "    chroot %s" % opts["chroot"],
            "    user %s" % opts["user"],
            "    group %s" % opts["group"],
            "    # The master process keeps the listening sockets across reloads.",
            "    master-worker",
            "    # Runtime API (drain, weights, stats): admin level, root only.",
            "    stats socket %s uid 0 gid 0 mode 600 level admin expose-fd listeners" % opts["runtime_socket"],
            "    stats timeout 30s",
            "    # Old workers finish their connections for at most this long after",
            "    # a reload; a worker that has outlived 50 reloads is stopped.",
            "    hard-stop-after %dms" % spec.timeouts.reload_grace_ms,
            "    mworker-max-reloads 50",
            # No ulimit-n: HAProxy started as root computes it from maxconn
            # itself (about 2 * maxconn plus its listeners and checks, what
            # engine_facts.nofile_limit gives) and raises its own limit.
            "    maxconn %d" % spec.maxconn,
        ]
        + (
            [
                "    # fastest_response pools pick each request's server in Lua.",
                "    lua-load-per-thread %s/%s" % (opts["lua_dir"], balancer_lua.FILE_NAME),
            ]
            if any(pool.strategy == "fastest_response" for pool in spec.pools)
            else []
        )
        + (
            [
                "    # Saved from the runtime API before each reload (the unit's",
                "    # ExecReload), read back by the new workers below.",
                "    server-state-file %s" % opts["server_state_file"],
            ]
            if opts["server_state_file"]
            else []
        )
        + [
            "",
            "defaults",
            "    log global",
            "    mode http",
            "    option dontlognull",
            "    # A failed connection is retried; with redispatch, every retry goes to",
            "    # another server at once instead of waiting to try the same one again.",
            "    retries %d" % spec.retries,
        ]
        + (["    option redispatch 1"] if spec.redispatch else [])
        + [
            "    timeout connect %dms" % spec.timeouts.connect_ms,
            "    timeout client %dms" % spec.timeouts.client_ms,
            "    timeout server %dms" % spec.timeouts.server_ms,
            "    timeout http-request %dms" % spec.timeouts.http_request_ms,
            "    # WebSocket and other upgraded connections.",
            "    timeout tunnel %dms" % spec.timeouts.tunnel_ms,
        ]
        + (
            [
                "    # Drained servers stay drained and weights set at run time stay",
                "    # set across reloads (unless the config changes that server).",
                "    load-server-state-from-file global",
            ]
            if opts["server_state_file"]
            else []
        )
    )


def _cache_section(fe):
    return [
        "",
        "cache halb_%s" % fe.name,
        "    total-max-size %d" % fe.cache.size_mb,
        "    max-object-size %d" % (fe.cache.max_object_kb * 1024),
        "    max-age %d" % fe.cache.ttl_s,
    ]


def _cookie_bypass(fe):
    """What of the request's cookies keeps it out of the cache (lb_spec)."""
    if fe.cache.bypass_cookies == BYPASS_NONE:
        return []
    if fe.cache.bypass_cookies == BYPASS_ANY:
        return ["    http-request set-var(txn.halb_personal) bool(true) if { req.hdr(cookie) -m found }"]
    return [
        "    http-request set-var(txn.halb_personal) bool(true) if { req.cook(%s) -m found }" % name
        for name in fe.cache.bypass_cookies
    ]


def _redirect_http(fe):
    """Plain HTTP on tls.redirect_http, answered with a redirect to HTTPS."""
    plain = _bind(fe._replace(tls=None, port=fe.tls.redirect_http))
    # Not "redirect scheme https": it keeps the Host header's port, which is
    # the plain one. The host loses its port ([IPv6] literals stay whole)
    # and gets the TLS port unless that is 443.
    port = "" if fe.port == 443 else ":%d" % fe.port
    redirect = (
        "    http-request redirect location https://%%[req.hdr(host),regsub(:[0-9]+$,)]%s%%[capture.req.uri] "
        "code 301 unless { ssl_fc }" % port
    )
    return [plain, "    # Plain HTTP is only ever redirected to HTTPS.", redirect]


def _metrics(opts):
    """The Prometheus listener: HAProxy's built-in exporter, and the node's
    exporter passed through, to the allowed addresses only."""
    lines = [
        "",
        "frontend %s" % lb_spec.METRICS_FRONTEND,
        "    mode http",
        "    bind %s" % opts["metrics_listen"],
        "    no log",
        "    acl halb_metrics_allowed src %s" % " ".join(opts["metrics_allow"]),
        "    http-request deny unless halb_metrics_allowed",
        "    http-request use-service prometheus-exporter if { path %s }" % METRICS_PATH,
    ]
    if not opts["node_exporter"]:
        return lines + ["    http-request return status 404"]
    return lines + [
        "    http-request return status 404 unless { path %s }" % NODE_METRICS_PATH,
        "    default_backend %s" % lb_spec.NODE_EXPORTER_BACKEND,
        "",
        "backend %s" % lb_spec.NODE_EXPORTER_BACKEND,
        "    mode http",
        "    http-request set-path %s" % METRICS_PATH,
        "    server node_exporter %s" % opts["node_exporter"],
    ]


def _remote_syslog(logging):
    if not logging.syslog:
        return []
    return [
        "    # Every log line also goes to the remote syslog server (UDP).",
        "    log %s local0" % endpoint(logging.syslog.address, logging.syslog.port),
    ]


def _log_format(fe, logging):
    if logging.format == "text":
        return ["    option %s" % ("httplog" if fe.mode == "http" else "tcplog")]
    json = spec_logging.haproxy_http_format() if fe.mode == "http" else spec_logging.haproxy_tcp_format()
    return ["    # One JSON object a line (spec_logging.HTTP_FIELDS).", "    log-format '%s'" % json]


def _frontend(fe, logging):
    lines = ["", "frontend %s" % fe.name, "    mode %s" % fe.mode]
    if fe.access_log == "off":
        lines.append("    no log")
    else:
        lines += _log_format(fe, logging)
    if fe.access_log == "errors":
        lines.append("    # Only failures: 5xx, errors, timeouts, retries.")
        lines.append("    option dontlog-normal")
    lines.append(_bind(fe))
    if fe.tls and fe.tls.redirect_http:
        lines += _redirect_http(fe)
    reject = "http-request deny" if fe.mode == "http" else "tcp-request connection reject"
    if fe.acl.deny:
        lines.append("    acl halb_denied src %s" % " ".join(fe.acl.deny))
        lines.append("    %s if halb_denied" % reject)
    if fe.acl.allow:
        lines.append("    acl halb_allowed src %s" % " ".join(fe.acl.allow))
        lines.append("    %s unless halb_allowed" % reject)
    for i, rule in enumerate(fe.acl.paths):
        # Deny wins; then the allow list, as for the whole frontend.
        lines.append("    acl halb_path%d path_beg %s" % (i, rule.prefix))
        if rule.deny:
            lines.append("    http-request deny if halb_path%d { src %s }" % (i, " ".join(rule.deny)))
        if rule.allow:
            lines.append("    http-request deny if halb_path%d !{ src %s }" % (i, " ".join(rule.allow)))
    if fe.mode == "http":
        lines += [
            "    # On a reload, old workers answer the next request of an idle",
            "    # keep-alive connection (with Connection: close) instead of closing",
            "    # it under a client that may be sending that request right now.",
            "    option idle-close-on-response",
            "    option forwardfor",
            "    http-request set-header X-Forwarded-Proto %s" % ("https" if fe.tls else "http"),
        ]
        # After-response: HAProxy's own answers (403, 429, 503) carry them too.
        lines += ['    http-after-response set-header %s "%s"' % pair for pair in fe.security_headers]
        if fe.security_headers:
            # No version banners: the servers' own Server and X-Powered-By go.
            lines += ["    http-response del-header %s" % name for name in lb_spec.BANNER_HEADERS]
        if fe.tls and fe.tls.hsts:
            lines.append('    http-after-response set-header Strict-Transport-Security "%s" if { ssl_fc }'
                         % tls_policy.hsts_value(fe.tls.hsts))  # fmt: skip
        lines += [
            "    # The client's request id when it looks like one, else a new one.",
            "    http-request set-header X-Request-ID %%[uuid()] unless { req.hdr(x-request-id) -m reg %s }"
            % spec_logging.REQUEST_ID_PATTERN,
            "    http-request set-var(txn.halb_request_id) req.hdr(x-request-id)",
        ]
    if fe.rate_limit:
        lines += _rate_limit(fe)
    if fe.cache.enabled:
        # Never serve or store a cached answer for an authenticated request,
        # nor for one with (session) cookies, nor an answer that sets one.
        lines += [
            "    http-request set-var(txn.halb_personal) bool(true) if { req.hdr(authorization) -m found }",
        ]
        lines += _cookie_bypass(fe)
        lines += [
            "    http-request cache-use halb_%s unless { var(txn.halb_personal) -m bool }" % fe.name,
            "    http-response cache-store halb_%s unless { var(txn.halb_personal) -m bool } "
            "|| { res.hdr(set-cookie) -m found }" % fe.name,
            "    http-response set-header X-Cache-Status HIT if { res.cache_hit }",
            "    http-response set-header X-Cache-Status MISS unless { res.cache_hit }",
        ]
    lines += _routes(fe)
    lines.append("    default_backend %s" % fe.pool)
    return lines


def _routes(fe):
    """The routing rules, in order: HAProxy takes the first use_backend
    whose condition holds (lb_spec rules out a rule that never would)."""
    lines = []
    if any(route.host for route in fe.routes):
        lines += [
            "    # The Host header without its port, in lower case: what host rules match.",
            "    http-request set-var(txn.halb_host) req.hdr(host),field(1,:),lower",
        ]
    for route in fe.routes:
        conditions = []
        if route.host and route.host.startswith("*."):
            conditions.append("{ var(txn.halb_host) -m end %s }" % route.host[1:])
        elif route.host:
            conditions.append("{ var(txn.halb_host) -m str %s }" % route.host)
        if route.path is not None:
            conditions.append("{ path %s }" % route.path)
        elif route.path_prefix != "/":
            conditions.append("{ path_beg %s }" % route.path_prefix)
        lines.append("    use_backend %s if %s" % (route.pool, " ".join(conditions)))
    return lines


def _rate_table(fe):
    return lb_spec.RATE_TABLE_PREFIX + fe.name


def _rate_limit(fe):
    """nginx's limit_req is a token bucket (rate a second, burst at once);
    HAProxy counts requests in sliding windows, so two windows bound the
    same: rate + burst in any second, and 10 x rate + burst in any ten, so
    a client keeps to the rate beyond its burst."""
    limit = fe.rate_limit
    return [
        "    # Per client address: %d requests a second, a burst of %d more; beyond, %d."
        % (limit.rate, limit.burst, limit.status),
        "    stick-table type ipv6 size 100k expire 10s store http_req_rate(1s)",
        "    http-request track-sc0 src",
        "    http-request track-sc1 src table %s" % _rate_table(fe),
        "    http-request deny deny_status %d if { sc_http_req_rate(0) gt %d } || { sc_http_req_rate(1) gt %d }"
        % (limit.status, limit.rate + limit.burst, 10 * limit.rate + limit.burst),
    ]


def _rate_table_section(fe):
    return ["", "backend %s" % _rate_table(fe),
            "    stick-table type ipv6 size 100k expire 20s store http_req_rate(10s)"]  # fmt: skip


def _l7_retries():
    """nginx's proxy_next_upstream, in HAProxy: a request whose server dies
    or fails before answering is tried again elsewhere, unless its method is
    not idempotent; a POST may already have taken effect, so it is never
    sent twice (nginx leaves out the same methods)."""
    return [
        "    retry-on conn-failure empty-response junk-response response-timeout 502 503 504",
        "    http-request disable-l7-retry if { method %s }" % " ".join(NON_IDEMPOTENT),
    ]


def _fastest(pool):
    knobs = pool.fastest
    module = balancer_lua.MODULE
    lines = [
        "    # strategy fastest_response: Lua picks each request's server from the",
        "    # response times HAProxy saw (halb_balancer.lua).",
        "    http-request set-var(txn.halb_start) date(0,us)",
        "    http-request set-var(txn.halb_server) var(txn.halb_start),lua.%s_pick(%s,%d,%d,%d)"
        % (module, pool.name, knobs.half_life_ms, knobs.penalty, knobs.probe_interval_ms),
    ]
    lines += [
        "    use-server %s if { var(txn.halb_server) -m str %s }" % (server.name, server.name)
        for server in pool.servers
    ]
    observe = "date(0,us),concat(_,txn.halb_start),concat(_,txn.halb_server),lua.%s_observe(%s)"
    return lines + ["    http-response set-var(txn.halb_seen) " + observe % (module, pool.name)]


def _balance(pool):
    """The balance line, and what persistence adds to the backend."""
    persistence = pool.persistence
    if persistence is None or persistence.by == "cookie":
        lines = ["    balance %s" % BALANCE[pool.strategy]]
        if persistence:
            lines += [
                "    # Sticky: the first answer sets a cookie naming its server; a request",
                "    # whose server is down goes to another and gets a new cookie.",
                "    cookie %s insert indirect nocache httponly" % persistence.name,
            ]
        return lines
    balance = HASH_BALANCE[persistence.by]
    if persistence.name:
        balance %= persistence.name
    return ["    # " + line for line in spec_routing.hash_comment(persistence)] + [
        "    balance %s" % balance,
        "    hash-type consistent",
    ]


def _pool_overrides(pool):
    """The pool's own timeouts and retries, where it sets them."""
    lines = []
    if pool.retries is not None:
        lines.append("    retries %d" % pool.retries)
    if pool.connect_ms is not None:
        lines.append("    timeout connect %dms" % pool.connect_ms)
    if pool.server_ms is not None:
        lines.append("    timeout server %dms" % pool.server_ms)
    return lines


def _backend(pool, mode):
    lines = ["", "backend %s" % pool.name, "    mode %s" % mode]
    lines += _balance(pool) + _pool_overrides(pool)
    if mode == "http":
        lines += _l7_retries()
    if pool.strategy == "fastest_response":
        lines += _fastest(pool)
    hc = pool.health_check
    check = ""
    if hc.enabled:
        if mode == "http":
            lines += [
                "    option httpchk",
                "    http-check send meth GET uri %s ver HTTP/1.1 hdr Host halb-health-check" % hc.path,
                "    http-check expect status %d" % hc.expected_status,
            ]
        lines.append("    timeout check %dms" % hc.timeout_ms)
        slowstart = " slowstart %dms" % pool.slow_start_ms if pool.slow_start_ms else ""
        lines.append("    default-server inter %dms fall %d rise %d%s" % (hc.interval_ms, hc.fall, hc.rise, slowstart))
        check = " check"
    for server in pool.servers:
        # A drained server keeps its sessions but gets no new ones (weight 0).
        weight = 0 if server.drain else server.weight
        line = "    server %s %s%s weight %d" % (server.name, endpoint(server.address, server.port), check, weight)
        if server.backup:
            line += " backup"
        if pool.persistence and pool.persistence.by == "cookie":
            line += " cookie %s" % server.name
        lines.append(line)
    return lines


def render(spec, **options):
    opts = render_options(DEFAULT_OPTIONS, options)
    modes = pool_modes(spec)
    lines = ["# Rendered by halb.loadbalancer from the LB spec. Do not edit: changes are overwritten."]
    lines += _global(spec, opts)
    for fe in spec.frontends:
        if fe.cache.enabled:
            lines += _cache_section(fe)
    if opts["health_listen"]:
        lines += [
            "",
            "frontend %s" % lb_spec.HEALTH_FRONTEND,
            "    mode http",
            "    bind %s" % opts["health_listen"],
            "    # keepalived asks every second or faster: no line in the log for each.",
            "    no log",
            "    # Answers 200 while HAProxy runs: what keepalived's track script asks.",
            "    monitor-uri %s" % HEALTH_PATH,
        ]
    if opts["metrics_listen"]:
        lines += _metrics(opts)
    for fe in spec.frontends:
        lines += _frontend(fe, spec.logging)
    for pool in spec.pools:
        lines += _backend(pool, modes[pool.name])
    for fe in spec.frontends:
        if fe.rate_limit:
            lines += _rate_table_section(fe)
    return "\n".join(lines) + "\n"
