"""keepalived.conf.j2 rendered by Ansible's own templar, as the template
module renders it: golden files for representative settings, and unicast
peers in a stable order whatever order the inventory gives them in.

The role's defaults and vars/main.yml are read from the role at test time
(vars/main.yml holds templates such as _keepalived_instances; the templar
resolves them lazily, as a play does). Rerun with HALB_UPDATE_GOLDEN=1 to
rewrite the golden files after a deliberate change, then review the diff.
"""

import itertools
import os

import pytest
import role_render

ROLE = os.path.join(role_render.ROOT, "roles", "keepalived")
TEMPLATE = os.path.join(ROLE, "templates", "keepalived.conf.j2")
DROPIN = os.path.join(ROLE, "templates", "halb.conf.j2")
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "keepalived")

# Inventory variables of each case, on top of the role defaults.
CASES = {
    "unicast": {
        "keepalived_vip": "172.29.10.100",
        "keepalived_priority": 150,
        "keepalived_advert_int": 0.1,
        # Unsorted and with a duplicate, as groups['lb'] | difference(...) | map(...) may give them.
        "keepalived_unicast_peers": ["172.29.10.13", "172.29.10.12", "172.29.10.13"],
        "keepalived_unicast_src_ip": "172.29.10.11",
        "keepalived_track_units": ["haproxy"],
    },
    "multicast": {"keepalived_vip": "172.29.10.100"},
    "ipv6": {
        "keepalived_vip": "fd00:10::100",
        "keepalived_interface": "ens18",
        "keepalived_virtual_router_id": 61,
        "keepalived_track_units": ["nginx.service"],
    },
    "tracked": {
        "keepalived_vip": "172.29.10.100",
        "keepalived_track_units": ["haproxy", "halb-response-agent.service", "nginx@shop.service"],
        "keepalived_track_urls": ["http://127.0.0.1:8404/health", "http://[::1]:8404/ready"],
        "keepalived_track_interval": 2,
        "keepalived_track_fall": 2,
        "keepalived_track_rise": 3,
    },
    "vrrp2-auth": {
        "keepalived_vip": "192.0.2.100",
        "keepalived_vrrp_version": 2,
        "keepalived_advert_int": 1,
        "keepalived_auth_pass": "s3cret",
        "keepalived_instance_name": "edge_vip",
    },
    "nopreempt": {
        "keepalived_vip": "172.29.10.100",
        "keepalived_preempt": False,
        "keepalived_unicast_peers": ["172.29.10.12"],
    },
    "active-active": {
        "groups": {"lb": ["lb1", "lb2", "lb3"]},
        "keepalived_vips": [
            {"address": "172.29.10.101", "virtual_router_id": 61},
            {"address": "172.29.10.102", "virtual_router_id": 62, "name": "shop_vip_2"},
            {"address": "fd00:10::103", "virtual_router_id": 63, "priorities": {"lb1": 250}},
        ],
        # Each instance lists the peers of its VIP's address family.
        "keepalived_unicast_peers": ["172.29.10.12", "fd00:10::12", "172.29.10.13", "fd00:10::13"],
        "keepalived_track_units": ["haproxy"],
    },
}

# What the setup module reports, for defaults that read facts.
FACTS = {"default_ipv4": {"interface": "eth0", "address": "172.29.10.11"}, "interfaces": ["lo", "eth0"]}


def render(overrides, hostname="lb1", template=TEMPLATE):
    """keepalived.conf (or another of the role's templates) as
    ansible.builtin.template writes it."""
    return role_render.render("keepalived", template, overrides, hostname, FACTS)


def unicast_peers(text):
    lines = text.splitlines()
    start = lines.index("    unicast_peer {")
    end = lines.index("    }", start)
    return [line.strip() for line in lines[start + 1 : end]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    role_render.check_golden(render(CASES[case]), os.path.join(GOLDEN, case + ".conf"))


def test_every_golden_file_has_a_case():
    """A case renamed or removed leaves no stale golden file behind."""
    assert sorted(name[: -len(".conf")] for name in os.listdir(GOLDEN)) == sorted(CASES)


def test_unicast_peers_sorted_and_unique():
    assert unicast_peers(render(CASES["unicast"])) == ["172.29.10.12", "172.29.10.13"]


def test_unicast_peers_render_the_same_in_any_order():
    """Re-runs that list the peers in another order must not change the file
    (a change reloads keepalived)."""
    peers = ["172.29.10.13", "172.29.10.12", "172.29.10.11"]
    texts = {
        render(dict(CASES["unicast"], keepalived_unicast_peers=list(order))) for order in itertools.permutations(peers)
    }
    assert len(texts) == 1
    assert unicast_peers(texts.pop()) == sorted(peers)


def test_multicast_has_no_unicast_block():
    assert "unicast" not in render(CASES["multicast"])


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("ipv6", "        fd00:10::100/128 dev ens18\n"),
        ("multicast", "        172.29.10.100/32 dev eth0\n"),  # keepalived_interface from the facts
    ],
)
def test_vip_is_a_host_address(case, expected):
    assert expected in render(CASES[case])


