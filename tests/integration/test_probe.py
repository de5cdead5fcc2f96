"""The lab's client-side poller (lab/halblab/probe.py) keeps polling through every kind of failed answer:
a server killed mid-answer tears the reply, and that must count as a failed
request, not end the poll (it did, and a failover test then waited for
answers that no one was asking for)."""

import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lab"))

from halblab.probe import Poller


def torn_reply_server():
    """A loopback server whose every answer is cut off before the status line ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 2")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, stop, thread


def test_torn_replies_are_failures_and_polling_goes_on():
    listener, stop, thread = torn_reply_server()
    try:
        poller = Poller("127.0.0.1", listener.getsockname()[1], interval=0.02, max_seconds=0.5).start()
        poller._thread.join(timeout=5)
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
    assert len(poller.samples) >= 5, poller.samples
    assert not any(sample.ok for sample in poller.samples)
    assert {sample.backend for sample in poller.samples} <= {"BadStatusLine", "IncompleteRead", "RemoteDisconnected"}
