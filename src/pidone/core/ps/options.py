"""ps command line -> Request: the procps subset pidone supports, parsed as procps does.

An argument starting with '-' is a UNIX option group (`-ef`, `-o pid,comm`, `-p1`);
`--long` options are GNU style; anything else is a BSD option group (`aux`, `axf`).
Selection follows src/ps/select.c: `a`, `x`, `-a`, `-d` pick rows from a bit table
indexed by (our euid, session leader, no tty, our tty); `-e`/`-A` or BSD `ax` take
everything; lists (-p, -u, -U, -C, ...) add rows. Formats follow sortformat.c.
"""

from __future__ import annotations

from pidone.core.ps.fields import FIELDS, MACROS

BSD_U_FORMAT = "user,pid,pcpu,pmem,vsz,rss,tname,stat,start_time,bsdtime,args"  # OL_u


class UsageError(Exception):
    """A command line ps cannot run (message in procps wording where it has one)."""


class Request:
    """Everything the command line asked for."""

    __slots__ = (
        "all",
        "bsd",
        "cumulative",
        "euids",
        "forest_type",
        "format_specs",
        "formats",
        "headers",
        "json",
        "names",
        "negate",
        "pids",
        "ppids",
        "ruids",
        "running_only",
        "select_bits",
        "selection",
        "sids",
        "simple",
        "sort",
        "unit",
        "unix_f",
        "user_names",
        "w_count",
    )

    def __init__(self) -> None:
        self.all = False
        self.bsd = False  # prefer_bsd_defaults
        self.cumulative = False  # BSD S: count dead children's CPU time
        self.simple: set[str] = set()  # "Ba", "Bx", "Bg", "Ua", "Ud"
        self.formats: list[str] = []  # format flags: "Uf", "Bu"
        self.format_specs: list[str] = []  # -o / --format arguments, in order
        self.pids: set[int] = set()
        self.ppids: set[int] = set()
        self.sids: set[int] = set()
        self.euids: set[int] = set()
        self.ruids: set[int] = set()
        self.user_names: list[tuple[str, str]] = []  # ("e"|"r", name) to resolve
        self.names: list[str] = []  # -C
        self.selection = False  # any list given
        self.sort: list[tuple[str, bool]] = []
        self.headers = True
        self.forest_type = ""
        self.unix_f = False
        self.w_count = 0
        self.json = False
        self.unit = False
        self.negate = False
        self.running_only = False
        self.select_bits = 0


def _int_list(value: str, what: str) -> set[int]:
    out: set[int] = set()
    for item in value.replace(",", " ").split():
        if not item.isdigit() or (int(item) == 0 and what != "session ID"):
            raise UsageError(f"process ID list syntax error ({value!r})")
        out.add(int(item))
    if not out:
        raise UsageError(f"list of {what}s must follow the option")
    return out


def _users(req: Request, value: str, kind: str) -> None:
    items = value.replace(",", " ").split()
    if not items:
        raise UsageError("user name list must follow the option")
    for item in items:
        if item.isdigit():
            (req.euids if kind == "e" else req.ruids).add(int(item))
        else:
            req.user_names.append((kind, item))
    req.selection = True


def _sort(req: Request, value: str) -> None:
    for item in value.replace(",", " ").split():
        reverse = item.startswith("-")
        name = item.lstrip("+-")
        if name not in FIELDS:
            raise UsageError(f"unknown sort specifier: {name}")
        req.sort.append((name, reverse))
    if not value.strip():
        raise UsageError("long sort specification must follow --sort")


_UNIX_WITH_VALUE = "opuUCgGst"


def _unix(req: Request, arg: str, rest: list[str]) -> None:
    i = 1
    while i < len(arg):
        ch = arg[i]
        if ch in _UNIX_WITH_VALUE:
            value = arg[i + 1 :]
            if not value:
                if not rest:
                    raise UsageError(f"option -{ch} requires an argument")
                value = rest.pop(0)
            if ch == "o":
                req.format_specs.append(value)
            elif ch == "p":
                req.pids |= _int_list(value, "process ID")
                req.selection = True
            elif ch == "s":
                req.sids |= _int_list(value, "session ID")
                req.selection = True
            elif ch == "u":
                _users(req, value, "e")
            elif ch == "U":
                _users(req, value, "r")
            elif ch == "C":
                req.names.extend(value.split(","))
                req.selection = True
            else:
                raise UsageError(f"unsupported option -{ch}")
            return
        if ch in "eA":
            req.all = True
        elif ch == "f":
            req.formats.append("Uf")
            req.unix_f = True
        elif ch == "H":
            req.forest_type = "u"
        elif ch == "a":
            req.simple.add("Ua")
        elif ch == "d":
            req.simple.add("Ud")
        elif ch == "w":
            req.w_count += 1
        elif ch == "N":
            req.negate = True
        elif ch == "r":
            req.running_only = True
        else:
            raise UsageError(f"unsupported option -{ch}")
        i += 1


def _bsd(req: Request, arg: str) -> None:
    req.bsd = True
    for ch in arg:
        if ch == "a":
            req.simple.add("Ba")
        elif ch == "x":
            req.simple.add("Bx")
        elif ch == "g":
            req.simple.add("Bg")
        elif ch == "u":
            req.formats.append("Bu")
        elif ch == "f":
            req.forest_type = "b"
        elif ch == "w":
            req.w_count += 1
        elif ch == "r":
            req.running_only = True
        elif ch == "S":
            req.cumulative = True  # include dead children's CPU time (output.c)
        elif ch == "-":
            continue
        else:
            raise UsageError(f"unsupported option (BSD syntax): {ch}")


_GNU_VALUE = {"--sort", "--format", "--pid", "--ppid", "--user", "--User", "--sid", "--cols"}


