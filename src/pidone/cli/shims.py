"""`pidone install-shims [--prefix DIR] [--symlink | --script] [--force] [--remove]`: put
`systemctl` and `journalctl` commands in DIR/bin (default /usr/local/bin) that run pidone as
those commands.

Two forms. A symbolic link to the `pidone` command (the launcher passes the link's name on,
docs/cli-launcher.md); when that command is the compiled launcher (csrc/pidone.c), the job
verbs of `systemctl` then cost ~1 ms instead of an interpreter's start-up, so that is the
default whenever the installed `pidone` is compiled. Otherwise a short Python script bound
to this interpreter (so it works from a virtualenv too), run with `-IS` and the package's
directory put on sys.path by the script; the dispatcher (cli.main) picks the systemctl or
journalctl face from argv[0]. `--symlink` and `--script` choose the form. An existing file
that is not a pidone shim is never overwritten unless --force.
"""

from __future__ import annotations

import os
import shutil
import sys

NAMES = ("systemctl", "journalctl")
MARKER = "# pidone shim"
USAGE = "usage: pidone install-shims [--prefix DIR] [--symlink | --script] [--force] [--remove]\n"


def shim_text(name: str, python: str, location: str | None = None) -> str:
    """The script installed as DIR/bin/NAME.

    It runs with `-IS` (no `site`: 4-6 ms of every call, see bin/pidone-py) and puts
    `location`, the directory holding the pidone package when the shim was made, on
    sys.path itself; should pidone have moved since, it falls back to `site`.
    """
    if location is None:
        import pidone

        location = os.path.dirname(os.path.dirname(os.path.abspath(pidone.__file__)))
    return (
        f"#!{python} -IS\n"
        f"{MARKER}: runs pidone as {name} (pidone install-shims)\n"
        "import sys\n"
        f"sys.path.append({location!r})\n"
        "try:\n"
        "    from pidone.cli.main import main\n"
        "except ModuleNotFoundError:\n"
        "    import site\n"
        "\n"
        "    site.main()\n"
        "    from pidone.cli.main import main\n"
        f"sys.argv[0] = {name!r}\n"
        "sys.exit(main())\n"
    )


def is_shim(path: str) -> bool:
    """True for a file this command made (script with the marker, or a link to pidone)."""
    if os.path.islink(path):
        return os.path.basename(os.readlink(path)) == "pidone"
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(512)
    except OSError:
        return False
    return MARKER in head


def pidone_command() -> str | None:
    """The installed `pidone` command: next to this interpreter (a venv, a prefix), else on
    PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "pidone")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("pidone")


def is_compiled(path: str) -> bool:
    """An ELF executable (elf(5): the file starts with 0x7f 'E' 'L' 'F'), not a script."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def install(
    prefix: str,
    *,
    symlink: bool | None = None,
    force: bool = False,
    command: str | None = None,
) -> list[str]:
    """Create the shims; returns the paths made. Raises OSError/FileExistsError.

    `symlink` None: links when `command` (default: pidone_command()) is compiled."""
    bindir = os.path.join(prefix, "bin")
    os.makedirs(bindir, exist_ok=True)
    made = []
    found = command if command is not None else pidone_command()
    if symlink is None:
        symlink = found is not None and is_compiled(found)
    target = os.path.abspath(found) if symlink and found is not None else None
    if symlink and target is None:
        raise FileNotFoundError("the pidone command is not on PATH; use --script")
    for name in NAMES:
        path = os.path.join(bindir, name)
        if os.path.lexists(path):
            if not force and not is_shim(path):
                raise FileExistsError(f"{path} exists and is not a pidone shim (use --force)")
            os.unlink(path)
        if target is not None:
            os.symlink(target, path)
        else:
            tmp = path + ".pidone-tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(shim_text(name, sys.executable))
            os.chmod(tmp, 0o755)
            os.replace(tmp, path)
        made.append(path)
    return made


def remove(prefix: str) -> list[str]:
    """Delete the shims this command made; other files stay."""
    gone = []
    for name in NAMES:
        path = os.path.join(prefix, "bin", name)
        if os.path.lexists(path) and is_shim(path):
            os.unlink(path)
            gone.append(path)
    return gone


def main(argv: list[str]) -> int:
    prefix = "/usr/local"
    symlink: bool | None = None
    force = undo = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--prefix" and i < len(argv):
            prefix = argv[i]
            i += 1
        elif arg.startswith("--prefix="):
            prefix = arg.split("=", 1)[1]
        elif arg == "--symlink":
            symlink = True
        elif arg == "--script":
            symlink = False
        elif arg == "--force":
            force = True
        elif arg == "--remove":
            undo = True
        elif arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        else:
            sys.stderr.write(f"pidone install-shims: unrecognized argument '{arg}'\n{USAGE}")
            return 2
    try:
        if undo:
            for path in remove(prefix):
                sys.stdout.write(f"Removed {path}.\n")
            return 0
        for path in install(prefix, symlink=symlink, force=force):
            sys.stdout.write(f"Created {path}.\n")
    except OSError as exc:
        sys.stderr.write(f"pidone install-shims: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - until the dispatcher has the verb
    sys.exit(main(sys.argv[1:]))
