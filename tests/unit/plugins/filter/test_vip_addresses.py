"""The VIPs one node serves (filter vip_addresses), as the lb role's status
and site.yml's VIP check read them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.halb.loadbalancer.plugins.filter.vip_addresses import FilterModule

vip_addresses = FilterModule().filters()["vip_addresses"]

VIPS = [
    {"address": "192.0.2.100", "virtual_router_id": 51},
    {"address": "2001:db8::100", "virtual_router_id": 52, "name": "VI_V6"},
]


@pytest.mark.parametrize(
    "vip, vips, expected",
    [
        ("192.0.2.100", [], ["192.0.2.100"]),
        ("192.0.2.100", None, ["192.0.2.100"]),
        ("", VIPS, ["192.0.2.100", "2001:db8::100"]),
        (None, VIPS, ["192.0.2.100", "2001:db8::100"]),
        ("", [], []),
        (None, None, []),
    ],
)
def test_the_one_vip_or_every_address_of_the_list(vip, vips, expected):
    assert vip_addresses(vip, vips) == expected


def test_the_one_vip_wins_over_the_list():
    # The keepalived preflight refuses both set; this only pins the order
    # the playbooks' expression had.
    assert vip_addresses("198.51.100.7", VIPS) == ["198.51.100.7"]


@pytest.mark.parametrize("entry", [{"virtual_router_id": 53}, {"address": ""}, "192.0.2.101"])
def test_an_entry_without_an_address_is_named(entry):
    with pytest.raises(AnsibleFilterError, match=r"keepalived_vips\[1\] has no address"):
        vip_addresses("", [VIPS[0], entry])
