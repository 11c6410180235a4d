"""Exec lines, word splitting, $VAR expansion, Environment= and EnvironmentFile=."""

from __future__ import annotations

import contextlib
import os
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidone.core.errors import ValueParseError
from pidone.core.execline import (
    ExecCommand,
    ExecLineError,
    env_assignment_is_valid,
    expand_exec_argv,
    parse_environment_assignments,
    parse_environment_file,
    parse_exec_line,
    split_words,
    split_words_relaxed,
)
from pidone.core.specifiers import SpecifierError, SpecifierHost, expand_specifiers
from tests.core import systemd_oracle as oracle

# --- word splitting (spec 01 §5) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('a"b c"d', ["ab cd"]),
        ("'' \"\"", ["", ""]),
        ("\\\\;", ["\\;"]),
        ("\\\\\\\\", ["\\\\"]),
        ('"a\\tb"', ["a\tb"]),
        ("a\\x41b", ["aAb"]),
        ("a\\sb", ["a b"]),
        ("  one \t two\n", ["one", "two"]),
        ("'it''s' \"say \\\"hi\\\"\"", ["its", 'say "hi"']),
        ("\\101\\u00e9\\U0001F600", ["Aé😀"]),
        ("\\xff", ["\udcff"]),  # a raw byte, kept through surrogateescape
        ("\\ud800", ["\udced\udca0\udc80"]),  # \u is not checked for surrogates (systemd too)
        ("| > && $X", ["|", ">", "&&", "$X"]),
        ("", []),
    ],
)
def test_split_words(text, words):
    assert split_words(text) == words


@pytest.mark.parametrize(
    "text",
    ['"unbalanced', "a'b", "\\q", "tail\\", "\\x4", "\\x00", "\\000", "\\400", "\\U00110000",
     "\\;", "\\u0000"],
)  # fmt: skip
def test_split_words_invalid(text):
    with pytest.raises(ValueParseError):
        split_words(text)


def test_split_words_relaxed_keeps_unknown_escapes():
    assert split_words_relaxed("a\\qb c\\;d \\x00 end\\") == (
        ["a\\qb", "c\\;d", "\\x00", "end\\"],
        [
            'Ignoring unknown escape sequences: "a\\qb"',
            'Ignoring unknown escape sequences: "c\\;d"',
            'Ignoring unknown escape sequences: "\\x00"',
            'Ignoring unknown escape sequences: "end\\"',
        ],
    )
    with pytest.raises(ValueParseError, match="Unbalanced quoting"):
        split_words_relaxed('ok "a\\q')


