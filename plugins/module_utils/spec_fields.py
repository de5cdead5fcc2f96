# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The field readers of the LB spec (lb_spec) and of its parts in other
files (spec_routing): each takes a raw value and the path of its field,
and returns the normalized value or raises SpecError naming that path.

Standard library only: this also runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# Every pattern ends in \Z, never "$": "$" also matches before a trailing
# newline, and every string checked here ends up in a config file.
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}\Z")
DURATION_RE = re.compile(r"([0-9]+)(ms|s|m|h)?\Z")
DURATION_UNITS_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}
INTEGER_RE = re.compile(r"[+-]?[0-9]+\Z")
PORT_RE = re.compile(r"[0-9]{1,5}\Z")
# A DNS name: dot-separated labels of 1-63 letters, digits and inner
# hyphens; the whole name at most 253 characters (DNS_NAME_MAX).
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DNS_NAME_RE = re.compile(r"%s(?:\.%s)*\Z" % (LABEL, LABEL))
DNS_NAME_MAX = 253
# A DNS name, or "*." and one (every name below it): route hosts
# (spec_routing) and SNI server names (lb_spec). Also at most DNS_NAME_MAX.
WILDCARD_DNS_NAME_RE = re.compile(r"(?:\*\.)?%s(?:\.%s)*\Z" % (LABEL, LABEL))
# A certificate or key file: an absolute path of characters no config file
# treats specially (no whitespace, quotes, ';', '{', '}', '#').
FILE_PATH_RE = re.compile(r"/[A-Za-z0-9/._+@-]*\Z")
# A URL path (RFC 3986 path characters): unreserved, %XX escapes, the
# sub-delims except ';' and "'" (which end a directive or start a quoted
# string in the engines' configs), ':', '@' and '/'.
URL_PATH_RE = re.compile(r"/(?:[A-Za-z0-9._~!$&()*+,=:@/-]|%[0-9A-Fa-f]{2})*\Z")
URL_PATH_CHARS = "letters, digits, / - . _ ~ ! $ & ( ) * + , = : @ and %XX escapes"


class SpecError(ValueError):
    """One invalid field: its path, what is wrong, how to fix it."""

    def __init__(self, path, problem, fix=None):
        self.path = path
        self.problem = problem
        self.fix = fix
        message = "%s: %s" % (path, problem) if path else problem
        if fix:
            message += ". " + fix
        super(SpecError, self).__init__(message)


# Each takes the raw value and its path, and returns the normalized value or
# raises SpecError.


def mapping(value, path):
    if not isinstance(value, dict):
        raise SpecError(path, "expected a mapping, got %s" % type(value).__name__)
    return value


def no_unknown(data, path, known):
    unknown = sorted(set(data) - set(known), key=str)
    if unknown:
        raise SpecError(
            "%s.%s" % (path, unknown[0]) if path else unknown[0],
            "unknown field",
            "Known fields here: %s" % ", ".join(sorted(known)),
        )


def as_list(value, path, allow_empty=True):
    if value is None:
        value = []
    if not isinstance(value, list):
        raise SpecError(path, "expected a list, got %s" % type(value).__name__)
    if not value and not allow_empty:
        raise SpecError(path, "must not be empty")
    return value


def as_bool(value, path):
    if isinstance(value, bool):
        return value
    raise SpecError(path, "%r is not a boolean" % (value,), "Use true or false")


def as_int(value, path, low=None, high=None, what=None, check_range=True):
    """The one reader of integer fields.

    Takes an int or a string of digits (Jinja templating often turns
    numbers into strings); never a bool. `what` names the kind of number in
    a range error ("a TCP port"); without it the error says "out of range".
    check_range=False leaves the range to the caller (low and high then
    only tell what to write instead of a non-number).
    """
    if isinstance(value, str) and INTEGER_RE.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float):
            problem = "%r must be a whole number" % (value,)
        else:
            problem = "%r must be a number" % (value,)
        raise SpecError(path, problem, "Write %s" % int_range(low, high))
    if check_range and ((low is not None and value < low) or (high is not None and value > high)):
        bounds = "(%s-%s)" % (low if low is not None else "...", high if high is not None else "...")
        if what:
            # e.g. "70000 is not a TCP port (1-65535)": the range says what to write.
            raise SpecError(path, "%d is not %s %s" % (value, what, bounds))
        raise SpecError(path, "%d is out of range %s" % (value, bounds), "Write %s" % int_range(low, high))
    return value


