# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a normalized LB spec (lb_spec.parse) as a complete nginx.conf.

HTTP frontends and pools go in the http block, TCP ones in the stream
block. nginx open source has no active health checks: servers are marked
down passively (max_fails within fail_timeout), and a failed attempt on an
idempotent request moves on to the next server (proxy_next_upstream).
Output is deterministic, like the HAProxy renderer's.
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
    STATUS_PATH,
    endpoint,
    render_options,
    nofile_limit,
)
from ansible_collections.halb.loadbalancer.plugins.module_utils.lb_spec import BYPASS_ANY, BYPASS_NONE, pool_modes

DEFAULT_OPTIONS = {
    "user": "www-data",
    "pid": "/run/nginx.pid",
    "error_log": "/var/log/nginx/error.log",
    "access_log": "/var/log/nginx/access.log",
    "cache_dir": "/var/cache/nginx",
    "stream_module": "/usr/lib/nginx/modules/ngx_stream_module.so",
    # lua-nginx-module and the kit it needs: fastest_response pools pick
    # each request's server in Lua (balancer_lua).
    "lua_modules": (
        "/usr/lib/nginx/modules/ndk_http_module.so",
        "/usr/lib/nginx/modules/ngx_http_lua_module.so",
    ),
    # Directory of balancer_lua.FILE_NAME (lb_config writes it there).
    "lua_dir": "/etc/nginx/halb",
    # address:port of a local health URL (HEALTH_PATH) that answers 200
    # while nginx runs; keepalived polls it. None: no such server.
    "health_listen": None,
    # address:port of the Prometheus metrics listener, answering only
    # metrics_allow (CIDRs): nginx_exporter's metrics (it reads
    # stub_status on health_listen) and node_exporter's, passed through.
    # None: no metrics.
    "metrics_listen": None,
    "metrics_allow": (),
    "nginx_exporter": None,
    "node_exporter": None,
}

# fastest_response picks its server in Lua (balancer_by_lua, see balancer_lua).
METHOD = {"round_robin": None, "least_connections": "least_conn", "fastest_response": None}


