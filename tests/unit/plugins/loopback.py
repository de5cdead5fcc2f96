"""Backends for probe tests, on loopback only: HTTP servers, raw TCP listeners, refused ports."""

import contextlib
import http.server
import ipaddress
import socket
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers as its server's `behaviour` says and records each request."""

    def _answer(self, with_body):
        behaviour = self.server.behaviour
        self.server.requests.append({"method": self.command, "path": self.path, "host": self.headers.get("Host")})
        time.sleep(behaviour["delay"])
        body = behaviour["body"]
        self.send_response(behaviour["status"])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):  # the name BaseHTTPRequestHandler dispatches to
        self._answer(with_body=True)

    def do_HEAD(self):
        self._answer(with_body=False)

    def log_message(self, format, *args):  # no access log in the pytest output
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class Loopback:
    """Starts servers on loopback; close() stops them and every connection they hold."""

    def __init__(self):
        self._servers, self._sockets = [], []

    def http(self, status=200, delay=0.0, body=b"ok", host="127.0.0.1"):
        """Start an HTTP server answering status and body after delay s; return (server, port).

        server.requests lists the method, path and Host header of each request.
        """
        # Tests must never listen beyond this machine.
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("%s is not a loopback address" % host)
        server = (_Server6 if ":" in host else _Server)((host, 0), _Handler)
        server.behaviour = {"status": status, "delay": delay, "body": body}
        server.requests = []
        # A short poll keeps shutdown() at teardown from waiting 0.5 s per server.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self._servers.append(server)
        return server, server.server_address[1]

    def raw(self, reply):
        """Start a TCP listener on 127.0.0.1 that sends `reply` to whatever it is sent; return its port.

        reply None: accept connections and stay silent until teardown.
        """
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        self._sockets.append(listener)

        def loop():
            while True:
                try:
                    conn = listener.accept()[0]
                except OSError:  # the listener was closed at teardown
                    return
                self._sockets.append(conn)
                if reply is not None:
                    conn.settimeout(1.0)
                    with contextlib.suppress(OSError):
                        conn.recv(4096)
                        conn.sendall(reply)
                    conn.close()

        threading.Thread(target=loop, daemon=True).start()
        return listener.getsockname()[1]

    def close(self):
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for sock in self._sockets:
            sock.close()


def closed_port():
    """A port that was just free on 127.0.0.1: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
