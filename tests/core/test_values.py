"""Scalar values: golden tables from spec 01 §4, properties, and systemd 252 differentials."""

from __future__ import annotations

import contextlib
import random
import re
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidone.core.errors import ValueParseError
from pidone.core.values import (
    EXIT_STATUS_CLASSES,
    EXIT_STATUS_NAMES,
    RLIM_INFINITY,
    RLIMIT_KEYS,
    USEC_INFINITY,
    USEC_PER_SEC,
    ExitStatusSet,
    format_exit_status,
    format_timespan,
    parse_boolean,
    parse_exit_status_set,
    parse_mode,
    parse_rlimit,
    parse_signal,
    parse_size,
    parse_timespan,
    signal_name,
)
from tests.core import systemd_oracle as oracle

# --- booleans -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1", "yes", "y", "true", "t", "on", "Y", "YES", "True", "oN"])
def test_boolean_true(text):
    assert parse_boolean(text) is True


@pytest.mark.parametrize("text", ["0", "no", "n", "false", "f", "off", "N", "OFF", "False"])
def test_boolean_false(text):
    assert parse_boolean(text) is False


@pytest.mark.parametrize("text", ["", " yes", "yes ", "2", "enable", "ja", "nope", "\u0130"])
def test_boolean_invalid(text):
    with pytest.raises(ValueParseError):
        parse_boolean(text)


# --- time spans: spec 01 §4.2 golden table --------------------------------------------------

TIMESPAN_GOLDEN = [
    ("5s", 5_000_000, "5s"),
    ("5", 5_000_000, "5s"),
    (" 5s", 5_000_000, "5s"),
    ("5 sec", 5_000_000, "5s"),
    ("1min 30s", 90_000_000, "1min 30s"),
    ("1min30s", 90_000_000, "1min 30s"),
    ("90", 90_000_000, "1min 30s"),
    ("1h30", 3_630_000_000, "1h 30s"),  # pitfall 3: the bare 30 is seconds
    ("1.5h", 5_400_000_000, "1h 30min"),
    ("1.5", 1_500_000, "1.500000s"),
    ("10m", 600_000_000, "10min"),
    ("1M", 2_629_800_000_000, "1month"),
    ("infinity", USEC_INFINITY, "infinity"),
    (" infinity ", USEC_INFINITY, "infinity"),
    ("0", 0, "0"),
    ("2 h", 7_200_000_000, "2h"),
    ("1y 1w", 31_557_600_000_000 + 604_800_000_000, "1y 1w"),
    ("100ms", 100_000, "100ms"),
    ("1.5µs", 1, "1us"),
    ("1.5μs", 1, "1us"),
    (".5", 500_000, "500ms"),
    ("12.34 .56", 12_900_000, "12.900000s"),
    ("1s.5", 1_500_000, "1.500000s"),
    ("5s5", 10_000_000, "10s"),
    ("+5", 5_000_000, "5s"),
    ("\v5", 5_000_000, "5s"),  # strtoll() skips \v even though systemd's WHITESPACE does not
]


@pytest.mark.parametrize(("text", "usec", "human"), TIMESPAN_GOLDEN)
def test_timespan_golden(text, usec, human):
    assert parse_timespan(text) == usec
    assert format_timespan(usec) == human


@pytest.mark.parametrize(
    "text",
    ["5S", "1e3", "-1", "", "   ", "-0", "5x", "1.", "1.s", "3. 1", "12.34.56", "infinityx",
     "inf", "5secs", "5mins", "1 h h", "+.5", "0.-0", "18446744073709551615", "5 ns",
     "99999999999999999999"],
)  # fmt: skip
def test_timespan_invalid(text):
    with pytest.raises(ValueParseError):
        parse_timespan(text)


def test_timespan_default_unit():
    assert parse_timespan("10", default_unit=1) == 10
    assert parse_timespan("10 s", default_unit=1) == 10_000_000
    assert parse_timespan("1h30", default_unit=60 * USEC_PER_SEC) == 3600_000_000 + 1800_000_000


