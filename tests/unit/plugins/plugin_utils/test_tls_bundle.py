"""The certificates the lb role installs are checked on the controller: each
way a certificate can fail to serve is refused with its field and the fix,
before any host is touched. Certificates come from the lab's own CA, made
here at run time."""

import datetime
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "lab"))
from ansible_collections.halb.loadbalancer.plugins.filter.lb_spec import lb_tls_bundle_path, lb_tls_certificate_errors
from ansible_collections.halb.loadbalancer.plugins.plugin_utils import tls_bundle
from halblab import tls_ca


@pytest.fixture(scope="module")
def ca():
    root = tls_ca.Authority()
    return root, tls_ca.Authority("halb test intermediate", issuer=root)


@pytest.fixture(scope="module")
def shop(ca):
    """A good entry: the server certificate, its intermediate, its key."""
    cert, key = ca[1].issue(["shop.halb.test"])
    return {"name": "shop", "certificate": tls_ca.cert_pem(cert, ca[1].cert), "key": tls_ca.key_pem(key)}


def errors(*entries):
    return tls_bundle.certificate_errors(list(entries))


def test_a_good_certificate_with_its_chain_passes(shop):
    assert errors(shop) == []
    assert errors() == [] and tls_bundle.certificate_errors(None) == []


def test_rsa_2048_passes_too(ca):
    cert, key = ca[1].issue(["shop.halb.test"], key=tls_ca.new_key("rsa"))
    assert errors({"name": "rsa", "certificate": tls_ca.cert_pem(cert, ca[1].cert), "key": tls_ca.key_pem(key)}) == []


def test_a_key_that_does_not_match_is_refused(shop):
    other = tls_ca.key_pem(tls_ca.new_key())
    assert errors(dict(shop, key=other)) == [
        "lb_tls_certificates[0].key: does not match the certificate (CN=shop.halb.test,O=halb lab). "
        "Give the key the certificate was issued for"
    ]


def test_an_expired_certificate_is_refused(ca):
    cert, key = ca[1].issue(["old.halb.test"], days=30, starts_in_days=-60)
    (message,) = errors({"name": "old", "certificate": tls_ca.cert_pem(cert, ca[1].cert), "key": tls_ca.key_pem(key)})
    expired = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30, minutes=5)).date()
    assert message == (
        "lb_tls_certificates[0].certificate: the certificate expired on %s. "
        "Renew it; the certificate served now stays until then" % expired
    )


def test_a_certificate_not_valid_yet_is_refused(ca):
    cert, key = ca[1].issue(["new.halb.test"], starts_in_days=2)
    (message,) = errors({"name": "new", "certificate": tls_ca.cert_pem(cert), "key": tls_ca.key_pem(key)})
    assert "the certificate is not valid before" in message and message.startswith("lb_tls_certificates[0].certificate")


def test_an_expired_chain_certificate_is_refused(ca):
    lapsed = tls_ca.Authority("halb lapsed intermediate", issuer=ca[0], days=10, starts_in_days=-20)
    cert, key = lapsed.issue(["shop.halb.test"])
    (message,) = errors({"name": "shop", "certificate": tls_ca.cert_pem(cert, lapsed.cert), "key": tls_ca.key_pem(key)})
    assert message.startswith(
        "lb_tls_certificates[0].certificate: chain certificate 1 (CN=halb lapsed intermediate,O=halb lab) expired on"
    ), message


def test_a_chain_out_of_order_is_refused(ca, shop):
    cert, key = ca[1].issue(["shop.halb.test"])
    swapped = dict(shop, certificate=tls_ca.cert_pem(cert, ca[0].cert, ca[1].cert), key=tls_ca.key_pem(key))
    assert errors(swapped) == [
        "lb_tls_certificates[0].certificate: certificate 1 (CN=shop.halb.test,O=halb lab) is not signed by the one "
        "after it (CN=halb lab root CA,O=halb lab). Order the PEM text: the server certificate first, then each CA "
        "certificate after the one it signed"
    ]
    in_order = dict(swapped, certificate=tls_ca.cert_pem(cert, ca[1].cert, ca[0].cert))
    assert errors(in_order) == []


def test_a_forged_issuer_name_is_not_a_chain(ca, shop):
    """Same subject as the real intermediate, different key: the signature
    does not verify."""
    impostor = tls_ca.Authority("halb test intermediate", issuer=ca[0])
    cert, key = ca[1].issue(["shop.halb.test"])
    forged = dict(shop, certificate=tls_ca.cert_pem(cert, impostor.cert), key=tls_ca.key_pem(key))
    assert "is not signed by the one after it" in errors(forged)[0]


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("certificate", "", "lb_tls_certificates[0].certificate: is empty"),
        ("certificate", "hello", "lb_tls_certificates[0].certificate: is not PEM certificates"),
        ("key", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
         "lb_tls_certificates[0].key: is not one PEM private key"),
        ("key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
         "lb_tls_certificates[0].key: is encrypted"),
        ("key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
         "lb_tls_certificates[0].key: cannot be read as a private key"),
        ("certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
         "lb_tls_certificates[0].certificate: certificate 1 of the PEM text cannot be read"),
        ("name", "shop\nlisten", "lb_tls_certificates[0].name: 'shop\\nlisten' is not a name"),
        ("name", "../etc/passwd", "lb_tls_certificates[0].name: '../etc/passwd' is not a name"),
    ],
)  # fmt: skip
def test_malformed_entries_name_their_field(shop, field, value, problem):
    (message,) = errors(dict(shop, **{field: value}))
    assert message.startswith(problem), message


