"""A client that polls a URL at a fixed cadence and reports what it saw.

It is what "the client-visible outage" means in this project: the longest
time between two successful answers while a failure is injected. Every run
is bounded in duration and request count and stops by itself.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Sample:
    start: float  # monotonic seconds when the request was sent
    ok: bool
    backend: str  # X-Backend header, or the error
    elapsed_ms: float


@dataclass
class Poller:
    host: str
    port: int = 80
    path: str = "/health"
    interval: float = 0.02
    timeout: float = 0.25
    max_seconds: float = 60.0
    max_requests: int = 5000
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _once(self) -> Sample:
        start = time.monotonic()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("GET", self.path, headers={"Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
            backend = resp.getheader("X-Backend") or f"status {resp.status}"
        except (OSError, http.client.HTTPException) as exc:
            # A server killed mid-answer gives a reset (OSError) or a torn
            # reply (BadStatusLine, IncompleteRead): both are a failed
            # request, and the poller must go on polling.
            ok, backend = False, type(exc).__name__
        finally:
            conn.close()
        return Sample(start, ok, backend, (time.monotonic() - start) * 1000)

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        next_at = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < deadline and len(self.samples) < self.max_requests:
            self.samples.append(self._once())
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()  # a slow request: keep cadence from now

    def start(self) -> Poller:
        self._thread.start()
        return self

    def stop(self) -> Poller:
        self._stop.set()
        self._thread.join()
        return self

    def wait_for(self, predicate, timeout: float) -> bool:
        """Wait until predicate(samples) holds, or timeout; True if it held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.samples):
                return True
            time.sleep(0.05)
        return predicate(self.samples)

    # --- results -------------------------------------------------------
    @property
    def failed(self) -> int:
        return sum(1 for s in self.samples if not s.ok)

    def outage_ms(self, since: float | None = None) -> float:
        """Longest gap between two successful answers (after `since`).

        With no failure it is about one polling interval; with failures it
        spans from the last answer before them to the first one after.
        """
        oks = [s.start + s.elapsed_ms / 1000 for s in self.samples if s.ok and (since is None or s.start >= since)]
        if len(oks) < 2:
            raise AssertionError(f"too few successful answers to measure an outage ({len(oks)})")
        return max(b - a for a, b in zip(oks, oks[1:])) * 1000

    def backends(self, since: float | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.samples:
            if s.ok and (since is None or s.start >= since):
                counts[s.backend] = counts.get(s.backend, 0) + 1
        return counts

    def summary(self, since: float | None = None) -> dict:
        return {
            "requests": len(self.samples),
            "failed": self.failed,
            "outage_ms": round(self.outage_ms(since), 1),
            "interval_ms": self.interval * 1000,
        }


def recovered_after(t0: float, settle: float = 0.5):
    """Predicate: answers have been succeeding for `settle` s after t0."""

    def check(samples: list[Sample]) -> bool:
        after = [s for s in samples if s.start >= t0]
        if not after or not after[-1].ok:
            return False
        failed_at = [s.start for s in after if not s.ok]
        last_fail = failed_at[-1] if failed_at else t0
        return after[-1].start - last_fail >= settle

    return check
