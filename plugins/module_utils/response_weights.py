# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The weight computation behind the fastest_response strategy.

    measured response times --EWMA--> smoothed latency per server
        --((fastest + noise) / (own + noise))^exponent--> share of the configured weight
        --clip to [floor, max]--> weight the engine uses (weighted round robin)

Response times are smoothed with an exponentially weighted moving average
whose half-life is in seconds, so the weights follow a slow server within a
few half-lives and forget a spike just as fast. A slow server keeps a floor
weight: it still gets a trickle of requests, which is how its recovery is
measured. A server with no fresh samples keeps its last smoothed value, and
a server never measured yet gets its full weight, so it is tried. The engine
balances by weighted round robin underneath; servers within a few
milliseconds of each other keep nearly equal weights (noise_ms), so a burst
is spread over all of them rather than piled onto the one "fastest".

Only eligible servers are steered: a drained server (drain: true) and one
configured with weight 0 get weight 0 whatever is measured, and neither
counts as "the fastest" (a drained server still answers its persistent
sessions, fast, since it has little else to do). Backup servers are compared
with the other backups only: they take traffic when the active servers are
down, and a backup measured then must not make the actives look slow once
they are back (its smoothed value stays, as it gets no more samples).

Standard library only; it runs in the agent on the load balancer host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

if __name__.startswith("ansible_collections."):
    from ansible_collections.halb.loadbalancer.plugins.module_utils.engine_facts import TOP_WEIGHT, endpoint
else:
    # On the load balancer host this file is a plain module next to the
    # response agent and a copy of engine_facts.py (see the response_agent
    # role's tasks/install.yml).
    from engine_facts import TOP_WEIGHT, endpoint  # pylint: disable=import-error


class Ewma(object):
    """Time-based EWMA: a sample's weight depends on the time since the last."""

    def __init__(self, half_life_s):
        if half_life_s <= 0:
            raise ValueError("half_life_s must be positive")
        self.half_life_s = float(half_life_s)
        self.value = None
        self.updated = None

    def update(self, sample, now):
        if self.value is None:
            self.value, self.updated = float(sample), now
            return self.value
        elapsed = max(0.0, now - self.updated)
        alpha = 1.0 - 0.5 ** (elapsed / self.half_life_s)
        self.value += alpha * (float(sample) - self.value)
        self.updated = now
        return self.value


def target_weights(
    latency_ms,
    base_weights,
    floor=1,
    max_weight=TOP_WEIGHT["haproxy"],
    exponent=4.0,
    noise_ms=20.0,
    backups=(),
    excluded=(),
):
    """Weights from smoothed latencies.

    latency_ms: {server: smoothed ms or None (never measured)}
    base_weights: {server: configured weight}; the fastest server gets it.
    A base weight of 0 (drained, or configured at 0; see steered_weights)
    gives weight 0, as does being in `excluded` (drained at run time):
    such servers are not steered and are not compared with.
    backups: the backup servers, compared with each other only; the active
    servers are compared with the active ones.
    noise_ms: added to every latency before comparing, so servers a few
    milliseconds apart keep nearly equal weights (and the traffic of a
    burst stays spread over them); a server tens of ms slower still drops.
    Returns {server: int weight}, every steered one at least `floor` (>= 1),
    so the eligible servers never all end up at zero.
    """
    floor = max(1, int(floor))
    backups, excluded = set(backups), set(excluded)
    steered = set(server for server, base in base_weights.items() if base > 0 and server not in excluded)
    fastest = {}
    for backup in (False, True):
        measured = [
            latency_ms[server]
            for server in steered
            if (server in backups) == backup and latency_ms.get(server) is not None
        ]
        fastest[backup] = min(measured) + noise_ms if measured else None
    weights = {}
    for server, base in base_weights.items():
        if server not in steered:
            weights[server] = 0
            continue
        ms, best = latency_ms.get(server), fastest[server in backups]
        share = 1.0 if ms is None or best is None else (best / (ms + noise_ms)) ** exponent
        weights[server] = int(min(max_weight, max(floor, round(base * share))))
    return weights


