# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Name the variable a user wrote, not the LB spec path it became.

lb_spec.parse() names a bad field by its spec path, e.g.
``pools[0].servers[2].port``. A role that builds the spec from simple
variables passes a table of spec path prefixes to variable names
(``{'pools[0].servers': 'lb_backend_servers'}``), and the message then reads
``lb_backend_servers[2].port: ...``. Controller only: filters use it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# lb_spec names the spec itself "spec" (or nothing) when the whole of it is wrong.
ROOT_PATHS = ("", "spec")


def _under(path, prefix):
    """Whether path is prefix itself or a field or item below it: the match
    must end at a boundary, so 'pools[0].servers' does not match
    'pools[0].servers_x'."""
    if not prefix or not path.startswith(prefix):
        return False
    return len(path) == len(prefix) or path[len(prefix)] in ".["


def var_path(path, var_names=None, prefix=""):
    """The name of path in the user's own variables.

    The longest key of var_names that path is under is replaced by its
    variable name; a path under no key gets prefix in front (e.g.
    'lb_spec.' for a spec given whole). The root of the spec becomes the
    prefix without its trailing dot.
    """
    path = "%s" % (path or "")
    best = None
    for key in var_names or {}:
        key_text = "%s" % key
        if _under(path, key_text) and (best is None or len(key_text) > len(best[0])):
            best = (key_text, key)
    if best is not None:
        return "%s%s" % (var_names[best[1]], path[len(best[0]) :])
    if path in ROOT_PATHS:
        if prefix.endswith("."):
            return prefix[:-1]
        return prefix + path if prefix else path
    return prefix + path


def error_message(exc, var_names=None, prefix=""):
    """The message of an lb_spec.SpecError with its path renamed by var_path."""
    path = getattr(exc, "path", "") or ""
    message = "%s" % exc
    if path and message.startswith(path):
        return var_path(path, var_names, prefix) + message[len(path) :]
    root = var_path(path, var_names, prefix)
    return "%s: %s" % (root, message) if root else message
