"""Engine facts live once, in engine_facts: every other part of the
collection uses those very objects instead of a copy of its own."""

import glob
import os
import re

import pytest
import yaml

from ansible_collections.halb.loadbalancer.plugins.module_utils import (
    backend_probe,
    engine_facts,
    lb_spec,
    render_haproxy,
    render_nginx,
)
from ansible_collections.halb.loadbalancer.plugins.modules import haproxy_server, lb_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")


def spec(maxconn=4096):
    return lb_spec.parse(
        {
            "pools": [{"name": "shop", "servers": [{"address": "192.0.2.11", "port": 8080}]}],
            "frontends": [{"name": "www", "port": 80, "pool": "shop"}],
            "maxconn": maxconn,
        },
        "haproxy",
    )


# --- one source -----------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (lb_spec, "ENGINES"),
        (lb_spec, "STRATEGIES"),
        (lb_spec, "STRATEGY_ALIASES"),
        (lb_spec, "WEIGHT_RANGE"),
        (render_haproxy, "endpoint"),
        (render_haproxy, "HEALTH_PATH"),
        (render_nginx, "endpoint"),
        (render_nginx, "HEALTH_PATH"),
        (render_nginx, "nofile_limit"),
        (backend_probe, "endpoint"),
        (haproxy_server, "WEIGHT_RANGE"),
    ],
)
def test_modules_use_the_engine_facts_objects(module, name):
    assert getattr(module, name) is getattr(engine_facts, name)


def test_no_module_keeps_a_copy_of_a_fact():
    """No second endpoint(), health path or weight table in the sources."""
    sources = []
    for pattern in ("plugins/module_utils/*.py", "plugins/modules/*.py"):
        sources += glob.glob(os.path.join(ROOT, pattern))
    assert sources
    for path in sources:
        if os.path.basename(path) == "engine_facts.py":
            continue
        with open(path) as handle:
            text = handle.read()
        code = re.sub(r'(?s)(DOCUMENTATION|EXAMPLES|RETURN) = r?""".*?"""', "", text)
        where = os.path.relpath(path, ROOT)
        assert "def endpoint(" not in code, where
        assert '"%s' % engine_facts.HEALTH_PATH not in code and " %s" % engine_facts.HEALTH_PATH not in code, where
        assert not re.search(r"\{\s*\"haproxy\":\s*\(?\d", code), "%s: a table of engine numbers" % where
        assert not re.search(r"<=?\s*256\b|\b256\s*<=?", code), "%s: HAProxy's top weight written out" % where


def test_strategy_aliases_name_strategies():
    assert set(engine_facts.STRATEGY_ALIASES.values()) <= set(engine_facts.STRATEGIES)
    assert not set(engine_facts.STRATEGY_ALIASES) & set(engine_facts.STRATEGIES)


@pytest.mark.parametrize("engine", engine_facts.ENGINES)
def test_spec_weights_follow_the_weight_range(engine):
    low, high = engine_facts.WEIGHT_RANGE[engine]
    data = {
        "pools": [{"name": "shop", "servers": [{"address": "192.0.2.11", "port": 8080, "weight": high}]}],
        "frontends": [{"pool": "shop"}],
    }
    assert lb_spec.parse(data, engine).pools[0].servers[0].weight == high
    data["pools"][0]["servers"][0]["weight"] = high + 1
    with pytest.raises(lb_spec.SpecError, match=r"out of range for %s \(%d-%d\)" % (engine, low, high)):
        lb_spec.parse(data, engine)


# --- health path ----------------------------------------------------------


def test_haproxy_renders_the_health_path(monkeypatch):
    text = render_haproxy.render(spec(), health_listen="127.0.0.1:8901")
    assert "    monitor-uri %s\n" % engine_facts.HEALTH_PATH in text
    # Nothing else decides the path: change the fact, the config follows.
    monkeypatch.setattr(render_haproxy, "HEALTH_PATH", "/other-health")
    assert "    monitor-uri /other-health\n" in render_haproxy.render(spec(), health_listen="127.0.0.1:8901")


