"""scripts/import_contracts.py: the layer checker CI runs finds each kind of broken contract.

Each test writes a tiny package and a pyproject.toml in import-linter's format, then runs the
checker's `main` as CI does and reads its report.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_contracts.py"

CONTRACTS = """
[tool.importlinter]
root_package = "app"

[[tool.importlinter.contracts]]
name = "layers"
type = "layers"
layers = ["app.top", "app.left | app.right", "app.base"]

[[tool.importlinter.contracts]]
name = "base is pure"
type = "forbidden"
source_modules = ["app.base"]
forbidden_modules = ["os"]
allow_indirect_imports = true

[[tool.importlinter.contracts]]
name = "left never reaches top"
type = "forbidden"
source_modules = ["app.left"]
forbidden_modules = ["app.top"]
"""


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_contracts", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_contracts"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _project(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path]:
    src = tmp_path / "src"
    base = {
        "app/__init__.py": "",
        "app/top.py": "from app import left, right\n",
        "app/left/__init__.py": "from . import util\n",
        "app/left/util.py": "from ..base import core\n",
        "app/right.py": "import app.base.core\n",
        "app/base/__init__.py": "",
        "app/base/core.py": "import json\n",
        "app/helper.py": "",
    }
    base.update(files)
    for name, text in base.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(CONTRACTS)
    return pyproject, src


def _run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str]
) -> tuple[int, str]:
    pyproject, src = _project(tmp_path, files)
    code = _load().main(["--pyproject", str(pyproject), "--src", str(src)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_clean_package_keeps_every_contract(tmp_path, capsys) -> None:
    code, out = _run(tmp_path, capsys, {})
    assert code == 0, out
    assert out.count("KEPT") == 3
    assert "Contracts: 3 kept, 0 broken." in out


def test_a_lower_layer_importing_a_higher_one_inside_a_function_breaks_layers(
    tmp_path, capsys
) -> None:
    code, out = _run(tmp_path, capsys, {"app/base/core.py": "def f():\n    from app import top\n"})
    assert code == 1
    assert "layers BROKEN" in out
    assert "app.base (lower) reaches app.top (higher): app.base.core -> app.top (l.2)" in out


def test_an_indirect_chain_through_a_module_outside_the_layers_is_found(tmp_path, capsys) -> None:
    code, out = _run(
        tmp_path,
        capsys,
        {"app/base/core.py": "from app import helper\n", "app/helper.py": "import app.right\n"},
    )
    assert code == 1
    assert "app.base.core -> app.helper (l.1), app.helper -> app.right (l.1)" in out


def test_independent_siblings_may_not_import_each_other(tmp_path, capsys) -> None:
    code, out = _run(tmp_path, capsys, {"app/right.py": "from .left import util\n"})
    assert code == 1
    assert "app.right reaches its independent sibling app.left" in out


def test_a_forbidden_external_module_is_caught_by_its_top_level_name(tmp_path, capsys) -> None:
    code, out = _run(tmp_path, capsys, {"app/base/core.py": "import os.path as p\n"})
    assert code == 1
    assert "base is pure BROKEN" in out
    assert "app.base.core imports os (l.1)" in out


def test_a_forbidden_indirect_import_is_caught_unless_allowed(tmp_path, capsys) -> None:
    code, out = _run(
        tmp_path,
        capsys,
        {"app/left/util.py": "from app import helper\n", "app/helper.py": "from app import top\n"},
    )
    assert code == 1
    assert "left never reaches top BROKEN" in out
    assert "reaches app.top: app.left.util -> app.helper (l.1), app.helper -> app.top" in out


def test_a_contract_naming_a_missing_module_is_a_configuration_error(tmp_path, capsys) -> None:
    pyproject, src = _project(tmp_path, {})
    pyproject.write_text(CONTRACTS.replace('"app.base"]', '"app.bottom"]'))
    code = _load().main(["--pyproject", str(pyproject), "--src", str(src)])
    assert code == 2
    assert "no module app.bottom" in capsys.readouterr().err


def test_the_projects_own_contracts_are_kept() -> None:
    """What CI's "import contracts" step runs, as a test too."""
    r = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout
