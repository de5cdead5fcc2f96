# The response-time agent behind the fastest_response strategy.
#
#   engine request logs (UDP, loopback) -> per-server response time samples
#     -> EWMA (half-life) -> weights configured x
#        ((fastest + noise_ms) / (own + noise_ms))^exponent (4 by default),
#        floor >= 1
#     -> HAProxy: runtime API "set server pool/name weight N" (no reload)
#     -> nginx:   the pool's server file, checked with nginx -t, graceful
#                 reload at most every min_reload_interval_s seconds
#
# The engine balances by weighted round robin underneath (HAProxy
# "balance roundrobin", nginx's default); the agent only sets the weights,
# tilting it towards the servers that answer fastest. Each weight change is
# logged. Run by systemd (halb-response-agent.service) with its JSON config.
#
# Installed in /opt/halb-response-agent/ next to copies of the collection's
# engine_facts.py, response_weights.py and haproxy_runtime.py, imported here
# as plain modules (roles/response_agent/tasks/install.yml).
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_facts
import haproxy_runtime
import response_weights

# HAProxy httplog: "... frontend backend/server Tq/Tw/Tc/Tr/Ta status ..."
HAPROXY_LINE = re.compile(r"\] \S+ (?P<pool>[^/\s]+)/(?P<server>\S+) -?\d+/-?\d+/-?\d+/(?P<tr>-?\d+)/\+?-?\d+ \d{3} ")
# nginx log_format halb_upstream: "$upstream_addr $upstream_response_time $upstream_status"
NGINX_FIELDS = re.compile(r"(?<!,) ")


def log(message):
    print(message, flush=True)


