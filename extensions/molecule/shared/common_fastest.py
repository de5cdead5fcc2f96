"""fastest_response, seen by a client through the VIP and held to what the
README claims: a backend slowed by 50 ms falls below 5 % of the requests
within 2 s, is back to 80 % of a fair share within 10 s of healing, and the
engine changes no config for any of it (its workers stay the same
processes: no reload). benchmarks/strategies.py measures the latencies."""

import collections

from halblab import load

SLOW_MS = 50
WARM_S = 3.0  # healthy, before the slowdown
SLOW_S = 8.0  # slowed
HEALED_S = 11.0  # after healing
SETTLE_S = 2.0  # README: below 5 % within 2 s of slowing
MAX_SLOW_SHARE = 0.05
RECOVER_S = 10.0  # README: 80 % of a fair share within 10 s of healing
MIN_HEALED_OF_FAIR = 0.8


def _set_delay(scenario, backend, ms):
    scenario.host(backend).run_expect([0], "echo %d > /etc/halb-demo-backend/delay_ms" % ms)


def _share(records, backend, since, until):
    window = [r for r in records if since <= r.start < until]
    assert window, "no requests between %.1f and %.1f s" % (since, until)
    return sum(1 for r in window if r.backend == backend) / len(window)


def _workers(scenario, node):
    """The engine's worker processes: a reload replaces them all."""
    host = scenario.host(node)
    main = host.check_output("systemctl show -p MainPID --value %s" % scenario.engine).strip()
    return sorted(host.check_output("pgrep -P %s" % main).split())


def test_slow_backend_loses_its_share_within_2s_and_wins_it_back_within_10s(scenario):
    slow = scenario.backends[0]
    fair = 1.0 / len(scenario.backends)
    owner = scenario.wait_owner()
    workers = _workers(scenario, owner)
    events = [
        (WARM_S, lambda: _set_delay(scenario, slow, SLOW_MS)),
        (WARM_S + SLOW_S, lambda: _set_delay(scenario, slow, 0)),
    ]
    try:
        records = load.run(scenario.vip, scenario.port, "/orders", WARM_S + SLOW_S + HEALED_S, workers=4,
                           max_requests=200000, events=events)  # fmt: skip
    finally:
        _set_delay(scenario, slow, 0)
    per_second = collections.defaultdict(collections.Counter)
    for record in records:
        per_second[int(record.start)][record.backend == slow] += 1
    print(
        "\n[fastest_response] share of %s per second (slowed by %d ms from %.0f s to %.0f s): %s"
        % (slow, SLOW_MS, WARM_S, WARM_S + SLOW_S,
           " ".join("%.0f%%" % (100.0 * c[True] / sum(c.values())) for _, c in sorted(per_second.items())))
    )  # fmt: skip
    assert all(r.backend for r in records), "%d requests failed" % sum(1 for r in records if not r.backend)
    slowed = _share(records, slow, WARM_S + SETTLE_S, WARM_S + SLOW_S)
    assert slowed < MAX_SLOW_SHARE, "%.1f %% from %.0f s after slowing" % (100 * slowed, SETTLE_S)
    healed_at = WARM_S + SLOW_S
    healed = _share(records, slow, healed_at + RECOVER_S - 3, healed_at + RECOVER_S)
    assert healed >= MIN_HEALED_OF_FAIR * fair, "%.1f %% in the 3 s before %.0f s after healing" % (
        100 * healed,
        RECOVER_S,
    )
    assert scenario.wait_owner() == owner
    assert _workers(scenario, owner) == workers, "the engine reloaded"
