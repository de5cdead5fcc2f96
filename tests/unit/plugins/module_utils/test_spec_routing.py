"""Routing rules and session persistence in the LB spec: each bad input
gets one error naming the field and the fix, before any host is touched;
what the renderers make of good input (the engines themselves run it in
tests/integration/test_routing.py)."""

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import (
    lb_spec,
    render_haproxy,
    render_nginx,
    spec_routing,
)


def shop(routes=None, engine="haproxy", **pool):
    """A spec with pools web and pay (pay takes the keyword fields)."""
    pay = {"name": "pay", "servers": [{"name": "y1", "address": "192.0.2.31", "port": 9000},
                                      {"name": "y2", "address": "192.0.2.32", "port": 9000}]}  # fmt: skip
    pay.update(pool)
    data = {
        "pools": [{"name": "web", "servers": [{"name": "w1", "address": "192.0.2.11", "port": 8080}]}, pay],
        "frontends": [{"name": "www", "port": 80, "pool": "web", "routes": routes or []}],
    }
    return lb_spec.parse(data, engine)


def error(engine="haproxy", routes=None, **pool):
    with pytest.raises(lb_spec.SpecError) as caught:
        shop(routes, engine, **pool)
    return str(caught.value)


@pytest.mark.parametrize(
    "routes, message",
    [
        (
            [{"path_prefix": "/pay", "pool": "pay"}, {"path_prefix": "/payments", "pool": "web"}],
            "frontends[0].routes[1]: this rule (path_prefix /payments) can never match: routes[0] (path_prefix "
            "/pay) comes first and takes every request it would. Move it above routes[0], or remove it",
        ),
        (
            [{"path_prefix": "/pay", "pool": "pay"}, {"path": "/pay/notify", "pool": "web"}],
            "frontends[0].routes[1]: this rule (path /pay/notify) can never match: routes[0] (path_prefix /pay)",
        ),
        (
            [{"host": "*.shop.example", "pool": "pay"}, {"host": "api.shop.example", "path": "/x", "pool": "web"}],
            "routes[1]: this rule (host api.shop.example, path /x) can never match: routes[0] (host *.shop.example",
        ),
        (
            [{"path_prefix": "/", "pool": "pay"}, {"host": "a.example", "pool": "web"}],
            "routes[1]: this rule (host a.example, path_prefix /) can never match",
        ),
        (
            [{"path": "/a", "pool": "pay"}, {"path": "/a", "pool": "web"}],
            "routes[1]: this rule (path /a) can never match: routes[0] (path /a)",
        ),
        ([{"path_prefix": "/pay", "pool": "payments"}],
         "frontends[0].routes[0].pool: 'payments' is not a pool of this spec. Use one of: pay, web"),
        ([{"host": "shop..example", "pool": "pay"}],
         "frontends[0].routes[0].host: 'shop..example' is not a host name. Write a DNS name"),
        ([{"host": "shop.example\n", "pool": "pay"}], "routes[0].host: 'shop.example\\n' is not a host name"),
        ([{"host": "shop.example;", "pool": "pay"}], "routes[0].host: 'shop.example;' is not a host name"),
        ([{"host": "a.*.example", "pool": "pay"}], "routes[0].host: 'a.*.example' is not a host name"),
        ([{"host": "shop.example:80", "pool": "pay"}], "routes[0].host: 'shop.example:80' is not a host name"),
        ([{"pool": "pay"}], "frontends[0].routes[0]: the rule matches nothing in particular. Give it a host"),
        ([{"path": "/a", "path_prefix": "/a", "pool": "pay"}],
         "routes[0].path: a rule takes path_prefix or path, not both"),
        ([{"path": "/a{", "pool": "pay"}], "routes[0].path: '/a{' is not a URL path"),
        ([{"path_prefix": "/a", "pool": "pay", "method": "GET"}],
         "frontends[0].routes[0].method: unknown field. Known fields here: host, path, path_prefix, pool"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_with_its_path_and_the_fix(routes, message):
    assert message in error(routes=routes)


def test_rules_in_a_good_order_are_kept_in_that_order():
    routes = [
        {"host": "api.shop.example", "pool": "pay"},
        {"host": "*.shop.example", "path_prefix": "/p", "pool": "pay"},
        {"path": "/pay/notify", "pool": "web"},
        {"path_prefix": "/pay", "pool": "pay"},
        {"path_prefix": "/p", "pool": "web"},
    ]
    spec = shop(routes)
    assert [(r.host, r.path_prefix, r.path) for r in spec.frontends[0].routes] == [
        ("api.shop.example", "/", None),
        ("*.shop.example", "/p", None),
        (None, None, "/pay/notify"),
        (None, "/pay", None),
        (None, "/p", None),
    ]


@pytest.mark.parametrize(
    "host, other, covered",
    [
        ("*.shop.example", "a.shop.example", True),
        ("*.shop.example", "a.b.shop.example", True),
        ("*.shop.example", "*.a.shop.example", True),
        ("*.shop.example", "shop.example", False),
        ("*.shop.example", "ashop.example", False),
        ("a.shop.example", "*.shop.example", False),
        (None, "a.example", True),
        ("a.example", None, False),
    ],
)
def test_a_wildcard_covers_every_name_below_its_domain_and_no_other(host, other, covered):
    assert spec_routing.host_covers(host, other) is covered


@pytest.mark.parametrize(
    "engine, pool, message",
    [
        ("haproxy", {"persistence": {"by": "app_cookie", "name": "cart"}, "strategy": "least_connections"},
         "pools[1].persistence.by: app_cookie hashes each request to its server, so strategy least_connections "
         "would be ignored"),
        ("nginx", {"persistence": {"by": "source"}, "strategy": "fastest_response"},
         "pools[1].persistence.by: source hashes each request to its server, so strategy fastest_response"),
        ("haproxy", {"persistence": {"by": "cookie"}, "strategy": "fastest_response"},
         "pools[1].persistence.by: fastest_response picks the server of every request, so the cookie would be "
         "ignored"),
        ("nginx", {"persistence": {"by": "cookie"}},
         "pools[1].persistence.by: cookie is not supported by nginx open source (a cookie naming the server is "
         "NGINX Plus's sticky). Use by: app_cookie"),
        ("haproxy", {"persistence": {"by": "sticky"}},
         "pools[1].persistence.by: unknown persistence 'sticky'. Use one of: cookie, app_cookie, header, source"),
        ("haproxy", {"persistence": {"by": "header", "name": "X_Cart"}},
         "pools[1].persistence.name: 'X_Cart' is not a header name both engines pass on"),
        ("nginx", {"persistence": {"by": "header", "name": "X-Cart\n"}}, "'X-Cart\\n' is not a header name"),
        ("haproxy", {"persistence": {"by": "header"}}, "pools[1].persistence.name: missing. Name the header"),
        ("nginx", {"persistence": {"by": "app_cookie", "name": "cart-id"}},
         "pools[1].persistence.name: 'cart-id' is not a cookie name both engines read"),
        ("haproxy", {"persistence": {"by": "app_cookie", "name": "a;b"}}, "'a;b' is not a cookie name"),
        ("haproxy", {"persistence": {"by": "app_cookie"}}, "pools[1].persistence.name: missing"),
        ("haproxy", {"persistence": {"by": "source", "name": "x"}}, "pools[1].persistence.name: by: source takes no"),
        ("nginx", {"persistence": {"by": "uri"}, "servers": [
            {"name": "y1", "address": "192.0.2.31", "port": 9000},
            {"name": "y2", "address": "192.0.2.32", "port": 9000, "backup": True}]},
         "pools[1].servers[1].backup: nginx takes no backup server in a pool that hashes (persistence by uri)"),
        ("nginx", {"slow_start": "30s"},
         "pools[1].slow_start: is not supported by nginx open source (server slow_start is NGINX Plus)"),
        ("haproxy", {"slow_start": "30s", "health_check": {"enabled": False}},
         "pools[1].slow_start: needs health checks"),
        ("haproxy", {"slow_start": "2h"}, "pools[1].slow_start: 2h is out of range (1s-1h)"),
        ("haproxy", {"slow_start": "500ms"}, "pools[1].slow_start: 500ms is out of range (1s-1h)"),
        ("nginx", {"slow_start": True}, "pools[1].slow_start: True is not a duration"),
        ("haproxy", {"timeouts": {"server": "0s"}},
         "pools[1].timeouts.server: must be longer than 0. Write a duration of at least 1ms, e.g. server: 5s"),
        ("haproxy", {"timeouts": {"client": "1s"}}, "pools[1].timeouts.client: unknown field"),
        ("nginx", {"retries": -1}, "pools[1].retries: -1 is out of range (0-100)"),
    ],
)  # fmt: skip
def test_bad_persistence_and_pool_settings_are_refused(engine, pool, message):
    assert message in error(engine, **pool)


def test_persistence_that_reads_http_is_refused_on_a_tcp_pool():
    data = {
        "pools": [{"name": "db", "persistence": {"by": "header", "name": "X-A"},
                   "servers": [{"address": "192.0.2.41", "port": 5432}]}],
        "frontends": [{"name": "pg", "mode": "tcp", "port": 5432, "pool": "db"}],
    }  # fmt: skip
    with pytest.raises(lb_spec.SpecError) as caught:
        lb_spec.parse(data, "haproxy")
    assert str(caught.value).startswith("pools[0].persistence.by: header reads HTTP, but pool 'db' serves the TCP")


@pytest.mark.parametrize(
    "persistence, haproxy, nginx",
    [
        ({"by": "app_cookie", "name": "cart"}, "balance hash req.cook(cart)", "hash $cookie_cart consistent;"),
        ({"by": "header", "name": "X-Cart-Id"}, "balance hdr(X-Cart-Id)", "hash $http_x_cart_id consistent;"),
        ({"by": "source"}, "balance source", "hash $remote_addr consistent;"),
        ({"by": "uri"}, "balance uri whole", "hash $request_uri consistent;"),
    ],
)
def test_each_hashed_persistence_is_consistent_on_both_engines(persistence, haproxy, nginx):
    cfg = render_haproxy.render(shop(persistence=persistence))
    assert "    %s\n    hash-type consistent\n" % haproxy in cfg
    assert "        %s\n" % nginx in render_nginx.render(shop(engine="nginx", persistence=persistence))


def test_an_inserted_cookie_names_each_server_and_slow_start_ramps_them():
    cfg = render_haproxy.render(shop(persistence={"by": "cookie"}, slow_start="30s"))
    assert "    cookie halb_server insert indirect nocache httponly\n" in cfg
    assert "    default-server inter 2000ms fall 3 rise 2 slowstart 30000ms\n" in cfg
    assert "    server y1 192.0.2.31:9000 check weight 1 cookie y1\n" in cfg


@pytest.mark.parametrize("engine", ["haproxy", "nginx"])
@pytest.mark.parametrize("off", [None, False, 0, "0", "0s", "0ms", "0m", " 0h "])
def test_every_zero_slow_start_is_off_on_both_engines(engine, off):
    # nginx open source has no slow_start, and the ramp needs health
    # checks: neither matters when it is off, however 0 is written.
    spec = shop(engine=engine, slow_start=off, health_check={"enabled": False})
    assert spec.pools[1].slow_start_ms == 0


def test_a_pool_keeps_its_own_timeouts_and_retries_on_both_engines():
    routes = [{"path_prefix": "/pay", "pool": "pay"}]
    pool = {"timeouts": {"connect": "1s", "server": "2m"}, "retries": 0}
    cfg = render_haproxy.render(shop(routes, **pool))
    backend = cfg.split("backend pay\n")[1]
    assert "    retries 0\n    timeout connect 1000ms\n    timeout server 120000ms\n" in backend
    conf = render_nginx.render(shop(routes, "nginx", **pool))
    pay = conf.split("location /pay {")[1].split("}")[0]
    assert "proxy_connect_timeout 1s;" in pay and "proxy_read_timeout 120s;" in pay
    assert "proxy_next_upstream_tries 1;" in pay
    other = conf.split("location / {")[1].split("}")[0]
    assert "proxy_connect_timeout 5s;" in other and "proxy_next_upstream_tries 4;" in other
