"""More packaged Debian services (issue #4's held-back set), started unchanged through pidone.

The same sequence as test_debian_system_services.py (install with apt, policy-rc.d exiting
101; then through pidone only: start, a protocol probe on loopback inside the namespace,
status, reload where there is ExecReload=, restart, stop, nothing left), for packages whose
unit-file features nothing else in this tier covers. The daemons run isolated (fresh PID,
mount and network namespaces, a tmpfs on /run: `iso`).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
from collections.abc import Callable

import pytest

from tests.acceptance import test_debian_system_services as base
from tests.acceptance.test_debian_system_services import (
    Iso,
    no_reload,
    require,
    restart_new_main,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

iso = base.iso  # the fixture: an isolated daemon that sees the system's unit files


# --- H9: socket-activated packages --------------------------------------------------------------

# SANE_NET_INIT (SANE network protocol, sane-net(5)... "saned" in the SANE standard 5.2.1):
# procedure 0, version code 1.0.3, user name "h9"; the reply is a status word (0: good)
# then saned's version code (major 1). Prints both words in hex.
_SANE_INIT = (
    "import socket, struct\n"
    "s = socket.create_connection(('127.0.0.1', 6566), timeout=10)\n"
    "s.sendall(struct.pack('>IIII', 0, 0x01000003, 3, 0) + b'h9\\x00')\n"
    "reply = b''\n"
    "while len(reply) < 8:\n"
    "    chunk = s.recv(8 - len(reply))\n"
    "    if not chunk:\n"
    "        break\n"
    "    reply += chunk\n"
    "print(' '.join('%08x' % w for w in struct.unpack('>II', reply)) if len(reply) == 8 else reply)\n"  # noqa: E501
)


def test_rpcbind_socket_activated_notify(iso: Callable[[], Iso]) -> None:
    """rpcbind.socket: a Unix stream socket, 0.0.0.0:111 and [::]:111 (BindIPv6Only=
    ipv6-only) as stream and datagram; rpcbind.service (Type=notify, `-f $OPTIONS` from
    Environment= then two optional EnvironmentFile=s, KillMode=process) takes them all
    over from the socket when the first RPC call arrives."""
    require("rpcbind")
    d = iso()
    assert d.cli("start", "rpcbind.socket").returncode == 0
    assert d.state("rpcbind.service") == "inactive/dead"
    assert d.exists("/run/rpcbind.sock")
    # an RPC call over TCP (rpcinfo -p: portmapper v2 DUMP) activates the service
    dump = d.inside("rpcinfo", "-p", "127.0.0.1")
    assert re.search(r"100000\s+2\s+udp\s+111\s+portmapper", dump.stdout), dump
    info = d.wait_state("rpcbind.service", "active/running")
    text = status_lists(d, "rpcbind", "rpcbind")
    assert "TriggeredBy: ● rpcbind.socket" in text, text
    assert d.inside("ps", "-o", "args=", "-p", str(info["main_pid"])).stdout.strip() == (
        "/sbin/rpcbind -f -w"
    )
    # the IPv6 listener is IPv6-only: rpcbind's own IPv4 one does not collide with it
    assert d.inside("rpcinfo", "-T", "udp", "127.0.0.1", "100000", "4").returncode == 0
    no_reload(d, "rpcbind")
    restart_new_main(d, "rpcbind")
    assert "portmapper" in d.inside("rpcinfo", "-p", "127.0.0.1").stdout
    stop_all_gone(d, "rpcbind")
    assert d.state("rpcbind.socket") == "active/listening"
    assert d.cli("stop", "rpcbind.socket").returncode == 0
    # closed, but the file stays: RemoveOnStop= defaults to no (systemd.socket(5))
    assert d.exists("/run/rpcbind.sock")
    assert d.inside("rpcinfo", "-p", "127.0.0.1").returncode != 0


def test_saned_one_instance_per_connection(iso: Callable[[], Iso]) -> None:
    """saned.socket: ListenStream=6566 with Accept=yes: each connection gets its own
    saned@.service instance (User=saned, StandardOutput=append:), named as systemd 252
    names them: `saned@N-LOCAL-REMOTE.service`, IPv4-mapped peers written as IPv4."""
    require("sane-utils")
    d = iso()
    assert d.cli("start", "saned.socket").returncode == 0
    assert d.state("saned.socket") == "active/listening"
    status, version = d.py(_SANE_INIT).split()
    assert status == "00000000", (status, version)
    assert version.startswith("01"), version  # SANE_VERSION_MAJOR 1
    log = d.journal()
    m = re.search(r"Started (saned@0-127\.0\.0\.1:6566-127\.0\.0\.1:\d+\.service)", log)
    assert m, log
    # the connection closed: saned exits and its instance goes away
    d.wait_for(lambda: not d.namespace_processes(), what="saned to exit")
    assert d.state(m.group(1)).startswith("inactive"), d.state(m.group(1))
    assert d.state("saned.socket") == "active/listening"
    assert d.cli("stop", "saned.socket").returncode == 0
    assert "ConnectionRefusedError" in d.py(_SANE_INIT)


# --- H8: DynamicUser= with a static Group=, behind a Unix socket ----------------------------------

_CONNECT_UNIX = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "s.settimeout(10)\n"
    "try:\n"
    "    s.connect(sys.argv[1])\n"
    "    print('connected')\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def _ids(d: Iso, nspid: int) -> tuple[int, int, str]:
    """(uid, gid, supplementary groups) of the namespace's process `nspid`."""
    with open(f"/proc/{d.host_pid(nspid)}/status") as f:
        fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0]), fields["Groups"].strip()


