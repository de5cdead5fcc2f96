"""Renderers: golden files for representative specs, and property tests
that any valid spec renders a config the real engine accepts."""

import os
import tempfile

import pytest
import yaml
from engines import check, make_cert
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec, render_haproxy, render_nginx, tls_policy

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
CASES = sorted(name[: -len(".spec.yml")] for name in os.listdir(GOLDEN) if name.endswith(".spec.yml"))
OUTPUT = {"haproxy": ("haproxy.cfg", render_haproxy.render), "nginx": ("nginx.conf", render_nginx.render)}


def load_case(name):
    with open(os.path.join(GOLDEN, name + ".spec.yml")) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("engine", lb_spec.ENGINES)
@pytest.mark.parametrize("case", CASES)
def test_golden(case, engine):
    spec = lb_spec.parse(load_case(case), engine)
    suffix, render = OUTPUT[engine]
    text = render(spec)
    golden = os.path.join(GOLDEN, "%s.%s" % (case, suffix))
    if os.environ.get("HALB_UPDATE_GOLDEN"):
        with open(golden, "w") as handle:
            handle.write(text)
    with open(golden) as handle:
        assert text == handle.read(), "render changed; review and rerun with HALB_UPDATE_GOLDEN=1"
    assert render(spec) == text  # deterministic


@pytest.mark.parametrize("engine", lb_spec.ENGINES)
@pytest.mark.parametrize("case", CASES)
def test_golden_is_accepted_by_engine(case, engine, tmp_path):
    data = load_case(case)
    for fe in data["frontends"]:
        if fe.get("tls"):
            fe["tls"] = {"certificate": make_cert(str(tmp_path))}
    rc, output, _config = check(engine, lb_spec.parse(data, engine), str(tmp_path))
    assert rc == 0, output


def test_engine_rejects_a_broken_config(tmp_path):
    """The check itself can fail: a certificate file that does not exist."""
    data = load_case(CASES[0])
    data["frontends"][0]["tls"] = {"certificate": str(tmp_path / "missing.pem")}
    for engine in lb_spec.ENGINES:
        rc, output, _config = check(engine, lb_spec.parse(data, engine), str(tmp_path))
        assert rc != 0 and "missing.pem" in output, output


# --- property tests -------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
durations = st.one_of(st.integers(1, 600).map(lambda n: "%ds" % n), st.integers(100, 60000).map(lambda n: "%dms" % n))


@st.composite
def servers(draw, count):
    hosts = draw(st.lists(st.integers(1, 254), min_size=count, max_size=count, unique=True))
    v6 = draw(st.booleans())
    out = []
    for i, host in enumerate(hosts):
        server = {
            "name": "s%d" % i,
            "address": ("2001:db8::%x" % host) if v6 else ("192.0.2.%d" % host),
            "port": draw(st.integers(1, 65535)),
            "weight": draw(st.integers(1, 256)),
            "backup": draw(st.booleans()) if i else False,  # the first server is always active
            "max_fails": draw(st.integers(0, 10)),
            "fail_timeout": "%ds" % draw(st.integers(1, 300)),
        }
        out.append(server)
    return out


