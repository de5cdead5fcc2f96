# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What both engines serve over TLS unless the spec says otherwise:
Mozilla's "intermediate" configuration (Server Side TLS guideline 5.7),
which every client of the last ten years speaks.

TLS 1.2 and 1.3 only; for TLS 1.2 forward-secret AEAD suites only (the
DHE ones take effect where the engine has DH parameters: HAProxy's own,
none in nginx, which then offers the ECDHE ones); the client picks among
them, as all are strong; no session tickets (their keys would never
rotate, which breaks forward secrecy); HSTS for two years.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MIN_VERSIONS = ("1.2", "1.3")
# TLS 1.2 cipher suites, OpenSSL names, in Mozilla's order.
INTERMEDIATE_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-CHACHA20-POLY1305",
    )
)
# TLS 1.3 suites: all three there are (OpenSSL's default too).
TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
CURVES = "X25519:prime256v1:secp384r1"
HSTS_MAX_AGE_S = 63072000  # two years
SESSION_TIMEOUT_S = 86400
# An OpenSSL cipher string: names, separators and the operators ! + - @ =.
CIPHERS_RE = re.compile(r"[A-Za-z0-9_.:+!@=-]{1,2048}\Z")


def hsts_value(hsts):
    """The Strict-Transport-Security header value of a spec's Hsts."""
    value = "max-age=%d" % hsts.max_age_s
    if hsts.include_subdomains:
        value += "; includeSubDomains"
    if hsts.preload:
        value += "; preload"
    return value