def _quote(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


_WORD = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"))


@given(st.lists(_WORD))
def test_quoting_round_trip(words):
    assert split_words(" ".join(_quote(w) for w in words)) == words


@given(st.text())
def test_splitters_raise_only_value_errors(text):
    for fn in (split_words, split_words_relaxed, parse_exec_line, parse_environment_assignments):
        with contextlib.suppress(ValueParseError):
            fn(text)


# --- Exec lines (spec 02 §2) ----------------------------------------------------------------


def test_exec_line_basic():
    [cmd] = parse_exec_line("/bin/echo 'hello world' $X", "u.service", 7)
    assert cmd == ExecCommand(
        "/bin/echo", ("/bin/echo", "hello world", "$X"), source_path="u.service", source_line=7
    )


def test_exec_prefixes():
    [cmd] = parse_exec_line("@/bin/sh mysh -c 'echo $0'")
    assert (cmd.path, cmd.argv) == ("/bin/sh", ("mysh", "-c", "echo $0"))
    [cmd] = parse_exec_line(":-@+/bin/x argv0 y")
    assert (cmd.ignore_failure, cmd.no_env_expand, cmd.full_privileges, cmd.argv) == (
        True, True, True, ("argv0", "y"),
    )  # fmt: skip
    [cmd] = parse_exec_line("!/bin/x")
    assert (cmd.no_setuid, cmd.ambient_fallback) == (True, False)
    [cmd] = parse_exec_line("!!/bin/x")
    assert (cmd.no_setuid, cmd.ambient_fallback) == (False, True)
    [cmd] = parse_exec_line("bare-name arg")
    assert (cmd.path, cmd.argv) == ("bare-name", ("bare-name", "arg"))
    [cmd] = parse_exec_line("/usr//bin/./env")
    assert (cmd.path, cmd.argv[0]) == ("/usr/bin/env", "/usr//bin/./env")


def test_exec_separators():
    cmds = parse_exec_line("/bin/echo one ; /bin/echo two \\; three;four ;")
    assert [c.argv for c in cmds] == [
        ("/bin/echo", "one"),
        ("/bin/echo", "two", ";", "three;four"),
    ]
    assert [c.argv for c in parse_exec_line("; ; /bin/a ; ;")] == [("/bin/a",)]
    assert [c.argv for c in parse_exec_line('/bin/a "\\\\;" x')] == [("/bin/a", "\\;", "x")]
    assert parse_exec_line("") == []


@pytest.mark.parametrize(
    ("value", "message", "fatal", "kept"),
    [  # wording and fatality as `systemd-analyze verify` (252) reports them
        ("-./rel", "Neither a valid executable name nor an absolute path, ignoring: ./rel",
         False, 0),
        ("relative/path", "Neither a valid executable name nor an absolute path: relative/path",
         True, 0),
        ('-/bin/true "unbalanced', 'Unbalanced quoting, ignoring: "-/bin/true "unbalanced"', False,
         0),
        ('/bin/true "unbalanced', 'Unbalanced quoting, ignoring: "/bin/true "unbalanced"', True, 0),
        ('/bin/echo a ; "unb', 'Unbalanced quoting, ignoring: ""unb"', False, 1),
        ("/bin/a ; -@/bin/b", "Empty executable name or zeroeth argument, ignoring: -@/bin/b",
         False, 1),
        ("@/bin/echo", "Empty executable name or zeroeth argument: @/bin/echo", True, 0),
        ("--/bin/x", "Neither a valid executable name nor an absolute path, ignoring: -/bin/x",
         False, 0),
        ("/bin/ech\\x01o", "Executable name contains special characters: /bin/ech\x01o", True, 0),
        ("/bin/", "Executable path specifies a directory: /bin/", True, 0),
        ("-", "Empty path in command line, ignoring: '-'", False, 0),
        ("@", "Empty path in command line: '@'", True, 0),
        ("!!!/bin/x", "Neither a valid executable name nor an absolute path: !/bin/x", True, 0),
        ("+!/bin/x", "Neither a valid executable name nor an absolute path: !/bin/x", True, 0),
        ("/bin/a ; ./b", "Neither a valid executable name nor an absolute path: ./b", True, 1),
    ],
)  # fmt: skip
def test_exec_errors(value, message, fatal, kept):
    with pytest.raises(ExecLineError) as info:
        parse_exec_line(value)
    assert (str(info.value), info.value.fatal, len(info.value.commands)) == (message, fatal, kept)


def test_exec_unknown_escape_is_a_warning():
    warnings: list[str] = []
    [cmd] = parse_exec_line("/bin/x a\\qb", warnings=warnings)
    assert cmd.argv == ("/bin/x", "a\\qb")
    assert warnings == ['Ignoring unknown escape sequences: "a\\qb"']


def test_exec_specifiers_resolved_per_word():
    host = SpecifierHost()

    def expand(word: str) -> str:
        return expand_specifiers(word, "t@a\\x20b.service", host)

    [cmd] = parse_exec_line("/bin/echo %I '%i' %%", expand=expand)
    assert cmd.argv == ("/bin/echo", "a b", "a\\x20b", "%")  # %I with a space stays one word
    with pytest.raises(ExecLineError) as info:
        parse_exec_line("/bin/x %z", expand=expand)
    assert (str(info.value), info.value.fatal) == (
        "Failed to resolve unit specifiers in %z: Invalid slot", True
    )  # fmt: skip
    with pytest.raises(ExecLineError) as info:
        parse_exec_line("-/bin/x %z", expand=expand)
    assert (str(info.value), info.value.fatal) == (
        "Failed to resolve unit specifiers in %z, ignoring: Invalid slot", False
    )  # fmt: skip
    with pytest.raises(ExecLineError) as info:
        parse_exec_line("/nonexist/%z", expand=expand)
    assert str(info.value) == "Failed to resolve unit specifiers in '/nonexist/%z': Invalid slot"


def test_format_show():
    [cmd] = parse_exec_line("-/bin/sleep 1000")
    assert cmd.format_show() == (
        "{ path=/bin/sleep ; argv[]=/bin/sleep 1000 ; ignore_errors=yes ; start_time=[n/a] ; "
        "stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
    )
    assert cmd.format_show(ex=True, pid=801, code=1, status=0, start_time="Sun 2026-11-29") == (
        "{ path=/bin/sleep ; argv[]=/bin/sleep 1000 ; flags=ignore-failure ; "
        "start_time=[Sun 2026-11-29] ; stop_time=[n/a] ; pid=801 ; code=exited ; status=0 }"
    )
    assert "code=killed ; status=9/KILL" in cmd.format_show(code=2, status=9)


# --- exec-time $VAR expansion (spec 02 §2.3, pitfall 4) -------------------------------------

ENV = {"V": "val", "W": "two words", "ONE": "one", "TWO": "two two", "EMPTY": "", "Q": 'x"y'}


@pytest.mark.parametrize(
    ("word", "result"),
    [
        ("$ONE", ["one"]),
        ("$TWO", ["two", "two"]),
        ("${TWO}", ["two two"]),
        ("$EMPTY", []),
        ("$UNSET", []),
        ("${EMPTY}", [""]),
        ("${UNSET}", [""]),
        ("x${ONE}y", ["xoney"]),
        ("x$V", ["x$V"]),
        ("$V/x", []),
        ("$", []),
        ("$$", ["$"]),
        ("$$ONE", ["$ONE"]),
        ("$$$$", ["$$"]),
        ("${V:-dflt}", ["${V:-dflt}"]),
        ("${V", ["${V"]),
        ("$Q", ["xy"]),  # quotes inside the value are honoured then removed
        ("${Q}", ['x"y']),
        ("a$${ONE}", ["a${ONE}"]),
    ],
)
def test_expand_exec_argv(word, result):
    assert expand_exec_argv([word], ENV) == result


@given(st.lists(st.text()), st.dictionaries(st.text(), st.text()))
def test_expand_never_raises(argv, env):
    assert all(isinstance(w, str) for w in expand_exec_argv(argv, env))


def test_argv_for_exec_honours_colon_prefix():
    [plain] = parse_exec_line("/bin/echo $ONE $$")
    [colon] = parse_exec_line(":/bin/echo $ONE $$")
    assert plain.argv_for_exec(ENV) == ["/bin/echo", "one", "$"]
    assert colon.argv_for_exec(ENV) == ["/bin/echo", "$ONE", "$$"]


def test_expand_whole_argv():
    assert expand_exec_argv(["/bin/sh", "-c", "echo $ONE ${ONE} $$"], ENV) == [
        "/bin/sh", "-c", "echo $ONE one $",
    ]  # fmt: skip


# --- Environment= (spec 02 §4.1) ------------------------------------------------------------


def test_environment_assignments():
    warnings: list[str] = []
    value = "V=val \"W=two words\" ONE=one 'TWO=two two' EMPTY= 1D=2 V=again X=a=b"
    assert parse_environment_assignments(value, warnings=warnings) == [
        ("V", "again"), ("W", "two words"), ("ONE", "one"), ("TWO", "two two"), ("EMPTY", ""),
        ("X", "a=b"),
    ]  # fmt: skip
    assert warnings == ["Invalid environment assignment, ignoring: 1D=2"]


def test_environment_syntax_error_keeps_earlier_words():
    warnings: list[str] = []
    result = parse_environment_assignments("A=1 B=\\q C=3", warnings=warnings)
    assert result == [("A", "1")]
    assert warnings == ["Invalid syntax, ignoring: A=1 B=\\q C=3"]


def test_environment_specifiers_and_utf8():
    warnings: list[str] = []

    def expand(word: str) -> str:
        return expand_specifiers(word, "x.service", SpecifierHost())

    result = parse_environment_assignments("A=%z B=%n C=\\xff", expand=expand, warnings=warnings)
    assert result == [("B", "x.service")]
    assert warnings == [
        "Failed to resolve specifiers in A=%z, ignoring: Invalid slot",
        "Invalid environment assignment, ignoring: C=\udcff",
    ]


# --- EnvironmentFile= (spec 02 §4.2, pitfall 19) --------------------------------------------

ENV_FILE = b"""# comment
; also a comment
  B = spaced
A=plain value  \t
I=a#b # c
E=unq\\ with\\ esc\\\\n
F=multi\\
line
D='single $x \\n'
C="dq \\"x\\" $HOME \\\\n \\q"
G="dq
multi"
L=value "with" quotes
K=${A}
export H=x
1BAD=x
M.N=x
noequals
J=
A=second
"""


def test_environment_file_golden():
    pairs, warnings = parse_environment_file(ENV_FILE, "/etc/default/x")
    assert pairs == [
        ("B", "spaced"),
        ("A", "second"),
        ("I", "a#b # c"),
        ("E", "unq with esc\\n"),
        ("F", "multiline"),
        ("D", "single $x \\n"),
        ("C", 'dq "x" $HOME \\n \\q'),
        ("G", "dq\nmulti"),
        ("L", 'value "with" quotes'),
        ("K", "${A}"),
        ("J", ""),
    ]
    assert warnings == [
        "Ignoring invalid environment assignment 'export H=x': /etc/default/x",
        "Ignoring invalid environment assignment '1BAD=x': /etc/default/x",
        "Ignoring invalid environment assignment 'M.N=x': /etc/default/x",
    ]


def test_environment_file_edge_cases():
    assert parse_environment_file(b"A='x' y\nB=\"q\"  \n")[0] == [("A", "xy"), ("B", "q")]
    assert parse_environment_file(b"A=1\rB=2\r\n")[0] == [("A", "1"), ("B", "2")]
    assert parse_environment_file(b"A=unterminated 'quote")[0] == [("A", "unterminated 'quote")]
    assert parse_environment_file(b"A='open\n")[0] == [("A", "open\n")]
    assert parse_environment_file(b"#x\\\nA=1\nB=2")[0] == [("B", "2")]  # comments continue
    with pytest.raises(ValueParseError):
        parse_environment_file(b"A=\xff\n")


@given(st.binary())
def test_environment_file_raises_only_value_errors(data):
    with contextlib.suppress(ValueParseError):
        pairs, _ = parse_environment_file(data)
        assert all(env_assignment_is_valid(f"{k}={v}") for k, v in pairs)


# --- differential: libsystemd-shared 252 ----------------------------------------------------

needs_library = pytest.mark.skipif(
    not oracle.available(), reason=f"{oracle.LIBRARY} (systemd 252) is not installed"
)
_PIECES = ["a", "b", " ", "  ", "\t", "'", '"', "\\", "\\\\", "\\n", "\\x41", "\\xff", "\\x0",
           "\\101", "\\400", "\\u00e9", "\\U0001F600", "\\ud800", "\\q", "\\;", ";", "$", "é",
           "\\s", "x", "\\'", '\\"', "\\U00110000", "\\000"]  # fmt: skip


def _random_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 10))) for _ in range(count)]


