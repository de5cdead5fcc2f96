# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for HAProxy's runtime API (the ``stats socket``).

Every command uses its own connection: HAProxy answers one command on a
non-interactive connection, then closes it, so reading until EOF gives the
whole answer. Standard library only; this runs on the managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import errno
import re
import socket
import time

DEFAULT_SOCKET = "/run/haproxy/admin.sock"
DEFAULT_TIMEOUT = 10.0
ADMIN_STATES = ("ready", "drain", "maint")

# srv_admin_state bits (include/haproxy/server-t.h). Only the "forced" ones are
# what `set server ... state` (and an agent check's reply) writes; the others
# are inherited from a tracked server (IMAINT 0x02, IDRAIN 0x10) or come from
# DNS resolution (RMAINT 0x20), and that command cannot clear them. The config
# keyword `disabled` sets CMAINT together with FMAINT, so FMAINT covers it.
SRV_ADMF_FMAINT = 0x01
SRV_ADMF_FDRAIN = 0x08

# The characters HAProxy allows in proxy and server names. Checking them also
# keeps a newline or space in an option from smuggling in a second command.
_NAME = re.compile(r"[A-Za-z0-9_.:-]+\Z")  # \Z: "$" would let a trailing newline through


class RuntimeApiError(Exception):
    """Any failure to get an answer from HAProxy, or an answer that is an error.

    The message says what went wrong and what to fix; callers show it as is.
    """


class UnknownBackend(RuntimeApiError):
    pass


class UnknownServer(RuntimeApiError):
    pass


class CommandRejected(RuntimeApiError):
    """HAProxy answered a `set server` command with an error message."""

    def __init__(self, command, backend, server, answer):
        self.command = command
        self.backend = backend
        self.server = server
        self.answer = answer
        message = "HAProxy rejected `%s` (backend %s, server %s): %s" % (command, backend, server, answer)
        if not message.endswith("."):
            message += "."
        if answer.startswith("Permission denied"):
            message += " The stats socket needs `level admin` to change servers."
        super().__init__(message)


def send_command(path, command, timeout=DEFAULT_TIMEOUT):
    """Send one command and return HAProxy's whole answer as text."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except OSError as exc:
            raise RuntimeApiError(_connect_error(path, exc)) from exc
        try:
            sock.sendall(("%s\n" % command).encode("utf-8"))
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout as exc:
            raise RuntimeApiError(
                "HAProxy did not answer `%s` on socket %s within %ss." % (command, path, timeout)
            ) from exc
        except OSError as exc:
            raise RuntimeApiError("socket %s: lost the connection during `%s`: %s" % (path, command, exc)) from exc
    finally:
        sock.close()
    return b"".join(chunks).decode("utf-8", "replace")


def _connect_error(path, exc):
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT:
        return (
            "socket %s does not exist: is HAProxy running with `stats socket %s level admin` in its "
            "global section? Set the socket option to the path HAProxy uses." % (path, path)
        )
    if code in (errno.EACCES, errno.EPERM):
        return (
            "permission denied on socket %s: run the task with `become: true`, or give this user "
            "access to it (`stats socket ... mode 660 group <group>`)." % path
        )
    if code == errno.ECONNREFUSED:
        return (
            "socket %s refuses connections: HAProxy is not running, or no longer listens there "
            "(a stale socket file, or not a socket). Start HAProxy or fix the socket option." % path
        )
    if isinstance(exc, socket.timeout):
        return "socket %s: HAProxy did not accept the connection in time; it may be overloaded." % path
    return "cannot connect to socket %s: %s" % (path, exc)


def parse_stat_csv(text):
    """Rows of `show stat` as dicts keyed by column name, values as text.

    The header is the first line starting with "# "; every line ends with a
    comma, and a "-" column separates the fixed fields from the per-module
    ones (ssl_*, h2_*): columns without a name are dropped.
    """
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith("# ")]
    if not starts:
        raise RuntimeApiError("unexpected answer to `show stat` (no CSV header): %s" % _short(text))
    header = next(csv.reader([lines[starts[0]][2:]]))
    rows = []
    for values in csv.reader(line for line in lines[starts[0] + 1 :] if line.strip()):
        rows.append(dict((name, value) for name, value in zip(header, values) if name))
    return rows


def parse_servers_state(text):
    """Rows of `show servers state` (format version 1) as dicts of text values."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or lines[0].strip() != "1" or not lines[1].startswith("# "):
        raise RuntimeApiError("unexpected answer to `show servers state`: %s" % _short(text))
    header = lines[1][2:].split()
    return [dict(zip(header, line.split())) for line in lines[2:]]


def check_name(option, value):
    """Raise unless value is a valid HAProxy backend or server name."""
    if not _NAME.match(value or ""):
        raise RuntimeApiError(
            "%s: %r is not a valid HAProxy name; use only letters, digits and . : - _" % (option, value)
        )


def admin_state(admin_bits):
    """ready, drain or maint, as `set server ... state` sets it."""
    if admin_bits & SRV_ADMF_FMAINT:
        return "maint"
    if admin_bits & SRV_ADMF_FDRAIN:
        return "drain"
    return "ready"