def test_a_key_pasted_into_the_certificate_field_is_refused(shop):
    (message,) = errors(dict(shop, certificate=shop["certificate"] + shop["key"]))
    assert message.startswith("lb_tls_certificates[0].certificate: holds a private key"), message


def test_unknown_fields_and_shapes_are_refused(shop):
    assert errors(dict(shop, chain="x")) == [
        "lb_tls_certificates[0].chain: is not a field. Use only: name, certificate, key"
    ]
    assert errors("shop") == ["lb_tls_certificates[0]: must be a mapping of name, certificate and key"]
    assert tls_bundle.certificate_errors("shop") == ["lb_tls_certificates: must be a list of {name, certificate, key}"]


def test_two_entries_with_one_name_are_refused(shop):
    assert errors(shop, shop) == [
        "lb_tls_certificates[1].name: 'shop' is also the name of lb_tls_certificates[0]. "
        "Give each certificate its own name"
    ]


def test_every_bad_entry_is_reported_at_once(shop):
    assert len(errors(dict(shop, key="x"), shop, dict(shop, name="9"))) == 2


SPEC = {
    "pools": [{"name": "shop", "servers": [{"name": "be1", "address": "192.0.2.1", "port": 80}]}],
    "frontends": [{"name": "www", "port": 443, "pool": "shop", "tls": {"certificate": "/etc/halb/tls/shop.pem"}}],
}


def test_a_frontend_certificate_in_the_directory_needs_an_entry(shop):
    assert lb_tls_certificate_errors([shop], SPEC) == []
    assert lb_tls_certificate_errors([dict(shop, name="web")], SPEC, prefix="lb_spec.") == [
        "lb_spec.frontends[0].tls.certificate: /etc/halb/tls/shop.pem is in lb_tls_directory, but no "
        "lb_tls_certificates entry installs it. Add one named shop, or point the frontend at a file the host has"
    ]
    # A certificate elsewhere is the host's own: lb_config checks it is there.
    elsewhere = {
        "pools": SPEC["pools"],
        "frontends": [dict(SPEC["frontends"][0], tls={"certificate": "/etc/ssl/s.pem"})],
    }
    assert lb_tls_certificate_errors([], elsewhere) == []


@pytest.mark.parametrize("directory", ["/etc/halb/tls", "/etc/halb/tls/"])
def test_the_role_installs_where_the_checks_look(shop, directory):
    # roles/lb/tasks/tls.yml writes each entry to lb_tls_bundle_path: a
    # frontend naming that path has its entry, whatever the directory's spelling.
    assert lb_tls_bundle_path(directory, "shop") == "/etc/halb/tls/shop.pem"
    spec = {
        "pools": SPEC["pools"],
        "frontends": [dict(SPEC["frontends"][0], tls={"certificate": lb_tls_bundle_path(directory, "shop")})],
    }
    assert lb_tls_certificate_errors([shop], spec, directory=directory) == []


def test_sni_names_must_be_covered_by_the_installed_certificate(ca, shop):
    cert, key = ca[1].issue(["admin.halb.test", "*.api.halb.test"])
    admin = {"name": "admin", "certificate": tls_ca.cert_pem(cert, ca[1].cert), "key": tls_ca.key_pem(key)}
    tls = {"certificate": "/etc/halb/tls/shop.pem",
           "sni": [{"names": ["admin.halb.test", "v2.api.halb.test", "*.api.halb.test"],
                    "certificate": "/etc/halb/tls/admin.pem"}]}  # fmt: skip
    spec = {"pools": SPEC["pools"], "frontends": [dict(SPEC["frontends"][0], tls=tls)]}
    assert lb_tls_certificate_errors([shop, admin], spec) == []
    # One label under the wildcard only, and not the wildcard's own base.
    tls["sni"][0]["names"] = ["a.b.api.halb.test", "api.halb.test"]
    assert lb_tls_certificate_errors([shop, admin], spec, prefix="lb_spec.") == [
        "lb_spec.frontends[0].tls.sni[0].certificate: the certificate admin does not cover the server name %s "
        "(it is for admin.halb.test, *.api.halb.test). Issue it for that name too, or remove the name" % name
        for name in ("a.b.api.halb.test", "api.halb.test")
    ]
    # Not installed by the role: its names are the host's business.
    tls["sni"][0]["certificate"] = "/etc/ssl/admin.pem"
    assert lb_tls_certificate_errors([shop], spec) == []
    tls["sni"][0]["certificate"] = "/etc/halb/tls/admin.pem"
    (message,) = lb_tls_certificate_errors([shop], spec)
    assert message.startswith("frontends[0].tls.sni[0].certificate: /etc/halb/tls/admin.pem is in lb_tls_directory")
