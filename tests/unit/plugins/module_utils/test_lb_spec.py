"""The LB spec: every bad input gets one error naming the field's path and
the fix; good input is normalized."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec


def base():
    return {
        "pools": [
            {
                "name": "shop",
                "servers": [
                    {"name": "web1", "address": "192.0.2.11", "port": 8080},
                    {"name": "web2", "address": "192.0.2.12", "port": 8080},
                ],
            },
            {"name": "pay", "servers": [{"name": "pay1", "address": "192.0.2.31", "port": 9000}]},
        ],
        "frontends": [{"name": "www", "port": 80, "pool": "shop"}],
    }


def with_change(path, value, engine="haproxy"):
    """base() with one field set (path like 'pools.0.servers.1.port');
    value DELETE removes the field."""
    data = base()
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if value is DELETE:
        del node[last]
    else:
        node[last] = copy.deepcopy(value)
    return data, engine


DELETE = object()

# (case id, change, expected start of the message) — at least 25 distinct
# bad inputs; each must fail with exactly this field path.
BAD = [
    ("unknown-strategy", ("pools.0.strategy", "fastest"), "pools[0].strategy: unknown strategy 'fastest'. Use one of:"),
    (
        "duplicate-server",
        ("pools.0.servers.1.address", "192.0.2.11"),
        "pools[0].servers[1]: 192.0.2.11 port 8080 is already listed at servers[0]",
    ),
    (
        "backup-only-pool",
        ("pools.1.servers.0.backup", True),
        "pools[1].servers: every server is a backup, so none takes traffic while all are healthy",
    ),
    (
        "weight-haproxy",
        ("pools.0.servers.0.weight", 300),
        "pools[0].servers[0].weight: 300 is out of range for haproxy (0-256)",
    ),
    (
        "weight-nginx-zero",
        (("pools.0.servers.0.weight", 0), "nginx"),
        "pools[0].servers[0].weight: 0 is out of range for nginx (1-1000)",
    ),
    (
        "tls-without-cert",
        ("frontends.0.tls", {"enabled": True}),
        "frontends[0].tls.certificate: TLS is on but no certificate is given",
    ),
    (
        "acl-not-cidr",
        ("frontends.0.acl", {"allow": ["10.0.0.0/33"]}),
        "frontends[0].acl.allow[0]: '10.0.0.0/33' is not a CIDR network",
    ),
    (
        "ipv6-with-brackets",
        ("pools.0.servers.0.address", "[2001:db8::1]"),
        "pools[0].servers[0].address: [2001:db8::1] has brackets",
    ),
    ("empty-pool", ("pools.1.servers", []), "pools[1].servers: the pool is empty"),
    (
        "port-clash",
        ("frontends", [{"name": "a", "port": 80, "pool": "shop"}, {"name": "b", "port": 80, "pool": "pay"}]),
        "frontends[1].port: port 80 clashes with frontends[0] (a)",
    ),
    ("timeout-not-duration", ("timeouts", {"connect": "5 seconds"}), "timeouts.connect: '5 seconds' is not a duration"),
    (
        "timeout-zero",
        ("timeouts", {"client": "0ms"}),
        "timeouts.client: must be longer than 0. Write a duration of at least 1ms, e.g. client: 5s",
    ),
    (
        "cipher-injection",
        ("frontends.0.tls", {"certificate": "/etc/ssl/site.pem", "ciphers": "HIGH; include /etc/shadow"}),
        "frontends[0].tls.ciphers: 'HIGH; include /etc/shadow' is not an OpenSSL cipher list",
    ),
    (
        "cipher-newline",
        ("frontends.0.tls", {"certificate": "/etc/ssl/site.pem", "ciphers": "HIGH\n  bind :9999"}),
        "frontends[0].tls.ciphers: 'HIGH\\n  bind :9999' is not an OpenSSL cipher list",
    ),
    (
        "hsts-without-tls",
        ("frontends.0.tls", {"enabled": False, "hsts": {"max_age": 600}}),
        "frontends[0].tls.hsts: needs TLS, and tls.enabled is false. Remove hsts, or turn TLS on",
    ),
    (
        "redirect-without-tls",
        ("frontends.0.tls", {"enabled": False, "redirect_http": 80}),
        "frontends[0].tls.redirect_http: needs TLS, and tls.enabled is false",
    ),
    (
        "hsts-negative",
        ("frontends.0.tls", {"certificate": "/etc/ssl/site.pem", "hsts": {"max_age": -1}}),
        "frontends[0].tls.hsts.max_age: -1 is not a number of seconds (0-2147483647)",
    ),
    (
        "redirect-own-port",
        (
            "frontends.0",
            {
                "name": "www",
                "port": 443,
                "pool": "shop",
                "tls": {"certificate": "/etc/ssl/site.pem", "redirect_http": 443},
            },
        ),
        "frontends[0].tls.redirect_http: port 443 is the frontend's own port",
    ),
    (
        "redirect-clash",
        (
            "frontends",
            [
                {"name": "plain", "port": 80, "pool": "shop"},
                {
                    "name": "www",
                    "port": 443,
                    "pool": "shop",
                    "tls": {"certificate": "/etc/ssl/site.pem", "redirect_http": 80},
                },
            ],
        ),
        "frontends[1].tls.redirect_http: port 80 clashes with frontends[0] (plain)",
    ),
    (
        "redirect-on-tcp",
        (
            "frontends.0",
            {
                "name": "db",
                "mode": "tcp",
                "port": 5432,
                "pool": "shop",
                "tls": {"certificate": "/etc/ssl/site.pem", "redirect_http": 80},
            },
        ),
        "frontends[0].tls.redirect_http: needs mode: http",
    ),
    (
        "header-value-injection",
        ("frontends.0.security_headers", {"X-Frame-Options": 'DENY"; add_header X "1'}),
        "frontends[0].security_headers.X-Frame-Options: 'DENY\"; add_header X \"1' is not a header value",
    ),
    (
        "header-value-newline",
        ("frontends.0.security_headers", {"Referrer-Policy": "no-referrer\r\nSet-Cookie: a=b"}),
        "frontends[0].security_headers.Referrer-Policy: 'no-referrer\\r\\nSet-Cookie: a=b' is not a header value",
    ),
    (
        "header-unknown",
        ("frontends.0.security_headers", {"X-Anything": "1"}),
        "frontends[0].security_headers.X-Anything: unknown field",
    ),
    (
        "cookie-name-injection",
        ("frontends.0.cache", {"bypass_cookies": ["sid)=|.*"]}),
        "frontends[0].cache.bypass_cookies[0]: 'sid)=|.*' is not a cookie name. Use 1-64 letters, digits, _ and -",
    ),
    (
        "cookie-name-newline",
        ("frontends.0.cache", {"bypass_cookies": ["sid\n"]}),
        "frontends[0].cache.bypass_cookies[0]: 'sid\\n' is not a cookie name",
    ),
    (
        "cookie-bypass-word",
        ("frontends.0.cache", {"bypass_cookies": "some"}),
        "frontends[0].cache.bypass_cookies: 'some' is neither any, none nor a list of cookie names",
    ),
    ("cookie-bypass-empty", ("frontends.0.cache", {"bypass_cookies": []}), "frontends[0].cache.bypass_cookies: [] is"),
    (
        "fastest-knobs-on-round-robin",
        ("pools.0.fastest_response", {"penalty": 2}),
        "pools[0].fastest_response: these settings are for strategy fastest_response, the pool's is round_robin",
    ),
    (
        "pool-takes-a-rate-table-name",
        ("pools.1.name", "halb_rate10s_www"),
        "pools[1].name: names starting with halb_rate10s_ are the rate limits' own tables. Rename the pool",
    ),
    (
        "frontend-takes-the-health-name",
        ("frontends.0.name", "halb_health"),
        "frontends[0].name: 'halb_health' is a frontend of the collection's own (health URL, metrics). Rename the",
    ),
    (
        "frontend-takes-the-metrics-name",
        ("frontends.0.name", "halb_metrics"),
        "frontends[0].name: 'halb_metrics' is a frontend of the collection's own (health URL, metrics). Rename the",
    ),
    (
        "pool-takes-the-node-exporter-name",
        ("pools.1.name", "halb_node_exporter"),
        "pools[1].name: 'halb_node_exporter' is the metrics listener's own backend. Rename the pool",
    ),
    (
        "nginx-max-object",
        (("frontends.0.cache", {"max_object_kb": 64}), "nginx"),
        "frontends[0].cache.max_object_kb: not supported by nginx open source",
    ),
    (
        "haproxy-separate-key",
        ("frontends.0.tls", {"certificate": "/etc/ssl/site.pem", "key": "/etc/ssl/site.key"}),
        "frontends[0].tls.key: HAProxy reads the key from the certificate file or from /etc/ssl/site.pem.key",
    ),
    (
        "haproxy-big-cache-object",
        ("frontends.0.cache", {"max_object_kb": 4096, "size_mb": 64}),
        "frontends[0].cache.max_object_kb: 4096 KB is more than HAProxy's cache holds per object",
    ),
    (
        "port-out-of-range",
        ("pools.1.servers.0.port", 70000),
        "pools[1].servers[0].port: 70000 is not a TCP port (1-65535)",
    ),
    ("frontend-port-zero", ("frontends.0.port", 0), "frontends[0].port: 0 is not a TCP port (1-65535)"),
    (
        "unknown-pool",
        ("frontends.0.pool", "shopp"),
        "frontends[0].pool: 'shopp' is not a pool of this spec. Use one of: pay, shop",
    ),
    ("unknown-field", ("pools.0.servers.0.wieght", 2), "pools[0].servers[0].wieght: unknown field"),
    ("bad-name", ("pools.0.name", "my pool"), "pools[0].name: 'my pool' is not a valid name"),
    ("duplicate-pool-name", ("pools.1.name", "shop"), "pools[1].name: 'shop' is already used at pools[0]"),
    (
        "duplicate-server-name",
        ("pools.0.servers.1.name", "web1"),
        "pools[0].servers[1].name: 'web1' is already used at servers[0]",
    ),
    ("missing-port", ("pools.0.servers.0.port", DELETE), "pools[0].servers[0]: a server needs address and port"),
    (
        "bad-ipv6",
        ("pools.0.servers.0.address", "2001:db8::zz"),
        "pools[0].servers[0].address: '2001:db8::zz' is not a valid IPv6 address",
    ),
    (
        "bad-ipv4",
        ("pools.0.servers.0.address", "192.0.2.300"),
        "pools[0].servers[0].address: '192.0.2.300' is neither an IP address nor a DNS name",
    ),
    ("unknown-mode", ("frontends.0.mode", "udp"), "frontends[0].mode: unknown mode 'udp'. Use http or tcp"),
    (
        "tcp-with-cache",
        ("frontends.0", {"name": "db", "mode": "tcp", "port": 5432, "pool": "shop", "cache": True}),
        "frontends[0].cache: needs mode: http",
    ),
    (
        "health-path",
        ("pools.0.health_check", {"path": "health"}),
        "pools[0].health_check.path: 'health' is not a URL path",
    ),
    (
        "health-status",
        ("pools.0.health_check", {"expected_status": 700}),
        "pools[0].health_check.expected_status: 700 is not an HTTP status",
    ),
    (
        "health-interval",
        ("pools.0.health_check", {"interval": "10ms"}),
        "pools[0].health_check.interval: 10 ms is too short",
    ),
    (
        "route-prefix",
        ("frontends.0.routes", [{"path_prefix": "payments", "pool": "pay"}]),
        "frontends[0].routes[0].path_prefix: 'payments' is not a URL path prefix",
    ),
    (
        "weight-not-int",
        ("pools.0.servers.0.weight", "heavy"),
        "pools[0].servers[0].weight: 'heavy' must be a number. Write a whole number from 0 to 256",
    ),
    ("backup-not-bool", ("pools.0.servers.0.backup", "yes"), "pools[0].servers[0].backup: 'yes' is not a boolean"),
    ("all-drained", ("pools.1.servers.0.drain", True), "pools[1].servers: every active server is drained"),
    ("no-frontends", ("frontends", []), "frontends: no frontends defined"),
    ("no-pools", ("pools", []), "pools: no pools defined"),
    (
        "pool-mode-mix",
        (
            "frontends",
            [{"name": "a", "port": 80, "pool": "shop"}, {"name": "b", "mode": "tcp", "port": 81, "pool": "shop"}],
        ),
        "frontends[1].pool: pool 'shop' is used by a tcp frontend and by frontends[0] in http mode",
    ),
    (
        "cert-relative",
        ("frontends.0.tls", {"certificate": "site.pem"}),
        "frontends[0].tls.certificate: 'site.pem' is not an absolute path",
    ),
    (
        "tls-version",
        ("frontends.0.tls", {"certificate": "/etc/ssl/site.pem", "min_version": "1.0"}),
        "frontends[0].tls.min_version: '1.0' is not supported. Use 1.2 or 1.3",
    ),
    (
        "fail-timeout-ms",
        ("pools.0.servers.0.fail_timeout", "500ms"),
        "pools[0].servers[0].fail_timeout: '500ms' is not a whole number of seconds",
    ),
    ("retries-negative", ("retries", -1), "retries: -1 is out of range (0-100). Write a whole number from 0 to 100"),
]

# The validator is strict: every string it accepts ends up in a config file.
STRICT = [
    # A trailing newline ("$" would let it through) ends a config line early.
    ("name-newline", ("pools.0.servers.0.name", "web1\n"), "pools[0].servers[0].name: 'web1\\n' is not a valid name"),
    ("pool-name-newline", ("pools.0.name", "shop\n"), "pools[0].name: 'shop\\n' is not a valid name"),
    ("frontend-name-newline", ("frontends.0.name", "www\n"), "frontends[0].name: 'www\\n' is not a valid name"),
    (
        "ipv4-newline",
        ("pools.0.servers.0.address", "192.0.2.1\n"),
        "pools[0].servers[0].address: '192.0.2.1\\n' is neither an IP address nor a DNS name. Write an IP address",
    ),
    (
        "dns-newline",
        ("pools.0.servers.0.address", "host.example\n"),
        "pools[0].servers[0].address: 'host.example\\n' is neither an IP address nor a DNS name",
    ),
    (
        "bind-newline",
        ("frontends.0.bind", "127.0.0.1\n"),
        "frontends[0].bind: '127.0.0.1\\n' is neither an IP address nor a DNS name",
    ),
    (
        "dns-label-too-long",
        ("pools.0.servers.0.address", "a" * 64 + ".example"),
        "pools[0].servers[0].address: '%s.example' is neither an IP address nor a DNS name" % ("a" * 64),
    ),
    (
        "dns-name-too-long",
        ("pools.0.servers.0.address", ".".join(["a" * 63] * 4)),
        "pools[0].servers[0].address: '%s' is neither an IP address nor a DNS name" % ".".join(["a" * 63] * 4),
    ),
    (
        "dns-label-hyphen",
        ("pools.0.servers.0.address", "-web.example"),
        "pools[0].servers[0].address: '-web.example' is neither an IP address nor a DNS name",
    ),
    (
        "dns-empty-label",
        ("pools.0.servers.0.address", "web..example"),
        "pools[0].servers[0].address: 'web..example' is neither an IP address nor a DNS name",
    ),
    (
        "dns-semicolon",
        ("pools.0.servers.0.address", "web;example"),
        "pools[0].servers[0].address: 'web;example' is neither an IP address nor a DNS name",
    ),
    # ipaddress takes any text after "%" as the zone: "fe80::1%x;y" parses.
    (
        "zone-index",
        ("pools.0.servers.0.address", "fe80::1%eth0;"),
        "pools[0].servers[0].address: 'fe80::1%eth0;' has a zone index. Write the address without %<interface>",
    ),
    ("bind-zone-index", ("frontends.0.bind", "fe80::1%lo"), "frontends[0].bind: 'fe80::1%lo' has a zone index"),
    (
        "cidr-zone-index",
        ("frontends.0.acl", {"allow": ["fe80::%eth0/64"]}),
        "frontends[0].acl.allow[0]: 'fe80::%eth0/64' is not a CIDR network",
    ),
    (
        "cidr-not-text",
        ("frontends.0.acl", {"deny": [10]}),
        "frontends[0].acl.deny[0]: 10 is not a CIDR network",
    ),
    # Numbers: strings of digits are numbers, other strings and bools are not.
    (
        "port-text",
        ("pools.0.servers.0.port", "http"),
        "pools[0].servers[0].port: 'http' must be a number. Write a whole number from 1 to 65535",
    ),
    ("port-bool", ("pools.0.servers.0.port", True), "pools[0].servers[0].port: True must be a number"),
    # "²".isdigit() is true, but int() cannot read it.
    ("port-superscript", ("frontends.0.port", "8²"), "frontends[0].port: '8²' must be a number"),
    ("port-float", ("frontends.0.port", 80.5), "frontends[0].port: 80.5 must be a whole number"),
    ("port-string-out-of-range", ("frontends.0.port", "70000"), "frontends[0].port: 70000 is not a TCP port (1-65535)"),
    ("weight-bool", ("pools.0.servers.0.weight", True), "pools[0].servers[0].weight: True must be a number"),
    (
        "weight-string-out-of-range",
        ("pools.0.servers.0.weight", "300"),
        "pools[0].servers[0].weight: 300 is out of range for haproxy (0-256). Write a whole number from 0 to 256",
    ),
    (
        "max-fails-text",
        ("pools.0.servers.0.max_fails", "three"),
        "pools[0].servers[0].max_fails: 'three' must be a number",
    ),
    ("fall-text", ("pools.0.health_check", {"fall": "often"}), "pools[0].health_check.fall: 'often' must be a number"),
    ("rise-none", ("pools.0.health_check", {"rise": None}), "pools[0].health_check.rise: None must be a number"),
    ("retries-text", ("retries", "some"), "retries: 'some' must be a number. Write a whole number from 0 to 100"),
    ("keepalive-text", ("pools.0.keepalive", "on"), "pools[0].keepalive: 'on' must be a number"),
    ("rate-limit-text", ("frontends.0.rate_limit", "10/s"), "frontends[0].rate_limit: '10/s' must be a number"),
    (
        "rate-limit-no-rate",
        ("frontends.0.rate_limit", {"burst": 5}),
        "frontends[0].rate_limit.requests_per_second: is required. Give the requests per second per client",
    ),
    (
        "rate-limit-zero",
        ("frontends.0.rate_limit", {"requests_per_second": 0}),
        "frontends[0].rate_limit.requests_per_second: 0 is not a request rate per client and second (1-1000000)",
    ),
    (
        "rate-limit-status",
        ("frontends.0.rate_limit", {"requests_per_second": 5, "status": 200}),
        "frontends[0].rate_limit.status: 200 is not an HTTP error status (400-599)",
    ),
    (
        "rate-limit-burst",
        ("frontends.0.rate_limit", {"requests_per_second": 5, "burst": -1}),
        "frontends[0].rate_limit.burst: -1 is not a number of requests (0-1000000)",
    ),
    (
        "rate-limit-unknown",
        ("frontends.0.rate_limit", {"requests_per_second": 5, "per": "minute"}),
        "frontends[0].rate_limit.per: unknown field",
    ),
    (
        "sni-name",
        (
            "frontends.0.tls",
            {
                "certificate": "/etc/halb/tls/a.pem",
                "sni": [{"names": ["admin.shop;"], "certificate": "/etc/halb/tls/b.pem"}],
            },
        ),
        "frontends[0].tls.sni[0].names[0]: 'admin.shop;' is not a server name. Write a DNS name",
    ),
    (
        "sni-twice",
        (
            "frontends.0.tls",
            {
                "certificate": "/etc/halb/tls/a.pem",
                "sni": [
                    {"names": ["a.shop"], "certificate": "/etc/halb/tls/b.pem"},
                    {"names": ["A.shop"], "certificate": "/etc/halb/tls/c.pem"},
                ],
            },
        ),
        "frontends[0].tls.sni[1].names[0]: A.shop is also a name of frontends[0].tls.sni[0]",
    ),
    (
        "sni-no-names",
        (
            "frontends.0.tls",
            {"certificate": "/etc/halb/tls/a.pem", "sni": [{"names": [], "certificate": "/etc/halb/tls/b.pem"}]},
        ),
        "frontends[0].tls.sni[0].names: is empty",
    ),
    (
        "sni-injected-path",
        (
            "frontends.0.tls",
            {"certificate": "/etc/halb/tls/a.pem", "sni": [{"names": ["a.shop"], "certificate": "/x.pem\ninclude /y"}]},
        ),
        "frontends[0].tls.sni[0].certificate: '/x.pem\\ninclude /y' has characters a config file cannot take",
    ),
    (
        "sni-without-tls",
        ("frontends.0.tls", {"enabled": False, "sni": [{"names": ["a.shop"]}]}),
        "frontends[0].tls.sni: needs TLS, and tls.enabled is false",
    ),
    (
        "sni-nginx-tcp",
        (
            (
                "frontends.0",
                {
                    "name": "db",
                    "mode": "tcp",
                    "port": 5432,
                    "pool": "shop",
                    "tls": {
                        "certificate": "/etc/halb/tls/a.pem",
                        "sni": [{"names": ["a.shop"], "certificate": "/etc/halb/tls/b.pem"}],
                    },
                },
            ),
            "nginx",
        ),
        "frontends[0].tls.sni: is not supported by nginx open source for TCP frontends",
    ),
    ("maxconn-text", ("maxconn", "lots"), "maxconn: 'lots' must be a number"),
    (
        "maxconn-too-high",
        ("maxconn", 500001),
        "maxconn: 500001 is more than the 500000 connections one load balancer host can hold open. "
        "Lower it to 500000 at most",
    ),
    ("maxconn-string-too-high", ("maxconn", "2000000"), "maxconn: 2000000 is more than the 500000 connections"),
    # TLS files: absolute, safe characters only, no "..".
    (
        "cert-space",
        ("frontends.0.tls", {"certificate": "/etc/ssl/my site.pem"}),
        "frontends[0].tls.certificate: '/etc/ssl/my site.pem' has characters a config file cannot take as they are. "
        "Use an absolute path of letters, digits and / . _ - + @ only",
    ),
    (
        "cert-semicolon",
        ("frontends.0.tls", {"certificate": "/etc/ssl/site.pem;"}),
        "frontends[0].tls.certificate: '/etc/ssl/site.pem;' has characters a config file cannot take",
    ),
    (
        "cert-newline",
        ("frontends.0.tls", {"certificate": "/etc/ssl/site.pem\n"}),
        "frontends[0].tls.certificate: '/etc/ssl/site.pem\\n' has characters a config file cannot take",
    ),
    (
        "cert-dotdot",
        ("frontends.0.tls", {"certificate": "/etc/ssl/../shadow"}),
        "frontends[0].tls.certificate: '/etc/ssl/../shadow' has a '..' component. Write the path without '..'",
    ),
    (
        "cert-not-text",
        ("frontends.0.tls", {"certificate": ["/etc/ssl/site.pem"]}),
        "frontends[0].tls.certificate: ['/etc/ssl/site.pem'] is not an absolute path",
    ),
    (
        "key-brace",
        (("frontends.0.tls", {"certificate": "/etc/ssl/site.pem", "key": "/etc/ssl/{site}.key"}), "nginx"),
        "frontends[0].tls.key: '/etc/ssl/{site}.key' has characters a config file cannot take",
    ),
    (
        "key-quote",
        (("frontends.0.tls", {"certificate": "/etc/ssl/site.pem", "key": '/etc/ssl/"site.key'}), "nginx"),
        "frontends[0].tls.key: '/etc/ssl/\"site.key' has characters a config file cannot take",
    ),
    (
        "key-relative",
        (("frontends.0.tls", {"certificate": "/etc/ssl/site.pem", "key": "site.key"}), "nginx"),
        "frontends[0].tls.key: 'site.key' is not an absolute path",
    ),
    # URL paths: RFC 3986 path characters only.
    (
        "health-path-space",
        ("pools.0.health_check", {"path": "/health check"}),
        "pools[0].health_check.path: '/health check' is not a URL path. Start it with / and use only letters, digits",
    ),
    (
        "health-path-newline",
        ("pools.0.health_check", {"path": "/health\n"}),
        "pools[0].health_check.path: '/health\\n' is not a URL path",
    ),
    (
        "health-path-semicolon",
        ("pools.0.health_check", {"path": "/health;"}),
        "pools[0].health_check.path: '/health;' is not a URL path",
    ),
    (
        "health-path-brace",
        ("pools.0.health_check", {"path": "/health{x}"}),
        "pools[0].health_check.path: '/health{x}' is not a URL path",
    ),
    (
        "health-path-quote",
        ("pools.0.health_check", {"path": "/health'"}),
        'pools[0].health_check.path: "/health\'" is not a URL path',
    ),
    (
        "health-path-hash",
        ("pools.0.health_check", {"path": "/health#ok"}),
        "pools[0].health_check.path: '/health#ok' is not a URL path",
    ),
    (
        "health-path-bad-escape",
        ("pools.0.health_check", {"path": "/health%2"}),
        "pools[0].health_check.path: '/health%2' is not a URL path",
    ),
    (
        "route-prefix-space",
        ("frontends.0.routes", [{"path_prefix": "/pay ments", "pool": "pay"}]),
        "frontends[0].routes[0].path_prefix: '/pay ments' is not a URL path prefix. Start it with /",
    ),
    (
        "route-prefix-newline",
        ("frontends.0.routes", [{"path_prefix": "/pay\n", "pool": "pay"}]),
        "frontends[0].routes[0].path_prefix: '/pay\\n' is not a URL path prefix",
    ),
    (
        "route-prefix-quote",
        ("frontends.0.routes", [{"path_prefix": '/pay"', "pool": "pay"}]),
        "frontends[0].routes[0].path_prefix: '/pay\"' is not a URL path prefix",
    ),
    # Bind clashes: wildcards take the port on every address of their family.
    (
        "bind-ipv4-wildcard",
        (
            "frontends",
            [
                {"name": "a", "bind": "0.0.0.0", "port": 80, "pool": "shop"},  # noqa: S104
                {"name": "b", "bind": "127.0.0.1", "port": 80, "pool": "pay"},
            ],
        ),
        "frontends[1].port: port 80 clashes with frontends[0] (a): 0.0.0.0 takes the port on every IPv4 address",
    ),
    (
        "bind-ipv4-wildcard-second",
        (
            "frontends",
            [
                {"name": "a", "bind": "192.0.2.1", "port": 80, "pool": "shop"},
                {"name": "b", "bind": "*", "port": 80, "pool": "pay"},
            ],
        ),
        "frontends[1].port: port 80 clashes with frontends[0] (a): * takes the port on every IPv4 address",
    ),
    (
        "bind-star-and-zeros",
        (
            "frontends",
            [
                {"name": "a", "bind": "*", "port": 80, "pool": "shop"},
                {"name": "b", "bind": "0.0.0.0", "port": 80, "pool": "pay"},  # noqa: S104
            ],
        ),
        "frontends[1].port: port 80 clashes with frontends[0] (a): * takes the port on every IPv4 address",
    ),
    (
        "bind-ipv6-wildcard-dual-stack",
        (
            "frontends",
            [
                {"name": "a", "bind": "::", "port": 80, "pool": "shop"},
                {"name": "b", "bind": "192.0.2.1", "port": 80, "pool": "pay"},
            ],
        ),
        "frontends[1].port: port 80 clashes with frontends[0] (a): :: takes the port on every IPv6 and IPv4 address",
    ),
    (
        "bind-same-address",
        (
            "frontends",
            [
                {"name": "a", "bind": "2001:db8::1", "port": 80, "pool": "shop"},
                {"name": "b", "bind": "2001:DB8:0::1", "port": 80, "pool": "pay"},
            ],
        ),
        "frontends[1].port: port 80 clashes with frontends[0] (a): both bind 2001:db8::1",
    ),
    # Values that used to raise TypeError instead of a SpecError.
    ("strategy-list", ("pools.0.strategy", ["round_robin"]), "pools[0].strategy: unknown strategy ['round_robin']"),
    ("pool-ref-dict", ("frontends.0.pool", {"name": "shop"}), "frontends[0].pool: {'name': 'shop'} is not a pool"),
    (
        "route-pool-list",
        ("frontends.0.routes", [{"path_prefix": "/pay", "pool": ["pay"]}]),
        "frontends[0].routes[0].pool: ['pay'] is not a pool of this spec. Use one of: pay, shop",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in BAD + STRICT], ids=[case[0] for case in BAD + STRICT]
)
def test_bad_input_names_field_and_fix(change, expected):
    if isinstance(change[0], tuple):
        (path, value), engine = change
    else:
        (path, value), engine = change, "haproxy"
    data, engine = with_change(path, value, engine)
    with pytest.raises(lb_spec.SpecError) as err:
        lb_spec.parse(data, engine)
    assert str(err.value).startswith(expected), str(err.value)


def test_enough_distinct_bad_inputs():
    assert len({case[0] for case in BAD}) >= 25
    assert len({case[0] for case in BAD + STRICT}) == len(BAD + STRICT)


@pytest.mark.parametrize(("engine", "strategy"), [("haproxy", "fastest_response"), ("nginx", "round_robin")])
def test_dns_named_servers_where_the_engine_resolves_them(engine, strategy):
    data = base()
    data["pools"][1].update(strategy=strategy)
    data["pools"][1]["servers"][0]["address"] = "pay1.shop.example"
    assert lb_spec.parse(data, engine).pools[1].servers[0].address == "pay1.shop.example"


def test_unknown_engine():
    with pytest.raises(lb_spec.SpecError, match=r"^engine: unknown engine 'traefik'\. Use haproxy or nginx$"):
        lb_spec.parse(base(), "traefik")


@pytest.mark.parametrize("engine", lb_spec.ENGINES)
def test_good_spec_is_normalized(engine):
    data = base()
    data["pools"][0]["strategy"] = "weighted_least_connections"
    data["pools"][0]["servers"][1].update(address="2001:DB8:0::12", weight=3)
    data["frontends"][0].update(
        acl={"allow": ["192.0.2.7"], "deny": ["10.9.0.0/16"]},
        cache=True,
        timeouts=None,
    )
    del data["frontends"][0]["timeouts"]
    data["timeouts"] = {"connect": "2s", "server": 45000}
    spec = lb_spec.parse(data, engine)
    shop = spec.pools[0]
    assert shop.strategy == "least_connections"
    assert shop.servers[1].address == "2001:db8::12"
    assert shop.servers[1].weight == 3
    assert shop.health_check.interval_ms == 2000
    fe = spec.frontends[0]
    assert fe.acl.allow == ("192.0.2.7/32",)
    assert fe.cache.enabled and fe.cache.ttl_s == 60
    assert fe.cache.bypass_cookies == "any"  # a request with any cookie skips the cache
    assert spec.timeouts.connect_ms == 2000 and spec.timeouts.server_ms == 45000
    assert lb_spec.pool_modes(spec) == {"shop": "http", "pay": "http"}


@pytest.mark.parametrize(
    ("text", "ms"), [("500ms", 500), ("5s", 5000), ("2m", 120000), ("1h", 3600000), ("250", 250), (42, 42)]
)
def test_durations(text, ms):
    assert lb_spec.duration_ms(text, "x") == ms


# --- strict, but not stricter than needed ---------------------------------

NUMERIC_STRINGS = [
    ("pools.0.servers.0.port", "8080", lambda spec: spec.pools[0].servers[0].port, 8080),
    ("pools.0.servers.0.weight", "2", lambda spec: spec.pools[0].servers[0].weight, 2),
    ("pools.0.servers.0.weight", " 3 ", lambda spec: spec.pools[0].servers[0].weight, 3),
    ("pools.0.servers.0.max_fails", "5", lambda spec: spec.pools[0].servers[0].max_fails, 5),
    ("pools.0.health_check", {"fall": "4", "rise": "1", "expected_status": "204"},
     lambda spec: (spec.pools[0].health_check.fall, spec.pools[0].health_check.rise,
                   spec.pools[0].health_check.expected_status), (4, 1, 204)),
    ("pools.0.keepalive", "16", lambda spec: spec.pools[0].keepalive, 16),
    ("frontends.0.port", "8080", lambda spec: spec.frontends[0].port, 8080),
    ("frontends.0.rate_limit", "50", lambda spec: spec.frontends[0].rate_limit, (50, 50, 429)),
    ("frontends.0.rate_limit", {"requests_per_second": "20", "burst": "0", "status": "503"},
     lambda spec: spec.frontends[0].rate_limit, (20, 0, 503)),
    ("frontends.0.cache", {"size_mb": "8", "max_object_kb": "64"},
     lambda spec: (spec.frontends[0].cache.size_mb, spec.frontends[0].cache.max_object_kb), (8, 64)),
    ("retries", "2", lambda spec: spec.retries, 2),
    ("maxconn", "20000", lambda spec: spec.maxconn, 20000),
    ("maxconn", 500000, lambda spec: spec.maxconn, 500000),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "read", "expected"), NUMERIC_STRINGS)
def test_numeric_strings_are_numbers(path, value, read, expected):
    """Templating often turns numbers into strings: "2" is the number 2."""
    data, engine = with_change(path, value)
    assert read(lb_spec.parse(data, engine)) == expected


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("pools.0.servers.0.address", "web1.example.com"),
        ("pools.0.servers.0.address", "WEB-1.Example.COM"),
        ("pools.0.servers.0.address", "a" * 63 + ".example"),
        ("pools.0.servers.0.address", ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])),  # 253 characters
        ("pools.0.servers.0.address", "localhost"),
        ("pools.0.health_check", {"path": "/status%20page/a:b@c/-._~!$&()*+,="}),
        ("frontends.0.routes", [{"path_prefix": "/api/v1.0/~user", "pool": "pay"}]),
        ("frontends.0.tls", {"certificate": "/etc/ssl/private/site+chain@v2_1.pem"}),
        ("frontends.0.tls", {"certificate": "/etc/haproxy/certs/"}),  # HAProxy loads a directory
    ],
)
def test_unusual_but_valid_input_is_accepted(path, value):
    data, engine = with_change(path, value)
    lb_spec.parse(data, engine)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("*", "2001:db8::1"),  # * and 0.0.0.0 take IPv4 addresses only
        ("0.0.0.0", "::1"),  # noqa: S104
        ("127.0.0.1", "127.0.0.2"),
        ("192.0.2.1", "2001:db8::1"),
    ],
)
def test_binds_that_do_not_clash(first, second):
    data = base()
    data["frontends"] = [
        {"name": "a", "bind": first, "port": 80, "pool": "shop"},
        {"name": "b", "bind": second, "port": 80, "pool": "pay"},
    ]
    spec = lb_spec.parse(data, "haproxy")
    assert [fe.port for fe in spec.frontends] == [80, 80]


def test_dns_name_bind_clashes_with_a_wildcard():
    """A name may resolve to an IPv4 address: it counts as one."""
    data = base()
    data["frontends"] = [
        {"name": "a", "bind": "lb.example", "port": 80, "pool": "shop"},
        {"name": "b", "bind": "*", "port": 80, "pool": "pay"},
    ]
    with pytest.raises(lb_spec.SpecError, match=r"^frontends\[1\]\.port: port 80 clashes with frontends\[0\] \(a\)"):
        lb_spec.parse(data, "haproxy")


# Characters that end a directive or a line, or open a block or a string, in
# HAProxy or nginx configs.
DANGEROUS = ("\n", "\r", ";", "{", "}", '"', "'", "#", " ", "\t")
STRING_FIELDS = {
    "server name": ("pools.0.servers.0.name", lambda v: v),
    "pool name": ("pools.1.name", lambda v: v),
    "server address": ("pools.0.servers.0.address", lambda v: v),
    "bind": ("frontends.0.bind", lambda v: v),
    "health path": ("pools.0.health_check", lambda v: {"path": v}),
    "route prefix": ("frontends.0.routes", lambda v: [{"path_prefix": v, "pool": "pay"}]),
    "certificate": ("frontends.0.tls", lambda v: {"certificate": v}),
}
near_valid = st.one_of(
    st.text(),
    st.builds(
        lambda head, bad, tail: head + bad + tail,
        st.sampled_from(["web1", "/health", "/etc/ssl/site.pem", "192.0.2.1", "host.example", "2001:db8::1"]),
        st.sampled_from(DANGEROUS),
        st.sampled_from(["", "x", "\n", "/a"]),
    ),
)


@pytest.mark.parametrize("field", sorted(STRING_FIELDS))
@settings(max_examples=150, deadline=None)
@given(value=near_valid)
def test_no_accepted_string_can_break_a_config_line(field, value):
    path, wrap = STRING_FIELDS[field]
    data, engine = with_change(path, wrap(value))
    try:
        lb_spec.parse(data, engine)
    except lb_spec.SpecError:
        return
    assert not any(char in value for char in DANGEROUS), repr(value)
