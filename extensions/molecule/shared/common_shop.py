"""The shop, routed, through the VIP, for either engine: host and path
rules to pools of their own, a cart that sticks to its server, consistent
hashing, and what happens when a sticky server dies.

The pools are the demo backend's shop services (demo_backend_services in
the scenario's inventory: products on 8081, orders on 8082, carts on 8084
and 8085 of each backend). Their frontend joins the security spec
(common_security.Lab), so both share that one converge; these tests run
after the security ones, in the same module.
"""

import collections
import http.client

SHOP_PORT = 8083
CART_SERVICES = ("carts", "carts2")
CARTS = ["cart-%03d" % i for i in range(200)]
HEALTH = {"interval": "500ms", "fall": 2, "rise": 1}


def _servers(backend_ips, port, prefix):
    return [{"name": "%s%d" % (prefix, i + 1), "address": ip, "port": port}
            for i, ip in enumerate(backend_ips)]  # fmt: skip


def extend_spec(spec, backend_ips, engine):
    """Add the shop's pools and its routed frontend on SHOP_PORT."""
    ips = [backend_ips[name] for name in sorted(backend_ips)]
    pools = [
        {"name": "products", "servers": _servers(ips, 8081, "p"), "health_check": HEALTH},
        {"name": "orders", "strategy": "least_connections", "servers": _servers(ips, 8082, "o"),
         "health_check": HEALTH},
        # Four servers, two on each backend host: the consistent-hash test
        # takes one of four away.
        {"name": "carts", "persistence": {"by": "app_cookie", "name": "cart"}, "health_check": HEALTH,
         "servers": _servers(ips, 8084, "c") + _servers(ips, 8085, "d")},
    ]  # fmt: skip
    routes = [
        {"host": "api.shop.halb.test", "pool": "orders"},
        {"host": "*.cdn.shop.halb.test", "path_prefix": "/products", "pool": "products"},
        {"path": "/payments/notify", "pool": "orders"},
        {"path_prefix": "/orders", "pool": "orders"},
        {"path_prefix": "/cart", "pool": "carts"},
    ]
    if engine == "haproxy":
        # A cookie naming the server, inserted by the load balancer: HAProxy only.
        pools.append({"name": "sticky", "persistence": {"by": "cookie"}, "health_check": HEALTH,
                      "servers": _servers(ips, 8081, "s")})  # fmt: skip
        routes.append({"path_prefix": "/sticky", "pool": "sticky"})
    spec["pools"] += pools
    spec["frontends"].append({"name": "shop", "port": SHOP_PORT, "pool": "products", "routes": routes})
    return spec


def get(vip, path, host="shop.halb.test", cookie=None):
    """(status, (backend host, service), Set-Cookie) of one GET through the VIP."""
    conn = http.client.HTTPConnection(vip, SHOP_PORT, timeout=5)
    try:
        conn.request("GET", path, headers=dict({"Host": host}, **({"Cookie": cookie} if cookie else {})))
        resp = conn.getresponse()
        resp.read()
        return resp.status, (resp.getheader("X-Backend"), resp.getheader("X-Service")), resp.getheader("Set-Cookie")
    finally:
        conn.close()


# (Host header, path) -> the service that must answer: first match wins.
ROUTING = [
    ("shop.halb.test", "/products/kettle", "products"),
    ("shop.halb.test", "/", "products"),
    ("shop.halb.test", "/orders/7", "orders"),
    ("shop.halb.test", "/payments/notify", "orders"),
    ("shop.halb.test", "/cart", CART_SERVICES),
    ("api.shop.halb.test", "/products", "orders"),
    ("img.cdn.shop.halb.test", "/products/1.png", "products"),
    ("img.cdn.shop.halb.test", "/orders", "orders"),
]


def test_each_path_and_host_lands_in_its_pool(scenario, lab):
    for host, path, service in ROUTING:
        status, (backend, answered), _cookie = get(scenario.vip, path, host)
        assert status == 200 and backend in scenario.backends, (host, path, status, backend)
        assert answered in (service if isinstance(service, tuple) else (service,)), (host, path, answered)


def _cart_servers(vip):
    out = {}
    for cart in CARTS:
        status, server, _cookie = get(vip, "/cart", cookie="cart=%s" % cart)
        assert status == 200, (cart, status)
        out[cart] = server
    return out


def test_a_cart_sticks_to_its_server_and_carts_spread(scenario, lab):
    status, _server, set_cookie = get(scenario.vip, "/cart")
    # The carts service gives a new client its cart; the cookie then decides.
    assert status == 200 and set_cookie.startswith("cart="), set_cookie
    cookie = set_cookie.split(";", 1)[0]
    assert len(set(get(scenario.vip, "/cart", cookie=cookie)[1] for _ in range(50))) == 1
    spread = collections.Counter(_cart_servers(scenario.vip).values())
    assert len(spread) == 4, spread  # every one of the four servers holds carts


def _service(scenario, server, action):
    backend, service = server
    out = scenario.host(backend).run("systemctl %s halb-demo-backend-%s" % (action, service))
    assert out.rc == 0, out.stderr


def test_a_dead_cart_server_moves_only_its_carts_and_no_get_fails(scenario, lab):
    before = _cart_servers(scenario.vip)
    victim = collections.Counter(before.values()).most_common()[1][0]
    _service(scenario, victim, "stop")
    try:
        after = _cart_servers(scenario.vip)  # every request answered 200
    finally:
        _service(scenario, victim, "start")
    moved = [cart for cart in CARTS if after[cart] != before[cart]]
    print("\n[carts] %s/%s stopped: %d of %d carts moved, every request answered 200"
          % (victim + (len(moved), len(CARTS))))  # fmt: skip
    assert sorted(moved) == sorted(cart for cart in CARTS if before[cart] == victim)
    assert 0.1 <= len(moved) / float(len(CARTS)) <= 0.45, len(moved)  # about a quarter, not all


def test_a_cart_whose_server_dies_moves_once_and_sticks_again(scenario, lab):
    cookie = "cart=%s" % CARTS[0]
    home = get(scenario.vip, "/cart", cookie=cookie)[1]
    _service(scenario, home, "stop")
    try:
        answers = [get(scenario.vip, "/cart", cookie=cookie) for _ in range(50)]
    finally:
        _service(scenario, home, "start")
    served = sorted(set("%s/%s" % server for _s, server, _c in answers))
    ok = sum(1 for status, _server, _c in answers if status == 200)
    print("\n[cart] home %s/%s stopped: %d of 50 answered 200, on %s" % (home + (ok, served)))
    assert [status for status, _server, _c in answers] == [200] * 50
    assert len(set(server for _s, server, _c in answers)) == 1 and answers[0][1] != home
