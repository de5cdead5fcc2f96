# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check an LB spec on the controller, before any host is touched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec
from ansible_collections.halb.loadbalancer.plugins.module_utils import spec_fields as fields
from ansible_collections.halb.loadbalancer.plugins.plugin_utils import spec_paths, tls_bundle


def lb_spec_errors(data, engine, prefix="", var_names=None):
    """The first problem of the spec, named as the user wrote it: a spec path
    under a key of var_names is renamed to that variable (the longest key
    wins), any other path gets prefix in front."""
    if var_names is None:
        var_names = {}
    if not isinstance(var_names, Mapping):
        raise AnsibleFilterError("lb_spec_errors: var_names must be a dict of spec paths to variable names")
    try:
        lb_spec.parse(data, engine)
    except lb_spec.SpecError as exc:
        return [spec_paths.error_message(exc, var_names, "%s" % (prefix or ""))]
    return []


def lb_setting_errors(health_listen, runtime_socket, tls_directory="/etc/halb/tls", metrics=None, engine="haproxy"):
    """Problems of the lb role's settings that reach a config file or a
    command line outside the spec, each named by its variable."""
    checks = [
        lambda: lb_spec.file_path(runtime_socket, "lb_haproxy_runtime_socket", "/run/haproxy/admin.sock"),
        lambda: lb_spec.file_path(tls_directory, "lb_tls_directory", "/etc/halb/tls"),
    ]
    if health_listen not in ("", None):  # empty: no health URL
        checks.insert(0, lambda: lb_spec.listen_address(health_listen, "lb_health_listen"))
    if metrics and metrics.get("listen"):
        checks += _metrics_checks(metrics, engine, health_listen)
    errors = []
    for check in checks:
        try:
            check()
        except lb_spec.SpecError as exc:
            errors.append("%s" % exc)
    return errors


def _metrics_checks(metrics, engine, health_listen):
    """The lb_metrics_* settings, when lb_metrics_listen turns metrics on."""

    def allow():
        networks = metrics.get("allow")
        if not isinstance(networks, list) or not networks:
            raise fields.SpecError(
                "lb_metrics_allow",
                "is empty or not a list",
                "List the networks that may scrape, e.g. [127.0.0.0/8, 10.0.0.5/32]",
            )
        for i, network in enumerate(networks):
            fields.cidr(network, "lb_metrics_allow[%d]" % i)

    def nginx_status():
        if engine == "nginx" and health_listen in ("", None):
            raise fields.SpecError(
                "lb_health_listen",
                "is empty, but nginx's exporter reads stub_status there",
                "Set lb_health_listen (e.g. 127.0.0.1:8901), or leave lb_metrics_listen empty",
            )

    checks = [
        lambda: fields.listen_address(metrics.get("listen"), "lb_metrics_listen"),
        allow,
        lambda: fields.listen_address(metrics.get("nginx_exporter"), "lb_metrics_nginx_exporter_listen"),
        lambda: fields.file_path(metrics.get("textfile_dir"), "lb_metrics_textfile_dir", "/run/halb/metrics"),
        nginx_status,
    ]
    if metrics.get("node_exporter") not in ("", None):  # empty: no node metrics
        checks.append(lambda: fields.listen_address(metrics["node_exporter"], "lb_metrics_node_exporter_listen"))
    return checks


def lb_tls_certificate_errors(entries, spec=None, engine="haproxy", directory="/etc/halb/tls", prefix=""):
    """Why certificates the lb role would install cannot serve (key does not
    match, expired, chain out of order), each named as
    lb_tls_certificates[i].field, and frontends of spec whose certificate is
    in directory but is no entry's; empty when all would serve."""
    errors = tls_bundle.certificate_errors(entries)
    try:
        parsed = lb_spec.parse(spec, engine) if spec else None
    except lb_spec.SpecError:
        parsed = None  # lb_spec_errors reports it
    if parsed is None or errors or not isinstance(entries, (list, type(None))):
        return errors
    installed = dict((tls_bundle.bundle_path(directory, e["name"]), e) for e in entries or ())
    for i, fe in enumerate(parsed.frontends):
        for where, cert, _key, names in lb_spec.certificate_files(fe):
            field = "%sfrontends[%d].%s.certificate" % (prefix, i, where)
            if cert in installed:
                errors += tls_bundle.name_errors(installed[cert], names, field)
            elif cert.startswith(directory.rstrip("/") + "/"):
                errors.append("%s: %s is in lb_tls_directory, but no lb_tls_certificates entry installs it. Add one "
                              "named %s, or point the frontend at a file the host has"
                              % (field, cert, cert.rsplit("/", 1)[1].rsplit(".", 1)[0]))  # fmt: skip
    return errors


def lb_tls_bundle_path(directory, name):
    """Where the lb role installs the certificate called name (the path the
    pre-flight checks a frontend's tls.certificate against)."""
    return tls_bundle.bundle_path(directory, name)


def lb_nofile_limit(maxconn, servers=0):
    """The open-files limit (LimitNOFILE=) an engine needs for maxconn and
    `servers` servers in all its pools."""
    from ansible.errors import AnsibleFilterError as FilterError  # local: leaves the shared imports alone

    from ansible_collections.halb.loadbalancer.plugins.module_utils import engine_facts

    if isinstance(maxconn, str) and maxconn.strip().isdigit() and maxconn.strip().isascii():
        maxconn = int(maxconn.strip())
    if isinstance(servers, str) and servers.strip().isdigit() and servers.strip().isascii():
        servers = int(servers.strip())
    try:
        return engine_facts.nofile_limit(maxconn, servers)
    except ValueError as exc:
        raise FilterError("lb_nofile_limit: %s" % exc) from exc


class FilterModule(object):
    def filters(self):
        return {
            "lb_spec_errors": lb_spec_errors,
            "lb_setting_errors": lb_setting_errors,
            "lb_tls_certificate_errors": lb_tls_certificate_errors,
            "lb_nofile_limit": lb_nofile_limit,
            "lb_tls_bundle_path": lb_tls_bundle_path,
        }
