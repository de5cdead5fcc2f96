"""A bounded HTTP load generator with per-request records.

Each worker thread keeps one keep-alive connection to the target and sends
requests back to back, recording when each started, how long it took and
which backend answered (X-Backend). It stops at the deadline or after
max_requests, whichever comes first. Targets are the lab's own addresses.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass


@dataclass
class Record:
    start: float  # seconds since the run began
    ms: float
    backend: str | None  # None: failed


def run(host: str, port: int, path: str, seconds: float, workers: int = 8, max_requests: int = 200000, events=()):
    """Load for `seconds`; `events` is [(at_seconds, callable)] run on time.
    Returns the records, sorted by start."""
    records: list[Record] = []
    lock = threading.Lock()
    t0 = time.monotonic()
    deadline = t0 + seconds
    count = [0]

    def worker():
        conn = None
        while time.monotonic() < deadline:
            with lock:
                if count[0] >= max_requests:
                    return
                count[0] += 1
            start = time.monotonic()
            backend = None
            # Like browsers (RFC 9112 9.3.1): when a kept-alive connection
            # turns out closed (e.g. an nginx reload retired it), retry the
            # idempotent GET once on a new connection.
            for attempt in (1, 2):
                reused = conn is not None
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(host, port, timeout=5)
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 200:
                        backend = resp.getheader("X-Backend")
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    if not reused or attempt == 2:
                        break
            end = time.monotonic()
            with lock:
                records.append(Record(start - t0, (end - start) * 1000, backend))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for at, action in sorted(events, key=lambda e: e[0]):
        delay = t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        action()
    for thread in threads:
        thread.join(seconds + 10)
    return sorted(records, key=lambda r: r.start)


def shares(records, backends, window: float, start: float = 0.0, end: float | None = None):
    """[(window start, {backend: share})] over fixed windows."""
    end = end if end is not None else max((r.start for r in records), default=0.0)
    out = []
    t = start
    while t < end:
        inside = [r for r in records if t <= r.start < t + window and r.backend]
        total = len(inside) or 1
        out.append((t, {b: sum(1 for r in inside if r.backend == b) / total for b in backends}))
        t += window
    return out


def percentile(values, p: float):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(-(-p * len(ordered) // 100)))  # ceil(p/100 * n)
    return ordered[min(rank, len(ordered)) - 1]
