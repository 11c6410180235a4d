"""Read the markdown captures of real systemd 252 (tests/data/oracle/capture-*-252.md).

Each capture is a ```console block: `$ COMMAND`, stdout lines, optional `[stderr]` + lines,
`[exit code: N]`. `normalize()` is examples/normalize.sed of the oracle, in Python.
"""

from __future__ import annotations

import functools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from pidone.core.statusview import ProcessEntry

DATA = Path(__file__).resolve().parent.parent / "data" / "oracle"


@dataclass(frozen=True)
class Capture:
    section: str
    command: str
    stdout: str
    stderr: str
    exit_code: int


@functools.cache
def read_captures(name: str) -> list[Capture]:
    text = (DATA / name).read_text(encoding="utf-8")
    out: list[Capture] = []
    section = ""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if line == "```console" and i + 1 < len(lines) and lines[i + 1].startswith("$ "):
            command = lines[i + 1][2:]
            i += 2
            stdout: list[str] = []
            stderr: list[str] = []
            target = stdout
            code = -1
            while i < len(lines) and lines[i] != "```":
                body = lines[i]
                m = re.fullmatch(r"\[exit code: (\d+)\]", body)
                if m:
                    code = int(m.group(1))
                elif body == "[stderr]":
                    target = stderr
                else:
                    target.append(body)
                i += 1
            out.append(
                Capture(
                    section,
                    command,
                    "".join(s + "\n" for s in stdout),
                    "".join(s + "\n" for s in stderr),
                    code,
                )
            )
        i += 1
    return out


def capture_of(name: str, command: str) -> Capture:
    """The first capture of `command` (exactly as typed) in the file `name`."""
    for cap in read_captures(name):
        if cap.command == command:
            return cap
    raise AssertionError(f"no capture of {command!r} in {name}")


_RULES = [
    (
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [0-9]{4}-[0-9]{2}-[0-9]{2} "
        r"[0-9]{2}:[0-9]{2}:[0-9]{2} [A-Z]+",
        "<TIME>",
        0,
    ),
    (r"; [0-9][0-9a-z ]*? (ago|left)$", r"; <AGO> \1", 0),
    (r"^[A-Z][a-z]{2} [ 0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [^ ]+ ", "<TS> <HOST> ", 1),
    (r"\[([2-9]|[1-9][0-9]+)\]:", "[<PID>]:", 0),
    (r"(Main PID|Process|Cntrl PID|Control PID): [0-9]+", r"\1: <PID>", 0),
    (r"([└├`|]-?─?)[0-9]+ ", r"\1<PID> ", 1),
    (r"^( +(CPU|Memory|Duration): ).*", r"\1<FIG>", 1),
    (r"\(limit: [0-9]+\)", "(limit: <LIMIT>)", 0),
]


def normalize(text: str) -> str:
    """Blank what differs between two runs: times, ages, PIDs, CPU/memory/duration."""
    out = []
    for line in text.split("\n"):
        for pattern, repl, count in _RULES:
            line = re.sub(pattern, repl, line, count=count)
        out.append(line)
    return "\n".join(out)


def status_processes(status_text: str) -> list[ProcessEntry]:
    """The CGroup tree's processes (own cgroup only), argv recovered by shell splitting."""
    procs = []
    in_tree = False
    for line in status_text.split("\n"):
        if line.startswith("     CGroup: "):
            in_tree = True
            continue
        if in_tree:
            m = re.match(r"^ {13}(?:├─|└─|\|-|`-) *([0-9]+) (.*)$", line)
            if not m:
                break
            procs.append(ProcessEntry(int(m.group(1)), tuple(shlex.split(m.group(2)))))
    return procs


def status_comms(status_text: str) -> tuple[str, str]:
    """(main comm, control comm) as printed on the Main PID / Cntrl PID line."""
    main = control = ""
    for line in status_text.split("\n"):
        m = re.match(r"^   Main PID: [0-9]+ \(([^=)]+)\)", line)
        if m:
            main = m.group(1)
        m = re.search(r"(?:Control PID|Cntrl PID): [0-9]+ \(([^)]+)\)", line)
        if m:
            control = m.group(1)
    return main, control


def journal_tail(status_text: str) -> list[str]:
    """The lines after the first blank line of a status block."""
    block = status_text.rstrip("\n").split("\n")
    if "" not in block:
        return []
    return block[block.index("") + 1 :]


def show_pairs(show_text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """KEY=VALUE lines -> (last value per key, [(key, value)] of the Exec* lines)."""
    props: dict[str, str] = {}
    execs: list[tuple[str, str]] = []
    for line in show_text.split("\n"):
        key, eq, value = line.partition("=")
        if not eq:
            continue
        if key.startswith("Exec") and value.startswith("{"):
            execs.append((key, value))
        else:
            props[key] = value
    return props, execs
