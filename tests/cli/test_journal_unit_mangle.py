"""`pidone journal -u NAME`: the name is mangled as journalctl mangles it."""

from __future__ import annotations

import pytest

from pidone.cli.journal import UsageError, parse_args


@pytest.mark.parametrize(
    ("arg", "unit"),
    [
        ("nginx", "nginx.service"),
        # a dot that is not a unit type suffix: Debian's php8.2-fpm.service
        ("php8.2-fpm", "php8.2-fpm.service"),
        ("postgresql@15-main", "postgresql@15-main.service"),
        ("nginx.service", "nginx.service"),
        ("ssh.socket", "ssh.socket"),
        ("php*", "php*"),  # globs are kept as they are
    ],
)
def test_unit_argument_is_mangled_like_journalctl(arg: str, unit: str) -> None:
    assert parse_args(["-u", arg]).units == [unit]


def test_unmangleable_unit_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="Failed to mangle unit name"):
        parse_args(["-u", ""])
