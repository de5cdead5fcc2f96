#!/usr/bin/env python3
"""Data plane: our rendered configs against the brief's nginx example,
untuned engines and a backend reached directly, on the lab.

Every backend serves a small static body from nginx (port STATIC_PORT), so
the proxy is what is measured; each reference config runs in a container of
its own on the lab network (lab_dataplane_references in the lab inventory;
benchmarks/dataplane/setup.yml starts them and writes the configs):

    direct         one backend, no proxy: the ceiling
    ours           site.yml's config through the VIP (one round-robin pool
                   of the three backends), for each engine in turn
    ours_quiet     the same pool on a second frontend of the same config
                   that logs failures only (access_log: errors)
    ours_tls_rsa   the same pool over HTTPS (the defaults: Mozilla
    ours_tls_ecdsa intermediate), by an RSA 2048 or an ECDSA P-256
                   certificate; with a new connection per request, every
                   request is a TLS handshake
    brief          the brief's nginx example as written
    plain_nginx    nginx, upstream without keepalive, Debian's defaults
    plain_haproxy  HAProxy, balance roundrobin, no tuning

For each engine (deployed with site.yml), each mode (keep-alive clients;
a new connection per request) and connection count, wrk loads every
configuration in turn for --seconds, --rounds times with the order turned
each round, so the drift of this machine between runs falls on all alike;
the ratios (ours / brief, ours / direct, ...) are medians of the paired
runs. CPU per request of the proxy's container is read from /proc around
each run. Writes docs/results/dataplane.json and dataplane.png, then
the README's table from them (scripts/dataplane_table.py).

    python benchmarks/dataplane.py            # needs the lab: make lab-up
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lab"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import dataplane_table  # noqa: E402
from strategies import deploy  # noqa: E402

from halblab import cpu, lab, tls_ca, wrk  # noqa: E402

STATIC_PORT = 8090
REFERENCE_PORTS = {"brief": 9080, "plain_nginx": 9081, "plain_haproxy": 9082}
OURS_PORTS = {"ours": 80, "ours_quiet": 81, "ours_tls_rsa": 443, "ours_tls_ecdsa": 444}
# The HTTPS frontends' certificates (RSA 2048, ECDSA P-256), issued at run
# time by a throw-away CA (halblab.tls_ca): no key is ever committed.
TLS_KEYS = {"ours_tls_rsa": "rsa", "ours_tls_ecdsa": "ecdsa"}
# The static answer: about the size of the demo shop's product list.
BODY = json.dumps({"products": [{"id": n, "name": "product-%d" % n, "price": n * 1.5} for n in range(1, 13)]})
PATH = "/products"
SETUP = os.path.join(ROOT, "benchmarks", "dataplane", "setup.yml")


def ansible_vars(inv: dict) -> dict:
    servers = ["%s:%d" % (inv["hostvars"][b]["lab_ip"], STATIC_PORT) for b in inv["groups"]["backends"]]
    return {"dataplane_static_port": STATIC_PORT, "dataplane_body": BODY, "dataplane_servers": servers,
            "dataplane_ports": REFERENCE_PORTS}  # fmt: skip


def ours_vars(inv: dict) -> dict:
    """site.yml's variables for the benchmark: the lab's pool on the
    backends' static port, served by a frontend with the defaults (every
    request logged), one that logs failures only, and HTTPS with the
    defaults (Mozilla intermediate) by an RSA and an ECDSA certificate."""
    hostvars = inv["hostvars"][inv["groups"]["lb"][0]]
    health = {k: hostvars["lb_health_check_" + k] for k in ("interval", "fall", "rise")}
    servers = [dict(s, port=STATIC_PORT) for s in hostvars["lb_backend_servers"]]
    pool = {"name": "shop", "strategy": "round_robin", "servers": servers, "health_check": dict(health, path=PATH)}
    frontends = [
        {"name": "shop", "port": OURS_PORTS["ours"], "pool": "shop"},
        {"name": "shop_quiet", "port": OURS_PORTS["ours_quiet"], "pool": "shop", "access_log": "errors"},
    ]
    authority, certificates = tls_ca.Authority(), []
    for config, kind in TLS_KEYS.items():
        name = config.replace("ours_", "bench_")
        cert, key = authority.issue([hostvars["keepalived_vip"]], key=tls_ca.new_key(kind))
        certificates.append({"name": name, "certificate": tls_ca.cert_pem(cert), "key": tls_ca.key_pem(key)})
        certificate = "%s/%s.pem" % (hostvars.get("lb_tls_directory", "/etc/halb/tls"), name)
        tls = {"certificate": certificate}
        frontends.append({"name": name, "port": OURS_PORTS[config], "pool": "shop", "tls": tls})
    return {"lb_spec": {"pools": [pool], "frontends": frontends}, "lb_tls_certificates": certificates}


# Each reference runs by its own config file and daemonizes (setup.yml stops
# the packages' own services, which would hold the ports).
REFERENCE_COMMANDS = {
    "brief": {"start": ["nginx", "-c", "/etc/halb-bench/brief-nginx.conf"],
              "stop": ["nginx", "-c", "/etc/halb-bench/brief-nginx.conf", "-s", "stop"]},
    "plain_nginx": {"start": ["nginx", "-c", "/etc/halb-bench/plain-nginx.conf"],
                    "stop": ["nginx", "-c", "/etc/halb-bench/plain-nginx.conf", "-s", "stop"]},
    "plain_haproxy": {"start": ["haproxy", "-f", "/etc/halb-bench/plain-haproxy.cfg"],
                      "stop": ["sh", "-c", "kill $(cat /run/halb-bench-plain-haproxy.pid)"]},
}  # fmt: skip


def reference_hosts(inv: dict) -> dict:
    """{config: {container, ip}} of the reference configurations."""
    return inv["hostvars"][inv["groups"]["lb"][0]]["lab_dataplane_references"]


def references(inv: dict, action: str) -> None:
    """Start or stop every reference engine in its own container (a start
    first stops one an interrupted run left behind)."""
    for config, host in reference_hosts(inv).items():
        steps = ["stop", "start"] if action == "start" else ["stop"]
        for step in steps:
            command = ["docker", "exec", host["container"], *REFERENCE_COMMANDS[config][step]]
            subprocess.run(command, check=step == "start", capture_output=True)


def targets(inv: dict) -> dict:
    """(address, port) of every configuration."""
    first_backend = inv["hostvars"][inv["groups"]["backends"][0]]["lab_ip"]
    vip = inv["hostvars"][inv["groups"]["lb"][0]]["keepalived_vip"]
    out = {"direct": (first_backend, STATIC_PORT)}
    out.update({name: (vip, port) for name, port in OURS_PORTS.items()})
    out.update({name: (host["ip"], REFERENCE_PORTS[name]) for name, host in reference_hosts(inv).items()})
    return out


def proxy_container(inv: dict, config: str) -> str | None:
    """The container whose CPU a request through `config` costs."""
    if config == "direct":
        return None
    if config in OURS_PORTS:
        return inv["groups"]["lb"][0]  # the VIP's MASTER (keepalived_priority)
    return reference_hosts(inv)[config]["container"]


def one_run(inv, ids, config, address, port, seconds, connections, new_connection) -> dict:
    before = cpu.snapshot(ids)
    scheme = "https" if config in TLS_KEYS else "http"
    result = wrk.run_latency(address, port, PATH, seconds, connections, new_connection, scheme=scheme)
    after = cpu.snapshot(ids)
    figures = {k: result[k] for k in ("requests", "errors", "non_2xx", "rps", "p50_ms", "p99_ms")}
    spent = cpu.per_request_us(before, after, result["requests"], lambda key: key[0])
    figures["proxy_cpu_us_per_request"] = spent.get(proxy_container(inv, config))
    return figures


def full_handshakes(inv, ids, config, address, port, seconds, clients) -> dict:
    """Full TLS handshakes a second: `clients` openssl s_time processes at
    once, each opening connection after connection with a new session
    (-new: nothing resumed, so the certificate's signature is in every
    one) and asking for PATH on it. wrk cannot do this: it offers its
    previous session on every reconnect, and the server resumes it."""
    before, start = cpu.snapshot(ids), time.monotonic()
    command = ["openssl", "s_time", "-connect", "%s:%d" % (address, port), "-new", "-time", str(seconds), "-www", PATH]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(clients)]  # fmt: skip
    outputs = [p.communicate(timeout=seconds + 30)[0] for p in procs]
    elapsed, after = time.monotonic() - start, cpu.snapshot(ids)
    counts = [re.search(r"(\d+) connections in [\d.]+s;", out) for out in outputs]
    done = sum(int(m.group(1)) for m in counts if m)
    spent = cpu.per_request_us(before, after, done, lambda key: key[0]).get(proxy_container(inv, config))
    return {"requests": done, "errors": counts.count(None), "non_2xx": 0, "rps": round(done / elapsed, 1),
            "p50_ms": None, "p99_ms": None, "proxy_cpu_us_per_request": spent}  # fmt: skip


def package_versions(container: str, packages) -> dict:
    out = lab.docker("exec", container, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *packages, check=False)
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def machine(inv: dict) -> dict:
    lb1 = inv["groups"]["lb"][0]
    reference = reference_hosts(inv)["brief"]["container"]
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0]
    return {
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "wrk": wrk_version.strip(),
        "ours": package_versions(lb1, ["haproxy", "nginx", "libnginx-mod-http-lua"]),
        "reference": package_versions(reference, ["haproxy", "nginx"]),
        "backend": package_versions(inv["groups"]["backends"][0], ["nginx"]),
    }


def plot(runs: list, path: str) -> None:
    """req/s (log scale) and p99 by connection count: a column per engine
    and client mode, a line per configuration (ours solid, the others
    dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = sorted({r["engine"] for r in runs})
    columns = [(engine, mode) for engine in engines for mode in dataplane_table.MODES]
    fig, axes = plt.subplots(2, len(columns), figsize=(4.2 * len(columns), 7), squeeze=False)
    colors = dict(zip(dataplane_table.CONFIGS, plt.get_cmap("tab10").colors))
    for column, (engine, mode) in enumerate(columns):
        for row, figure in enumerate(("rps", "p99_ms")):
            ax = axes[row, column]
            for config in dataplane_table.CONFIGS:
                points = dataplane_table.medians(runs, engine, config, mode, figure)
                if points:
                    style = "-" if config in OURS_PORTS else "--"
                    ax.plot(list(points), list(points.values()), style, marker="o", color=colors[config],
                            label=dataplane_table.LABELS[config])  # fmt: skip
            ax.set_xscale("log", base=2)
            if figure == "rps":
                ax.set_yscale("log")
            ax.set_xlabel("client connections")
            ax.set_ylabel({"rps": "req/s", "p99_ms": "p99 (ms)"}[figure])
            ax.set_title("%s deployed, %s" % (engine, dataplane_table.MODES[mode]), fontsize=9, loc="left")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=90)


