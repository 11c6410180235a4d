"""Debian's apache2, nginx and redis-server run from their packaged units through pidone only.

Each test has its own daemon (PID 1 of fresh PID and network namespaces, see conftest), so
port 80 is the namespace's and every process dies with it.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import sys

import pytest

from pidone.linux import dynamicuser
from tests.acceptance.conftest import Factory, RealServicesDaemon

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

APACHE_PID_FILE = "/run/apache2/apache2.pid"  # APACHE_PID_FILE in /etc/apache2/envvars
NGINX_PID_FILE = "/run/nginx.pid"  # PIDFile= of nginx.service
REDIS_PID_FILE = "/run/redis/redis-server.pid"

# One HTTP request over a raw socket: prints the Server: header, or the error.
_HTTP_SERVER = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "    s.sendall(b'HEAD / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n')\n"
    "    data = b''\n"
    "    while chunk := s.recv(4096):\n"
    "        data += chunk\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
    "    sys.exit(1)\n"
    "for line in data.decode('latin-1').split('\\r\\n'):\n"
    "    if line.lower().startswith('server:'):\n"
    "        print(line.split(':', 1)[1].strip())\n"
)


def server_header(d: RealServicesDaemon, port: int = 80) -> str:
    r = d.in_net(sys.executable, "-c", _HTTP_SERVER, str(port))
    return r.stdout.strip()


def start(d: RealServicesDaemon, unit: str) -> None:
    r = d.cli("start", unit)
    assert r.returncode == 0, f"{r.stdout}{r.stderr}\n{d.cli('status', unit).stdout}"


def processes_named(d: RealServicesDaemon, comm: str) -> set[int]:
    return {pid for pid, _state, name in d.namespace_processes() if name == comm}


def assert_all_gone(d: RealServicesDaemon, unit: str, pid_file: str) -> None:
    d.wait_for(lambda: not d.namespace_processes(), what=f"every process of {unit} to exit")
    assert d.state(unit) == "inactive/dead"
    assert not os.path.exists(pid_file), f"{pid_file} was left behind"


def test_apache2_start_status_reload_restart_stop(real_ns: Factory) -> None:
    d = real_ns()
    start(d, "apache2")
    assert d.state("apache2.service") == "active/running"
    assert server_header(d).startswith("Apache")
    # `pidone status` names the main PID and lists every apache2 process of the unit.
    text = d.cli("status", "apache2").stdout
    main = d.status("apache2.service")["main_pid"]
    assert re.search(rf"Main PID: {main} \(apache2\)", text), text
    workers = processes_named(d, "apache2")
    assert main in workers
    assert len(workers) >= 2
    listed = {int(m) for m in re.findall(r"[├└]─ *(\d+) ", text)}
    assert workers <= listed, text
    # reload: `apachectl graceful`, the same parent keeps serving
    assert d.cli("reload", "apache2").returncode == 0
    assert d.state("apache2.service") == "active/running"
    assert d.status("apache2.service")["main_pid"] == main
    assert server_header(d).startswith("Apache")
    # restart: a new parent
    assert d.cli("restart", "apache2").returncode == 0
    new_main = d.status("apache2.service")["main_pid"]
    assert new_main != main
    assert server_header(d).startswith("Apache")
    assert d.cli("stop", "apache2").returncode == 0
    assert_all_gone(d, "apache2.service", APACHE_PID_FILE)
    assert "Connection refused" in server_header(d)


def test_nginx_start_reload_restart_stop(real_ns: Factory) -> None:
    d = real_ns()
    start(d, "nginx")
    assert server_header(d).startswith("nginx")
    main = d.status("nginx.service")["main_pid"]
    with open(NGINX_PID_FILE) as f:  # PIDFile= names the master, as the namespace sees it
        assert int(f.read()) == main
    assert d.cli("reload", "nginx").returncode == 0
    assert d.status("nginx.service")["main_pid"] == main
    assert server_header(d).startswith("nginx")
    assert d.cli("restart", "nginx").returncode == 0
    assert d.status("nginx.service")["main_pid"] != main
    assert server_header(d).startswith("nginx")
    assert d.cli("stop", "nginx").returncode == 0
    assert_all_gone(d, "nginx.service", NGINX_PID_FILE)


def test_redis_server_ping_restart_stop(real_ns: Factory) -> None:
    d = real_ns()
    start(d, "redis-server")
    info = d.status("redis-server.service")
    assert (info["active"], info["sub"]) == ("active", "running")
    assert d.uid_of(info["main_pid"]) == _uid("redis")
    # LimitNOFILE=65535, clamped like setrlimit_closest() when our hard limit is lower
    expected = min(65535, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    with open(f"/proc/{d.host_pid(info['main_pid'])}/limits") as f:
        line = next(x for x in f if x.startswith("Max open files"))
    assert line.split()[3:5] == [str(expected), str(expected)]
    assert d.in_net("redis-cli", "ping").stdout.strip() == "PONG"
    # RuntimeDirectory=redis with RuntimeDirectoryMode=2755, owned by User=redis
    st = os.stat("/run/redis")
    assert (st.st_uid, st.st_mode & 0o7777) == (_uid("redis"), 0o2755)
    # no ExecReload=: refused, the service untouched
    assert d.cli("reload", "redis-server").returncode != 0
    assert d.status("redis-server.service")["main_pid"] == info["main_pid"]
    assert d.cli("restart", "redis-server").returncode == 0
    assert d.status("redis-server.service")["main_pid"] != info["main_pid"]
    assert d.in_net("redis-cli", "ping").stdout.strip() == "PONG"
    assert d.cli("stop", "redis-server").returncode == 0
    assert_all_gone(d, "redis-server.service", REDIS_PID_FILE)
    assert not os.path.exists("/run/redis"), "RuntimeDirectory= not removed on stop"


def test_apache2_and_nginx_share_port_80(real_ns: Factory) -> None:
    d = real_ns()
    start(d, "apache2")
    # the second one fails cleanly, and says why
    r = d.cli("start", "nginx")
    assert r.returncode != 0
    assert d.state("nginx.service") == "failed/failed"
    status = d.cli("status", "nginx").stdout
    assert "Address already in use" in status, status
    assert "Address already in use" in d.journal("-u", "nginx")
    assert not processes_named(d, "nginx")
    assert server_header(d).startswith("Apache")  # the first one is untouched
    assert d.cli("stop", "apache2").returncode == 0
    # one after the other: now nginx has the port, and apache2 is the one refused
    start(d, "nginx")
    assert server_header(d).startswith("nginx")
    assert d.cli("start", "apache2").returncode != 0
    assert d.state("apache2.service") == "failed/failed"
    assert "Address already in use" in d.cli("status", "apache2").stdout
    assert not processes_named(d, "apache2")
    assert d.cli("stop", "nginx").returncode == 0
    assert_all_gone(d, "nginx.service", NGINX_PID_FILE)


NOBODY_RUNTIME = """\
[Service]
Type=notify
User=nobody
RuntimeDirectory=pidone-acceptance/nobody
RuntimeDirectoryMode=0750
ExecStart=/usr/bin/python3 -S -c 'import os, socket, time; \\
    p = os.environ["RUNTIME_DIRECTORY"] + "/written"; open(p, "w").write(str(os.getuid())); \\
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(os.environ["NOTIFY_SOCKET"]); \\
    s.send(b"READY=1"); time.sleep(600)'
