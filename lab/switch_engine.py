#!/usr/bin/env python3
"""Switch the lab's engine (haproxy <-> nginx) with site.yml while a client
polls the VIP every 20 ms, and print what the client saw.

    python lab/switch_engine.py --to nginx

Bounded: the poller stops with the playbook, after at most 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from halblab import lab
from halblab.probe import Poller


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--to", choices=["haproxy", "nginx"], required=True)
    parser.add_argument("--inventory", default="inventories/lab")
    args = parser.parse_args()
    inv = lab.inventory(args.inventory)
    vip = inv["hostvars"][inv["groups"]["lb"][0]]["keepalived_vip"]
    poller = Poller(vip, 80, path="/orders", max_seconds=900, max_requests=50000).start()
    play = subprocess.run(
        ["ansible-playbook", "-i", args.inventory, "playbooks/site.yml", "-e", "lb_engine=%s" % args.to],
        capture_output=True,
        text=True,
    )
    poller.stop()
    if play.returncode:
        print(play.stdout[-3000:], play.stderr[-2000:])
        return play.returncode
    result = {"to": args.to, **poller.summary(), "backends": poller.backends()}
    print(
        f"switched to {args.to}: {result['requests']} requests during the run, {result['failed']} failed, "
        f"longest gap between answers {result['outage_ms']} ms"
    )
    state = os.environ.get("HALB_STATE_DIR", ".state")
    with open(os.path.join(state, f"switch-to-{args.to}.json"), "w") as handle:
        json.dump(result, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