def replot() -> int:
    """The PNG and the README tables again, from the committed result."""
    with open(dataplane_table.RESULTS_FILE, encoding="utf-8") as handle:
        plot(json.load(handle)["runs"], dataplane_table.PLOT_FILE)
    return dataplane_table.main([])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inventory", default=os.path.join(ROOT, "inventories", "lab"))
    parser.add_argument("--engines", nargs="+", default=["haproxy", "nginx"])
    parser.add_argument("--connections", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument("--seconds", type=int, default=6, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every configuration per mode and count")
    parser.add_argument("--handshake-clients", nargs="+", type=int, default=[4, 16],
                        help="openssl s_time processes at once, for the full TLS handshakes")  # fmt: skip
    parser.add_argument("--only-handshakes", action="store_true",
                        help="run the full-handshake part alone and replace it in the committed result")  # fmt: skip
    parser.add_argument("--replot", action="store_true", help="only redraw the PNG and the README from the result")
    args = parser.parse_args()
    if args.replot:
        return replot()

    inv = lab.inventory(args.inventory)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as extra:
        json.dump(ansible_vars(inv), extra)
        extra.flush()
        setup = subprocess.run(["ansible-playbook", "-i", args.inventory, SETUP, "-e", "@" + extra.name],
                               capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    if setup.returncode:
        sys.exit("benchmarks/dataplane/setup.yml failed:\n%s" % setup.stdout[-3000:])
    containers = [host["container"] for host in reference_hosts(inv).values()]
    ids = cpu.container_ids(inv["groups"]["lb"] + inv["groups"]["backends"] + containers)
    where, runs = targets(inv), []
    references(inv, "start")
    try:
        for engine in args.engines:
            with tempfile.NamedTemporaryFile("w", suffix=".json") as spec:
                json.dump(ours_vars(inv), spec)
                spec.flush()
                deploy(args.inventory, engine, "round_robin", spec.name)
            for clients in args.handshake_clients:
                for n in range(args.rounds):
                    for config in TLS_KEYS if n % 2 == 0 else tuple(reversed(TLS_KEYS)):
                        address, port = where[config]
                        figures = full_handshakes(inv, ids, config, address, port, args.seconds, clients)
                        figures.update(engine=engine, config=config, mode=dataplane_table.FULL_HANDSHAKE,
                                       connections=clients, round=n)  # fmt: skip
                        runs.append(figures)
                        print(json.dumps(figures), flush=True)
            modes = () if args.only_handshakes else (("keepalive", False), ("new_connection", True))
            for mode, new_connection in modes:
                for connections in args.connections:
                    for n in range(args.rounds):
                        configs = dataplane_table.CONFIGS
                        order = configs[n % len(configs) :] + configs[: n % len(configs)]
                        for config in order:
                            address, port = where[config]
                            figures = one_run(inv, ids, config, address, port, args.seconds, connections,
                                              new_connection)  # fmt: skip
                            figures.update(engine=engine, config=config, mode=mode, connections=connections, round=n)
                            runs.append(figures)
                            print(json.dumps(figures), flush=True)
    finally:
        references(inv, "stop")
    settings = {k: getattr(args, k) for k in ("engines", "connections", "seconds", "rounds", "handshake_clients")}
    settings["load"] = "wrk, 2 threads, GET %s (a %d-byte static body)" % (PATH, len(BODY))
    result = {"settings": settings, "machine": machine(inv), "runs": runs}
    if args.only_handshakes:
        with open(dataplane_table.RESULTS_FILE, encoding="utf-8") as handle:
            result = json.load(handle)
        kept = [r for r in result["runs"] if r["mode"] != dataplane_table.FULL_HANDSHAKE]
        result["runs"] = kept + runs
        result["settings"]["handshake_clients"] = args.handshake_clients
    os.makedirs(os.path.dirname(dataplane_table.RESULTS_FILE), exist_ok=True)
    with open(dataplane_table.RESULTS_FILE, "w") as handle:
        json.dump(result, handle, indent=1)
    runs = result["runs"]
    plot(runs, dataplane_table.PLOT_FILE)
    print("written: %s, %s" % (dataplane_table.RESULTS_FILE, dataplane_table.PLOT_FILE))
    return dataplane_table.main([])


if __name__ == "__main__":
    sys.exit(main())
