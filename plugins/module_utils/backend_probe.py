# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe backend servers over TCP or plain HTTP and summarise the results.

Standard library only: this runs on the managed host, where the backends are
reached from, with Python 3.8 or later.

A probe is one TCP connect (mode tcp) or one HTTP request (mode http). Its
latency is measured with a monotonic clock from before name resolution and
connect until the connect completes (tcp) or the whole response has been
read (http). `timeout` bounds the whole probe, not each socket operation, so
a server that drips its answer slowly still fails in time; only a slow name
lookup, which sockets cannot interrupt, may stretch it.

A failed probe has a short reason for machines and a detail for people:

  refused        the connection was refused (nothing listens on the port)
  timeout        no connection or no complete answer within `timeout`
  unreachable    any other network error: no route, name not resolved, reset
  wrong_status   the HTTP status is not one of `expected_status`
  body_mismatch  the response body lacks `body_contains`
  protocol       the answer is not HTTP
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import math
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.halb.loadbalancer.plugins.module_utils.engine_facts import endpoint

REASONS = ("refused", "timeout", "unreachable", "wrong_status", "body_mismatch", "protocol")
USER_AGENT = "halb-backend-verify"
_READ_SIZE = 65536


class ProbeSettings:
    """How to probe each server; the same for every server of a pool."""

    def __init__(
        self,
        mode="http",
        timeout=2.0,
        method="GET",
        path="/health",
        expected_status=200,
        body_contains=None,
        host_header=None,
        probes=5,
        interval=0.0,
        min_success_ratio=1.0,
    ):
        if mode not in ("http", "tcp"):
            raise ValueError("mode must be http or tcp, not %r" % (mode,))
        self.mode = mode
        self.timeout = float(timeout)
        self.method = method
        self.path = path
        if isinstance(expected_status, int):
            expected_status = [expected_status]
        self.expected_status = [int(status) for status in expected_status]
        self.body_contains = body_contains
        self.host_header = host_header
        self.probes = int(probes)
        self.interval = float(interval)
        self.min_success_ratio = float(min_success_ratio)


class ProbeFailure(Exception):
    """A probe failed for a reason that is not an exception of the network."""

    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def strip_brackets(address):
    """`[2001:db8::1]` -> `2001:db8::1`: sockets want the bare address."""
    address = address.strip()
    if address.startswith("[") and address.endswith("]"):
        return address[1:-1]
    return address


def classify(exc, timeout):
    """(reason, detail) for an exception raised by a probe."""
    if isinstance(exc, ProbeFailure):
        return exc.reason, exc.detail
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    # socket.timeout is an OSError but not a TimeoutError before Python 3.10.
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout", "no complete answer within %gs" % timeout
    if isinstance(exc, http.client.IncompleteRead):
        return "protocol", "incomplete HTTP response: %r" % (exc,)
    # Before OSError: RemoteDisconnected is both an HTTPException and a
    # ConnectionResetError, and means the server does not speak HTTP to us.
    if isinstance(exc, http.client.HTTPException):
        return "protocol", "not an HTTP response: %s" % (_exc_text(exc),)
    if isinstance(exc, socket.gaierror):
        return "unreachable", "cannot resolve the address: %s" % (_exc_text(exc),)
    if isinstance(exc, OSError):
        return "unreachable", _exc_text(exc)
    raise exc