@pytest.mark.parametrize(
    ("usec", "accuracy", "human"),
    [
        (1, 1, "1us"),
        (1500, 1, "1.500ms"),
        (1_000_001, 1, "1.000001s"),
        (61_000_000, 1, "1min 1s"),
        (61_500_000, 1, "1min 1.500000s"),
        (1_500_000, USEC_PER_SEC, "1s"),
        (1_500_000, 1000, "1.500s"),
        (90_000_000, USEC_PER_SEC, "1min 30s"),
        (3_600_000_001, USEC_PER_SEC, "1h"),
    ],
)
def test_format_timespan(usec, accuracy, human):
    assert format_timespan(usec, accuracy) == human


# parse_time() refuses a group whose count reaches USEC_INFINITY / unit, so the text of
# values from 584542 years up does not parse back (systemd 252 behaves the same).
_ROUND_TRIP_MAX = (USEC_INFINITY // (31_557_600 * USEC_PER_SEC)) * 31_557_600 * USEC_PER_SEC - 1


@given(st.one_of(st.integers(0, _ROUND_TRIP_MAX), st.just(USEC_INFINITY)))
def test_format_parse_timespan_round_trip(usec):
    assert parse_timespan(format_timespan(usec)) == usec


def test_format_of_huge_values_does_not_parse_back():
    text = format_timespan(_ROUND_TRIP_MAX + 1)
    assert text == "584542y"
    with pytest.raises(ValueParseError):
        parse_timespan(text)


@given(st.text())
def test_timespan_parser_raises_only_value_errors(text):
    try:
        value = parse_timespan(text)
    except ValueParseError:
        return
    assert 0 <= value <= USEC_INFINITY


# --- sizes, rlimits, modes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "base", "value"),
    [
        ("0", 1024, 0),
        ("1K", 1024, 1024),
        ("1K", 1000, 1000),
        ("1.5K", 1024, 1536),
        ("1G 512M", 1024, 1536 * 1024 * 1024),
        ("10.M", 1024, 10 * 1024 * 1024),
        ("5 B", 1024, 5),
        ("1E", 1024, 1024**6),
        (" 7 ", 1024, 7),
    ],
)
def test_size(text, base, value):
    assert parse_size(text, base) == value


@pytest.mark.parametrize("text", ["", "K", "-1", "1k", "1M 1G", "1KiB", "16E", "1.5.K", "1 2 3"])
def test_size_invalid(text):
    with pytest.raises(ValueParseError):
        parse_size(text)


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("LimitNOFILE", "1024", (1024, 1024)),
        ("LimitNOFILE", "1024:4096", (1024, 4096)),
        ("LimitNOFILE", "infinity", (RLIM_INFINITY, RLIM_INFINITY)),
        ("LimitNOFILE", "0x10", (16, 16)),
        ("LimitNOFILE", "010", (8, 8)),  # safe_atou64() is base 0: a leading 0 is octal
        ("LimitCORE", "1G:infinity", (1024**3, RLIM_INFINITY)),
        ("LimitCPU", "1.5", (2, 2)),  # rounded up to whole seconds
        ("LimitCPU", "2min", (120, 120)),
        ("LimitRTTIME", "100", (100, 100)),  # bare numbers are microseconds
        ("LimitRTTIME", "1s", (1_000_000, 1_000_000)),
        ("LimitNICE", "-5", (25, 25)),
        ("LimitNICE", "+19", (1, 1)),
        ("LimitNICE", "-20", (40, 40)),
        ("LimitNICE", "+0", (20, 20)),
        ("LimitNICE", "0", (0, 0)),
        ("LimitNICE", "40", (40, 40)),
    ],
)
def test_rlimit(key, text, expected):
    assert parse_rlimit(key, text) == expected


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("LimitNOFILE", "4096:1024"),
        ("LimitNOFILE", "1:2:3"),
        ("LimitNOFILE", "5:"),
        ("LimitNOFILE", ":5"),
        ("LimitNOFILE", "1K"),
        ("LimitNOFILE", ""),
        ("LimitNICE", "+20"),
        ("LimitNICE", "-21"),
        ("LimitNICE", "41"),
        ("LimitCORE", "Infinity"),
        ("LimitBOGUS", "1"),
    ],
)
def test_rlimit_invalid(key, text):
    with pytest.raises(ValueParseError):
        parse_rlimit(key, text)


@pytest.mark.parametrize(("text", "mode"), [("0022", 0o22), ("755", 0o755), ("07777", 0o7777)])
def test_mode(text, mode):
    assert parse_mode(text) == mode


