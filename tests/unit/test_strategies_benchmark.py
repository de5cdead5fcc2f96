"""The strategies benchmark's side-by-side deployment (benchmarks/strategies.py)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import strategies  # noqa: E402

STRATEGIES = ["round_robin", "least_connections", "fastest_response"]
HOSTVARS = {
    "lb_health_check_interval": "500ms",
    "lb_health_check_fall": 2,
    "lb_health_check_rise": 2,
    "lb_backend_servers": [{"name": "be%d" % n, "address": "10.0.0.%d" % n, "port": 8080} for n in (1, 2, 3)],
}


def test_each_strategy_has_its_port_and_the_other_backends_one_more():
    spec = strategies.side_by_side_spec(HOSTVARS, STRATEGIES, "10.0.0.1")["lb_spec"]
    ports = {f["pool"]: f["port"] for f in spec["frontends"]}
    assert ports == {
        "ab_round_robin": 80,
        "ab_least_connections": 81,
        "ab_fastest_response": 82,
        "ab_without_slowed": strategies.without_slowed_port(STRATEGIES),
    }
    pools = {p["name"]: p for p in spec["pools"]}
    assert [s["name"] for s in pools["ab_fastest_response"]["servers"]] == ["be1", "be2", "be3"]
    assert [s["name"] for s in pools["ab_without_slowed"]["servers"]] == ["be2", "be3"]
    assert pools["ab_without_slowed"]["strategy"] == "fastest_response"
