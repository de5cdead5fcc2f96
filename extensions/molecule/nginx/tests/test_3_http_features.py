"""What the nginx spec turns on, seen by a client through the VIP: a cached
catalogue, uncached personal pages, WebSocket upgrades, request ids."""

import base64
import http.client
import os
import socket
import struct
import time


def get(scenario, path, headers=None):
    conn = http.client.HTTPConnection(scenario.vip, scenario.port, timeout=3)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp
    finally:
        conn.close()


def cached(scenario, path, headers=None):
    """The next answers to path, for up to a second, until one is a HIT:
    nginx stores an answer once it has finished it, which can be just after
    the client has it all."""
    deadline = time.monotonic() + 1.0
    while True:
        resp = get(scenario, path, headers)
        if resp.getheader("X-Cache-Status") == "HIT" or time.monotonic() > deadline:
            return resp
        time.sleep(0.05)


def test_catalogue_is_served_from_cache(scenario):
    # Each node has its own cache: both requests must reach the same one, so
    # the pre-emption that ends the failover tests must be over first.
    holder = scenario.wait_owner(scenario.lbs[0])
    get(scenario, "/products?cache-test")
    second = cached(scenario, "/products?cache-test")
    assert second.status == 200
    assert second.getheader("X-Cache-Status") == "HIT", (scenario.owners(), holder, second.getheaders())


def test_personal_pages_and_authenticated_requests_bypass_the_cache(scenario):
    scenario.wait_owner(scenario.lbs[0])
    statuses = [get(scenario, "/orders").getheader("X-Cache-Status") for _ in range(3)]
    assert "HIT" not in statuses, statuses
    get(scenario, "/products?auth-test")
    authed = get(scenario, "/products?auth-test", {"Authorization": "Bearer t0ken"})
    assert authed.getheader("X-Cache-Status") == "BYPASS", authed.getheaders()


def test_a_request_with_cookies_never_gets_someone_elses_cached_page(scenario):
    """bypass_cookies defaults to any: a cookie-authenticated page without
    Cache-Control: private is neither served from the cache nor stored."""
    scenario.wait_owner(scenario.lbs[0])
    get(scenario, "/products?cookie-test")
    assert cached(scenario, "/products?cookie-test").getheader("X-Cache-Status") == "HIT"
    with_session = get(scenario, "/products?cookie-test", {"Cookie": "sessionid=alice"})
    assert with_session.getheader("X-Cache-Status") == "BYPASS", with_session.getheaders()
    # Nor is the answer to it stored for the next visitor.
    get(scenario, "/products?cookie-only", {"Cookie": "sessionid=alice"})
    assert get(scenario, "/products?cookie-only").getheader("X-Cache-Status") == "MISS"


def test_websocket_upgrade_passes_through(scenario):
    sock = socket.create_connection((scenario.vip, scenario.port), timeout=3)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                "GET /ws HTTP/1.1\r\nHost: shop\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, head
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        message, mask = b"hello through the VIP", os.urandom(4)
        sock.sendall(
            struct.pack("!BB", 0x81, 0x80 | len(message)) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(message))
        )
        frame = head.split(b"\r\n\r\n", 1)[1] or sock.recv(4096)
        assert frame[0] == 0x81, frame
        text = frame[2 : 2 + frame[1]].decode()
        backend, echoed = text.split(" ", 1)
        assert backend in scenario.backends and echoed == "hello through the VIP", text
    finally:
        sock.close()


def test_forwarding_headers(scenario):
    kept = get(scenario, "/health", {"X-Request-ID": "abc-123"})
    assert kept.getheader("X-Seen-Request-ID") == "abc-123"
    made = get(scenario, "/health").getheader("X-Seen-Request-ID")
    assert made and len(made) == 32 and int(made, 16) >= 0, made
    assert get(scenario, "/health").getheader("X-Seen-Forwarded-Proto") == "http"
    assert get(scenario, "/health").getheader("X-Seen-Forwarded-For")
