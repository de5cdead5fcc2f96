"""The lb role's settings that reach a config file or a command line
outside the spec (lb_setting_errors): the health URL address and HAProxy's
runtime socket. Each bad value
is named with its variable and the fix, before any host is touched."""

import pytest

from ansible_collections.halb.loadbalancer.plugins.filter.lb_spec import lb_setting_errors
from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec

GOOD = {
    "health_listen": "127.0.0.1:8901",
    "runtime_socket": "/run/haproxy/admin.sock",
}


def errors(**changed):
    settings = dict(GOOD, **changed)
    return lb_setting_errors(settings["health_listen"], settings["runtime_socket"])


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"health_listen": ""},
        {"health_listen": "[::1]:8901"},
        {"health_listen": "10.0.0.5:8901"},  # a management address
        {"health_listen": "127.0.0.53:65535"},
        {"runtime_socket": "/run/haproxy-2/admin@lb.sock"},
    ],
)
def test_sound_settings_pass(settings):
    assert errors(**settings) == []


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"health_listen": "127.0.0.1:8901\n  bind *:9999"},
            "lb_health_listen: '127.0.0.1:8901\\n  bind *:9999' is not an IP address and port. Write e.g. "
            "127.0.0.1:8901 or [::1]:8901",
        ),
        ({"health_listen": "127.0.0.1:8901;"}, "lb_health_listen: '127.0.0.1:8901;' is not an IP address and port"),
        ({"health_listen": "127.0.0.1"}, "lb_health_listen: '127.0.0.1' is not an IP address and port"),
        ({"health_listen": "::1:8901"}, "lb_health_listen: '::1:8901' is not an IP address and port"),
        ({"health_listen": "localhost:8901"}, "lb_health_listen: 'localhost:8901' is not an IP address and port"),
        ({"health_listen": "127.0.0.1:0"}, "lb_health_listen: '127.0.0.1:0' is not an IP address and port"),
        ({"health_listen": "127.0.0.1:65536"}, "lb_health_listen: '127.0.0.1:65536' is not an IP address and port"),
        ({"health_listen": "127.0.0.1:+80"}, "lb_health_listen: '127.0.0.1:+80' is not an IP address and port"),
        ({"health_listen": "[fe80::1%eth0]:8901"}, "lb_health_listen: '[fe80::1%eth0]:8901' is not an IP address"),
        ({"health_listen": 8901}, "lb_health_listen: 8901 is not an IP address and port"),
        (
            {"runtime_socket": "/run/haproxy/admin.sock level user\n  stats socket /tmp/open.sock"},
            "lb_haproxy_runtime_socket: '/run/haproxy/admin.sock level user\\n  stats socket /tmp/open.sock' has "
            "characters a config file cannot take as they are. Use an absolute path of letters, digits and "
            "/ . _ - + @ only, e.g. /run/haproxy/admin.sock",
        ),
        ({"runtime_socket": "admin.sock"}, "lb_haproxy_runtime_socket: 'admin.sock' is not an absolute path"),
        ({"runtime_socket": "/run/../tmp/a.sock"}, "lb_haproxy_runtime_socket: '/run/../tmp/a.sock' has a '..'"),
    ],
)
def test_bad_settings_are_named_with_the_fix(settings, expected):
    (error,) = errors(**settings)
    assert error.startswith(expected), error


def test_every_bad_setting_is_reported_at_once():
    found = errors(health_listen="x", runtime_socket="x")
    assert [e.split(":", 1)[0] for e in found] == ["lb_health_listen", "lb_haproxy_runtime_socket"]


def test_listen_address_returns_the_address_and_port():
    assert lb_spec.listen_address("[::1]:8901", "x") == ("::1", 8901)
    assert lb_spec.listen_address("127.0.0.1:5514", "x") == ("127.0.0.1", 5514)


METRICS = {
    "listen": "0.0.0.0:9101",
    "allow": ["127.0.0.0/8", "::1/128", "10.0.0.5/32"],
    "node_exporter": "127.0.0.1:9100",
    "nginx_exporter": "127.0.0.1:9113",
    "textfile_dir": "/run/halb/metrics",
}


def metrics_errors(engine="haproxy", health_listen="127.0.0.1:8901", **changed):
    return lb_setting_errors(health_listen, GOOD["runtime_socket"], metrics=dict(METRICS, **changed), engine=engine)


@pytest.mark.parametrize(
    "changed",
    [{}, {"listen": "[::1]:9101"}, {"node_exporter": ""}, {"listen": "", "allow": [], "textfile_dir": "x"}],
)
def test_sound_metrics_settings_pass(changed):
    """Off (listen empty) checks nothing else; no node exporter is allowed."""
    assert metrics_errors(engine="nginx", **changed) == []


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"listen": "*:9101"}, "lb_metrics_listen: '*:9101' is not an IP address and port"),
        ({"listen": "127.0.0.1:9101\n"}, "lb_metrics_listen: "),
        ({"allow": []}, "lb_metrics_allow: is empty or not a list. List the networks that may scrape"),
        ({"allow": "127.0.0.0/8"}, "lb_metrics_allow: is empty or not a list"),
        ({"allow": ["127.0.0.0/8", "10.0.0.0/8; allow all"]}, "lb_metrics_allow[1]: '10.0.0.0/8; allow all' is not"),
        ({"node_exporter": "localhost:9100"}, "lb_metrics_node_exporter_listen: 'localhost:9100' is not an IP"),
        ({"nginx_exporter": "127.0.0.1"}, "lb_metrics_nginx_exporter_listen: '127.0.0.1' is not an IP address"),
        ({"textfile_dir": "/run/halb metrics"}, "lb_metrics_textfile_dir: "),
    ],
)
def test_bad_metrics_settings_are_named(changed, expected):
    (error,) = metrics_errors(**changed)
    assert error.startswith(expected), error


def test_nginx_metrics_need_the_health_listener():
    (error,) = metrics_errors(engine="nginx", health_listen="")
    assert error.startswith("lb_health_listen: is empty, but nginx's exporter reads stub_status there"), error
    assert metrics_errors(engine="haproxy", health_listen="") == []
