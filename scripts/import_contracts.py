#!/usr/bin/env python3
"""Check the package's import contracts: the layers of docs/design.md, stdlib only.

The contracts live in pyproject.toml under `[tool.importlinter]`, in import-linter's own
format (https://import-linter.readthedocs.io/), so either tool reads them. This checker
replaces import-linter as a test dependency: it has to work where only the machine's
local package index answers, and import-linter (with grimp, a compiled extension) is not
there. It understands the two contract types pyproject.toml uses:

- `layers`: a module of a lower layer never imports one of a higher layer, directly or
  through any chain of the package's modules. Siblings written `a | b` are independent:
  neither reaches the other. (`a : b` would be siblings that may import each other.)
- `forbidden`: `source_modules` never import `forbidden_modules`; only direct imports count
  when `allow_indirect_imports` is true.

What counts as an import, as in grimp: every `import` and `from ... import` statement in a
module, at any depth (in functions, under `if TYPE_CHECKING:`), relative ones resolved.
`from pkg import name` imports `pkg.name` when that is a module, else `pkg`. An import of a
module outside the package counts as its top-level package (`os.path` is `os`).

Usage: scripts/import_contracts.py [--pyproject FILE] [--src DIR]
Exit status 0 when every contract is kept, 1 when one is broken, 2 on a configuration error.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any


class ContractError(Exception):
    """The configuration names something that does not exist or is not understood."""


@dataclass
class ImportGraph:
    """Modules of one package and, for each, the modules it imports (with line numbers)."""

    modules: set[str] = field(default_factory=set)
    edges: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, importer: str, imported: str, line: int) -> None:
        if importer != imported:
            self.edges.setdefault(importer, {}).setdefault(imported, line)

    def within(self, name: str) -> set[str]:
        """`name` and every module below it."""
        return {m for m in self.modules if m == name or m.startswith(name + ".")}

    def chain(self, sources: set[str], targets: set[str]) -> list[str] | None:
        """The shortest import chain from a module of `sources` to one of `targets`."""
        parent: dict[str, str | None] = {s: None for s in sorted(sources)}
        queue = deque(sorted(sources))
        while queue:
            module = queue.popleft()
            for imported in sorted(self.edges.get(module, {})):
                if imported in parent:
                    continue
                parent[imported] = module
                if imported in targets:
                    path = [imported]
                    step: str | None = module
                    while step is not None:
                        path.append(step)
                        step = parent[step]
                    return path[::-1]
                queue.append(imported)
        return None


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def build_graph(src: Path, root_package: str) -> ImportGraph:
    """Parse every module of `root_package` under `src` and record what each imports."""
    package_dir = src / root_package
    if not (package_dir / "__init__.py").is_file():
        raise ContractError(f"{package_dir}: not a package (no __init__.py)")
    files = {_module_name(p, src): p for p in sorted(package_dir.rglob("*.py"))}
    graph = ImportGraph(modules=set(files))
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_bytes(), filename=str(path))
        for node in ast.walk(tree):
            for imported, line in _imports_of(node, module, is_package, graph.modules):
                if imported.split(".")[0] != root_package:
                    imported = imported.split(".")[0]  # external: its top-level package
                elif imported not in graph.modules:
                    raise ContractError(f"{path}:{line}: imports {imported}, which is not a module")
                graph.add(module, imported, line)
    return graph


def _imports_of(
    node: ast.AST, module: str, is_package: bool, modules: set[str]
) -> Iterable[tuple[str, int]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, node.lineno
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            # `from . import x` in pkg/__init__.py is relative to pkg, in pkg/mod.py to pkg too.
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        for alias in node.names:
            candidate = f"{prefix}.{alias.name}"
            yield (candidate if candidate in modules else prefix), node.lineno


@dataclass
class Result:
    name: str
    broken: list[str]


def _names(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContractError(f"{what}: expected a list of module names, got {value!r}")
    return value


def _existing(graph: ImportGraph, name: str, contract: str) -> set[str]:
    found = graph.within(name)
    if not found:
        raise ContractError(f"contract {contract!r}: no module {name}")
    return found


def _describe(graph: ImportGraph, chain: Sequence[str]) -> str:
    steps = [f"{a} -> {b} (l.{graph.edges[a][b]})" for a, b in pairwise(chain)]
    return ", ".join(steps)


def check_layers(graph: ImportGraph, name: str, spec: Mapping[str, Any]) -> Result:
    levels: list[tuple[list[str], bool]] = []  # (siblings, independent)
    for level in _names(spec.get("layers"), f"contract {name!r}: layers"):
        independent = ":" not in level
        siblings = [s.strip() for s in level.replace(":", "|").split("|")]
        levels.append((siblings, independent))
    members = {s: _existing(graph, s, name) for siblings, _ in levels for s in siblings}
    broken: list[str] = []
    for high, (higher, _) in enumerate(levels):
        for lower, _ in levels[high + 1 :]:
            for low_name in lower:
                for high_name in higher:
                    found = graph.chain(members[low_name], members[high_name])
                    if found:
                        broken.append(
                            f"{low_name} (lower) reaches {high_name} (higher): "
                            + _describe(graph, found)
                        )
    for siblings, independent in levels:
        if not independent:
            continue
        for a in siblings:
            for b in siblings:
                found = graph.chain(members[a], members[b]) if a != b else None
                if found:
                    broken.append(
                        f"{a} reaches its independent sibling {b}: " + _describe(graph, found)
                    )
    return Result(name, broken)


def check_forbidden(graph: ImportGraph, name: str, spec: Mapping[str, Any]) -> Result:
    sources: set[str] = set()
    for s in _names(spec.get("source_modules"), f"contract {name!r}: source_modules"):
        sources |= _existing(graph, s, name)
    forbidden = _names(spec.get("forbidden_modules"), f"contract {name!r}: forbidden_modules")
    indirect_allowed = bool(spec.get("allow_indirect_imports", False))
    broken: list[str] = []
    for target in forbidden:
        # A module outside the package is known by its top-level name only.
        targets = graph.within(target) or {target}
        if indirect_allowed:
            for source in sorted(sources):
                for imported, line in sorted(graph.edges.get(source, {}).items()):
                    if imported in targets:
                        broken.append(f"{source} imports {imported} (l.{line})")
        else:
            found = graph.chain(sources, targets)
            if found:
                broken.append(f"reaches {target}: " + _describe(graph, found))
    return Result(name, broken)


CHECKERS = {"layers": check_layers, "forbidden": check_forbidden}


def check(pyproject: Path, src: Path) -> list[Result]:
    config = tomllib.loads(pyproject.read_text()).get("tool", {}).get("importlinter")
    if not isinstance(config, dict) or "root_package" not in config:
        raise ContractError(f"{pyproject}: no [tool.importlinter] with a root_package")
    graph = build_graph(src, config["root_package"])
    results = []
    for spec in config.get("contracts", []):
        name = spec.get("name", "(unnamed)")
        kind = spec.get("type")
        if kind not in CHECKERS:
            raise ContractError(f"contract {name!r}: type {kind!r} is not understood")
        results.append(CHECKERS[kind](graph, name, spec))
    if not results:
        raise ContractError(f"{pyproject}: no contracts")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyproject", type=Path, default=here / "pyproject.toml")
    parser.add_argument("--src", type=Path, default=here / "src")
    args = parser.parse_args(argv)
    try:
        results = check(args.pyproject, args.src)
    except (ContractError, OSError, SyntaxError, tomllib.TOMLDecodeError) as e:
        print(f"import contracts: {e}", file=sys.stderr)
        return 2
    for result in results:
        print(f"{result.name} {'BROKEN' if result.broken else 'KEPT'}")
        for line in result.broken:
            print(f"    {line}")
    broken = sum(1 for r in results if r.broken)
    print(f"Contracts: {len(results) - broken} kept, {broken} broken.")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