@pytest.mark.parametrize("text", ["", "8", "010000", "+755", "-1", "0x1ff", "u+x"])
def test_mode_invalid(text):
    with pytest.raises(ValueParseError):
        parse_mode(text)


# --- signals and exit statuses --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [("SIGTERM", 15), ("TERM", 15), ("15", 15), ("KILL", 9), ("SIGRTMIN", 34),
     ("RTMIN+2", 36), ("SIGRTMAX-1", 63), ("RTMAX", 64), ("32", 32), ("0x9", 9), ("IO", 29)],
)  # fmt: skip
def test_parse_signal(text, number):
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["", "0", "65", "term", "SIGPOLL", "RTMIN+31", "RTMAX+1", "SIG"])
def test_parse_signal_invalid(text):
    with pytest.raises(ValueParseError):
        parse_signal(text)


def test_signal_name():
    assert [signal_name(n) for n in (15, 1, 31, 32, 34, 64, 65)] == [
        "TERM", "HUP", "SYS", "32", "RTMIN+0", "RTMIN+30", "65",
    ]  # fmt: skip


def test_exit_status_format():
    assert format_exit_status(0) == "0/SUCCESS"
    assert format_exit_status(1) == "1/FAILURE"
    assert format_exit_status(203) == "203/EXEC"
    assert format_exit_status(255) == "255/EXCEPTION"
    assert format_exit_status(2) == "2"  # LSB and BSD codes are printed bare
    assert format_exit_status(75) == "75"
    assert format_exit_status(100) == "100"


def test_exit_status_set():
    parsed = parse_exit_status_set("1 2 SIGUSR1 TEMPFAIL KILL 0x10")
    assert parsed == ExitStatusSet(frozenset({1, 2, 75, 16}), frozenset({10, 9}))
    assert parsed.format() == "1 2 16 75 KILL USR1"
    assert ExitStatusSet().format() == ""


def test_exit_status_set_bad_words():
    warnings: list[str] = []
    parsed = parse_exit_status_set("1 256 EX_TEMPFAIL 3", warnings=warnings)
    assert parsed.statuses == {1, 3}
    assert warnings == [
        "Failed to parse value, ignoring: 256",
        "Failed to parse value, ignoring: EX_TEMPFAIL",
    ]
    with pytest.raises(ValueParseError, match="Failed to parse value, ignoring: bogus"):
        parse_exit_status_set("1 bogus")
    with pytest.raises(ValueParseError):
        parse_exit_status_set("1 2\\")


@given(st.text())
def test_other_parsers_raise_only_value_errors(text):
    for parser in (parse_boolean, parse_size, parse_mode, parse_signal, parse_exit_status_set):
        with contextlib.suppress(ValueParseError):
            parser(text)
    for key in RLIMIT_KEYS:
        with contextlib.suppress(ValueParseError):
            parse_rlimit(key, text)


# --- differential: systemd 252 itself -------------------------------------------------------

_UNITS = ["", "s", "sec", "ms", "us", "µs", "μs", "min", "m", "M", "h", "hr", "d", "w", "y",
          "month", "months", "minutes", "S", "x", "ns", "secs", "years", "usec", "msec",
          "e3"]  # fmt: skip
_NUMBERS = ["0", "1", "5", "30", "1.5", ".5", "1.", "007", "-1", "+2", "12.34", "", "999999999"]
_GLUE = ["", " ", "  ", "\t", "\n"]


