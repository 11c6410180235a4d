"""is_valid_unit_name() and mangle_unit_name() against systemd 252's own functions.

libsystemd-shared exports unit_name_is_valid() and unit_name_mangle_with_suffix(); a child
Python process calls them through ctypes (a failed C assert cannot take the test run down).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from pidone.core.errors import InvalidUnitName
from pidone.core.unitname import is_valid_unit_name, mangle_unit_name

LIBRARY = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"
PLAIN, TEMPLATE, INSTANCE = 1, 2, 4

_CHILD = r"""
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
lib.unit_name_is_valid.restype = ctypes.c_bool
lib.unit_name_is_valid.argtypes = [ctypes.c_char_p, ctypes.c_int]
lib.unit_name_mangle_with_suffix.restype = ctypes.c_int
lib.unit_name_mangle_with_suffix.argtypes = [
    ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
    ctypes.POINTER(ctypes.c_char_p)]
out = []
for name in json.load(sys.stdin):
    raw = name.encode("utf-8", "surrogateescape")
    valid = [bool(lib.unit_name_is_valid(raw, f)) for f in (1, 2, 4, 7)]
    ret = ctypes.c_char_p()
    r = lib.unit_name_mangle_with_suffix(raw, b"", 0, b".service", ctypes.byref(ret))
    mangled = ret.value.decode("utf-8", "surrogateescape") if r >= 0 and ret.value else None
    out.append([valid, mangled])
json.dump(out, sys.stdout)
"""


def systemd_answers(names: list[str]) -> list[list[object]]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, LIBRARY],
        input=json.dumps(names),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(proc.stdout)


CHARS = [*"abcXY09:-_.\\@/ *?[]!%é", "\x01"]
SUFFIXES = ["", ".service", ".socket", ".target", ".mount", ".bogus", ".", "@.service", "@x.timer"]


def generated_names(count: int, seed: int = 252) -> list[str]:
    """Random short names from the interesting characters (deterministic)."""
    rng = random.Random(seed)
    out = ["a" * 247 + ".service", "a" * 248 + ".service", "-.mount", "@a.service", "a@b@c.path"]
    while len(out) < count:
        stem = "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 10)))
        name = stem + rng.choice(SUFFIXES)
        if name:
            out.append(name)
    return out


@pytest.mark.differential
def test_validity_and_mangling_match_systemd():
    if not os.path.exists(LIBRARY):
        pytest.skip("libsystemd-shared-252 is not installed")
    batch = generated_names(4000)
    for name, (valid, mangled) in zip(batch, systemd_answers(batch), strict=True):
        ours = [
            is_valid_unit_name(name, plain=True, instance=False, template=False),
            is_valid_unit_name(name, plain=False, instance=False, template=True),
            is_valid_unit_name(name, plain=False, instance=True, template=False),
            is_valid_unit_name(name),
        ]
        assert ours == valid, name
        if name.startswith("/"):
            continue  # systemd makes .mount/.device names from paths; pidone refuses them
        try:
            got: str | None = mangle_unit_name(name).name
        except InvalidUnitName:
            got = None
        assert got == mangled, name
