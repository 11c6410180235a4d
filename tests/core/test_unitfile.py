"""The lexer: spec 01 §2 line rules, positions, and robustness on arbitrary bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pidone.core.unitfile import LONG_LINE_MAX, parse_unit_file

SERVICE = frozenset({"Unit", "Service", "Install"})


def lex(text: str | bytes, sections: frozenset[str] | None = SERVICE):
    data = text.encode() if isinstance(text, str) else text
    return parse_unit_file(data, "/u/t.service", sections)


def pairs(unit):
    return [(a.section, a.key, a.value, a.line) for a in unit.assignments]


def test_sections_keys_values_and_positions():
    unit = lex("[Unit]\nDescription=Foo\n\n[Service]\nType = oneshot\nExecStart=/bin/true\n")
    assert pairs(unit) == [
        ("Unit", "Description", "Foo", 2),
        ("Service", "Type", "oneshot", 5),
        ("Service", "ExecStart", "/bin/true", 6),
    ]
    assert unit.sections == ("Unit", "Service")
    assert unit.diagnostics == ()
    assert not unit.fatal


def test_no_inline_comments_pitfall_1():
    unit = lex("[Unit]\nDescription=Foo # bar ; baz\n")
    assert unit.get("Unit", "Description") == ["Foo # bar ; baz"]


def test_comment_lines_hash_and_semicolon_with_leading_blanks():
    unit = lex("[Unit]\n# c\n  ; c\n\t#c\nDescription=x\n")
    assert pairs(unit) == [("Unit", "Description", "x", 5)]


def test_continuation_skips_comment_lines_and_keeps_leading_blanks():
    text = "[Unit]\nDocumentation=man:foo(1) \\\n# ignored comment\n  https://example.com\n"
    unit = lex(text)
    assert unit.get("Unit", "Documentation") == ["man:foo(1)    https://example.com"]
    # The position of a continued line is its last physical line, as systemd reports it.
    assert unit.assignments[0].line == 4


def test_even_backslashes_do_not_continue():
    unit = lex("[Service]\nExecStart=/bin/echo a\\\\\nType=oneshot\n")
    assert unit.get("Service", "ExecStart") == ["/bin/echo a\\\\"]
    assert unit.get("Service", "Type") == ["oneshot"]


def test_empty_line_ends_a_continuation():
    unit = lex("[Service]\nExecStart=/bin/echo a \\\n\nType=oneshot\n")
    assert unit.get("Service", "ExecStart") == ["/bin/echo a"]
    assert unit.get("Service", "Type") == ["oneshot"]


def test_dangling_continuation_at_end_of_file_is_parsed():
    unit = lex("[Service]\nExecStart=/bin/echo a \\")
    assert unit.get("Service", "ExecStart") == ["/bin/echo a"]


def test_repeated_keys_are_kept_in_order():
    unit = lex("[Service]\nExecStartPre=/a\nExecStartPre=\nExecStartPre=/b\n")
    assert unit.get("Service", "ExecStartPre") == ["/a", "", "/b"]


def test_case_sensitive_sections_and_unknown_section_warning():
    unit = lex("[service]\nExecStart=/x\n[X-Mine]\nA=b\n[Service]\nExecStart=/y\n")
    assert pairs(unit) == [("Service", "ExecStart", "/y", 6)]
    assert [str(d) for d in unit.diagnostics] == [
        "/u/t.service:1: Unknown section 'service'. Ignoring."
    ]


def test_assignment_outside_section_and_missing_equals():
    unit = lex("Foo=bar\n[Unit]\nnoequals\n=value\n")
    assert [str(d) for d in unit.diagnostics] == [
        "/u/t.service:1: Assignment outside of section. Ignoring.",
        "/u/t.service:3: Missing '=', ignoring line.",
        "/u/t.service:4: Missing key name before '=', ignoring line.",
    ]
    assert unit.assignments == ()


def test_invalid_section_header_makes_the_file_fatal():
    unit = lex("[Unit\nDescription=x\n")
    assert unit.fatal
    assert str(unit.diagnostics[-1]) == "/u/t.service:1: Invalid section header '[Unit'"


def test_cr_nul_and_crlf_end_lines_like_read_line():
    unit = lex(b"[Unit]\r\nDescription=a\rDocumentation=b\x00After=c\n")
    assert pairs(unit) == [
        ("Unit", "Description", "a", 2),
        ("Unit", "Documentation", "b", 3),
        ("Unit", "After", "c", 4),
    ]


def test_bom_is_skipped():
    unit = lex(b"\xef\xbb\xbf[Unit]\nDescription=x\n")
    assert unit.get("Unit", "Description") == ["x"]


def test_line_over_one_mebibyte_is_fatal_and_names_the_line():
    unit = lex(b"[Unit]\nDescription=" + b"x" * LONG_LINE_MAX + b"\n")
    assert unit.fatal
    assert str(unit.diagnostics[-1]) == "/u/t.service:2: Line too long"


def test_invalid_utf8_survives_as_surrogates():
    unit = lex(b"[Unit]\nDescription=caf\xe9\n")
    value = unit.get("Unit", "Description")[0]
    assert value.encode("utf-8", "surrogateescape") == b"caf\xe9"


def test_no_known_sections_means_every_section_is_kept():
    unit = lex("[Whatever]\nA=b\n", sections=None)
    assert pairs(unit) == [("Whatever", "A", "b", 2)]


@given(st.binary(max_size=2000))
def test_lexer_never_raises_on_arbitrary_bytes(data: bytes):
    unit = parse_unit_file(data, "/fuzz.service", SERVICE)
    for a in unit.assignments:
        assert a.key == a.key.strip()
        assert "=" not in a.key
        assert a.section in SERVICE


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Description", "After", "ExecStart", "X-Y"]),
            st.text(
                alphabet=st.characters(blacklist_characters="\r\n\x00\\", codec="utf-8"),
                max_size=40,
            ),
        ),
        max_size=20,
    )
)
def test_assignments_round_trip_through_text(items: list[tuple[str, str]]):
    text = "[Unit]\n" + "".join(f"{k}={v}\n" for k, v in items)
    unit = lex(text)
    expected = [(k, v.strip(" \t")) for k, v in items]
    assert [(a.key, a.value) for a in unit.assignments] == expected
