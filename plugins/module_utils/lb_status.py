# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one node says about itself, read without changing anything: the
engine, its config, the VIPs it holds, each backend server as the engine
sees it (HAProxy's runtime API; nginx open source keeps no per-server
counters, so the node probes each server's health URL), and the host's
load. The lb_status module gathers it on each node; status_table turns
every node's answer into one table on the controller.

Standard library only: this runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

from ansible_collections.halb.loadbalancer.plugins.module_utils.engine_facts import (
    NODE_EXPORTER_BACKEND,
    RATE_TABLE_PREFIX,
)

# HAProxy `show stat` columns kept per server, and what they are called here.
HAPROXY_SERVER_FIELDS = (
    ("status", "state"),  # UP, DOWN, DRAIN, MAINT, "UP 1/2" while it rises
    ("scur", "sessions"),  # current sessions
    ("rate", "rate"),  # new sessions in the last second
    ("stot", "total"),  # sessions (HTTP: requests) since the engine started
    ("rtime", "response_ms"),  # average response time of the last 1024 requests
    ("check_status", "check"),
    ("weight", "weight"),
)
STUB_STATUS_RE = re.compile(
    r"Active connections:\s*(\d+)\s*\n\s*server accepts handled requests\s*\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n"
    r"\s*Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)"
)


def file_summary(path, now):
    """sha256 and age in seconds of a config file, or None when missing."""
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        return {"sha256": digest, "age_s": max(0, int(now - os.stat(path).st_mtime))}
    except (IOError, OSError):
        return None


def held_addresses(ip_addr_output):
    """The addresses of `ip -o addr show` output (without prefix lengths)."""
    out = []
    for line in ip_addr_output.splitlines():
        words = line.split()
        for index, word in enumerate(words[:-1]):
            if word in ("inet", "inet6"):
                out.append(words[index + 1].split("/")[0])
    return out


def host_load(loadavg_text, meminfo_text):
    """Load averages (1, 5, 15 min) and memory in MB from /proc."""
    load = [float(value) for value in loadavg_text.split()[:3]]
    mem = {}
    for line in meminfo_text.splitlines():
        name, _sep, rest = line.partition(":")
        if name in ("MemTotal", "MemAvailable") and rest.split():
            mem[name] = int(rest.split()[0]) // 1024
    return {"load": load, "mem_total_mb": mem.get("MemTotal"), "mem_available_mb": mem.get("MemAvailable")}


def _number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def haproxy_servers(stat_rows):
    """Every server row of `show stat` (haproxy_runtime.parse_stat_csv)."""
    out = []
    for row in stat_rows:
        name = row.get("pxname", "")
        if row.get("svname") in ("FRONTEND", "BACKEND") or name.startswith(RATE_TABLE_PREFIX):
            continue
        if name == NODE_EXPORTER_BACKEND:  # the metrics listener's, not a pool
            continue
        server = {"pool": row.get("pxname"), "server": row.get("svname")}
        for column, name in HAPROXY_SERVER_FIELDS:
            value = row.get(column, "")
            server[name] = value if name in ("state", "check") else _number(value)
        out.append(server)
    return out


def parse_stub_status(text):
    """nginx's stub_status page as numbers, or raise ValueError."""
    match = STUB_STATUS_RE.search(text)
    if not match:
        raise ValueError("not an nginx stub_status page: %r" % text[:200])
    names = ("active", "accepted", "handled", "requests", "reading", "writing", "waiting")
    return dict(zip(names, (int(value) for value in match.groups())))


def nginx_servers(pools, probes):
    """Servers of the spec's pools with what probing them found: nginx open
    source counts nothing per server, so the state is the node's own
    probe of each server's health URL, and sessions and rate are unknown."""
    out = []
    for pool, result in zip([p for p in pools for _s in p["servers"]], probes):
        latency = result.get("latency_ms") or {}
        out.append({
            "pool": pool["name"],
            "server": result["name"],
            "state": "UP" if result["healthy"] else "DOWN",
            "sessions": None,
            "rate": None,
            "total": None,
            "response_ms": latency.get("median"),
            "check": result.get("top_failure") or ("probe ok" if result["healthy"] else "probe failed"),
            "weight": None,
        })  # fmt: skip
    return out


# --- the controller's table -------------------------------------------------


def _cell(value):
    return "-" if value is None or value == "" else str(value)


def _table(header, rows):
    widths = [max(len(_cell(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(_cell(value).ljust(width) for value, width in zip(row, widths)).rstrip()
             for row in [header] + rows]  # fmt: skip
    # "=", not "-": Ansible's YAML output would quote a line starting with "-".
    lines.insert(1, "  ".join("=" * width for width in widths))
    return lines


def status_table(nodes, backends, vips):
    """One text table of every LB node (name -> lb_status result), the
    backend hosts' load (name -> host) and who holds each VIP."""
    lines = []
    for vip in vips:
        holders = sorted(name for name, node in nodes.items() if vip in node.get("vips_held", []))
        verdict = "OK" if len(holders) == 1 else ("NOBODY" if not holders else "SPLIT BRAIN")
        lines.append("VIP %s held by %s (%s)" % (vip, ", ".join(holders) or "no node", verdict))
    digests = set((node.get("config") or {}).get("sha256") for node in nodes.values() if not node.get("unreachable"))
    same = "the same on every node" + (" that answered" if any(n.get("unreachable") for n in nodes.values()) else "")
    agree = len(digests) == 1 and None not in digests
    lines.append("config %s" % (same if agree else "DIFFERS between nodes (or is missing)"))
    lines.append("")
    node_rows = []
    for name in sorted(nodes):
        node = nodes[name]
        if node.get("unreachable"):
            node_rows.append([name, None, "UNREACHABLE", None, None, None, None, None])
            continue
        config = node.get("config") or {}
        node_rows.append([
            name, node.get("engine"), "up" if node.get("engine_active") else "DOWN",
            "up" if node.get("keepalived_active") else "DOWN", " ".join(node.get("vips_held", [])),
            (config.get("sha256") or "")[:8], config.get("age_s"), _load_text(node.get("host")),
        ])  # fmt: skip
    lines += _table(["node", "engine", "state", "vrrp", "VIPs held", "config", "age s", "load"],
                    node_rows)  # fmt: skip
    lines.append("")
    server_rows = []
    for name in sorted(nodes):
        for server in nodes[name].get("servers", []):
            server_rows.append([name, server["pool"], server["server"], server["state"], server["sessions"],
                                server["rate"], server["response_ms"], server["check"]])  # fmt: skip
    lines += _table(["node", "pool", "server", "state", "sessions", "rate/s", "resp ms", "check"], server_rows)
    if backends:
        lines.append("")
        rows = [[name, _load_text(host), host.get("mem_available_mb"), host.get("mem_total_mb")]
                for name, host in sorted(backends.items())]  # fmt: skip
        lines += _table(["backend host", "load 1/5/15", "mem free MB", "mem MB"], rows)
    return "\n".join(lines)


def _load_text(host):
    if not host or not host.get("load"):
        return None
    return "/".join("%.2f" % value for value in host["load"])
