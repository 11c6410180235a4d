"""The verb table: every verb names a function that exists, and unknown verbs fail cleanly."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

from pidone.cli.main import VERBS


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_resolves_to_a_function_taking_argv(verb: str) -> None:
    module_name, _, function_name = VERBS[verb].partition(":")
    function = getattr(importlib.import_module(module_name), function_name, None)
    assert callable(function), f"{verb}: {VERBS[verb]} does not exist"
    parameters = list(inspect.signature(function).parameters)
    assert len(parameters) == 1, f"{verb}: {VERBS[verb]} must take exactly argv"


def test_unknown_verb_is_named_without_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pidone", "no-such-verb"], capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "no-such-verb" in done.stderr


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["ps", "aux"]])
def test_a_reader_that_went_away_is_not_an_error(args: list[str]) -> None:
    """`pidone list-jobs | head`: Python buffered the rest of stdout and printed
    "Exception ignored ... BrokenPipeError" at exit; now it exits 0 silently, as ps does.
    The pipe's read end is closed before pidone writes, so every write fails (EPIPE)."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pidone", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 0
