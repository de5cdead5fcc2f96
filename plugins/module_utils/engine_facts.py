# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about the engines that more than one part of the collection needs.

Defined once here and imported by the spec validator, the renderers and
the modules, so they cannot drift apart.

Standard library only, and no imports at all: this file also runs on managed
hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ENGINES = ("haproxy", "nginx")

# How a pool spreads requests over its servers; weights always apply.
STRATEGIES = ("round_robin", "least_connections", "fastest_response")
# Accepted for readability, and resolved to the strategy they name.
STRATEGY_ALIASES = {"weighted_round_robin": "round_robin", "weighted_least_connections": "least_connections"}

# Server weights each engine takes: HAProxy 0 (no new traffic) to 256; nginx
# 1 and up (it has no weight 0: a server out of rotation is `down`), capped
# here at 1000.
WEIGHT_RANGE = {"haproxy": (0, 256), "nginx": (1, 1000)}

# The local URL that answers 200 while the engine runs (keepalived polls it).
HEALTH_PATH = "/halb-health"
# Beside it on the same local listener, nginx's stub_status counters (what
# the lb_status module reads); HAProxy answers its runtime API instead.
STATUS_PATH = "/halb-status"

# Prometheus metrics (the lb role's lb_metrics_listen): the engine's own at
# METRICS_PATH, and the node's (node_exporter, with keepalived's VRRP state)
# passed through at NODE_METRICS_PATH, both behind the same allow list.
METRICS_PATH = "/metrics"
NODE_METRICS_PATH = "/node/metrics"

# Backends the HAProxy renderer adds of its own beside the spec's pools: one
# stick table per rate-limited frontend, and the node exporter behind the
# metrics listener. No pool may take these names; lb_status leaves them out.
RATE_TABLE_PREFIX = "halb_rate10s_"
NODE_EXPORTER_BACKEND = "halb_node_exporter"

# The most connections a spec may allow (its maxconn), chosen so that the
# descriptor limit it needs (nofile_limit: 2 x maxconn + headroom) stays
# below the kernel's default per-process ceiling (fs.nr_open, 1048576) on
# any host, container or not: a limit above it makes systemd refuse to
# start the engine. 500,000 proxied connections also need some 16 GB for
# HAProxy's two 16 kB buffers each; more is a typo, not a plan.
MAX_MAXCONN = 500000

# Descriptors beyond the proxied connections: listening sockets, log files
# and sockets, health checks, the runtime socket, cache files, resolvers.
NOFILE_HEADROOM = 1024


def nofile_limit(maxconn, servers=0):
    """The open-files limit (RLIMIT_NOFILE) an engine needs for maxconn
    connections to pools of `servers` servers in all.

    Each proxied connection holds two descriptors, the client's socket and
    the server's: 2 * maxconn, plus NOFILE_HEADROOM for everything else,
    plus two per server: HAProxy counts a health check and an agent check
    socket for each when it sizes its own ulimit-n, and refuses to start
    when the unit's limit is lower (seen with 1,000 servers: it wanted 9244
    of a 9216 limit). For nginx, whose worker_connections (= maxconn)
    already counts both sides and whose checks are passive, maxconn alone
    is ample.
    """
    if isinstance(maxconn, bool) or not isinstance(maxconn, int) or maxconn < 1:
        raise ValueError("maxconn must be a whole number of at least 1, not %r" % (maxconn,))
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 0:
        raise ValueError("servers must be a whole number of at least 0, not %r" % (servers,))
    return 2 * maxconn + NOFILE_HEADROOM + 2 * servers


def endpoint(address, port):
    """address:port, an IPv6 address in brackets (as engines, URLs and Host
    headers write it); an address already in brackets keeps them once."""
    address = address.strip()
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    return "[%s]:%d" % (address, port) if ":" in address else "%s:%d" % (address, port)


def render_options(defaults, options):
    """A renderer's options: its defaults, overridden by `options`. An
    unknown key (one an older release took) is a TypeError, not ignored."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError("unknown render option %s; known: %s" % (", ".join(unknown), ", ".join(sorted(defaults))))
    merged = dict(defaults)
    merged.update(options)
    return merged