def test_uwsgi_app_dynamic_user_socket_activated(iso: Callable[[], Iso]) -> None:
    """uwsgi-app@.socket (ListenStream= a Unix path under /var/run, SocketUser=www-data,
    SocketMode=0600) starts uwsgi-app@NAME.service at the first connection: Type=notify
    (uWSGI's own sd_notify), DynamicUser=yes with User=www-NAME (a transient UID) and
    Group=www-data, which exists, so systemd.exec(5) uses that static group;
    StateDirectory=uwsgi/NAME below /var/lib/private; KillSignal=SIGQUIT."""
    # uwsgi-core has the units and the binary; uwsgi owns /etc/uwsgi/apps-available.
    require("uwsgi-core", "uwsgi")
    name = f"pidone{os.getpid()}"
    ini = f"/etc/uwsgi/apps-available/{name}.ini"
    unit = f"uwsgi-app@{name}"
    with open(ini, "w") as f:  # no request plugin: the master and one worker only
        f.write("[uwsgi]\nmaster = true\nprocesses = 1\n")
    try:
        d = iso()
        assert d.cli("start", f"{unit}.socket").returncode == 0
        sock = f"/var/run/uwsgi/{name}.socket"
        st = d.py("import os, sys; s = os.stat(sys.argv[1]); print(s.st_uid, oct(s.st_mode))", sock)
        assert st == f"{pwd.getpwnam('www-data').pw_uid} 0o140600", st
        assert d.state(f"{unit}.service") == "inactive/dead"
        assert d.py(_CONNECT_UNIX, sock) == "connected"
        info = d.wait_state(f"{unit}.service", "active/running")
        text = d.cli("status", f"{unit}.service").stdout
        assert 'Status: "uWSGI is ready"' in text, text
        assert re.search(rf"Main PID: {info['main_pid']} \(uwsgi\)", text), text
        uid, gid, groups = _ids(d, int(info["main_pid"]))
        www_data = grp.getgrnam("www-data").gr_gid
        assert 61184 <= uid <= 65519, uid  # the dynamic range (systemd.exec(5))
        assert (gid, groups) == (www_data, str(www_data))
        state = os.stat(f"/var/lib/private/uwsgi/{name}")
        assert (state.st_uid, state.st_gid) == (uid, www_data)
        assert os.readlink(f"/var/lib/uwsgi/{name}") == f"../private/uwsgi/{name}"
        no_reload(d, f"{unit}.service")
        restart_new_main(d, f"{unit}.service")
        assert d.py(_CONNECT_UNIX, sock) == "connected"
        stop_all_gone(d, f"{unit}.service")
        assert d.cli("stop", f"{unit}.socket").returncode == 0
        assert "goodbye to uWSGI" in d.journal("-u", f"{unit}.service")
    finally:
        os.unlink(ini)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"/var/lib/uwsgi/{name}")
        shutil.rmtree(f"/var/lib/private/uwsgi/{name}", ignore_errors=True)
