"""A load goes only to the inventory's VIPs, through a strictly parsed URL."""

import re

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils.load_target import TargetError, parse_target

VIPS = ["192.0.2.10", "2001:db8::10"]


@pytest.mark.parametrize(
    ("url", "address", "port", "path", "tls"),
    [
        ("http://192.0.2.10/orders", "192.0.2.10", 80, "/orders", False),
        ("https://192.0.2.10:8443", "192.0.2.10", 8443, "/", True),
        ("http://[2001:db8::10]:8080/a?b=c", "2001:db8::10", 8080, "/a?b=c", False),
        ("http://[2001:DB8:0::10]/", "2001:db8::10", 80, "/", False),
    ],
)
def test_the_vip_is_accepted(url, address, port, path, tls):
    target = parse_target(url, VIPS)
    assert (target.address, target.port, target.path, target.tls) == (address, port, path, tls)


def test_another_address_is_refused_naming_the_fix():
    with pytest.raises(TargetError, match=r"url: 192\.0\.2\.99 is not a VIP of this inventory .*force: true"):
        parse_target("http://192.0.2.99/", VIPS)


def test_a_name_is_checked_by_what_it_resolves_to():
    with pytest.raises(TargetError, match=r"127\.0\.0\.1 is not a VIP"):
        parse_target("http://localhost/", VIPS)
    assert parse_target("http://localhost/", ["127.0.0.1", "::1"]).address == "localhost"


def test_force_allows_another_address():
    assert parse_target("http://192.0.2.99/", VIPS, force=True).address == "192.0.2.99"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://192.0.2.10/", "is not an http:// or https:// URL"),
        ("192.0.2.10", "is not an http:// or https:// URL"),
        ("http://192.0.2.10/a b", "characters outside RFC 3986"),
        ("http://192.0.2.10/a\nb", "characters outside RFC 3986"),
        ('http://192.0.2.10/a"b', "characters outside RFC 3986"),
        ("http://192.0.2.10:99999/", "port 99999 is out of range"),
        ("http://bad_name!/", "neither an IP address nor a valid host name"),
        ("http://192.0.2.10/\n", "characters outside RFC 3986"),
    ],
)
def test_malformed_urls_are_refused(url, message):
    with pytest.raises(TargetError, match="url: .*" + re.escape(message)):
        parse_target(url, VIPS)


def test_allowed_addresses_must_be_addresses():
    with pytest.raises(TargetError, match=r"allowed_addresses: .*list IP addresses"):
        parse_target("http://192.0.2.10/", ["vip.example"])
