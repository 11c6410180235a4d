"""More packaged Debian services (issue #4's held-back set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged units in an isolated namespace (PID, mount and network; a tmpfs on
/run: `iso` of test_debian_system_services). What each one exercises that no other test does:

- approx: approx.socket (ListenStream=9999, Accept=yes) and approx@.service with
  StandardInput=socket and no StandardOutput=: the output inherits the connection
  (systemd.exec(5), StandardOutput=: with StandardInput=socket "this setting defaults to
  inherit"), so the HTTP reply of the per-connection `approx` goes back to the client; one
  `approx@N-LOCAL-REMOTE.service` per connection, as User=approx.
- arpwatch: the instance unit arpwatch@.service (`%i` in ExecStartPre= and ExecStart=, an
  EnvironmentFile= and a `-`-prefixed one named by `%i`), Type=forking without PIDFile= (the
  main PID guessed), `${PCAP_FILTER}` unset: one empty argument (systemd.service(5): "${FOO}"
  as a word of its own: "always resulting in exactly a single argument"),
  PartOf=arpwatch.service: stopping the oneshot arpwatch.service stops the instance.

Downloads (bookworm, --no-install-recommends): approx about 1.5 MB (its other dependencies,
curl, bzip2, xz-utils and rsyslog, are usually there), arpwatch about 0.05 MB.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.test_debian_system_services import (
    Iso,
    iso,
    no_reload,
    restart_new_main,
    start,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso"]  # the fixture, imported so that pytest finds it here

# One HTTP/1.0 request to 127.0.0.1:PORT; prints the status line and the Server: header.
_HTTP = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=15)\n"
    "    s.sendall(b'GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n')\n"
    "    data = b''\n"
    "    while True:\n"
    "        chunk = s.recv(65536)\n"
    "        if not chunk:\n"
    "            break\n"
    "        data += chunk\n"
    "    head = data.split(b'\\r\\n\\r\\n', 1)[0].decode('latin-1').split('\\r\\n')\n"
    "    print(head[0], *[h for h in head if h.lower().startswith('server:')], sep='|')\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def http(d: Iso, port: int) -> str:
    return d.py(_HTTP, str(port))


def test_approx_accept_yes_answers_through_its_socket(iso: Callable[[], Iso]) -> None:
    """approx.socket (Accept=yes on port 9999): each connection starts its own approx@
    instance, whose standard output is the connection."""
    require("approx")
    d = iso()
    r = d.cli("start", "approx.socket")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("approx.socket") == "active/listening"
    reply = http(d, 9999)
    assert reply.startswith("HTTP/1.1 200 OK|Server: approx/"), reply
    journal = d.journal()
    started = re.findall(
        r"Started (approx@\d+-127\.0\.0\.1:9999-127\.0\.0\.1:\d+\.service)", journal
    )
    assert started, journal
    assert f"{started[0]}: Deactivated successfully." in journal
    text = d.cli("status", "approx.socket").stdout
    assert "Active: active (listening)" in text, text
    assert "Listen: [::]:9999 (Stream)" in text, text
    assert re.search(r"\n   Accepted: 1; Connected: [01];\n", text), text
    r = d.cli("reload", "approx.socket")  # a socket has no reload (socket_vtable: no .reload)
    assert r.returncode != 0
    assert "not applicable" in r.stderr + r.stdout
    r = d.cli("restart", "approx.socket")
    assert r.returncode == 0, r.stdout + r.stderr
    assert http(d, 9999).startswith("HTTP/1.1 200 OK|"), journal
    stop_all_gone(d, "approx.socket")
    assert http(d, 9999).startswith("error:")  # nobody listens any more


def _cmdline(d: Iso, nspid: int) -> list[str]:
    with open(f"/proc/{d.host_pid(nspid)}/cmdline", "rb") as f:
        return f.read().decode().split("\0")[:-1]


def test_arpwatch_instance_forking_without_pidfile_and_partof(iso: Callable[[], Iso]) -> None:
    """arpwatch@lo.service: `%i`, EnvironmentFile=, Type=forking with a guessed main PID,
    an unset ${PCAP_FILTER} as one empty argument; PartOf=arpwatch.service."""
    require("arpwatch")
    d = iso()
    info = start(d, "arpwatch@lo")
    main = int(info["main_pid"])
    # RUNAS=arpwatch and ARGS="-N -p" from /etc/default/arpwatch; -F then an empty word
    assert _cmdline(d, main) == [
        "/usr/sbin/arpwatch", "-u", "arpwatch", "-i", "lo", "-f", "lo.dat", "-N", "-p", "-F", "",
    ]  # fmt: skip
    text = status_lists(d, "arpwatch@lo", "arpwatch")
    assert "ExecStartPre=/usr/bin/touch -a lo.dat (code=exited, status=0/SUCCESS)" in text, text
    no_reload(d, "arpwatch@lo")
    restart_new_main(d, "arpwatch@lo")
    r = d.cli("start", "arpwatch.service")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("arpwatch.service") == "active/exited"
    # PartOf=: the stop of arpwatch.service is propagated to the instance
    r = d.cli("stop", "arpwatch.service")
    assert r.returncode == 0, r.stdout + r.stderr
    d.wait_state("arpwatch@lo.service", "inactive/dead")
    d.wait_for(lambda: not d.namespace_processes(), what="arpwatch to exit")
    start(d, "arpwatch@lo")
    stop_all_gone(d, "arpwatch@lo")
