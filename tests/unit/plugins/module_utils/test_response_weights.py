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
