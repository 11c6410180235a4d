"""More packaged Debian services (issue #4's held-back set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged units in an isolated namespace (PID, mount and network; a tmpfs on
/run mounted as systemd mounts it: `iso` of test_debian_system_services), with
`--tmpfiles=yes` (a container's init that owns its /run). What each one exercises that no
other test does:

- watchdog: watchdog.service's ExecStopPost= fails on purpose (`[ $run_wd_keepalive != 1 ]
  || false`), so a restart ends the unit `failed` in its stop half; OnFailure= then starts
  wd_keepalive.service, which Conflicts= with watchdog.service: its stop job replaces the
  restart's start job and `restart` reports "Job for watchdog.service canceled." (exit 1),
  as systemd 252 does (oracle). wd_keepalive.service is static; watchdog.service names it,
  so, as in 252 (unit_gc_sweep()), its status keeps its last run (core.unittable rule 6).
- tinysshd: tinysshd.socket (ListenStream=22, Accept=yes) with a `-` ExecStartPre= that
  makes the host keys and StandardInput=socket; each connection gets its own
  `tinysshd@N-LOCAL-REMOTE.service`, whose exit 111 on a dropped connection is
  SuccessExitStatus=: "Deactivated successfully".
- tgt: Type=notify with STATUS=, three ExecStartPost= and four ExecStop= lines (tgtadm and
  tgt-admin talking to tgtd's control socket), an ExecReload= that is not a signal.

Downloads (bookworm, --no-install-recommends): watchdog about 0.1 MB, tinysshd about
0.1 MB, tgt about 0.3 MB (with libconfig-general-perl, libibverbs1, librdmacm1).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.test_debian_system_services import (
    Iso,
    banner,
    iso,
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
    return functools.partial(iso, args=["--tmpfiles=yes"])


def test_watchdog_failed_stop_post_triggers_wd_keepalive(owner: Callable[[], Iso]) -> None:
    """watchdog.service: a restart whose stop half fails starts wd_keepalive (OnFailure=),
    which conflicts with watchdog and cancels the restart's start job."""
    require("watchdog")
    d = owner()
    info = start(d, "watchdog")
    status_lists(d, "watchdog", "watchdog")
    assert info["main_comm"] == "watchdog"
    r = d.cli("restart", "watchdog")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Job for watchdog.service canceled." in r.stderr
    journal = d.journal()
    for line in (
        "watchdog.service: Control process exited, code=exited, status=1/FAILURE",
        "watchdog.service: Failed with result 'exit-code'.",
        "watchdog.service: Triggering OnFailure= dependencies.",
        "Starting wd_keepalive.service - watchdog keepalive daemon...",
    ):
        assert line in journal, journal
    d.wait_for(lambda: not d.namespace_processes(), what="watchdog and wd_keepalive to exit")
    assert d.state("watchdog") == "failed/failed"  # Debian's systemctl cannot reset it here
    # static, but named by watchdog.service: 252 keeps it loaded with its last run
    text = d.cli("status", "wd_keepalive").stdout
    assert "Active: inactive (dead) since " in text, text
    assert re.search(r"Process: \d+ ExecStart=/usr/sbin/wd_keepalive ", text), text
    r = d.cli("stop", "watchdog")
    assert r.returncode == 0, r.stdout + r.stderr


def test_tinysshd_socket_one_instance_per_connection(owner: Callable[[], Iso]) -> None:
    """tinysshd.socket: Accept=yes on port 22; each connection's instance makes the keys
    (`-` ExecStartPre=) and answers with its banner; a dropped connection's exit 111 is
    SuccessExitStatus=."""
    require("tinysshd")
    d = owner()
    r = d.cli("start", "tinysshd.socket")
    assert r.returncode == 0, r.stdout + r.stderr
    assert banner(d, 22).startswith("SSH-2.0-tinyssh"), d.journal()
    pattern = r"Started (tinysshd@\d+-127\.0\.0\.1:22-127\.0\.0\.1:\d+\.service)"
    d.wait_for(lambda: re.search(pattern, d.journal()) is not None, what="the instance")
    instance = re.findall(pattern, d.journal())[0]
    d.wait_for(
        lambda: f"{instance}: Deactivated successfully." in d.journal(),
        what=f"{instance} to end",
    )
    assert f"{instance}: Failed" not in d.journal()
    text = d.cli("status", "tinysshd.socket").stdout
    assert "Active: active (listening)" in text, text
    assert "Listen: [::]:22 (Stream)" in text, text
    assert re.search(r"\n   Accepted: 1; Connected: 0;\n", text), text
    r = d.cli("restart", "tinysshd.socket")
    assert r.returncode == 0, r.stdout + r.stderr
    assert banner(d, 22).startswith("SSH-2.0-tinyssh")
    stop_all_gone(d, "tinysshd.socket")
    assert banner(d, 22).startswith("error:")  # nobody listens any more


def test_tgt_notify_with_post_and_stop_commands(owner: Callable[[], Iso]) -> None:
    """tgt.service: Type=notify with STATUS=, ExecStartPost= and ExecStop= lines that talk
    to tgtd; its ExecReload= runs tgt-admin and keeps the main PID."""
    require("tgt")
    d = owner()
    info = start(d, "tgt")
    text = status_lists(d, "tgt", "tgtd")
    assert 'Status: "' in text, text
    posts = re.findall(
        r"Process: \d+ ExecStartPost=(\S+) .*\(code=exited, status=0/SUCCESS\)", text
    )
    assert posts == ["/usr/sbin/tgtadm", "/usr/sbin/tgt-admin", "/usr/sbin/tgtadm"], text
    shown = d.inside("tgtadm", "--op", "show", "--mode", "sys").stdout
    assert "State: ready" in shown, shown
    r = d.cli("reload", "tgt")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.status("tgt")["main_pid"] == info["main_pid"]
    restart_new_main(d, "tgt")
    assert "State: ready" in d.inside("tgtadm", "--op", "show", "--mode", "sys").stdout
    stop_all_gone(d, "tgt")
    journal = d.journal("-u", "tgt")
    assert "tgt.service: Deactivated successfully." in journal, journal
