"""`pidone journal` (and the `journalctl` shim): read the journal with journalctl's options.

The CLI reads the SQLite journal directly and read-only (WAL readers never block the
daemon's writer), as journalctl reads journal files: it works while the daemon is down.
Where the journal lives: `--file PATH`, else `<state dir>/journal.sqlite` for
`--state-dir`/`PIDONE_STATE_DIR`, else the path the daemon recorded in
`<runtime dir>/journal.path` (`--runtime-dir`/`PIDONE_RUNTIME_DIR`, default /run/pidone),
else /var/lib/pidone/journal.sqlite.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Iterator

from pidone.core.errors import ValueParseError
from pidone.core.journal import format_cursor, parse_cursor, parse_priority
from pidone.core.render.journal import ALL_MODES, format_entries

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

DEFAULT_STATE_DIR = "/var/lib/pidone"
DEFAULT_RUNTIME_DIR = "/run/pidone"
JOURNAL_FILE = "journal.sqlite"

HELP = """usage: pidone journal [OPTIONS...] [MATCHES...]

  -u --unit=UNIT          Show logs from the specified unit (globs, repeatable)
  -t --identifier=ID      Show entries with the specified syslog identifier
  -p --priority=RANGE     Show entries with the specified priority (err, 0..3, ...)
  -g --grep=PATTERN       Show entries with MESSAGE matching PATTERN
     --case-sensitive[=BOOL]
  -S --since=DATE         Show entries not older than the specified date
  -U --until=DATE         Show entries not newer than the specified date
  -b --boot[=ID]          Show current boot (all boots are the current one here)
  -n --lines[=INTEGER]    Number of journal entries to show (default 10)
  -f --follow             Follow the journal
  -r --reverse            Show the newest entries first
  -o --output=STRING      short, short-iso, short-iso-precise, short-precise, short-unix,
                          short-monotonic, short-full, with-unit, cat, json, json-pretty,
                          json-seq, json-sse, export, verbose
     --output-fields=LIST
  -c --cursor=CURSOR      Show entries starting at the specified cursor
     --after-cursor=CURSOR
     --show-cursor        Print the cursor after all the entries
  -a --all  -l --full  --no-pager  -q --quiet  --utc  --no-hostname
     --disk-usage         Show total disk usage of the journal
     --vacuum-size=BYTES  Reduce disk usage below specified size
     --file=PATH  --state-dir=DIR  --runtime-dir=DIR