def test_vrrp2_auth_and_nopreempt():
    auth = render(CASES["vrrp2-auth"])
    assert "    version 2\n" in auth and "        auth_pass s3cret\n" in auth
    assert "nopreempt" not in auth
    assert "    nopreempt\n" in render(CASES["nopreempt"])
    assert "authentication" not in render(CASES["nopreempt"])


def test_tracked_units_and_urls():
    text = render(CASES["tracked"])
    for unit in ("haproxy.service", "halb-response-agent.service", "nginx@shop.service"):
        assert 'script "/usr/bin/systemctl is-active --quiet %s"' % unit in text
    for index, url in enumerate(CASES["tracked"]["keepalived_track_urls"], start=1):
        assert "vrrp_script halb_url_%d {" % index in text
        assert "-o /dev/null %s" % url in text
    assert "halb_file_nginx_shop_service weight 0" in text


def test_keepalived_starts_after_the_units_it_tracks_at_boot():
    """Started together, keepalived's track-file set-up could catch the engine
    still starting, write it down, and lose the engine's own "up": FAULT for
    good. Ordered after it, the set-up sees the settled state."""
    dropin = [line for line in render(CASES["tracked"], template=DROPIN).splitlines() if not line.startswith("#")]
    assert dropin[:2] == ["[Unit]", "After=haproxy.service halb-response-agent.service nginx@shop.service"]
    assert "[Unit]" not in render(CASES["multicast"], template=DROPIN)


def test_keepalived_runs_real_time_from_its_unit_with_a_runaway_bound():
    """keepalived_realtime_priority: systemd sets the policy (keepalived's own
    vrrp_rt_priority killed the VRRP process at every reload in a container);
    keepalived.conf only locks its memory."""
    dropin = render(CASES["multicast"], template=DROPIN).splitlines()
    assert [line for line in dropin if line.startswith(("CPUScheduling", "LimitRTTIME"))] == [
        "CPUSchedulingPolicy=rr",
        "CPUSchedulingPriority=50",
        "LimitRTTIME=1000000",
    ]
    conf = render(CASES["multicast"])
    assert "    vrrp_no_swap\n" in conf and "vrrp_rt_priority" not in conf
    off = dict(CASES["multicast"], keepalived_realtime_priority=0)
    assert "CPUScheduling" not in render(off, template=DROPIN) and "vrrp_no_swap" not in render(off)


def instances_of(text):
    """{instance name: (router id, priority, VIP line)} of a keepalived.conf."""
    found, name = {}, None
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("vrrp_instance "):
            name = line.split()[1]
            found[name] = {}
        elif name and line.startswith(("    virtual_router_id ", "    priority ")):
            key, value = line.split()
            found[name][key] = int(value)
        elif name and line == "    virtual_ipaddress {":
            found[name]["vip"] = lines[index + 1].strip()
    return found


def test_active_active_each_node_is_master_of_one_vip():
    """Three nodes, three VIPs: VIP i is MASTER (200) on node i, the next
    node is its first BACKUP (190), and a priorities entry overrides."""
    priorities = {}
    for host in ("lb1", "lb2", "lb3"):
        found = instances_of(render(CASES["active-active"], hostname=host))
        assert [(i["virtual_router_id"], i["vip"]) for i in found.values()] == [
            (61, "172.29.10.101/32 dev eth0"),
            (62, "172.29.10.102/32 dev eth0"),
            (63, "fd00:10::103/128 dev eth0"),
        ]
        assert list(found) == ["halb_vip_61", "shop_vip_2", "halb_vip_63"]
        priorities[host] = [i["priority"] for i in found.values()]
    assert priorities == {"lb1": [200, 180, 250], "lb2": [190, 200, 180], "lb3": [180, 190, 200]}


def test_active_active_dropin_clears_every_vip():
    """However keepalived stops, none of its VIPs stays on the interface."""
    dropin = render(CASES["active-active"], template=DROPIN)
    for cidr in ("172.29.10.101/32", "172.29.10.102/32", "fd00:10::103/128"):
        assert "ExecStopPost=-/usr/sbin/ip address del %s dev eth0\n" % cidr in dropin
        assert "ExecStartPre=-/usr/sbin/ip address del %s dev eth0\n" % cidr in dropin


def test_active_active_adverts_go_to_the_peers_of_the_vips_family():
    text = render(CASES["active-active"])
    v4 = text[text.index("vrrp_instance halb_vip_61") : text.index("vrrp_instance shop_vip_2")]
    v6 = text[text.index("vrrp_instance halb_vip_63") :]
    assert unicast_peers(v4) == ["172.29.10.12", "172.29.10.13"]
    assert unicast_peers(v6) == ["fd00:10::12", "fd00:10::13"]
