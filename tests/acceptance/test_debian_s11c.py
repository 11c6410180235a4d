"""More packaged Debian services (issue #4's held-back set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged unit in an isolated namespace (PID, mount and network; a tmpfs on
/run: `iso` of test_debian_system_services), with `--tmpfiles=yes` (a container's init
that owns its /run): start, a protocol probe on loopback from inside, `pidone status`
(Main PID, the unit's processes in its CGroup tree), reload where the unit has
ExecReload=, restart (a new main process), stop, and nothing of the unit left.

Where a daemon would write the host's /var (databases, caches, logs) or needs a
configuration the package does not ship, a tmpfs or a file is mounted over the path inside
the daemon's mount namespace only; the host's files are untouched.

What the units exercise, beyond the earlier files:

- spamd: Type=simple with PIDFile=, Restart=always, `$OPTIONS` from EnvironmentFile=,
  StandardOutput=null, sandboxing; HUP makes spamd re-execute itself (same PID).
- opendmarc: Type=forking as User=, its PIDFile= in a tmpfiles.d directory, USR1 reload.
- rspamd: Type=simple as User=_rspamd, RuntimeDirectory=, NonBlocking=, LimitNOFILE=; HUP
  replaces its workers.
- clamav-daemon: Requires=clamav-daemon.socket (SocketUser=, RemoveOnStop=), the
  ConditionPathExistsGlob= pair on its signature databases; clamav-freshclam offline.
- nsd: Type=notify whose main process renames itself `nsd: xfrd`, `-P ""` (an empty
  argument), `+` on ExecReload=, ProtectSystem=strict with ReadWritePaths=.
- pdns (pdns-backend-bind), pdns-recursor, dnsdist: Type=notify as their users with
  AmbientCapabilities=CAP_NET_BIND_SERVICE on port 53 and a long sandboxing list.
- kea-dhcp4-server: User=_kea, RuntimeDirectory= with two entries and
  RuntimeDirectoryPreserve=, LogsDirectory=/StateDirectory=; its control socket.
- pgbouncer: Type=notify as User=postgres, KillSignal=SIGINT, HUP reload.
- freeradius: Type=notify NotifyAccess=all with WatchdogSec=, `%H` in Environment=, an
  ExecStartPre= check and two ExecReload= lines.
- collectd: Type=notify NotifyAccess=main, ConditionPathExists=, ExecStartPre= `-t`.
- anacron: KillMode=mixed with KillSignal=SIGUSR1 and TimeoutStopSec=infinity.
- autofs: Type=forking, `--pid-file`, HUP reload; an indirect map mounted on demand.
- sssd: Type=notify NotifyAccess=main with PIDFile=, `|` conditions; its NSS responder.
- vnstat: User=, StateDirectory=, CapabilityBoundingSet= (empty), ProtectSystem=strict.
- stunnel4: the template stunnel@.service, PartOf=stunnel.target, PrivateTmp=.

Not here: apcupsd (apt would remove nut-server, covered by s11b), nfs-kernel-server (this
kernel has no `nfsd` file system: rpc.nfsd exits 1, as it would under 252; see
docs/real-services.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.kit import (
    ask,
    bind_over,
    iso,
    main_pid,
    owner,
    tmpfs,
    uid,
)
from tests.acceptance.test_debian_system_services import (
    Iso,
    dns_localhost,
    no_reload,
    reload_keeps_main,
    restart_new_main,
    start,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso", "owner"]  # the fixtures, imported so that pytest finds them here


# --- namespace set-up (inside the daemon's mount namespace only) --------------------------------


# --- probes (run inside the namespace) -------------------------------------------------------

# Send bytes (hex in argv[2]) to the Unix stream socket argv[1]; print the reply (hex).
_ASK_UNIX = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "    s.settimeout(10)\n"
    "    s.connect(sys.argv[1])\n"
    "    s.sendall(bytes.fromhex(sys.argv[2]))\n"
    "    out = b''\n"
    "    while chunk := s.recv(4096):\n"
    "        out += chunk\n"
    "        if len(sys.argv) < 4:\n"
    "            break\n"
    "    print(out.hex())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def ask_unix(d: Iso, path: str, payload: bytes, *, to_eof: bool = False) -> bytes:
    """The reply of a Unix stream server to `payload` (its first chunk, or all until EOF)."""
    out = d.py(_ASK_UNIX, path, payload.hex(), *(["eof"] if to_eof else []))
    return b"" if out.startswith("error:") else bytes.fromhex(out)


# One DNS query (RFC 1035 4.1) for argv[1] IN A over UDP to 127.0.0.1:53; prints the
# response code of the reply with our ID.
_DNS_RCODE = (
    "import socket, struct, sys\n"
    "name = b''.join(bytes([len(p)]) + p.encode() for p in sys.argv[1].split('.')) + b'\\0'\n"
    "q = struct.pack('>HHHHHH', 0x4836, 0x0100, 1, 0, 0, 0) + name + struct.pack('>HH', 1, 1)\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(5)\n"
    "try:\n"
    "    s.sendto(q, ('127.0.0.1', 53))\n"
    "    ident, flags = struct.unpack('>HH', s.recv(4096)[:4])\n"
    "    print(ident == 0x4836 and 'rcode %d' % (flags & 15) or 'bad id')\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def dns_rcode(d: Iso, name: str) -> str:
    """ "rcode N" of a DNS server's reply on 127.0.0.1:53 (5: REFUSED, no zone of it)."""
    return d.py(_DNS_RCODE, name)


