"""Spec paths renamed to the variables a role built the spec from, and the
lb_spec_errors filter that uses them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.halb.loadbalancer.plugins.filter.lb_spec import lb_spec_errors
from ansible_collections.halb.loadbalancer.plugins.module_utils.lb_spec import SpecError
from ansible_collections.halb.loadbalancer.plugins.plugin_utils import spec_paths

# The table the lb role passes for its simple variables.
LB_VAR_NAMES = {
    "pools[0].name": "lb_backend_name",
    "pools[0].strategy": "lb_strategy",
    "pools[0].servers": "lb_backend_servers",
    "pools[0].health_check.path": "lb_health_check_path",
    "pools[0].health_check.expected_status": "lb_health_check_status",
    "pools[0].health_check.interval": "lb_health_check_interval",
    "pools[0].health_check.timeout": "lb_health_check_timeout",
    "pools[0].health_check.fall": "lb_health_check_fall",
    "pools[0].health_check.rise": "lb_health_check_rise",
    "pools[0].keepalive": "lb_upstream_keepalive",
    "frontends[0].name": "lb_frontend_name",
    "frontends[0].bind": "lb_frontend_bind_address",
    "frontends[0].port": "lb_frontend_port",
    "frontends[0].pool": "lb_backend_name",
    "timeouts.connect": "lb_timeout_connect",
    "timeouts.client": "lb_timeout_client",
    "timeouts.server": "lb_timeout_server",
    "timeouts.http_request": "lb_timeout_http_request",
    "retries": "lb_retries",
    "redispatch": "lb_redispatch",
    "maxconn": "lb_maxconn",
}


@pytest.mark.parametrize(
    ("path", "var_names", "prefix", "expected"),
    [
        ("pools[0].servers[2].port", LB_VAR_NAMES, "", "lb_backend_servers[2].port"),
        ("pools[0].servers", LB_VAR_NAMES, "", "lb_backend_servers"),  # the end of the path is a boundary
        ("pools[0].strategy", LB_VAR_NAMES, "", "lb_strategy"),
        ("pools[0].health_check.path", LB_VAR_NAMES, "", "lb_health_check_path"),
        ("frontends[0].pool", LB_VAR_NAMES, "", "lb_backend_name"),
        ("timeouts.http_request", LB_VAR_NAMES, "", "lb_timeout_http_request"),
        ("maxconn", LB_VAR_NAMES, "", "lb_maxconn"),
        # The longest matching prefix wins.
        ("pools[0].servers[1].name", {"pools[0]": "p", "pools[0].servers": "s"}, "", "s[1].name"),
        ("pools[0].servers[1].name", {"pools[0]": "p"}, "", "p.servers[1].name"),
        ("pools[0].servers[1].name", {"pools[0].servers[1]": "first", "pools[0].servers": "s"}, "", "first.name"),
        # A match must end at a boundary: no rename of a longer field name.
        ("pools[0].servers_x", {"pools[0].servers": "lb_backend_servers"}, "", "pools[0].servers_x"),
        ("pools[0].servers_x", {"pools[0].servers": "lb_backend_servers"}, "lb_spec.", "lb_spec.pools[0].servers_x"),
        ("pools[10].name", {"pools[1]": "second"}, "", "pools[10].name"),
        ("maxconnections", {"maxconn": "lb_maxconn"}, "", "maxconnections"),
        # No match: prefix in front.
        ("pools[1].name", LB_VAR_NAMES, "lb_spec.", "lb_spec.pools[1].name"),
        ("frontends[0].tls.certificate", LB_VAR_NAMES, "lb_spec.", "lb_spec.frontends[0].tls.certificate"),
        ("pools[0].servers[2].port", {}, "lb_spec.", "lb_spec.pools[0].servers[2].port"),
        ("pools[0].servers[2].port", None, "", "pools[0].servers[2].port"),
        # The spec as a whole.
        ("spec", {}, "lb_spec.", "lb_spec"),
        ("spec", {}, "", "spec"),
        ("", {}, "lb_spec.", "lb_spec"),
    ],
)
def test_var_path(path, var_names, prefix, expected):
    assert spec_paths.var_path(path, var_names, prefix) == expected


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            SpecError("pools[0].servers[2].port", "70000 is not a TCP port (1-65535)"),
            "lb_backend_servers[2].port: 70000 is not a TCP port (1-65535)",
        ),
        (
            SpecError("timeouts.connect", "'5 seconds' is not a duration", "Write e.g. 500ms, 5s or 1m"),
            "lb_timeout_connect: '5 seconds' is not a duration. Write e.g. 500ms, 5s or 1m",
        ),
        (SpecError("spec", "expected a mapping, got list"), "lb_spec: expected a mapping, got list"),
        (SpecError("", "no path"), "lb_spec: no path"),
        (ValueError("not a SpecError"), "lb_spec: not a SpecError"),
    ],
)
def test_error_message(exc, expected):
    assert spec_paths.error_message(exc, LB_VAR_NAMES, "lb_spec.") == expected


def simple_spec(port=8080, **pool):
    return {
        "pools": [{"name": "shop", "servers": [{"address": "192.0.2.11", "port": port}], **pool}],
        "frontends": [{"port": 80, "pool": "shop"}],
    }


def test_filter_without_names_keeps_the_spec_path():
    assert lb_spec_errors(simple_spec(70000), "haproxy") == [
        "pools[0].servers[0].port: 70000 is not a TCP port (1-65535)"
    ]
    assert lb_spec_errors(simple_spec(), "nginx") == []


@pytest.mark.parametrize(
    ("spec", "prefix", "expected"),
    [
        (simple_spec(70000), "", "lb_backend_servers[0].port: 70000 is not a TCP port (1-65535)"),
        (simple_spec(strategy="fastest"), "", "lb_strategy: "),
        (simple_spec(servers=[]), "", "lb_backend_servers: the pool is empty. List at least one server"),
        (dict(simple_spec(), maxconn=0), "", "lb_maxconn: 0 "),
        (dict(simple_spec(), timeouts={"tunnel": "forever"}), "lb_spec.", "lb_spec.timeouts.tunnel: 'forever'"),
        ([], "lb_spec.", "lb_spec: expected a mapping"),
    ],
)
def test_filter_names_the_variables(spec, prefix, expected):
    (error,) = lb_spec_errors(spec, "haproxy", prefix, LB_VAR_NAMES)
    assert error.startswith(expected), error


def test_filter_keyword_arguments_as_in_jinja():
    errors = lb_spec_errors(simple_spec(0), "nginx", prefix="lb_spec.", var_names={"pools[0]": "lb_pool"})
    assert errors == ["lb_pool.servers[0].port: 0 is not a TCP port (1-65535)"]


def test_filter_rejects_a_var_names_that_is_no_dict():
    with pytest.raises(AnsibleFilterError, match="var_names must be a dict"):
        lb_spec_errors(simple_spec(), "haproxy", "", ["pools[0].servers"])
