"""Tests of the HAProxy runtime API client, against a fake HAProxy on a real UNIX socket.

FakeHAProxy is also used by the module's tests.
"""

import errno
import os
import socket
import threading

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import haproxy_runtime as rt

# `show stat` header of HAProxy 2.6 with the SSL and HTTP/2 module counters.
STAT_HEADER = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,"
    "weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,"
    "rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,"
    "hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,"
    "lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,"
    "agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,"
    "conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,"
    "srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,"
    "need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,"
    "ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,"
    "h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,"
    "h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,"
)
STAT_COLUMNS = [name for name in STAT_HEADER[2:].split(",") if name]

# What `echo "show stat" | socat stdio /run/haproxy/admin.sock` prints: web2 is
# drained, at weight 50; the answer ends with an empty line.
STAT_SAMPLE = (
    STAT_HEADER
    + "\n"
    + "fe_http,FRONTEND,,,7,41,262120,18342,7520311,120933412,0,0,2,,,,,OPEN,,,,,,,,,1,2,0,,,,0,4,0,57,,,,0,17950,"
    "210,170,12,0,,4,57,18342,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,4,44,9130,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,"
    "18342,1201,4411,0,0,0,0,0,0,3,0,4410,0,\n"
    "web,web1,0,0,2,19,,9211,3760204,60466081,,0,,0,0,0,0,UP,100,1,0,1,0,86011,0,,1,3,1,,9211,,2,2,,29,L7OK,200,1,"
    "0,8975,0,85,5,0,0,,,9065,3,0,,,,,0,OK,,0,0,12,35,,,,Layer7 check passed,,2,3,4,,,,172.29.10.21:8080,,http,,,,"
    ",,,,,9211,0,,,0,,0,1,311,2004,0,0,0,2,2,100,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
    "web,web2,0,0,5,22,,9131,3760107,60467331,,0,,0,0,0,0,DRAIN,50,1,0,0,0,95,0,,1,3,2,,9131,,2,0,,28,L7OK,200,1,0,"
    "8973,0,85,7,0,0,,,9067,3,0,,,,,0,OK,,0,0,18,41,,,,Layer7 check passed,,2,3,4,,,,172.29.10.22:8080,,http,,,,,"
    ",,,,9131,0,,,0,,0,2,402,2511,0,0,0,5,5,50,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
    "web,BACKEND,0,0,7,24,26212,18342,7520311,120933412,0,0,,0,0,0,0,UP,100,1,0,,1,86011,12,,1,3,0,,18342,,1,2,,57"
    ",,,,0,17948,0,170,12,0,,,,18132,6,0,0,0,0,0,0,,,0,0,15,38,,,,,,,,,,,,,,http,roundrobin,,,,,,,,18342,0,0,0,,,0,"
    "2,402,2511,0,,,,,150,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
    "\n"
)

SERVERS_STATE_HEADER = (
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
    "srv_check_addr srv_agent_addr srv_agent_port"
)


class FakeServer:
    """One `server` line: admin bits, weights and sessions as HAProxy keeps them."""

    def __init__(self, name, weight=100, sessions=0, drops_per_poll=0, admin=0, up=True, effective_weight=None):
        self.name = name
        self.sid = 0
        self.admin = admin  # srv_admin_state bits
        self.up = up
        self.uweight = self.iweight = weight
        self.effective_weight = effective_weight  # None: same as uweight (no slowstart)
        self.sessions = sessions
        self.drops_per_poll = drops_per_poll  # sessions that end between two reads once out of rotation
        self.tracked = None  # "backend/server" whose maintenance this one inherits (admin bit 0x02)

    def status(self):
        if self.admin & 0x02:
            return f"MAINT (via {self.tracked})"
        if self.admin & 0x23:
            return "MAINT"
        if not self.up:
            return "DOWN"  # a drained server that is down shows DOWN, not DRAIN
        return "DRAIN" if self.admin & 0x18 else "UP"


