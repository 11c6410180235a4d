"""The pure core makes no syscalls: enforce docs/design.md's import rules on the AST."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "pidone"

# Modules the pure core must never import (docs/design.md, "Boundary rules").
BANNED_IN_CORE = {
    "os",
    "subprocess",
    "socket",
    "selectors",
    "select",
    "fcntl",
    "ctypes",
    "threading",
    "asyncio",
    "time",
    "shutil",
    "pathlib",
    "io",
    "sqlite3",
    "glob",
    "tempfile",
    "signal",
    "multiprocessing",
    "mmap",
    "pwd",
    "grp",
    "resource",
    "termios",
    "pty",
    "platform",
}
# Built-in calls that do I/O or read the clock.
BANNED_CALLS = {"open", "input", "print", "exec", "eval", "__import__", "breakpoint"}
# Which pidone packages each layer may import (the architecture's table).
LAYERS = {"core", "linux", "journal", "daemon", "cli", "testing"}
ALLOWED_PIDONE = {
    "core": {"core"},
    "linux": {"core", "linux"},
    "journal": {"core", "journal"},
    "daemon": {"core", "linux", "journal", "daemon"},
    "cli": {"core", "linux", "journal", "cli"},
}


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("path", _modules("core"), ids=lambda p: str(p.relative_to(SRC)))
def test_core_imports_no_io_modules_and_calls_no_io_builtins(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    bad = [
        f"{path.name}:{line}: imports {name}"
        for line, name in _imports(tree)
        if name.split(".")[0] in BANNED_IN_CORE
    ]
    bad += [
        f"{path.name}:{node.lineno}: calls {node.func.id}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in BANNED_CALLS
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("layer", sorted(ALLOWED_PIDONE))
def test_layer_imports_only_lower_layers(layer: str) -> None:
    bad = []
    for path in _modules(layer):
        for line, name in _imports(ast.parse(path.read_text(), str(path))):
            parts = name.split(".")
            layered = parts[0] == "pidone" and len(parts) > 1 and parts[1] in LAYERS
            if layered and parts[1] not in ALLOWED_PIDONE[layer]:
                bad.append(f"{path.relative_to(SRC)}:{line}: {layer} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_checker_catches_a_banned_import(tmp_path: Path) -> None:
    """The rule itself can fail: a core module importing os is reported."""
    tree = ast.parse("import os\nfrom time import monotonic\nopen('x')\n")
    names = {name.split(".")[0] for _, name in _imports(tree)}
    assert names & BANNED_IN_CORE == {"os", "time"}
