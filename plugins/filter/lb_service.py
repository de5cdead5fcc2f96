# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a deployed LB spec offers the rest of a play: its frontends and pools
as plain data, read from the one parsed spec (defaults filled in), so that
playbooks and other roles never rebuild it from role variables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.halb.loadbalancer.plugins.module_utils import engine_facts, lb_spec


def lb_service(data, engine, health_listen=""):
    spec = lb_spec.parse(data, engine)
    modes = lb_spec.pool_modes(spec)
    return {
        "engine": engine,
        "maxconn": spec.maxconn,
        # The engine's own health URL (rendered by both renderers), for
        # keepalived's tracking; empty when none is served.
        "health_url": "http://%s%s" % (health_listen, engine_facts.HEALTH_PATH) if health_listen else "",
        # nginx's stub_status beside it (what its Prometheus exporter reads).
        "status_url": (
            "http://%s%s" % (health_listen, engine_facts.STATUS_PATH) if health_listen and engine == "nginx" else ""
        ),
        "frontends": [
            {
                "name": fe.name,
                "bind": fe.bind,
                "port": fe.port,
                "mode": fe.mode,
                "tls": fe.tls is not None,
                "pool": fe.pool,
            }
            for fe in spec.frontends
        ],
        "pools": [
            {
                "name": pool.name,
                "mode": modes[pool.name],
                "strategy": pool.strategy,
                "health_check": {
                    "enabled": pool.health_check.enabled,
                    "path": pool.health_check.path,
                    "expected_status": pool.health_check.expected_status,
                },
                "servers": [
                    {
                        "name": server.name,
                        "address": server.address,
                        "port": server.port,
                        "backup": server.backup,
                        "drain": server.drain,
                    }
                    for server in pool.servers
                ],
            }
            for pool in spec.pools
        ],
    }


class FilterModule(object):
    def filters(self):
        return {"lb_service": lb_service}
