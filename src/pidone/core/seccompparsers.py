"""Apply functions for systemd.exec(5)'s seccomp settings, with systemd 252's semantics.

SystemCallFilter=, SystemCallLog=, SystemCallErrorNumber=, SystemCallArchitectures=,
RestrictAddressFamilies=, RestrictNamespaces= and Personality= fill the typed fields of
`ExecContext` (what core.seccompplan turns into filters) exactly as 252's
src/core/load-fragment.c does at load time: groups are expanded there and then, names
libseccomp does not know are warned about and dropped, several assignments add to or
take from the same list, an empty one resets it. The warnings are 252's, checked with
`systemd-analyze verify` (tests/data/oracle/capture-seccomp-252.md).

The name tables (core.syscallsets, core.kernelnames) are imported by the functions that
need them, so that a unit without these settings does not load them.
"""

from __future__ import annotations

from pidone.core.cnumbers import WHITESPACE, safe_atoi
from pidone.core.directives import Directive
from pidone.core.errors import ValueParseError
from pidone.core.model import (
    NAMESPACE_FLAGS_ALL,
    NAMESPACE_FLAGS_INITIAL,
    PERSONALITY_INVALID,
    SECCOMP_ERROR_NUMBER_KILL,
    ExecContext,
)
from pidone.core.parsebase import Context, Ignored
from pidone.core.values import parse_boolean

ERRNO_MAX = 4095

# namespace_info[] of 252 (namespace-util.c), in its order; "time" is there too, although
# NAMESPACE_FLAGS_ALL leaves CLONE_NEWTIME out
NAMESPACES: tuple[tuple[str, int], ...] = (
    ("cgroup", 0x02000000),
    ("ipc", 0x08000000),
    ("net", 0x40000000),
    ("mnt", 0x00020000),
    ("pid", 0x20000000),
    ("user", 0x10000000),
    ("uts", 0x04000000),
    ("time", 0x00000080),
)
_NAMESPACE_FLAGS = dict(NAMESPACES)

# seccomp_arch_from_string() of 252 built against libseccomp 2.5 (parisc and riscv64 there)
ARCHITECTURES = frozenset(
    (
        *("native", "x86", "x86-64", "x32", "arm", "arm64", "mips", "mips64", "mips64-n32"),
        *("mips-le", "mips64-le", "mips64-le-n32", "parisc", "parisc64", "ppc", "ppc64"),
        *("ppc64-le", "riscv64", "s390", "s390x"),
    )
)

# personality_from_string() on x86-64: the native architecture is PER_LINUX, the secondary
# one (x86) PER_LINUX32; any other architecture name is refused
PER_LINUX = 0x0000
PER_LINUX32 = 0x0008
PERSONALITIES = {"x86-64": PER_LINUX, "x86": PER_LINUX32}


def extract_words(text: str, unquote: bool) -> tuple[list[str], bool]:
    """extract_first_word() with flags 0 or EXTRACT_UNQUOTE, repeated: (the words, whether
    it stopped on invalid syntax). Without UNQUOTE quotes are ordinary characters; a
    backslash always takes the next character as it is; a trailing backslash or an
    unclosed quote is invalid, and the words before it are kept (252 applies each word as
    it reads it)."""
    words: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in WHITESPACE:
            i += 1
        if i >= n:
            return words, False
        buf: list[str] = []
        quote = ""
        while True:
            if i >= n:
                if quote:
                    return words, True
                break
            c = text[i]
            if c == "\\":
                if i + 1 >= n:
                    return words, True
                buf.append(text[i + 1])
                i += 2
            elif quote:
                if c == quote:
                    quote = ""
                else:
                    buf.append(c)
                i += 1
            elif unquote and c in "'\"":
                quote = c
                i += 1
            elif c in WHITESPACE:
                break
            else:
                buf.append(c)
                i += 1
        words.append("".join(buf))


def parse_errno(text: str) -> int | None:
    """parse_errno(): a name (EPERM) or a number 0..4095; None when it is neither."""
    from pidone.core.kernelnames import ERRNOS

    number = ERRNOS.get(text)
    if number is not None:
        return number
    try:
        value = safe_atoi(text)
    except ValueError:
        return None
    return value if 0 <= value <= ERRNO_MAX else None


