"""frr.conf and the health check's unit as the bgp_anycast role renders
them: golden files, and what the routers may and may not learn."""

import os

import pytest
import role_render

ROLE = os.path.join(role_render.ROOT, "roles", "bgp_anycast")
FRR = os.path.join(ROLE, "templates", "frr.conf.j2")
UNIT = os.path.join(ROLE, "templates", "halb-anycast-health.service.j2")
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "bgp_anycast")
FACTS = {"default_ipv4": {"interface": "eth0", "address": "172.29.13.11"}}

CASES = {
    "ipv4-bfd": {
        "bgp_anycast_vips": ["172.29.14.200", "172.29.14.201"],
        "bgp_anycast_neighbors": [{"address": "172.29.13.2", "asn": 65000, "bfd": True, "password": "s3cret"}],
        "bgp_anycast_track_units": ["haproxy.service"],
        "bgp_anycast_track_urls": ["http://127.0.0.1:8901/halb-health"],
    },
    "dual-stack": {
        "bgp_anycast_vips": ["2001:db8:200::200", "192.0.2.200"],
        "bgp_anycast_asn": 4200000001,
        "bgp_anycast_neighbors": [
            {"address": "2001:db8::1", "asn": 65000},
            {"address": "192.0.2.1", "asn": 65000},
        ],
    },
}


def render(case, template=FRR):
    return role_render.render("bgp_anycast", template, CASES[case], "lb1", FACTS)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    role_render.check_golden(render(case), os.path.join(GOLDEN, case + ".conf"))
    role_render.check_golden(render(case, UNIT), os.path.join(GOLDEN, case + ".service"))


def test_every_golden_file_has_a_case():
    names = {name.rsplit(".", 1)[0] for name in os.listdir(GOLDEN)}
    assert names == set(CASES)


def test_only_the_vips_go_out_and_nothing_comes_in():
    text = render("ipv4-bfd")
    assert "ip prefix-list HALB-ANYCAST seq 5 permit 172.29.14.200/32\n" in text
    assert "ip prefix-list HALB-ANYCAST seq 10 permit 172.29.14.201/32\n" in text
    assert "  redistribute connected route-map HALB-ANYCAST\n" in text
    assert "  neighbor 172.29.13.2 route-map HALB-NOTHING in\n" in text
    assert "route-map HALB-NOTHING deny 10\n" in text
    assert " neighbor 172.29.13.2 bfd profile halb\n" in text
    assert "  detect-multiplier 3\n  receive-interval 100\n  transmit-interval 100\n" in text


def test_each_family_goes_to_its_own_neighbours():
    text = render("dual-stack")
    v4 = text[text.index(" address-family ipv4 unicast") : text.index(" address-family ipv6 unicast")]
    v6 = text[text.index(" address-family ipv6 unicast") :]
    assert "neighbor 192.0.2.1 activate" in v4 and "2001:db8::1" not in v4
    assert "neighbor 2001:db8::1 activate" in v6 and "192.0.2.1" not in v6
    assert "ipv6 prefix-list HALB-ANYCAST6 seq 5 permit 2001:db8:200::200/128\n" in text
    assert "bfd" not in text


def test_the_unit_withdraws_when_it_stops():
    unit = render("ipv4-bfd", UNIT)
    for prefix in ("172.29.14.200/32", "172.29.14.201/32"):
        assert "ExecStopPost=-/usr/sbin/ip address del %s dev lo\n" % prefix in unit
        assert "ExecStartPre=-/usr/sbin/ip address del %s dev lo\n" % prefix in unit
    assert "--unit haproxy.service --url http://127.0.0.1:8901/halb-health 172.29.14.200/32 172.29.14.201/32\n" in unit