"""


class UsageError(Exception):
    pass


class Options:
    def __init__(self) -> None:
        self.units: list[str] = []
        self.identifiers: list[str] = []
        self.matches: list[tuple[str, bytes]] = []
        self.priority = (0, 7)
        self.grep: str | None = None
        self.case_sensitive: bool | None = None
        self.since: str | None = None
        self.until: str | None = None
        self.lines: int | None = None
        self.follow = False
        self.reverse = False
        self.output = "short"
        self.output_fields: list[str] | None = None
        self.cursor: str | None = None
        self.after_cursor: str | None = None
        self.show_cursor = False
        self.show_all = False
        self.quiet = False
        self.utc = False
        self.hostname = True
        self.disk_usage = False
        self.vacuum_size: int | None = None
        self.file: str | None = None
        self.state_dir: str | None = None
        self.runtime_dir: str | None = None


_LONG_WITH_VALUE = {
    "--unit": "u",
    "--identifier": "t",
    "--priority": "p",
    "--grep": "g",
    "--since": "S",
    "--until": "U",
    "--output": "o",
    "--cursor": "c",
    "--after-cursor": "after-cursor",
    "--output-fields": "output-fields",
    "--vacuum-size": "vacuum-size",
    "--file": "file",
    "--state-dir": "state-dir",
    "--runtime-dir": "runtime-dir",
}
_SHORT_WITH_VALUE = set("utpgSUoc")


def _unit_name(text: str) -> str:
    """journalctl -u mangles a bare name into NAME.service (globs kept).

    journalctl calls unit_name_mangle_with_suffix(UNIT_NAME_MANGLE_GLOB, ".service"): the
    suffix is added unless the name already ends in a unit type, so `php8.2-fpm` (a dot
    but no type) is `php8.2-fpm.service` (journalctl(1) -u; systemd.unit(5) "unit name").
    """
    from pidone.core.errors import InvalidUnitName
    from pidone.core.unitname import mangle_unit_name

    try:
        return mangle_unit_name(text, allow_globs=True).name
    except InvalidUnitName as exc:
        raise UsageError(f"Failed to mangle unit name: {exc}") from None


def _parse_lines(word: str) -> int | None:
    if word == "all":
        return None
    if word.lstrip("+").isdigit():
        return int(word.lstrip("+"))
    raise UsageError(f"Failed to parse lines '{word}'")


def parse_args(argv: list[str]) -> Options:
    opts = Options()
    args = list(argv)
    i = 0

    def take(name: str, value: str) -> None:
        if name == "u":
            opts.units.append(_unit_name(value))
        elif name == "t":
            opts.identifiers.append(value)
        elif name == "p":
            try:
                opts.priority = parse_priority(value)
            except ValueError:
                raise UsageError(f"Unknown log level {value}") from None
        elif name == "g":
            opts.grep = value
        elif name == "S":
            opts.since = value
        elif name == "U":
            opts.until = value
        elif name == "o":
            if value not in ALL_MODES:
                raise UsageError(f"Unknown output format '{value}'.")
            opts.output = value
        elif name == "c":
            opts.cursor = value
        elif name == "after-cursor":
            opts.after_cursor = value
        elif name == "output-fields":
            opts.output_fields = [f for f in value.split(",") if f]
        elif name == "vacuum-size":
            from pidone.core.values import parse_size

            try:
                opts.vacuum_size = parse_size(value)
            except ValueError:
                raise UsageError(f"Failed to parse vacuum size: {value}") from None
        elif name == "file":
            opts.file = value
        elif name == "state-dir":
            opts.state_dir = value
        elif name == "runtime-dir":
            opts.runtime_dir = value

    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--"):
            key, eq, value = arg.partition("=")
            if key in _LONG_WITH_VALUE:
                if not eq:
                    if i >= len(args):
                        raise UsageError(f"option '{key}' requires an argument")
                    value = args[i]
                    i += 1
                take(_LONG_WITH_VALUE[key], value)
            elif key == "--lines":
                if eq:
                    opts.lines = _parse_lines(value)
                elif i < len(args) and (args[i].lstrip("+").isdigit() or args[i] == "all"):
                    opts.lines = _parse_lines(args[i])
                    i += 1
                else:
                    opts.lines = 10
            elif key == "--case-sensitive":
                opts.case_sensitive = not eq or value.lower() in ("1", "yes", "true", "on")
            elif key == "--follow":
                opts.follow = True
            elif key == "--reverse":
                opts.reverse = True
            elif key == "--show-cursor":
                opts.show_cursor = True
            elif key == "--all":
                opts.show_all = True
            elif key == "--quiet":
                opts.quiet = True
            elif key == "--utc":
                opts.utc = True
            elif key == "--no-hostname":
                opts.hostname = False
            elif key == "--disk-usage":
                opts.disk_usage = True
            elif key == "--boot":
                pass  # one boot per journal database: the current one
            elif key in ("--no-pager", "--full", "--no-full", "--merge", "--pager-end"):
                if key == "--pager-end" and opts.lines is None:
                    opts.lines = 1000
            elif key == "--help":
                sys.stdout.write(HELP)
                raise SystemExit(0)
            else:
                raise UsageError(f"unrecognized option '{arg}'")
        elif arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                flag = arg[j]
                j += 1
                if flag in _SHORT_WITH_VALUE:
                    value = arg[j:]
                    if not value:
                        if i >= len(args):
                            raise UsageError(f"option requires an argument -- '{flag}'")
                        value = args[i]
                        i += 1
                    take(flag, value)
                    break
                if flag == "n":
                    rest = arg[j:]
                    if rest:
                        opts.lines = _parse_lines(rest)
                    elif i < len(args) and (args[i].lstrip("+").isdigit() or args[i] == "all"):
                        opts.lines = _parse_lines(args[i])
                        i += 1
                    else:
                        opts.lines = 10
                    break
                if flag == "f":
                    opts.follow = True
                elif flag == "r":
                    opts.reverse = True
                elif flag == "a":
                    opts.show_all = True
                elif flag == "q":
                    opts.quiet = True
                elif flag == "e":
                    if opts.lines is None:
                        opts.lines = 1000
                elif flag == "b":
                    rest = arg[j:]
                    if not rest and i < len(args) and _looks_like_boot_id(args[i]):
                        i += 1
                    break
                elif flag in ("l", "x", "m"):
                    pass
                elif flag == "h":
                    sys.stdout.write(HELP)
                    raise SystemExit(0)
                else:
                    raise UsageError(f"invalid option -- '{flag}'")
        else:
            # FIELD=VALUE matches: the common one, _SYSTEMD_UNIT=, maps onto -u.
            name, eq, value = arg.partition("=")
            if eq and name in ("_SYSTEMD_UNIT", "UNIT"):
                opts.units.append(value)
            elif eq and name == "SYSLOG_IDENTIFIER":
                opts.identifiers.append(value)
            elif eq and name and all(c.isupper() or c.isdigit() or c == "_" for c in name):
                # any other field (INVOCATION_ID=, _SYSTEMD_INVOCATION_ID=, _PID=, ...)
                opts.matches.append((name, value.encode()))
            else:
                raise UsageError(f"unsupported match '{arg}' (use -u, -t or -p)")
    return opts


def journal_path(opts: Options) -> str:
    if opts.file:
        return opts.file
    state = opts.state_dir or os.environ.get("PIDONE_STATE_DIR")
    if state:
        return os.path.join(state, JOURNAL_FILE)
    runtime = opts.runtime_dir or os.environ.get("PIDONE_RUNTIME_DIR") or DEFAULT_RUNTIME_DIR
    try:
        with open(os.path.join(runtime, "journal.path"), encoding="utf-8") as f:
            recorded = f.read().strip()
        if recorded:
            return recorded
    except OSError:
        pass
    return os.path.join(DEFAULT_STATE_DIR, JOURNAL_FILE)


def _looks_like_boot_id(word: str) -> bool:
    """`-b` takes an optional ID or offset: a signed number or 32 hex digits."""
    digits = word[1:] if word[:1] in "+-" else word
    hexdigits = "0123456789abcdef"
    return digits.isdigit() or (len(word) == 32 and all(c in hexdigits for c in word))


def _grep_pattern(opts: Options) -> re.Pattern[bytes] | None:
    if opts.grep is None:
        return None
    import re

    # journalctl's smart case: case-insensitive unless the pattern has an upper-case letter.
    sensitive = opts.case_sensitive
    if sensitive is None:
        sensitive = any(ch.isupper() for ch in opts.grep)
    try:
        return re.compile(opts.grep.encode(), 0 if sensitive else re.IGNORECASE)
    except re.error as exc:
        raise UsageError(f'Failed to compile pattern "{opts.grep}": {exc}') from None


def main(argv: list[str]) -> int:
    try:
        opts = parse_args(argv)
        grep = _grep_pattern(opts)
        now = time.time_ns() // 1000
        since = until = None
        if opts.since or opts.until:
            from pidone.core.timestamp import parse_timestamp

            since = parse_timestamp(opts.since, now) if opts.since else None
            until = parse_timestamp(opts.until, now) if opts.until else None
    except (UsageError, ValueParseError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    path = journal_path(opts)
    from pidone.journal.store import JournalReader, Query

    if not os.path.exists(path):
        if opts.disk_usage:
            sys.stdout.write("Archived and active journals take up 0B in the file system.\n")
            return 0
        if not opts.quiet and not opts.follow:
            sys.stdout.write("-- No entries --\n")
        if not opts.follow:
            return 1 if grep is not None else 0
        _wait_for_file(path)
    reader = JournalReader(path)
    if opts.disk_usage:
        from pidone.core.render.journal import format_bytes

        size = format_bytes(reader.disk_usage())
        sys.stdout.write(f"Archived and active journals take up {size} in the file system.\n")
        return 0
    if opts.vacuum_size is not None:
        return _vacuum(path, opts.vacuum_size)

    after = parse_cursor(opts.after_cursor) if opts.after_cursor else None
    start = parse_cursor(opts.cursor) if opts.cursor else None
    lines = opts.lines
    if opts.follow and lines is None:
        lines = 10
    query = Query(
        units=opts.units,
        identifiers=opts.identifiers,
        priority=opts.priority,
        since_usec=since,
        until_usec=until,
        after_seq=after,
        from_seq=start,
        last=lines,
        reverse=opts.reverse and not opts.follow,
        grep=grep,
        matches=opts.matches,
    )
    seqnum_id = reader.seqnum_id()
    newest_before = reader.last_seq()
    out = sys.stdout.buffer
    shown = 0
    last_seq = 0
    last_cursor = ""
    for chunk, entry_seq, cursor in _render(reader, query, opts, seqnum_id):
        out.write(chunk)
        shown += 1
        last_seq, last_cursor = entry_seq, cursor
    if shown == 0 and not opts.quiet and not opts.follow:
        out.write(b"-- No entries --\n")
    if opts.show_cursor and last_cursor:
        out.write(f"-- cursor: {last_cursor}\n".encode())
    out.flush()
    if not opts.follow:
        return 1 if (grep is not None and shown == 0) else 0
    return _follow(reader, query, opts, seqnum_id, max(last_seq, newest_before))


def _render(
    reader: object, query: object, opts: Options, seqnum_id: str
) -> Iterator[tuple[bytes, int, str]]:
    from pidone.journal.store import JournalReader, Query

    assert isinstance(reader, JournalReader)
    assert isinstance(query, Query)
    for entry in reader.entries(query):
        cursor = format_cursor(seqnum_id, entry)
        for chunk in format_entries(
            [(entry, cursor)],
            opts.output,
            utc=opts.utc,
            show_all=opts.show_all,
            hostname=opts.hostname,
            output_fields=opts.output_fields,
        ):
            yield chunk, entry.seqnum, cursor


def _wait_for_file(path: str) -> None:
    from pidone.linux import inotify

    directory = os.path.dirname(path) or "."
    fd = inotify.open_inotify()
    try:
        inotify.add_watch(fd, directory, inotify.IN_CREATE)
        while not os.path.exists(path):
            select.select([fd], [], [])
            inotify.drain(fd)
    finally:
        os.close(fd)


def _follow(reader: object, query: object, opts: Options, seqnum_id: str, after: int) -> int:
    """Print new entries as they are committed; woken by inotify on the WAL, never polled."""
    from pidone.journal.store import JournalReader, Query
    from pidone.linux import inotify

    assert isinstance(reader, JournalReader)
    assert isinstance(query, Query)
    fd = inotify.open_inotify()
    directory = os.path.dirname(reader.path) or "."
    inotify.add_watch(fd, directory, inotify.IN_MODIFY | inotify.IN_CREATE)
    out = sys.stdout.buffer
    try:
        while True:
            follow_q = query.replace(last=None, after_seq=after, reverse=False)
            for chunk, entry_seq, _ in _render(reader, follow_q, opts, seqnum_id):
                out.write(chunk)
                after = entry_seq
            out.flush()
            readable, _, _ = select.select([fd], [], [])
            if readable:
                inotify.drain(fd)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:
        os.close(fd)


def _vacuum(path: str, max_bytes: int) -> int:
    from pidone.journal.store import vacuum_to_size

    freed = vacuum_to_size(path, max_bytes)
    from pidone.core.render.journal import format_bytes

    sys.stdout.write(
        f"Vacuuming done, freed {format_bytes(freed)} of archived journals from "
        f"{os.path.dirname(path) or '.'}.\n"
    )
    return 0
