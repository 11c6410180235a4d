"""`pidone tree`: psmisc pstree 23.6 output, byte for byte, plus --units and -o json.

Start-up matters (the whole run of `pstree -p` is ~10 ms on an idle box), so this module
imports only what the chosen options need: no argparse, no locale, no re.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence

from pidone.core.render import pstree
from pidone.linux import ptscan

USAGE = """\
Usage: pidone tree [-acglpsStTuZ] [ -h | -H PID ] [ -n | -N type ]
                   [ -A | -G | -U ] [ --units ] [ -o json ] [ PID | USER ]

Display a tree of processes, like psmisc pstree.

  -a, --arguments     show command line arguments
  -A, --ascii         use ASCII line drawing characters
  -c, --compact-not   don't compact identical subtrees
  -C, --color=TYPE    color process by attribute
                      (age)
  -g, --show-pgids    show process group ids
  -G, --vt100         use VT100 line drawing characters
  -h, --highlight-all highlight current process and its ancestors
  -H PID, --highlight-pid=PID
                      highlight this process and its ancestors
  -l, --long          don't truncate long lines
  -n, --numeric-sort  sort output by PID
  -N TYPE, --ns-sort=TYPE
                      sort output by this namespace type
                              (cgroup, ipc, mnt, net, pid, time, user, uts)
  -p, --show-pids     show PIDs; implies -c
  -s, --show-parents  show parents of the selected process
  -S, --ns-changes    show namespace transitions
  -t, --thread-names  show full thread names
  -T, --hide-threads  hide threads, show only processes
  -u, --uid-changes   show uid transitions
  -U, --unicode       use UTF-8 (Unicode) line drawing characters
  -V, --version       display version information
  -Z, --security-context
                      show security attributes
      --units         group processes under the units that own them
  -o, --output=json   print the tree as JSON (no merging, no truncation)

  PID    start at this PID; default is 1 (init)
  USER   show only trees rooted at processes of this user