def int_range(low, high):
    if low is not None and high is not None:
        return "a whole number from %d to %d" % (low, high)
    if low is not None:
        return "a whole number of at least %d" % low
    if high is not None:
        return "a whole number of at most %d" % high
    return "a whole number, e.g. 3"


def is_wildcard_dns_name(value):
    """A DNS name, or "*." and one (WILDCARD_DNS_NAME_RE), of at most DNS_NAME_MAX characters."""
    return isinstance(value, str) and len(value) <= DNS_NAME_MAX and bool(WILDCARD_DNS_NAME_RE.match(value))


def name(value, path):
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise SpecError(
            path,
            "%r is not a valid name" % (value,),
            "Use a letter, then letters, digits, '_' or '-' (at most 63 characters)",
        )
    return value


def duration_ms(value, path):
    """'500ms', '5s', '2m', '1h' or a bare number of milliseconds."""
    if isinstance(value, bool):
        raise SpecError(path, "%r is not a duration" % (value,), "Write e.g. 500ms, 5s or 1m")
    if isinstance(value, int):
        return value
    match = DURATION_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise SpecError(path, "%r is not a duration" % (value,), "Write e.g. 500ms, 5s or 1m")
    return int(match.group(1)) * DURATION_UNITS_MS[match.group(2) or "ms"]


def whole_seconds(value, path):
    ms = duration_ms(value, path)
    if ms < 1000 or ms % 1000:
        raise SpecError(
            path, "%r is not a whole number of seconds" % (value,), "nginx counts it in seconds; write e.g. 10s"
        )
    return ms


def address(value, path):
    """An IP address (IPv6 without brackets) or a DNS name."""
    if not isinstance(value, str) or not value:
        raise SpecError(path, "%r is not an address" % (value,), "Write an IP address or a DNS name")
    if value.startswith("["):
        raise SpecError(
            path,
            "%s has brackets" % value,
            "Write the bare IPv6 address (%s); brackets are added where a URL needs them" % value.strip("[]"),
        )
    if "%" in value:
        # ipaddress accepts any text after the %, newlines and ';' included.
        raise SpecError(
            path,
            "%r has a zone index" % (value,),
            "Write the address without %<interface>; link-local addresses are not supported",
        )
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if ":" in value:
        raise SpecError(path, "%r is not a valid IPv6 address" % (value,), "Write e.g. 2001:db8::11")
    if len(value) > DNS_NAME_MAX or not DNS_NAME_RE.match(value) or re.match(r"[0-9.]+\Z", value):
        raise SpecError(
            path,
            "%r is neither an IP address nor a DNS name" % (value,),
            "Write an IP address (e.g. 192.0.2.11) or a DNS name of letters, digits, '-' and '.' "
            "(labels of 1-63 characters, at most %d in all)" % DNS_NAME_MAX,
        )
    return value.lower()


def cidr(value, path):
    if isinstance(value, str) and "%" not in value:
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            pass
    raise SpecError(path, "%r is not a CIDR network" % (value,), "Write e.g. 10.0.0.0/8, 192.0.2.7/32 or 2001:db8::/32")


def file_path(value, path, example="/etc/ssl/private/site.pem"):
    """A file (certificate, key, unix socket), as it is written into the
    engine's config or a command line."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise SpecError(path, "%r is not an absolute path" % (value,), "Write e.g. %s" % example)
    if ".." in value.split("/"):
        raise SpecError(path, "%r has a '..' component" % (value,), "Write the path without '..'")
    if not FILE_PATH_RE.match(value):
        raise SpecError(
            path,
            "%r has characters a config file cannot take as they are" % (value,),
            "Use an absolute path of letters, digits and / . _ - + @ only, e.g. %s" % example,
        )
    return value


def listen_address(value, path):
    """A local listening address, "IP:port" ("[IPv6]:port"), as the engines'
    `bind`/`listen` take it; returns (ip, port)."""
    example = "127.0.0.1:8901 or [::1]:8901"
    host, sep, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # a bare IPv6 address: the port is ambiguous
    try:
        address = ipaddress.ip_address(host) if sep and "%" not in host else None
    except ValueError:
        address = None
    if address is None or not PORT_RE.match(port) or not 1 <= int(port) <= 65535:
        raise SpecError(path, "%r is not an IP address and port" % (value,), "Write e.g. %s" % example)
    return str(address), int(port)


def url_path(value, path, what, example):
    """A URL path (health check, route prefix), as written into the config."""
    if not isinstance(value, str) or not URL_PATH_RE.match(value):
        raise SpecError(
            path,
            "%r is not %s" % (value, what),
            "Start it with / and use only %s, e.g. %s" % (URL_PATH_CHARS, example),
        )
    return value