# --- mail filters ------------------------------------------------------------------------------

_SPAMC_PING = b"PING SPAMC/1.5\r\n\r\n"


@pytest.fixture
def root_sa_dir() -> Iterator[None]:
    """spamd (as root, `--create-prefs`) makes root's ~/.spamassassin on the host's /root,
    which stays visible to the tests' probes: removed afterwards when it was not there."""
    path = Path("/root/.spamassassin")
    existed = path.exists()
    yield
    if not existed:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.usefixtures("root_sa_dir")
def test_spamd_pid_file_and_hup_reexec(owner: Callable[[], Iso]) -> None:
    """spamd.service: Type=simple with PIDFile=/run/spamd.pid (also `--pidfile=`),
    `$OPTIONS` from /etc/default/spamd, Restart=always; HUP: spamd re-executes itself in
    place, the main PID stays."""
    require("spamd", "spamassassin")
    d = owner()
    info = start(d, "spamd")

    def pong() -> bool:
        return ask(d, 783, _SPAMC_PING).startswith(b"SPAMD/1.5 0 PONG")

    d.wait_for(pong, what="spamd's PONG", timeout=90)
    text = status_lists(d, "spamd", "spamd")
    assert "--max-children 5" in text, text  # from EnvironmentFile=
    assert "spamd child" in text, text
    assert d.read("/run/spamd.pid").strip() == str(info["main_pid"])
    reload_keeps_main(d, "spamd")
    d.wait_for(pong, what="spamd's PONG after its re-execution", timeout=90)
    restart_new_main(d, "spamd")  # a stop, not a failure: Restart=always stays quiet
    d.wait_for(pong, what="the new spamd's PONG", timeout=90)
    stop_all_gone(d, "spamd")
    assert d.status("spamd.service")["result"] == "success"
    assert not d.exists("/run/spamd.pid")


def test_opendmarc_milter_negotiation(owner: Callable[[], Iso]) -> None:
    """opendmarc.service: Type=forking as User=opendmarc, PIDFile= in /run/opendmarc (its
    tmpfiles.d line), USR1 reload; a milter option negotiation on its socket."""
    require("opendmarc")
    d = owner()
    info = start(d, "opendmarc")
    assert d.uid_of(info["main_pid"]) == uid("opendmarc")
    # SMFIC_OPTNEG: length, 'O', milter protocol version 6, all actions, all steps
    optneg = struct.pack(">IcIII", 13, b"O", 6, 0x1FF, 0x1FFFFF)
    reply = ask_unix(d, "/run/opendmarc/opendmarc.sock", optneg)
    assert reply[4:5] == b"O", reply
    status_lists(d, "opendmarc", "opendmarc")
    assert d.read("/run/opendmarc/opendmarc.pid").strip() == str(info["main_pid"])
    reload_keeps_main(d, "opendmarc")
    restart_new_main(d, "opendmarc")
    assert ask_unix(d, "/run/opendmarc/opendmarc.sock", optneg)[4:5] == b"O"
    stop_all_gone(d, "opendmarc")
    assert not d.exists("/run/opendmarc/opendmarc.pid")
    assert not d.exists("/run/opendmarc/opendmarc.sock")