"""

# getopt_long table: long name -> (short letter, takes a value)
_LONG = {
    "arguments": ("a", False),
    "ascii": ("A", False),
    "compact-not": ("c", False),
    "color": ("C", True),
    "vt100": ("G", False),
    "highlight-all": ("h", False),
    "highlight-pid": ("H", True),
    "long": ("l", False),
    "numeric-sort": ("n", False),
    "ns-sort": ("N", True),
    "show-pids": ("p", False),
    "show-pgids": ("g", False),
    "show-parents": ("s", False),
    "ns-changes": ("S", False),
    "thread-names": ("t", False),
    "hide-threads": ("T", False),
    "uid-changes": ("u", False),
    "unicode": ("U", False),
    "version": ("V", False),
    "security-context": ("Z", False),
    "units": ("\0units", False),
    "output": ("o", True),
    "help": ("\0help", False),
}
_SHORT_WITH_VALUE = frozenset("CHNo")
_SHORT = frozenset("aAcCGhHnNpglsStTuUVZo")


class UsageError(Exception):
    """Bad command line; the message says what is wrong in one line."""


class Args:
    """The parsed command line (a plain slotted class: dataclasses costs start-up time)."""

    __slots__ = ("colour_age", "flags", "highlight", "ns_sort", "output_json", "symbols", "target")

    def __init__(
        self,
        flags: frozenset[str],
        symbols: pstree.Symbols | None,
        colour_age: bool,
        highlight: str | None,
        output_json: bool,
        target: str | None,
        ns_sort: str | None = None,
    ) -> None:
        self.flags = flags
        self.symbols = symbols
        self.colour_age = colour_age
        self.highlight = highlight
        self.output_json = output_json
        self.target = target
        self.ns_sort = ns_sort


def parse_argv(argv: Sequence[str]) -> Args:
    """GNU getopt_long semantics: options anywhere, `--` ends them, unique long prefixes."""
    flags: set[str] = set()
    symbols: pstree.Symbols | None = None
    colour_age = False
    highlight: str | None = None
    output_json = False
    ns_sort: str | None = None
    operands: list[str] = []
    pending: list[tuple[str, str | None]] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            operands.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            matches = [k for k in _LONG if k.startswith(name)]
            if name in _LONG:
                matches = [name]
            if not matches:
                raise UsageError(f"unrecognized option '--{name}'")
            if len(matches) > 1:
                options = " ".join(f"'--{m}'" for m in matches)
                raise UsageError(f"option '--{name}' is ambiguous; possibilities: {options}")
            letter, takes = _LONG[matches[0]]
            if takes and not eq:
                if i >= len(argv):
                    raise UsageError(f"option '--{matches[0]}' requires an argument")
                value = str(argv[i])
                i += 1
            elif not takes and eq:
                raise UsageError(f"option '--{matches[0]}' doesn't allow an argument")
            pending.append((letter, value if takes else None))
            continue
        if arg.startswith("-") and arg != "-":
            j = 1
            while j < len(arg):
                letter = arg[j]
                j += 1
                if letter not in _SHORT:
                    raise UsageError(f"invalid option -- '{letter}'")
                if letter in _SHORT_WITH_VALUE:
                    if j < len(arg):
                        value = arg[j:]
                    elif i < len(argv):
                        value = argv[i]
                        i += 1
                    else:
                        raise UsageError(f"option requires an argument -- '{letter}'")
                    pending.append((letter, value))
                    break
                pending.append((letter, None))
            continue
        operands.append(arg)
    for letter, optarg in pending:
        if letter == "A":
            symbols = pstree.ASCII
        elif letter == "U":
            symbols = pstree.UTF8
        elif letter == "G":
            symbols = pstree.VT100
        elif letter == "C":
            if (optarg or "").lower() != "age":
                raise UsageError(f"unknown color type '{optarg}' (only age)")
            colour_age = True
        elif letter in ("h", "H"):
            if highlight is not None:
                raise UsageError("-h and -H may be given only once, not together")
            highlight = (optarg or "") if letter == "H" else ""
        elif letter == "o":
            if optarg != "json":
                raise UsageError(f"unknown output format '{optarg}' (only json)")
            output_json = True
        elif letter == "N":
            if optarg not in pstree.NS_NAMES:
                raise UsageError(f"unknown namespace type '{optarg}'")
            ns_sort = optarg
        else:
            flags.add(letter)
    if len(operands) > 1:
        raise UsageError(f"one PID or USER only, got: {' '.join(operands)}")
    return Args(
        frozenset(flags),
        symbols,
        colour_age,
        highlight,
        output_json,
        operands[0] if operands else None,
        ns_sort,
    )


def _strtol(text: str, base: int) -> int | None:
    """C strtol() over the whole string: None when anything is left over or nothing parsed."""
    s = text.lstrip(" \t\n\v\f\r")
    sign = -1 if s.startswith("-") else 1
    if s[:1] in "+-" and s:
        s = s[1:]
    if base == 0:
        if s[:2].lower() == "0x" and len(s) > 2:
            base, s = 16, s[2:]
        elif s.startswith("0"):
            base = 8
        else:
            base = 10
    if not s or not all(c in "0123456789abcdefghijklmnopqrstuvwxyz"[:base] for c in s.lower()):
        return None
    return sign * min(int(s, base), 2**63 - 1)


def output_width() -> int:
    """psmisc get_output_width(): $COLUMNS if a positive number, the tty width, else 132."""
    columns = os.environ.get("COLUMNS")
    if columns:
        value = _strtol(columns, 0)
        if value is not None and 0 < value < 0x7FFFFFFF:
            return value
    try:
        cols = os.get_terminal_size(1).columns
    except OSError:
        cols = 0
    return cols or 132


# glibc's categories: setlocale(LC_ALL, "") loads one locale name per category and
# changes nothing at all when any of them fails to load (setlocale(3)).
_CATEGORIES = (
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "LC_MONETARY",
    "LC_MESSAGES",
    "LC_PAPER",
    "LC_NAME",
    "LC_ADDRESS",
    "LC_TELEPHONE",
    "LC_MEASUREMENT",
    "LC_IDENTIFICATION",
)


def default_symbols() -> pstree.Symbols:
    """UTF-8 drawing when stdout is a tty and the locale's codeset is UTF-8, else ASCII.

    pstree calls setlocale(LC_ALL, "") and then nl_langinfo(CODESET). psmisc also probes
    the terminal for VT100 graphics, but then uses ASCII anyway.
    """
    if not os.isatty(1):
        return pstree.ASCII
    import _locale

    env = ptscan.read_initial_locale_env()
    names = {
        cat: env.get("LC_ALL") or env.get(cat) or env.get("LANG") or "C" for cat in _CATEGORIES
    }
    saved = _locale.setlocale(_locale.LC_CTYPE)
    try:
        for name in set(names.values()):
            _locale.setlocale(_locale.LC_CTYPE, name)
        _locale.setlocale(_locale.LC_CTYPE, names["LC_CTYPE"])
        utf8 = _locale.nl_langinfo(_locale.CODESET) == "UTF-8"
    except getattr(_locale, "Error", ValueError):  # locale.Error; absent from typeshed's _locale
        utf8 = False  # the whole setlocale(LC_ALL, "") fails: the C locale stays
    finally:
        _locale.setlocale(_locale.LC_CTYPE, saved)
    return pstree.UTF8 if utf8 else pstree.ASCII


def units_from_daemon(pids: Sequence[int]) -> Mapping[int, str] | None:
    """pid -> unit from a running pidone daemon (its `pids` verb), or None when none
    answers (cli/procunits.py: one stat() of the control socket when no daemon runs)."""
    from pidone.cli.procunits import read_daemon_units

    return read_daemon_units()


def unit_attribution(pids: Sequence[int]) -> Mapping[int, str]:
    """The daemon's word for the processes it tracks; cgroup membership for the others
    (systemd-cgls's view); processes neither names stay without a unit."""
    owned = units_from_daemon(pids)
    if owned is None:
        return ptscan.read_cgroup_units(pids)
    rest = [pid for pid in pids if pid not in owned]
    units = dict(ptscan.read_cgroup_units(rest)) if rest else {}
    units.update((pid, owned[pid]) for pid in pids if pid in owned)
    return units


def _user_names(tree: pstree.ProcTree, pids: Sequence[int]) -> dict[int, str]:
    import pwd

    names: dict[int, str] = {}
    for pid in pids:
        st = tree.stat(pid)
        if st is None or st.uid in names:
            continue
        try:
            names[st.uid] = pwd.getpwuid(st.uid).pw_name
        except KeyError:
            names[st.uid] = str(st.uid)
    names.setdefault(0, _root_name())
    return names


def _root_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(0).pw_name
    except KeyError:
        return "0"


def _fail(message: str, code: int = 1) -> int:
    sys.stderr.write(message + "\n")
    return code


def main(argv: list[str]) -> int:
    """Entry of `pidone tree`; argv has neither the program name nor the verb."""
    try:
        args = parse_argv(argv)
    except UsageError as err:
        # psmisc prints its whole usage text; one line and a pointer is easier to read
        sys.stderr.write(f"pidone tree: {err}\nTry 'pidone tree --help' for more information.\n")
        return 1
    flags = args.flags
    if "\0help" in flags:
        sys.stdout.write(USAGE)
        return 0
    if "V" in flags:
        from pidone import __version__

        sys.stderr.write(f"pidone tree {__version__} (output of pstree (PSmisc) 23.6)\n")
        return 0
    highlight = 0
    bold: tuple[str, str] | None = None
    if args.highlight is not None:
        # psmisc: -h highlights pstree itself and its ancestors when $TERM has a termcap
        # entry; -H PID insists on one.
        term = os.environ.get("TERM")
        if args.highlight and term is None:
            return _fail("TERM is not set")
        strings = None
        if term is not None:
            from pidone.linux import terminfo

            strings = terminfo.bold_strings(term)
        if args.highlight and strings is None:
            return _fail("Can't get terminal capabilities")
        if args.highlight:
            highlight = ptscan.c_atoi(args.highlight)
            if highlight == 0:
                return _fail("pidone tree: -H needs a PID")
        elif strings is not None:
            highlight = os.getpid()
        if strings is not None:
            md, me = strings
            bold = (md.decode("ascii", "surrogateescape"), me.decode("ascii", "surrogateescape"))
    if args.ns_sort is not None:
        try:
            os.stat(f"/proc/{os.getpid()}/ns/{args.ns_sort}")
        except OSError:
            return _fail(f"procfs file for {args.ns_sort} namespace not available")
    width = output_width()
    # psmisc 23.6 roots the tree at PID 1 (ROOT_PID); the "PID 0 when /proc/0 exists"
    # rule in spec 07 §2.1 came with later psmisc.
    root_pid = 1
    pid = root_pid
    pid_set = False
    uid: int | None = None
    if args.target is not None:
        target = args.target
        if target[:1].isdigit() and target[:1].isascii():
            value = _strtol(target, 10)
            if value is None:
                return _fail(f"pidone tree: not a PID: {target}")
            # strtol() result stored in a pid_t (int32)
            pid = (value + 2**31) % 2**32 - 2**31
            pid_set = True
        else:
            import pwd

            try:
                uid = pwd.getpwnam(target).pw_uid
            except KeyError:
                return _fail(f"No such user name: {target}")
    try:
        stats = ptscan.read_stats()
    except OSError as err:
        return _fail(f"/proc: {err.strerror}")
    if not stats:
        return _fail("/proc is empty (not mounted ?)")
    tree = pstree.ProcTree(stats, root_pid)
    threads = "T" not in flags
    thread_names = "t" in flags
    if pid not in tree and threads:
        # a thread id as the argument: psmisc finds thread nodes too
        _attach_threads(tree, (st.pid for st in stats), thread_names)
    if highlight and bold is not None:
        if highlight not in tree and threads:
            _attach_threads(tree, (st.pid for st in stats), thread_names)
        tree.highlight(highlight)
    if "s" in flags and pid_set:
        if not tree.trim_to_parents(pid):
            return _fail(f"Process {pid} not found.")
        pid = root_pid
    by_pid = "n" in flags
    by_ns = args.ns_sort is not None and not args.output_json and "\0units" not in flags
    if by_ns:
        roots = [1]  # -N regroups everything under PID 1 and ignores PID and USER
    elif uid is not None:
        roots = tree.user_roots(uid, by_pid)
        if not roots and not args.output_json:
            return _fail("No processes found.")
    else:
        roots = [pid]
    shown = tree.shown_pids(roots)
    if threads:
        _attach_threads(tree, shown, thread_names)
    truncate = "l" not in flags
    if "a" in flags or args.output_json:
        limit = pstree.cmdline_limit(width, truncate and not args.output_json)
        for p in shown:
            raw = ptscan.read_cmdline(p, limit)
            if raw is not None:
                tree.set_cmdline(p, raw)
    if by_ns or "S" in flags:
        ids = tree.subtree_ids(roots)
        ids += [q for r in roots if (q := tree.parent_id(r)) is not None]
        for ident, inodes in ptscan.read_namespaces(ids, pstree.NS_NAMES).items():
            tree.set_ns(ident, inodes)
    units = unit_attribution(shown) if "\0units" in flags else None
    if args.output_json:
        from pidone.core.render import pstree_views

        text = pstree_views.to_json(tree, roots, units, by_pid)
    else:
        options = pstree.TreeOptions(
            symbols=args.symbols or default_symbols(),
            width=width,
            truncate=truncate,
            show_pids="p" in flags,
            show_pgids="g" in flags,
            show_args="a" in flags,
            compact="c" not in flags,
            uid_changes="u" in flags,
            user_names=_user_names(tree, shown) if "u" in flags else {},
            ages=_ages(tree, shown) if args.colour_age else None,
            bold=bold,
            ns_changes="S" in flags,
            contexts=(
                ptscan.read_security_contexts(tree.subtree_ids(roots)) if "Z" in flags else None
            ),
        )
        if units is not None:
            from pidone.core.render import pstree_views

            text = pstree_views.render_units(tree, roots, units, options, by_pid)
        elif by_ns and args.ns_sort is not None:
            text = tree.render_by_namespace(args.ns_sort, options, by_pid)
        elif uid is not None:
            text = tree.render_user(uid, options, by_pid) or ""
        else:
            text = tree.render(pid, options, by_pid)
    out = sys.stdout.buffer
    out.write(text.encode("utf-8", "surrogateescape"))
    out.flush()
    return 0


def _attach_threads(tree: pstree.ProcTree, pids: Iterable[int], own_names: bool) -> None:
    for p in tree.threads_wanted(pids):
        tree.add_threads(p, ptscan.read_threads(p, own_names))


def _ages(tree: pstree.ProcTree, shown: Sequence[int]) -> dict[int, int]:
    starts = {p: st.starttime for p in shown if (st := tree.stat(p)) is not None}
    return ptscan.read_ages(starts, starts)
