"""Exit statuses: systemd's names for exit codes and `SuccessExitStatus=`-style sets.

Names and classes are those of `systemd-analyze exit-status` in systemd 252
(src/basic/exit-status.c). `systemctl status` names only the libc and systemd classes
(`status=1/FAILURE`, `status=203/EXEC`) and prints LSB/BSD codes bare (`status=3`).
"""

from __future__ import annotations

from pidone.core.cnumbers import WHITESPACE, safe_atou
from pidone.core.errors import ValueParseError
from pidone.core.record import Record
from pidone.core.signames import parse_signal, signal_name

_WHITESPACE = WHITESPACE

# `systemd-analyze exit-status` of systemd 252 (src/basic/exit-status.c).
EXIT_STATUS_NAMES: dict[int, str] = {
    0: "SUCCESS",
    1: "FAILURE",
    2: "INVALIDARGUMENT",
    3: "NOTIMPLEMENTED",
    4: "NOPERMISSION",
    5: "NOTINSTALLED",
    6: "NOTCONFIGURED",
    7: "NOTRUNNING",
    64: "USAGE",
    65: "DATAERR",
    66: "NOINPUT",
    67: "NOUSER",
    68: "NOHOST",
    69: "UNAVAILABLE",
    70: "SOFTWARE",
    71: "OSERR",
    72: "OSFILE",
    73: "CANTCREAT",
    74: "IOERR",
    75: "TEMPFAIL",
    76: "PROTOCOL",
    77: "NOPERM",
    78: "CONFIG",
    200: "CHDIR",
    201: "NICE",
    202: "FDS",
    203: "EXEC",
    204: "MEMORY",
    205: "LIMITS",
    206: "OOM_ADJUST",
    207: "SIGNAL_MASK",
    208: "STDIN",
    209: "STDOUT",
    210: "CHROOT",
    211: "IOPRIO",
    212: "TIMERSLACK",
    213: "SECUREBITS",
    214: "SETSCHEDULER",
    215: "CPUAFFINITY",
    216: "GROUP",
    217: "USER",
    218: "CAPABILITIES",
    219: "CGROUP",
    220: "SETSID",
    221: "CONFIRM",
    222: "STDERR",
    224: "PAM",
    225: "NETWORK",
    226: "NAMESPACE",
    227: "NO_NEW_PRIVILEGES",
    228: "SECCOMP",
    229: "SELINUX_CONTEXT",
    230: "PERSONALITY",
    231: "APPARMOR",
    232: "ADDRESS_FAMILIES",
    233: "RUNTIME_DIRECTORY",
    235: "CHOWN",
    236: "SMACK_PROCESS_LABEL",
    237: "KEYRING",
    238: "STATE_DIRECTORY",
    239: "CACHE_DIRECTORY",
    240: "LOGS_DIRECTORY",
    241: "CONFIGURATION_DIRECTORY",
    242: "NUMA_POLICY",
    243: "CREDENTIALS",
    244: "BPF",
    255: "EXCEPTION",
}
EXIT_STATUS_CLASSES: dict[int, str] = {
    code: ("libc" if code < 2 else "LSB" if code < 8 else "BSD" if code < 100 else "systemd")
    for code in EXIT_STATUS_NAMES
}
_EXIT_STATUS_NUMBERS = {name: code for code, name in EXIT_STATUS_NAMES.items()}


def format_exit_status(code: int, *, all_classes: bool = False) -> str:
    """`1/FAILURE` as `systemctl status` prints it: names only for libc and systemd codes.

    `all_classes=True` names LSB and BSD codes too (`2/INVALIDARGUMENT`), as the manager's
    own log lines do.
    """
    if all_classes or EXIT_STATUS_CLASSES.get(code) in ("libc", "systemd"):
        name = EXIT_STATUS_NAMES.get(code)
        if name is not None:
            return f"{code}/{name}"
    return str(code)


class ExitStatusSet(Record):
    """`SuccessExitStatus=`-style set: exit codes plus signal numbers.

    A core.record.Record (immutable, equal and hashable by value), not a dataclass: this
    module names the exit statuses `pidone status` prints, and importing dataclasses
    would cost that command more than the rest of its start-up (bench/cli.py)."""

    statuses: frozenset[int] = frozenset()
    signals: frozenset[int] = frozenset()

    def format(self) -> str:
        """As `systemctl show` prints it: numbers ascending, then signal names."""
        words = [str(c) for c in sorted(self.statuses)]
        words += [signal_name(s) for s in sorted(self.signals)]
        return " ".join(words)

    def __bool__(self) -> bool:
        return bool(self.statuses or self.signals)


def parse_exit_status(text: str) -> int:
    """One exit status: a name without prefix (`TEMPFAIL`) or a number 0-255."""
    if text in _EXIT_STATUS_NUMBERS:
        return _EXIT_STATUS_NUMBERS[text]
    try:
        return safe_atou(text, bits=8)
    except ValueError:
        raise ValueParseError(f"Failed to parse exit status: {text}") from None


def _split_plain(text: str) -> tuple[list[str], bool]:
    """extract_first_word() with no flags: whitespace-separated, quotes are ordinary
    characters, a backslash makes the next character (even a blank) literal.

    Returns (words, ok): a trailing backslash stops the split with ok False, after the
    words before it.
    """
    words: list[str] = []
    current: list[str] | None = None
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in _WHITESPACE:
            if current is not None:
                words.append("".join(current))
                current = None
            i += 1
            continue
        if current is None:
            current = []
        if c == "\\":
            if i + 1 >= n:
                return words, False
            current.append(text[i + 1])
            i += 2
            continue
        current.append(c)
        i += 1
    if current is not None:
        words.append("".join(current))
    return words, True


def parse_exit_status_set(
    text: str, *, warnings: list[str] | None = None, key: str = "SuccessExitStatus"
) -> ExitStatusSet:
    """`SuccessExitStatus=`-style list (config_parse_set_status()).

    Each word is first an exit status (name or 0-255, so `9` is a status, never SIGKILL),
    else a signal name or number. With a `warnings` list a bad word is skipped, as
    systemd does, and its warning appended; without one the first problem raises
    ValueParseError (so a caller can test a single word). Words are split without
    unquoting; a trailing backslash ends the value (the words before it still count).
    `key` only words that message.
    """
    statuses: set[int] = set()
    signals: set[int] = set()
    words, ok = _split_plain(text)

    def problem(message: str) -> None:
        if warnings is None:
            raise ValueParseError(message)
        warnings.append(message)

    for word in words:
        try:
            statuses.add(parse_exit_status(word))
            continue
        except ValueParseError:
            pass
        try:
            signals.add(parse_signal(word))
        except ValueParseError:
            problem(f"Failed to parse value, ignoring: {word}")
    if not ok:
        problem(f"Failed to parse {key}={text}, ignoring: Invalid argument")
    return ExitStatusSet(frozenset(statuses), frozenset(signals))
