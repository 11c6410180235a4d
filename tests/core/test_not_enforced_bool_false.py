"""A not-enforced boolean option set to false asks for nothing, so it is not reported."""

from __future__ import annotations

from tests.core.unitbuild import unit_from_text


def keys(text: str, *dropins: str) -> list[str]:
    return [n.key for n in unit_from_text("x.service", text, *dropins).not_enforced]


def test_false_is_not_reported_true_is() -> None:
    # mariadb.service spells out PrivateNetwork=false and PrivateTmp=false
    text = (
        "[Service]\nExecStart=/bin/true\nPrivateNetwork=false\nPrivateTmp=no\n"
        "ProtectControlGroups=true\nProtectClock=off\n"
    )
    assert keys(text) == ["ProtectControlGroups"]


def test_a_later_false_overrides_an_earlier_true() -> None:
    text = "[Service]\nExecStart=/bin/true\nProtectKernelTunables=yes\nRestrictRealtime=yes\n"
    dropin = "[Service]\nProtectKernelTunables=0\n"
    assert keys(text, dropin) == ["RestrictRealtime"]
    # the last assignment wins: true again after a false
    assert keys(text + "ProtectKernelTunables=no\nProtectKernelTunables=on\n") == [
        "RestrictRealtime",
        "ProtectKernelTunables",
    ]
