"""Reloads, for either engine: a broken config never replaces the running
one, and the reload says so loudly (nginx -s reload alone exits 0 on a bad
config: the unit checks first), while the VIP keeps serving."""

CONFIG_PATH = {"haproxy": "/etc/haproxy/haproxy.cfg", "nginx": "/etc/nginx/nginx.conf"}


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
