"""Every value parser meets arbitrary text (lone surrogates included) with ValueParseError only."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from pidone.core import environ, escape, execline, specifiers, values
from pidone.core.errors import ValueParseError

# st.characters() leaves out surrogates; add the two kinds: bytes carried by
# surrogateescape (\udc80-\udcff) and ones no file can produce (\ud800).
ANY_TEXT = st.text(
    st.sampled_from(["\ud800", "\udc80", "\udfff", "a", "-", "/", "%", "\\", "@", "$", " ", '"'])
    | st.characters()
)
HOST = specifiers.SpecifierHost()
PARSERS = [
    values.parse_timespan,
    values.parse_boolean,
    values.parse_size,
    values.parse_mode,
    values.parse_signal,
    values.parse_exit_status_set,
    *[lambda t, k=key: values.parse_rlimit(k, t) for key in values.RLIMIT_KEYS],
    escape.escape_string,
    escape.escape_path,
    escape.unescape_string,
    escape.unescape_path,
    lambda t: escape.template_instance("a@.service", t),
    lambda t: specifiers.expand_specifiers(t, "a@b.service", HOST),
    lambda t: specifiers.expand_specifiers("%i%I%f%j%J%P%N", f"{t}@x.service", HOST),
    execline.parse_exec_line,
    execline.split_words,
    execline.split_words_relaxed,
    environ.parse_environment_assignments,
    lambda t: execline.expand_exec_argv([t, "$" + t, "${" + t + "}"], {t: t}),
]


@given(ANY_TEXT)
def test_only_value_parse_errors(text):
    for parser in PARSERS:
        with contextlib.suppress(ValueParseError):
            parser(text)


@given(st.binary())
def test_environment_file_only_value_parse_errors(data):
    with contextlib.suppress(ValueParseError):
        environ.parse_environment_file(data)
