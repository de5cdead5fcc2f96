"""Copied into the routed lab's client container and run there: what a
client behind the router sees of the anycast VIP, for a bounded time.

- One poller opens a new connection every 20 ms (a new source port each,
  so the router hashes each to a node) and sends GET /orders.
- KEPT keep-alive connections, opened at the start, each send a GET every
  100 ms; a connection that errors once counts as broken and stops.

Prints JSON: "new" as [seconds since start, ok, the LB node that
forwarded it (the backend's X-Seen-Peer)], "kept" as one {"peer", "broke",
"requests"} per kept connection. Standard library only.

    python3 anycast_client.py VIP SECONDS KEPT
"""

import http.client
import json
import sys
import threading
import time

PATH = "/orders"


def get(conn):
    conn.request("GET", PATH)
    answer = conn.getresponse()
    answer.read()
    return answer.status == 200, answer.getheader("X-Seen-Peer") or "status %d" % answer.status


def main():
    vip, seconds, kept_count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    start = time.monotonic()
    end = start + seconds
    new, kept = [], []

    def poll():
        due = time.monotonic()
        while time.monotonic() < end and len(new) < 10000:
            sent = time.monotonic()
            conn = http.client.HTTPConnection(vip, 80, timeout=0.25)
            try:
                ok, peer = get(conn)
            except (OSError, http.client.HTTPException) as error:
                ok, peer = False, type(error).__name__
            finally:
                conn.close()
            new.append([round(sent - start, 4), ok, peer])
            due += 0.02
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                due = time.monotonic()

    def keep():
        record = {"peer": None, "broke": False, "requests": 0}
        kept.append(record)
        conn = http.client.HTTPConnection(vip, 80, timeout=1)
        try:
            while time.monotonic() < end and record["requests"] < 1000:
                ok, peer = get(conn)
                if not ok:
                    record["broke"] = True
                    break
                record["peer"] = record["peer"] or peer
                record["requests"] += 1
                time.sleep(0.1)
        except (OSError, http.client.HTTPException):
            record["broke"] = True
        finally:
            conn.close()

    threads = [threading.Thread(target=poll)] + [threading.Thread(target=keep) for _ in range(kept_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    json.dump({"new": new, "kept": kept}, sys.stdout)


if __name__ == "__main__":
    main()