def _or_none(fn, text):  # type: ignore[no-untyped-def]
    try:
        return fn(text)
    except ValueParseError:
        return None


@pytest.mark.differential
@needs_library
def test_split_words_against_extract_first_word():
    texts = _random_texts(1, 3000)
    strict = oracle.call("extract_words", [[oracle.enc(t), 34] for t in texts])
    relaxed = oracle.call("extract_words", [[oracle.enc(t), 38] for t in texts])
    for text, theirs, theirs_relaxed in zip(texts, strict, relaxed, strict=True):
        assert _or_none(split_words, text) == (
            None if theirs is None else [oracle.dec(w) for w in theirs]
        ), text
        ours_relaxed = _or_none(lambda t: split_words_relaxed(t)[0], text)
        assert ours_relaxed == (
            None if theirs_relaxed is None else [oracle.dec(w) for w in theirs_relaxed]
        ), text


@pytest.mark.differential
@needs_library
def test_expand_exec_argv_against_replace_env_argv():
    rng = random.Random(2)
    names = ["A", "B", "AB", "A=b", "EMPTY", "SP"]
    values = ["one", "two words", "", "  ", "x'y z'", 'q"x', "a\\ b", "$A", "${A}", "'unb", "\\"]
    word_pieces = ["$", "$$", "{", "}", "A", "B", ":", "-", "x", "/", "${A}", "${B}", "$A", "${"]
    cases = []
    for _ in range(1500):
        env = {"A": rng.choice(values), "AB": rng.choice(values), "EMPTY": "",
               "SP": rng.choice(values)}  # fmt: skip
        if rng.random() < 0.3:
            env["A=b"] = rng.choice(values)  # an entry only reachable through "$A=b"
        argv = ["".join(rng.choice(word_pieces) for _ in range(rng.randint(0, 5)))
                for _ in range(rng.randint(1, 4))]  # fmt: skip
        argv += ["$" + rng.choice(names)]
        cases.append((argv, env))
    theirs = oracle.call(
        "replace_env_argv",
        [[[oracle.enc(w) for w in argv], [oracle.enc(f"{k}={v}") for k, v in env.items()]]
         for argv, env in cases],
    )  # fmt: skip
    for (argv, env), result in zip(cases, theirs, strict=True):
        assert expand_exec_argv(argv, env) == [oracle.dec(w) for w in result], (argv, env)


