"""HTTPS (sslyze against Mozilla intermediate, rotation under load, bad
certificates refused), access rules and rate limits through the VIP, then
the routed shop (host and path rules, sticky carts, consistent hashing,
and HAProxy's inserted cookie). Runs last: it converges the scenario with
its security and shop spec and leaves it."""

import common_shop
from common_security import *  # noqa: F403 (the shared tests run in this scenario)
from common_shop import *  # noqa: F403 (after the security tests: they converge the shop too)


def test_an_inserted_cookie_sticks_and_moves_when_its_server_dies(scenario, lab):
    vip = scenario.vip
    status, first, set_cookie = common_shop.get(vip, "/sticky")
    # The cookie names the server (the spec's server name, s1 or s2).
    assert status == 200 and set_cookie.startswith("halb_server=s"), set_cookie
    cookie = set_cookie.split(";", 1)[0]
    assert set(common_shop.get(vip, "/sticky", cookie=cookie)[1] for _ in range(50)) == {first}
    scenario.host(first[0]).run("systemctl stop halb-demo-backend-products")
    try:
        answers = [common_shop.get(vip, "/sticky", cookie=cookie) for _ in range(20)]
    finally:
        scenario.host(first[0]).run("systemctl start halb-demo-backend-products")
    assert [status for status, _server, _c in answers] == [200] * 20
    moved_to = answers[0][1]
    assert moved_to != first and answers[0][2].startswith("halb_server=s"), answers[0]
    # The new cookie the first answer set sticks to the new server.
    cookie = answers[0][2].split(";", 1)[0]
    assert set(common_shop.get(vip, "/sticky", cookie=cookie)[1] for _ in range(20)) == {moved_to}
