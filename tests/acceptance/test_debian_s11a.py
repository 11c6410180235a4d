"""Mail, directory, VPN, file-sharing and network daemons of Debian (issue #4's held-back
set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged unit in an isolated namespace (PID, mount and network; a tmpfs on
/run) whose PID 1 is started with `--tmpfiles=yes`, as a container's init would be: start, a
protocol probe inside the namespace, `pidone status` (Main PID, the unit's processes),
reload where the unit has ExecReload=, restart with a new main PID, stop with nothing left.

What a service needs that a fresh install does not give is set up inside the namespace
only (a bind mount over a packaged file, a tmpfs, a veth pair) or in the test's own
directory, named by a drop-in in the daemon's unit directory; /etc/radvd.conf and an
/etc/openvpn/server/*.conf are written where the units look for them and removed after.
All of it was compared with systemd 252 on the oracle (same units, same set-up): the same
states, results, exit codes, status lines and journal lines.

ntpsec is only started by a manager without CAP_SYS_TIME, where its ConditionCapability=
skips it: with the capability, ntpd would discipline the kernel clock, which no namespace
isolates.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.kit import (
    HTTP,
    bind_over,
    iso,
    owner,
    uid,
)
from tests.acceptance.test_debian_h4 import veth
from tests.acceptance.test_debian_system_services import (
    Iso,
    banner,
    no_reload,
    reload_keeps_main,
    restart_new_main,
    start,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso", "owner"]  # the fixtures, imported so that pytest finds them here


@pytest.fixture
def host_file() -> Iterator[Callable[[str, str], None]]:
    """`host_file(PATH, TEXT)`: a configuration file the packaged unit reads at a fixed
    path, written there and removed after the test. A file already there is not ours:
    the test is skipped rather than touch it."""
    made: list[Path] = []

    def write(path: str, text: str) -> None:
        p = Path(path)
        if p.exists():
            pytest.skip(f"{path} exists on this machine; not replacing it")
        p.write_text(text)
        p.chmod(0o600)
        made.append(p)

    try:
        yield write
    finally:
        for p in made:
            p.unlink(missing_ok=True)


def dropin(d: Iso, unit: str, text: str) -> None:
    """A drop-in in the daemon's unit directory, then daemon-reload."""
    where = d.unit_dir / f"{unit}.d"
    where.mkdir(exist_ok=True)
    (where / "pidone-test.conf").write_text(text)
    assert d.cli("daemon-reload").returncode == 0


def probe(d: Iso, code: str, *args: str) -> str:
    """Run a probe (Python source) inside the namespace; its one line of output."""
    return d.py(code, *args)


# --- probes ------------------------------------------------------------------------------------

# An LDAPv3 anonymous simple bind (RFC 4511 4.2) to 127.0.0.1:389: prints the resultCode.
_LDAP_BIND = (
    "import socket\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 389), timeout=10)\n"
    "    s.sendall(bytes.fromhex('300c020101600702010304008000'))\n"
    "    r = s.recv(256)\n"
    "    print('bindResponse %d' % r[r.index(b'\\x0a\\x01') + 2] if r[5] == 0x61 else r.hex())\n"
    "except (OSError, ValueError, IndexError) as exc:\n"
    "    print('error:', exc)\n"
)