@pytest.mark.differential
@needs_library
def test_environment_file_against_load_env_file():
    rng = random.Random(3)
    pieces = ["A", "B", "=", " ", "\t", "\n", "\r", "'", '"', "\\", "#", ";", "x", "$", "`",
              "export ", "1", ".", "\\\n", "é", "\udcff", "\0"]  # fmt: skip
    files = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))) for _ in range(1500)]
    files = [f for f in files if "\udcff" not in f] + files[:200]  # some invalid UTF-8 too
    theirs = oracle.call("load_env_file", [oracle.enc(f) for f in files])
    data = [f.encode("utf-8", "surrogateescape") for f in files]
    entries = [None if t is None else [oracle.dec(e) for e in t] for t in theirs]
    validity = oracle.call(
        "env_assignment_is_valid", [oracle.enc(e) for es in entries if es for e in es]
    )
    valid_iter = iter(validity)
    for raw, ents in zip(data, entries, strict=True):
        try:
            pairs, warnings = parse_environment_file(raw)
        except ValueParseError:
            assert ents is None, raw
            continue
        assert ents is not None, raw
        flags = [next(valid_iter) for _ in ents]
        assert [f"{k}={v}" for k, v in pairs] == [
            e for e, ok in zip(ents, flags, strict=True) if ok
        ], raw
        assert len(warnings) == flags.count(False), raw


