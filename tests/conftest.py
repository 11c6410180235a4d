"""Suite-wide guards: no test may leak process-global state into the next one."""

from __future__ import annotations

import locale
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_locale() -> Iterator[None]:
    """Some tests switch LC_CTYPE (ps/pstree escaping depends on it); put it back after.

    A leaked "C" locale makes every later `subprocess.run(text=True)` decode as ASCII.
    """
    saved = locale.setlocale(locale.LC_CTYPE)
    yield
    if locale.setlocale(locale.LC_CTYPE) != saved:
        locale.setlocale(locale.LC_CTYPE, saved)
