#!/usr/bin/env python3
"""Generate src/pidone/core/syscallsets.py and src/pidone/core/kernelnames.py.

Both are plain data that pidone's unit parser needs to read the seccomp settings of
systemd.exec(5) the way systemd 252 does:

* syscallsets.py: the system call groups (`@default`, `@system-service`, ...) as this
  machine's `systemd-analyze syscall-filter` (systemd 252) prints them, members in its
  order; and KNOWN_SYSCALLS, every name that libseccomp resolves
  (seccomp_syscall_resolve_name() != __NR_SCMP_ERROR), which 252 asks at parse time;
  RENAMES for names that come back under another name when the number is resolved for
  the native architecture (what `systemctl show` prints).
* kernelnames.py: errno names (systemd's errno-list: every `E*` macro of <errno.h>) and
  address family names (systemd's af-list: every `AF_*` macro of <sys/socket.h> defined
  as another `AF_`/`PF_` macro), with their numbers, as the C preprocessor gives them.

Usage (root not needed; reads tools and headers only):

    .venv/bin/python scripts/gen_syscallsets.py          # rewrite both modules
    .venv/bin/python scripts/gen_syscallsets.py --check  # exit 1 if they are stale

Needs `systemd-analyze` (systemd 252), /lib/x86_64-linux-gnu/libseccomp.so.2 and `cpp`.
"""

from __future__ import annotations

import argparse
import ctypes
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSCALLSETS = ROOT / "src" / "pidone" / "core" / "syscallsets.py"
KERNELNAMES = ROOT / "src" / "pidone" / "core" / "kernelnames.py"
LIBSECCOMP = "/lib/x86_64-linux-gnu/libseccomp.so.2"
SCMP_ARCH_NATIVE = 0
NR_SCMP_ERROR = -1


def _run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def read_groups(text: str) -> dict[str, list[str]]:
    """The groups of `systemd-analyze syscall-filter`: a line `@name`, a `# help` line,
    then one indented member per line; the trailing `# ...` lists are not groups."""
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif not line.strip() or line.startswith("#"):
            current = None
        elif current is not None and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


class Seccomp:
    def __init__(self) -> None:
        lib = ctypes.CDLL(LIBSECCOMP)
        self._name = lib.seccomp_syscall_resolve_name
        self._name.argtypes = [ctypes.c_char_p]
        self._name.restype = ctypes.c_int
        self._num = lib.seccomp_syscall_resolve_num_arch
        self._num.argtypes = [ctypes.c_uint32, ctypes.c_int]
        self._num.restype = ctypes.c_void_p  # malloc()ed; the few bytes are left to exit
        version = lib.seccomp_version
        version.restype = ctypes.POINTER(ctypes.c_uint * 3)
        v = version().contents
        self.version = f"{v[0]}.{v[1]}.{v[2]}"

    def resolve(self, name: str) -> int:
        return int(self._name(name.encode()))

    def name_of(self, number: int) -> str | None:
        p = self._num(SCMP_ARCH_NATIVE, number)
        return ctypes.string_at(p).decode() if p else None


