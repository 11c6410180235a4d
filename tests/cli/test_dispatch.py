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
