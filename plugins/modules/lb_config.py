#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: lb_config
short_description: Render, validate and install a load balancer config from the LB spec
version_added: 0.1.0
author: halb.loadbalancer contributors (!UNKNOWN)
description:
  - Validates and normalizes an LB spec (frontends, pools, strategy, health checks, TLS, ACLs, cache, timeouts).
  - Renders it with the engine's renderer (HAProxy or nginx) into a complete config file.
  - Fails, before anything is written, when a certificate or key file a frontend names is not on the host (check
    mode warns instead, since a task before this one may install it).
  - Checks the new file with the engine itself (C(haproxy -c) or C(nginx -t)) before it replaces the current one;
    a config that fails the check is never installed, and the error shows the engine's own message.
  - Writes atomically, only when the content changes, keeping a backup of the previous file.
  - It does not reload the engine; notify a handler on C(changed).
options:
  spec:
    description:
      - The LB spec, as plain data. Top-level keys C(frontends), C(pools), C(timeouts), C(retries),
        C(redispatch), C(maxconn).
      - "Every invalid field fails the task with its path and the fix,
        for example C(pools[1].servers[2].port: 70000 is not a TCP port (1-65535))."
      - Numbers may be given as strings of digits (as templating often produces them).
      - Pool C(strategy) is one of V(round_robin), V(least_connections) or V(fastest_response); V(weighted_round_robin)
        and V(weighted_least_connections) are accepted as aliases (weights always apply).
      - V(fastest_response) picks each request's server inside the engine, in Lua (nginx C(balancer_by_lua) from
        C(libnginx-mod-http-lua), HAProxy C(lua-load-per-thread) and C(use-server)), from the response times of the
        requests before it. Its knobs are the pool's C(fastest_response) keys C(half_life), C(penalty) and
        C(probe_interval); the README's Strategies section gives the formula. HTTP pools only.
      - A frontend's C(tls.sni) lists other certificates, each with the C(names) (DNS names or C(*.) wildcards) it
        is served for; a client asking for any other name, or none, gets C(tls.certificate). nginx refuses it on TCP
        frontends.
      - A frontend's C(rate_limit) is a number of requests per second per client address (with a burst of as many
        more, and status 429 beyond), or a mapping of C(requests_per_second), C(burst) (0 or more) and C(status)
        (400-599).
      - An HTTP frontend's C(access_log) is V(all) (the default, every request), V(errors) (answers 5xx and requests
        ended by an error or a timeout; HAProxy also logs retries) or V(off).
      - A frontend's C(routes) are rules of C(host) (a DNS name, or C(*.) and a domain for every name below it), and
        C(path_prefix) or C(path) (exact), each with a C(pool); the first rule that matches wins, the rest goes to the
        frontend's C(pool). A rule an earlier one always catches is refused.
      - A pool's C(persistence) is C(by) V(cookie) (HAProxy inserts a cookie naming the server; not supported by nginx
        open source), V(app_cookie) or V(header) (with C(name)), V(source) or V(uri), the last four hashed consistently
        on both engines. A pool may also set C(slow_start) (HAProxy only), C(timeouts) (C(connect), C(server)) and
        C(retries) of its own.
      - Server weights are 0-256 for HAProxy and 1-1000 for nginx.
      - C(maxconn) is at most 500000. The nginx config gets C(worker_rlimit_nofile) of 2 x maxconn + 1024 (two
        descriptors per proxied connection, plus room for listeners and logs); HAProxy sizes its own limit.
    type: dict
    required: true
  engine:
    description: Which engine the config is for.
    type: str
    required: true
    choices: [haproxy, nginx]
  dest:
    description: Path of the config file. Defaults to C(/etc/haproxy/haproxy.cfg) or C(/etc/nginx/nginx.conf).
    type: path
  validate:
    description: Check the new file with the engine binary before installing it.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the file being replaced.
    type: bool
    default: true
  owner:
    description: Owner of the file.
    type: str
    default: root
  group:
    description: Group of the file. Defaults to C(haproxy) for HAProxy and C(root) for nginx.
    type: str
  mode:
    description: Permissions of the file.
    type: raw
    default: "0640"
  drain_timeout:
    description:
      - HAProxy only. Before a new config that removes servers replaces the running one, those servers are drained
        through the runtime API (C(render_options.runtime_socket)), so they get no new request, and the module waits
        up to this many seconds until they hold no session. Past it, a warning says which servers were still busy and
        the config is installed anyway (the reload's old workers still finish their requests).
      - V(0) skips the drain. Nothing is drained when HAProxy is not running or in check mode.
    type: int
    default: 60
  render_options:
    description:
      - Paths the renderer writes into the file, for engines installed in other places.
      - HAProxy keys C(runtime_socket), C(chroot), C(user), C(group), C(log), C(server_state_file) (where server
        states are kept across reloads; empty for none).
      - nginx keys C(user), C(pid), C(error_log), C(access_log), C(cache_dir), C(stream_module), C(lua_modules).
      - Both take C(health_listen) (a local C(/halb-health) URL) and C(lua_dir) (where the Lua balancer of
        fastest_response pools is written; C(/etc/haproxy/halb) or C(/etc/nginx/halb)).
      - Both take C(metrics_listen) (address:port of a Prometheus listener, none when empty), C(metrics_allow) (the
        CIDRs it answers) and C(node_exporter) (address:port of the node's exporter, served at C(/node/metrics));
        nginx also C(nginx_exporter) (address:port of prometheus-nginx-exporter, served at C(/metrics)). The lb role
        checks them (its C(lb_metrics_*) variables) before any host is touched.
    type: dict
    default: {}
notes:
  - Supports check mode (the new config is still validated, in a temporary file) and diff mode.
  - nginx open source has no active health checks; servers are marked down passively
    (C(max_fails) within C(fail_timeout)). Use M(halb.loadbalancer.backend_verify) to probe them actively.
seealso:
  - module: halb.loadbalancer.backend_verify
  - module: halb.loadbalancer.haproxy_server
"""

EXAMPLES = r"""
- name: Install an HAProxy config for the shop
  halb.loadbalancer.lb_config:
    engine: haproxy
    spec:
      pools:
        - name: shop
          strategy: least_connections
          health_check: {path: /health, interval: 2s}
          servers:
            - {name: web1, address: 192.0.2.11, port: 8080}
            - {name: web2, address: 192.0.2.12, port: 8080, weight: 2}
            - {name: spare, address: 192.0.2.13, port: 8080, backup: true}
      frontends:
        - name: www
          port: 443
          pool: shop
          tls: {certificate: /etc/haproxy/certs/shop.pem}
          acl: {deny: [203.0.113.0/24]}
          cache: {size_mb: 64, ttl: 60s}
  notify: Reload haproxy

- name: The same spec, for nginx
  halb.loadbalancer.lb_config:
    engine: nginx
    spec: "{{ shop_spec }}"
  notify: Reload nginx
"""

RETURN = r"""
dest:
  description: Path of the config file.
  returned: always
  type: str
  sample: /etc/haproxy/haproxy.cfg
backup_file:
  description: Copy of the previous file, when one was replaced.
  returned: changed and backup is true and a previous file existed
  type: str
  sample: /etc/haproxy/haproxy.cfg.12345.2026-11-26@10:00:00~
checksum:
  description: SHA-1 of the rendered config.
  returned: always
  type: str
balancer_file:
  description:
    - The Lua balancer of fastest_response pools (C(halb_balancer.lua) in the render option C(lua_dir)), which the
      config loads; written with the config, checked with it. Null when no pool uses fastest_response.
  returned: always
  type: str
  sample: /etc/nginx/halb/halb_balancer.lua
drained:
  description:
    - HAProxy only. Servers (C(backend/server)) the new config removes, drained before it was installed (in check
      mode, the ones that would be).
  returned: always
  type: list
  elements: str
  sample: [shop/be3]
strategies:
  description: Strategy of each pool after normalization (aliases resolved).
  returned: always
  type: dict
  sample: {shop: least_connections}
"""

import hashlib
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.halb.loadbalancer.plugins.module_utils import (
    balancer_lua,
    engine_facts,
    haproxy_runtime,
    lb_spec,
    render_haproxy,
    render_nginx,
)

RENDERERS = {"haproxy": render_haproxy.render, "nginx": render_nginx.render}
DEFAULT_LUA_DIR = {
    "haproxy": render_haproxy.DEFAULT_OPTIONS["lua_dir"],
    "nginx": render_nginx.DEFAULT_OPTIONS["lua_dir"],
}
DEFAULT_DEST = {"haproxy": "/etc/haproxy/haproxy.cfg", "nginx": "/etc/nginx/nginx.conf"}
DEFAULT_GROUP = {"haproxy": "haproxy", "nginx": "root"}


def check_command(engine, path):
    if engine == "haproxy":
        return ["haproxy", "-c", "-f", path]
    return ["nginx", "-t", "-q", "-c", path]


def validate(module, engine, text, directory, dest):
    """Run the engine's own check on `text`, in a file next to dest (so
    relative includes resolve as they will), and fail with its message."""
    binary = module.get_bin_path(engine)
    if not binary:
        module.fail_json(
            msg="%s is not installed on this host: cannot check the new config. Install it first." % engine
        )
    fd, path = tempfile.mkstemp(prefix=".halb-", suffix=".check", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(to_bytes(text))
        cmd = check_command(engine, path)
        cmd[0] = binary
        rc, out, err = module.run_command(cmd)
    finally:
        os.unlink(path)
    if rc != 0:
        # Speak of the file the user knows, not of our temporary copy.
        output = (out + err).replace(path, dest + " (new)")
        module.fail_json(
            msg="The rendered %s config failed `%s`; %s was not changed:\n%s"
            % (engine, " ".join(check_command(engine, dest)), dest, output.strip()),
            rc=rc,
        )


def drain_removed(module, spec, socket, timeout):
    """Drain the servers of the running HAProxy that `spec` no longer has.

    Returns them as backend/server. A server removed by a reload would stop
    taking requests at once, its sessions ended only by the old worker's
    hard-stop-after; drained first, its clients finish and leave.
    """
    if not os.path.exists(socket):
        return []  # HAProxy not running yet: nothing to drain
    client = haproxy_runtime.RuntimeClient(socket)
    keep = set((pool.name, server.name) for pool in spec.pools for server in pool.servers)
    try:
        # The metrics listener's node exporter is no pool's: never drained.
        removed = set(pair for pair in client.server_names() - keep if pair[0] != engine_facts.NODE_EXPORTER_BACKEND)
        if removed and not module.check_mode:
            busy = client.drain_until_idle(removed, timeout)
            if busy:
                module.warn(
                    "drain_timeout: %s still held sessions after %ds; installing the config anyway (the old "
                    "workers finish them after the reload)." % (", ".join("%s/%s" % pair for pair in busy), timeout)
                )
    except haproxy_runtime.RuntimeApiError as exc:
        module.warn("Could not drain the servers this config removes (%s); installing it anyway." % to_native(exc))
        return []
    return ["%s/%s" % pair for pair in sorted(removed)]


def balancer_file(spec, engine, options):
    """(path, text) of the Lua balancer the config loads, or None when no
    pool uses fastest_response."""
    if not any(pool.strategy == "fastest_response" for pool in spec.pools):
        return None
    lua_dir = options.get("lua_dir", DEFAULT_LUA_DIR[engine])
    return os.path.join(lua_dir, balancer_lua.FILE_NAME), balancer_lua.source(engine)


def missing_tls_files(spec):
    """(field, path) of each certificate or key a frontend names that this
    host does not have."""
    missing = []
    for i, fe in enumerate(spec.frontends):
        for where, cert, key, _names in lb_spec.certificate_files(fe):
            for field, path in (("certificate", cert), ("key", key)):
                if path and not os.path.isfile(path):
                    missing.append(("frontends[%d].%s.%s" % (i, where, field), path))
    return missing


def read_text(path):
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        return to_native(handle.read())


def main():
    module = AnsibleModule(
        argument_spec=dict(
            spec=dict(type="dict", required=True),
            engine=dict(type="str", required=True, choices=list(engine_facts.ENGINES)),
            dest=dict(type="path"),
            validate=dict(type="bool", default=True),
            backup=dict(type="bool", default=True),
            owner=dict(type="str", default="root"),
            group=dict(type="str"),
            mode=dict(type="raw", default="0640"),
            render_options=dict(type="dict", default={}),
            drain_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    engine = module.params["engine"]
    dest = module.params["dest"] or DEFAULT_DEST[engine]
    options = module.params["render_options"]

    try:
        spec = lb_spec.parse(module.params["spec"], engine)
    except lb_spec.SpecError as exc:
        module.fail_json(msg="Invalid LB spec: %s" % exc, field=exc.path)
    if module.params["drain_timeout"] < 0:
        module.fail_json(msg="drain_timeout: %d is negative; give the seconds to wait, or 0 to skip the drain."
                         % module.params["drain_timeout"])  # fmt: skip
    missing = missing_tls_files(spec)
    for field, path in missing:
        problem = "%s: %s does not exist on this host" % (field, path)
        if not module.check_mode:
            module.fail_json(msg="Invalid LB spec: %s. Install it first (the lb role's lb_tls_certificates does), "
                                 "or correct the path; %s was not changed." % (problem, dest), field=field)  # fmt: skip
        module.warn("%s; the engine's check is skipped (check mode: a task before this one may install it)." % problem)
    try:
        content = RENDERERS[engine](spec, **options)
    except TypeError as exc:
        module.fail_json(msg="render_options: %s" % to_native(exc))

    lua = balancer_file(spec, engine, options)
    lua_changed = bool(lua) and read_text(lua[0]) != lua[1]
    before = read_text(dest)
    changed = before != content or lua_changed
    result = dict(
        changed=changed,
        dest=dest,
        checksum=hashlib.sha1(to_bytes(content)).hexdigest(),  # noqa: S324 (a checksum, as Ansible reports them)
        strategies=dict((pool.name, pool.strategy) for pool in spec.pools),
        balancer_file=lua[0] if lua else None,
        drained=[],
    )
    if module._diff:
        result["diff"] = dict(before=before, after=content, before_header=dest, after_header=dest + " (rendered)")
    if changed:
        directory = os.path.dirname(dest) or "."
        if not os.path.isdir(directory):
            module.fail_json(msg="dest: directory %s does not exist. Is %s installed?" % (directory, engine))
        if module.params["validate"] and not missing:
            # The check loads a fresh copy of the Lua balancer, so nothing the
            # running engine reads is touched before the check has passed.
            scratch = tempfile.mkdtemp(prefix=".halb-lua-", dir=directory)
            try:
                check_text = content
                if lua:
                    with open(os.path.join(scratch, balancer_lua.FILE_NAME), "w") as handle:
                        handle.write(lua[1])
                    check_text = RENDERERS[engine](spec, **dict(options, lua_dir=scratch))
                validate(module, engine, check_text, directory, dest)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        if engine == "haproxy" and before != content and module.params["drain_timeout"] > 0:
            socket = options.get("runtime_socket", render_haproxy.DEFAULT_OPTIONS["runtime_socket"])
            result["drained"] = drain_removed(module, spec, socket, module.params["drain_timeout"])
        if not module.check_mode:
            if lua_changed:
                if not os.path.isdir(os.path.dirname(lua[0])):
                    os.makedirs(os.path.dirname(lua[0]), 0o755)
                write_atomically(module, lua[0], lua[1])
                os.chmod(lua[0], 0o644)
            if before != content:
                if module.params["backup"] and before:
                    result["backup_file"] = module.backup_local(dest)
                write_atomically(module, dest, content)

    if not module.check_mode and os.path.exists(dest):
        file_args = module.load_file_common_arguments(
            dict(
                path=dest,
                owner=module.params["owner"],
                group=module.params["group"] or DEFAULT_GROUP[engine],
                mode=module.params["mode"],
            )
        )
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


def write_atomically(module, path, text):
    fd, tmp = tempfile.mkstemp(prefix=".halb-", suffix=".new", dir=os.path.dirname(path))
    with os.fdopen(fd, "wb") as handle:
        handle.write(to_bytes(text))
    module.atomic_move(tmp, path)


if __name__ == "__main__":
    main()
