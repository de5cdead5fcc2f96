"""Active-active VIPs: the instances each node runs (MASTERs spread in
inventory order) and the checks on keepalived_vips, through the filters the
role calls."""

import pytest

from ansible_collections.halb.loadbalancer.plugins.filter.preflight import FilterModule
from ansible_collections.halb.loadbalancer.plugins.plugin_utils import preflight, vrrp_instances

FILTERS = FilterModule().filters()
FACTS = {
    "interfaces": ["lo", "eth0"],
    "eth0": {
        "ipv4": {"address": "172.29.10.11", "netmask": "255.255.255.0"},
        "ipv6": [{"address": "fd00:10::11", "prefix": "64", "scope": "global"}],
    },
}
NODES = ["lb1", "lb2", "lb3"]
VIPS = [
    {"address": "172.29.10.101", "virtual_router_id": 61},
    {"address": "172.29.10.102", "virtual_router_id": 62},
    {"address": "172.29.10.103", "virtual_router_id": 63},
]


def instances(host, vips=None, nodes=None):
    return FILTERS["keepalived_instances"](vips or VIPS, nodes or NODES, host, "", 51, 100, "halb_vip")


def errors(vips, host="lb1", vip="", version=3, peers=None, nodes=None):
    return FILTERS["keepalived_vips_errors"](FACTS, host, vips, nodes or NODES, "lb", vip, "eth0", version, peers or [])


def masters(vips, nodes):
    """VIP address -> the node with the highest priority for it."""
    best = {}
    for host in nodes:
        for instance in instances(host, vips, nodes):
            if instance["priority"] > best.get(instance["address"], ("", 0))[1]:
                best[instance["address"]] = (host, instance["priority"])
    return {address: host for address, (host, _priority) in best.items()}


def test_three_nodes_three_vips_each_node_masters_one():
    assert masters(VIPS, NODES) == {"172.29.10.101": "lb1", "172.29.10.102": "lb2", "172.29.10.103": "lb3"}


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 19])
def test_vips_spread_evenly_and_priorities_distinct_per_vip(count):
    """Any node count: MASTERs round the list, and no two nodes of one VIP
    share a priority (a tie would elect by IP address)."""
    nodes = ["lb%d" % n for n in range(1, count + 1)]
    vips = [{"address": "172.29.10.%d" % (100 + n), "virtual_router_id": 60 + n} for n in range(2 * count)]
    held = masters(vips, nodes)
    assert [held[v["address"]] for v in vips] == [nodes[n % count] for n in range(2 * count)]
    for index in range(len(vips)):
        priorities = [instances(host, vips, nodes)[index]["priority"] for host in nodes]
        assert len(set(priorities)) == count and min(priorities) >= 1 and max(priorities) <= 254


def test_the_next_node_is_the_first_backup():
    """A failed MASTER's VIP goes to the node after it, round the list."""
    backups = {}
    for index, vip in enumerate(VIPS):
        ranked = sorted(NODES, key=lambda host: -instances(host)[index]["priority"])
        backups[vip["address"]] = ranked[1]
    assert backups == {"172.29.10.101": "lb2", "172.29.10.102": "lb3", "172.29.10.103": "lb1"}


def test_priorities_override_the_derived_ones():
    vips = [dict(VIPS[0], priorities={"lb3": 250}), VIPS[1]]
    assert masters(vips, NODES)["172.29.10.101"] == "lb3"
    assert instances("lb3", vips)[0]["priority_from"] == "keepalived_vips[0].priorities"


def test_one_vip_is_one_instance_from_the_single_vip_settings():
    (instance,) = FILTERS["keepalived_instances"]([], NODES, "lb1", "fd00:10::100", 51, 150, "halb_vip")
    assert instance == {
        "name": "halb_vip",
        "address": "fd00:10::100",
        "cidr": "fd00:10::100/128",
        "virtual_router_id": 51,
        "priority": 150,
        "priority_from": "keepalived_priority",
    }


def test_a_limited_run_derives_the_same_priorities():
    """The group's inventory order decides, not the play's hosts: --limit lb2
    must not make lb2 the MASTER of every VIP."""
    assert [i["priority"] for i in instances("lb2")] == [190, 200, 180]


def test_sound_vips_pass():
    assert errors(VIPS) == []
    assert errors(VIPS + [{"address": "fd00:10::104", "virtual_router_id": 64, "name": "v6"}]) == []


