"""`pidone calendar` against `systemd-analyze calendar` on generated expressions."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from datetime import UTC

import pytest

from pidone.core.calendar import next_elapse, parse_calendar

BASE = "--base-time=2024-01-15 12:34:56 UTC"
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "monday", "FRIDAY"]


def _field(rng: random.Random, low: int, high: int, width: int) -> str:
    kind = rng.randrange(6)
    a = rng.randint(low, high)
    b = rng.randint(a, high)
    fmt = lambda v: str(v).zfill(rng.choice([1, width]))  # noqa: E731
    if kind == 0:
        return "*"
    if kind == 1:
        return fmt(a)
    if kind == 2:
        return f"{fmt(a)}..{fmt(b)}"
    if kind == 3:
        return f"{fmt(a)}/{rng.randint(1, max(1, high // 2))}"
    if kind == 4:
        return f"{fmt(a)}..{fmt(b)}/{rng.randint(1, 5)}"
    return ",".join(_field(rng, low, high, width) for _ in range(rng.randint(2, 3))).replace(
        "*", fmt(a)
    )


def generate(count: int, seed: int = 252) -> list[str]:
    rng = random.Random(seed)
    out = [
        "minutely",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "quarterly",
        "semiannually",
        "*/2:00",
        "Sat..Mon 1:00",
        "25:00",
        "2024-02-30",
        "*:*:*",
    ]
    while len(out) < count:
        parts = []
        if rng.random() < 0.3:
            a, b = sorted(rng.sample(range(7), 2))
            parts.append(
                rng.choice(
                    [WEEKDAYS[a], f"{WEEKDAYS[a]}..{WEEKDAYS[b]}", f"{WEEKDAYS[a]},{WEEKDAYS[b]}"]
                )
            )
        if rng.random() < 0.6:
            year = rng.choice(["*", "*", "2024", "2025..2027", "24"])
            sep = "~" if rng.random() < 0.1 else "-"
            day = _field(rng, 1, 28, 2) if sep == "-" else str(rng.randint(1, 7)).zfill(2)
            parts.append(f"{year}-{_field(rng, 1, 12, 2)}{sep}{day}")
        if rng.random() < 0.8 or not parts:
            time = f"{_field(rng, 0, 23, 2)}:{_field(rng, 0, 59, 2)}"
            if rng.random() < 0.5:
                time += f":{_field(rng, 0, 59, 2)}"
            parts.append(time)
        if rng.random() < 0.1:
            parts.append(rng.choice(["UTC", "Europe/Berlin", "America/New_York"]))
        out.append(" ".join(parts))
    return out


def _run(cmd: list[str], exprs: list[str]) -> tuple[list[str], list[str]]:
    env = dict(os.environ, TZ="UTC", LANG="C.UTF-8")
    proc = subprocess.run(
        [*cmd, "--iterations=5", BASE, *exprs], capture_output=True, text=True, env=env, timeout=120
    )
    keep = [line for line in proc.stdout.splitlines() if "From now" not in line]
    return keep, sorted(proc.stderr.splitlines())


@pytest.mark.differential
def test_normal_forms_and_next_elapses_match_systemd_analyze():
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    exprs = generate(400)
    theirs = _run([tool, "calendar"], exprs)
    ours = _run([sys.executable, "-m", "pidone", "calendar"], exprs)
    assert ours[1] == theirs[1]
    assert ours[0] == theirs[0]


def test_spec_examples_without_the_tool():

    base = 1705322096 * 1_000_000  # Mon 2024-01-15 12:34:56 UTC
    cases = {
        "daily": ("*-*-* 00:00:00", 1705363200),
        "*:0/15": ("*-*-* *:00/15:00", 1705322700),
        "Mon..Fri 9..17:00": ("Mon..Fri *-*-* 09..17:00:00", 1705323600),
        "*-*~01": ("*-*~01 00:00:00", 1706659200),
        "1..3,2,1/5:00": ("*-*-* 01/5,01..03,02:00:00", 1705334400),
    }
    for text, (normal, nxt) in cases.items():
        spec = parse_calendar(text)
        assert spec.format() == normal
        assert next_elapse(spec, base, UTC) == nxt * 1_000_000
    assert next_elapse(parse_calendar("2024-02-30"), base, UTC) is None
