"""Deploy checks shared by every engine (the status playbook among them), plus
HAProxy's runtime socket."""

from common_deploy import *  # noqa: F403 (the shared tests run in this scenario)
from common_metrics import *  # noqa: F403 (metrics and JSON logs on the fresh deploy)
from common_status import *  # noqa: F403 (the status playbook on the fresh deploy)

# Send one command to HAProxy's runtime API (the lab image has no socat).
ASK_RUNTIME_API = (
    "python3 -c \"import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); "
    "s.sendall(sys.argv[1].encode() + b'\\n'); print(s.makefile().read())\" %s"
)


def test_runtime_api_socket_is_root_only(scenario):
    for name in scenario.lbs:
        sock = scenario.host(name).file("/run/haproxy/admin.sock")
        assert sock.is_socket, name
        assert (sock.user, sock.group, sock.mode) == ("root", "root", 0o600), name
        stats = scenario.host(name).run(ASK_RUNTIME_API, "show servers state")
        assert stats.rc == 0 and "be1" in stats.stdout, stats.stdout + stats.stderr
