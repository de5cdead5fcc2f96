# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The spec's `logging` section and the one JSON access-log schema both
engines write.

    logging:
      format: json            # json (default) or text
      syslog:                 # optional: every line also goes here (UDP)
        address: 192.0.2.50
        port: 514

The schema is a table of (field, HAProxy log-format expression, nginx
variable, quoted): each renderer builds its format from it, so the two
engines write the same field names in the same units.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.halb.loadbalancer.plugins.module_utils import spec_fields as fields
from ansible_collections.halb.loadbalancer.plugins.module_utils.spec_fields import SpecError

Logging = namedtuple("Logging", "format syslog")
Syslog = namedtuple("Syslog", "address port")

FORMATS = ("json", "text")
SYSLOG_PORT = 514
DEFAULT = Logging(format="json", syslog=None)

# A client's X-Request-ID is kept only when it looks like an id; any other
# value (quotes, spaces, 200 characters) is replaced with a fresh one, so
# what reaches the log and the servers is always safe to quote.
REQUEST_ID_PATTERN = "^[A-Za-z0-9._:-]{1,128}$"

# HTTP frontends. Times are milliseconds on both engines (nginx gives
# seconds with three decimals: the maps in render_nginx turn them into
# ms); -1 where no server answered. HAProxy's %HU and %HM are safe inside
# quotes (it refuses '"' in a request line and writes control characters
# as #XX); nginx escapes its values itself (escape=json).
HTTP_FIELDS = (
    ("time", "%[date,ltime(%Y-%m-%dT%H:%M:%S%z)]", "$time_iso8601", True),
    ("client", "%ci", "$remote_addr", True),
    ("frontend", "%f", "$halb_frontend", True),
    ("pool", "%b", "$proxy_host", True),
    ("upstream", "%si:%sp", "$upstream_addr", True),
    ("method", "%HM", "$request_method", True),
    ("uri", "%HU", "$request_uri", True),
    ("status", "%ST", "$status", False),
    ("bytes", "%B", "$bytes_sent", False),
    ("request_ms", "%Ta", "$halb_request_ms", False),
    ("upstream_response_ms", "%Tr", "$halb_upstream_ms", False),
    ("request_id", "%[var(txn.halb_request_id)]", "$halb_request_id", True),
)

# TCP frontends (HAProxy; nginx's stream block keeps no access log).
# termination: HAProxy's two-letter session state, "--" for a clean end.
TCP_FIELDS = (
    ("time", "%[date,ltime(%Y-%m-%dT%H:%M:%S%z)]", True),
    ("client", "%ci", True),
    ("frontend", "%f", True),
    ("pool", "%b", True),
    ("upstream", "%si:%sp", True),
    ("bytes", "%B", False),
    ("connect_ms", "%Tc", False),
    ("session_ms", "%Tt", False),
    ("termination", "%ts", True),
)


def json_format(pairs):
    """One JSON object per line from (field, expression, quoted) triples."""
    return "{%s}" % ",".join('"%s":%s' % (name, '"%s"' % expr if quoted else expr) for name, expr, quoted in pairs)


def haproxy_http_format():
    return json_format((name, haproxy, quoted) for name, haproxy, _nginx, quoted in HTTP_FIELDS)


def haproxy_tcp_format():
    return json_format(TCP_FIELDS)


def nginx_http_format():
    return json_format((name, nginx, quoted) for name, _haproxy, nginx, quoted in HTTP_FIELDS)


def parse_logging(data, path="logging"):
    """The spec's logging section; DEFAULT when it is left out."""
    if data is None:
        return DEFAULT
    data = fields.mapping(data, path)
    fields.no_unknown(data, path, ("format", "syslog"))
    log_format = data.get("format", DEFAULT.format)
    if log_format not in FORMATS:
        raise SpecError(
            path + ".format",
            "unknown format %r" % (log_format,),
            "Use json (one JSON object a line) or text (HAProxy httplog, nginx combined)",
        )
    return Logging(format=log_format, syslog=_syslog(data.get("syslog"), path + ".syslog"))


def _syslog(data, path):
    if data is None:
        return None
    data = fields.mapping(data, path)
    fields.no_unknown(data, path, ("address", "port"))
    if "address" not in data:
        raise SpecError(path + ".address", "missing", "Name the syslog server, e.g. address: 192.0.2.50")
    return Syslog(
        address=fields.address(data["address"], path + ".address"),
        port=fields.as_int(data.get("port", SYSLOG_PORT), path + ".port", 1, 65535),
    )