class FakeHAProxy:
    """A small stand-in for HAProxy 2.6's runtime API: one command per connection,
    answers and error messages worded as HAProxy words them."""

    def __init__(self, path, backends, level="admin", static_backends=()):
        self.path = str(path)
        self.level = level
        self.static_backends = set(static_backends)  # backends with a static LB algorithm
        self.backends = {}  # name -> (proxy id, [FakeServer])
        for iid, (name, servers) in enumerate(backends.items(), start=3):
            for sid, srv in enumerate(servers, start=1):
                srv.sid = sid
            self.backends[name] = (iid, servers)
        self.commands = []
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.listener.settimeout(0.05)  # lets the thread notice close() soon
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        self.listener.close()

    def server(self, backend, name):
        return next(srv for srv in self.backends[backend][1] if srv.name == name)

    def set_commands(self):
        return [cmd for cmd in self.commands if cmd.startswith("set ")]

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn = self.listener.accept()[0]
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                with self.lock:
                    answer = self.answer(data.decode().strip())
                conn.sendall(answer.encode())

    def answer(self, line):
        """The answer to one command, ending with the empty line HAProxy's prompt adds."""
        self.commands.append(line)
        args = line.split()
        if args[:2] == ["show", "stat"]:
            return self._show_stat(args[2:]) + "\n"
        if args[:3] == ["show", "servers", "state"]:
            return self._servers_state(args[3:]) + "\n"
        if args[:2] == ["show", "backend"]:
            return "# name\n" + "".join(name + "\n" for name in self.backends) + "\n"
        if args[:2] == ["set", "server"] and len(args) >= 3:
            if self.level != "admin":
                return "Permission denied\n\n"
            return self._set_server(args[2], args[3:]) + "\n"
        return f"Unknown command: '{line}'\n\n"

    def _show_stat(self, args):
        only_iid = int(args[0]) if len(args) == 3 else None
        only_sid = int(args[2]) if len(args) == 3 else -1
        rows = [self._row("fe_http", "FRONTEND", iid=2, status="OPEN", type="0")] if only_iid is None else []
        for name, (iid, servers) in self.backends.items():
            if only_iid not in (None, iid):
                continue
            for srv in servers:
                if only_sid in (-1, srv.sid):
                    rows.append(self._server_row(name, iid, srv))
            if only_iid is None:
                total = sum(srv.sessions for srv in servers)
                rows.append(self._row(name, "BACKEND", iid=iid, scur=total, status="UP", type="1"))
        return STAT_HEADER + "\n" + "".join(rows)

    def _server_row(self, backend, iid, srv):
        if srv.admin & 0x3B:  # out of rotation: sessions end one poll after the other
            srv.sessions = max(0, srv.sessions - srv.drops_per_poll)
        weight = srv.uweight if srv.effective_weight is None else srv.effective_weight
        return self._row(
            backend,
            srv.name,
            iid=iid,
            sid=srv.sid,
            scur=srv.sessions,
            status=srv.status(),
            weight=weight,
            uweight=srv.uweight,
            rtime=12,
            ttime=35,
            type="2",
        )

    @staticmethod
    def _row(pxname, svname, **values):
        values.update(pxname=pxname, svname=svname, pid=1)
        values["-"] = "-"
        return ",".join(str(values.get(col, "")) for col in STAT_COLUMNS) + ",\n"

    def _servers_state(self, args):
        names = list(self.backends)
        if args:
            if args[0] not in self.backends:
                return "Can't find backend.\n"
            names = [args[0]]
        lines = ["1", SERVERS_STATE_HEADER]
        for name in names:
            iid, servers = self.backends[name]
            for srv in servers:
                op_state = 2 if srv.up else 0
                lines.append(
                    f"{iid} {name} {srv.sid} {srv.name} 172.29.10.2{srv.sid} {op_state} {srv.admin} "
                    f"{srv.uweight} {srv.iweight} 120 6 3 4 6 0 0 0 - 8080 - 0 0 - - 0"
                )
        return "\n".join(lines) + "\n"

    def _set_server(self, target, args):
        backend, name = target.partition("/")[::2]
        if not backend or not name:
            return "Require 'backend/server'.\n"
        if backend not in self.backends:
            return "No such backend.\n"
        srv = next((s for s in self.backends[backend][1] if s.name == name), None)
        if srv is None:
            return "No such server.\n"
        what, value = (args + ["", ""])[:2]
        if what == "state":
            bits = {"ready": 0, "drain": 0x08, "maint": 0x01}
            if value not in bits:
                return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
            srv.admin = (srv.admin & ~0x09) | bits[value]
            return ""
        if what == "weight":
            if not value.isdigit():
                return "Require <weight> or <weight%>.\n"
            weight = int(value)
            if weight > 256:
                return "Absolute weight can only be between 0 and 256 inclusive.\n"
            if weight and weight != srv.iweight and backend in self.static_backends:
                return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
            srv.uweight = weight
            return ""
        return "'set server <srv>' only supports 'agent', 'health', 'state', 'weight', ...\n"


