"""Suite-wide guards: no test may leak process-global state into the next one."""

from __future__ import annotations

import locale
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# CI must be reproducible: the same examples on every run (a property failure found by
# chance in CI would otherwise block a landing that did not cause it). Local runs keep
# hypothesis' random exploration.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _restore_locale() -> Iterator[None]:
    """Some tests switch LC_CTYPE (ps/pstree escaping depends on it); put it back after.

    A leaked "C" locale makes every later `subprocess.run(text=True)` decode as ASCII.
    """
    saved = locale.setlocale(locale.LC_CTYPE)
    yield
    if locale.setlocale(locale.LC_CTYPE) != saved:
        locale.setlocale(locale.LC_CTYPE, saved)
