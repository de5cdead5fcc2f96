"""HTTPS, access rules and rate limits through the VIP, for either engine.

The scenario is converged once more with a spec that adds three frontends
beside its plain one: HTTPS on 443 (a certificate from a CA made here at
run time; plain HTTP on 8080 redirects), an access-ruled one on 8081 and a
rate-limited one on 8082. Clients are this machine (the network's gateway
address) and the backend containers, each a different source address.
sslyze, a real TLS scanner, checks what the VIP serves against Mozilla's
"intermediate" profile.

These run last in the scenario and leave the security spec in place (the
scenario is destroyed after them), so their converge is the only extra one;
the routed shop (common_shop) joins it.
"""

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time

import common_shop
import pytest
from failover_lib import REPO, load_client

sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
import tls_policy

from halblab import tls_ca

SITE = os.path.join(REPO, "playbooks", "site.yml")
SSLYZE = os.path.join(REPO, ".state", "sslyze", "bin", "sslyze")
TLS_DIR = "/etc/halb/tls"
PORTS = {"https": 443, "redirect": 8080, "ruled": 8081, "limited": 8082}
RATE = 5  # requests per second per client on the limited frontend
ADMIN_NAME = "admin.shop.halb.test"  # served its own certificate by SNI


def _gateway(vip):
    """This machine's address on the scenario's network: the source address
    its requests to the VIP carry."""
    out = subprocess.run(["ip", "-o", "route", "get", vip], capture_output=True, text=True, check=True).stdout
    words = out.split()
    return words[words.index("src") + 1]


def _base_spec(scenario):
    """The scenario's own pool and plain frontend, as its inventory has them."""
    lb_vars = scenario.runner.get_variables(scenario.lbs[0])
    if "lb_spec" in lb_vars:
        return json.loads(json.dumps(lb_vars["lb_spec"]))
    pool = lb_vars.get("lb_backend_name", "halb_pool")
    health = {"path": "/health", "interval": lb_vars.get("lb_health_check_interval", "2s"),
              "fall": lb_vars.get("lb_health_check_fall", 3)}  # fmt: skip
    return {
        "pools": [{"name": pool, "servers": lb_vars["lb_backend_servers"], "health_check": health}],
        "frontends": [{"name": "www", "port": 80, "pool": pool}],
    }


def _entry(cert, key, chain):
    return {"name": "shop", "certificate": tls_ca.cert_pem(cert, chain), "key": tls_ca.key_pem(key)}


