"""Each service scenario as its own test (the scenarios assert systemd 252's behaviour)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pidone.core.service import ServiceMachine
from tests.core.service_scenarios import SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_scenario(scenario: Callable[[], list[ServiceMachine]]) -> None:
    machines = scenario()
    assert machines, "a scenario returns the machines it drove"