def web_backends():
    return {"web": [FakeServer("web1"), FakeServer("web2", weight=50, admin=0x08, sessions=5)]}


@pytest.fixture
def haproxy(tmp_path):
    fake = FakeHAProxy(tmp_path / "admin.sock", web_backends())
    yield fake
    fake.close()


def test_parse_stat_csv_haproxy_26_sample():
    rows = rt.parse_stat_csv(STAT_SAMPLE)
    assert [(r["pxname"], r["svname"]) for r in rows] == [
        ("fe_http", "FRONTEND"),
        ("web", "web1"),
        ("web", "web2"),
        ("web", "BACKEND"),
    ]
    assert all(len(r) == len(STAT_COLUMNS) for r in rows)
    web1, web2 = rows[1], rows[2]
    assert [web1[key] for key in ("status", "scur", "weight", "rtime", "ttime")] == ["UP", "2", "100", "12", "35"]
    assert (web2["status"], web2["scur"], web2["weight"], web2["uweight"]) == ("DRAIN", "5", "50", "50")
    assert web2["check_desc"] == "Layer7 check passed"
    assert rows[0]["h2_headers_rcvd"] == "18342"  # module counters after the "-" separator
    assert rows[0]["rtime"] == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # HAProxy quotes a field holding a comma or a quote, and doubles the quote.
        ('# pxname,svname,last_chk,\nweb,web1,"Down, says ""ops""",\n\n', 'Down, says "ops"'),
        ("# pxname,svname,last_chk,\nweb,web1,,\n", ""),
        # Columns an older HAProxy does not have are just absent.
        ("# pxname,svname,\nweb,web1,\n", None),
    ],
)
def test_parse_stat_csv_fields(text, expected):
    (row,) = rt.parse_stat_csv(text)
    assert row.get("last_chk") == expected


@pytest.mark.parametrize("text", ["", "Unknown command: 'show stats'\n\n", "Permission denied\n\n"])
def test_parse_stat_csv_rejects_non_csv(text):
    with pytest.raises(rt.RuntimeApiError, match="unexpected answer to `show stat`"):
        rt.parse_stat_csv(text)


def test_parse_servers_state():
    text = f"1\n{SERVERS_STATE_HEADER}\n3 web 1 web1 172.29.10.21 2 8 100 100 120 6 3 4 6 0 0 0 - 8080 - 0 0 - - 0\n\n"
    (row,) = rt.parse_servers_state(text)
    assert (row["be_name"], row["srv_name"], row["srv_admin_state"], row["srv_uweight"]) == ("web", "web1", "8", "100")
    with pytest.raises(rt.RuntimeApiError, match="unexpected answer to `show servers state`"):
        rt.parse_servers_state("Can't find backend.\n\n")


@pytest.mark.parametrize(
    ("bits", "expected"),
    [
        (0x00, "ready"),
        (0x01, "maint"),  # set server ... state maint
        (0x05, "maint"),  # `disabled` in haproxy.cfg: CMAINT with FMAINT
        (0x08, "drain"),
        (0x09, "maint"),
        (0x02, "ready"),  # inherited from a tracked server: not ours to change
        (0x10, "ready"),
        (0x20, "ready"),  # DNS resolution failure
    ],
)
def test_admin_state_bits(bits, expected):
    assert rt.admin_state(bits) == expected


def test_read_server(haproxy):
    client = rt.RuntimeClient(haproxy.path)
    report = client.server("web", "web2")
    assert report["status"] == "DRAIN"
    assert report["admin_state"] == "drain"
    assert (report["weight"], report["effective_weight"], report["sessions"]) == (50, 50, 5)
    assert (report["response_time_ms"], report["total_time_ms"]) == (12, 35)
    # One small `show stat` for this server only, by the ids `show servers state` gave.
    assert haproxy.commands == ["show servers state web", "show stat 3 4 2"]


def test_read_drained_server_that_is_down(haproxy):
    haproxy.server("web", "web2").up = False
    report = rt.RuntimeClient(haproxy.path).server("web", "web2")
    assert (report["status"], report["admin_state"]) == ("DOWN", "drain")


