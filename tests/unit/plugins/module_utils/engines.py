"""Run the real engine binaries against rendered configs in a temp dir."""

import os
import shutil
import socket
import subprocess

from ansible_collections.halb.loadbalancer.plugins.module_utils import balancer_lua, render_haproxy, render_nginx

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_ports(count):
    """count distinct free TCP ports on 127.0.0.1: every socket stays bound
    until all are picked (one at a time, the kernel may hand out the same
    port twice)."""
    sockets = [socket.socket() for index in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def make_cert(directory):
    """A self-signed certificate with its key in the same PEM (both engines read that)."""
    pem = os.path.join(directory, "site.pem")
    if not os.path.exists(pem):
        key, crt = pem + ".tmpkey", pem + ".tmpcrt"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=halb.test",
             "-keyout", key, "-out", crt],
            check=True, capture_output=True,
        )  # fmt: skip
        with open(pem, "w") as out:
            for part in (crt, key):
                with open(part) as handle:
                    out.write(handle.read())
    return pem


def check(engine, spec, directory, **render_options):
    """Render and check; return (returncode, engine output, config text)."""
    # The Lua balancer of fastest_response pools, as lb_config writes it.
    with open(os.path.join(directory, balancer_lua.FILE_NAME), "w") as handle:
        handle.write(balancer_lua.source(engine))
    render_options.setdefault("lua_dir", directory)
    if engine == "haproxy":
        text = render_haproxy.render(spec, runtime_socket=os.path.join(directory, "admin.sock"), **render_options)
        path = os.path.join(directory, "haproxy.cfg")
        cmd = [HAPROXY, "-c", "-f", path]
    else:
        cache = os.path.join(directory, "cache")
        os.makedirs(cache, exist_ok=True)
        text = render_nginx.render(
            spec,
            pid=os.path.join(directory, "nginx.pid"),
            error_log=os.path.join(directory, "error.log"),
            access_log=os.path.join(directory, "access.log"),
            cache_dir=cache,
            **render_options,
        )
        path = os.path.join(directory, "nginx.conf")
        cmd = [NGINX, "-t", "-q", "-c", path]
    with open(path, "w") as handle:
        handle.write(text)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode, proc.stdout + proc.stderr, text


def start(engine, spec, directory, **render_options):
    """Run the engine in the foreground on a rendered config in `directory`
    (with render_options beside the test's paths); return its process (the
    caller stops it)."""
    directory = str(directory)
    with open(os.path.join(directory, balancer_lua.FILE_NAME), "w") as handle:
        handle.write(balancer_lua.source(engine))
    if engine == "haproxy":
        text = render_haproxy.render(spec, runtime_socket=os.path.join(directory, "admin.sock"),
                                     server_state_file=None, lua_dir=directory, **render_options)  # fmt: skip
        config = os.path.join(directory, "haproxy.cfg")
        command = [HAPROXY, "-db", "-f", config]
    else:
        cache = os.path.join(directory, "cache")
        os.makedirs(cache, exist_ok=True)
        text = render_nginx.render(spec, pid=os.path.join(directory, "nginx.pid"),
                                   error_log=os.path.join(directory, "error.log"),
                                   access_log=os.path.join(directory, "access.log"), cache_dir=cache,
                                   lua_dir=directory, **render_options)  # fmt: skip
        config = os.path.join(directory, "nginx.conf")
        command = [NGINX, "-c", config, "-g", "daemon off;"]
    with open(config, "w") as handle:
        handle.write(text)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