def test_rspamd_controller_ping(owner: Callable[[], Iso]) -> None:
    """rspamd.service: Type=simple as User=_rspamd, RuntimeDirectory=rspamd; `/ping` on
    the controller once it has compiled its rules (seconds of CPU); HUP replaces the
    workers and keeps the main process."""
    require("rspamd")
    d = owner()
    tmpfs(d, "/var/lib/rspamd", "_rspamd", "0750")
    tmpfs(d, "/var/log/rspamd", "_rspamd", "0750")
    info = start(d, "rspamd")
    assert d.uid_of(info["main_pid"]) == uid("_rspamd")
    ping = b"GET /ping HTTP/1.0\r\n\r\n"

    def pong() -> bool:
        return b"pong" in ask(d, 11334, ping)

    d.wait_for(pong, what="rspamd's controller", timeout=240)
    text = status_lists(d, "rspamd", "rspamd")
    assert "rspamd: controller process" in text, text
    reload_keeps_main(d, "rspamd")
    d.wait_for(pong, what="rspamd's controller after its reload", timeout=240)
    restart_new_main(d, "rspamd")
    d.wait_for(pong, what="the new rspamd's controller", timeout=240)
    stop_all_gone(d, "rspamd")
    assert not d.exists("/run/rspamd")


_PROBE = b"pidone clamd probe: a harmless payload\n"


