"""Routing and VPN daemons of Debian (issue #4's held-back set), started unchanged by pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged unit in an isolated namespace (PID, mount and network; a tmpfs on
/run) whose PID 1 is started with `--tmpfiles=yes`, as a container's init would be: it then
owns /run and stands in for systemd there (/run/systemd/system, the name `systemd` in
/proc/1/stat, journald's native socket; daemon/boot.py). What each one exercises:

- frr: Type=forking with PIDFile=, whose ExecReload= (`frrinit.sh reload`) replaces the main
  process (watchfrr): systemd 252 reads PIDFile= again after a successful reload, and the
  old watchfrr's STOPPING=1 (NotifyAccess=all) waits for the end of the reload.
- keepalived: Type=notify that sends READY=1 only under a PID 1 named systemd.
- strongswan (charon-systemd): Type=notify, ExecStartPost=, two ExecReload= lines, and a
  daemon that logs only through sd_journal_send(3).

Downloads (bookworm, --no-install-recommends): frr and frr-pythontools about 4.5 MB with
libyang2, keepalived 0.6 MB, charon-systemd with its libraries about 1.2 MB.
"""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.test_debian_system_services import (
    Iso,
    iso,
    reload_keeps_main,
    restart_new_main,
    start,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso"]  # the fixture, imported so that pytest finds it here


@pytest.fixture
def owner(iso: Callable[..., Iso]) -> Callable[[], Iso]:
    """`owner()` starts an isolated daemon as the owner of its /run (after require())."""
    if shutil.which("ip") is None:
        pytest.skip("ip is not installed")
    # network-online.target pulls NetworkManager-wait-online.service where network-manager
    # is installed; with no udev in the namespace NetworkManager never completes its
    # start-up, and nm-online holds every Wants=network-online.target unit for its 60 s, as
    # it would under systemd without udev.
    return functools.partial(
        iso, args=["--tmpfiles=yes"], masked=["NetworkManager-wait-online.service"]
    )


def veth(d: Iso, address: str) -> None:
    """A veth pair in the namespace (v0 with `address`, v1), both up: an interface that is
    not loopback, which VRRP needs."""
    for argv in (
        ("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"),
        ("ip", "addr", "add", address, "dev", "v0"),
        ("ip", "link", "set", "v0", "up"),
        ("ip", "link", "set", "v1", "up"),
    ):
        r = d.inside(*argv)
        if r.returncode != 0:
            pytest.skip(f"{' '.join(argv)}: {r.stderr.strip()} (no veth in this kernel)")


def vtysh(d: Iso, command: str) -> str:
    """An answer of the daemons through their vty sockets in /run/frr."""
    r = d.inside("vtysh", "-c", command)
    return r.stdout + r.stderr


def test_frr_reload_replaces_watchfrr(owner: Callable[[], Iso]) -> None:
    require("frr", "frr-pythontools")
    d = owner()
    info = start(d, "frr")
    status_lists(d, "frr", "watchfrr")
    assert d.read("/run/frr/watchfrr.pid").strip() == str(info["main_pid"])
    assert "FRRouting" in vtysh(d, "show version")
    zebra = [p for p, _s, name in d.namespace_processes() if name == "zebra"]
    r = d.cli("reload", "frr")
    assert r.returncode == 0, r.stdout + r.stderr + d.cli("status", "frr").stdout
    after = d.wait_state("frr.service", "active/running")
    assert after["main_pid"] != info["main_pid"]  # the new watchfrr, from the PID file
    assert d.read("/run/frr/watchfrr.pid").strip() == str(after["main_pid"])
    # the reload restarts only watchfrr: zebra keeps running and answering
    assert [p for p, _s, name in d.namespace_processes() if name == "zebra"] == zebra
    assert "FRRouting" in vtysh(d, "show version")
    status_lists(d, "frr", "watchfrr")
    restart_new_main(d, "frr")
    stop_all_gone(d, "frr")
    assert not d.exists("/run/frr/watchfrr.pid")
    assert "Reloaded frr.service" in d.journal("-u", "frr")


def test_keepalived_vrrp_master(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """keepalived.service: ConditionFileNotEmpty= (the package ships no keepalived.conf, so
    it is skipped as in systemd), then with a configuration: Type=notify, HUP reload."""
    require("keepalived")
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        "global_defs {\n  router_id pidone\n}\n"
        "vrrp_instance VI_1 {\n  state MASTER\n  interface v0\n  virtual_router_id 51\n"
        "  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.77.0.10/32\n  }\n}\n"
    )
    d = owner()
    if not d.exists("/etc/keepalived/keepalived.conf"):
        r = d.cli("start", "keepalived")
        assert r.returncode == 0, r.stdout + r.stderr
        assert d.state("keepalived") == "inactive/dead"
        assert "unmet condition check (ConditionFileNotEmpty=" in d.journal("-u", "keepalived")
    veth(d, "10.77.0.1/24")
    dropin = d.unit_dir / "keepalived.service.d"
    dropin.mkdir()
    (dropin / "conf.conf").write_text(
        f"[Unit]\nConditionFileNotEmpty=\nConditionFileNotEmpty={conf}\n"
        f"[Service]\nExecStart=\nExecStart=/usr/sbin/keepalived --dont-fork -f {conf} "
        "$DAEMON_ARGS\n"
    )
    assert d.cli("daemon-reload").returncode == 0
    start(d, "keepalived")  # READY=1 came: keepalived saw "1 (systemd) " in /proc/1/stat
    status_lists(d, "keepalived", "keepalived")

    def vip() -> bool:
        return "10.77.0.10/32" in d.inside("ip", "-4", "addr", "show", "v0").stdout

    d.wait_for(vip, what="the virtual address on v0 (VRRP master)")
    reload_keeps_main(d, "keepalived")
    restart_new_main(d, "keepalived")
    d.wait_for(vip, what="the virtual address after the restart")
    stop_all_gone(d, "keepalived")
    d.wait_for(lambda: not vip(), what="the virtual address to go")


def test_strongswan_charon_systemd(owner: Callable[[], Iso]) -> None:
    require("charon-systemd", "strongswan-swanctl")
    d = owner()
    start(d, "strongswan")
    text = status_lists(d, "strongswan", "charon-systemd")
    assert re.search(r"Status: \"charon-systemd running", text), text
    assert re.search(r"ExecStartPost=/usr/sbin/swanctl --load-all .*status=0/SUCCESS", text)
    assert "IKE_SAs: 0 total" in d.inside("swanctl", "--stats").stdout  # over its VICI socket
    # charon-systemd logs only to the native journal socket (sd_journal_send(3))
    d.wait_for(
        lambda: "worker threads" in d.journal("-u", "strongswan", "-o", "cat"),
        what="charon's own lines in the journal",
    )
    reload_keeps_main(d, "strongswan")  # swanctl --reload, then swanctl --load-all
    restart_new_main(d, "strongswan")
    assert "IKE_SAs: 0 total" in d.inside("swanctl", "--stats").stdout
    stop_all_gone(d, "strongswan")