# An SMB1 NEGOTIATE offering `SMB 2.002` and `SMB 2.???` (MS-SMB2 3.3.5.3.1) to
# 127.0.0.1:445: an SMB2 server answers with an SMB2 NEGOTIATE response.
_SMB_NEGOTIATE = (
    "import socket, struct\n"
    "d = b'\\x02NT LM 0.12\\x00\\x02SMB 2.002\\x00\\x02SMB 2.???\\x00'\n"
    "h = b'\\xffSMB\\x72' + bytes(4) + b'\\x18' + struct.pack('<H', 0xC853) + bytes(12) "
    "+ b'\\xff\\xff' + struct.pack('<HHH', 0xFEFF, 0, 0)\n"
    "body = h + b'\\x00' + struct.pack('<H', len(d)) + d\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 445), timeout=10)\n"
    "    s.sendall(struct.pack('>I', len(body)) + body)\n"
    "    r = s.recv(4096)\n"
    "    print('SMB2' if r[4:8] == b'\\xfeSMB' else r[:16].hex())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


# An SNMPv2c GetRequest (RFC 3416) for sysDescr.0 with community `public` to
# 127.0.0.1:161: prints the OCTET STRING of the response's varbind.
_SNMP_SYSDESCR = (
    "import socket\n"
    "oid = bytes.fromhex('06082b06010201010100')\n"
    "vb = b'\\x30' + bytes([len(oid) + 2]) + oid + b'\\x05\\x00'\n"
    "vbl = b'\\x30' + bytes([len(vb)]) + vb\n"
    "pdu = bytes.fromhex('020411a05001020100020100') + vbl\n"
    "pdu = b'\\xa0' + bytes([len(pdu)]) + pdu\n"
    "msg = bytes.fromhex('020101') + b'\\x04\\x06public' + pdu\n"
    "msg = b'\\x30' + bytes([len(msg)]) + msg\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(10)\n"
    "try:\n"
    "    s.sendto(msg, ('127.0.0.1', 161))\n"
    "    r = s.recv(4096)\n"
    "    i = r.index(oid) + len(oid)\n"
    "    print(r[i + 2 : i + 2 + r[i + 1]].decode('latin-1') if r[i] == 4 else r.hex())\n"
    "except (OSError, ValueError) as exc:\n"
    "    print('error:', exc)\n"
)

# A Router Solicitation (RFC 4861 4.1) on interface argv[1]: prints the prefixes of the
# first Router Advertisement that comes back.
_ROUTER_SOLICITATION = (
    "import socket, struct, sys, time\n"
    "s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())\n"
    "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)\n"
    "s.settimeout(1)\n"
    "index = socket.if_nametoindex(sys.argv[1])\n"
    "deadline = time.monotonic() + 20\n"
    "answer = 'error: no router advertisement'\n"
    "while time.monotonic() < deadline:\n"
    "    try:  # until the link-local address has passed DAD (EADDRNOTAVAIL before)\n"
    "        s.sendto(struct.pack('>BBHI', 133, 0, 0, 0), ('ff02::2', 0, 0, index))\n"
    "    except OSError:\n"
    "        time.sleep(0.2)\n"
    "        continue\n"
    "    try:\n"
    "        data = s.recv(2048)\n"
    "    except TimeoutError:\n"
    "        continue\n"
    "    if data[0] == 134:\n"
    "        rest, prefixes = data[16:], []\n"
    "        while len(rest) >= 8 and rest[1]:\n"
    "            if rest[0] == 3:\n"
    "                prefixes.append(socket.inet_ntop(socket.AF_INET6, rest[16:32]) + "
    "'/%d' % rest[2])\n"
    "            rest = rest[rest[1] * 8 :]\n"
    "        answer = 'advertisement ' + ' '.join(prefixes)\n"
    "        break\n"
    "print(answer)\n"
)

# A milter SMFIC_OPTNEG (the Sendmail milter protocol, version 6) on the Unix socket
# argv[1]: prints the reply's command letter and version.
_MILTER_OPTNEG = (
    "import socket, struct, sys\n"
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "s.settimeout(10)\n"
    "try:\n"
    "    s.connect(sys.argv[1])\n"
    "    body = b'O' + struct.pack('>III', 6, 0x1FF, 0x1FFFFF)\n"
    "    s.sendall(struct.pack('>I', len(body)) + body)\n"
    "    size = struct.unpack('>I', s.recv(4))[0]\n"
    "    reply = s.recv(size)\n"
    "    print('%s version %d' % (chr(reply[0]), struct.unpack('>I', reply[1:5])[0]))\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# A Postfix SMTP access policy delegation request to 127.0.0.1:10023: the action line. The
# sender is new each time: postgrey keeps the triplets it saw in /var/lib/postgrey, and lets
# one through (DUNNO) once its delay has passed.
_POLICY = (
    "import socket, uuid\n"
    "request = ('request=smtpd_access_policy\\nprotocol_state=RCPT\\nprotocol_name=SMTP\\n'\n"
    "    'client_address=192.0.2.7\\nclient_name=mail.example.org\\nsender=%s@example.org\\n'\n"
    "    'recipient=b@example.net\\n\\n') % uuid.uuid4().hex\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 10023), timeout=10)\n"
    "    s.sendall(request.encode())\n"
    "    print(s.makefile('rb').readline().decode().strip())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# A Kerberos AS-REQ (RFC 4120 5.4.1) for argv[2]@argv[1] over UDP to 127.0.0.1:88:
# `AS-REP`, or `KRB-ERROR n`.
_AS_REQ = (
    "import os, socket, sys\n"
    "def der(tag, body):\n"
    "    n = len(body)\n"
    "    size = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else "
    "bytes([0x82]) + n.to_bytes(2, 'big')\n"
    "    return bytes([tag]) + size + body\n"
    "def ctx(n, body):\n"
    "    return der(0xA0 | n, body)\n"
    "def integer(v):\n"
    "    return der(0x02, v.to_bytes((v.bit_length() + 8) // 8, 'big'))\n"
    "def gstr(s):\n"
    "    return der(0x1B, s.encode())\n"
    "def principal(kind, *names):\n"
    "    return der(0x30, ctx(0, integer(kind)) + ctx(1, der(0x30, b''.join(map(gstr, names)))))\n"
    "realm, client = sys.argv[1], sys.argv[2]\n"
    "body = der(0x30, ctx(0, der(0x03, bytes(5))) + ctx(1, principal(1, *client.split('/')))\n"
    "    + ctx(2, gstr(realm)) + ctx(3, principal(2, 'krbtgt', realm))\n"
    "    + ctx(5, der(0x18, b'20370913024805Z'))\n"
    "    + ctx(7, integer(int.from_bytes(os.urandom(3), 'big')))\n"
    "    + ctx(8, der(0x30, integer(18) + integer(17))))\n"
    "req = der(0x6A, der(0x30, ctx(1, integer(5)) + ctx(2, integer(10)) + ctx(4, body)))\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(10)\n"
    "try:\n"
    "    s.sendto(req, ('127.0.0.1', 88))\n"
    "    r = s.recv(4096)\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
    "    raise SystemExit\n"
    "if r[0] == 0x6B:\n"
    "    print('AS-REP')\n"
    "elif r[0] == 0x7E:\n"
    "    i = r.find(b'\\xa6')\n"
    "    while i >= 0 and r[i + 2] != 0x02:\n"
    "        i = r.find(b'\\xa6', i + 1)\n"
    "    print('KRB-ERROR %d' % int.from_bytes(r[i + 4 : i + 4 + r[i + 3]], 'big'))\n"
    "else:\n"
    "    print('reply %#x' % r[0])\n"
)

# A DHCPDISCOVER (RFC 2131) broadcast from interface argv[1] (no address: the reply is
# read from a packet socket): prints the address of the DHCPOFFER.
_DHCP_DISCOVER = (
    "import os, socket, struct, sys, time\n"
    "xid = os.urandom(4)\n"
    "mac = bytes.fromhex('02005011a001')\n"
    "head = struct.pack('>BBBB', 1, 1, 6, 0) + xid + struct.pack('>HH', 0, 0x8000) + bytes(16)"
    " + mac + bytes(10 + 192)\n"
    "pkt = head + struct.pack('>I', 0x63825363) + bytes([53, 1, 1, 255])\n"
    "raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "raw.bind((sys.argv[1], 0))\n"
    "raw.settimeout(1)\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())\n"
    "s.bind(('0.0.0.0', 68))\n"
    "s.sendto(pkt, ('255.255.255.255', 67))\n"
    "deadline = time.monotonic() + 15\n"
    "answer = 'error: no offer'\n"
    "while time.monotonic() < deadline:\n"
    "    try:\n"
    "        frame = raw.recv(2048)\n"
    "    except TimeoutError:\n"
    "        continue\n"
    "    ip = frame[14:]\n"
    "    udp = ip[(ip[0] & 15) * 4 :]\n"
    "    bootp = udp[8:]\n"
    "    if ip[9] == 17 and udp[2:4] == b'\\x00\\x44' and bootp[0] == 2 and bootp[4:8] == xid:\n"
    "        answer = 'offer ' + socket.inet_ntoa(bootp[16:20])\n"
    "        break\n"
    "print(answer)\n"
)


# --- the services ---------------------------------------------------------------------------


def _dovecot_certificate(d: Iso, tmp_path: Path) -> None:
    """dovecot-core's postinst links /etc/dovecot/private/dovecot.{pem,key} to the snakeoil
    pair that ssl-cert's postinst makes; where that pair was missing at install time, give
    the namespace a self-signed pair in their place."""
    if os.path.exists("/etc/dovecot/private/dovecot.pem"):
        return
    private = tmp_path / "dovecot-private"
    private.mkdir()
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", str(private / "dovecot.key"),
         "-out", str(private / "dovecot.pem")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    bind_over(d, private, "/etc/dovecot/private")


def test_dovecot_imapd(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """dovecot.service: Type=notify with STATUS=, ExecReload= `doveadm reload`, ExecStop=
    `doveadm stop`, PrivateTmp=, ProtectSystem=full, PrivateDevices=, LimitNOFILE=; then
    through dovecot.socket (four listeners, BindIPv6Only=ipv6-only): the first IMAP
    connection starts the service, which takes the sockets."""
    require("dovecot-imapd", "ssl-cert")
    d = owner()
    _dovecot_certificate(d, tmp_path)
    start(d, "dovecot")
    assert banner(d, 143).startswith("* OK"), banner(d, 143)
    text = status_lists(d, "dovecot", "dovecot")
    assert re.search(r'Status: "v[\d.]+ \(\w+\) running"', text), text
    reload_keeps_main(d, "dovecot")
    assert "Dovecot" in banner(d, 143)
    restart_new_main(d, "dovecot")
    assert "Dovecot" in banner(d, 143)
    stop_all_gone(d, "dovecot")
    assert 'Status: "Dovecot stopped"' in d.cli("status", "dovecot").stdout
    assert re.search(
        r"Process: \d+ ExecStop=/usr/bin/doveadm stop \(code=exited, status=0/SUCCESS\)",
        d.cli("status", "dovecot").stdout,
    )

    # socket activation
    r = d.cli("start", "dovecot.socket")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("dovecot") == "inactive/dead"
    assert "Dovecot" in banner(d, 143)
    d.wait_state("dovecot.service", "active/running")
    assert "TriggeredBy: ● dovecot.socket" in status_lists(d, "dovecot", "dovecot")
    r = d.cli("stop", "dovecot.socket", "dovecot.service")
    assert r.returncode == 0, r.stdout + r.stderr
    d.wait_for(lambda: not d.namespace_processes(), what="dovecot to exit")
    assert banner(d, 143).startswith("error:")  # the listening sockets are closed


def test_slapd_lsb_script(owner: Callable[[], Iso]) -> None:
    """slapd has only /etc/init.d/slapd: systemd-sysv-generator makes slapd.service
    (Type=forking, GuessMainPID=no: no Main PID), and the package's drop-in sets
    RemainAfterExit=no; no `reload` in the script's usage, so no ExecReload=."""
    require("slapd")
    d = owner()
    r = d.cli("start", "slapd")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("slapd") == "active/running"
    assert probe(d, _LDAP_BIND) == "bindResponse 0"
    text = status_lists(d, "slapd", "slapd", main=False)
    assert "Loaded: loaded (/etc/init.d/slapd; generated)" in text, text
    assert "slapd-remain-after-exit.conf" in text, text
    pid = d.read("/run/slapd/slapd.pid").strip()
    no_reload(d, "slapd")
    assert d.cli("restart", "slapd").returncode == 0
    assert d.state("slapd") == "active/running"
    assert d.read("/run/slapd/slapd.pid").strip() not in ("", pid)
    assert probe(d, _LDAP_BIND) == "bindResponse 0"
    stop_all_gone(d, "slapd")
    assert not d.exists("/run/slapd/slapd.pid")


def test_openvpn_server_instance(
    owner: Callable[[], Iso], host_file: Callable[[str, str], None]
) -> None:
    """openvpn-server@NAME.service: Type=notify with STATUS=, WorkingDirectory=
    /etc/openvpn/server, `%t` and `%i` in ExecStart=, CapabilityBoundingSet=, LimitNPROC=10,
    DeviceAllow=/dev/net/tun, KillMode=process; its `--status` file in /run/openvpn-server,
    a tmpfiles.d directory. A static-key point-to-point server with a management port."""
    require("openvpn")
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun on this machine")
    name = "pidone-s11a"
    key = subprocess.run(
        ["openvpn", "--genkey", "secret", "/dev/stdout"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    host_file(f"/etc/openvpn/server/{name}.key", key)
    host_file(
        f"/etc/openvpn/server/{name}.conf",
        f"dev tun\nproto udp\nlocal 127.0.0.1\nport 1194\nifconfig 10.8.0.1 10.8.0.2\n"
        f"secret {name}.key\ncipher AES-256-CBC\nmanagement 127.0.0.1 7505\n",
    )
    d = owner()
    unit = f"openvpn-server@{name}"
    start(d, unit)
    greeting = ">INFO:OpenVPN Management Interface"
    assert banner(d, 7505).startswith(greeting), banner(d, 7505)
    assert "10.8.0.1 peer 10.8.0.2" in d.inside("ip", "-4", "addr", "show", "tun0").stdout
    text = status_lists(d, unit, "openvpn")
    assert f"--status /run/openvpn-server/status-{name}.log" in text, text
    main = d.status(unit)["main_pid"]
    limits = d.inside("cat", f"/proc/{main}/limits").stdout
    assert re.search(r"Max processes +10 +10 ", limits), limits
    no_reload(d, unit)
    restart_new_main(d, unit)
    assert banner(d, 7505).startswith(greeting)
    stop_all_gone(d, unit)
    assert "tun0" not in d.inside("ip", "-br", "link").stdout


def test_samba_smbd_and_nmbd(owner: Callable[[], Iso]) -> None:
    """smbd.service and nmbd.service: ExecCondition= `is-configured`, Type=notify with
    STATUS= and PIDFile=, `$SMBDOPTIONS` from an EnvironmentFile=- that does not set it
    (no argument), HUP reload. nmbd waits for a non-loopback IPv4 interface ("No local
    IPv4 non-loopback interfaces available" in its Status:), so the namespace gets a veth
    pair."""
    require("samba")
    d = owner()
    veth(d, "192.0.2.1/24")
    for unit, comm in (("nmbd", "nmbd"), ("smbd", "smbd")):
        start(d, unit)
        text = status_lists(d, unit, comm)
        assert re.search(
            rf"Process: \d+ ExecCondition=/usr/share/samba/is-configured {unit[:3]} "
            r"\(code=exited, status=0/SUCCESS\)",
            text,
        ), text
        assert f'Status: "{unit}: ready to serve connections..."' in text, text
        assert d.read(f"/run/samba/{unit}.pid").strip() == str(d.status(unit)["main_pid"])
    assert probe(d, _SMB_NEGOTIATE) == "SMB2"
    names = d.inside("nmblookup", "-A", "192.0.2.1").stdout
    assert "<ACTIVE>" in names, names
    for unit in ("smbd", "nmbd"):
        reload_keeps_main(d, unit)
        restart_new_main(d, unit)
    assert probe(d, _SMB_NEGOTIATE) == "SMB2"
    assert "<ACTIVE>" in d.inside("nmblookup", "-A", "192.0.2.1").stdout
    stop_all_gone(d, "smbd", keep=("nmbd",))
    stop_all_gone(d, "nmbd")
    for unit in ("smbd", "nmbd"):
        assert not d.exists(f"/run/samba/{unit}.pid")
    # samba-ad-dc: the packaged smb.conf is no AD DC, so its ExecCondition= exits 1
    r = d.cli("start", "samba-ad-dc")
    assert r.returncode == 0, r.stdout + r.stderr
    info = d.status("samba-ad-dc")
    assert (info["active"], info["sub"], info["result"]) == ("inactive", "dead", "exec-condition")
    assert "samba-ad-dc.service: Skipped due to 'exec-condition'." in d.journal("-u", "samba-ad-dc")


def test_cups(owner: Callable[[], Iso]) -> None:
    """cups.service: Type=notify, Requires=cups.socket (started with it, TriggeredBy:),
    cups.socket and cups.path PartOf=cups.service (stopped with it), no ExecReload=."""
    require("cups")
    d = owner()
    start(d, "cups")
    assert d.state("cups.socket") == "active/running"
    assert probe(d, HTTP, "631", "/").startswith("HTTP/1.0 200 OK Server: CUPS/")
    text = status_lists(d, "cups", "cupsd")
    assert "● cups.socket" in text, text  # TriggeredBy:
    assert "○ cups.path" in text, text
    assert 'Status: "Scheduler is running..."' in text, text
    assert d.inside("lpstat", "-r").stdout.strip() == "scheduler is running"  # the socket
    no_reload(d, "cups")
    restart_new_main(d, "cups")
    assert d.state("cups.socket") == "active/running"
    assert probe(d, HTTP, "631", "/").startswith("HTTP/1.0 200 OK")
    stop_all_gone(d, "cups")
    assert d.state("cups.socket") == "inactive/dead"  # PartOf=
    assert not d.exists("/run/cups/cups.sock")  # RemoveOnStop=on


def test_knot(owner: Callable[[], Iso]) -> None:
    """knot.service: Type=notify as User=knot with AmbientCapabilities=, EnvironmentFile=,
    `"$KNOT_CONF_MAX_SIZE"` from Environment= in ExecStart=, ExecStartPre= `knotc
    conf-check`, RuntimeDirectory=/StateDirectory=, HUP reload. The packaged knot.conf
    listens nowhere: the probe is `knotc status` through its control socket."""
    require("knot")
    d = owner()
    info = start(d, "knot")
    assert d.uid_of(info["main_pid"]) == uid("knot")
    assert d.inside("knotc", "status").stdout.strip() == "Running"
    text = status_lists(d, "knot", "knotd")
    assert re.search(r"ExecStartPre=/usr/sbin/knotc conf-check \(code=exited, status=0", text)
    assert re.search(r"─ *\d+ /usr/sbin/knotd -m 512\n", text), text
    reload_keeps_main(d, "knot")
    assert d.inside("knotc", "status").stdout.strip() == "Running"
    restart_new_main(d, "knot")
    assert d.inside("knotc", "status").stdout.strip() == "Running"
    stop_all_gone(d, "knot")
    assert not d.exists("/run/knot")  # RuntimeDirectory= removed


def test_prometheus_node_exporter(owner: Callable[[], Iso]) -> None:
    """prometheus-node-exporter.service: Type=simple as User=prometheus, `$ARGS` from
    EnvironmentFile=, SendSIGKILL=no. Its ExecReload= sends SIGHUP, which ends the Go
    program (no handler): exit by signal HUP is clean for a daemon (is_clean_exit()), so
    the unit becomes inactive and Restart=on-failure does not apply; systemd 252 does the
    same (oracle)."""
    require("prometheus-node-exporter")
    d = owner()
    info = start(d, "prometheus-node-exporter")
    assert d.uid_of(info["main_pid"]) == uid("prometheus")

    def metrics() -> bool:  # Type=simple: started before it listens
        return probe(d, HTTP, "9100", "/metrics") == "HTTP/1.0 200 OK"

    d.wait_for(metrics, what="node_exporter to answer")
    status_lists(d, "prometheus-node-exporter", "prometheus-node")
    restart_new_main(d, "prometheus-node-exporter")
    d.wait_for(metrics, what="the new node_exporter to answer")
    r = d.cli("reload", "prometheus-node-exporter")
    assert r.returncode == 0, r.stdout + r.stderr
    d.wait_state("prometheus-node-exporter.service", "inactive/dead")
    text = d.cli("status", "prometheus-node-exporter").stdout
    assert re.search(r"Main PID: \d+ \(code=killed, signal=HUP\)", text), text
    assert d.status("prometheus-node-exporter")["result"] == "success"
    d.wait_for(lambda: not d.namespace_processes(), what="node_exporter to exit")
    start(d, "prometheus-node-exporter")
    stop_all_gone(d, "prometheus-node-exporter")


def test_snmpd(owner: Callable[[], Iso]) -> None:
    """snmpd.service: ConditionPathExists=/etc/snmp/snmpd.conf, Type=notify, RuntimeDirectory=
    agentx, `-I -smux,...` (snmpd rewrites its argv), HUP reload; an SNMPv2c GET."""
    require("snmpd")
    d = owner()
    start(d, "snmpd")
    assert probe(d, _SNMP_SYSDESCR).startswith("Linux"), probe(d, _SNMP_SYSDESCR)
    status_lists(d, "snmpd", "snmpd")
    assert d.exists("/run/agentx")
    reload_keeps_main(d, "snmpd")
    assert probe(d, _SNMP_SYSDESCR).startswith("Linux")
    restart_new_main(d, "snmpd")
    assert probe(d, _SNMP_SYSDESCR).startswith("Linux")
    stop_all_gone(d, "snmpd")
    assert not d.exists("/run/agentx")


def test_radvd(owner: Callable[[], Iso], host_file: Callable[[str, str], None]) -> None:
    """radvd.service: ConditionPathExists=/etc/radvd.conf (none is packaged), Type=forking
    with PIDFile=, `--configtest` as ExecStartPre= and first ExecReload=,
    CPUSchedulingPolicy=idle, CapabilityBoundingSet=, PrivateDevices=, NoNewPrivileges=;
    a Router Solicitation on the other end of a veth pair gets the configured prefix."""
    require("radvd")
    d = owner()
    if not os.path.exists("/etc/radvd.conf"):
        r = d.cli("start", "radvd")
        assert r.returncode == 0, r.stdout + r.stderr
        assert d.state("radvd") == "inactive/dead"
        assert "unmet condition check (ConditionPathExists=/etc/radvd.conf)" in d.journal(
            "-u", "radvd"
        )
    host_file(
        "/etc/radvd.conf",
        "interface v0 {\n    AdvSendAdvert on;\n    prefix 2001:db8:5011::/64 {};\n};\n",
    )
    veth(d, "192.0.2.1/24")
    info = start(d, "radvd")
    assert d.read("/run/radvd.pid").strip() == str(info["main_pid"])
    assert "SCHED_IDLE" in d.inside("chrt", "-p", str(info["main_pid"])).stdout
    assert probe(d, _ROUTER_SOLICITATION, "v1") == "advertisement 2001:db8:5011::/64"
    status_lists(d, "radvd", "radvd")
    reload_keeps_main(d, "radvd")
    restart_new_main(d, "radvd")
    assert probe(d, _ROUTER_SOLICITATION, "v1") == "advertisement 2001:db8:5011::/64"
    stop_all_gone(d, "radvd")
    assert not d.exists("/run/radvd.pid")


def test_fail2ban(owner: Callable[[], Iso]) -> None:
    """fail2ban.service: Type=simple with PIDFile= in its RuntimeDirectory=, ExecReload=
    and ExecStop= through fail2ban-client, RestartPreventExitStatus=0 255. Its sshd jail
    needs /var/log/auth.log (written by a syslog daemon, absent here: fail2ban-server then
    exits 255, under systemd 252 too): the namespace gets an empty one on a tmpfs."""
    require("fail2ban")
    d = owner()
    assert d.inside("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/var/log").returncode == 0
    assert d.inside("touch", "/var/log/auth.log").returncode == 0
    info = start(d, "fail2ban")

    def pong() -> bool:
        return "pong" in d.inside("fail2ban-client", "ping").stdout

    d.wait_for(pong, what="fail2ban-server to answer")
    status_lists(d, "fail2ban", "fail2ban-server")
    d.wait_for(lambda: d.read("/run/fail2ban/fail2ban.pid").strip() == str(info["main_pid"]))
    reload_keeps_main(d, "fail2ban")
    assert pong()
    restart_new_main(d, "fail2ban")
    d.wait_for(pong, what="the new fail2ban-server to answer")
    stop_all_gone(d, "fail2ban")
    assert not d.exists("/run/fail2ban")  # RuntimeDirectory= removed, the PID file with it


def test_opendkim(owner: Callable[[], Iso]) -> None:
    """opendkim.service: Type=forking with PIDFile= in /run/opendkim (made by the
    package's tmpfiles.d line), USR1 reload, Restart=on-failure; a milter option
    negotiation on its socket."""
    require("opendkim")
    d = owner()
    info = start(d, "opendkim")
    sock = "/run/opendkim/opendkim.sock"
    assert probe(d, _MILTER_OPTNEG, sock) == "O version 6"
    status_lists(d, "opendkim", "opendkim")
    assert d.read("/run/opendkim/opendkim.pid").strip() == str(info["main_pid"])
    reload_keeps_main(d, "opendkim")
    assert probe(d, _MILTER_OPTNEG, sock) == "O version 6"
    restart_new_main(d, "opendkim")
    assert probe(d, _MILTER_OPTNEG, sock) == "O version 6"
    stop_all_gone(d, "opendkim")
    assert not d.exists("/run/opendkim/opendkim.pid")


def test_postgrey(owner: Callable[[], Iso]) -> None:
    """postgrey.service: a continued ExecStart= line, `%H` in Environment=, `$POSTGREY_OPTS`
    from EnvironmentFile=- split into words and `"${POSTGREY_TEXT}"` kept as one,
    Restart=always, no ExecReload=; a policy request is greylisted."""
    require("postgrey")
    d = owner()
    start(d, "postgrey")
    host = os.uname().nodename
    expected = f"action=DEFER_IF_PERMIT Greylisted, see https://postgrey.schweikert.ch/help/{host}"
    d.wait_for(lambda: probe(d, _POLICY).startswith(expected), what="postgrey to answer")
    status_lists(d, "postgrey", "postgrey --inet")
    no_reload(d, "postgrey")
    restart_new_main(d, "postgrey")
    d.wait_for(lambda: probe(d, _POLICY).startswith(expected), what="postgrey to answer")
    stop_all_gone(d, "postgrey")
    assert d.status("postgrey")["result"] == "success"  # not restarted: a stop was asked


def test_saslauthd_lsb_script(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """saslauthd has only /etc/init.d/saslauthd (the generated unit: Type=forking,
    GuessMainPID=no, ExecReload= from the script's usage). Its defaults file has no
    `START=yes`: the namespace sees a copy that has it. testsaslauthd gets an answer
    through /run/saslauthd/mux."""
    require("sasl2-bin")
    d = owner()
    defaults = tmp_path / "saslauthd"
    defaults.write_text(Path("/etc/default/saslauthd").read_text() + "\nSTART=yes\n")
    bind_over(d, defaults, "/etc/default/saslauthd")
    r = d.cli("start", "saslauthd")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("saslauthd") == "active/running"

    def answer() -> str:
        return d.inside("testsaslauthd", "-u", "nosuchuser", "-p", "secret").stdout.strip()

    assert answer() == '0: NO "authentication failed"', answer()
    text = status_lists(d, "saslauthd", "saslauthd", main=False)
    assert "Loaded: loaded (/etc/init.d/saslauthd; generated)" in text, text
    pid = d.read("/run/saslauthd/saslauthd.pid").strip()
    r = d.cli("reload", "saslauthd")  # ExecReload=/etc/init.d/saslauthd reload: SIGHUP
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.read("/run/saslauthd/saslauthd.pid").strip() == pid
    assert d.cli("restart", "saslauthd").returncode == 0
    assert d.read("/run/saslauthd/saslauthd.pid").strip() not in ("", pid)
    assert answer() == '0: NO "authentication failed"'
    stop_all_gone(d, "saslauthd")
    assert not d.exists("/run/saslauthd/saslauthd.pid")


def test_krb5_kdc(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """krb5-kdc.service: Type=forking with PIDFile= (written after the parent exits: "Can't
    open PID file (yet?)", then found), ReadOnlyDirectories=/ with ReadWriteDirectories=
    and InaccessibleDirectories=, ProtectProc=invisible, PrivateDevices=, HUP reload. A
    realm made with `kdb5_util create -s` in the test's directory, named by KRB5_CONFIG
    and KRB5_KDC_PROFILE in a drop-in; the KDC answers an AS-REQ with an AS-REP."""
    require("krb5-kdc")
    realm = "PIDONE.TEST"
    (tmp_path / "krb5.conf").write_text(
        f"[libdefaults]\n    default_realm = {realm}\n[realms]\n    {realm} = {{\n"
        "        kdc = 127.0.0.1\n    }\n"
    )
    (tmp_path / "kdc.conf").write_text(
        "[kdcdefaults]\n    kdc_ports = 88\n    kdc_tcp_ports = 88\n[realms]\n"
        f"    {realm} = {{\n        database_name = {tmp_path}/principal\n"
        f"        key_stash_file = {tmp_path}/stash\n    }}\n"
    )
    env = {
        "KRB5_CONFIG": f"{tmp_path}/krb5.conf",
        "KRB5_KDC_PROFILE": f"{tmp_path}/kdc.conf",
    }
    made = subprocess.run(
        ["kdb5_util", "create", "-s", "-r", realm, "-P", "pidone-master-password"],
        capture_output=True, text=True, check=False, env=dict(os.environ, **env),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    d = owner()
    dropin(
        d,
        "krb5-kdc.service",
        "[Service]\n" + "".join(f"Environment={k}={v}\n" for k, v in env.items()),
    )
    info = start(d, "krb5-kdc")
    assert probe(d, _AS_REQ, realm, "kadmin/admin") == "AS-REP"
    assert probe(d, _AS_REQ, realm, "nobody") == "KRB-ERROR 6"  # KDC_ERR_C_PRINCIPAL_UNKNOWN
    status_lists(d, "krb5-kdc", "krb5kdc")
    assert d.read("/run/krb5-kdc.pid").strip() == str(info["main_pid"])
    root = d.inside("nsenter", "-t", str(info["main_pid"]), "-m", "stat", "-c", "%a", "/root")
    assert root.stdout.strip() == "0", root.stdout + root.stderr  # InaccessibleDirectories=
    reload_keeps_main(d, "krb5-kdc")
    restart_new_main(d, "krb5-kdc")
    assert probe(d, _AS_REQ, realm, "kadmin/admin") == "AS-REP"
    stop_all_gone(d, "krb5-kdc")
    assert not d.exists("/run/krb5-kdc.pid")


def test_isc_dhcp_server_lsb_script(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """isc-dhcp-server has only /etc/init.d/isc-dhcp-server (the generated unit:
    Type=forking, GuessMainPID=no, KillMode=process). The packaged defaults name no
    interface and dhcpd.conf no subnet (dhcpd exits 1, under systemd too): a drop-in points
    DHCPD_DEFAULT= at a defaults file naming v0 and a dhcpd.conf with its subnet. A
    DHCPDISCOVER from the veth's other end gets an offer."""
    require("isc-dhcp-server")
    (tmp_path / "dhcpd.conf").write_text(
        "authoritative;\nsubnet 192.0.2.0 netmask 255.255.255.0 {\n"
        "  range 192.0.2.100 192.0.2.150;\n}\n"
    )
    (tmp_path / "default").write_text(f'INTERFACESv4="v0"\nDHCPDv4_CONF={tmp_path}/dhcpd.conf\n')
    d = owner()
    veth(d, "192.0.2.1/24")
    dropin(
        d, "isc-dhcp-server.service", f"[Service]\nEnvironment=DHCPD_DEFAULT={tmp_path}/default\n"
    )
    r = d.cli("start", "isc-dhcp-server")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("isc-dhcp-server") == "active/running"
    assert probe(d, _DHCP_DISCOVER, "v1") == "offer 192.0.2.100"
    text = status_lists(d, "isc-dhcp-server", "dhcpd", main=False)
    assert "Loaded: loaded (/etc/init.d/isc-dhcp-server; generated)" in text, text
    pid = d.read("/run/dhcpd.pid").strip()
    no_reload(d, "isc-dhcp-server")
    assert d.cli("restart", "isc-dhcp-server").returncode == 0
    assert d.state("isc-dhcp-server") == "active/running"
    assert d.read("/run/dhcpd.pid").strip() not in ("", pid)
    assert probe(d, _DHCP_DISCOVER, "v1") == "offer 192.0.2.100"
    # the script's stop sends SIGTERM and returns: dhcpd may outlive the unit by a moment
    # ("Unit process N (dhcpd) remains running after unit stopped.", as under systemd)
    stop_all_gone(d, "isc-dhcp-server")
    assert not d.exists("/run/dhcpd.pid")


def test_ntpsec_skipped_without_cap_sys_time(tmp_path: Path) -> None:
    """ntpsec.service (and its alias ntp.service) under a manager whose bounding set lacks
    CAP_SYS_TIME, as in a container: skipped by ConditionCapability=, `start` exits 0, and
    the unit stays inactive (dead), as under systemd 252 on the oracle."""
    require("ntpsec")
    if shutil.which("setpriv") is None:
        pytest.skip("util-linux setpriv is not installed")
    d = Iso(tmp_path / "ns", isolated=True, args=["--tmpfiles=yes"])
    d.daemon_command = ["setpriv", "--bounding-set", "-sys_time", *d.daemon_command]
    with d:
        for name in ("ntpsec", "ntp"):
            r = d.cli("start", name)
            assert r.returncode == 0, r.stdout + r.stderr
        assert d.state("ntpsec") == "inactive/dead"
        assert not d.namespace_processes()
        skipped = (
            "ntpsec.service - Network Time Service was skipped because of an unmet condition "
            "check (ConditionCapability=CAP_SYS_TIME)."
        )
        assert d.journal("-u", "ntpsec").count(skipped) == 2
        text = d.cli("status", "ntpsec").stdout
        assert "Condition: start condition failed at" in text, text
