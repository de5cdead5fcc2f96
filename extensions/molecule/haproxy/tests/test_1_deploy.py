"""The converged pair: services up, config valid, VIP on one node, traffic
spread over every backend."""

# Send one command to HAProxy's runtime API (the lab image has no socat).
ASK_RUNTIME_API = (
    "python3 -c \"import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); "
    "s.sendall(sys.argv[1].encode() + b'\\n'); print(s.makefile().read())\" %s"
)


def test_haproxy_config_is_valid_and_serving(scenario):
    for name in scenario.lbs:
        host = scenario.host(name)
        check = host.run("haproxy -c -f /etc/haproxy/haproxy.cfg")
        assert check.rc == 0, f"{name}: {check.stdout}{check.stderr}"
        service = host.service("haproxy")
        assert service.is_running and service.is_enabled, name
        assert host.socket(f"tcp://0.0.0.0:{scenario.port}").is_listening, name


def test_runtime_api_socket_is_root_only(scenario):
    for name in scenario.lbs:
        sock = scenario.host(name).file("/run/haproxy/admin.sock")
        assert sock.is_socket, name
        assert (sock.user, sock.group, sock.mode) == ("root", "root", 0o600), name
        stats = scenario.host(name).run(ASK_RUNTIME_API, "show servers state")
        assert stats.rc == 0 and "be1" in stats.stdout, stats.stdout + stats.stderr


def test_keepalived_running_with_tracking(scenario):
    for name in scenario.lbs:
        host = scenario.host(name)
        service = host.service("keepalived")
        assert service.is_running and service.is_enabled, name
        conf = host.file("/etc/keepalived/keepalived.conf").content_string
        assert 'script "/usr/bin/systemctl is-active --quiet haproxy.service"' in conf
        # Script security must not have disabled the track script.
        log = host.run("journalctl -u keepalived --no-pager").stdout
        assert "SECURITY VIOLATION" not in log, log
        assert "VRRP_Script(halb_script_haproxy_service) succeeded" in log, log


def test_backends_answer_health(scenario):
    for name in scenario.backends:
        out = scenario.host(name).run("curl -fsS http://127.0.0.1:8080/health")
        assert out.rc == 0 and name in out.stdout, out.stdout + out.stderr


def test_exactly_one_node_holds_the_vip(scenario):
    owner = scenario.wait_owner()
    # The highest priority node (lb1) wins the election.
    assert owner == scenario.lbs[0]


def test_round_robin_reaches_every_backend(scenario):
    counts = scenario.spread(10 * len(scenario.backends))
    assert set(counts) == set(scenario.backends), counts
    # Round robin over equal weights: an even split.
    assert max(counts.values()) - min(counts.values()) <= 1, counts