"""


def test_user_nobody_writes_into_its_runtime_directory(real_ns: Factory) -> None:
    d = real_ns({"pidone-acc-nobody.service": NOBODY_RUNTIME})
    start(d, "pidone-acc-nobody")
    path = "/run/pidone-acceptance/nobody"
    st = os.stat(path)
    assert (st.st_uid, st.st_mode & 0o7777) == (65534, 0o750)
    with open(f"{path}/written") as f:
        assert f.read() == "65534"
    assert d.uid_of(d.status("pidone-acc-nobody.service")["main_pid"]) == 65534
    assert d.cli("stop", "pidone-acc-nobody").returncode == 0
    assert not os.path.exists(path)  # RuntimeDirectory= removed on stop
    os.rmdir("/run/pidone-acceptance")  # the parent stays, as systemd leaves it


# Binds 127.0.0.1:PORT as nobody and serves one HTTP-ish answer per connection.
LOW_PORT_SERVER = """\
[Service]
User=nobody
{caps}
ExecStart=/usr/bin/python3 -S -c 'import socket; crlf = bytes((13, 10)); \\
    s = socket.socket(); s.bind(("127.0.0.1", 81)); s.listen(); \\
    answer = crlf.join([b"HTTP/1.0 200 OK", b"Server: low-port", b"", b""]); \\
    [c.recv(4096) and c.sendall(answer) or c.close() \\
     for c in iter(lambda: s.accept()[0], None)]'
