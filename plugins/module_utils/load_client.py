# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded HTTP load client that records every request.

The load engine of the failover drill (and of anything else that must say
what a client saw): several worker threads, each holding one keep-alive
connection to the target, send requests back to back (or at a fixed pace)
and record when each started, how long it took, the status and which backend
answered (its X-Backend header). A run always stops by itself: at its
deadline or after max_requests, whichever comes first.

Failure accounting follows what a real client does. A GET whose reused
keep-alive connection turns out closed is retried once on a new connection,
as browsers do (RFC 9112 section 9.3.1); a request of any other method is
never retried, so a POST that meets a dying server counts as failed.

With a progress path, a run also rewrites a small JSON file about once a
second (requests so far, the last second's rate and p99): Ansible modules
cannot stream output, so a playbook reads that file while the run goes on.

Standard library only; times are wall-clock seconds (time.time()) so that
they line up with events recorded on other hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import http.client
import json
import os
import ssl
import threading
import time

IDEMPOTENT = ("GET", "HEAD")
# How often a run rewrites its progress file.
PROGRESS_EVERY_S = 1.0


class Record:
    """One request as the client saw it. status 0: no HTTP answer (see error)."""

    __slots__ = ("backend", "error", "ms", "start", "status")

    def __init__(self, start, ms, status, backend="", error=""):
        self.start = start
        self.ms = ms
        self.status = status
        self.backend = backend
        self.error = error

    @property
    def ok(self):
        return 200 <= self.status < 400

    @property
    def end(self):
        return self.start + self.ms / 1000.0

    def as_list(self):
        """Compact form for JSON: [start, ms, status, backend, error]."""
        return [round(self.start, 4), round(self.ms, 2), self.status, self.backend, self.error]

    @classmethod
    def from_list(cls, row):
        return cls(*row)


class Target:
    """Where the load goes: scheme, address, port, path, method and body.
    verify: check the server's certificate against the system's CAs (True),
    against the CA certificates of a PEM file (its path), or not (False)."""

    def __init__(self, address, port, path="/", tls=False, method="GET", body=None, host_header=None, verify=True):
        self.address = address
        self.port = port
        self.path = path
        self.tls = tls
        self.method = method.upper()
        self.body = body
        self.host_header = host_header
        self.verify = verify

    def connect(self, timeout):
        if not self.tls:
            return http.client.HTTPConnection(self.address, self.port, timeout=timeout)
        context = ssl.create_default_context(cafile=self.verify if isinstance(self.verify, str) else None)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(self.address, self.port, timeout=timeout, context=context)

    def headers(self):
        headers = {"User-Agent": "halb-load"}
        if self.host_header:
            headers["Host"] = self.host_header
        return headers


class _Worker:
    """One connection's request loop."""

    def __init__(self, target, timeout, interval, keepalive):
        self.target = target
        self.timeout = timeout
        self.interval = interval
        self.keepalive = keepalive
        self.conn = None

    def _close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def request(self):
        """Send one request (retrying a stale keep-alive GET once); return its Record."""
        start = time.time()
        began = time.monotonic()
        status, backend, error = 0, "", ""
        retry_allowed = self.target.method in IDEMPOTENT
        for attempt in (1, 2):
            reused = self.conn is not None
            try:
                if self.conn is None:
                    self.conn = self.target.connect(self.timeout)
                self.conn.request(
                    self.target.method, self.target.path, body=self.target.body, headers=self.target.headers()
                )
                resp = self.conn.getresponse()
                resp.read()
                status, backend, error = resp.status, resp.getheader("X-Backend") or "", ""
                if not self.keepalive or (resp.getheader("Connection") or "").lower() == "close":
                    self._close()
                break
            except (OSError, http.client.HTTPException) as exc:
                # A reset (OSError) or a torn reply (BadStatusLine,
                # IncompleteRead) is a failed request; the loop goes on.
                status, error = 0, type(exc).__name__
                self._close()
                if not (reused and retry_allowed) or attempt == 2:
                    break
        return Record(start, (time.monotonic() - began) * 1000.0, status, backend, error)


def run(
    target,
    seconds,
    connections=8,
    max_requests=100000,
    timeout=2.0,
    interval=0.0,
    keepalive=True,
    stop=None,
    progress_path=None,
):
    """Load `target` for at most `seconds` and `max_requests`; return Records sorted by start.

    interval > 0 paces each connection to one request per interval seconds
    (a steady probe); 0 sends back to back (load). `stop`, a threading.Event,
    ends the run early when set (a load that lasts as long as something else).
    progress_path: a file rewritten about once a second while the run goes
    on, and a last time with "done": true (see Progress); an OSError from its
    first write is raised before any request is sent.
    """
    records = []
    lock = threading.Lock()
    progress = Progress(progress_path, seconds) if progress_path else None
    if progress:
        progress.update([])
    deadline = time.monotonic() + seconds
    budget = [max_requests]

    def loop():
        worker = _Worker(target, timeout, interval, keepalive)
        next_at = time.monotonic()
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            record = worker.request()
            with lock:
                records.append(record)
            if interval > 0:
                next_at += interval
                delay = min(next_at, deadline) - time.monotonic()
                if delay > 0 and stop:
                    stop.wait(delay)
                elif delay > 0:
                    time.sleep(delay)
                else:
                    next_at = time.monotonic()  # a slow request: keep pace from now
        worker._close()

    threads = [threading.Thread(target=loop, daemon=True) for _worker in range(connections)]
    for thread in threads:
        thread.start()
    finished = threading.Event()
    if progress:
        reporter = threading.Thread(target=progress.follow, args=(records, lock, finished), daemon=True)
        reporter.start()
    for thread in threads:
        # A request in flight at the deadline ends within its timeout
        # (two attempts at most).
        thread.join(seconds + 2 * timeout + 5)
    if progress:
        finished.set()
        reporter.join()
        progress.finish(records, lock)
    return sorted(records, key=lambda r: r.start)


class Progress:
    """A running load's progress file: rewritten whole (a temporary file
    renamed over it, so a reader never sees half of one) at every update.

    It holds tick (0 at the start, one more per update), elapsed_s, seconds
    (the planned length), requests and failures so far, rps and p99_ms of the
    requests answered since the previous update (the last second; of the
    whole run in the last update), done (true in the last update) and
    updated_at (Unix time).
    """

    def __init__(self, path, seconds):
        self.path = path
        self.seconds = seconds
        self.tick = 0
        self.requests = 0
        self.failures = 0
        self.seen = 0
        self.began = self.last = time.monotonic()

    def update(self, recent, done=False, run=None):
        """Count `recent` (the records answered since the last update), rewrite the file, return what it holds.

        run: every record of the run, for the last update, whose rate and p99
        are the whole run's (its window since the previous update is a sliver).
        """
        now = time.monotonic()
        window, self.last = now - self.last, now
        self.requests += len(recent)
        self.failures += sum(1 for r in recent if not r.ok)
        measured = recent if run is None else run
        if run is not None:
            window = now - self.began
        snapshot = {
            "tick": self.tick,
            "elapsed_s": round(now - self.began, 2),
            "seconds": self.seconds,
            "requests": self.requests,
            "failures": self.failures,
            "rps": round(len(measured) / window, 1) if measured and window > 0 else 0.0,
            "p99_ms": round_ms(percentile([r.ms for r in measured if r.ok], 99)),
            "done": done,
            "updated_at": round(time.time(), 3),
        }
        write_json(self.path, snapshot)
        self.tick += 1
        return snapshot

    def _take(self, records, lock):
        # Workers append in the order requests end: what lies past `seen`
        # ended since the last update.
        with lock:
            recent = records[self.seen :]
            self.seen = len(records)
        return recent

    def follow(self, records, lock, finished):
        """Update once a second, on the second of the run, until `finished` is set."""
        while not finished.wait(max(0.0, self.began + (self.tick * PROGRESS_EVERY_S) - time.monotonic())):
            try:
                self.update(self._take(records, lock))
            except OSError:
                return  # the load and its records matter more than the progress file

    def finish(self, records, lock):
        """The last update: everything answered, done, with the whole run's rate and p99."""
        # As in follow(): the run's records are its result, not this file.
        with contextlib.suppress(OSError):
            self.update(self._take(records, lock), done=True, run=records)


def read_records(path):
    """A records file lb_load wrote (records_path): (its fields, [Record]).
    Raises OSError, ValueError, KeyError or TypeError for a file that is not one."""
    with open(path) as handle:
        load = json.load(handle)
    return load, [Record.from_list(row) for row in load["records"]]


def write_text(path, text):
    """Write a report file whole, creating its directory first."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory)
    with open(path, "w") as handle:
        handle.write(text)


def write_json(path, data):
    """Replace path with data as JSON in one step: a reader sees the old file or the new one."""
    temporary = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(temporary, "w") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)
    except (OSError, TypeError, ValueError):
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def percentile(values, p):
    """Nearest-rank percentile of a list; None when it is empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-p * len(ordered) // 100)))  # ceil(p/100 * n)
    return ordered[min(rank, len(ordered)) - 1]


def latency(records):
    """p50/p99/max latency (ms) of the successful requests among records."""
    values = [r.ms for r in records if r.ok]
    return {
        "count": len(values),
        "p50_ms": round_ms(percentile(values, 50)),
        "p99_ms": round_ms(percentile(values, 99)),
        "max_ms": round_ms(max(values) if values else None),
    }


def outage(records, start, end):
    """The longest time without a successful answer between start and end.

    It is measured between answer completions, from the last success before
    the window (or `start`) to the first one after; returns (ms, from, to).
    """
    ends = sorted(r.end for r in records if r.ok and start <= r.end <= end)
    before = [r.end for r in records if r.ok and r.end < start]
    points = ([max(before)] if before else [start]) + ends
    if len(points) < 2:
        return (end - points[0]) * 1000.0, points[0], end
    gap, frm, to = max((b - a, a, b) for a, b in zip(points, points[1:]))
    return gap * 1000.0, frm, to


def summary(records, seconds):
    """Totals of a run: requests, failures, rate, latency and backend counts."""
    failed = [r for r in records if not r.ok]
    backends = {}
    for r in records:
        if r.ok and r.backend:
            backends[r.backend] = backends.get(r.backend, 0) + 1
    errors = {}
    for r in failed:
        key = r.error or "status %d" % r.status
        errors[key] = errors.get(key, 0) + 1
    return {
        "requests": len(records),
        "failures": len(failed),
        "errors": errors,
        "rps": round(len(records) / seconds, 1) if seconds > 0 else 0.0,
        "latency": latency(records),
        "backends": backends,
    }


def round_ms(value):
    """A latency for a report: two decimals, None stays None."""
    return None if value is None else round(value, 2)
