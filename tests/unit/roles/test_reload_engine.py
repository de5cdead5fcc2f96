"""The reload helper against real processes: a master that forks a worker on
SIGHUP, one that ignores the signal, one whose new worker dies at once."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HELPER = os.path.join(ROOT, "roles", "lb", "files", "halb-reload-engine")

# A stand-in master: on SIGHUP it forks a worker that lives `worker_life` s.
MASTER = textwrap.dedent(
    """
    import os, signal, sys, time
    life = float(sys.argv[1])
    def reload(signum, frame):
        if life >= 0 and os.fork() == 0:
            time.sleep(life)
            os._exit(0)
    signal.signal(signal.SIGHUP, reload if life >= 0 else signal.SIG_IGN)
    print("ready", flush=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pass
    """
)


@pytest.fixture
def master():
    procs = []

    def start(worker_life):
        proc = subprocess.Popen([sys.executable, "-c", MASTER, str(worker_life)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        procs.append(proc)
        return proc.pid

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def reload(pid, wait=2):
    return subprocess.run(
        [sys.executable, HELPER, str(pid), "HUP", str(wait)], capture_output=True, text=True, timeout=30, check=False
    )


def test_a_reload_that_starts_a_new_worker_succeeds(master):
    out = reload(master(worker_life=10))
    assert (out.returncode, out.stderr) == (0, "")


def test_a_reload_that_starts_no_worker_fails_naming_why(master):
    began = time.monotonic()
    out = reload(master(worker_life=-1), wait=1)
    assert out.returncode == 1
    assert "no new worker 1 s after the reload: the engine kept its old workers and old config" in out.stderr
    assert time.monotonic() - began < 5


def test_a_worker_that_dies_at_once_has_not_taken_over(master):
    out = reload(master(worker_life=0.05), wait=1.5)
    assert out.returncode == 1


def test_a_missing_master_fails():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    out = reload(proc.pid)
    assert out.returncode == 1 and "is not running" in out.stderr