def parse_errno_or_action(text: str) -> int | None:
    """seccomp_parse_errno_or_action(): `kill` or an errno."""
    return SECCOMP_ERROR_NUMBER_KILL if text == "kill" else parse_errno(text)


def add_syscalls(
    table: dict[str, int],
    name: str,
    errno: int,
    *,
    invert: bool,
    allow_list: bool,
    warn: list[str] | None,
) -> None:
    """seccomp_parse_syscall_filter(): put `name` (a call or a @group, expanded) in
    `table` or take it out. `warn` collects the warnings of a name the user wrote; the
    members of a group are not warned about (252 drops what libseccomp does not know)."""
    from pidone.core.syscallsets import KNOWN_SYSCALLS, RENAMES, SETS

    if name.startswith("@"):
        members = SETS.get(name)
        if members is None:
            if warn is not None:
                warn.append(f"Unknown system call group, ignoring: {name}")
            return
        for member in members:
            add_syscalls(table, member, errno, invert=invert, allow_list=allow_list, warn=None)
        return
    if name not in KNOWN_SYSCALLS:
        if warn is not None:
            warn.append(f"Failed to parse system call, ignoring: {name}")
        return
    key = RENAMES.get(name, name)  # 252 keys the table by number, shown by its native name
    if (not invert) == allow_list or (invert and allow_list and errno >= 0):
        table[key] = errno
    else:
        table.pop(key, None)


def _split_invert(value: str) -> tuple[bool, str]:
    return (True, value[1:]) if value.startswith("~") else (False, value)


def p_syscall_filter(ctx: Context, d: Directive, value: str) -> None:
    """SystemCallFilter=: the first assignment makes an allow list (starting with
    @default) or, with `~`, a deny list; later ones add to it or take from it."""
    e: ExecContext = ctx.section.exec
    if value == "":
        e.syscall_filter = {}
        e.syscall_allow_list = False
        e.seccomp_lists_started.discard(d.key)
        return
    invert, rest = _split_invert(value)
    if d.key not in e.seccomp_lists_started:
        e.seccomp_lists_started.add(d.key)
        e.syscall_filter = {}
        e.syscall_allow_list = not invert
        if not invert:
            add_syscalls(e.syscall_filter, "@default", -1, invert=False, allow_list=True, warn=None)
    words, bad = extract_words(rest, unquote=False)
    for word in words:
        name, colon, err = word.partition(":")
        errno = -1
        if colon:
            parsed = parse_errno_or_action(err)
            if parsed is None or not name:
                ctx.warnings.append(f"Failed to parse syscall:errno, ignoring: {word}")
                continue
            errno = parsed
        elif not name:
            ctx.warnings.append(f"Failed to parse syscall:errno, ignoring: {word}")
            continue
        if not invert and errno >= 0:
            ctx.warnings.append(
                f"Allow-listed system calls cannot take error number, ignoring: {word}"
            )
            continue
        add_syscalls(
            e.syscall_filter,
            name,
            errno,
            invert=invert,
            allow_list=e.syscall_allow_list,
            warn=ctx.warnings,
        )
    if bad:
        ctx.warnings.append(f"Invalid syntax, ignoring: {rest}")


def p_syscall_log(ctx: Context, d: Directive, value: str) -> None:
    """SystemCallLog=: like SystemCallFilter= without errnos and without @default."""
    e: ExecContext = ctx.section.exec
    if value == "":
        e.syscall_log = {}
        e.syscall_log_allow_list = False
        e.seccomp_lists_started.discard(d.key)
        return
    invert, rest = _split_invert(value)
    if d.key not in e.seccomp_lists_started:
        e.seccomp_lists_started.add(d.key)
        e.syscall_log = {}
        e.syscall_log_allow_list = not invert
    words, bad = extract_words(rest, unquote=False)
    for word in words:
        add_syscalls(
            e.syscall_log,
            word,
            -1,
            invert=invert,
            allow_list=e.syscall_log_allow_list,
            warn=ctx.warnings,
        )
    if bad:
        ctx.warnings.append(f"Invalid syntax, ignoring: {rest}")


