"""Value types of the pstree renderer: one /proc/PID/stat snapshot, drawing symbols, options.

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
