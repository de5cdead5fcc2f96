"""A backend killed (SIGKILL) under load, with requests in flight on it.

GETs (/orders) and POSTs (/payments) go through the VIP side by side while
every backend answers in 100 ms, so about half of each kind are waiting on
be1 when it dies. A GET the dead server never answered is retried on
another server by the engine (HAProxy retry-on + redispatch, nginx
proxy_next_upstream): no client sees it fail. A POST may already have
taken effect on the dead server, so it is never sent twice: the client gets
the load balancer's 502 (or, from HAProxy on a kept-alive connection, the
connection closed with no answer). At most one POST per client connection can be in
flight at the kill, which bounds that count; systemd restarts the backend a
second later and nothing else fails."""

import os
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))

import load_client  # noqa: E402 (standard library only: usable outside Ansible)

DELAY_MS = 100
CONNECTIONS = 8  # per method
SECONDS = 10
KILL_AT = 3.0


def _set_delay(scenario, ms):
    for backend in scenario.backends:
        scenario.host(backend).run_expect([0], "echo %d > /etc/halb-demo-backend/delay_ms" % ms)


def _load(target, into):
    into[target.method] = load_client.run(target, SECONDS, connections=CONNECTIONS, timeout=5.0)


def test_backend_killed_under_load_fails_no_get_and_only_posts_in_flight(scenario):
    scenario.wait_owner(scenario.lbs[0])
    dead = scenario.backends[0]
    targets = [
        load_client.Target(scenario.vip, scenario.port, "/orders"),
        load_client.Target(scenario.vip, scenario.port, "/payments", method="POST", body=b'{"order": 1}'),
    ]
    records = {}
    _set_delay(scenario, DELAY_MS)
    try:
        threads = [threading.Thread(target=_load, args=(target, records)) for target in targets]
        for thread in threads:
            thread.start()
        time.sleep(KILL_AT)
        scenario.host(dead).run_expect([0], "systemctl kill --signal=KILL halb-demo-backend")
        for thread in threads:
            thread.join(SECONDS + 30)
    finally:
        _set_delay(scenario, 0)
    gets, posts = (load_client.summary(records[method], SECONDS) for method in ("GET", "POST"))
    print("\n[backend kill] GET: %d failed of %d; POST: %d failed of %d %s"
          % (gets["failures"], gets["requests"], posts["failures"], posts["requests"], posts["errors"]))  # fmt: skip
    # Both kinds reached both backends before the kill, so some were in flight on it.
    assert {dead, scenario.backends[1]} <= set(gets["backends"]) & set(posts["backends"]), (gets, posts)
    assert gets["failures"] == 0, gets["errors"]
    # A failed POST got the load balancer's 502, or (HAProxy, on a kept-alive
    # client connection) its connection closed with no answer, which leaves the
    # choice to resend to the client; the load balancer never resent it.
    assert set(posts["errors"]) <= {"status 502", "RemoteDisconnected"}, posts["errors"]
    assert 1 <= posts["failures"] <= CONNECTIONS, posts["errors"]
    # systemd brought the backend back; it serves again.
    deadline = time.monotonic() + 20
    while dead not in scenario.spread(6) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert dead in scenario.spread(6)
    scenario.results["backend kill"] = {
        "get_requests": gets["requests"],
        "get_failed": gets["failures"],
        "post_requests": posts["requests"],
        "post_failed": posts["failures"],
        "connections": CONNECTIONS,
        "delay_ms": DELAY_MS,
    }