@pytest.mark.parametrize(
    ("vips", "kwargs", "expected"),
    [
        (VIPS, {"vip": "172.29.10.100"}, "keepalived_vip and keepalived_vips are both set on lb1. Set one"),
        (VIPS, {"host": "lb9"}, "keepalived_vips_group: lb9 is not in group 'lb' (lb1, lb2, lb3)"),
        ("172.29.10.101", {}, "keepalived_vips on lb1 must be a list of {address, virtual_router_id}"),
        (["172.29.10.101"], {}, "keepalived_vips[0]: '172.29.10.101' on lb1 is not a mapping"),
        ([{"address": "172.29.10.101"}], {}, "keepalived_vips[0].virtual_router_id: None on lb1 must be a number"),
        ([{"address": "172.29.10.101", "virtual_router_id": 300}], {}, "is outside 1-255"),
        ([{"address": "not-an-ip", "virtual_router_id": 61}], {}, "keepalived_vips[0].address: 'not-an-ip' on"),
        ([{"address": "172.29.10.101\n", "virtual_router_id": 61}], {}, "is not an IP address"),
        ([{"address": "10.0.0.1", "virtual_router_id": 61}], {}, "keepalived_vips[0].address: 10.0.0.1 is not inside"),
        ([{"address": "172.29.10.11", "virtual_router_id": 61}], {}, "is the address of lb1 itself"),
        ([{"address": "fd00:10::104", "virtual_router_id": 61}], {"version": 2}, "VRRPv2 carries IPv4 addresses only"),
        (VIPS[:1] + [dict(VIPS[1], virtual_router_id=61)], {}, "keepalived_vips[1].virtual_router_id: 61 on"),
        (VIPS[:1] + [dict(VIPS[1], address="172.29.10.101")], {}, "keepalived_vips[1].address: 172.29.10.101 on"),
        ([dict(VIPS[0], name="a b")], {}, "keepalived_vips[0].name: 'a b' on lb1 is not a name"),
        ([dict(VIPS[0], name="x;y")], {}, "keepalived_vips[0].name: 'x;y' on lb1 is not a name"),
        ([dict(VIPS[0], name="x{")], {}, "keepalived_vips[0].name: 'x{' on lb1 is not a name"),
        ([dict(VIPS[0], priority=5)], {}, "keepalived_vips[0] on lb1 has unknown key(s) priority. It takes address"),
        ([dict(VIPS[0], priorities={"lb7": 250})], {}, "keepalived_vips[0].priorities names lb7, which is not in"),
        ([dict(VIPS[0], priorities={"lb2": 255})], {}, "keepalived_vips[0].priorities.lb2: 255 is outside 1-254"),
        ([dict(VIPS[0], priorities="lb2")], {}, "keepalived_vips[0].priorities on lb1 must map node names"),
        (
            [{"address": "fd00:10::104", "virtual_router_id": 64}],
            {"peers": ["172.29.10.12"]},
            "keepalived_vips[0].address: fd00:10::104 on lb1 is an IPv6 address, but keepalived_unicast_peers lists "
            "no IPv6 address",
        ),
        ([], {"vip": "fd00:10::100", "peers": ["172.29.10.12"]}, "keepalived_vip: fd00:10::100 on lb1 is an IPv6"),
        (VIPS, {"nodes": ["lb%d" % n for n in range(1, 21)], "host": "lb1"}, "has 20 nodes; derived priorities"),
    ],
)
def test_bad_vips_are_named_with_the_fix(vips, kwargs, expected):
    found = errors(vips, **kwargs)
    assert any(expected in message for message in found), found


def test_play_wide_checks_see_every_instance():
    """The records of all nodes go through the existing play-wide checks: a
    priorities override that ties two nodes is caught and named."""
    vips = [dict(VIPS[0], priorities={"lb2": 200})]
    records = [
        record
        for host in NODES
        for record in FILTERS["keepalived_vrrp_records"](FACTS, host, instances(host, vips), "eth0")
    ]
    assert {record["segment"] for record in records} == {"172.29.10.0/24"}
    (message,) = preflight.priority_errors(records)
    assert message.startswith("keepalived_vips[0].priorities: lb1 and lb2 both have priority 200 in VRRP instance 61")
    assert preflight.router_id_errors(records) == []


def test_derived_priorities_stay_in_range_at_the_node_limit():
    assert vrrp_instances.derived_priority(0, 1, vrrp_instances.MAX_NODES) >= 1