def p_syscall_errno(ctx: Context, d: Directive, value: str) -> None:
    """SystemCallErrorNumber=: an errno name or number, or `kill` (also the empty value)."""
    e: ExecContext = ctx.section.exec
    if value in ("", "kill"):
        e.syscall_errno = SECCOMP_ERROR_NUMBER_KILL
        return
    number = parse_errno(value)
    if number is None:
        raise Ignored(f"Failed to parse error number, ignoring: {value}")
    if number == 0:
        raise Ignored(f"Invalid error number, ignoring: {value}")
    e.syscall_errno = number


def p_syscall_archs(ctx: Context, d: Directive, value: str) -> None:
    """SystemCallArchitectures=: a set of 252's architecture names; empty resets it."""
    e: ExecContext = ctx.section.exec
    if value == "":
        e.syscall_archs = []
        return
    words, bad = extract_words(value, unquote=True)
    for word in words:
        if word not in ARCHITECTURES:
            ctx.warnings.append(
                f'Failed to parse system call architecture "{word}", ignoring: Invalid argument'
            )
        elif word not in e.syscall_archs:
            e.syscall_archs.append(word)
    if bad:
        ctx.warnings.append(f"Invalid syntax, ignoring: {value}")


def p_address_families(ctx: Context, d: Directive, value: str) -> None:
    """RestrictAddressFamilies=: AF_* names, `~` for a deny list, `none` for nothing."""
    from pidone.core.kernelnames import ADDRESS_FAMILIES

    e: ExecContext = ctx.section.exec
    if value in ("", "none"):
        e.address_families = []
        e.address_families_allow_list = value == "none"
        e.seccomp_lists_started.discard(d.key)
        return
    invert, rest = _split_invert(value)
    if d.key not in e.seccomp_lists_started:
        e.seccomp_lists_started.add(d.key)
        e.address_families = []
        e.address_families_allow_list = not invert
    words, bad = extract_words(rest, unquote=True)
    for word in words:
        af = ADDRESS_FAMILIES.get(word)
        if af is None:
            ctx.warnings.append(f"Failed to parse address family, ignoring: {word}")
        elif (not invert) == e.address_families_allow_list:
            if af not in e.address_families:
                e.address_families.append(af)
        elif af in e.address_families:
            e.address_families.remove(af)
    if bad:
        ctx.warnings.append(f"Invalid syntax, ignoring: {rest}")


def namespace_flags(text: str) -> int | None:
    """namespace_flags_from_string(): the CLONE_NEW* flags of the names, None if one is
    not a namespace type (or the syntax is invalid)."""
    words, bad = extract_words(text, unquote=False)
    if bad:
        return None
    flags = 0
    for word in words:
        flag = _NAMESPACE_FLAGS.get(word)
        if flag is None:
            return None
        flags |= flag
    return flags


def p_restrict_namespaces(ctx: Context, d: Directive, value: str) -> None:
    """RestrictNamespaces=: a boolean replaces everything; a list (`~` = all but those)
    sets the flags the first time and then turns the named ones on or off."""
    e: ExecContext = ctx.section.exec
    if value == "":
        e.restrict_namespaces = NAMESPACE_FLAGS_INITIAL
        return
    try:
        e.restrict_namespaces = 0 if parse_boolean(value) else NAMESPACE_FLAGS_ALL
        return
    except ValueParseError:
        pass
    invert, rest = _split_invert(value)
    flags = namespace_flags(rest)
    if flags is None:
        raise Ignored(f"Failed to parse namespace type string, ignoring: {rest}")
    if e.restrict_namespaces == NAMESPACE_FLAGS_INITIAL:
        e.restrict_namespaces = (~flags & NAMESPACE_FLAGS_ALL) if invert else flags
    elif invert:
        e.restrict_namespaces &= ~flags
    else:
        e.restrict_namespaces |= flags


def p_personality(ctx: Context, d: Directive, value: str) -> None:
    """Personality=: x86-64 or x86 on this architecture; empty = unset."""
    e: ExecContext = ctx.section.exec
    if value == "":
        e.personality = PERSONALITY_INVALID
        return
    p = PERSONALITIES.get(value)
    if p is None:
        raise Ignored(f"Failed to parse personality, ignoring: {value}")
    e.personality = p