"""


def test_ambient_cap_net_bind_service_lets_nobody_bind_port_81(real_ns: Factory) -> None:
    d = real_ns(
        {
            "pidone-acc-lowport.service": LOW_PORT_SERVER.format(
                caps="AmbientCapabilities=CAP_NET_BIND_SERVICE"
            ),
            "pidone-acc-nocaps.service": LOW_PORT_SERVER.format(caps=""),
        }
    )
    # without the capability nobody may not bind below 1024: the service dies at once
    assert d.cli("start", "pidone-acc-nocaps").returncode == 0
    d.wait_state("pidone-acc-nocaps.service", "failed")
    assert "Permission denied" in d.journal("-u", "pidone-acc-nocaps")
    start(d, "pidone-acc-lowport")
    name = "pidone-acc-lowport.service"
    d.wait_for(
        lambda: server_header(d, 81) == "low-port" or d.state(name) == "failed/failed",
        what="port 81 to answer or the service to fail",
    )
    assert server_header(d, 81) == "low-port", d.journal("-u", name)
    info = d.status("pidone-acc-lowport.service")
    assert d.uid_of(info["main_pid"]) == 65534
    assert d.cli("stop", "pidone-acc-lowport").returncode == 0
    assert_all_gone(d, "pidone-acc-lowport.service", "/nonexistent")


DYNAMIC = """\
[Service]
Type=oneshot
RemainAfterExit=yes
DynamicUser=yes
StateDirectory=pidone-acc-dynamic
ExecStart=/bin/sh -c 'id -u > "$$STATE_DIRECTORY/uid"; \\
    touch /usr/pidone-probe || echo usr-read-only'
"""


def test_dynamic_user_is_allocated_never_root(real_ns: Factory) -> None:
    d = real_ns({"pidone-acc-dynamic.service": DYNAMIC})
    try:
        start(d, "pidone-acc-dynamic")
        with open("/var/lib/private/pidone-acc-dynamic/uid") as f:
            uid = int(f.read())
        assert dynamicuser.DYNAMIC_UID_MIN <= uid <= dynamicuser.DYNAMIC_UID_MAX
        assert os.readlink("/var/lib/pidone-acc-dynamic") == "private/pidone-acc-dynamic"
        # DynamicUser= implies ProtectSystem=strict
        assert "usr-read-only" in d.journal("-u", "pidone-acc-dynamic")
        assert not os.path.exists("/usr/pidone-probe")
    finally:
        for path in ("/var/lib/pidone-acc-dynamic", "/var/lib/private/pidone-acc-dynamic"):
            if os.path.islink(path):
                os.unlink(path)
            else:
                shutil.rmtree(path, ignore_errors=True)
        dynamicuser.release("pidone-acc-dynamic")


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid
