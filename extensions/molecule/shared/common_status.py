"""The status playbook against the converged scenario, for either engine:
one table and its JSON, in check mode too, with every node, VIP and
backend server in it."""

import json
import os

from failover_lib import REPO

STATUS = os.path.join(REPO, "playbooks", "status.yml")


def _status(scenario, tmp_path, *options):
    path = str(tmp_path / "status.json")
    out = scenario.playbook(STATUS, "status_output=%s" % path, options=options, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    with open(path) as handle:
        return out.stdout, json.load(handle)


def test_status_shows_one_vip_holder_the_same_config_and_every_server_up(scenario, tmp_path):
    table, data = _status(scenario, tmp_path, "--check")  # changes nothing, so check mode answers the same
    holder = scenario.wait_owner()
    assert "VIP %s held by %s (OK)" % (scenario.vip, holder) in table, table[-3000:]
    assert "config the same on every node" in table
    nodes = data["nodes"]
    assert sorted(nodes) == sorted(scenario.lbs)
    for name, node in nodes.items():
        assert node["engine"] == scenario.engine and node["engine_active"] and node["keepalived_active"], name
        assert node["vips_held"] == ([scenario.vip] if name == holder else []), name
        assert node["errors"] == [] and len(node["config"]["sha256"]) == 64, (name, node["errors"])
        servers = node["servers"]
        assert servers and all(server["state"] == "UP" for server in servers), (name, servers)
        assert all(server["response_ms"] is not None for server in servers if scenario.engine == "nginx"), servers
    assert sorted(data["backends"]) == sorted(scenario.backends)
    assert all(len(host["load"]) == 3 and host["mem_total_mb"] > 0 for host in data["backends"].values())


def _count(node, engine):
    if engine == "nginx":
        # nginx counts requests for the whole node (stub_status), keepalived's
        # health polls included; HAProxy per server, client requests only.
        return node["engine_stats"]["requests"]
    return sum(server["total"] for server in node["servers"])


def test_status_counts_the_requests_through_the_vip_on_the_holder_only(scenario, tmp_path):
    holder = scenario.wait_owner()
    _table, before = _status(scenario, tmp_path)
    scenario.spread(100)
    _table, after = _status(scenario, tmp_path)
    grew = dict((name, _count(after["nodes"][name], scenario.engine) - _count(before["nodes"][name], scenario.engine))
                for name in scenario.lbs)  # fmt: skip
    others = max(grew[name] for name in scenario.lbs if name != holder)
    # The holder saw the 100 requests; the others only what the holder's own
    # health polls also were (nginx), give or take a second of them.
    assert grew[holder] - others >= 75, grew
