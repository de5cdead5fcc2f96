# The response-time agent behind the fastest_response strategy.
#
#   engine request logs (UDP, loopback) -> per-server response time samples
#     -> EWMA (half-life) -> weights configured x
#        ((fastest + noise_ms) / (own + noise_ms))^exponent (4 by default),
#        floor >= 1
#     -> HAProxy: runtime API "set server pool/name weight N" (no reload)
#     -> nginx:   the pool's server file: a candidate next to it, checked
#                 with nginx -t (a copy of nginx.conf that includes the
#                 candidate), renamed over the live file, graceful reload;
#                 at most one reload every min_reload_interval_s seconds
#
# The engine balances by weighted round robin underneath (HAProxy
# "balance roundrobin", nginx's default); the agent only sets the weights,
# tilting it towards the servers that answer fastest. Each weight change is
# logged. Run by systemd (halb-response-agent.service) with its JSON config.
#
# Which servers it steers (response_weights.eligible):
#   - drain: true, or a configured weight of 0: never. Such a server stays
#     as the config has it whatever is measured: HAProxy weight 0 (the agent
#     sends it no command at all, not even on the periodic re-apply), nginx
#     `down` with its starting weight, the very line the renderer writes.
#     It is not compared with either, so its persistent sessions, answered
#     fast, do not push the others' weights down.
#   - backup: true: yes, compared with the other backups only (they take
#     traffic while the active servers are down). Their role is the
#     engine's: `set server ... weight` leaves HAProxy's backup flag alone,
#     and the nginx server file keeps `backup`.
#   - the floor (>= 1) keeps every steered server above 0, so the eligible
#     servers never all reach 0; a pool with no eligible server is left
#     alone entirely.
#   - HAProxy, drained or disabled by an operator at run time (haproxy_server
#     module, `set server pool/name state drain|maint`, or weight 0): left
#     alone while it lasts. Before each batch of weight commands (a change,
#     or the re-apply every reapply_s seconds) the agent reads
#     `show servers state <pool>`, one small answer per pool: a server with
#     the forced drain or maintenance admin bit (haproxy_runtime.admin_state),
#     or with a user weight of 0 (the agent itself never sets 0 on a server
#     it steers), gets no weight command and does not count as the fastest.
#     Once the operator sets it ready (and, after a weight of 0, a weight
#     again), the agent steers it again within reapply_s seconds. When the
#     state cannot be read, no weight is sent to that pool for reapply_s
#     seconds. (A drain in the moment between that read and a weight
#     command is not seen: `set server ... weight` does not undo a drain
#     state, but it would replace an operator's weight of 0.)
#   - nginx has no runtime API: the pool's server file is the agent's and a
#     hand edit is lost at the next change; drain a server with drain: true
#     in the spec (the lb role rewrites the file and restarts the agent).
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
            servers = spec["servers"]
            start = dict((s["name"], s["weight"]) for s in servers)
            steered = response_weights.steered_weights(servers)
            self.pools[pool] = {
                "servers": servers,
                # The config's weights: drained and weight-0 servers keep them.
                "start": start,
                "balancer": response_weights.Balancer(
                    steered,
                    half_life_s=config["half_life_s"],
                    floor=config["floor"],
                    max_weight=engine_facts.TOP_WEIGHT[self.engine],
                    exponent=config["exponent"],
                    noise_ms=config.get("noise_ms", 20.0),
                    backups=[s["name"] for s in servers if s.get("backup")],
                ),
                # The weights the agent owns: only its eligible servers'.
                "applied": dict((name, start[name]) for name, weight in steered.items() if weight > 0),
                # HAProxy: {server: why} taken out by an operator at run time.
                "held": {},
                "retry_at": 0.0,
                # nginx: the weights nginx -t refused last, tried again only
                # once the wanted weights move materially away from them.
                "refused": None,
            }
            for s in servers:
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
        reapply = self.engine == "haproxy" and now - self.last_reapply >= self.config["haproxy"]["reapply_s"]
        for pool, state in self.pools.items():
            if not state["applied"]:
                continue  # no eligible server: the config's weights stay as they are
            changed, wanted = self.plan(state)
            if state["refused"] is not None and self.material(state["refused"], wanted):
                state["refused"] = None  # moved on from the weights nginx refused: the next change is tried
            if self.engine == "haproxy":
                if not (changed or reapply) or now < state["retry_at"]:
                    continue
                held = self.haproxy_held(pool, state)
                if held is None:
                    state["retry_at"] = now + self.config["haproxy"]["reapply_s"]
                    continue
                if held != state["held"]:
                    self.log_held(pool, state["held"], held)
                    state["held"] = held
                    changed, wanted = self.plan(state)
                send = wanted if reapply else changed
                self.haproxy_set(pool, dict((s, w) for s, w in send.items() if s not in held))
            elif changed:
                if state["refused"] is not None:
                    continue  # nginx refused (nearly) these weights: wait for a material change
                if now - self.last_reload < self.config["nginx"]["min_reload_interval_s"]:
                    continue  # rate-limited: the next round tries again
                # Drained servers keep their starting weight (and `down`).
                if not self.nginx_write(pool, state["servers"], dict(state["start"], **wanted)):
                    state["refused"] = wanted
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
        if reapply:
            self.last_reapply = now

    def plan(self, state):
        """(changed, wanted): the weights of eligible servers that moved
        enough to be applied, and all of those servers' weights afterwards.
        Servers an operator took out are neither changed nor compared with."""
        held = state["held"]
        computed = state["balancer"].weights(excluded=held)
        # Only changes of a fifth or more are applied (and each is
        # logged); smaller ones would be noise and churn.
        changed = dict(
            (server, weight)
            for server, weight in response_weights.changes(state["applied"], computed).items()
            if server in state["applied"]
            and server not in held
            and self.material({server: state["applied"][server]}, {server: weight})
        )
        return changed, dict(state["applied"], **changed)

    @staticmethod
    def material(old, new):
        """A change worth an nginx reload: some weight moved by a fifth or more."""
        return any(abs(new[s] - old.get(s, 0)) >= max(1, 0.2 * max(old.get(s, 0), new[s])) for s in new)

    def haproxy_held(self, pool, state):
        """{server: why} of the pool's eligible servers an operator drained or
        disabled at run time (forced admin bits, or user weight 0), read with
        `show servers state <pool>`; None when HAProxy does not tell."""
        client = haproxy_runtime.RuntimeClient(self.config["haproxy"]["socket"])
        held = {}
        try:
            for row in client.servers_state(pool):
                server = row.get("srv_name")
                if server not in state["applied"]:
                    continue
                admin = haproxy_runtime.admin_state(int(row["srv_admin_state"]))
                if admin != "ready":
                    held[server] = "state " + admin
                elif int(row["srv_uweight"]) == 0:
                    held[server] = "weight 0"
        except (haproxy_runtime.RuntimeApiError, KeyError, ValueError) as exc:
            log(
                "pool %s: cannot read the servers' states, no weights sent for %gs: %s"
                % (pool, self.config["haproxy"]["reapply_s"], exc)
            )
            return None
        return held

    @staticmethod
    def log_held(pool, old, new):
        for server in sorted(set(new) - set(old)):
            log("pool %s: %s taken out at run time (%s): its weight is left alone" % (pool, server, new[server]))
        for server in sorted(set(old) - set(new)):
            log("pool %s: %s back in service: its weight follows response times again" % (pool, server))

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
        """Puts the pool's new server file in place, checked first; True once
        it is live (and nginx reloaded), False when it was refused.

        The candidate is written next to the live file, and `check_command`
        tests a copy of the main config whose include of the live file names
        the candidate instead. Only a candidate nginx accepts replaces the
        live file (one rename, atomic), and nginx reloads after that. A
        refused candidate is deleted: the live file is never touched, so a
        restart, or anyone's reload, meanwhile loads the last good weights."""
        cfg = self.config["nginx"]
        path = os.path.join(cfg["weights_dir"], pool + ".conf")
        candidate = os.path.join(cfg["weights_dir"], "." + pool + ".conf.candidate")
        check_config = None
        try:
            write_file(candidate, response_weights.nginx_server_lines(servers, weights), 0o644)
            check_config = nginx_check_config(cfg["config"], path, candidate)
            check = subprocess.run(  # noqa: S603 (root-owned config)
                list(cfg["check_command"]) + ["-c", check_config], capture_output=True, text=True, check=False
            )
            if check.returncode != 0:
                # Speak of the files the operator knows, not of the agent's copies.
                output = check.stderr.strip().replace(check_config, cfg["config"]).replace(candidate, path + " (new)")
                log(
                    "pool %s: new weights failed `%s`, kept the old ones: %s"
                    % (pool, " ".join(list(cfg["check_command"]) + ["-c", cfg["config"]]), output)
                )
                return False
            os.replace(candidate, path)
        except (OSError, ValueError) as exc:
            log("pool %s: cannot check new weights, kept the old ones: %s" % (pool, exc))
            return False
        finally:
            for leftover in (check_config, candidate):
                remove(leftover)
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


