"""Path conditions are read as systemd 252's config_parse_unit_condition_path() reads them:
path_simplify_and_warn(PATH_CHECK_ABSOLUTE) keeps the simplified path, which `status` then
shows (sssd.service's `ConditionDirectoryNotEmpty=|/etc/sssd/conf.d/` is listed as
`/etc/sssd/conf.d` on the oracle), and ignores a relative, too long or `..` path."""

from __future__ import annotations

from tests.core.unitbuild import messages, unit_from_text


def _conditions(body: str) -> list[tuple[str, str, bool, bool]]:
    unit = unit_from_text("t.service", f"[Unit]\n{body}[Service]\nExecStart=/bin/true\n")
    return [(c.kind, c.value, c.trigger, c.negate) for c in unit.unit.conditions]


def test_sssd_conditions_keep_the_simplified_path() -> None:
    body = (
        "ConditionPathExists=|/etc/sssd/sssd.conf\n"
        "ConditionDirectoryNotEmpty=|/etc/sssd/conf.d/\n"
        "ConditionPathIsDirectory=!//run/./x//\n"
    )
    assert _conditions(body) == [
        ("PathExists", "/etc/sssd/sssd.conf", True, False),
        ("DirectoryNotEmpty", "/etc/sssd/conf.d", True, False),
        ("PathIsDirectory", "/run/x", False, True),
    ]


def test_a_glob_is_simplified_but_kept_as_a_pattern() -> None:
    body = "ConditionPathExistsGlob=/var/lib/clamav//main.{c[vl]d,inc}\n"
    assert _conditions(body) == [
        ("PathExistsGlob", "/var/lib/clamav/main.{c[vl]d,inc}", False, False)
    ]


def test_unusable_paths_are_ignored_with_252s_messages() -> None:
    long = "/" + "a" * 256
    unit = unit_from_text(
        "t.service",
        "[Unit]\n"
        "ConditionPathExists=etc/x\n"
        "ConditionPathExists=/etc/../x/\n"
        f"AssertPathExists={long}\n"
        "ConditionPathExists=/ok/\n"
        "[Service]\nExecStart=/bin/true\n",
    )
    assert [c.value for c in unit.unit.conditions] == ["/ok"]
    assert unit.unit.asserts == []
    assert messages(unit) == [
        "2: ConditionPathExists= path is not absolute, ignoring: etc/x",
        "3: ConditionPathExists= path is not normalized, ignoring: /etc/../x",
        "4: AssertPathExists= path has invalid length (257 bytes), ignoring.",
    ]


def test_string_conditions_are_not_paths() -> None:
    assert _conditions("ConditionHost=a//b/\n") == [("Host", "a//b/", False, False)]