class Agent:
    def __init__(self, config):
        self.config = config
        self.engine = config["engine"]
        self.pools = {}
        self.by_endpoint = {}
        for pool, spec in config["pools"].items():
            base = dict((s["name"], s["weight"]) for s in spec["servers"])
            self.pools[pool] = {
                "servers": spec["servers"],
                "balancer": response_weights.Balancer(
                    base,
                    half_life_s=config["half_life_s"],
                    floor=config["floor"],
                    max_weight=engine_facts.TOP_WEIGHT[self.engine],
                    exponent=config["exponent"],
                    noise_ms=config.get("noise_ms", 20.0),
                ),
                "applied": dict(base),
            }
            for s in spec["servers"]:
                self.by_endpoint[engine_facts.endpoint(s["address"], s["port"])] = (pool, s["name"])
        self.last_apply = 0.0
        self.last_reload = 0.0
        self.last_reapply = 0.0

    # --- samples -----------------------------------------------------------
    def parse(self, message, now):
        """Feed one log message; returns the number of samples taken."""
        if self.engine == "haproxy":
            match = HAPROXY_LINE.search(message)
            if not match or match.group("pool") not in self.pools or int(match.group("tr")) < 0:
                return 0
            self.pools[match.group("pool")]["balancer"].observe(match.group("server"), int(match.group("tr")), now)
            return 1
        text = message.split("halb: ", 1)[-1].strip()
        fields = NGINX_FIELDS.split(text)
        if len(fields) < 2:
            return 0
        taken = 0
        for addr, seconds in zip(fields[0].split(", "), fields[1].split(", ")):
            known = self.by_endpoint.get(addr)
            if known and seconds not in ("-", ""):
                pool, server = known
                self.pools[pool]["balancer"].observe(server, float(seconds) * 1000.0, now)
                taken += 1
        return taken

    # --- weights -----------------------------------------------------------
    def apply(self, now):
        for pool, state in self.pools.items():
            computed = state["balancer"].weights()
            # Only changes of a fifth or more are applied (and each is
            # logged); smaller ones would be noise and churn.
            changed = dict(
                (server, weight)
                for server, weight in response_weights.changes(state["applied"], computed).items()
                if self.material({server: state["applied"][server]}, {server: weight})
            )
            wanted = dict(state["applied"], **changed)
            if self.engine == "haproxy":
                reapply = now - self.last_reapply >= self.config["haproxy"]["reapply_s"]
                self.haproxy_set(pool, wanted if reapply else changed)
            elif changed:
                if now - self.last_reload < self.config["nginx"]["min_reload_interval_s"]:
                    continue  # rate-limited: the next round tries again
                if not self.nginx_write(pool, state["servers"], wanted):
                    continue
                self.last_reload = now
            else:
                continue
            latencies = state["balancer"].latencies()
            for server, weight in sorted(changed.items()):
                ewma = latencies.get(server)
                log(
                    "pool %s: %s weight %d -> %d (response time %s)"
                    % (
                        pool,
                        server,
                        state["applied"][server],
                        weight,
                        "%.1f ms" % ewma if ewma is not None else "not measured",
                    )
                )
            state["applied"] = wanted
        if self.engine == "haproxy" and now - self.last_reapply >= self.config["haproxy"]["reapply_s"]:
            self.last_reapply = now

    @staticmethod
    def material(old, new):
        """A change worth an nginx reload: some weight moved by a fifth or more."""
        return any(abs(new[s] - old.get(s, 0)) >= max(1, 0.2 * max(old.get(s, 0), new[s])) for s in new)

    def haproxy_set(self, pool, weights):
        path = self.config["haproxy"]["socket"]
        for server, weight in sorted(weights.items()):
            command = haproxy_runtime.set_command(pool, server, "weight", weight)
            try:
                answer = haproxy_runtime.send_command(path, command)
            except haproxy_runtime.RuntimeApiError as exc:
                log("pool %s: cannot set %s weight: %s" % (pool, server, exc))
                continue
            if answer.strip():
                log("pool %s: HAProxy refused `%s`: %s" % (pool, command, answer.strip()))

    def nginx_write(self, pool, servers, weights):
        cfg = self.config["nginx"]
        path = os.path.join(cfg["weights_dir"], pool + ".conf")
        with open(path) as handle:
            previous = handle.read()
        fd, tmp = tempfile.mkstemp(prefix=".halb-", dir=cfg["weights_dir"])
        with os.fdopen(fd, "w") as handle:
            handle.write(response_weights.nginx_server_lines(servers, weights))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        check = subprocess.run(cfg["check_command"], capture_output=True, text=True, check=False)  # noqa: S603 (root-owned config)
        if check.returncode != 0:
            with open(path, "w") as handle:
                handle.write(previous)
            log(
                "pool %s: new weights failed `%s`, kept the old ones: %s"
                % (pool, " ".join(cfg["check_command"]), check.stderr.strip())
            )
            return False
        reload = subprocess.run(cfg["reload_command"], capture_output=True, text=True, check=False)  # noqa: S603 (root-owned config)
        if reload.returncode != 0:
            log("pool %s: reload failed: %s" % (pool, reload.stderr.strip()))
        return True

    # --- loop ----------------------------------------------------------------
    def run(self):
        host, port = self.config["listen"].rsplit(":", 1)
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host.strip("[]"), int(port)))
        sock.settimeout(self.config["interval_s"])
        log(
            "halb-response-agent: %s, pools %s, listening on %s"
            % (self.engine, ", ".join(sorted(self.pools)), self.config["listen"])
        )
        while True:
            try:
                data = sock.recv(65535)
                self.parse(data.decode("utf-8", "replace"), time.monotonic())
            except socket.timeout:
                pass
            now = time.monotonic()
            if now - self.last_apply >= self.config["interval_s"]:
                self.apply(now)
                self.last_apply = now


def load_config(path):
    """The JSON config, with numbers as numbers (templating may quote them)."""
    with open(path) as handle:
        config = json.load(handle)
    for key in ("half_life_s", "exponent", "interval_s", "noise_ms"):
        config[key] = float(config[key])
    config["floor"] = int(config["floor"])
    config["haproxy"]["reapply_s"] = float(config["haproxy"]["reapply_s"])
    config["nginx"]["min_reload_interval_s"] = float(config["nginx"]["min_reload_interval_s"])
    for pool in config["pools"].values():
        for server in pool["servers"]:
            for key in ("port", "weight", "max_fails", "fail_timeout_s"):
                server[key] = int(server[key])
    return config


def main():
    Agent(load_config(sys.argv[1] if len(sys.argv) > 1 else "/etc/halb-response-agent/config.json")).run()


if __name__ == "__main__":
    main()
