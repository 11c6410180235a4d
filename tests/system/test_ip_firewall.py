"""IPAddressAllow=/IPAddressDeny= on real sockets: each unit of tests/data/oracle/ipfw-units/
sends a UDP datagram and opens a TCP connection to 127.0.0.1 and ::1 (nothing listens),
and its journal must say what real systemd 252 let it do (capture-ipfirewall-252.md): a
denied datagram fails with EPERM, a denied connect times out (the SYN is dropped, and TCP
retries it), an allowed one is refused by the loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pidone.linux import bpffirewall
from pidone.linux.sandbox import still_not_enforced
from tests.cli.oraclecap import capture_of
from tests.core.unitbuild import unit_from_text
from tests.system.conftest import Factory

pytestmark = pytest.mark.system

UNITS_DIR = Path(__file__).parents[1] / "data" / "oracle" / "ipfw-units"
CAPTURE = "capture-ipfirewall-252.md"
UNITS = sorted(p.name for p in UNITS_DIR.glob("*.service"))


def _unit_text(name: str) -> str:
    probe = str(UNITS_DIR / "ipfw-probe.py")
    return (UNITS_DIR / name).read_text().replace("/usr/local/lib/ipfw-probe.py", probe)


@pytest.mark.parametrize("name", UNITS)
def test_packets_pass_or_drop_as_under_252(pidone_ns: Factory, name: str) -> None:
    if not bpffirewall.available():
        pytest.skip("this process may not load BPF cgroup socket-buffer programs")
    d = pidone_ns({name: _unit_text(name)}, isolated=True)  # (own network namespace)
    assert d.cli("start", name).returncode == 0
    got = [line for line in d.journal("-u", name, "-o", "cat").splitlines() if "=" in line]
    want = capture_of(CAPTURE, f"journalctl -u {name} -o cat --no-pager").stdout
    assert got == [line for line in want.splitlines() if "=" in line]
    assert "Not enforced" not in d.journal("-u", name)


def test_without_a_cgroup_the_unit_says_so(pidone_ns: Factory) -> None:
    name = "ipfw-deny-any.service"
    d = pidone_ns({name: _unit_text(name)}, isolated=True, no_cgroups=True)
    assert d.cli("start", name).returncode == 0
    log = d.journal("-u", name, "-o", "cat")
    assert f"{name}: IPAddressAllow=/IPAddressDeny= not enforced: no cgroup" in log
    assert "127.0.0.1 udp=sent" in log  # unrestricted, as the warning says


def test_enforced_for_services_not_for_socket_units() -> None:
    if not bpffirewall.available():
        pytest.skip("this process may not load BPF cgroup socket-buffer programs")
    service = unit_from_text("a.service", "[Service]\nIPAddressDeny=any\nExecStart=/bin/true\n")
    socket = unit_from_text("a.socket", "[Socket]\nListenStream=9\nIPAddressDeny=any\n")
    assert [n.key for n in service.not_enforced] == ["IPAddressDeny"]
    assert still_not_enforced(service.not_enforced) == []
    assert [n.key for n in still_not_enforced(socket.not_enforced)] == ["IPAddressDeny"]