def _timespan_inputs(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = ["infinity", " infinity", "infinity x", "1h30", "5S", "1e3", "-1"]
    while len(out) < count:
        groups = [
            rng.choice(_NUMBERS) + rng.choice(["", " "]) + rng.choice(_UNITS)
            for _ in range(rng.randint(1, 3))
        ]
        out.append(rng.choice(_GLUE) + rng.choice(_GLUE).join(groups) + rng.choice(["", " "]))
    return out


def _ours(text: str, default_unit: int = USEC_PER_SEC) -> int | None:
    try:
        return parse_timespan(text, default_unit)
    except ValueParseError:
        return None


def _analyze_timespan(args: list[str]) -> list[tuple[int, str]]:
    proc = oracle.run_tool(["systemd-analyze", "timespan", "--", *args])
    results = [
        (int(usec), human)
        for usec, human in re.findall(r"\n +μs: (\d+)\n +Human: ([^\n]*)\n", proc.stdout)
    ]
    assert proc.returncode == (0 if len(results) == len(args) else 1), proc.stderr
    return results


@pytest.mark.differential
def test_timespan_against_systemd_analyze():
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    inputs = _timespan_inputs(400, seed=252)
    valid = [t for t in inputs if _ours(t) is not None]
    invalid = [t for t in inputs if _ours(t) is None]
    assert len(valid) > 100  # the generator covers both sides
    assert len(invalid) > 50
    theirs = _analyze_timespan(valid)
    assert len(theirs) == len(valid), f"systemd refused {valid[len(theirs)]!r}"
    for text, (usec, human) in zip(valid, theirs, strict=True):
        assert (text, _ours(text), format_timespan(usec)) == (text, usec, human)
    for text in invalid[:60]:
        assert _analyze_timespan([text]) == [], f"systemd accepted {text!r}"


needs_library = pytest.mark.skipif(
    not oracle.available(), reason=f"{oracle.LIBRARY} (systemd 252) is not installed"
)


@pytest.mark.differential
@needs_library
def test_parse_time_against_libsystemd():
    inputs = [*_timespan_inputs(3000, seed=7), "\v5", "\f 5", " - 5", "1 .5", "5 s s", "584542y",
              "584541y 11month", "9223372036854775807us", "9223372036854775808us"]  # fmt: skip
    rng = random.Random(1)
    inputs += ["".join(rng.choice("0123456789 .+-smhun\t") for _ in range(rng.randint(0, 8)))
               for _ in range(2000)]  # fmt: skip
    for unit in (USEC_PER_SEC, 1):
        theirs = oracle.call("parse_time", [[oracle.enc(t), unit] for t in inputs])
        mismatches = [(t, _ours(t, unit), v) for t, v in zip(inputs, theirs, strict=True)
                      if _ours(t, unit) != v]  # fmt: skip
        assert mismatches == []


@pytest.mark.differential
@needs_library
def test_format_timespan_against_libsystemd():
    rng = random.Random(3)
    values = [0, 1, 999, 1000, 59_999_999, 60_000_000, USEC_INFINITY, USEC_INFINITY - 1]
    values += [rng.randrange(0, 10 ** rng.randint(1, 19)) for _ in range(1500)]
    accuracies = [0, 1, 1000, USEC_PER_SEC, 60 * USEC_PER_SEC, 7]
    items = [[v, a] for v in values for a in accuracies]
    theirs = oracle.call("format_timespan", items)
    ours = [format_timespan(v, a) for v, a in items]
    assert [(i, o) for i, o, t in zip(items, ours, theirs, strict=True) if o != t] == []


def _size_or_none(text: str, base: int) -> int | None:
    try:
        return parse_size(text, base)
    except ValueParseError:
        return None


@pytest.mark.differential
@needs_library
def test_parse_size_against_libsystemd():
    rng = random.Random(5)
    alphabet = "0123456789 .KMGTPEBk+-x\t"
    inputs = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))) for _ in range(3000)]
    inputs += ["1.5K", "1G 512M", "10.M", "16E", "15E", "1.99999999999999999999K", "\v-5"]
    for base in (1024, 1000):
        theirs = oracle.call("parse_size", [[oracle.enc(t), base] for t in inputs])
        ours = [_size_or_none(t, base) for t in inputs]
        assert [(t, o, v) for t, o, v in zip(inputs, ours, theirs, strict=True) if o != v] == []


def _rlimit_or_none(key: str, text: str) -> list[int] | None:
    try:
        return list(parse_rlimit(key, text))
    except ValueParseError:
        return None


@pytest.mark.differential
@needs_library
def test_rlimit_against_libsystemd():
    rng = random.Random(9)
    pieces = ["1", "0", "20", "40", "41", "-5", "+5", "+19", "-20", "-21", "+20", "1K", "1.5",
              "infinity", "0x10", "010", "1s", "2min", "", " 5", "5 ", "\\5", "1e3", "-0",
              "08"]  # fmt: skip
    texts = []
    for _ in range(600):
        text = rng.choice(pieces)
        if rng.random() < 0.6:
            text += ":" + rng.choice(pieces)
        if rng.random() < 0.05:
            text += ":" + rng.choice(pieces)
        texts.append(text)
    items = [[key, t] for key in RLIMIT_KEYS for t in texts]
    theirs = oracle.call("rlimit_parse", [[k, oracle.enc(t)] for k, t in items])
    ours = [_rlimit_or_none(k, t) for k, t in items]
    assert [(i, o, v) for i, o, v in zip(items, ours, theirs, strict=True) if o != v] == []


