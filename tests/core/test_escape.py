"""systemd-escape equivalents: golden examples, round-trips, and systemd 252 differentials."""

from __future__ import annotations

import contextlib
import random
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidone.core.errors import ValueParseError
from pidone.core.escape import (
    escape_path,
    escape_string,
    template_instance,
    unescape_path,
    unescape_string,
)
from tests.core import systemd_oracle as oracle

# --- golden examples (spec 01 §1.1, verified with systemd-escape 252) -----------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("foo-bar/baz qux", "foo\\x2dbar-baz\\x20qux"),
        ("", ""),
        (".hidden", "\\x2ehidden"),
        ("a.b", "a.b"),
        ("/", "-"),
        ("a:b_c.d", "a:b_c.d"),
        ("back\\slash", "back\\x5cslash"),
        ("é", "\\xc3\\xa9"),  # each UTF-8 byte
        ("\udcff\x01", "\\xff\\x01"),  # a non-UTF-8 byte, carried by surrogateescape
        ("@", "\\x40"),
    ],
)
def test_escape_string(text, escaped):
    assert escape_string(text) == escaped


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        ("/dev/sda1", "dev-sda1"),
        ("/foo//bar/baz/", "foo-bar-baz"),
        ("/", "-"),
        ("", "-"),
        ("///", "-"),
        ("/./a/.", "a"),
        ("/.dotdir", "\\x2edotdir"),
        ("a/b", "a-b"),  # relative: systemd-escape warns but escapes
        ("/foo-bar", "foo\\x2dbar"),
    ],
)
def test_escape_path(path, escaped):
    assert escape_path(path) == escaped


@pytest.mark.parametrize("path", ["/a/../b", "..", "/x/" + "y" * 256])
def test_escape_path_refuses_unnormalized(path):
    with pytest.raises(ValueParseError):
        escape_path(path)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("foo\\x2dbar-baz", "foo-bar/baz"),
        ("foo\\x2Dbar", "foo-bar"),  # uppercase hex is accepted
        ("a\\x00b", "a"),  # the result is a C string
        ("", ""),
        ("\\xc3\\xa9", "é"),
    ],
)
def test_unescape_string(text, plain):
    assert unescape_string(text) == plain


@pytest.mark.parametrize("text", ["a\\x2", "a\\y00", "a\\", "a\\xzz", "\\X41"])
def test_unescape_string_invalid(text):
    with pytest.raises(ValueParseError):
        unescape_string(text)


@pytest.mark.parametrize(
    ("text", "path"), [("dev-sda1", "/dev/sda1"), ("-", "/"), ("foo\\x2dbar", "/foo-bar")]
)
def test_unescape_path(text, path):
    assert unescape_path(text) == path


@pytest.mark.parametrize("text", ["", "a-", "-a", "a--b", "a-.-b", "a-..", "\\x2f"])
def test_unescape_path_invalid(text):
    with pytest.raises(ValueParseError):
        unescape_path(text)


def test_template_instance():
    assert template_instance("foo@.service", "a b") == "foo@a\\x20b.service"
    assert template_instance("foo@.service", "/dev/sda", path=True) == "foo@dev-sda.service"
    assert template_instance("getty@.service", "tty1") == "getty@tty1.service"


@pytest.mark.parametrize(
    ("template", "text"),
    [("foo.service", "x"), ("foo@bar.service", "x"), ("foo@.nope", "x"), ("foo@.service", ""),
     ("foo@.service", "a" * 250)],
)  # fmt: skip
def test_template_instance_invalid(template, text):
    with pytest.raises(ValueParseError):
        template_instance(template, text)


# --- properties -----------------------------------------------------------------------------

_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")
    | st.sampled_from(["\udc80", "\udcff", "-", "/", ".", "\\", "x"])
)


@given(_TEXT)
def test_escape_round_trip(text):
    escaped = escape_string(text)
    assert escaped.isascii()
    assert unescape_string(escaped) == text


