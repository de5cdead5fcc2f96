"""The fastest_response weight computation: smoothing, floor, recovery."""

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import response_weights as rw


def test_ewma_half_life():
    e = rw.Ewma(half_life_s=2.0)
    assert e.update(10, now=0) == 10
    # After one half-life, a new sample has moved the average half way.
    assert e.update(110, now=2.0) == pytest.approx(60)
    # A sample arriving at the same instant does not move it at all.
    assert e.update(1000, now=2.0) == pytest.approx(60)


def test_ewma_rejects_nonpositive_half_life():
    with pytest.raises(ValueError):
        rw.Ewma(0)


@pytest.mark.parametrize(
    ("latency", "expected"),
    [
        # Equal servers keep their configured weights.
        ({"a": 5, "b": 5, "c": 5}, {"a": 100, "b": 100, "c": 100}),
        # 45 ms slower: ((5+20)/(50+20))^4 = 0.016 of its weight.
        ({"a": 5, "b": 5, "c": 50}, {"a": 100, "b": 100, "c": 2}),
        # 10 ms slower: ((10+20)/(20+20))^4 = 0.316.
        ({"a": 10, "b": 20, "c": 10}, {"a": 100, "b": 32, "c": 100}),
        # Never measured: full weight, so it gets tried.
        ({"a": 5, "b": None, "c": 50}, {"a": 100, "b": 100, "c": 2}),
        # Nothing measured yet: everyone at full weight.
        ({"a": None, "b": None, "c": None}, {"a": 100, "b": 100, "c": 100}),
        # A fraction of a millisecond costs little (noise_ms = 20).
        ({"a": 1.0, "b": 1.5, "c": 1.2}, {"a": 100, "b": 91, "c": 96}),
    ],
)
def test_target_weights(latency, expected):
    assert rw.target_weights(latency, {"a": 100, "b": 100, "c": 100}) == expected


def test_floor_keeps_every_server_probed_and_never_all_zero():
    weights = rw.target_weights({"a": 1000, "b": 5000}, {"a": 1, "b": 1}, floor=0)
    assert weights == {"a": 1, "b": 1}
    weights = rw.target_weights({"a": 5, "b": 5000}, {"a": 100, "b": 100}, floor=3)
    assert weights == {"a": 100, "b": 3}


def test_configured_weights_scale_and_cap():
    weights = rw.target_weights({"a": 5, "b": 5}, {"a": 200, "b": 300}, max_weight=256)
    assert weights == {"a": 200, "b": 256}


def test_slow_server_sheds_weight_then_recovers():
    balancer = rw.Balancer({"a": 100, "b": 100, "c": 100}, half_life_s=2.0)
    now = 0.0
    for _step in range(20):  # healthy: 5 ms everywhere
        now += 0.5
        for server in "abc":
            balancer.observe(server, 5, now)
    assert balancer.weights() == {"a": 100, "b": 100, "c": 100}
    for _step in range(20):  # c is slowed by +50 ms for 10 s
        now += 0.5
        for server, ms in (("a", 5), ("b", 5), ("c", 55)):
            balancer.observe(server, ms, now)
    slow = balancer.weights()
    assert slow["c"] <= 2 and slow["a"] == slow["b"] == 100
    for _step in range(40):  # healed for 20 s
        now += 0.5
        for server in "abc":
            balancer.observe(server, 5, now)
    assert balancer.weights()["c"] >= 90


def test_changes_lists_only_differences():
    assert rw.changes({"a": 100, "b": 5}, {"a": 100, "b": 7, "c": 1}) == {"b": 7, "c": 1}


# --- drained, weight-0 and backup servers (issue 9) ----------------------------

# (id, base weights, latencies, backups, excluded, expected). A base weight of
# 0 is how a drained or weight-0 server reaches target_weights (steered_weights);
# excluded is a server an operator drained at run time.
INELIGIBLE = [
    (
        "drained-or-weight0-and-fastest",
        {"a": 0, "b": 100, "c": 100},
        {"a": 1, "b": 30, "c": 30},
        (),
        (),
        {"a": 0, "b": 100, "c": 100},
    ),
    ("zero-never-measured", {"a": 0, "b": 100}, {"a": None, "b": 5}, (), (), {"a": 0, "b": 100}),
    (
        "zero-and-slow-still-zero-not-floor",
        {"a": 0, "b": 100, "c": 100},
        {"a": 500, "b": 5, "c": 50},
        (),
        (),
        {"a": 0, "b": 100, "c": 2},
    ),
    (
        "operator-drained-and-fastest",
        {"a": 100, "b": 100, "c": 100},
        {"a": 1, "b": 30, "c": 30},
        (),
        ("a",),
        {"a": 0, "b": 100, "c": 100},
    ),
    (
        "eligible-still-computed",
        {"a": 0, "b": 100, "c": 100},
        {"a": 1, "b": 10, "c": 20},
        (),
        (),
        {"a": 0, "b": 100, "c": 32},
    ),
    (
        "backup-measured-fast-does-not-push-actives-down",
        {"a": 100, "b": 100, "c": 100},
        {"a": 30, "b": 30, "c": 1},
        ("c",),
        (),
        {"a": 100, "b": 100, "c": 100},
    ),
    (
        "backups-compared-among-themselves",
        {"a": 100, "b": 100, "c": 100, "d": 100},
        {"a": 5, "b": 50, "c": 5, "d": 50},
        ("c", "d"),
        (),
        {"a": 100, "b": 2, "c": 100, "d": 2},
    ),
    ("no-eligible-server", {"a": 0, "b": 0}, {"a": 1, "b": 50}, (), (), {"a": 0, "b": 0}),
    ("all-operator-drained", {"a": 100, "b": 100}, {"a": 1, "b": 50}, (), ("a", "b"), {"a": 0, "b": 0}),
]


