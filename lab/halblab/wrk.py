"""Load through a VIP with wrk (Debian's, on the host running the tests or the lab),
bounded in time; the VIP is on the scenario's own Docker network."""

from __future__ import annotations

import collections
import math
import os
import re
import signal
import subprocess

SHARES_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk_shares.lua")
LATENCY_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk_latency.lua")


def _command(
    vip: str, port: int, path: str, seconds: int, connections: int, threads: int, scheme: str = "http"
) -> list[str]:
    return ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--timeout", "2s",
            "%s://%s:%d%s" % (scheme, vip, port, path)]  # fmt: skip


def parse(out: str) -> dict:
    """Requests, errors and non-2xx/3xx answers from wrk's summary."""
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": requests,
        "errors": errors,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "output": out,
    }


def run(vip: str, port: int, path: str, seconds: int, connections: int, threads: int = 2) -> dict:
    """wrk with keep-alive connections for `seconds`."""
    command = _command(vip, port, path, seconds, connections, threads)
    return parse(subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout)


def per_request(corrected: dict[int, int], interval_us: int) -> dict[int, int]:
    """wrk's latency histogram as each request measured it.

    wrk 4 corrects its histogram for coordinated omission before any script
    or summary sees it: every latency n >= 2e also counts at n - e, n - 2e,
    ... while above e, where e = duration / (requests / connections), as if
    a client sending every e had queued behind the slow answer. So a
    corrected bucket m > e holds its own samples plus those of m + e, m + 2e,
    ..., and its own are corrected[m] - corrected[m + e].
    """
    raw = {}
    for us, count in corrected.items():
        own = count - corrected.get(us + interval_us, 0) if us > interval_us else count
        if own < 0:
            raise ValueError("not a histogram wrk corrected with interval %d us (at %d us)" % (interval_us, us))
        if own:
            raw[us] = own
    return raw


def percentile_ms(histogram: dict[int, int], percent: float) -> float:
    """The latency (ms) at `percent`, ranked as wrk ranks it."""
    total = sum(histogram.values())
    rank = min(total, math.floor(percent / 100.0 * total + 1.0))
    seen = 0
    for us in sorted(histogram):
        seen += histogram[us]
        if seen >= rank:
            return us / 1000.0
    return 0.0


def latencies(out: str, connections: int) -> dict:
    """Per-request p50/p95/p99 and wrk's own (corrected) p99 from the lines
    wrk_shares.lua prints."""
    corrected = {int(us): int(n) for us, n in re.findall(r"^halb-latency (\d+) (\d+)$", out, re.M)}
    duration_us, requests = (int(v) for v in re.search(r"^halb-run (\d+) (\d+)$", out, re.M).groups())
    per_connection = requests // connections
    raw = per_request(corrected, duration_us // per_connection) if per_connection else corrected
    figures = {"p%d_ms" % p: percentile_ms(raw, p) for p in (50, 95, 99)}
    figures["wrk_p99_ms"] = percentile_ms(corrected, 99)
    return figures


def run_latency(
    host: str, port: int, path: str, seconds: int, connections: int, new_connection=False, threads=2, scheme="http"
) -> dict:
    """wrk for `seconds`, with the figures of run() plus latencies(); with
    new_connection, every request asks the server to close the connection
    after its answer (Connection: close), so each one opens its own (over
    https, a TLS handshake each: wrk offers the session of its connection
    slot's previous one, which the server may resume)."""
    command = _command(host, port, path, seconds, connections, threads, scheme)
    command[-1:-1] = ["-s", LATENCY_SCRIPT] + (["-H", "Connection: close"] if new_connection else [])
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    result = parse(out)
    result.update(latencies(out, connections))
    return result


def run_shares(vip: str, port: int, path: str, seconds: int, connections: int, origin: float, threads: int = 2):
    """wrk for `seconds`, with the figures of run() plus latencies() and the
    answers per backend in 100 ms buckets counted from `origin`
    (time.time()): {"buckets": {bucket: {backend: n}}}, "-" for an answer
    other than 200."""
    command = _command(vip, port, path, seconds, connections, threads)
    command[-1:-1] = ["-s", SHARES_SCRIPT]
    command += ["--", "%.6f" % origin]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    result = parse(out)
    buckets: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for bucket, backend, count in re.findall(r"^halb-bucket (-?\d+) (\S+) (\d+)$", out, re.M):
        buckets[int(bucket)][backend] += int(count)
    result.update(latencies(out, connections), buckets=dict(buckets))
    return result


class Background:
    """wrk running while something else happens; stop() ends it (SIGINT, on
    which wrk prints its summary) and returns the figures. `seconds` bounds
    it if stop() is never called."""

    def __init__(self, vip: str, port: int, path: str, seconds: int, connections: int, threads: int = 2):
        self.seconds = seconds
        command = _command(vip, port, path, seconds, connections, threads)
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self) -> dict:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=self.seconds + 60)
        assert self.proc.returncode == 0, err
        return parse(out)