def parse_args(argv: list[str]) -> Request:
    """Parse a ps command line; raises UsageError."""
    req = Request()
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name in _GNU_VALUE and not eq:
                if not rest:
                    raise UsageError(f"option {name} requires an argument")
                value = rest.pop(0)
            if name == "--sort":
                _sort(req, value)
            elif name == "--format":
                req.format_specs.append(value)
            elif name == "--pid":
                req.pids |= _int_list(value, "process ID")
                req.selection = True
            elif name == "--ppid":
                req.ppids |= _int_list(value, "process ID")
                req.selection = True
            elif name == "--sid":
                req.sids |= _int_list(value, "session ID")
                req.selection = True
            elif name == "--user":
                _users(req, value, "e")
            elif name == "--User":
                _users(req, value, "r")
            elif name in ("--no-headers", "--no-heading", "--no-headings", "--no-header"):
                req.headers = False
            elif name == "--forest":
                req.forest_type = "g"
            elif name == "--unit":
                req.unit = True
            elif name == "--json":
                req.json = True
            elif name == "--deselect":
                req.negate = True
            else:
                raise UsageError(f"unknown gnu long option: {arg}")
        elif arg.startswith("-") and len(arg) > 1:
            _unix(req, arg, rest)
        elif arg:
            _bsd(req, arg)
    # `-o json` asks for JSON output (pidone extension); `unit` is a field too
    specs = []
    for spec in req.format_specs:
        if spec.strip() == "json":
            req.json = True
        else:
            specs.append(spec)
    req.format_specs = specs
    _select_bits(req)
    return req


def _select_bits(req: Request) -> None:
    # select.c select_bits_setup(); 'g' is implied unless -a/-d (Linux personality)
    simple = set(req.simple)
    if not simple and not req.bsd:
        req.select_bits = 0xAA00  # the standard selection: our euid and our tty
        return
    if not simple & {"Ua", "Ud"}:
        simple.add("Bg")
    key = frozenset(simple)
    table = {
        frozenset({"Ua", "Ud"}): 0x3F3F,
        frozenset({"Ua"}): 0x0303,
        frozenset({"Ud"}): 0x3333,
        frozenset({"Bg"}): 0x0A0A,
        frozenset({"Bg", "Ba"}): 0x0F0F,
        frozenset({"Bg", "Bx"}): 0xAAAA,
    }
    if key == {"Bg", "Bx", "Ba"}:
        req.all = True
        req.simple = set()
        return
    if key not in table:
        raise UsageError("process selection options conflict")
    req.select_bits = table[key]


def format_list(req: Request) -> list[tuple[str, str | None, int | None]]:
    """(field name, header override, width override) for each column, in order."""
    if req.format_specs:
        if req.formats:
            raise UsageError("conflicting format options")
        out: list[tuple[str, str | None, int | None]] = []
        for spec in req.format_specs:
            out.extend(parse_format(spec))
    elif "Bu" in req.formats and "Uf" not in req.formats:
        out = [(name, None, None) for name in BSD_U_FORMAT.split(",")]
    elif req.formats == [] or set(req.formats) == {"Uf"}:
        out = [(name, None, None) for name in _sysv_list(req)]
    else:
        raise UsageError("conflicting format options")
    if req.unit and not any(name == "unit" for name, _h, _w in out):
        at = len(out) - 1 if out and FIELDS[out[-1][0]].align == 4 else len(out)
        out.insert(at, ("unit", None, None))
    return out


def _sysv_list(req: Request) -> list[str]:
    # sortformat.c generate_sysv_list() for the no-flag, -f and BSD cases
    if req.bsd:
        tail = ["stat", "bsdtime", "cmd" if req.formats else "args"]
        head = ["pid", "tname"]
    else:
        tail = ["time", "cmd" if "Uf" in req.formats else "ucmd"]
        head = ["pid", "tname"]
    if "Uf" in req.formats:
        return ["uid_hack", "pid", "ppid", "c", "stime", "tname", *tail]
    return head + tail


def parse_format(spec: str) -> list[tuple[str, str | None, int | None]]:
    """sortformat.c format_parse(): `pid,user:12,args=COMMAND LINE`.

    Items are counted between separators (space, comma, tab, newline; one trailing
    separator is allowed); every item but the last ends at the next separator, and
    the last one runs to the end, so only it can carry a header with spaces.
    """
    seps = " ,\t\n"
    items = 0
    need_item = True
    for ch in spec:
        if ch in seps:
            if need_item:
                raise UsageError("improper format list")
            need_item = True
        else:
            if need_item:
                items += 1
            need_item = False
    if not items:
        raise UsageError("empty format list")
    walk = spec[:-1] if need_item else spec
    out: list[tuple[str, str | None, int | None]] = []
    for left in range(items - 1, -1, -1):
        cut = next((i for i, ch in enumerate(walk) if ch in seps), -1)
        if left and cut >= 0:
            item, walk = walk[:cut], walk[cut + 1 :]
        else:
            item, walk = walk, ""
        name, eq_sign, header = item.partition("=")
        name, colon, width_text = name.partition(":")
        width: int | None = None
        if colon:
            if not width_text.isdigit() or width_text.startswith("0"):
                raise UsageError("column widths must be unsigned decimal numbers")
            width = int(width_text)
        if name in MACROS:
            if colon:
                raise UsageError("can not set width for a macro (multi-column) format specifier")
            out.extend((n, header if eq_sign else None, None) for n in MACROS[name].split(","))
            continue
        if name not in FIELDS:
            raise UsageError(f'unknown user-defined format specifier "{name}"')
        out.append((name, header if eq_sign else None, width))
    return out