def set_command(backend, server, what, value):
    """The text of a `set server` command, e.g. "set server web/web1 state drain"."""
    return "set server %s/%s %s %s" % (backend, server, what, value)


def _short(text, limit=200):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _int(value):
    """Stats fields are empty when HAProxy does not measure them (rtime in tcp mode)."""
    return int(value) if value not in (None, "") else None


class RuntimeClient:
    def __init__(self, path=DEFAULT_SOCKET, timeout=DEFAULT_TIMEOUT):
        self.path = path
        self.timeout = timeout

    def command(self, command):
        return send_command(self.path, command, self.timeout)

    def show_stat(self, proxy_id=None, kind=None, server_id=None):
        """All of `show stat`, or with ids the rows of one proxy (kind 4: servers)."""
        command = "show stat"
        if proxy_id is not None:
            command = "show stat %s %s %s" % (proxy_id, kind, server_id)
        return parse_stat_csv(self.command(command))

    def backends(self):
        """Names of all backends, best effort (only used to help in error messages)."""
        try:
            lines = self.command("show backend").splitlines()
        except RuntimeApiError:
            return []
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    def servers_state(self, backend):
        check_name("backend", backend)
        answer = self.command("show servers state %s" % backend)
        if answer.strip() == "Can't find backend.":
            known = ", ".join(self.backends()) or "none found"
            raise UnknownBackend(
                "backend %s not found on socket %s (HAProxy: %s). Set the backend option to a "
                "`backend` or `listen` section of haproxy.cfg (known backends: %s)."
                % (backend, self.path, answer.strip(), known)
            )
        return parse_servers_state(answer)

    def server(self, backend, server):
        """One server's state as a flat dict; raises UnknownBackend/UnknownServer.

        The admin state and weight come from `show servers state`: its
        srv_admin_state bits tell a forced drain even while the server is DOWN
        (`show stat` then says "DOWN", not "DRAIN"), and they leave out
        inherited maintenance ("MAINT (via b/s)") that `set server ... state`
        cannot change; srv_uweight is the weight `set server ... weight`
        sets, where the `show stat` weight column is the effective one (lower
        during slowstart). Status, sessions and timings come from `show stat`,
        asked for this one server by its ids so a poll stays small.
        """
        rows = self.servers_state(backend)
        check_name("server", server)
        state = next((row for row in rows if row.get("srv_name") == server), None)
        if state is None:
            known = ", ".join(row.get("srv_name", "?") for row in rows) or "no servers"
            raise UnknownServer(
                "server %s not found in backend %s (it has: %s). Set the server option to one of "
                "the `server` lines of that backend." % (server, backend, known)
            )
        stat = self.server_stat(state["be_id"], state["srv_id"], backend, server)
        admin_bits = int(state["srv_admin_state"])
        return {
            "backend": backend,
            "server": server,
            "status": stat.get("status", ""),
            "admin_state": admin_state(admin_bits),
            "admin_bits": admin_bits,
            "weight": int(state["srv_uweight"]),
            "effective_weight": _int(stat.get("weight")),
            "sessions": _int(stat.get("scur")) or 0,
            "response_time_ms": _int(stat.get("rtime")),
            "total_time_ms": _int(stat.get("ttime")),
            "backend_id": int(state["be_id"]),
            "server_id": int(state["srv_id"]),
        }

    def server_stat(self, backend_id, server_id, backend, server):
        """The `show stat` row of one server, by the ids `show servers state` gave."""
        for row in self.show_stat(backend_id, 4, server_id):
            if row.get("pxname") == backend and row.get("svname") == server:
                return row
        raise UnknownServer("`show stat` has no row for server %s in backend %s." % (server, backend))

    def _set(self, backend, server, what, value):
        check_name("backend", backend)
        check_name("server", server)
        command = set_command(backend, server, what, value)
        answer = self.command(command).strip()
        # HAProxy answers a successful `set server` with an empty line only;
        # any text is its error message ("No such server.", ...).
        if answer:
            raise CommandRejected(command, backend, server, answer)
        return command

    def set_state(self, backend, server, state):
        if state not in ADMIN_STATES:
            raise ValueError("state must be one of %s, got %r" % (", ".join(ADMIN_STATES), state))
        return self._set(backend, server, "state", state)

    def set_weight(self, backend, server, weight):
        return self._set(backend, server, "weight", int(weight))

    def server_names(self):
        """(backend, server) of every server the running HAProxy has."""
        rows = parse_servers_state(self.command("show servers state"))
        return set((row["be_name"], row["srv_name"]) for row in rows)

    def drain_until_idle(self, servers, timeout, interval=0.5):
        """Drain each (backend, server) and wait until none holds a session.

        Returns the ones still holding sessions when `timeout` seconds ran
        out (an empty list when all went idle in time).
        """
        for backend, server in sorted(servers):
            self.set_state(backend, server, "drain")
        deadline = time.monotonic() + timeout
        while True:
            busy = sorted(
                (row["pxname"], row["svname"])
                for row in self.show_stat()
                if (row.get("pxname"), row.get("svname")) in servers and (_int(row.get("scur")) or 0) > 0
            )
            if not busy or time.monotonic() >= deadline:
                return busy
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