# --- differential: systemd-analyze verify loads the same Exec lines -------------------------

_PREFIXES = ["", "", "-", "@", ":", "+", "!", "!!", "-@", "@-", "--", "+!", ":-", "!!!", "-!!"]
_EXES = ["/nonexist/a", "/nonexist/b", "/bin/true", "bare-x", "./rel", "rel/x", "/nonexist/",
         "/nonexist/a\\qb", '"/nonexist/q u"', "/nonexist//d/./e", "'", ";", "", "%n", "/x/%z",
         "/nonexist/\\x41"]  # fmt: skip
_ARGS = ["x", "'y z'", '"unb', "\\;", ";", "a\\;b", "\\q", "\\x41", "%%", "\\\\;", "$X", "''",
         "\\s", "%n", "%z", "argv0"]  # fmt: skip


def _random_exec_lines(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        commands = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            words = [rng.choice(_PREFIXES) + rng.choice(_EXES)]
            words += [rng.choice(_ARGS) for _ in range(rng.randint(0, 3))]
            commands.append(" ".join(words))
        lines.append(" ; ".join(commands))
    return lines


@pytest.mark.differential
def test_exec_lines_against_systemd_analyze_verify(tmp_path):
    import shutil

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    lines = _random_exec_lines(252, 300)
    files = []
    for k, line in enumerate(lines):
        path = tmp_path / f"c{k}.service"
        path.write_text(f"[Service]\nExecStart=/bin/true\nExecStartPre={line}\n")
        files.append(str(path))
    proc = oracle.run_tool(["systemd-analyze", "verify", "--man=no", "--generators=no", *files])
    assert proc.returncode >= 0, proc.stderr[-500:]
    output = proc.stderr.splitlines()
    host = SpecifierHost()
    for k, line in enumerate(lines):
        messages = [o.split(":3: ", 1)[1] for o in output if o.startswith(f"{files[k]}:3: ")]
        missing = [o.split(": Command ", 1)[1].rsplit(" is not executable", 1)[0]
                   for o in output if o.startswith(f"c{k}.service: Command ")]  # fmt: skip
        fatal = f"Unit c{k}.service has a bad unit file setting." in output

        warnings: list[str] = []
        unit = f"c{k}.service"
        try:
            commands = parse_exec_line(
                line.strip(),
                expand=lambda w, u=unit: expand_specifiers(w, u, host),
                warnings=warnings,
            )
            ours_fatal = False
        except ExecLineError as e:
            commands = list(e.commands)
            warnings.append(str(e))
            ours_fatal = e.fatal
        # verify checks only the first command of each Exec list, and not when its failure
        # is ignored ("-")
        ours_missing = [
            c.path
            for c in commands[:1]
            if not ours_fatal and c.path != "/bin/true" and not c.ignore_failure
        ]
        assert (line, messages, fatal, missing) == (line, warnings, ours_fatal, ours_missing)


@pytest.mark.differential
@pytest.mark.skipif(
    not os.path.exists(oracle.CORE_LIBRARY), reason=f"{oracle.CORE_LIBRARY} is not installed"
)
def test_environment_against_config_parse_environ():
    # Without a unit, systemd resolves only host specifiers; mirror that in `expand`.
    from pidone.linux.hostfacts import read_specifier_host

    host = read_specifier_host()

    def expand(word: str) -> str:
        for unit_only in "nNpPiIjJfyYdtSCLEhuUgGs":
            if f"%{unit_only}" in word.replace("%%", ""):
                raise SpecifierError(word, "Invalid slot")
        return expand_specifiers(word, "u.service", host)

    rng = random.Random(4)
    pieces = ["A=1", "B=x", "A=2", "1C=3", "D.E=4", "=5", "F=", "G", "'H=h h'", '"I=\\"q\\""',
              "J=\\q", "K=\\xff", "L=%H", "M=%z", "N=%n", "O=%%", "P='u", "Q=\\x41",
              "R=a=b"]  # fmt: skip
    texts = [" ".join(rng.choice(pieces) for _ in range(rng.randint(0, 5))) for _ in range(600)]
    for text, (rc, entries, logs) in zip(
        texts, oracle.call("config_parse_environ", [oracle.enc(t) for t in texts]), strict=True
    ):
        warnings: list[str] = []
        pairs = parse_environment_assignments(text, expand=expand, warnings=warnings)
        assert rc == 0
        assert (text, [oracle.enc(f"{k}={v}") for k, v in pairs]) == (text, entries)
        assert (text, [oracle.enc(w) for w in warnings]) == (text, logs)
