"""The layering of docs/architecture.md holds: the import-linter contract in pyproject.toml is
kept (imports inside functions count), names every module and package of automl, and no two
modules of automl import each other, even through others."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def test_the_layers_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def contract_layers() -> set[str]:
    """Every name in the layers of the contract (siblings split at ``:`` and ``|``)."""
    (contract,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    return {name.strip() for layer in contract["layers"] for name in layer.replace("|", ":").split(":")}


def test_every_module_and_package_of_automl_is_in_a_layer():
    # A module in no layer is checked by nothing: it could import any layer, and any layer it.
    package = ROOT / "automl"
    modules = {path.stem for path in package.glob("*.py") if path.name != "__init__.py"}
    modules |= {path.parent.name for path in package.glob("*/__init__.py")}
    layers = contract_layers()
    assert sorted(modules - layers) == [], "modules of automl/ in no layer of [tool.importlinter] in pyproject.toml"
    assert sorted(layers - modules) == [], "layers of [tool.importlinter] naming no module of automl/"


def import_cycles(graph) -> list:
    """The cycles of ``graph`` by bench/import_graph.py's Tarjan (the script the closing note's numbers come from)."""
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "bench" / "import_graph.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.cycles({module: graph.find_modules_directly_imported_by(module) for module in graph.modules})


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("automl", cache_dir=None)
    # A package imports its own modules (the lazy automl/__init__.py); cycles among modules are what count.
    for package in ("automl",):
        for imported in list(graph.find_modules_directly_imported_by(package)):
            graph.remove_import(importer=package, imported=imported)
    assert import_cycles(graph) == []


def test_a_function_level_import_that_climbs_a_layer_breaks_the_contract(tmp_path):
    # The contract is not vacuous: a copy of the package whose data layer imports the engine
    # inside a function fails it.
    shutil.copytree(ROOT / "automl", tmp_path / "automl", ignore=shutil.ignore_patterns("__pycache__"))
    prepare = tmp_path / "automl" / "data" / "prepare.py"
    prepare.write_text(prepare.read_text() + "\n\ndef _climb():\n    from automl.engine.run import run_trials\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode != 0
    assert "automl.data.prepare -> automl.engine.run" in done.stdout