def _or_none(fn, text):  # type: ignore[no-untyped-def]
    try:
        return fn(text)
    except ValueParseError:
        return None


@pytest.mark.differential
@needs_library
def test_mode_boolean_signal_against_libsystemd():
    rng = random.Random(11)
    inputs = ["".join(rng.choice("0123456789+- xob\tSIGRTMAXIN") for _ in range(rng.randint(0, 7)))
              for _ in range(3000)]  # fmt: skip
    inputs += [f"SIG{n}" for n in ("TERM", "KILL", "POLL", "IOT", "CLD", "RTMIN+0", "RTMAX-30")]
    inputs += ["yes", "YES", "On", "tRuE", "0", "nO", "2", "RTMIN+30", "RTMIN+31", "RTMAX-31"]
    ours_mode = [_or_none(parse_mode, t) for t in inputs]
    assert oracle.call("parse_mode", [oracle.enc(t) for t in inputs]) == ours_mode
    ours_bool = [_or_none(lambda t: int(parse_boolean(t)), t) for t in inputs]
    assert oracle.call("parse_boolean", [oracle.enc(t) for t in inputs]) == ours_bool
    ours_sig = [_or_none(parse_signal, t) for t in inputs]
    assert oracle.call("signal_from_string", [oracle.enc(t) for t in inputs]) == ours_sig
    numbers = list(range(-1, 70))
    assert oracle.call("signal_to_string", numbers) == [signal_name(n) for n in numbers]


@pytest.mark.differential
@needs_library
def test_exit_status_words_against_libsystemd():
    words = [*EXIT_STATUS_NAMES.values(), "EX_OK", "EXIT_EXEC", "exec", "0x10", "010", "256",
             "-1", "255", " 7", "7 ", "+3", "SIGKILL"]  # fmt: skip
    theirs = oracle.call("exit_status_from_string", words)
    from pidone.core.exitstatus import parse_exit_status

    assert [_or_none(parse_exit_status, w) for w in words] == theirs


@pytest.mark.differential
@needs_library
def test_format_exit_status_against_libsystemd():
    codes = list(range(256))
    # exit_status_to_string() with EXIT_STATUS_LIBC|SYSTEMD (3, systemctl status) and all (15)
    for classes, all_classes in ((3, False), (15, True)):
        names = oracle.call("exit_status_to_string", [[c, classes] for c in codes])
        expected = [f"{c}/{n}" if n else str(c) for c, n in zip(codes, names, strict=True)]
        assert [format_exit_status(c, all_classes=all_classes) for c in codes] == expected


@pytest.mark.differential
@needs_library
def test_exit_status_set_against_config_parse_set_status():
    rng = random.Random(13)
    words = ["1", "2", "255", "256", "-1", "0x10", "010", "TEMPFAIL", "EX_TEMPFAIL", "SIGKILL",
             "KILL", "USR1", "RTMIN+3", "64", "65", "bogus", '"1"', "a\\ b", "\\9", "9\\",
             "", " ", "\t"]  # fmt: skip
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 5))) for _ in range(800)]
    for text, (rc, statuses, signals, logs) in zip(
        texts, oracle.call("config_parse_set_status", texts), strict=True
    ):
        warnings: list[str] = []
        ours = parse_exit_status_set(text, warnings=warnings)
        assert rc == 0
        assert (text, sorted(ours.statuses), sorted(ours.signals), warnings) == (
            text, statuses, signals, logs
        )  # fmt: skip


@pytest.mark.differential
def test_exit_status_table_against_systemd_analyze():
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    proc = oracle.run_tool(["systemd-analyze", "exit-status"])
    assert proc.returncode == 0
    out = proc.stdout
    rows = [line.split() for line in out.splitlines()[1:] if line.strip()]
    theirs = {int(code): (name, cls) for name, code, cls in rows}
    ours = {code: (name, EXIT_STATUS_CLASSES[code]) for code, name in EXIT_STATUS_NAMES.items()}
    assert ours == theirs
