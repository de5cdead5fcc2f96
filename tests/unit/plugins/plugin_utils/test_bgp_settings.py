"""The bgp_anycast pre-flight: every value that reaches frr.conf or the
health check's command line is checked, and each problem is named."""

import pytest

from ansible_collections.halb.loadbalancer.plugins.filter.bgp_anycast import FilterModule

CHECK = FilterModule().filters()["bgp_anycast_errors"]
GOOD = {
    "vips": ["192.0.2.200"],
    "asn": 65010,
    "router_id": "192.0.2.11",
    "neighbors": [{"address": "192.0.2.1", "asn": 65000, "password": "s3cret", "bfd": True}],
    "hold_time": 3,
    "keepalive": 1,
    "bfd_interval": 100,
    "bfd_multiplier": 3,
    "check_interval": 200,
    "check_fall": 1,
    "check_rise": 3,
    "track_units": ["haproxy.service"],
    "track_urls": ["http://127.0.0.1:8901/halb-health"],
}


def test_good_settings_pass():
    assert CHECK(GOOD, "lb1") == []
    assert CHECK(dict(GOOD, vips=["2001:db8::200"], neighbors=[{"address": "2001:db8::1", "asn": 65000}]), "lb1") == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"vips": []}, "bgp_anycast_vips on lb1 is empty"),
        ({"vips": ["192.0.2.300"]}, "bgp_anycast_vips[0]: '192.0.2.300' on lb1 is not an IP address"),
        ({"vips": ["192.0.2.200\n"]}, "is not an IP address"),
        ({"vips": ["192.0.2.200", "192.0.2.200"]}, "bgp_anycast_vips[1]: 192.0.2.200 on lb1 is listed twice"),
        ({"vips": ["2001:db8::200"]}, "has IPv6 VIPs, but no neighbour in bgp_anycast_neighbors is an IPv6"),
        ({"asn": 0}, "bgp_anycast_asn: 0 on lb1 is outside 1-4294967294"),
        ({"asn": "x"}, "bgp_anycast_asn: 'x' on lb1 must be a number"),
        ({"router_id": "2001:db8::11"}, "bgp_anycast_router_id: '2001:db8::11' on lb1 is not an IPv4 address"),
        ({"router_id": ""}, "bgp_anycast_router_id: '' on lb1 is not an IPv4 address"),
        ({"neighbors": []}, "bgp_anycast_neighbors on lb1 is empty"),
        ({"neighbors": ["192.0.2.1"]}, "bgp_anycast_neighbors[0]: '192.0.2.1' on lb1 is not a mapping"),
        ({"neighbors": [{"address": "router", "asn": 65000}]}, "bgp_anycast_neighbors[0].address: 'router' on lb1"),
        ({"neighbors": [{"address": "192.0.2.1", "asn": 4294967295}]}, "asn: 4294967295 on lb1 is outside"),
        ({"neighbors": [{"address": "192.0.2.1", "asn": 65000, "password": "a b"}]}, "password on lb1 has"),
        ({"neighbors": [{"address": "192.0.2.1", "asn": 65000, "password": "x!y"}]}, "password on lb1 has"),
        ({"neighbors": [{"address": "192.0.2.1", "asn": 65000, "password": "p" * 81}]}, "or is longer than 80"),
        ({"neighbors": [{"address": "192.0.2.1", "asn": 65000, "bfd": "yes"}]}, "bfd: 'yes' on lb1 must be true"),
        ({"neighbors": [{"address": "192.0.2.1", "asn": 65000, "md5": "x"}]}, "has unknown key(s) md5"),
        (
            {"neighbors": [{"address": "192.0.2.1", "asn": 65000}, {"address": "192.0.2.1", "asn": 65001}]},
            "bgp_anycast_neighbors[1].address: 192.0.2.1 on lb1 is listed twice",
        ),
        ({"hold_time": 2}, "bgp_anycast_hold_time: 2 on lb1 is outside 0 or 3-65535"),
        ({"keepalive": 3}, "bgp_anycast_keepalive: 3 s on lb1 is not below bgp_anycast_hold_time (3 s)"),
        ({"bfd_interval": 5}, "bgp_anycast_bfd_interval: 5 on lb1 is outside 10-60000"),
        ({"bfd_multiplier": 1}, "bgp_anycast_bfd_multiplier: 1 on lb1 is outside 2-255"),
        ({"check_interval": 10}, "bgp_anycast_check_interval: 10 on lb1 is outside 50-10000"),
        ({"check_rise": 0}, "bgp_anycast_check_rise: 0 on lb1 is outside 1-100"),
        ({"track_units": ["haproxy; reboot"]}, "bgp_anycast_track_units[0]: 'haproxy; reboot' on lb1 is not a systemd"),
        ({"track_urls": ["http://127.0.0.1/x y"]}, "bgp_anycast_track_urls[0]: 'http://127.0.0.1/x y' on lb1"),
    ],
)
def test_bad_settings_are_named(change, expected):
    found = CHECK(dict(GOOD, **change), "lb1")
    assert any(expected in message for message in found), found


def test_a_bad_password_is_never_echoed():
    found = CHECK(dict(GOOD, neighbors=[{"address": "192.0.2.1", "asn": 65000, "password": "top secret"}]), "lb1")
    assert found and not any("top secret" in message for message in found)