@given(
    st.lists(
        st.text(
            st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), min_size=1
        ),
        min_size=1,
    )
)
def test_escape_path_round_trip(parts):
    parts = [
        p
        for p in parts
        if p not in (".", "..") and len(p.encode("utf-8", "surrogateescape")) <= 255
    ]
    if not parts:
        return
    path = "/" + "/".join(parts)
    assert unescape_path(escape_path(path)) == path


@given(_TEXT)
def test_unescape_raises_only_value_errors(text):
    for fn in (unescape_string, unescape_path, escape_path):
        with contextlib.suppress(ValueParseError):
            fn(text)


# --- differential ---------------------------------------------------------------------------

_ALPHABET = ["a", "Z", "0", "-", "/", ".", "\\", " ", ":", "_", "@", "é", "\udcff", "x", "%",
             "\t", "'"]  # fmt: skip
_UNESC_ALPHABET = ["a", "-", "\\x2d", "\\x2f", "\\x", "\\", "x", "2", "f", "F", ".", "\\x2e",
                   "\\xc3\\xa9", "\\xff", "g", "\\x00"]  # fmt: skip


def _strings(rng: random.Random, alphabet: list[str], count: int, longest: int) -> list[str]:
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest)))
            for _ in range(count)]  # fmt: skip


def _run_escape(args: list[str]) -> tuple[int, str]:
    proc = oracle.run_tool(["systemd-escape", *args])
    return proc.returncode, proc.stdout.rstrip("\n")


def _ok(fn, text):  # type: ignore[no-untyped-def]
    try:
        return fn(text)
    except ValueParseError:
        return None


needs_tool = pytest.mark.skipif(
    shutil.which("systemd-escape") is None, reason="systemd-escape is not installed"
)


@pytest.mark.differential
@needs_tool
@pytest.mark.parametrize(
    ("options", "fn", "alphabet"),
    [
        ([], escape_string, _ALPHABET),
        (["--path"], escape_path, _ALPHABET),
        (["-u"], unescape_string, _UNESC_ALPHABET),
        (["-u", "--path"], unescape_path, _UNESC_ALPHABET),
        (["--template=foo@.service"], lambda t: template_instance("foo@.service", t), _ALPHABET),
        (["--template=a-b@.socket", "--path"],
         lambda t: template_instance("a-b@.socket", t, path=True), _ALPHABET),
    ],
)  # fmt: skip
def test_against_systemd_escape(options, fn, alphabet):
    rng = random.Random(" ".join(options))
    inputs = _strings(rng, alphabet, 300, 12)
    inputs = [t for t in inputs if not t.startswith("-")]  # would read as an option
    good = [t for t in inputs if _ok(fn, t) is not None]
    bad = [t for t in inputs if _ok(fn, t) is None]
    rc, out = _run_escape([*options, "--", *good])
    assert rc == 0
    assert out == " ".join(fn(t) for t in good)
    for text in bad[:40]:
        assert _run_escape([*options, "--", text])[0] == 1, text


@pytest.mark.differential
@pytest.mark.skipif(not oracle.available(), reason=f"{oracle.LIBRARY} is not installed")
def test_against_libsystemd_unit_name_functions():
    rng = random.Random(42)
    plain = _strings(rng, _ALPHABET, 2000, 10)
    escaped = _strings(rng, _UNESC_ALPHABET, 2000, 8)
    cases = [
        ("unit_name_escape", escape_string, plain),
        ("unit_name_path_escape", escape_path, plain),
        ("unit_name_unescape", unescape_string, escaped),
        ("unit_name_path_unescape", unescape_path, escaped),
    ]
    for op, fn, inputs in cases:
        theirs = [None if v is None else oracle.dec(v)
                  for v in oracle.call(op, [oracle.enc(t) for t in inputs])]  # fmt: skip
        ours = [_ok(fn, t) for t in inputs]
        assert [(op, t, o, v) for t, o, v in zip(inputs, ours, theirs, strict=True) if o != v] == []