def test_nginx_renders_the_health_path(monkeypatch):
    text = render_nginx.render(spec(), health_listen="127.0.0.1:8901")
    assert "        location = %s {\n" % engine_facts.HEALTH_PATH in text
    monkeypatch.setattr(render_nginx, "HEALTH_PATH", "/other-health")
    assert "        location = /other-health {\n" in render_nginx.render(spec(), health_listen="127.0.0.1:8901")


# --- endpoint ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "port", "expected"),
    [
        ("192.0.2.1", 80, "192.0.2.1:80"),
        ("2001:db8::1", 8080, "[2001:db8::1]:8080"),
        ("::1", 443, "[::1]:443"),
        ("[2001:db8::1]", 8080, "[2001:db8::1]:8080"),
        ("web1.example.com", 443, "web1.example.com:443"),
        ("localhost", 1, "localhost:1"),
    ],
)
def test_endpoint(address, port, expected):
    assert engine_facts.endpoint(address, port) == expected


@pytest.mark.parametrize("render", [render_haproxy.render, render_nginx.render])
def test_renderers_write_ipv6_servers_in_brackets(render):
    data = {
        "pools": [{"name": "shop", "servers": [{"address": "2001:db8::11", "port": 8080}]}],
        "frontends": [{"pool": "shop", "bind": "2001:db8::1", "port": 8443}],
    }
    text = render(lb_spec.parse(data, "haproxy" if render is render_haproxy.render else "nginx"))
    assert "[2001:db8::11]:8080" in text and "[2001:db8::1]:8443" in text


# --- open files -------------------------------------------------------------


@pytest.mark.parametrize(("maxconn", "limit"), [(1, 1026), (4096, 9216), (engine_facts.MAX_MAXCONN, 1001024)])
def test_nofile_limit(maxconn, limit):
    assert engine_facts.nofile_limit(maxconn) == limit


def test_nofile_limit_counts_two_descriptors_per_server():
    """HAProxy with 1,000 servers asked for more than 2 x maxconn + 1024
    (9244 of 9216) and would not start."""
    assert engine_facts.nofile_limit(4096, 1000) == 9216 + 2000


@pytest.mark.parametrize("servers", [-1, True, "3", None])
def test_nofile_limit_takes_a_server_count(servers):
    with pytest.raises(ValueError, match="servers must be a whole number of at least 0"):
        engine_facts.nofile_limit(4096, servers)


def test_largest_maxconn_fits_the_kernels_default_descriptor_ceiling():
    # fs.nr_open defaults to 1048576; systemd refuses a LimitNOFILE above it.
    assert engine_facts.nofile_limit(engine_facts.MAX_MAXCONN) <= 1048576


@pytest.mark.parametrize("maxconn", [0, -1, True, "4096", 4096.0, None])
def test_nofile_limit_takes_a_positive_int(maxconn):
    with pytest.raises(ValueError, match="maxconn must be a whole number of at least 1"):
        engine_facts.nofile_limit(maxconn)


@pytest.mark.parametrize("maxconn", [64, 4096, 250000])
def test_nginx_renders_the_nofile_limit_in_the_main_context(maxconn):
    text = render_nginx.render(spec(maxconn))
    main = text.split("\nevents {", maxsplit=1)[0]
    assert "\nworker_rlimit_nofile %d;\n" % engine_facts.nofile_limit(maxconn) in main
    assert text.count("worker_rlimit_nofile") == 1


def test_haproxy_sizes_its_own_file_limit():
    """HAProxy started as root derives ulimit-n from maxconn: nothing to render."""
    text = render_haproxy.render(spec(250000))
    assert "    maxconn 250000\n" in text
    assert "ulimit-n" not in text and "fd-hard-limit" not in text


