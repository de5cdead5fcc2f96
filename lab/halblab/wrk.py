"""Load through a VIP with wrk (Debian's, on the host running the tests or the lab),
bounded in time; the VIP is on the scenario's own Docker network."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess

SHARES_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk_shares.lua")


def _command(vip: str, port: int, path: str, seconds: int, connections: int, threads: int) -> list[str]:
    return ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--timeout", "2s",
            "http://%s:%d%s" % (vip, port, path)]  # fmt: skip


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


def run_shares(vip: str, port: int, path: str, seconds: int, connections: int, origin: float, threads: int = 2):
    """wrk for `seconds`, with the figures of run() plus p50/p95/p99 in ms
    (wrk's histogram) and the answers per backend in 100 ms buckets counted
    from `origin` (time.time()): {"buckets": {bucket: {backend: n}}}, "-"
    for an answer other than 200."""
    command = _command(vip, port, path, seconds, connections, threads)
    command[-1:-1] = ["-s", SHARES_SCRIPT]
    command += ["--", "%.6f" % origin]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    result = parse(out)
    buckets: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for bucket, backend, count in re.findall(r"^halb-bucket (-?\d+) (\S+) (\d+)$", out, re.M):
        buckets[int(bucket)][backend] += int(count)
    p50, p95, p99 = (int(us) / 1000.0 for us in re.search(r"^halb-latency-us (\d+) (\d+) (\d+)$", out, re.M).groups())
    result.update(p50_ms=p50, p95_ms=p95, p99_ms=p99, buckets=dict(buckets))
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
