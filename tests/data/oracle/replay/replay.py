#!/usr/bin/env python3
"""Replay a sd-oracle capture's commands through pidone, for count-diff.sh.

    .venv/bin/python tests/data/oracle/replay/replay.py packaged /tmp/p.md
    .venv/bin/python tests/data/oracle/replay/replay.py services /tmp/s.md
    .venv/bin/python tests/data/oracle/replay/replay.py lists /tmp/l.md

Each runs an isolated namespace daemon (pidone.testing.harness, the system's unit files,
--tmpfiles=yes) and writes the same markdown as capture-packaged-triggers.sh,
capture-socket-services.sh or capture-list-triggers.sh. Run from the repository root as
root; LANG=C.UTF-8 as the captures.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

from pidone.testing.harness import NamespaceDaemon

ORACLE = Path(__file__).resolve().parent.parent


def _words(script: str, name: str) -> list[str]:
    found = re.search(rf'^{name}="(.*?)"', (ORACLE / script).read_text(), re.S | re.M)
    assert found is not None, name
    return found.group(1).split()


class Replay:
    def __init__(self, d: NamespaceDaemon) -> None:
        self.d = d
        self.out: list[str] = []

    def cap(self, *argv: str) -> None:
        r = self.d.cli(*argv)
        self.out.append("```console\n$ systemctl " + " ".join(argv) + "\n")
        if r.stdout.rstrip("\n"):
            self.out.append(r.stdout.rstrip("\n") + "\n")
        if r.stderr.strip():
            self.out.append("[stderr]\n" + r.stderr.rstrip("\n") + "\n")
        self.out.append(f"[exit code: {r.returncode}]\n```\n\n")

    def head(self, text: str) -> None:
        self.out.append(text + "\n\n")


def packaged(r: Replay) -> None:
    units = _words("capture-packaged-triggers.sh", "UNITS")
    props = re.search(r"^P=(\S+)", (ORACLE / "capture-packaged-triggers.sh").read_text(), re.M)
    assert props is not None
    for u in units:
        r.head(f"## {u}")
        r.cap("start", u)
        r.cap("is-active", u)
        r.cap("status", u, "--no-pager", "-n", "5")
        r.cap("show", u, "-p", props.group(1))
    r.head("## Stopped")
    for u in units:
        r.head(f"### {u}")
        r.cap("stop", u)
        r.cap("status", u, "--no-pager", "-n", "5")


def services(r: Replay) -> None:
    for s in _words("capture-socket-services.sh", "SERVICES"):
        r.head(f"## {s}")
        r.cap("start", f"{s}.service")
        time.sleep(1)
        r.out.append("```console\n$ sleep 1\n[exit code: 0]\n```\n\n")
        r.cap("status", f"{s}.service", "--no-pager", "-n", "4")
        r.cap("status", f"{s}.socket", "--no-pager", "-n", "4")
        r.cap(
            "show", f"{s}.service", "-p", "ActiveState,SubState,Result,TriggeredBy,Requires,After"
        )
        r.cap("stop", f"{s}.service")
        r.cap("status", f"{s}.socket", "--no-pager", "-n", "4")
        r.cap("stop", f"{s}.socket")


def lists(r: Replay) -> None:
    timers = _words("capture-list-triggers.sh", "TIMERS")
    sockets = _words("capture-list-triggers.sh", "SOCKETS")
    r.cap("start", *timers, *sockets)
    r.cap("list-timers", "--no-pager", *timers)
    r.cap("list-sockets", "--no-pager", *sockets)
    r.cap("list-sockets", "--no-pager", "--show-types", *sockets)
    r.cap("stop", "logrotate.timer", "cups.socket")
    r.cap("list-timers", "--all", "--no-pager", *timers)
    r.cap("list-sockets", "--all", "--no-pager", *sockets)


def main(argv: list[str]) -> int:
    mode, target = argv
    os.environ["LANG"] = "C.UTF-8"
    workdir = Path(tempfile.mkdtemp(prefix="pidone-replay-"))
    with NamespaceDaemon(workdir / "d", {}, isolated=True, args=["--tmpfiles=yes"]) as d:
        r = Replay(d)
        {"packaged": packaged, "services": services, "lists": lists}[mode](r)
    Path(target).write_text("".join(r.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
