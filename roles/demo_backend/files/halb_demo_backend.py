# Demo e-commerce backend for the halb.loadbalancer lab.
#
# Answers /products, /orders, /payments and /health. Every answer names the
# host that served it (body and X-Backend header) so failover and strategy
# tests can see which backend a request reached. Run with --service NAME it
# is one service of the shop (products, orders, payments, carts): every
# path answers, naming the service too (X-Service), which is what routing
# tests look for; a cart service gives a client without a `cart` cookie
# one, as a shop's session would. An artificial delay can be
# changed at run time by rewriting the delay file: no restart, no dropped
# connections, which is what the response-time benchmarks need.
import argparse
import base64
import hashlib
import json
import os
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455
# The catalogue may be cached by the load balancer; orders and payments are
# personal and must never be.
CACHE_CONTROL = {"/products": "public, max-age=30", "/orders": "no-store", "/payments": "no-store"}
SERVICES = {
    "/products": [{"sku": "p-100", "name": "kettle", "price": 24.9}, {"sku": "p-200", "name": "teapot", "price": 31.5}],
    "/orders": [{"id": 1, "sku": "p-100", "qty": 2}],
    "/payments": [{"id": 1, "order": 1, "status": "captured"}],
}


class Delay:
    """Milliseconds of artificial delay, re-read when the file changes."""

    def __init__(self, path, default_ms):
        self.path = path
        self.ms = default_ms
        self._mtime = None
        self._lock = threading.Lock()

    def current(self):
        if not self.path:
            return self.ms
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError:
            return self.ms
        with self._lock:
            if mtime != self._mtime:
                try:
                    with open(self.path) as handle:
                        self.ms = max(0, int(handle.read().strip() or 0))
                except (OSError, ValueError):
                    pass  # keep the last good value; a half-written file must not crash requests
                self._mtime = mtime
            return self.ms


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as behind a real load balancer
    # Headers and body leave in two writes; with Nagle on, the body waits for
    # the client's delayed ACK (40 ms) on every kept-alive request.
    disable_nagle_algorithm = True
    server_version = "halb-demo-backend/1"
    hostname = socket.gethostname()
    delay = Delay(None, 0)
    service = None  # --service: every path answers as this service

    def _send(self, status, payload):
        body = (json.dumps(payload, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.hostname)
        self.send_header("Cache-Control", CACHE_CONTROL.get(self.path.split("?", 1)[0], "no-store"))
        if self.service:
            self.send_header("X-Service", self.service)
            if self.service.startswith("carts") and "cart=" not in self.headers.get("Cookie", ""):
                self.send_header("Set-Cookie", "cart=%s; Path=/; HttpOnly" % uuid.uuid4().hex)
        # Echoed so tests can see what the load balancer forwarded.
        for header in ("X-Request-ID", "X-Forwarded-For", "X-Forwarded-Proto"):
            if self.headers.get(header):
                self.send_header("X-Seen-" + header[2:], self.headers[header])
        # The address the request came from: which LB node forwarded it.
        self.send_header("X-Seen-Peer", self.client_address[0])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        path = self.path.split("?", 1)[0]
        if path == "/health":
            return 200, {"status": "ok", "backend": self.hostname}
        if self.service:
            delay_ms = self.delay.current()
            if delay_ms:
                time.sleep(delay_ms / 1000.0)
            return 200, {"service": self.service, "backend": self.hostname, "path": path}
        if path in SERVICES:
            delay_ms = self.delay.current()
            if delay_ms:
                time.sleep(delay_ms / 1000.0)
            return 200, {"service": path[1:], "backend": self.hostname, "items": SERVICES[path]}
        if path == "/":
            return 200, {"backend": self.hostname, "endpoints": sorted(SERVICES) + ["/health"]}
        return 404, {"error": "not found", "backend": self.hostname}

    def do_GET(self):
        if self.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self._websocket()
            return
        self._send(*self._route())

    def _websocket(self):
        """A minimal RFC 6455 echo: answers each text frame with the backend's
        name and the text, until the client closes."""
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()  # noqa: S324
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.send_header("X-Backend", self.hostname)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while True:
            frame = read_frame(self.rfile)
            if frame is None or frame[0] == 0x8:  # gone, or a close frame
                self.wfile.write(b"\x88\x00")
                return
            opcode, payload = frame
            if opcode == 0x1:
                self.wfile.write(encode_frame(("%s %s" % (self.hostname, payload.decode())).encode()))
                self.wfile.flush()

    do_HEAD = do_GET

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, payload = self._route()
        self._send(201 if status == 200 else status, payload)

    def log_message(self, format, *args):
        pass  # one line per request would flood the journal under load tests


def read_frame(stream):
    """One client frame (masked, as RFC 6455 requires): (opcode, payload)."""
    head = stream.read(2)
    if len(head) < 2:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", stream.read(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", stream.read(8))[0]
    mask = stream.read(4) if head[1] & 0x80 else b"\x00" * 4
    data = stream.read(length)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def encode_frame(payload, opcode=0x1):
    """One unmasked server frame."""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return head + payload


def main():
    parser = argparse.ArgumentParser(description="halb.loadbalancer demo e-commerce backend")
    parser.add_argument("--bind", default="0.0.0.0")  # noqa: S104 (a lab service listens on its network)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--delay-file", default=None)
    parser.add_argument("--service", default=None, help="answer every path as this one service of the shop")
    args = parser.parse_args()
    Handler.delay = Delay(args.delay_file, args.delay_ms)
    Handler.service = args.service
    # A listen backlog of 5 (http.server's default) drops connections under
    # load tests, and each drop costs a client a 1 s SYN retry.
    server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 256})
    if ":" in args.bind:
        server_class = type("V6Server", (server_class,), {"address_family": socket.AF_INET6})
    server = server_class((args.bind, args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