def _seconds(ms):
    """nginx takes ms or s; keep whole seconds readable."""
    return "%ds" % (ms // 1000) if ms % 1000 == 0 else "%dms" % ms


def _listen(fe):
    suffix = " ssl" if fe.tls else ""
    if fe.mode == "http" and fe.tls:
        suffix += " http2"
    if fe.bind == "*":
        return ["listen %d%s;" % (fe.port, suffix)]
    if fe.bind == "::":
        return ["listen [::]:%d%s ipv6only=off;" % (fe.port, suffix)]
    return ["listen %s%s;" % (endpoint(fe.bind, fe.port), suffix)]


def _tls(fe):
    if not fe.tls:
        return []
    protocols = "TLSv1.2 TLSv1.3" if fe.tls.min_version == "1.2" else "TLSv1.3"
    return [
        "ssl_certificate %s;" % fe.tls.certificate,
        "ssl_certificate_key %s;" % (fe.tls.key or fe.tls.certificate),
        "ssl_protocols %s;" % protocols,
        "ssl_ciphers %s;" % fe.tls.ciphers,
        "ssl_conf_command Ciphersuites %s;" % tls_policy.TLS13_SUITES,
        "ssl_ecdh_curve %s;" % tls_policy.CURVES,
        "ssl_prefer_server_ciphers off;",
        "ssl_session_cache shared:halb_tls_%s:10m;" % ("http" if fe.mode == "http" else "stream"),
        "ssl_session_timeout %ds;" % tls_policy.SESSION_TIMEOUT_S,
        "ssl_session_tickets off;",
    ]


def _response_headers(fe):
    # In every location: a location with add_header of its own (the cache
    # status) inherits none from the server block.
    headers = list(fe.security_headers)
    if fe.tls and fe.tls.hsts:
        headers.append(("Strict-Transport-Security", tls_policy.hsts_value(fe.tls.hsts)))
    lines = ['    add_header %s "%s" always;' % pair for pair in headers]
    if fe.security_headers:
        # No version banners: nginx's Server has none (server_tokens off),
        # and the servers' X-Powered-By goes.
        lines += ["    proxy_hide_header %s;" % name for name in lb_spec.BANNER_HEADERS if name != "Server"]
    return lines


def _redirect_server(fe, logging, opts):
    """Plain HTTP on tls.redirect_http, answered with a redirect to HTTPS."""
    listen = _listen(fe._replace(tls=None, port=fe.tls.redirect_http))
    target = "https://$host$request_uri" if fe.port == 443 else "https://$host:%d$request_uri" % fe.port
    body = listen + ["server_name _;"] + _server_logging(fe, logging, opts)
    body += ["location / {", "    return 301 %s;" % target, "}"]
    return ["server {"] + ["    " + line for line in body] + ["}"]


def _acl(fe):
    # First match wins: denied networks, then allowed ones, then the rest.
    lines = ["deny %s;" % cidr for cidr in fe.acl.deny]
    lines += ["allow %s;" % cidr for cidr in fe.acl.allow]
    if fe.acl.allow:
        lines.append("deny all;")
    return lines


def _lua_string(text):
    # Spec names and addresses are letters, digits and . : _ - (lb_spec).
    return '"%s"' % text


def _lua_pools(spec, fastest):
    """The init_by_lua call that hands the fastest_response pools to Lua."""
    lines = ['require("%s").configure({' % balancer_lua.MODULE]
    for pool in spec.pools:
        if pool.name not in fastest:
            continue
        lines.append(
            "    %s = {tries = %d, half_life = %s, penalty = %s, probe_interval = %s, peers = {"
            % (pool.name, _tries(pool, spec), pool.fastest.half_life_ms / 1000.0, pool.fastest.penalty,
               pool.fastest.probe_interval_ms / 1000.0)
        )  # fmt: skip
        for server in pool.servers:
            lines.append(
                "        {host = %s, port = %d, weight = %d, backup = %s, down = %s, max_fails = %d,"
                " fail_timeout = %s},"
                % (_lua_string(server.address), server.port, server.weight, str(server.backup).lower(),
                   str(server.drain).lower(), server.max_fails, server.fail_timeout_ms / 1000.0)
            )  # fmt: skip
        lines.append("    }},")
    lines.append("})")
    return lines


def _lua_http(spec, opts, fastest):
    return (
        [
            "# fastest_response: each request picks its server in Lua, from the",
            "# response times of the requests before it (shared by all workers).",
            'lua_package_path "%s/?.lua;;";' % opts["lua_dir"],
            "lua_shared_dict %s 1m;" % balancer_lua.MODULE,
            "init_by_lua_block {",
        ]
        + ["    " + line for line in _lua_pools(spec, fastest)]
        + [
            "}",
            "init_worker_by_lua_block {",
            "    -- Workers forked from one master draw different random numbers.",
            "    math.randomseed(ngx.now() * 1000 + ngx.worker.pid())",
            "}",
        ]
    )


def _tries(pool, spec):
    """How many servers a request may try: the first and the retries."""
    return (spec.retries if pool.retries is None else pool.retries) + 1


def _hash_key(persistence):
    """The nginx variable a hashed persistence keys on."""
    if persistence.by == "app_cookie":
        return "$cookie_%s" % persistence.name
    if persistence.by == "header":
        return "$http_%s" % persistence.name.lower().replace("-", "_")
    return {"source": "$remote_addr", "uri": "$request_uri"}[persistence.by]


def _upstream(pool, http):
    lines = ["upstream %s {" % pool.name]
    if pool.persistence:
        # nginx's hash with an empty key (no cookie or header) is round robin.
        lines += ["    # " + line for line in spec_routing.hash_comment(pool.persistence)]
        lines.append("    hash %s consistent;" % _hash_key(pool.persistence))
    elif METHOD[pool.strategy]:
        lines.append("    %s;" % METHOD[pool.strategy])
    if pool.strategy == "fastest_response":
        # nginx wants server lines; Lua decides, with each server's weight,
        # backup, drain and max_fails from the table in init_by_lua.
        lines += ["    server %s;" % endpoint(server.address, server.port) for server in pool.servers]
        lines += [
            "    balancer_by_lua_block {",
            '        require("%s").balance("%s")' % (balancer_lua.MODULE, pool.name),
            "    }",
        ]
    for server in pool.servers if pool.strategy != "fastest_response" else ():
        line = "    server %s weight=%d max_fails=%d fail_timeout=%s" % (
            endpoint(server.address, server.port),
            server.weight,
            server.max_fails,
            _seconds(server.fail_timeout_ms),  # whole seconds (the spec checks)
        )
        if server.backup:
            line += " backup"
        if server.drain:
            line += " down"
        lines.append(line + ";")
    if http and pool.keepalive:
        # Idle connections kept open to the servers; needs HTTP/1.1 and an
        # empty Connection header on normal requests (see the map above).
        # After balancer_by_lua: keepalive wraps the peer it picks.
        lines.append("    keepalive %d;" % pool.keepalive)
    lines.append("}")
    return lines


def _path_acl_geo(fe):
    """geo variables of the frontend's path rules: 1 for a listed client."""
    lines = []
    for i, rule in enumerate(fe.acl.paths):
        for kind, cidrs in (("denied", rule.deny), ("allowed", rule.allow)):
            if cidrs:
                lines += ["# acl.paths[%d] of frontend %s: %s, %s clients." % (i, fe.name, rule.prefix, kind),
                          "geo $halb_%s_path%d_%s {" % (fe.name, i, kind), "    default 0;"]  # fmt: skip
                lines += ["    %s 1;" % cidr for cidr in cidrs] + ["}"]
    return lines


def _path_acl_checks(fe, prefix):
    """The path rules a request in `location prefix` is under: every rule
    whose prefix its path starts with. Deny wins; then the allow list."""
    lines = []
    for i, rule in enumerate(fe.acl.paths):
        if prefix.startswith(rule.prefix):
            if rule.deny:
                lines.append("    if ($halb_%s_path%d_denied) { return 403; }" % (fe.name, i))
            if rule.allow:
                lines.append("    if ($halb_%s_path%d_allowed = 0) { return 403; }" % (fe.name, i))
    return lines


def _locations(fe, routes):
    """(location, path, pool) of every location of a server block serving
    `routes` (spec_routing.applicable_routes): a rule's path or prefix, then
    each path rule's prefix and /, served by the first rule whose prefix
    they start with, or the frontend's pool."""
    out, seen = [], set()
    for route in routes:
        location = "= %s" % route.path if route.path is not None else route.path_prefix
        if location not in seen:  # an earlier rule for a wider host has it
            seen.add(location)
            out.append((location, route.path or route.path_prefix, route.pool))
    for prefix in [rule.prefix for rule in fe.acl.paths] + ["/"]:
        if prefix not in seen:
            seen.add(prefix)
            starts = [r for r in routes if r.path is None and prefix.startswith(r.path_prefix)]
            out.append((prefix, prefix, starts[0].pool if starts else fe.pool))
    return out


def _proxy_location(location, path, pool, fe, spec, fastest):
    """A location proxying to `pool` (a Pool), with the frontend's path
    rules for `path` and the pool's own timeouts and retries."""
    connect_ms = pool.connect_ms or spec.timeouts.connect_ms
    server_ms = pool.server_ms or spec.timeouts.server_ms
    lines = ["location %s {" % location] + _path_acl_checks(fe, path)
    lines += [
        "    proxy_pass http://%s;" % pool.name,
        "    proxy_http_version 1.1;",
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_set_header X-Request-ID $halb_request_id;",
    ]
    if fe.websocket:
        lines += [
            "    proxy_set_header Upgrade $http_upgrade;",
            "    proxy_set_header Connection $connection_upgrade;",
        ]
    else:
        lines.append('    proxy_set_header Connection "";')
    lines += [
        "    proxy_connect_timeout %s;" % _seconds(connect_ms),
        "    proxy_send_timeout %s;" % _seconds(server_ms),
        "    proxy_read_timeout %s;" % _seconds(max(server_ms, spec.timeouts.tunnel_ms if fe.websocket else 0)),
        "    # Idempotent requests move on to the next server on errors and timeouts.",
        "    proxy_next_upstream error timeout http_502 http_503 http_504;",
        "    proxy_next_upstream_tries %d;" % _tries(pool, spec),
    ]
    if pool.name in fastest:
        lines += [
            "    # The response time teaches the fastest_response balancer.",
            "    log_by_lua_block {",
            '        require("%s").observe()' % balancer_lua.MODULE,
            "    }",
        ]
    lines += _response_headers(fe)
    if fe.cache.enabled:
        # Never serve or store a cached answer for an authenticated request,
        # nor for one with (session) cookies. nginx itself never stores an
        # answer that sets a cookie.
        personal = "$http_authorization" + _cookie_bypass_variable(fe)
        lines += [
            "    proxy_cache halb_%s;" % fe.name,
            "    proxy_cache_key $scheme$host$request_uri;",
            "    proxy_cache_methods GET HEAD;",
            "    proxy_cache_bypass %s;" % personal,
            "    proxy_no_cache %s;" % personal,
            "    proxy_cache_valid 200 301 302 %ds;" % fe.cache.ttl_s,
            "    add_header X-Cache-Status $upstream_cache_status always;",
        ]
    lines.append("}")
    return lines


def _cookie_bypass_variable(fe):
    """What of the request's cookies keeps it out of the cache (lb_spec)."""
    if fe.cache.bypass_cookies == BYPASS_NONE:
        return ""
    if fe.cache.bypass_cookies == BYPASS_ANY:
        return "$http_cookie"
    return "$halb_session_cookie_%s" % fe.name


def _cookie_bypass_map(fe):
    if not fe.cache.enabled or fe.cache.bypass_cookies in (BYPASS_ANY, BYPASS_NONE):
        return []
    # Cookie names are letters, digits, _ and - (lb_spec): safe in a regex.
    return [
        "# Requests carrying one of frontend %s's session cookies skip its cache." % fe.name,
        "map $http_cookie $halb_session_cookie_%s {" % fe.name,
        '    default "";',
        '    "~(^|;)\\s*(%s)=" 1;' % "|".join(fe.cache.bypass_cookies),
        "}",
    ]


def _sni_entry(fe, name):
    """The tls.sni entry serving `name`, as nginx would pick it: one that
    lists the name itself, else one with a wildcard covering it."""
    entries = fe.tls.sni if fe.tls else ()
    for entry in entries:
        if name in entry.names:
            return entry
    for entry in entries:
        if any(n.startswith("*.") and spec_routing.host_covers(n, name) for n in entry.names):
            return entry
    return None


def _server_blocks(fe):
    """(server_name, frontend, routes) of every server block: "_" for the
    names nothing else lists, then one for each host name the routes or
    tls.sni list, with its certificate and the rules for that name. nginx
    picks a block by name (the SNI name for the certificate, the Host
    header for the request); names alike in both are grouped in one."""
    blocks = [("_", fe, tuple(spec_routing.applicable_routes(fe.routes, None)))]
    names = [name for entry in (fe.tls.sni if fe.tls else ()) for name in entry.names]
    names += [host for host in spec_routing.route_hosts(fe.routes) if host not in names]
    grouped = []  # [(names, frontend, routes)], in the order first seen
    for name in names:
        entry = _sni_entry(fe, name)
        named = fe._replace(tls=fe.tls._replace(certificate=entry.certificate, key=entry.key)) if entry else fe
        routes = tuple(spec_routing.applicable_routes(fe.routes, name))
        for group in grouped:
            if group[1] == named and group[2] == routes:
                group[0].append(name)
                break
        else:
            grouped.append(([name], named, routes))
    return blocks + [(" ".join(group[0]), group[1], group[2]) for group in grouped]


def _http_servers(fe, spec, opts, fastest, pools):
    lines = []
    for server_name, named, routes in _server_blocks(fe):
        lines += ([""] if lines else []) + _http_server(named, server_name, routes, spec, opts, fastest, pools)
    return lines


def _access_logs(logging, opts, condition=""):
    """The access_log lines: the file, and the remote syslog server if any."""
    log_format = "halb_json" if logging.format == "json" else "combined"
    targets = ["%s %s buffer=64k flush=1s" % (opts["access_log"], log_format)]
    if logging.syslog:
        server = endpoint(logging.syslog.address, logging.syslog.port)
        targets.append("syslog:server=%s,facility=local0,tag=nginx %s" % (server, log_format))
    return ["access_log %s%s;" % (target, condition) for target in targets]


def _server_logging(fe, logging, opts):
    """The frontend's name for the JSON log, and a server block's own
    access_log when the frontend logs less than all."""
    lines = ["set $halb_frontend %s;" % fe.name] if logging.format == "json" else []
    if fe.access_log == "off":
        return lines + ["access_log off;"]
    if fe.access_log == "errors":
        return lines + _access_logs(logging, opts, " if=$halb_log_errors")
    return lines


def _json_log_format():
    """log_format halb_json (spec_logging.HTTP_FIELDS) and the maps it
    reads: nginx gives times as seconds with three decimals ("0.012",
    "1.005"; the last of several tries: "0.004, 0.010"), the log says ms."""
    return [
        "# One JSON object a line (spec_logging.HTTP_FIELDS); times in ms.",
        "log_format halb_json escape=json '%s';" % spec_logging.nginx_http_format(),
        "map $request_time $halb_request_ms {",
        '    "~^0\\.0*(?<ms>[0-9]+)$" $ms;',
        '    "~^(?<s>[0-9]+)\\.(?<ms>[0-9]+)$" $s$ms;',
        "    default -1;",
        "}",
        "map $upstream_response_time $halb_upstream_ms {",
        '    "~(?:^|[ ,:])0\\.0*(?<ms>[0-9]+)$" $ms;',
        '    "~(?:^|[ ,:])(?<s>[1-9][0-9]*)\\.(?<ms>[0-9]+)$" $s$ms;',
        "    default -1;",
        "}",
    ]


def _http_server(fe, server_name, routes, spec, opts, fastest, pools):
    lines = ["server {"]
    body = _listen(fe) + ["server_name %s;" % server_name] + _tls(fe) + _acl(fe)
    body += _server_logging(fe, spec.logging, opts)
    body += [
        "client_header_timeout %s;" % _seconds(spec.timeouts.http_request_ms),
        "client_body_timeout %s;" % _seconds(spec.timeouts.client_ms),
        "send_timeout %s;" % _seconds(spec.timeouts.client_ms),
    ]
    if fe.rate_limit:
        limit = fe.rate_limit
        burst = " burst=%d nodelay" % limit.burst if limit.burst else ""  # nginx refuses burst=0
        body += [
            "# Per client address: %d requests a second, a burst of %d more; beyond, %d."
            % (limit.rate, limit.burst, limit.status),
            "limit_req zone=halb_rate_%s%s;" % (fe.name, burst),
            "limit_req_status %d;" % limit.status,
        ]
    for location, path, pool in _locations(fe, routes):
        body += _proxy_location(location, path, pools[pool], fe, spec, fastest)
    lines += ["    " + line for line in body]
    lines.append("}")
    return lines


def _stream_server(fe, spec, pool):
    body = _listen(fe) + _tls(fe) + _acl(fe)
    body += [
        "proxy_pass %s;" % fe.pool,
        "proxy_connect_timeout %s;" % _seconds(pool.connect_ms or spec.timeouts.connect_ms),
        "proxy_timeout %s;" % _seconds(max(spec.timeouts.client_ms, pool.server_ms or spec.timeouts.server_ms)),
        "proxy_next_upstream on;",
        "proxy_next_upstream_tries %d;" % _tries(pool, spec),
    ]
    return ["server {"] + ["    " + line for line in body] + ["}"]


def _metrics_server(opts):
    """The Prometheus listener: the exporters' metrics, passed through to
    the allowed addresses only."""
    body = ["listen %s;" % opts["metrics_listen"], "access_log off;"]
    body += ["allow %s;" % cidr for cidr in opts["metrics_allow"]] + ["deny all;"]
    for path, exporter in ((METRICS_PATH, opts["nginx_exporter"]), (NODE_METRICS_PATH, opts["node_exporter"])):
        if exporter:
            body += ["location = %s {" % path, "    proxy_pass http://%s%s;" % (exporter, METRICS_PATH), "}"]
    # Not "return 404": it runs before the allow list (rewrite phase), so a
    # refused address would learn which paths exist. try_files runs after.
    body += ["location / {", "    try_files /halb-nothing-here =404;", "}"]
    return ["server {"] + ["    " + line for line in body] + ["}"]


def _indent(lines):
    return ["    " + line if line else "" for line in lines]


def render(spec, **options):
    opts = render_options(DEFAULT_OPTIONS, options)
    modes = pool_modes(spec)
    fastest = set(pool.name for pool in spec.pools if pool.strategy == "fastest_response")
    pools = dict((pool.name, pool) for pool in spec.pools)
    http_fes = [fe for fe in spec.frontends if fe.mode == "http"]
    # Without HTTP frontends no server block names $halb_frontend, which
    # the JSON format reads; only the health listener (not logged) is left.
    logging = spec.logging if http_fes else spec.logging._replace(format="text")
    tcp_fes = [fe for fe in spec.frontends if fe.mode == "tcp"]
    lines = ["# Rendered by halb.loadbalancer from the LB spec. Do not edit: changes are overwritten."]
    if tcp_fes:
        lines.append("load_module %s;" % opts["stream_module"])
    if fastest:
        lines += ["load_module %s;" % path for path in opts["lua_modules"]]
    lines += [
        "user %s;" % opts["user"],
        "worker_processes auto;",
        # Open files per worker. Unlike HAProxy, nginx does not raise its
        # limit to fit worker_connections: the systemd default soft limit
        # (1024) would cap it far below maxconn ("worker_connections exceed
        # open file resource limit: 1024").
        "worker_rlimit_nofile %d;" % nofile_limit(spec.maxconn),
        "pid %s;" % opts["pid"],
        # Old workers finish their requests for at most this long after a
        # reload; without it a long-lived connection keeps one alive forever.
        "worker_shutdown_timeout %s;" % _seconds(spec.timeouts.reload_grace_ms),
        "error_log %s;" % opts["error_log"],
        "",
        "events {",
        "    worker_connections %d;" % spec.maxconn,
        "}",
    ]
    if http_fes or opts["health_listen"] or opts["metrics_listen"] or any(mode == "http" for mode in modes.values()):
        http = _json_log_format() if logging.format == "json" else []
        http += [
            "# Log lines are written 64 KB at a time (at least every second), not",
            "# with a write() per request.",
        ]
        http += _access_logs(logging, opts)
        http += [
            "server_tokens off;",
            "keepalive_timeout %s;" % _seconds(spec.timeouts.client_ms),
            "# Connection: upgrade only when the client asks for it, so normal",
            "# requests keep using the upstream keepalive pool.",
            "map $http_upgrade $connection_upgrade {",
            "    default upgrade;",
            "    '' '';",
            "}",
            "# The client's request id when it looks like one, else a new one.",
            "map $http_x_request_id $halb_request_id {",
            '    "~%s" $http_x_request_id;' % spec_logging.REQUEST_ID_PATTERN,
            "    default $request_id;",
            "}",
        ]
        if any(fe.access_log == "errors" for fe in http_fes):
            http += [
                "# access_log: errors - what HAProxy's dontlog-normal keeps: 5xx,",
                "# bad or timed-out requests, clients gone before the answer.",
                "map $status $halb_log_errors {",
                "    ~^5 1;",
                "    400 1;",
                "    408 1;",
                "    499 1;",
                "    default 0;",
                "}",
            ]
        for fe in http_fes:
            if fe.rate_limit:
                zone = "limit_req_zone $binary_remote_addr zone=halb_rate_%s:10m rate=%dr/s;"
                http.append(zone % (fe.name, fe.rate_limit.rate))
            http += _cookie_bypass_map(fe) + _path_acl_geo(fe)
            if fe.cache.enabled:
                http.append(
                    "proxy_cache_path %s/halb_%s levels=1:2 keys_zone=halb_%s:10m max_size=%dm"
                    " inactive=10m use_temp_path=off;" % (opts["cache_dir"], fe.name, fe.name, fe.cache.size_mb)
                )
        if fastest:
            http += _lua_http(spec, opts, fastest)
        for pool in spec.pools:
            if modes[pool.name] == "http":
                http += [""] + _upstream(pool, True)
        if opts["health_listen"]:
            http += [
                "",
                "# Answers 200 while nginx runs: what keepalived's track script asks.",
                "server {",
                "    listen %s;" % opts["health_listen"],
                "    access_log off;",
                "    location = %s {" % HEALTH_PATH,
                '        return 200 "ok\\n";',
                "    }",
                "    # Connection and request counters, for the lb_status module.",
                "    location = %s {" % STATUS_PATH,
                "        stub_status;",
                "    }",
                "    location / {",
                "        return 404;",
                "    }",
                "}",
            ]
        if opts["metrics_listen"]:
            http += [""] + _metrics_server(opts)
        for fe in http_fes:
            http += [""] + _http_servers(fe, spec, opts, fastest, pools)
            if fe.tls and fe.tls.redirect_http:
                http += [""] + _redirect_server(fe, logging, opts)
        lines += ["", "http {"] + _indent(http) + ["}"]
    if tcp_fes:
        stream = []
        for pool in spec.pools:
            if modes[pool.name] == "tcp":
                stream += _upstream(pool, False) + [""]
        for fe in tcp_fes:
            stream += _stream_server(fe, spec, pools[fe.pool]) + [""]
        lines += ["", "stream {"] + _indent(stream[:-1]) + ["}"]
    return "\n".join(lines) + "\n"
