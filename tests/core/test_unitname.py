"""Unit names (spec 01 §1): validity, parts, templates, and systemctl's argument mangling."""

from __future__ import annotations

import pytest

from pidone.core.errors import InvalidUnitName
from pidone.core.unitname import (
    UNIT_TYPES,
    is_valid_instance,
    is_valid_unit_name,
    mangle_unit_name,
    parse_unit_name,
    prefix_of,
    replace_instance,
    template_of,
)


@pytest.mark.parametrize(
    "name",
    [
        "foo.service",
        "a.target",
        "foo-bar_baz:1.2.socket",
        "foo@.service",
        "foo@bar.service",
        "foo@bar@baz.service",
        "t-spec@foo\\x2dbar-baz\\x20qux.service",
        "dev-sda1.device",
        "-.mount",
        "-.slice",
        "a" * 247 + ".service",  # 255 bytes
    ],
)
def test_valid_names(name):
    assert is_valid_unit_name(name)
    assert parse_unit_name(name).name == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("foo", "suffix"),
        ("foo.bar", "unknown unit type"),
        (".service", "suffix"),
        ("@foo.service", "prefix"),
        ("@.service", "prefix"),
        ("foo bar.service", "character"),
        ("foo/bar.service", "character"),
        ("föö.service", "character"),
        ("a" * 248 + ".service", "255"),  # 256 bytes
        ("foo.Service", "unknown unit type"),
    ],
)
def test_invalid_names_say_why(name, reason):
    assert not is_valid_unit_name(name)
    with pytest.raises(InvalidUnitName, match=reason):
        parse_unit_name(name)


def test_parts_plain_template_instance():
    plain = parse_unit_name("foo-bar.service")
    assert (plain.prefix, plain.instance, plain.type) == ("foo-bar", None, "service")
    assert not plain.is_template
    assert not plain.is_instance
    assert plain.template is None
    tpl = parse_unit_name("getty@.service")
    assert tpl.is_template
    assert not tpl.is_instance
    assert tpl.template == "getty@.service"
    inst = parse_unit_name("getty@tty1.service")
    assert inst.is_instance
    assert inst.instance == "tty1"
    assert inst.template == "getty@.service"
    assert inst.with_instance("tty2") == "getty@tty2.service"
    # %i is the text between the FIRST "@" and the suffix
    multi = parse_unit_name("a@b@c.socket")
    assert (multi.prefix, multi.instance) == ("a", "b@c")


def test_flags_select_kinds():
    assert is_valid_unit_name("a.service", instance=False, template=False)
    assert not is_valid_unit_name("a@.service", template=False)
    assert is_valid_unit_name("a@.service", plain=False, instance=False)
    assert not is_valid_unit_name("a@b.service", instance=False)


def test_helpers():
    assert template_of("foo@bar.service") == "foo@.service"
    assert template_of("foo.service") is None
    assert replace_instance("foo@.service", "x") == "foo@x.service"
    assert prefix_of("foo-bar@x.service") == "foo-bar"
    assert prefix_of("foo.bar.service") == "foo.bar"
    assert is_valid_instance("tty1")
    assert not is_valid_instance("")
    assert not is_valid_instance("a b")
    assert set(UNIT_TYPES) >= {"service", "socket", "target", "timer", "path", "mount"}


@pytest.mark.parametrize(
    ("arg", "name", "notices"),
    [
        ("foo", "foo.service", ()),
        ("foo.socket", "foo.socket", ()),
        ("foo.bar", "foo.bar.service", ()),
        (
            "a b",
            "a\\x20b.service",
            (
                'Invalid unit name "a b" escaped as "a\\x20b"'
                " (maybe you should use systemd-escape?).",
            ),
        ),
        (
            "foo*",
            "foo\\x2a.service",
            (
                "Glob pattern passed to check, but globs are not supported for this.",
                'Invalid unit name "foo*" escaped as "foo\\x2a".',
            ),
        ),
    ],
)
def test_mangle_like_systemctl(arg, name, notices):
    mangled = mangle_unit_name(arg, operation="to check")
    assert mangled.name == name
    assert mangled.notices == notices


def test_mangle_keeps_globs_when_allowed():
    assert mangle_unit_name("foo*", allow_globs=True).name == "foo*"


def test_mangle_rejects_empty():
    with pytest.raises(InvalidUnitName):
        mangle_unit_name("")