def write_file(path, text, mode):
    """Writes a whole file, on disk before it is renamed: a crash leaves the
    old file or the new one, never a part."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(fd, mode)  # whatever the umask, or a leftover's mode
        handle.write(text)
        handle.flush()
        os.fsync(fd)


def nginx_check_config(main, live, candidate):
    """The path of a copy of the main nginx config `main` that includes
    `candidate` where the real one includes `live`: what nginx would load
    with the candidate in place. The copy sits next to the main config, so
    relative include paths read the same files, and only root can read it
    (mode 0600). The caller removes it. ValueError when the main config does
    not include `live` (the check would not see the candidate)."""
    with open(main) as handle:
        text = handle.read()
    include = re.compile(r"(\binclude\s+([\"']?))" + re.escape(live) + r"(\2\s*;)")
    text, found = include.subn(lambda match: match.group(1) + candidate + match.group(3), text)
    if not found:
        raise ValueError("%s does not include %s" % (main, live))
    fd, path = tempfile.mkstemp(prefix=".halb-check-", suffix=".conf", dir=os.path.dirname(os.path.abspath(main)))
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    except BaseException:
        remove(path)
        raise
    return path


def remove(path):
    """Deletes a file of the agent's own if it is there (None: nothing)."""
    if path is None:
        return
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log("cannot remove %s: %s" % (path, exc))


def load_config(path):
    """The JSON config, with numbers as numbers (templating may quote them)."""
    with open(path) as handle:
        config = json.load(handle)
    for key in ("half_life_s", "exponent", "interval_s", "noise_ms"):
        config[key] = float(config[key])
    config["floor"] = int(config["floor"])
    config["haproxy"]["reapply_s"] = float(config["haproxy"]["reapply_s"])
    config["nginx"]["min_reload_interval_s"] = float(config["nginx"]["min_reload_interval_s"])
    # The main nginx config (a config.json written before it was an option).
    config["nginx"].setdefault("config", "/etc/nginx/nginx.conf")
    for pool in config["pools"].values():
        for server in pool["servers"]:
            for key in ("port", "weight", "max_fails", "fail_timeout_s"):
                server[key] = int(server[key])
            for key in ("backup", "drain"):
                server[key] = flag(server.get(key, False))
    return config


def flag(value):
    """A boolean from JSON, or from text a template may have made of it."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def main():
    Agent(load_config(sys.argv[1] if len(sys.argv) > 1 else "/etc/halb-response-agent/config.json")).run()


if __name__ == "__main__":
    main()
