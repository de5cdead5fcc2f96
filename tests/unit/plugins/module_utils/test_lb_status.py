"""lb_status: reading what the engines and the host say, and the table the
status playbook prints. The Molecule scenarios run it on real nodes."""

import hashlib
import re

from ansible_collections.halb.loadbalancer.plugins.module_utils import haproxy_runtime, lb_status

# As nginx writes it, with a space ending three of its lines.
STUB_STATUS = (
    "Active connections: 3 \nserver accepts handled requests\n 120 120 456 \nReading: 0 Writing: 1 Waiting: 2 \n"
)

SHOW_STAT = (
    "# pxname,svname,qcur,scur,stot,status,weight,check_status,rate,rtime,\n"
    "www,FRONTEND,,2,90,OPEN,,,3,,\n"
    "shop,be1,0,1,40,UP,1,L7OK,2,4,\n"
    "shop,be2,0,0,38,DOWN,1,L4CON,0,0,\n"
    "shop,BACKEND,0,1,78,UP,2,,2,3,\n"
    "halb_rate10s_www,BACKEND,0,0,0,UP,0,,0,0,\n"
    "halb_metrics,FRONTEND,,0,3,OPEN,,,0,,\n"
    "halb_node_exporter,node_exporter,0,0,3,no check,1,,0,1,\n"
)

IP_ADDR = """1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 172.29.10.11/24 brd 172.29.10.255 scope global eth0\\       valid_lft forever
2: eth0    inet 172.29.10.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
2: eth0    inet6 fe80::42:acff:fe1d:a0b/64 scope link \\       valid_lft forever preferred_lft forever
"""


def test_stub_status_becomes_numbers():
    assert lb_status.parse_stub_status(STUB_STATUS) == {
        "active": 3, "accepted": 120, "handled": 120, "requests": 456, "reading": 0, "writing": 1, "waiting": 2,
    }  # fmt: skip


def test_a_page_that_is_not_stub_status_is_an_error():
    try:
        lb_status.parse_stub_status("<html>404</html>")
    except ValueError as exc:
        assert "not an nginx stub_status page" in str(exc)
    else:
        raise AssertionError("no error")


def test_haproxy_servers_are_the_pools_servers_and_none_of_the_collections_own():
    servers = lb_status.haproxy_servers(haproxy_runtime.parse_stat_csv(SHOW_STAT))
    assert servers == [
        {"pool": "shop", "server": "be1", "state": "UP", "sessions": 1, "rate": 2, "total": 40, "response_ms": 4,
         "check": "L7OK", "weight": 1},
        {"pool": "shop", "server": "be2", "state": "DOWN", "sessions": 0, "rate": 0, "total": 38, "response_ms": 0,
         "check": "L4CON", "weight": 1},
    ]  # fmt: skip


def test_held_addresses_come_without_prefix_lengths():
    held = lb_status.held_addresses(IP_ADDR)
    assert held == ["127.0.0.1", "172.29.10.11", "172.29.10.100", "fe80::42:acff:fe1d:a0b"]


def test_host_load_reads_proc():
    meminfo = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   12288000 kB\n"
    assert lb_status.host_load("0.52 0.48 0.40 2/300 12345\n", meminfo) == {
        "load": [0.52, 0.48, 0.40], "mem_total_mb": 24000, "mem_available_mb": 12000,
    }  # fmt: skip


def test_file_summary_is_the_sha256_and_age_or_none(tmp_path):
    path = tmp_path / "haproxy.cfg"
    path.write_text("global\n")
    summary = lb_status.file_summary(str(path), path.stat().st_mtime + 7)
    assert summary == {"sha256": hashlib.sha256(b"global\n").hexdigest(), "age_s": 7}
    assert lb_status.file_summary(str(tmp_path / "missing.cfg"), 0) is None


def test_nginx_servers_are_the_probes_of_each_pool_in_order():
    pools = [{"name": "shop", "servers": [{"name": "be1"}, {"name": "be2"}]}]
    probes = [
        {"name": "be1", "healthy": True, "latency_ms": {"median": 1.5}, "top_failure": None},
        {"name": "be2", "healthy": False, "latency_ms": None, "top_failure": "refused"},
    ]
    servers = lb_status.nginx_servers(pools, probes)
    assert [(s["pool"], s["server"], s["state"], s["response_ms"], s["check"], s["sessions"]) for s in servers] == [
        ("shop", "be1", "UP", 1.5, "probe ok", None),
        ("shop", "be2", "DOWN", None, "refused", None),
    ]


def _node(vips_held, sha="a" * 64):
    return {
        "engine": "haproxy", "engine_active": True, "keepalived_active": True, "vips": ["192.0.2.100"],
        "vips_held": vips_held, "config": {"sha256": sha, "age_s": 30}, "host": {"load": [0.1, 0.2, 0.3]},
        "servers": [{"pool": "shop", "server": "be1", "state": "UP", "sessions": 0, "rate": 0, "total": 5,
                     "response_ms": 2, "check": "L7OK", "weight": 1}],
    }  # fmt: skip


def test_the_table_says_who_holds_the_vip_and_whether_configs_agree():
    table = lb_status.status_table({"lb1": _node(["192.0.2.100"]), "lb2": _node([])}, {}, ["192.0.2.100"])
    assert "VIP 192.0.2.100 held by lb1 (OK)" in table
    assert "config the same on every node" in table
    assert "lb1   haproxy  up     up    192.0.2.100  aaaaaaaa  30     0.10/0.20/0.30" in table
    assert "lb2   shop  be1     UP     0         0       2        L7OK" in table


def test_the_table_says_loudly_when_two_nodes_or_none_hold_a_vip_or_configs_differ():
    split = lb_status.status_table(
        {"lb1": _node(["192.0.2.100"]), "lb2": _node(["192.0.2.100"], sha="b" * 64)}, {}, ["192.0.2.100"]
    )
    assert "VIP 192.0.2.100 held by lb1, lb2 (SPLIT BRAIN)" in split
    assert "config DIFFERS between nodes" in split
    nobody = lb_status.status_table({"lb1": _node([]), "lb2": {"unreachable": True}}, {}, ["192.0.2.100"])
    assert "VIP 192.0.2.100 held by no node (NOBODY)" in nobody
    assert re.search(r"\nlb2 +- +UNREACHABLE", nobody), nobody
    assert "config the same on every node that answered" in nobody


def test_the_table_lists_each_backend_hosts_load():
    table = lb_status.status_table({"lb1": _node(["192.0.2.100"])}, {"be1": {"load": [1.0, 0.5, 0.25],
                                   "mem_total_mb": 2000, "mem_available_mb": 1500}}, ["192.0.2.100"])  # fmt: skip
    assert "be1           1.00/0.50/0.25  1500         2000" in table
