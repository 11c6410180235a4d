"""Cluster, message-broker, Java web and VPN daemons of Debian (issue #4's held-back set),
started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged unit in an isolated namespace (PID, mount and network; a tmpfs on
/run) whose PID 1 is started with `--tmpfiles=yes`: start, a protocol probe inside the
namespace, `pidone status` (Main PID, the unit's processes), reload where the unit has
ExecReload=, restart with a new main process, stop with nothing left.

zookeeperd and activemq ship only an LSB script: their units come from systemd's own
systemd-sysv-generator (Type=forking, GuessMainPID=no, RemainAfterExit=yes, no Main PID).
What a service writes or needs beyond a fresh install (glusterd's state, zookeeper's data
directory, activemq's enabled instance, the OpenVPN keys and configurations) is bound over
the packaged path inside the namespace only; no host file is touched.
"""

from __future__ import annotations

import os
import pwd
import re
import resource
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.kit import (
    bind_over,
    http,
    iso,
    owner,
)
from tests.acceptance.test_debian_system_services import (
    Iso,
    no_reload,
    restart_new_main,
    start,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso", "owner"]  # the fixtures, imported so that pytest finds them here


# --- probes (run inside the namespace) -------------------------------------------------------

# ZooKeeper's `srvr` four-letter command (the one 3.8 allows by default) on 127.0.0.1:2181:
# the first line of its answer, "Zookeeper version: ...".
_ZK_SRVR = (
    "import socket\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 2181), timeout=10)\n"
    "    s.sendall(b'srvr')\n"
    "    print(s.makefile('rb').readline().decode('latin-1').strip())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# The OpenWire broker speaks first: its WireFormatInfo (magic "ActiveMQ" after the 4-byte
# size and the 1-byte type 1) on 127.0.0.1:61616.
_OPENWIRE = (
    "import socket\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 61616), timeout=10)\n"
    "    r = s.recv(64)\n"
    "    print('WireFormatInfo' if r[4:5] == b'\\x01' and r[5:13] == b'ActiveMQ' else r.hex())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# One command on OpenVPN's management interface (127.0.0.1:PORT): its answer lines up to
# END/SUCCESS/ERROR, joined with `;`.
_OVPN_MGMT = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "    f = s.makefile('rb')\n"
    "    f.readline()  # >INFO:OpenVPN Management Interface ...\n"
    "    s.sendall(sys.argv[2].encode() + b'\\r\\n')\n"
    "    out = []\n"
    "    for raw in f:\n"
    "        line = raw.decode().strip()\n"
    "        if line == 'END' or line.startswith(('SUCCESS', 'ERROR')):\n"
    "            break\n"
    "        out.append(line)\n"
    "    print(';'.join(out))\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# The RFB protocol version a VNC server sends first (RFC 6143 7.1.1) on 127.0.0.1:PORT.
_RFB = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "    print(s.recv(12).decode('latin-1').strip())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def pids_named(d: Iso, comm: str) -> set[int]:
    return {pid for pid, _state, name in d.namespace_processes() if name == comm}


def lsb_status(d: Iso, unit: str, comm: str) -> set[int]:
    """A generated LSB unit: active (running), no Main PID (GuessMainPID=no), ExecStart= the
    script's `start`, and the daemon `comm` in its CGroup tree. Returns the daemon's PIDs."""
    text = status_lists(d, unit, comm, main=False)
    assert f"Loaded: loaded (/etc/init.d/{unit}; generated)" in text, text
    assert re.search(
        rf"Process: \d+ ExecStart=/etc/init.d/{unit} start \(code=exited, status=0/SUCCESS\)",
        text,
    ), text
    return pids_named(d, comm)


def lsb_stopped(d: Iso, unit: str) -> None:
    """Stopped, the unit stays loaded as in 252 (the generator's multi-user.target.wants/
    link keeps it, as an install symlink does): `since` and the script's Process: lines."""
    assert d.status(unit)["result"] == "success"
    text = d.cli("status", unit).stdout
    assert "Active: inactive (dead) since " in text, text
    assert re.search(
        rf"Process: \d+ ExecStop=/etc/init.d/{unit} stop \(code=exited, status=0/SUCCESS\)",
        text,
    ), text


def lsb_restart(d: Iso, unit: str, comm: str, before: set[int]) -> None:
    """`restart` runs the script's stop, then its start: a new daemon process."""
    assert d.cli("restart", unit).returncode == 0
    assert d.state(unit) == "active/running"
    after = pids_named(d, comm)
    assert after, d.namespace_processes()
    assert not after & before, (before, after)


# --- the services ---------------------------------------------------------------------------


def test_glusterd(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """glusterd.service: Type=forking with PIDFile=/run/glusterd.pid (written by `-p
    /var/run/glusterd.pid`), `$LOG_LEVEL` from Environment= and an EnvironmentFile= that may
    be missing, SuccessExitStatus=15 (glusterd's exit on SIGTERM), LimitNOFILE=; the gluster
    CLI's RPC through /run/glusterd.socket."""
    require("glusterfs-server")
    d = owner()
    state = tmp_path / "glusterd"
    shutil.copytree("/var/lib/glusterd", state, symlinks=True)
    logs = tmp_path / "log"
    logs.mkdir()
    bind_over(d, state, "/var/lib/glusterd")  # glusterd.info with a fresh UUID lands here
    bind_over(d, logs, "/var/log/glusterfs")

    def peers() -> str:
        r = d.inside("gluster", "--mode=script", "peer", "status")
        return r.stdout.strip() or r.stderr.strip()

    info = start(d, "glusterd")
    assert d.read("/run/glusterd.pid").strip() == str(info["main_pid"])
    assert peers() == "Number of Peers: 0"
    status_lists(d, "glusterd", "glusterd")
    # LimitNOFILE=65536, or as close as a manager without CAP_SYS_RESOURCE may raise it
    # (252's setrlimit_closest())
    want = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    limits = d.read(f"/proc/{info['main_pid']}/limits")
    assert re.search(rf"Max open files +{want} +{want} ", limits), limits
    no_reload(d, "glusterd")
    restart_new_main(d, "glusterd")
    assert peers() == "Number of Peers: 0"
    stop_all_gone(d, "glusterd")
    assert d.status("glusterd")["result"] == "success"  # exit 15: SuccessExitStatus=
    assert not d.exists("/run/glusterd.pid")


def test_jetty9(owner: Callable[[], Iso]) -> None:
    """jetty9.service: Type=simple as User=jetty, a shell script (`jetty.sh run`) that execs
    java, ProtectSystem=strict with ReadWritePaths=, LogsDirectory= with a mode,
    PrivateTmp=, NoNewPrivileges= with AmbientCapabilities=, SuccessExitStatus=143; HTTP on
    8080."""
    require("jetty9")
    d = owner()
    info = start(d, "jetty9")
    d.wait_for(lambda: http(d, 8080).startswith("HTTP/1.1 "), what="jetty to answer")
    assert "Server: Jetty(9." in http(d, 8080)
    status_lists(d, "jetty9", "java")
    assert d.inside("stat", "-c", "%a %U", "/var/log/jetty9").stdout.split() == ["750", "jetty"]
    caps = d.read(f"/proc/{info['main_pid']}/status")
    assert re.search(r"NoNewPrivs:\s+1", caps), caps
    no_reload(d, "jetty9")
    restart_new_main(d, "jetty9")
    d.wait_for(lambda: http(d, 8080).startswith("HTTP/1.1 "), what="jetty to answer")
    stop_all_gone(d, "jetty9")
    assert d.status("jetty9")["result"] == "success"  # exit 143: SuccessExitStatus=
    assert re.search(r"Main PID: \d+ \(code=exited, status=143\)", d.cli("status", "jetty9").stdout)


def test_zookeeper_lsb(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """zookeeper (zookeeperd): an LSB script only, through systemd-sysv-generator: Type=forking
    with KillMode=process, GuessMainPID=no and RemainAfterExit=yes; the script's
    start-stop-daemon --background --make-pidfile leaves java as the only process, and its
    stop ends it and removes /run/zookeeper/zookeeper.pid. The `srvr` command on 2181."""
    require("zookeeperd")
    d = owner()
    os.chmod(tmp_path, 0o755)
    conf = tmp_path / "conf"
    shutil.copytree("/etc/zookeeper/conf", conf, symlinks=True)
    cfg = conf / "zoo.cfg"
    cfg.write_text(re.sub(r"(?m)^dataDir=.*$", "dataDir=/var/lib/zookeeper", cfg.read_text()))
    data = tmp_path / "data"
    data.mkdir()
    shutil.chown(data, "zookeeper", "zookeeper")
    bind_over(d, conf, "/etc/zookeeper/conf")  # the packaged dataDir is the shared /tmp
    bind_over(d, data, "/var/lib/zookeeper")

    def srvr() -> str:
        return d.py(_ZK_SRVR)

    start(d, "zookeeper")
    d.wait_for(lambda: srvr().startswith("Zookeeper version: 3."), what="zookeeper to answer")
    java = lsb_status(d, "zookeeper", "java")
    assert d.read("/run/zookeeper/zookeeper.pid").strip() in {str(p) for p in java}
    no_reload(d, "zookeeper")
    lsb_restart(d, "zookeeper", "java", java)
    d.wait_for(lambda: srvr().startswith("Zookeeper version: 3."), what="zookeeper to answer")
    stop_all_gone(d, "zookeeper")
    lsb_stopped(d, "zookeeper")
    assert not d.exists("/run/zookeeper/zookeeper.pid")


def test_activemq_lsb(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """activemq: an LSB script only, through systemd-sysv-generator; it starts every instance
    of /etc/activemq/instances-enabled (here the packaged `main`) with start-stop-daemon
    --background as User activemq, /run/activemq/main.pid; OpenWire on 61616."""
    require("activemq")
    d = owner()
    os.chmod(tmp_path, 0o755)
    enabled = tmp_path / "enabled"
    enabled.mkdir()
    (enabled / "main").symlink_to("/etc/activemq/instances-available/main")
    base = tmp_path / "base"
    base.mkdir()
    shutil.chown(base, "activemq", "root")
    bind_over(d, enabled, "/etc/activemq/instances-enabled")
    bind_over(d, base, "/var/lib/activemq")  # the broker's KahaDB store lands here

    def openwire() -> str:
        return d.py(_OPENWIRE)

    start(d, "activemq")
    d.wait_for(lambda: openwire() == "WireFormatInfo", what="activemq to answer", timeout=60)
    java = lsb_status(d, "activemq", "java")
    assert d.read("/run/activemq/main.pid").strip() in {str(p) for p in java}
    no_reload(d, "activemq")
    lsb_restart(d, "activemq", "java", java)
    d.wait_for(lambda: openwire() == "WireFormatInfo", what="activemq to answer", timeout=60)
    stop_all_gone(d, "activemq")
    lsb_stopped(d, "activemq")
    assert not d.exists("/run/activemq/main.pid")


def test_openvpn_client_to_server(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """openvpn-client@NAME.service: Type=notify (READY=1, then STATUS= once connected),
    WorkingDirectory=/etc/openvpn/client, `--nobind`, CapabilityBoundingSet=, LimitNPROC=10,
    DeviceAllow=/dev/net/tun, KillMode=process; it connects over UDP to an
    openvpn-server@NAME instance of the same namespace (static key, point-to-point). A
    restart reconnects; stopping the client leaves the server running and removes tun1."""
    require("openvpn")
    d = owner()
    key = subprocess.run(
        ["openvpn", "--genkey", "secret", "/dev/stdout"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    sides = {
        "server": ("local 127.0.0.1\nport 1194\n", "10.8.0.1 10.8.0.2", 7505),
        "client": ("remote 127.0.0.1 1194\n", "10.8.0.2 10.8.0.1", 7506),
    }
    for side, (where, ifconfig, mgmt) in sides.items():
        conf = tmp_path / side
        conf.mkdir()
        (conf / "p2p.key").write_text(key)
        (conf / "p2p.key").chmod(0o600)
        (conf / "p2p.conf").write_text(
            f"dev tun\nproto udp\n{where}ifconfig {ifconfig}\nsecret p2p.key\n"
            f"cipher AES-256-CBC\nping 1\nping-restart 10\nmanagement 127.0.0.1 {mgmt}\n"
        )
        bind_over(d, conf, f"/etc/openvpn/{side}")

    def connected() -> bool:
        return ",CONNECTED,SUCCESS," in d.py(_OVPN_MGMT, "7506", "state")

    server = start(d, "openvpn-server@p2p")
    client = start(d, "openvpn-client@p2p")
    # READY=1 comes before the connection, with STATUS=Pre-connection initialization
    # successful; the STATUS= that follows once connected replaces it
    d.wait_for(connected, what="the client to connect")
    d.wait_for(
        lambda: (
            d.status("openvpn-client@p2p")["status_text"] == "Initialization Sequence Completed"
        ),
        what="the client's last STATUS=",
    )
    server_status = d.py(_OVPN_MGMT, "7505", "status")
    read = re.search(r"TCP/UDP read bytes,(\d+)", server_status)
    assert read, server_status
    assert int(read.group(1)) > 0, server_status  # the client's packets arrived
    text = d.cli("status", "openvpn-client@p2p").stdout
    assert re.search(rf"Main PID: {client['main_pid']} \(openvpn\)", text), text
    assert f"└─{client['main_pid']} /usr/sbin/openvpn --suppress-timestamps --nobind" in text
    assert f"─{server['main_pid']} " not in text, text  # the server is another unit's
    no_reload(d, "openvpn-client@p2p")
    restart_new_main(d, "openvpn-client@p2p")
    d.wait_for(connected, what="the client to reconnect")
    stop_all_gone(d, "openvpn-client@p2p", keep=("openvpn",))
    assert pids_named(d, "openvpn") == {server["main_pid"]}
    assert d.state("openvpn-server@p2p") == "active/running"
    assert "tun1" not in d.inside("ip", "-br", "link").stdout
    stop_all_gone(d, "openvpn-server@p2p")


def test_tigervncserver_instance(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """tigervncserver@:1.service: Type=forking with PIDFile=/run/tigervncsession-%i.pid,
    ExecStart= a script that execs tigervncsession (a PAM session for the user of display
    :1 in /etc/tigervnc/vncserver.users, then `tigervncserver -fg`, then Xtigervnc),
    SELinuxContext= (no SELinux here); RFB on 5901. The user (arpwatch, a shell and a
    home) gets a home bound over its own with SecurityTypes None on localhost and an
    xstartup that only waits; the users file is bound over the packaged one."""
    require("tigervnc-standalone-server")
    if os.path.lexists("/tmp/.X1-lock"):
        pytest.skip("display :1 is in use on this machine")  # Xtigervnc locks it in /tmp
    d = owner()
    os.chmod(tmp_path, 0o755)
    users = tmp_path / "vncserver.users"
    users.write_text(":1=arpwatch\n")
    home = tmp_path / "home"
    vnc = home / ".vnc"
    vnc.mkdir(parents=True)
    (vnc / "tigervnc.conf").write_text('$SecurityTypes = "None";\n$localhost = "yes";\n')
    (vnc / "xstartup").write_text("#!/bin/sh\nexec sleep infinity\n")
    (vnc / "xstartup").chmod(0o755)
    for path in (home, vnc, vnc / "tigervnc.conf", vnc / "xstartup"):
        shutil.chown(path, "arpwatch", "arpwatch")
    sockets = tmp_path / "X11-unix"
    sockets.mkdir(mode=0o1777)
    sockets.chmod(0o1777)
    bind_over(d, users, "/etc/tigervnc/vncserver.users")
    bind_over(d, home, "/var/lib/arpwatch")
    if os.path.isdir("/tmp/.X11-unix"):
        bind_over(d, sockets, "/tmp/.X11-unix")  # X1, the display's socket, stays in here
    unit = "tigervncserver@:1"

    def rfb() -> str:
        return d.py(_RFB, "5901")

    info = start(d, unit)
    assert d.read("/run/tigervncsession-:1.pid").strip() == str(info["main_pid"])
    d.wait_for(lambda: rfb().startswith("RFB 003."), what="Xtigervnc to answer")
    text = status_lists(d, unit, "Xtigervnc")
    assert f"Main PID: {info['main_pid']} (tigervncsession)" in text, text
    assert d.uid_of(pids_named(d, "Xtigervnc").pop()) == pwd.getpwnam("arpwatch").pw_uid
    no_reload(d, unit)
    restart_new_main(d, unit)
    d.wait_for(lambda: rfb().startswith("RFB 003."), what="Xtigervnc to answer")
    stop_all_gone(d, unit)
    assert d.status(unit)["result"] == "success"
    assert not d.exists("/run/tigervncsession-:1.pid")
    assert not os.path.lexists("/tmp/.X1-lock")  # removed by `tigervncserver -kill`
