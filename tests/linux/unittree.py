"""Build unit trees under a scratch root for loader, install and differential tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ETC = "etc/systemd/system"
RUN = "run/systemd/system"
LIB = "lib/systemd/system"
USR = "usr/lib/systemd/system"


class Tree:
    """A root directory with the usual unit directories; paths are relative to the root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for d in (ETC, LIB, USR):
            (root / d).mkdir(parents=True, exist_ok=True)

    def write(self, rel: str, text: str | bytes = "") -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    def link(self, rel: str, target: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
        return path

    def unit(self, name: str, body: str = "", where: str = LIB) -> Path:
        return self.write(f"{where}/{name}", body)

    def p(self, rel: str) -> str:
        return str(self.root / rel)

    def snapshot(self) -> list[tuple[str, str]]:
        """Every entry under the root with its symlink target ("" for files and dirs)."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, self.root)
                target = os.readlink(full) if os.path.islink(full) else ""
                out.append((rel, target))
        return sorted(out)


def copy_tree(src: Path, dst: Path) -> Tree:
    shutil.copytree(src, dst, symlinks=True)
    return Tree(dst)


def have_systemctl() -> bool:
    return shutil.which("systemctl") is not None


def run_systemctl(root: Path, args: list[str]) -> tuple[str, str, int]:
    """systemctl --root=ROOT ARGS (offline: never talks to a manager)."""
    proc = subprocess.run(
        ["systemctl", f"--root={root}", *args],
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SYSTEMD_LOG_COLOR": "0",
            "SYSTEMD_COLORS": "0",
            "SYSTEMD_PAGER": "",
            "LANG": "C.UTF-8",
        },
        timeout=30,
        check=False,
    )
    return proc.stdout, proc.stderr, proc.returncode


def run_pidone(root: Path, args: list[str]) -> tuple[str, str, int]:
    """pidone --root=ROOT ARGS, in-process (same argv handling as the console script)."""
    import contextlib
    import io
    import sys

    from pidone.cli.main import main

    err = io.StringIO()

    class _Buffered(io.StringIO):
        @property
        def buffer(self) -> io.BytesIO:  # cat writes bytes
            return _BytesSink(self)

    class _BytesSink(io.BytesIO):
        def __init__(self, text: io.StringIO) -> None:
            super().__init__()
            self._text = text

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self._text.write(bytes(data).decode("utf-8", "surrogateescape"))
            return len(data)

    out = _Buffered()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([f"--root={root}", *args])
        sys.stdout.flush()
    return out.getvalue(), err.getvalue(), rc


def run_pidone_process(root: Path, args: list[str]) -> tuple[str, str, int]:
    """pidone --root=ROOT ARGS as a child process (when helpers it runs write to fd 1/2)."""
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "pidone", f"--root={root}", *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        timeout=60,
        check=False,
    )
    return proc.stdout, proc.stderr, proc.returncode
