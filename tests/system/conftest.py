"""Fixtures for the system tier: a daemon as PID 1 of a fresh PID namespace."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pidone.testing.harness import NamespaceDaemon

Factory = Callable[..., NamespaceDaemon]


@pytest.fixture
def pidone_ns(tmp_path: Path) -> Iterator[Factory]:
    """`pidone_ns(units={...}, args=[...])` starts a namespace daemon; all are killed after."""
    if os.geteuid() != 0:
        pytest.skip("the system tier needs root (PID namespaces, cgroups, User=nobody)")
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        pytest.skip("util-linux unshare/nsenter are not installed")
    started: list[NamespaceDaemon] = []

    def make(units: dict[str, str] | None = None, **kwargs: object) -> NamespaceDaemon:
        workdir = tmp_path / f"ns{len(started)}"
        d = NamespaceDaemon(workdir, units, **kwargs)  # type: ignore[arg-type]
        started.append(d)
        return d.__enter__()

    try:
        yield make
    finally:
        for d in started:
            d.close()
