"""The LB spec: every bad input gets one error naming the field's path and
the fix; good input is normalized."""

import copy

import pytest

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
        "pools[0].servers[0].address: 2001:db8::zz is not a valid IPv6 address",
    ),
    (
        "bad-ipv4",
        ("pools.0.servers.0.address", "192.0.2.300"),
        "pools[0].servers[0].address: 192.0.2.300 is neither an IP address nor a DNS name",
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
        "pools[0].servers[0].weight: 'heavy' is out of range for haproxy",
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
    ("retries-negative", ("retries", -1), "retries: -1 is not a number (0-100)"),
]


@pytest.mark.parametrize(("change", "expected"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
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
    assert spec.timeouts.connect_ms == 2000 and spec.timeouts.server_ms == 45000
    assert lb_spec.pool_modes(spec) == {"shop": "http", "pay": "http"}


@pytest.mark.parametrize(
    ("text", "ms"), [("500ms", 500), ("5s", 5000), ("2m", 120000), ("1h", 3600000), ("250", 250), (42, 42)]
)
def test_durations(text, ms):
    assert lb_spec.duration_ms(text, "x") == ms