def cpp_macros(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    text = _run("cpp", "-dM", "-include", header, "/dev/null")
    for m in re.finditer(r"^#define[ \t]+(\w+)[ \t]+(.+)$", text, re.M):
        out[m.group(1)] = m.group(2).strip()
    return out


def _value(macros: dict[str, str], name: str) -> int:
    seen = 0
    v = macros[name]
    while not v.lstrip("-").isdigit():
        v = macros[v]
        seen += 1
        if seen > 8:
            raise ValueError(name)
    return int(v)


def errno_names() -> dict[str, int]:
    macros = cpp_macros("errno.h")
    names = [
        n for n in macros if re.fullmatch(r"E[^ _]+", n) and n not in ("ECANCELLED", "EREFUSED")
    ]
    return {n: _value(macros, n) for n in sorted(names)}


def af_names() -> dict[str, int]:
    macros = cpp_macros("sys/socket.h")
    names = [
        n
        for n, v in macros.items()
        if n.startswith("AF_")
        and re.fullmatch(r"[AP]F_\S+", v)
        and n not in ("AF_UNSPEC", "AF_MAX")
    ]
    return {n: _value(macros, n) for n in sorted(names)}


def _tuple(items: list[str], indent: str) -> str:
    lines = [f"{indent}    {item!r}," for item in items]
    return "(\n" + "\n".join(lines) + f"\n{indent})"


_EXPAND = '''

def expand(name: str) -> tuple[str, ...]:
    """A group's system calls, its @groups expanded, each once, in order."""
    out: list[str] = []
    seen: set[str] = set()

    def walk(n: str) -> None:
        for m in SETS.get(n, ()):
            if m.startswith("@"):
                walk(m)
            elif m not in seen:
                seen.add(m)
                out.append(m)

    walk(name)
    return tuple(out)
'''


def render_syscallsets(analyze: str, seccomp: Seccomp) -> str:
    groups = read_groups(analyze)
    candidates: set[str] = {m for ms in groups.values() for m in ms if not m.startswith("@")}
    for number in range(0, 1025):
        name = seccomp.name_of(number)
        if name:
            candidates.add(name)
    known = sorted(n for n in candidates if seccomp.resolve(n) != NR_SCMP_ERROR)
    renames = {}
    for n in known:
        back = seccomp.name_of(seccomp.resolve(n))
        if back != n and back is not None:
            renames[n] = back
    version = _run("systemd-analyze", "--version").splitlines()[0]
    parts = [
        '"""systemd 252\'s system call groups (@default, @system-service, ...) and the system call',
        "names libseccomp knows. GENERATED by scripts/gen_syscallsets.py: do not edit.",
        "",
        f"SETS is `systemd-analyze syscall-filter` of {version}, each group's members",
        "(system calls and @group references) in the order it lists them. KNOWN_SYSCALLS are",
        "the names for which libseccomp's seccomp_syscall_resolve_name() does not answer",
        f"__NR_SCMP_ERROR (libseccomp {seccomp.version}, x86-64): the group members and every",
        "name of system calls 0..1024 of the native architecture. systemd 252 warns",
        '"Failed to parse system call, ignoring: NAME" for any other name in a unit file.',
        "RENAMES: a known name whose number libseccomp names differently on the native",
        "architecture (`systemctl show` prints the latter).",
        "",
        "Regenerate (after a systemd or libseccomp upgrade):",
        "    .venv/bin/python scripts/gen_syscallsets.py",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "SETS: dict[str, tuple[str, ...]] = {",
    ]
    for name, members in groups.items():
        parts.append(f"    {name!r}: {_tuple(members, '    ')},")
    parts.append("}")
    parts.append("")
    parts.append(f"KNOWN_SYSCALLS: frozenset[str] = frozenset({_tuple(known, '')})")
    parts.append("")
    parts.append(f"RENAMES: dict[str, str] = {renames!r}")
    return "\n".join(parts) + "\n" + _EXPAND


def render_kernelnames() -> str:
    errnos = errno_names()
    afs = af_names()
    # errno_to_name(): the aliases EDEADLOCK, EWOULDBLOCK, ENOTSUP never name a number
    errno_by_number = {
        v: n
        for n, v in sorted(errnos.items(), key=lambda kv: kv[1])
        if n not in ("EDEADLOCK", "EWOULDBLOCK", "ENOTSUP")
    }
    # af_to_name(): AF_FILE, AF_ROUTE, AF_LOCAL never name a number
    af_by_number = {
        v: n
        for n, v in sorted(afs.items(), key=lambda kv: kv[1])
        if n not in ("AF_FILE", "AF_ROUTE", "AF_LOCAL")
    }
    parts = [
        '"""errno and address family names with their Linux numbers, as systemd 252 knows them.',
        "GENERATED by scripts/gen_syscallsets.py: do not edit.",
        "",
        "ERRNOS: every `E*` macro of <errno.h> (systemd's errno-list, ECANCELLED and EREFUSED",
        "left out), for errno_from_name(); ERRNO_NAMES: the name of each number, for",
        "errno_to_name() (the aliases EDEADLOCK, EWOULDBLOCK and ENOTSUP never win).",
        "ADDRESS_FAMILIES: every `AF_*` macro of <sys/socket.h> defined as another AF_/PF_",
        "macro, AF_UNSPEC and AF_MAX left out (systemd's af-list), for af_from_name();",
        "AF_NAMES: the name of each number, for af_to_name() (not AF_FILE, AF_ROUTE, AF_LOCAL).",
        "Read from `cpp -dM` on this machine's glibc headers.",
        "",
        "Regenerate: .venv/bin/python scripts/gen_syscallsets.py",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"ERRNOS: dict[str, int] = {errnos!r}",
        "",
        f"ERRNO_NAMES: dict[int, str] = {errno_by_number!r}",
        "",
        f"ADDRESS_FAMILIES: dict[str, int] = {afs!r}",
        "",
        f"AF_NAMES: dict[int, str] = {af_by_number!r}",
    ]
    return "\n".join(parts) + "\n"


def _format(text: str, path: Path) -> str:
    ruff = ROOT / ".venv" / "bin" / "ruff"
    if not ruff.exists():
        return text
    res = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(path), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return res.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only say whether the files are stale")
    args = ap.parse_args()
    analyze = _run("systemd-analyze", "syscall-filter", "--no-pager")
    outputs = {
        SYSCALLSETS: _format(render_syscallsets(analyze, Seccomp()), SYSCALLSETS),
        KERNELNAMES: _format(render_kernelnames(), KERNELNAMES),
    }
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(outputs[p])
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