def test_clamav_daemon_through_its_socket(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """clamav-daemon.service (Requires= clamav-daemon.socket) with a one-signature
    database: `main.inc` and `daily.inc` satisfy both units' ConditionPathExistsGlob=
    `/var/lib/clamav/{main,daily}.{c[vl]d,inc}`, a `.hdb` holds the signature. clamd takes
    /run/clamav/clamd.ctl from the socket, answers PING and finds the signature in an
    INSTREAM scan; USR2 reloads the database."""
    require("clamav-daemon", "clamav-freshclam")
    d = owner()
    tmpfs(d, "/var/lib/clamav", "clamav")
    tmpfs(d, "/var/log/clamav", "clamav")
    for name in ("main.inc", "daily.inc"):
        made = d.inside("install", "-d", "-o", "clamav", f"/var/lib/clamav/{name}")
        assert made.returncode == 0, made.stderr
    hdb = tmp_path / "pidone.hdb"
    hdb.write_text(f"{hashlib.md5(_PROBE).hexdigest()}:{len(_PROBE)}:Pidone.Probe\n")
    assert d.inside("cp", str(hdb), "/var/lib/clamav/").returncode == 0
    info = start(d, "clamav-daemon")
    assert d.state("clamav-daemon.socket") == "active/running"
    ctl = "/run/clamav/clamd.ctl"
    assert ask_unix(d, ctl, b"zPING\0") == b"PONG\0"
    # clamd drops to `User clamav` (clamd.conf) itself, once its database is loaded
    d.wait_for(lambda: d.uid_of(info["main_pid"]) == uid("clamav"), what="clamd's setuid")
    stream = b"zINSTREAM\0" + struct.pack(">I", len(_PROBE)) + _PROBE + struct.pack(">I", 0)
    assert b"Pidone.Probe" in ask_unix(d, ctl, stream, to_eof=True)
    text = status_lists(d, "clamav-daemon", "clamd")
    assert "TriggeredBy: ● clamav-daemon.socket" in text, text
    reload_keeps_main(d, "clamav-daemon")
    d.wait_for(
        lambda: "Database correctly reloaded" in d.journal("-u", "clamav-daemon"),
        what="clamd's reload",
    )
    restart_new_main(d, "clamav-daemon")
    d.wait_for(lambda: ask_unix(d, ctl, b"zPING\0") == b"PONG\0", what="the new clamd")
    stop_all_gone(d, "clamav-daemon")
    assert d.state("clamav-daemon.socket") == "active/listening"
    assert d.cli("stop", "clamav-daemon.socket").returncode == 0
    assert not d.exists(ctl)  # RemoveOnStop=True


def test_clamav_freshclam_offline(owner: Callable[[], Iso]) -> None:
    """clamav-freshclam.service: `freshclam -d --foreground=true` runs on without a
    network (no DNS: it retries), restarts and stops on SIGTERM."""
    require("clamav-freshclam")
    d = owner()
    tmpfs(d, "/var/lib/clamav", "clamav")
    tmpfs(d, "/var/log/clamav", "clamav")

    def waiting(pid: int) -> bool:
        # freshclam's SIGTERM handler ends its wait between attempts; sent during an
        # attempt, it may go unnoticed until the next check (freshclam's own timing)
        return f"freshclam[{pid}]: " in (j := d.journal("-u", "clamav-freshclam")) and (
            "Trying again in" in j.split(f"freshclam[{pid}]: ", 1)[1]
        )

    info = start(d, "clamav-freshclam")
    d.wait_for(lambda: waiting(info["main_pid"]), what="freshclam's first attempt")
    assert d.uid_of(info["main_pid"]) == uid("clamav")  # its DatabaseOwner, by itself
    status_lists(d, "clamav-freshclam", "freshclam")
    no_reload(d, "clamav-freshclam")
    restart_new_main(d, "clamav-freshclam")
    d.wait_for(lambda: waiting(main_pid(d, "clamav-freshclam")), what="the new attempt")
    stop_all_gone(d, "clamav-freshclam")
    assert "Update process terminated" in d.journal("-u", "clamav-freshclam")


# --- DNS ------------------------------------------------------------------------------------------


def test_nsd_main_process_is_xfrd(owner: Callable[[], Iso]) -> None:
    """nsd.service: Type=notify, `nsd -d -P ""` (an empty argument); the process systemd
    starts becomes `nsd: xfrd` (Main PID, as under 252) and forks `nsd: main`, which forks
    the server. With no zone configured, a query is REFUSED."""
    require("nsd")
    d = owner()
    info = start(d, "nsd")
    assert dns_rcode(d, "localhost") == "rcode 5"
    text = d.cli("status", "nsd").stdout
    assert re.search(rf"Main PID: {info['main_pid']} \(nsd: xfrd\)", text), text
    names = {name for _pid, _state, name in d.namespace_processes()}
    assert {"nsd: xfrd", "nsd: main", "nsd: server 1"} <= names, names
    listed = {int(m) for m in re.findall(r"[├└]─ *(\d+) ", text)}
    assert {pid for pid, _s, _n in d.namespace_processes()} <= listed, text
    assert "ExecStart=/usr/sbin/nsd -d -P  (" not in text  # running: no Process: line yet
    reload_keeps_main(d, "nsd")
    restart_new_main(d, "nsd")
    assert dns_rcode(d, "localhost") == "rcode 5"
    stop_all_gone(d, "nsd")
    stopped = d.cli("status", "nsd").stdout
    assert "ExecStart=/usr/sbin/nsd -d -P  (code=exited, status=0/SUCCESS)" in stopped, stopped


def test_pdns_bind_backend(owner: Callable[[], Iso]) -> None:
    """pdns.service (pdns-backend-bind): Type=notify as User=pdns with AmbientCapabilities=
    on port 53, RuntimeDirectory=pdns; no zone: REFUSED. No ExecReload=."""
    require("pdns-server", "pdns-backend-bind")
    d = owner()
    info = start(d, "pdns")
    assert d.uid_of(info["main_pid"]) == uid("pdns")
    assert dns_rcode(d, "localhost") == "rcode 5"
    status_lists(d, "pdns", "pdns_server")
    assert d.inside("stat", "-c", "%U", "/run/pdns").stdout.strip() == "pdns"
    no_reload(d, "pdns")
    restart_new_main(d, "pdns")
    assert dns_rcode(d, "localhost") == "rcode 5"
    stop_all_gone(d, "pdns")
    assert not d.exists("/run/pdns")


def test_pdns_recursor_answers_localhost(owner: Callable[[], Iso]) -> None:
    """pdns-recursor.service: Type=notify as User=pdns, LimitNOFILE=16384, port 53 through
    AmbientCapabilities=; it answers `localhost` itself; `rec_control ping`."""
    require("pdns-recursor")
    d = owner()
    info = start(d, "pdns-recursor")
    assert d.uid_of(info["main_pid"]) == uid("pdns")
    assert dns_localhost(d) == "127.0.0.1"
    assert d.inside("rec_control", "ping").stdout.startswith("pong")
    status_lists(d, "pdns-recursor", "pdns_recursor")
    no_reload(d, "pdns-recursor")
    restart_new_main(d, "pdns-recursor")
    assert dns_localhost(d) == "127.0.0.1"
    stop_all_gone(d, "pdns-recursor")


def test_dnsdist_spoofs_an_answer(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """dnsdist.service: ExecStartPre= `--check-config`, Type=notify as _dnsdist with
    AmbientCapabilities=; a dnsdist.conf (bound over the packaged one, which has no
    backend and drops queries) answers every query with 127.0.0.1."""
    require("dnsdist")
    d = owner()
    conf = tmp_path / "dnsdist.conf"
    conf.write_text('setSecurityPollSuffix("")\naddAction(AllRule(), SpoofAction("127.0.0.1"))\n')
    conf.chmod(0o644)
    bind_over(d, conf, "/etc/dnsdist/dnsdist.conf")
    info = start(d, "dnsdist")
    assert d.uid_of(info["main_pid"]) == uid("_dnsdist")
    assert dns_localhost(d) == "127.0.0.1"
    text = status_lists(d, "dnsdist", "dnsdist")
    assert re.search(
        r"Process: \d+ ExecStartPre=/usr/bin/dnsdist --check-config \(code=exited, status=0", text
    )
    no_reload(d, "dnsdist")
    restart_new_main(d, "dnsdist")
    assert dns_localhost(d) == "127.0.0.1"
    stop_all_gone(d, "dnsdist")


# --- other network daemons -----------------------------------------------------------------------


def test_kea_dhcp4_control_socket(owner: Callable[[], Iso]) -> None:
    """kea-dhcp4-server.service: User=_kea, `RuntimeDirectory=kea lock/kea` kept after
    stop (RuntimeDirectoryPreserve=yes); `version-get` on /run/kea/kea4-ctrl-socket."""
    require("kea-dhcp4-server")
    d = owner()
    tmpfs(d, "/var/lib/kea", "_kea")  # its lease file
    tmpfs(d, "/var/log/kea", "_kea", "0750")
    info = start(d, "kea-dhcp4-server")
    assert d.uid_of(info["main_pid"]) == uid("_kea")
    sock = "/run/kea/kea4-ctrl-socket"

    def version() -> dict[str, object]:
        reply = ask_unix(d, sock, b'{"command": "version-get"}', to_eof=True)
        return json.loads(reply) if reply else {}

    d.wait_for(lambda: version().get("result") == 0, what="kea's control socket")
    status_lists(d, "kea-dhcp4-server", "kea-dhcp4")
    for path in ("/run/kea", "/run/lock/kea"):
        assert d.inside("stat", "-c", "%U", path).stdout.strip() == "_kea"
    no_reload(d, "kea-dhcp4-server")
    restart_new_main(d, "kea-dhcp4-server")
    d.wait_for(lambda: version().get("result") == 0, what="the new kea's control socket")
    stop_all_gone(d, "kea-dhcp4-server")
    assert d.exists("/run/kea")  # RuntimeDirectoryPreserve=yes
    assert d.exists("/run/lock/kea")


def test_pgbouncer_sigint_stop(owner: Callable[[], Iso]) -> None:
    """pgbouncer.service: Type=notify as User=postgres, KillSignal=SIGINT (a "safe
    shutdown"), HUP reload; it answers a PostgreSQL SSLRequest with 'N'."""
    require("pgbouncer")
    d = owner()
    info = start(d, "pgbouncer")
    assert d.uid_of(info["main_pid"]) == uid("postgres")
    ssl_request = struct.pack(">II", 8, 80877103)
    assert ask(d, 6432, ssl_request) == b"N"
    status_lists(d, "pgbouncer", "pgbouncer")
    reload_keeps_main(d, "pgbouncer")
    assert "got SIGHUP, re-reading config" in d.journal("-u", "pgbouncer")
    restart_new_main(d, "pgbouncer")
    assert ask(d, 6432, ssl_request) == b"N"
    stop_all_gone(d, "pgbouncer")
    assert "got SIGINT, shutting down" in d.journal("-u", "pgbouncer")
    assert d.status("pgbouncer.service")["result"] == "success"


_RADIUS = (
    "import hashlib, os, socket, struct\n"
    "auth = os.urandom(16)\n"
    "pw = b'pidone'.ljust(16, b'\\0')\n"
    "key = hashlib.md5(b'testing123' + auth).digest()\n"
    "attrs = bytes([1, 8]) + b'pidone' + bytes([2, 18]) + bytes(a ^ b for a, b in zip(pw, key))\n"
    "pkt = struct.pack('>BBH', 1, 42, 20 + len(attrs)) + auth + attrs\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(10)\n"
    "try:\n"
    "    s.sendto(pkt, ('127.0.0.1', 1812))\n"
    "    r = s.recv(4096)\n"
    "    print('code %d id %d' % (r[0], r[1]))\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def test_freeradius_rejects_an_unknown_user(owner: Callable[[], Iso]) -> None:
    """freeradius.service: Type=notify NotifyAccess=all with WatchdogSec=60, User=freerad,
    RuntimeDirectory= 0775, an ExecStartPre= `-Cx` check and ExecReload= (check, then HUP).
    An Access-Request from localhost (its packaged client secret) gets an Access-Reject."""
    require("freeradius")
    d = owner()
    tmpfs(d, "/var/log/freeradius", "freerad")  # radius.log
    info = start(d, "freeradius")
    assert d.uid_of(info["main_pid"]) == uid("freerad")
    assert d.py(_RADIUS) == "code 3 id 42"  # Access-Reject (RFC 2865)
    text = status_lists(d, "freeradius", "freeradius")
    assert 'Status: "Processing requests"' in text, text
    assert d.cli("show", "-p", "WatchdogUSec", "--value", "freeradius").stdout.strip() == "1min"
    reload_keeps_main(d, "freeradius")
    restart_new_main(d, "freeradius")
    assert d.py(_RADIUS) == "code 3 id 42"
    stop_all_gone(d, "freeradius")
    assert d.status("freeradius.service")["result"] == "success"


def test_stunnel_instance_tunnels_tls(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """stunnel@pidone.service (the template; `foreground = yes` in /etc/stunnel/%i.conf,
    as README.Debian asks): a TLS listener on 4433 whose `exec = /bin/cat` echoes."""
    require("stunnel4")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the tunnel")
    d = owner()
    etc = tmp_path / "stunnel"
    etc.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-days", "2", "-keyout", str(etc / "key.pem"), "-out", str(etc / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    (etc / "pidone.conf").write_text(
        "foreground = yes\n[echo]\naccept = 127.0.0.1:4433\n"
        "cert = /etc/stunnel/cert.pem\nkey = /etc/stunnel/key.pem\nexec = /bin/cat\n"
    )
    bind_over(d, etc, "/etc/stunnel")
    start(d, "stunnel@pidone")
    echo = (
        "import socket, ssl\n"
        "c = ssl.create_default_context()\n"
        "c.check_hostname = False\n"
        "c.verify_mode = ssl.CERT_NONE\n"
        "s = c.wrap_socket(socket.create_connection(('127.0.0.1', 4433), timeout=10))\n"
        "s.sendall(b'pidone\\n')\n"
        "print(s.recv(100).decode().strip())\n"
    )
    assert d.py(echo) == "pidone"
    text = status_lists(d, "stunnel@pidone", "stunnel4")
    assert "Loaded: loaded (/lib/systemd/system/stunnel@.service;" in text, text
    no_reload(d, "stunnel@pidone")
    restart_new_main(d, "stunnel@pidone")
    assert d.py(echo) == "pidone"
    stop_all_gone(d, "stunnel@pidone")


# --- system daemons -------------------------------------------------------------------------------

_COLLECTD_CONF = """\
Hostname "pidone"
FQDNLookup false
Interval 1
LoadPlugin load
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "/run/collectd-unixsock"
</Plugin>
"""


def test_collectd_unixsock(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """collectd.service: Type=notify NotifyAccess=main, ConditionPathExists= on its
    configuration, ExecStartPre= `collectd -t`, Restart=always. The packaged collectd.conf
    writes RRD files to the host's /var/lib/collectd: one with the load and unixsock
    plugins only is bound over it; `LISTVAL` lists the load values."""
    require("collectd")
    d = owner()
    conf = tmp_path / "collectd.conf"
    conf.write_text(_COLLECTD_CONF)
    bind_over(d, conf, "/etc/collectd/collectd.conf")
    start(d, "collectd")

    def lists_load() -> bool:
        return b"pidone/load/load" in ask_unix(d, "/run/collectd-unixsock", b"LISTVAL\n")

    d.wait_for(lists_load, what="collectd's load values")
    text = status_lists(d, "collectd", "collectd")
    assert re.search(
        r"Process: \d+ ExecStartPre=/usr/sbin/collectd -t \(code=exited, status=0", text
    )
    no_reload(d, "collectd")
    restart_new_main(d, "collectd")
    d.wait_for(lists_load, what="the new collectd's load values")
    stop_all_gone(d, "collectd")
    assert d.status("collectd.service")["result"] == "success"


def test_anacron_stopped_by_sigusr1(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """anacron.service: `anacron -d -q $ANACRON_ARGS`, KillMode=mixed, KillSignal=SIGUSR1,
    TimeoutStopSec=infinity. An anacrontab bound over the packaged one (which would run
    the host's cron.daily) has a job due now and one due in 5 minutes: anacron runs the
    first and waits; on SIGUSR1 it exits 0 (it would wait for a running job first)."""
    require("anacron")
    d = owner()
    tab = tmp_path / "anacrontab"
    tab.write_text(
        "SHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
        "1\t0\tpidone.now\ttouch /run/anacron-ran\n"
        "1\t5\tpidone.later\ttouch /run/anacron-later\n"
    )
    bind_over(d, tab, "/etc/anacrontab")
    tmpfs(d, "/var/spool/anacron")  # its timestamps
    start(d, "anacron")
    d.wait_for(lambda: d.exists("/run/anacron-ran"), what="anacron's job due now")
    d.wait_for(
        lambda: d.read("/var/spool/anacron/pidone.now").strip() == time.strftime("%Y%m%d"),
        what="the job's timestamp",
    )
    text = status_lists(d, "anacron", "anacron")
    assert "TriggeredBy: ○ anacron.timer" in text, text
    no_reload(d, "anacron")
    restart_new_main(d, "anacron")  # the new one only waits for pidone.later
    stop_all_gone(d, "anacron")
    assert d.status("anacron.service")["result"] == "success"
    assert not d.exists("/run/anacron-later")


def test_autofs_mounts_on_demand(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """autofs.service: Type=forking, `--pid-file /var/run/autofs.pid` with PIDFile=
    /run/autofs.pid, HUP reload. An auto.master bound over the packaged one has an
    indirect map on /run/pidone-auto: a lookup mounts a tmpfs, and the stop unmounts it.
    Wants=nfs-client.target starts nfs-blkmap.service (pidone does not mount
    rpc_pipefs.target's mount; 252 fails that mount here), which is not autofs's."""
    require("autofs")
    d = owner()
    (tmp_path / "auto.pidone").write_text("t -fstype=tmpfs,size=1m :tmpfs\n")
    (tmp_path / "auto.master").write_text(
        f"/run/pidone-auto file:{tmp_path}/auto.pidone --timeout=60\n"
    )
    bind_over(d, tmp_path / "auto.master", "/etc/auto.master")
    info = start(d, "autofs")
    assert d.inside("stat", "-f", "-c", "%T", "/run/pidone-auto/t").stdout.strip() == "tmpfs"
    status_lists(d, "autofs", "automount")
    assert d.read("/run/autofs.pid").strip() == str(info["main_pid"])
    reload_keeps_main(d, "autofs")
    restart_new_main(d, "autofs")
    assert d.inside("stat", "-f", "-c", "%T", "/run/pidone-auto/t").stdout.strip() == "tmpfs"
    stop_all_gone(d, "autofs", keep=("blkmapd",))
    assert d.inside("findmnt", "-R", "/run/pidone-auto").stdout == ""
    assert not d.exists("/run/autofs.pid")
    assert d.cli("stop", "nfs-blkmap").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="blkmapd to exit")


def test_sssd_files_domain(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """sssd.service: Type=notify NotifyAccess=main, PIDFile=, `|` conditions on
    /etc/sssd/sssd.conf and /etc/sssd/conf.d (the packaged state has neither: skipped,
    the conditions listed as 252 lists them). With an `id_provider = files` domain bound
    over /etc/sssd (and a copy of /var/lib/sss), NSS answers through sssd_nss."""
    require("sssd")
    d = owner()
    assert d.cli("start", "sssd").returncode == 0
    assert d.state("sssd") == "inactive/dead"
    skipped = d.cli("status", "sssd").stdout
    assert "├─ ConditionPathExists=|/etc/sssd/sssd.conf was not met" in skipped, skipped
    assert "└─ ConditionDirectoryNotEmpty=|/etc/sssd/conf.d was not met" in skipped, skipped

    etc = tmp_path / "sssd"
    etc.mkdir()
    (etc / "sssd.conf").write_text(
        "[sssd]\nservices = nss\ndomains = files\n\n[domain/files]\nid_provider = files\n"
    )
    (etc / "sssd.conf").chmod(0o600)
    bind_over(d, etc, "/etc/sssd")
    shutil.copytree("/var/lib/sss", tmp_path / "sss", symlinks=True)
    bind_over(d, tmp_path / "sss", "/var/lib/sss")
    tmpfs(d, "/var/log/sssd", mode="0750")
    info = start(d, "sssd")

    def resolves() -> bool:
        found = d.inside("getent", "-s", "sss", "passwd", "daemon").stdout
        return found.startswith("daemon:x:1:1:")

    d.wait_for(resolves, what="sssd's NSS answer")
    text = status_lists(d, "sssd", "sssd")
    assert "sssd_be --domain files" in text, text
    assert "sssd_nss" in text, text
    assert d.read("/run/sssd.pid").strip() == str(info["main_pid"])
    no_reload(d, "sssd")
    restart_new_main(d, "sssd")
    d.wait_for(resolves, what="the new sssd's NSS answer")
    stop_all_gone(d, "sssd")
    assert d.status("sssd.service")["result"] == "success"


def test_vnstat_with_a_veth_pair(owner: Callable[[], Iso]) -> None:
    """vnstat.service: User=vnstat, StateDirectory=vnstat (a tmpfs here), an empty
    CapabilityBoundingSet=, ProtectSystem=strict, HUP reload. With only `lo` vnstatd exits 1
    ("Nothing to do"); a veth pair gives it two interfaces to count."""
    require("vnstat")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is not installed: no veth pair")
    d = owner()
    made = d.inside("ip", "link", "add", "pidone0", "type", "veth", "peer", "name", "pidone1")
    assert made.returncode == 0, made.stderr
    tmpfs(d, "/var/lib/vnstat", "vnstat")
    info = start(d, "vnstat")
    assert d.uid_of(info["main_pid"]) == uid("vnstat")

    def counted() -> set[str]:
        out = d.inside("vnstat", "--json", "s").stdout
        return {i["name"] for i in json.loads(out)["interfaces"]} if out else set()

    d.wait_for(lambda: counted() == {"pidone0", "pidone1"}, what="vnstat's database")
    status_lists(d, "vnstat", "vnstatd")
    reload_keeps_main(d, "vnstat")
    restart_new_main(d, "vnstat")
    stop_all_gone(d, "vnstat")
    assert d.status("vnstat.service")["result"] == "success"
