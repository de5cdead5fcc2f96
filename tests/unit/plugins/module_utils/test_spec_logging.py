"""The spec's logging section: format and remote syslog, checked before any
host is touched; the JSON schema both engines write."""

import json

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec, spec_logging

BASE = {
    "pools": [{"name": "app", "servers": [{"name": "be1", "address": "192.0.2.5", "port": 80}]}],
    "frontends": [{"name": "www", "port": 80, "pool": "app"}],
}


def _parse(logging, engine="haproxy"):
    return lb_spec.parse(dict(BASE, logging=logging), engine).logging


def test_json_is_the_default_and_no_remote_server():
    assert lb_spec.parse(BASE, "nginx").logging == spec_logging.Logging(format="json", syslog=None)


def test_a_remote_syslog_server_defaults_to_port_514():
    assert _parse({"syslog": {"address": "2001:db8::50"}}).syslog == spec_logging.Syslog("2001:db8::50", 514)
    assert _parse({"format": "text", "syslog": {"address": "Logs.example.net", "port": 1514}}) == (
        spec_logging.Logging("text", spec_logging.Syslog("logs.example.net", 1514))
    )


@pytest.mark.parametrize(
    "logging, message",
    [
        ({"format": "JSON"}, r"logging\.format: unknown format 'JSON'.*Use json .* or text"),
        ({"format": "json\n"}, r"logging\.format: unknown format"),
        ({"level": "all"}, r"logging\.level: unknown field.*Known fields here: format, syslog"),
        ("json", r"logging: expected a mapping"),
        ({"syslog": {"port": 514}}, r"logging\.syslog\.address: missing.*Name the syslog server"),
        ({"syslog": {"address": "192.0.2.50;"}}, r"logging\.syslog\.address: .* is neither an IP address"),
        ({"syslog": {"address": "logs\nexample"}}, r"logging\.syslog\.address: "),
        ({"syslog": {"address": "192.0.2.50", "port": 0}}, r"logging\.syslog\.port: "),
        ({"syslog": {"address": "192.0.2.50", "port": "514;"}}, r"logging\.syslog\.port: "),
        ({"syslog": {"address": "192.0.2.50", "proto": "tcp"}}, r"logging\.syslog\.proto: unknown field"),
    ],
)
def test_bad_logging_names_the_field_and_the_fix(logging, message):
    with pytest.raises(lb_spec.SpecError, match=message):
        _parse(logging)


def test_the_json_formats_are_json_once_filled_in():
    """Every field is a quoted string or a bare number once the engine
    replaces its variables; names and order are the same for both."""
    for build, fields in (
        (spec_logging.haproxy_http_format, [(n, h, q) for n, h, _x, q in spec_logging.HTTP_FIELDS]),
        (spec_logging.nginx_http_format, [(n, x, q) for n, _h, x, q in spec_logging.HTTP_FIELDS]),
        (spec_logging.haproxy_tcp_format, spec_logging.TCP_FIELDS),
    ):
        text = build()
        for _name, expr, quoted in fields:
            text = text.replace(expr, "x" if quoted else "1", 1)
        assert list(json.loads(text)) == [name for name, _expr, _quoted in fields]