class Lab:
    """What the tests share: the CA, the addresses, the spec they converged."""

    def __init__(self, scenario, directory):
        self.scenario = scenario
        self.directory = directory
        self.root = tls_ca.Authority()
        self.intermediate = tls_ca.Authority("halb lab intermediate CA", issuer=self.root)
        self.ca_file = os.path.join(directory, "ca.crt")
        with open(self.ca_file, "w") as handle:
            handle.write(tls_ca.cert_pem(self.root.cert))
        self.gateway = _gateway(scenario.vip)
        self.backend_ips = {name: self._address(name) for name in scenario.backends}
        self.allowed, self.denied = scenario.backends[0], scenario.backends[1]
        spec = _base_spec(scenario)
        pool = spec["pools"][0]["name"]
        spec["frontends"] += [
            {"name": "secure", "port": PORTS["https"], "pool": pool,
             "tls": {"certificate": "%s/shop.pem" % TLS_DIR, "redirect_http": PORTS["redirect"],
                     "sni": [{"names": [ADMIN_NAME], "certificate": "%s/admin.pem" % TLS_DIR}]}},
            # The payments API only from this machine; one backend host is
            # shut out altogether.
            {"name": "ruled", "port": PORTS["ruled"], "pool": pool,
             "acl": {"deny": ["%s/32" % self.backend_ips[self.denied]],
                     "paths": [{"prefix": "/payments", "allow": ["%s/32" % self.gateway]}]}},
            {"name": "limited", "port": PORTS["limited"], "pool": pool, "rate_limit": RATE},
        ]  # fmt: skip
        # The routed shop joins this converge (common_shop tests it).
        engine = scenario.runner.get_variables(scenario.lbs[0])["lb_engine"]
        self.spec = common_shop.extend_spec(spec, self.backend_ips, engine)
        cert, key = self.intermediate.issue([ADMIN_NAME])
        self.admin_cert = cert
        self.admin = dict(_entry(cert, key, self.intermediate.cert), name="admin")

    def _address(self, name):
        return self.scenario.host(name).run("hostname -I").stdout.split()[0]

    def converge(self, entries, under_load=False):
        """site.yml with the security spec and these certificates, as a user
        would run it after editing the inventory."""
        path = os.path.join(self.directory, "vars-%d.json" % time.monotonic_ns())
        with open(path, "w") as handle:
            json.dump({"lb_spec": self.spec, "lb_tls_certificates": entries + [self.admin]}, handle)
        if not under_load:
            return self.scenario.playbook(SITE, options=("-e", "@" + path), timeout=900), None
        target = load_client.Target(self.scenario.vip, PORTS["https"], "/orders", tls=True, verify=self.ca_file)
        return self.scenario.playbook_under_load(SITE, options=("-e", "@" + path), target=target, connections=4)

    def served_certificate(self, server_name=None):
        """The PEM of the certificate the VIP serves for server_name (SNI;
        None: none sent)."""
        context = ssl.create_default_context(cafile=self.ca_file)
        context.check_hostname = False  # the name is checked by comparing certificates
        with (
            socket.create_connection((self.scenario.vip, PORTS["https"]), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as conn,
        ):
            return ssl.DER_cert_to_PEM_cert(conn.getpeercert(binary_form=True))

    def status_from(self, client, port, path):
        """The status of one GET through the VIP from client: this machine
        ("gateway") or a backend container."""
        if client == "gateway":
            conn = http.client.HTTPConnection(self.scenario.vip, port, timeout=5)
            try:
                conn.request("GET", path)
                return conn.getresponse().status
            finally:
                conn.close()
        code = ("import http.client as h; c = h.HTTPConnection(%r, %d, timeout=5); c.request('GET', %r); "
                "print(c.getresponse().status)" % (self.scenario.vip, port, path))  # fmt: skip
        out = self.scenario.host(client).run("python3 -c %s" % _quote(code))
        assert out.rc == 0, out.stderr
        return int(out.stdout.strip())


def _quote(text):
    return "'%s'" % text.replace("'", "'\"'\"'")


@pytest.fixture(scope="module")
def lab(scenario, tmp_path_factory):
    lab = Lab(scenario, str(tmp_path_factory.mktemp("security")))
    lab.first_cert, key = lab.intermediate.issue([scenario.vip, "shop.halb.test"])
    lab.first = _entry(lab.first_cert, key, lab.intermediate.cert)
    out, _ = lab.converge([lab.first])
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    lab.first_output = out.stdout + out.stderr
    return lab


def test_the_certificate_is_root_only_and_its_key_never_in_the_output(scenario, lab):
    for name in scenario.lbs:
        host = scenario.host(name)
        directory = host.file(TLS_DIR)
        assert (directory.user, directory.mode) == ("root", 0o700), name
        for bundle in (host.file(TLS_DIR + "/shop.pem"), host.file(TLS_DIR + "/admin.pem")):
            assert (bundle.user, bundle.group, bundle.mode) == ("root", "root", 0o600), (name, bundle.path)
    key_line = lab.first["key"].splitlines()[1]
    assert key_line not in lab.first_output


def test_sslyze_finds_mozilla_intermediate_the_certificate_and_hsts(scenario, lab):
    report = os.path.join(lab.directory, "sslyze.json")
    run = subprocess.run(
        [SSLYZE, "--mozilla_config=intermediate", "--http_headers", "--certinfo_ca_file=" + lab.ca_file,
         "--json_out=" + report, "%s:%d" % (scenario.vip, PORTS["https"])],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    print(run.stdout[-3000:])
    # sslyze exits 0 only when the server is compliant with the profile.
    assert run.returncode == 0 and "%s:%d: OK - Compliant." % (scenario.vip, PORTS["https"]) in run.stdout, (
        run.stdout[-3000:] + run.stderr[-1000:]
    )
    with open(report) as handle:
        result = json.load(handle)["server_scan_results"][0]["scan_result"]
    for old in ("ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1"):
        assert result[old + "_cipher_suites"]["result"]["accepted_cipher_suites"] == [], old
    allowed = set(tls_policy.INTERMEDIATE_CIPHERS.split(":")) | set(tls_policy.TLS13_SUITES.split(":"))
    offered = set()
    for version in ("tls_1_2", "tls_1_3"):
        accepted = result[version + "_cipher_suites"]["result"]["accepted_cipher_suites"]
        assert accepted, version
        offered |= set(suite["cipher_suite"]["openssl_name"] for suite in accepted)
    assert offered <= allowed, offered - allowed
    deployment = result["certificate_info"]["result"]["certificate_deployments"][0]
    leaf = deployment["received_certificate_chain"][0]
    assert leaf["as_pem"].strip() == tls_ca.cert_pem(lab.first_cert).strip()
    assert len(deployment["received_certificate_chain"]) == 2  # the server's and the intermediate
    ours = [r for r in deployment["path_validation_results"] if r["trust_store"]["path"] == lab.ca_file]
    assert ours and ours[0]["was_validation_successful"], deployment["path_validation_results"]
    hsts = result["http_headers"]["result"]["strict_transport_security_header"]
    assert hsts and hsts["max_age"] == tls_policy.HSTS_MAX_AGE_S, hsts


def test_each_server_name_gets_its_certificate(lab):
    assert lab.served_certificate(ADMIN_NAME).strip() == tls_ca.cert_pem(lab.admin_cert).strip()
    for other in ("shop.halb.test", None):
        assert lab.served_certificate(other).strip() == tls_ca.cert_pem(lab.first_cert).strip()


def test_plain_http_redirects_to_https(scenario, lab):
    conn = http.client.HTTPConnection(scenario.vip, PORTS["redirect"], timeout=5)
    conn.request("GET", "/orders?page=2")
    resp = conn.getresponse()
    assert resp.status == 301
    assert resp.getheader("Location") == "https://%s/orders?page=2" % scenario.vip


def test_a_denied_address_gets_403_through_the_vip_and_others_200(lab):
    assert lab.status_from("gateway", PORTS["ruled"], "/orders") == 200
    assert lab.status_from(lab.allowed, PORTS["ruled"], "/orders") == 200
    assert lab.status_from(lab.denied, PORTS["ruled"], "/orders") == 403


def test_the_payments_path_answers_its_allow_list_only(lab):
    assert lab.status_from("gateway", PORTS["ruled"], "/payments") == 200
    assert lab.status_from(lab.allowed, PORTS["ruled"], "/payments") == 403
    assert lab.status_from(lab.allowed, PORTS["ruled"], "/products") == 200


def test_the_rate_limit_answers_429_above_it_and_200_below(scenario, lab):
    time.sleep(2)  # an empty window
    # A new connection per request, as fast as they go: far above the limit.
    statuses = [lab.status_from("gateway", PORTS["limited"], "/orders") for _ in range(4 * RATE)]
    assert set(statuses) == {200, 429}, statuses
    # The engines let the rate through (nginx: plus a burst of as many).
    assert RATE <= statuses.count(200) <= 2 * RATE + 1, statuses
    time.sleep(2)
    paced = []
    for _ in range(10):  # half the limit
        paced.append(lab.status_from("gateway", PORTS["limited"], "/orders"))
        time.sleep(2.0 / RATE)
    assert paced == [200] * 10, paced


def test_a_rotated_certificate_is_served_after_a_graceful_reload_with_no_failed_request(scenario, lab):
    # RSA this time: both key types Mozilla's profile names are served.
    cert, key = lab.intermediate.issue([scenario.vip, "shop.halb.test"], key=tls_ca.new_key("rsa"))
    rotated = _entry(cert, key, lab.intermediate.cert)
    out, seen = lab.converge([rotated], under_load=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    print("\n[tls] rotation under HTTPS load:", seen)
    assert seen["requests"] > 100 and seen["failures"] == 0, seen
    assert lab.served_certificate().strip() == tls_ca.cert_pem(cert).strip()
    lab.rotated = rotated


def test_a_bad_certificate_stops_the_play_before_any_host_and_the_old_one_keeps_serving(scenario, lab):
    before = lab.served_certificate()
    expired, expired_key = lab.intermediate.issue(["shop.halb.test"], days=30, starts_in_days=-60)
    other, _ = lab.intermediate.issue(["shop.halb.test"])
    bad = [
        _entry(expired, expired_key, lab.intermediate.cert),
        dict(_entry(other, tls_ca.new_key(), lab.intermediate.cert), name="other"),
    ]
    sums = {name: scenario.host(name).run("sha256sum %s/shop.pem" % TLS_DIR).stdout for name in scenario.lbs}
    out, _ = lab.converge(bad)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "lb_tls_certificates[0].certificate: the certificate expired on" in text, text[-3000:]
    assert "lb_tls_certificates[1].key: does not match the certificate" in text, text[-3000:]
    assert "Check the whole inventory" in text and "Deploy the demo backends" not in text, text[-3000:]
    assert {name: scenario.host(name).run("sha256sum %s/shop.pem" % TLS_DIR).stdout for name in scenario.lbs} == sums
    assert lab.served_certificate() == before