@st.composite
def specs(draw):
    pool_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    pools = []
    for name in pool_names:
        count = draw(st.integers(1, 5))
        pools.append(
            {
                "name": name,
                "strategy": draw(st.sampled_from(lb_spec.STRATEGIES + tuple(lb_spec.STRATEGY_ALIASES))),
                "servers": draw(servers(count)),
                "keepalive": draw(st.integers(0, 64)),
                "health_check": {
                    "enabled": draw(st.booleans()),
                    "path": draw(st.sampled_from(["/health", "/", "/status/ok"])),
                    "expected_status": draw(st.sampled_from([200, 204, 301])),
                    "interval": draw(st.sampled_from(["500ms", "2s", "10s"])),
                    "fall": draw(st.integers(1, 5)),
                    "rise": draw(st.integers(1, 5)),
                },
            }
        )
    # Each pool serves one mode; frontends use pools of their own mode.
    # fastest_response measures HTTP response times: HTTP pools only.
    modes = {
        pool["name"]: "http"
        if pool["strategy"] == "fastest_response"
        else draw(st.sampled_from(["http", "http", "tcp"]))
        for pool in pools
    }
    ports = draw(st.lists(st.integers(1024, 65000), min_size=1, max_size=3, unique=True))
    frontends = []
    for i, port in enumerate(ports):
        pool = draw(st.sampled_from(pool_names))
        mode = modes[pool]
        fe = {
            "name": "fe%d" % i,
            "port": port,
            "mode": mode,
            "pool": pool,
            "bind": draw(st.sampled_from(["*", "::", "127.0.0.1"])),
            "acl": {
                "allow": draw(
                    st.lists(st.sampled_from(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"]), max_size=2, unique=True)
                ),
                "deny": draw(st.lists(st.sampled_from(["10.9.0.0/16", "203.0.113.7"]), max_size=2, unique=True)),
            },
            "tls": draw(st.booleans()),
        }
        if mode == "http":
            same_mode = [p for p in pool_names if modes[p] == "http"]
            fe["rate_limit"] = draw(st.sampled_from([0, 10, 500]))
            fe["cache"] = draw(
                st.sampled_from(
                    [
                        False,
                        True,
                        {"size_mb": 8, "ttl": "30s"},
                        {"bypass_cookies": "none"},
                        {"bypass_cookies": ["sessionid", "cart-id", "_shop_session"]},
                    ]
                )
            )
            fe["websocket"] = draw(st.booleans())
            fe["routes"] = [
                {"path_prefix": "/r%d" % j, "pool": p}
                for j, p in enumerate(draw(st.lists(st.sampled_from(same_mode), max_size=2)))
            ]
        frontends.append(fe)
    # A wildcard and a specific bind on one port would clash; keep ports unique (done above).
    return {
        "pools": pools,
        "frontends": frontends,
        "timeouts": {"connect": draw(durations), "server": draw(durations), "client": draw(durations)},
        "retries": draw(st.integers(0, 5)),
        "redispatch": draw(st.booleans()),
        "maxconn": draw(st.integers(64, 100000)),
    }


CERT_DIR = tempfile.mkdtemp(prefix="halb-cert-")


@pytest.mark.parametrize("engine", lb_spec.ENGINES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=specs())
def test_any_valid_spec_renders_a_config_the_engine_accepts(engine, data):
    cert = make_cert(CERT_DIR)
    for fe in data["frontends"]:
        fe["tls"] = {"certificate": cert} if fe["tls"] else None
    spec = lb_spec.parse(data, engine)
    with tempfile.TemporaryDirectory(prefix="halb-render-") as directory:
        rc, output, text = check(engine, spec, directory)
    assert rc == 0, "%s\n--- config ---\n%s" % (output, text)


@pytest.mark.parametrize("engine", lb_spec.ENGINES)
def test_health_listen_renders_a_local_health_url(engine, tmp_path):
    """Even a TCP-only spec gets the HTTP health URL keepalived polls."""
    data = load_case("tcp-and-http")
    data["frontends"] = [fe for fe in data["frontends"] if fe.get("mode") == "tcp"]
    spec = lb_spec.parse(data, engine)
    rc, output, text = check(engine, spec, str(tmp_path), health_listen="127.0.0.1:8901")
    assert rc == 0, output
    assert "127.0.0.1:8901" in text and "/halb-health" in text
    rc, output, text = check(engine, spec, str(tmp_path))
    assert "/halb-health" not in text


@pytest.mark.parametrize(
    ("engine", "grace", "line"),
    [
        ("haproxy", "90s", "    hard-stop-after 90000ms"),
        ("nginx", "90s", "worker_shutdown_timeout 90s;"),
        ("nginx", "1500ms", "worker_shutdown_timeout 1500ms;"),
    ],
)
def test_old_workers_stop_after_the_reload_grace(engine, grace, line, tmp_path):
    data = load_case("shop-basic")
    data["timeouts"] = dict(data.get("timeouts") or {}, reload_grace=grace)
    rc, output, text = check(engine, lb_spec.parse(data, engine), str(tmp_path))
    assert rc == 0, output
    assert line in text.splitlines()


def test_reload_grace_must_be_a_duration():
    data = load_case("shop-basic")
    data["timeouts"] = {"reload_grace": "forever"}
    with pytest.raises(lb_spec.SpecError, match=r"^timeouts\.reload_grace: 'forever' is not a duration"):
        lb_spec.parse(data, "haproxy")


def test_haproxy_keeps_server_states_across_reloads_unless_told_not_to(tmp_path):
    spec = lb_spec.parse(load_case("shop-basic"), "haproxy")
    text = render_haproxy.render(spec, server_state_file="/var/lib/haproxy/state-x")
    assert "    server-state-file /var/lib/haproxy/state-x" in text.splitlines()
    assert "    load-server-state-from-file global" in text.splitlines()
    rc, output, text = check("haproxy", spec, str(tmp_path), server_state_file=None)
    assert rc == 0, output
    assert "server-state" not in text


def _backends(text):
    """{backend name: its lines} of a rendered haproxy.cfg."""
    sections, name = {}, None
    for line in text.splitlines():
        if not line.startswith(" "):
            name = line.split()[1] if line.startswith("backend ") else None
            if name:
                sections[name] = []
        elif name:
            sections[name].append(line.strip())
    return sections


def test_both_engines_retry_idempotent_requests_elsewhere_and_never_resend_a_post():
    data = load_case("tcp-and-http")
    haproxy = _backends(render_haproxy.render(lb_spec.parse(data, "haproxy")))
    # HTTP: a request whose server dies before answering moves on, like
    # nginx's proxy_next_upstream; POST, PATCH and LOCK only when no byte was sent.
    assert "retry-on conn-failure empty-response junk-response response-timeout 502 503 504" in haproxy["web"]
    assert "http-request disable-l7-retry if { method POST PATCH LOCK }" in haproxy["web"]
    # TCP: only the connection is retried (there is no request to resend).
    assert not [line for line in haproxy["db"] if "retry" in line]
    nginx = render_nginx.render(lb_spec.parse(data, "nginx"))
    assert "proxy_next_upstream error timeout http_502 http_503 http_504;" in nginx
    # nginx resends a POST only when `non_idempotent` is listed: it must not be.
    assert "non_idempotent" not in nginx


def test_haproxy_redispatches_on_every_retry_unless_told_not_to():
    data = load_case("shop-basic")
    assert "    option redispatch 1" in render_haproxy.render(lb_spec.parse(data, "haproxy")).splitlines()
    data["redispatch"] = False
    assert "option redispatch" not in render_haproxy.render(lb_spec.parse(data, "haproxy"))


def _tls_spec(engine, cert, **tls):
    return lb_spec.parse(
        {
            "pools": [{"name": "shop", "servers": [{"name": "be1", "address": "127.0.0.1", "port": 8080}]}],
            "frontends": [{"name": "www", "port": 443, "pool": "shop", "cache": True,
                           "tls": dict({"certificate": cert}, **tls)}],
        },
        engine,
    )  # fmt: skip


@pytest.mark.parametrize("engine", lb_spec.ENGINES)
def test_tls_is_mozilla_intermediate_by_default(engine, tmp_path):
    rc, output, text = check(engine, _tls_spec(engine, make_cert(str(tmp_path))), str(tmp_path))
    assert rc == 0, output
    assert tls_policy.INTERMEDIATE_CIPHERS in text and tls_policy.TLS13_SUITES in text
    assert tls_policy.CURVES in text
    assert ("no-tls-tickets" if engine == "haproxy" else "ssl_session_tickets off;") in text
    assert ("ssl-min-ver TLSv1.2" if engine == "haproxy" else "ssl_protocols TLSv1.2 TLSv1.3;") in text
    assert 'Strict-Transport-Security "max-age=63072000"' in text
    assert "redirect" not in text and "return 301" not in text


@pytest.mark.parametrize("engine", lb_spec.ENGINES)
def test_hsts_sits_beside_every_other_header_nginx_adds(engine, tmp_path):
    """nginx drops the server block's add_header in a location with one of
    its own (the cache status): HSTS is in the location itself."""
    spec = _tls_spec(engine, make_cert(str(tmp_path)), hsts={"max_age": 600, "include_subdomains": True})
    rc, output, text = check(engine, spec, str(tmp_path))
    assert rc == 0, output
    header = 'Strict-Transport-Security "max-age=600; includeSubDomains"'
    if engine == "nginx":
        location = text.split("location / {", 1)[1].split("}", 1)[0]
        assert header in location and "X-Cache-Status" in location
    else:
        assert "http-after-response set-header %s if { ssl_fc }" % header in text


@pytest.mark.parametrize("engine", lb_spec.ENGINES)
def test_no_hsts_when_turned_off(engine, tmp_path):
    rc, output, text = check(engine, _tls_spec(engine, make_cert(str(tmp_path)), hsts=False), str(tmp_path))
    assert rc == 0, output
    assert "Strict-Transport-Security" not in text


@pytest.mark.parametrize(("engine", "port", "target"), [
    ("haproxy", 443, "http-request redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]%[capture.req.uri] "),
    ("haproxy", 8443, "http-request redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]:8443%[capture.req"),
    ("nginx", 443, "return 301 https://$host$request_uri;"),
    ("nginx", 8443, "return 301 https://$host:8443$request_uri;"),
])  # fmt: skip
def test_plain_http_redirects_to_https(engine, port, target, tmp_path):
    spec = _tls_spec(engine, make_cert(str(tmp_path)), redirect_http=8080)
    spec = spec._replace(frontends=(spec.frontends[0]._replace(port=port),))
    rc, output, text = check(engine, spec, str(tmp_path))
    assert rc == 0, output
    assert target in text
    assert ("bind :8080\n" if engine == "haproxy" else "listen 8080;") in text


@pytest.mark.parametrize("render", [render_haproxy.render, render_nginx.render])
def test_an_unknown_render_option_is_refused(render, tmp_path):
    """An option of an older release (agent_log) must not pass unnoticed."""
    spec = _tls_spec("nginx", make_cert(str(tmp_path)))
    with pytest.raises(TypeError, match="unknown render option agent_log"):
        render(spec, agent_log="127.0.0.1:5514")
