"""pstree renderer basics: the stat snapshot, symbols, options, and psmisc text primitives.

The classes are hand-written rather than @dataclass(frozen=True, slots=True): importing
dataclasses pulls in inspect and ast, about 10 ms of start-up, which is most of what
`pidone tree` may spend before reading /proc (bench/tree.py).
"""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False  # typing itself costs start-up time; mypy still reads this block
if TYPE_CHECKING:
    from typing import Any, NoReturn

# psmisc comm.h COMM_LEN since 23.2 ("Command names increased from 16 to 64 characters");
# PROC.comm holds COMM_LEN + 2 bytes for the thread braces, so names stop at 65 bytes.
COMM_LEN = 64
NAME_MAX = COMM_LEN + 1
# glibc BUFSIZ: with -l, pstree reads at most BUFSIZ + 1 bytes of /proc/PID/cmdline.
UNTRUNCATED_ARGS_LIMIT = 8192 + 1


class _Frozen:
    """Slotted, immutable after __init__, equal by fields."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self.__slots__
        return names

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self._names())

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Frozen)
            and type(other) is type(self)
            and self._fields() == other._fields()
        )

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._names())
        return f"{type(self).__name__}({inner})"


class ProcStat(tuple[int, int, int, int, bytes, int, int]):
    """What pstree takes from one /proc/PID/stat (plus the owner of /proc/PID).

    A tuple subclass: thousands are made per run, and tuple creation is the cheapest.
    """

    __slots__ = ()

    def __new__(
        cls,
        pid: int,
        ppid: int,
        pgid: int,
        uid: int,
        comm: bytes,
        nthreads: int = 1,
        starttime: int = 0,
    ) -> ProcStat:
        return tuple.__new__(cls, (pid, ppid, pgid, uid, comm, nthreads, starttime))

    @property
    def pid(self) -> int:
        return self[0]

    @property
    def ppid(self) -> int:
        return self[1]

    @property
    def pgid(self) -> int:
        return self[2]

    @property
    def uid(self) -> int:
        """Owner of /proc/PID (not the Uid: line), as psmisc stat()s it."""
        return self[3]

    @property
    def comm(self) -> bytes:
        return self[4]

    @property
    def nthreads(self) -> int:
        return self[5]

    @property
    def starttime(self) -> int:
        """Clock ticks after boot (stat field 22), for -C age."""
        return self[6]

    def __repr__(self) -> str:
        return (
            f"ProcStat(pid={self[0]}, ppid={self[1]}, pgid={self[2]}, uid={self[3]}, "
            f"comm={self[4]!r}, nthreads={self[5]}, starttime={self[6]})"
        )


class Symbols(_Frozen):
    """One set of line-drawing pieces (psmisc sym_ascii / sym_utf / sym_vt100)."""

    __slots__ = ("branch_2", "empty_2", "first_3", "last_2", "single_3", "vert_2")
    empty_2: str
    branch_2: str
    vert_2: str
    last_2: str
    single_3: str
    first_3: str

    def __init__(
        self, empty_2: str, branch_2: str, vert_2: str, last_2: str, single_3: str, first_3: str
    ) -> None:
        for name, value in zip(
            ("empty_2", "branch_2", "vert_2", "last_2", "single_3", "first_3"),
            (empty_2, branch_2, vert_2, last_2, single_3, first_3),
            strict=True,
        ):
            object.__setattr__(self, name, value)


ASCII = Symbols("  ", "|-", "| ", "`-", "---", "-+-")
UTF8 = Symbols("  ", "├─", "│ ", "└─", "───", "─┬─")
_VT_BEG, _VT_END = "\x1b(0\x0f", "\x1b(B"
VT100 = Symbols(
    "  ",
    f"{_VT_BEG}tq{_VT_END}",
    f"{_VT_BEG}x{_VT_END} ",
    f"{_VT_BEG}mq{_VT_END}",
    f"{_VT_BEG}qqq{_VT_END}",
    f"{_VT_BEG}qwq{_VT_END}",
)

_EMPTY: Mapping[int, str] = {}


class TreeOptions(_Frozen):
    """Rendering switches, named after pstree's options."""

    __slots__ = (
        "ages",
        "bold",
        "compact",
        "contexts",
        "ns_changes",
        "show_args",
        "show_pgids",
        "show_pids",
        "symbols",
        "truncate",
        "uid_changes",
        "user_names",
        "width",
    )
    symbols: Symbols
    width: int
    truncate: bool  # off with -l
    show_pids: bool  # -p (also turns compaction off)
    show_pgids: bool  # -g (does NOT turn compaction off since psmisc 23.5)
    show_args: bool  # -a
    compact: bool  # -c turns it off
    uid_changes: bool  # -u
    user_names: Mapping[int, str]  # uid -> name for -u
    ages: Mapping[int, int] | None  # pid -> age in seconds, for -C age
    bold: tuple[str, str] | None  # terminal bold on/off around highlighted labels (-h/-H)
    ns_changes: bool  # -S: name the namespaces that differ from the parent's
    contexts: Mapping[int, str] | None  # -Z: security context per node id

    def __init__(
        self,
        *,
        symbols: Symbols = ASCII,
        width: int = 132,
        truncate: bool = True,
        show_pids: bool = False,
        show_pgids: bool = False,
        show_args: bool = False,
        compact: bool = True,
        uid_changes: bool = False,
        user_names: Mapping[int, str] = _EMPTY,
        ages: Mapping[int, int] | None = None,
        bold: tuple[str, str] | None = None,
        ns_changes: bool = False,
        contexts: Mapping[int, str] | None = None,
    ) -> None:
        values = locals()
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    @property
    def args_limit(self) -> int:
        """How many bytes of /proc/PID/cmdline pstree reads (and so shows) with -a."""
        return cmdline_limit(self.width, self.truncate)