class Balancer(object):
    """Keeps one EWMA per server and turns samples into weights."""

    def __init__(
        self,
        base_weights,
        half_life_s=2.0,
        floor=1,
        max_weight=TOP_WEIGHT["haproxy"],
        exponent=4.0,
        noise_ms=20.0,
        backups=(),
    ):
        self.base_weights = dict(base_weights)
        self.floor, self.max_weight, self.exponent, self.noise_ms = floor, max_weight, exponent, noise_ms
        self.backups = frozenset(backups)
        self.ewma = dict((server, Ewma(half_life_s)) for server in base_weights)

    def observe(self, server, sample_ms, now):
        if server in self.ewma and sample_ms is not None and sample_ms >= 0:
            self.ewma[server].update(sample_ms, now)

    def latencies(self):
        return dict((server, e.value) for server, e in self.ewma.items())

    def weights(self, excluded=()):
        """{server: weight}; servers in `excluded` (drained at run time) get 0."""
        return target_weights(
            self.latencies(),
            self.base_weights,
            self.floor,
            self.max_weight,
            self.exponent,
            self.noise_ms,
            self.backups,
            excluded,
        )


def changes(old, new):
    """The servers whose weight differs, for logging and for the engine."""
    return dict((server, weight) for server, weight in new.items() if old.get(server) != weight)


# --- what the engines are given -------------------------------------------


def base_weights(weights, engine):
    """Configured weights scaled to the engine's range: {name: int}.

    Rendered weights of a fastest_response pool are scaled up so the agent
    has room to lower them smoothly: the largest configured weight maps to
    the engine's top weight (engine_facts.TOP_WEIGHT)."""
    top = TOP_WEIGHT[engine]
    scale = top // max(list(weights.values()) + [1])
    # A configured weight of 0 (HAProxy: no new traffic) stays 0.
    return dict((name, max(1, weight * scale) if weight > 0 else 0) for name, weight in weights.items())


def eligible(server):
    """Whether the agent steers this server's weight: not drained, and
    configured with a weight above 0. The others keep what the config gives
    them (HAProxy weight 0, nginx `down`), whatever is measured."""
    return not server.get("drain") and server.get("weight", 0) > 0


def steered_weights(servers):
    """{name: starting weight} of a pool's servers for a Balancer: the
    configured (scaled) weight of eligible servers, 0 for the others."""
    return dict((s["name"], s["weight"] if eligible(s) else 0) for s in servers)


def nginx_server_lines(servers, weights):
    """The server lines of an nginx upstream for a fastest_response pool.

    servers: [{name, address, port, max_fails, fail_timeout_s, backup, drain}]
    Written by lb_config (first) and by the agent (afterwards): one function,
    so both produce the same file for the same weights.

    A drained server is written `down` (with the weight it is given: its
    starting weight, from the renderer and the agent alike); nginx has no
    weight 0, so a weight of 0 is written `down` too, at weight 1.
    """
    lines = ["# halb fastest_response servers %s" % server_set_id(servers)]
    for server in servers:
        weight = weights[server["name"]]
        line = "server %s weight=%d max_fails=%d fail_timeout=%ds" % (
            endpoint(server["address"], server["port"]),
            max(1, weight),
            server["max_fails"],
            server["fail_timeout_s"],
        )
        if server.get("backup"):
            line += " backup"
        if server.get("drain") or weight <= 0:
            line += " down"
        lines.append(line + ";")
    return "\n".join(lines) + "\n"


def server_set_id(servers):
    """Names the servers of a pool without their weights: a file with another
    id was written for another pool layout and must be replaced."""
    key = "|".join(
        "%s=%s:%d:%d:%d:%d:%d" % (s["name"], s["address"], s["port"], s["max_fails"], s["fail_timeout_s"],
                                  bool(s.get("backup")), bool(s.get("drain")))
        for s in servers
    )  # fmt: skip
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]  # noqa: S324 (an identifier, not security)


def agent_servers(pool):
    """A parsed pool's servers as plain dicts (what files and the agent take)."""
    return [
        {
            "name": s.name,
            "address": s.address,
            "port": s.port,
            "weight": s.weight,
            "max_fails": s.max_fails,
            "fail_timeout_s": s.fail_timeout_ms // 1000,
            "backup": s.backup,
            "drain": s.drain,
        }
        for s in pool.servers
    ]


def agent_pools(spec, engine):
    """The agent's view of a parsed spec: fastest_response pools, their
    servers with the weights the engine starts from."""
    pools = {}
    for pool in spec.pools:
        if pool.strategy == "fastest_response":
            servers = agent_servers(pool)
            start = base_weights(dict((s["name"], s["weight"]) for s in servers), engine)
            pools[pool.name] = {"servers": [dict(s, weight=start[s["name"]]) for s in servers]}
    return pools
