"""fastest_response, seen by a client through the VIP: slow one backend
down and its share of the traffic falls; heal it and the share comes back.
Bounds are loose on purpose: this proves the feedback loop works end to
end; benchmarks/strategies.py measures how fast and how well."""

import time

from halblab import load


def _set_delay(scenario, backend, ms):
    scenario.host(backend).run_expect([0], "echo %d > /etc/halb-demo-backend/delay_ms" % ms)


def _share(scenario, backend, seconds):
    records = load.run(scenario.vip, scenario.port, "/orders", seconds, workers=4, max_requests=50000)
    answered = [r for r in records if r.backend]
    assert answered, "no answers through the VIP"
    return sum(1 for r in answered if r.backend == backend) / len(answered)


def test_slow_backend_loses_its_share_and_wins_it_back(scenario):
    slow = scenario.backends[0]
    fair = 1.0 / len(scenario.backends)
    try:
        _set_delay(scenario, slow, 50)
        _share(scenario, slow, 5)  # the agent sees the slow answers and reacts
        slowed = _share(scenario, slow, 6)
        print(
            "\n[fastest_response] share of %s while +50 ms: %.1f %% (fair share %.0f %%)"
            % (slow, 100 * slowed, 100 * fair)
        )
        assert slowed < 0.5 * fair, slowed
    finally:
        _set_delay(scenario, slow, 0)
    deadline = time.monotonic() + 60
    healed = 0.0
    while time.monotonic() < deadline:
        healed = _share(scenario, slow, 5)
        if healed > 0.5 * fair:
            break
    print("[fastest_response] share of %s after healing: %.1f %%" % (slow, 100 * healed))
    assert healed > 0.5 * fair, healed
    agent_log = scenario.host(scenario.wait_owner()).run("journalctl -u halb-response-agent --no-pager").stdout
    assert "weight" in agent_log and "->" in agent_log, agent_log