def test_send_raw_command(haproxy):
    assert rt.send_command(haproxy.path, "set server web state drain") == "Require 'backend/server'.\n\n"
    assert rt.send_command(haproxy.path, "set server web/web1 state drain") == "\n"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.set_state("web", "web1", "maint"), None),
        (lambda c: c.set_weight("web", "web1", 20), None),
        (
            lambda c: c.set_state("web", "web9", "drain"),
            "HAProxy rejected `set server web/web9 state drain` (backend web, server web9): No such server.",
        ),
        (
            lambda c: c.set_state("db", "web1", "drain"),
            "HAProxy rejected `set server db/web1 state drain` (backend db, server web1): No such backend.",
        ),
        (lambda c: c.set_weight("web", "web1", 300), "Absolute weight can only be between 0 and 256 inclusive."),
        (lambda c: c.server("db", "web1"), "(HAProxy: Can't find backend.). Set the backend option"),
        (lambda c: c.server("db", "web1"), "(known backends: web)"),
        (lambda c: c.server("web", "web9"), "server web9 not found in backend web (it has: web1, web2)"),
        (lambda c: c.server("web\nset server web/web1 state maint", "web1"), "is not a valid HAProxy name"),
        (lambda c: c.set_state("web", "web1 weight 0", "ready"), "server: 'web1 weight 0' is not a valid"),
        (lambda c: c.set_state("web", "web1\n", "ready"), "server: 'web1\\n' is not a valid"),
        (lambda c: c.server("", "web1"), "backend: '' is not a valid"),
    ],
)
def test_set_and_errors(haproxy, call, message):
    client = rt.RuntimeClient(haproxy.path)
    if message is None:
        assert call(client).startswith("set server web/web1 ")
        return
    with pytest.raises(rt.RuntimeApiError) as exc:
        call(client)
    assert message in str(exc.value)
    if "is not a valid" in message:
        assert haproxy.commands == []  # nothing reached the socket


def test_static_algorithm_weight_error_names_backend_and_server(tmp_path):
    fake = FakeHAProxy(tmp_path / "s", {"api": [FakeServer("api1")]}, static_backends=["api"])
    try:
        with pytest.raises(rt.CommandRejected) as exc:
            rt.RuntimeClient(fake.path).set_weight("api", "api1", 50)
    finally:
        fake.close()
    assert (exc.value.backend, exc.value.server) == ("api", "api1")
    assert exc.value.answer == "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'."


def test_permission_denied_answer_says_level_admin(tmp_path):
    fake = FakeHAProxy(tmp_path / "s", web_backends(), level="operator")
    try:
        with pytest.raises(rt.CommandRejected, match=r"Permission denied\. The stats socket needs `level admin`"):
            rt.RuntimeClient(fake.path).set_state("web", "web1", "drain")
    finally:
        fake.close()


def test_missing_socket(tmp_path):
    path = str(tmp_path / "admin.sock")
    with pytest.raises(rt.RuntimeApiError) as exc:
        rt.send_command(path, "show stat")
    assert str(exc.value).startswith(f"socket {path} does not exist: is HAProxy running with `stats socket {path}")


def test_stale_socket_refuses(tmp_path):
    # A socket file left behind by an HAProxy that has stopped.
    path = str(tmp_path / "admin.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.close()
    with pytest.raises(rt.RuntimeApiError, match="refuses connections: HAProxy is not running"):
        rt.send_command(path, "show stat")


def test_silent_haproxy_times_out(tmp_path):
    path = str(tmp_path / "admin.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(1)
    try:
        with pytest.raises(rt.RuntimeApiError, match=r"HAProxy did not answer `show stat` on socket .* within 0\.2s"):
            rt.send_command(path, "show stat", timeout=0.2)
    finally:
        sock.close()


def _expect_permission_denied(path):
    try:
        rt.send_command(path, "show stat")
    except rt.RuntimeApiError as exc:
        return "permission denied on socket" in str(exc)
    return False


def test_socket_without_permission(tmp_path):
    path = str(tmp_path / "admin.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(1)
    os.chmod(path, 0)
    try:
        if os.geteuid() != 0:
            assert _expect_permission_denied(path)
            return
        # Root ignores file permissions: ask as an unprivileged user instead.
        pid = os.fork()
        if pid == 0:  # pragma: no cover (child)
            ok = False
            try:
                os.setgid(65534)
                os.setuid(65534)
                ok = _expect_permission_denied(path)
            finally:
                os._exit(0 if ok else 1)
        status = os.waitpid(pid, 0)[1]
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.ENOENT, "does not exist: is HAProxy running with `stats socket /s level admin`"),
        (errno.EACCES, "permission denied on socket /s: run the task with `become: true`"),
        (errno.ECONNREFUSED, "socket /s refuses connections"),
        (errno.ENOTDIR, "cannot connect to socket /s:"),
    ],
)
def test_connect_error_messages(code, expected):
    assert expected in rt._connect_error("/s", OSError(code, os.strerror(code)))
