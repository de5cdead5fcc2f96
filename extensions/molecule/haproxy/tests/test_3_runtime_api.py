"""The collection's own modules against the converged pair: drain a backend
through HAProxy's runtime API and see traffic leave it, then come back;
probe the backends from the load balancer."""

import json
import os

import testinfra


def ansible_host(name):
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, os.environ["MOLECULE_INVENTORY_FILE"]))


def run(name, module, args):
    return ansible_host(name).ansible("halb.loadbalancer." + module, json.dumps(args), check=False)


def haproxy_server(name, **args):
    return run(name, "haproxy_server", args)


def test_drain_moves_traffic_off_a_backend_and_back(scenario):
    master = scenario.wait_owner()
    drained_backend = scenario.backends[0]
    first = haproxy_server(master, backend="halb_pool", server="be1", state="drain", wait=True, wait_timeout=20)
    assert first["changed"] is True, first
    assert first["sessions"] == 0
    again = haproxy_server(master, backend="halb_pool", server="be1", state="drain")
    assert again["changed"] is False, again
    counts = scenario.spread(30, "/orders")
    assert counts[drained_backend] == 0, counts
    assert sum(counts.values()) == 30
    back = haproxy_server(master, backend="halb_pool", server="be1", state="ready")
    assert back["changed"] is True
    assert scenario.spread(30, "/orders")[drained_backend] > 0


def test_backend_verify_from_the_load_balancer(scenario):
    servers = [{"name": "be%d" % (i + 1), "address": "172.29.11.%d" % (21 + i), "port": 8080} for i in range(2)]
    result = run(scenario.lbs[0], "backend_verify", {"servers": servers, "probes": 5})
    assert result["healthy"] == 2, result
    for server in result["servers"]:
        assert server["latency_ms"]["p95"] >= server["latency_ms"]["median"] >= server["latency_ms"]["min"] > 0