@pytest.mark.parametrize(
    ("base", "latency", "backups", "excluded", "expected"),
    [case[1:] for case in INELIGIBLE],
    ids=[case[0] for case in INELIGIBLE],
)
def test_target_weights_ineligible_servers_stay_at_zero(base, latency, backups, excluded, expected):
    roles = dict((key, value) for key, value in (("backups", backups), ("excluded", excluded)) if value)
    assert rw.target_weights(latency, base, floor=1, **roles) == expected


def server(name, weight=1, **flags):
    return dict(
        {"name": name, "address": "192.0.2.1", "port": 8000 + len(name), "weight": weight, "max_fails": 3},
        fail_timeout_s=10,
        backup=flags.get("backup", False),
        drain=flags.get("drain", False),
    )


@pytest.mark.parametrize(
    ("srv", "eligible", "steered"),
    [
        (server("a", 256), True, 256),
        (server("a", 256, drain=True), False, 0),
        (server("a", 0), False, 0),
        (server("a", 0, drain=True), False, 0),
        (server("a", 128, backup=True), True, 128),
        (server("a", 128, backup=True, drain=True), False, 0),
    ],
    ids=["plain", "drained", "weight-0", "weight-0-drained", "backup", "backup-drained"],
)
def test_eligible_and_steered_weights(srv, eligible, steered):
    assert rw.eligible(srv) is eligible
    assert rw.steered_weights([srv]) == {"a": steered}


@pytest.mark.parametrize("kind", ["drain", "weight-0"])
@pytest.mark.parametrize("own_ms", [1, 200])
def test_balancer_keeps_ineligible_server_at_zero_whatever_it_measures(kind, own_ms):
    servers = [server("a", 0) if kind == "weight-0" else server("a", 256, drain=True), server("b", 256)]
    servers.append(server("c", 256))
    balancer = rw.Balancer(rw.steered_weights(servers), half_life_s=1.0)
    now = 0.0
    for _step in range(100):
        now += 0.1
        for name, ms in (("a", own_ms), ("b", 5), ("c", 55)):
            balancer.observe(name, ms, now)
    weights = balancer.weights()
    assert weights["a"] == 0
    # The eligible servers are compared with each other only.
    assert weights["b"] == 256 and 1 <= weights["c"] <= 5


def test_base_weights_keep_a_configured_zero():
    assert rw.base_weights({"a": 0, "b": 1, "c": 2}, "haproxy") == {"a": 0, "b": 128, "c": 256}
    assert rw.base_weights({"a": 1, "b": 2}, "nginx") == {"a": 500, "b": 1000}


def test_agent_pools_give_drained_and_weight_0_servers_no_steered_weight():
    from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec

    data = {
        "pools": [
            {
                "name": "api",
                "strategy": "fastest_response",
                "servers": [
                    {"name": "api1", "address": "192.0.2.11", "port": 8080, "weight": 2},
                    {"name": "api2", "address": "192.0.2.12", "port": 8080, "weight": 0},
                    {"name": "api3", "address": "192.0.2.13", "port": 8080, "drain": True},
                    {"name": "api4", "address": "192.0.2.14", "port": 8080, "backup": True},
                ],
            }
        ],
        "frontends": [{"name": "www", "port": 80, "pool": "api"}],
    }
    servers = rw.agent_pools(lb_spec.parse(data, "haproxy"), "haproxy")["api"]["servers"]
    assert [(s["name"], s["weight"], s["backup"], s["drain"]) for s in servers] == [
        ("api1", 256, False, False),
        ("api2", 0, False, False),  # was 1: a configured 0 must stay 0
        ("api3", 128, False, True),
        ("api4", 128, True, False),
    ]
    assert rw.steered_weights(servers) == {"api1": 256, "api2": 0, "api3": 0, "api4": 128}


@pytest.mark.parametrize(
    ("flags", "weight", "line"),
    [
        ({}, 700, "server 192.0.2.1:8001 weight=700 max_fails=3 fail_timeout=10s;"),
        ({"drain": True}, 1000, "server 192.0.2.1:8001 weight=1000 max_fails=3 fail_timeout=10s down;"),
        ({"backup": True}, 300, "server 192.0.2.1:8001 weight=300 max_fails=3 fail_timeout=10s backup;"),
        ({}, 0, "server 192.0.2.1:8001 weight=1 max_fails=3 fail_timeout=10s down;"),  # nginx has no weight 0
    ],
    ids=["plain", "drained", "backup", "weight-0"],
)
def test_nginx_server_lines_keep_drained_and_backup(flags, weight, line):
    text = rw.nginx_server_lines([server("a", weight, **flags)], {"a": weight})
    assert text.splitlines()[1] == line