def cmdline_limit(width: int, truncate: bool) -> int:
    """psmisc read_proc(): output width + 1 bytes, or BUFSIZ + 1 with -l."""
    return width + 1 if truncate else UNTRUNCATED_ARGS_LIMIT


def thread_label(comm: bytes) -> bytes:
    """`{comm}` as psmisc's THREAD_FORMAT "{%.*s}" with COMM_LEN, cut to the PROC.comm size."""
    return (b"{" + comm[:COMM_LEN] + b"}")[:NAME_MAX]


def parse_args(raw: bytes, limit: int) -> tuple[bytes, ...] | None:
    """The arguments pstree -a prints after the name, from a cmdline read of `limit` bytes.

    psmisc set_args(): a read that filled the buffer loses its last byte, a NUL is
    appended, NUL runs are counted as separators and argv[0] is skipped. The last entry
    is normally the empty string after the final NUL; when the read was cut there is no
    such NUL, which is why the space before the last shown argument goes missing.
    An empty cmdline (kernel thread, zombie) gives () and is printed as "(comm)"; a
    cmdline without any NUL gives None (nothing printed).
    """
    if len(raw) >= limit:
        raw = raw[: limit - 1]
    if not raw:
        return ()
    buf = raw + b"\0"
    last = len(buf) - 1
    argc = 0
    i = 0
    while i < last:
        if buf[i] == 0:
            argc += 1
            while i < last and buf[i] == 0:
                i += 1
        i += 1
    if argc == 0:
        return None
    return tuple(buf.split(b"\0")[1 : argc + 1])


_PRINTABLE = frozenset(range(0x20, 0x7F)) - {0x5C}
_ESCAPES = {b: f"\\{b:03o}" for b in range(256) if b not in _PRINTABLE}
_ESCAPES[0x5C] = "\\\\"


def escape_name(name: bytes) -> str:
    """psmisc out_args(): `\\` doubled, bytes outside ' '..'~' as `\\ooo` (signed char compare)."""
    text = name.decode("latin-1")
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text
    return text.translate(_ESCAPES)


def c_int_text(x: int) -> str:
    """psmisc out_int(): decimal digits, except that 0 prints as nothing at all.

    Its digit count loop stops before the first digit of 0, so a "?" placeholder (pgid 0)
    shows as `?(800,)` with -p -g, and `pstree -p 0` as `?()`. Negative values print the
    C way, '0' plus a negative remainder per digit.
    """
    if x > 0:
        return str(x)

    def cdiv(a: int, b: int) -> int:  # C division truncates toward zero
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q

    digits: list[str] = []
    div = 1
    while cdiv(x, div):
        div *= 10
    div //= 10
    while div:
        q = cdiv(x, div)
        digits.append(chr(ord("0") + q - 10 * cdiv(q, 10)))
        div //= 10
    return "".join(digits)


def arg_cost(arg: bytes) -> int:
    # The fit test of dump_tree() counts 1 per printable byte (backslash included) and 4
    # for the rest, which is not quite what out_args() then prints.
    cost = len(arg)
    for byte in arg:
        if byte < 0x20 or byte > 0x7E:
            cost += 3
    return cost
