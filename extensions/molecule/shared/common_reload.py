"""Reloads, for either engine: a broken config never replaces the running
one, and the reload says so loudly (nginx -s reload alone exits 0 on a bad
config: the unit checks first), while the VIP keeps serving."""

CONFIG_PATH = {"haproxy": "/etc/haproxy/haproxy.cfg", "nginx": "/etc/nginx/nginx.conf"}
CHECK_CONFIG = {"haproxy": "haproxy -c -q -f {path}", "nginx": "nginx -t -q -c {path}"}


def test_reload_with_a_broken_config_fails_loudly_and_keeps_serving(scenario):
    master = scenario.wait_owner()
    host = scenario.host(master)
    path = CONFIG_PATH[scenario.engine]
    host.run_expect([0], f"cp -p {path} {path}.halb-test")
    try:
        host.run_expect([0], f"echo 'this is not a directive;' >> {path}")
        reload = host.run(f"systemctl reload {scenario.engine}")
        assert reload.rc != 0, f"a reload with a broken {path} succeeded: {reload.stdout}{reload.stderr}"
        assert host.service(scenario.engine).is_running
        counts = scenario.spread(10)
        assert sum(counts.values()) == 10, counts
    finally:
        host.run_expect([0], f"mv {path}.halb-test {path}")
    host.run_expect([0], f"systemctl reload {scenario.engine}")
    assert sum(scenario.spread(10).values()) == 10


def test_old_workers_are_bounded_after_a_reload(scenario):
    conf = scenario.host(scenario.lbs[0]).file(CONFIG_PATH[scenario.engine]).content_string
    bound = {"haproxy": "hard-stop-after 300000ms", "nginx": "worker_shutdown_timeout 300s;"}[scenario.engine]
    assert bound in conf


# A listener on a port another program holds: the config check passes (it
# binds nothing), the new worker cannot start.
BUSY_PORT = 8099
ADD_BUSY_LISTENER = {
    "haproxy": "printf 'listen halb_test_busy\\n    bind :%d\\n    mode tcp\\n' >> PATH" % BUSY_PORT,
    "nginx": "sed -i '0,/^http {/s//http {\\n    server { listen %d; return 204; }/' PATH" % BUSY_PORT,
}


def test_reload_whose_new_worker_cannot_start_fails_loudly_and_keeps_serving(scenario):
    master = scenario.wait_owner()
    host = scenario.host(master)
    path = CONFIG_PATH[scenario.engine]
    host.run_expect([0], f"systemd-run --unit halb-test-busy python3 -m http.server {BUSY_PORT}")
    host.run_expect([0], f"cp -p {path} {path}.halb-test")
    try:
        host.run_expect(
            [0],
            "for i in $(seq 50); do ss -Hltn sport = :%d | grep -q . && exit 0; sleep 0.1; done; exit 1" % BUSY_PORT,
        )
        host.run_expect([0], ADD_BUSY_LISTENER[scenario.engine].replace("PATH", path))
        assert host.run(CHECK_CONFIG[scenario.engine].format(path=path)).rc == 0, "the config check should pass"
        reload = host.run(f"systemctl reload {scenario.engine}")
        assert reload.rc != 0, f"a reload whose worker cannot bind :{BUSY_PORT} succeeded"
        journal = host.run(f"journalctl -u {scenario.engine} -n 30 --no-pager").stdout
        assert "no new worker" in journal, journal
        assert host.service(scenario.engine).is_running
        assert sum(scenario.spread(10).values()) == 10
    finally:
        host.run_expect([0], f"mv {path}.halb-test {path}")
        host.run("systemctl stop halb-test-busy")
    host.run_expect([0], f"systemctl reload {scenario.engine}")
    assert sum(scenario.spread(10).values()) == 10
