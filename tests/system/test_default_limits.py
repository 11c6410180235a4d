"""Services get systemd 252's DefaultLimitNOFILE= (soft at most 1024, hard raised towards
512Ki) unless their unit sets LimitNOFILE=, and `show` prints the same defaults."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from pidone.linux.rlimits import service_nofile_default
from tests.system.conftest import Factory
from tests.system.scripts import oneshot

pytestmark = pytest.mark.system


def _limits_of(out: Path) -> tuple[int, int]:
    soft, hard = out.read_text().split()
    return int(soft), int(hard)


def test_a_service_gets_the_default_nofile_and_a_unit_setting_wins(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    plain, own = tmp_path / "plain", tmp_path / "own"
    limits = "echo $(ulimit -Sn) $(ulimit -Hn) > "
    d = pidone_ns(
        {
            "plain.service": oneshot(f"{limits}{plain}"),
            "own.service": oneshot(f"{limits}{own}", "LimitNOFILE=777\n"),
        }
    )
    assert d.cli("start", "plain").returncode == 0
    assert d.cli("start", "own").returncode == 0
    soft, hard = service_nofile_default()  # (this process's limits are the daemon's)
    ours = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    got_soft, got_hard = _limits_of(plain)
    assert got_soft == soft == min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 1024)
    # raised to the default where the daemon may raise it (CAP_SYS_RESOURCE), else kept
    # (setrlimit_closest), as systemd 252 does in a container without that capability
    assert got_hard in (hard, ours), (got_hard, hard, ours)
    assert _limits_of(own) == (777, 777)
    shown = d.cli("show", "-p", "LimitNOFILE,LimitNOFILESoft", "plain").stdout
    assert shown.split() == [f"LimitNOFILE={hard}", f"LimitNOFILESoft={soft}"]