def _exc_text(exc):
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _remaining(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("timed out")
    return left


def _tcp_exchange(address, port, settings, deadline):
    sock = socket.create_connection((address, port), timeout=_remaining(deadline))
    sock.close()


def _request_bytes(address, port, settings):
    host = settings.host_header or endpoint(address, port)
    lines = [
        "%s %s HTTP/1.1" % (settings.method, settings.path),
        "Host: %s" % host,
        "User-Agent: %s" % USER_AGENT,
        "Accept: */*",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _http_exchange(address, port, settings, deadline):
    sock = socket.create_connection((address, port), timeout=_remaining(deadline))
    try:
        sock.settimeout(_remaining(deadline))
        sock.sendall(_request_bytes(address, port, settings))
        # HTTPResponse parses the status line, headers, chunked or sized
        # bodies; the socket stays ours so each read gets the time left.
        response = http.client.HTTPResponse(sock, method=settings.method)
        try:
            sock.settimeout(_remaining(deadline))
            response.begin()
            marker = (settings.body_contains or "").encode("utf-8")
            found = not marker
            tail = b""
            while True:
                sock.settimeout(_remaining(deadline))
                chunk = response.read(_READ_SIZE)
                if not chunk:
                    break
                if not found:
                    # Keep the end of the previous chunk: the marker may straddle two.
                    window = tail + chunk
                    found = marker in window
                    tail = window[-(len(marker) - 1) :] if len(marker) > 1 else b""
            # read(amt) does not complain when the server closes before
            # Content-Length bytes arrived; the count left shows it.
            if response.length:
                raise ProbeFailure(
                    "protocol", "incomplete HTTP response: %d bytes of the body missing" % response.length
                )
        finally:
            response.close()
    finally:
        sock.close()
    if response.status not in settings.expected_status:
        raise ProbeFailure(
            "wrong_status",
            "got %d, expected %s" % (response.status, " or ".join(str(s) for s in settings.expected_status)),
        )
    if not found:
        raise ProbeFailure("body_mismatch", "response body does not contain %r" % (settings.body_contains,))


def probe_once(address, port, settings):
    """One probe: {ok, latency_ms, reason, detail}; reason and detail are None on success."""
    address = strip_brackets(address)
    exchange = _tcp_exchange if settings.mode == "tcp" else _http_exchange
    start = time.monotonic()
    try:
        exchange(address, port, settings, start + settings.timeout)
    except Exception as exc:  # pylint: disable=broad-except
        reason, detail = classify(exc, settings.timeout)
        return {"ok": False, "latency_ms": (time.monotonic() - start) * 1000.0, "reason": reason, "detail": detail}
    return {"ok": True, "latency_ms": (time.monotonic() - start) * 1000.0, "reason": None, "detail": None}


def nearest_rank(values, percent):
    """The percent-th percentile by the nearest-rank method.

    The smallest value such that at least percent % of the values are less
    than or equal to it: sorted(values)[ceil(percent / 100 * n) - 1]. It is
    always one of the values; with 5 probes the 95th percentile is the max.
    """
    if not values:
        raise ValueError("nearest_rank needs at least one value")
    if not 0 <= percent <= 100:
        raise ValueError("percent must be within 0-100, not %r" % (percent,))
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(latencies):
    """min, median, p95 (nearest rank) and max in ms, or None without values."""
    if not latencies:
        return None
    return {
        "min": round(min(latencies), 3),
        "median": round(statistics.median(latencies), 3),
        "p95": round(nearest_rank(latencies, 95), 3),
        "max": round(max(latencies), 3),
    }


def group_failures(results):
    """[{reason, detail, count}] most frequent first; ties in order of first occurrence."""
    groups = {}
    for result in results:
        if not result["ok"]:
            key = (result["reason"], result["detail"])
            groups[key] = groups.get(key, 0) + 1
    # dicts keep insertion order and sorted() is stable, so ties keep it too.
    ordered = sorted(groups.items(), key=lambda item: -item[1])
    return [{"reason": reason, "detail": detail, "count": count} for (reason, detail), count in ordered]


def top_failure(failures):
    """The reason behind the most failed probes, summed over its details; None without failures."""
    totals = {}
    for failure in failures:
        totals[failure["reason"]] = totals.get(failure["reason"], 0) + failure["count"]
    if not totals:
        return None
    return max(totals, key=lambda reason: totals[reason])


def probe_server(server, settings, sleep=time.sleep):
    """Probe one server `settings.probes` times in a row and summarise.

    server: a dict with address, port and optional name.
    """
    address, port = server["address"], int(server["port"])
    results = []
    for index in range(settings.probes):
        if index and settings.interval > 0:
            sleep(settings.interval)
        results.append(probe_once(address, port, settings))
    successes = sum(1 for result in results if result["ok"])
    failures = group_failures(results)
    return {
        "name": server.get("name") or endpoint(address, port),
        "address": address,
        "port": port,
        # The epsilon keeps a product such as 0.28 * 25 = 7.000000000000001
        # from asking for one success more than meant.
        "healthy": successes >= settings.min_success_ratio * settings.probes - 1e-9,
        "successes": successes,
        "probes": settings.probes,
        "latency_ms": latency_summary([r["latency_ms"] for r in results if r["ok"]]),
        "failures": failures,
        "top_failure": top_failure(failures),
    }


def probe_servers(servers, settings, workers=16):
    """Probe every server, up to `workers` at a time; results in input order."""
    if not servers:
        return []
    workers = max(1, min(int(workers), len(servers)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda server: probe_server(server, settings), servers))


def describe_unhealthy(result):
    """One line for a failing server, e.g. `web3 (192.0.2.13:8080): refused x5 (connection refused)`."""
    totals = {}
    for failure in result["failures"]:
        totals[failure["reason"]] = totals.get(failure["reason"], 0) + failure["count"]
    counts = ", ".join("%s x%d" % (reason, count) for reason, count in sorted(totals.items(), key=lambda i: -i[1]))
    where = endpoint(result["address"], result["port"])
    # A server named after its address and port needs them only once.
    label = result["name"] if result["name"] == where else "%s (%s)" % (result["name"], where)
    text = "%s: %s" % (label, counts)
    if result["failures"]:
        text += " (%s)" % result["failures"][0]["detail"]
    if result["successes"]:
        text += ", %d of %d probes ok" % (result["successes"], result["probes"])
    return text


def summary_message(results, min_healthy=None):
    """`2 of 3 backends healthy; web3 (192.0.2.13:8080): refused x5 (connection refused)`.

    With min_healthy and fewer healthy servers than that, the first part
    reads `2 of 3 backends healthy, need at least 3`.
    """
    healthy = sum(1 for result in results if result["healthy"])
    head = "%d of %d backends healthy" % (healthy, len(results))
    if min_healthy is not None and healthy < min_healthy:
        head += ", need at least %d" % min_healthy
    return "; ".join([head] + [describe_unhealthy(r) for r in results if not r["healthy"]])