def test_spec_maxconn_is_capped():
    assert spec(engine_facts.MAX_MAXCONN).maxconn == engine_facts.MAX_MAXCONN
    with pytest.raises(lb_spec.SpecError, match=r"^maxconn: 500001 is more than the %d " % engine_facts.MAX_MAXCONN):
        spec(engine_facts.MAX_MAXCONN + 1)


def test_nofile_limit_filter():
    from ansible.errors import AnsibleFilterError

    from ansible_collections.halb.loadbalancer.plugins.filter.lb_spec import FilterModule

    nofile = FilterModule().filters()["lb_nofile_limit"]
    assert nofile(4096) == engine_facts.nofile_limit(4096)
    assert nofile(" 4096 ") == engine_facts.nofile_limit(4096)  # templated
    for bad in ("many", True, 0, "-5", None):
        with pytest.raises(AnsibleFilterError, match=r"^lb_nofile_limit: maxconn must be a whole number"):
            nofile(bad)


def test_nofile_limit_filter_documentation():
    with open(os.path.join(ROOT, "plugins", "filter", "lb_nofile_limit.yml")) as handle:
        doc = yaml.safe_load(handle)
    assert doc["DOCUMENTATION"]["name"] == "lb_nofile_limit"
    assert doc["DOCUMENTATION"]["options"]["_input"]["type"] == "int"
    assert doc["RETURN"]["_value"]["type"] == "int"
    assert "lb_nofile_limit" in doc["EXAMPLES"]
    assert "2 x maxconn + %d" % engine_facts.NOFILE_HEADROOM in " ".join(doc["DOCUMENTATION"]["description"])


# --- documentation that has to spell the facts out ---------------------------
# Ansible reads DOCUMENTATION without running the module, so it cannot import
# the facts; these tests keep the text in step with them.


def test_haproxy_server_documents_the_weight_range():
    weight = yaml.safe_load(haproxy_server.DOCUMENTATION)["options"]["weight"]["description"]
    assert "from %d to %d" % engine_facts.WEIGHT_RANGE["haproxy"] in weight[0]


def test_lb_config_documents_the_facts():
    doc = yaml.safe_load(lb_config.DOCUMENTATION)
    assert doc["options"]["engine"]["choices"] == list(engine_facts.ENGINES)
    spec_text = " ".join(doc["options"]["spec"]["description"])
    for strategy in engine_facts.STRATEGIES + tuple(engine_facts.STRATEGY_ALIASES):
        assert "V(%s)" % strategy in spec_text
    assert (
        "Server weights are %d-%d for HAProxy and %d-%d for nginx"
        % (engine_facts.WEIGHT_RANGE["haproxy"] + engine_facts.WEIGHT_RANGE["nginx"])
        in spec_text
    )
    assert "at most %d" % engine_facts.MAX_MAXCONN in spec_text
    assert "2 x maxconn + %d" % engine_facts.NOFILE_HEADROOM in spec_text
    assert "C(%s)" % engine_facts.HEALTH_PATH in " ".join(doc["options"]["render_options"]["description"])


def _strategy_options(options, where):
    """(where, option) of every *_strategy option, suboptions included."""
    found = []
    for name, option in (options or {}).items():
        if not isinstance(option, dict):
            continue
        if name.endswith("_strategy"):
            found.append(("%s.%s" % (where, name), option))
        found += _strategy_options(option.get("options"), "%s.%s" % (where, name))
    return found


def test_role_strategy_choices_are_the_strategies():
    """Roles are restructured at times: read whatever is there now."""
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))):
        with open(path) as handle:
            specs = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
        role = path.split(os.sep)[-3]
        for entry, entry_spec in specs.items():
            found += _strategy_options((entry_spec or {}).get("options"), "%s:%s" % (role, entry))
    if not found:
        pytest.skip("no role has a *_strategy option")
    expected = sorted(engine_facts.STRATEGIES + tuple(engine_facts.STRATEGY_ALIASES))
    for where, option in found:
        assert sorted(option.get("choices") or []) == expected, where
