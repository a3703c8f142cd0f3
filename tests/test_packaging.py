"""The wheel is the product: every module and data file of the source tree ships in it."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> the import name it is installed under (pyproject's package-dir).
PACKAGE_FOLDERS = {"automl": "automl", "plugins": "automl_plugins", "search_spaces": "automl_search_spaces"}
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", *PACKAGE_FOLDERS)


def source_files() -> set[str]:
    """What the wheel must hold: each .py and .yaml file, at its installed path."""
    expected = set()
    for folder, package in PACKAGE_FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                expected.add(f"{package}/{path.relative_to(ROOT / folder).as_posix()}")
    return expected


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built from a copy of the source tree (so the build leaves nothing in the checkout)."""
    tree = tmp_path_factory.mktemp("tree")
    for name in BUILD_INPUTS:
        source = ROOT / name
        if not source.exists():
            continue
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, tree / name)
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the venv's own setuptools builds it, with no registry needed.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(tree), "-w", str(out)],
        check=True, capture_output=True, text=True,
    )
    (path,) = out.glob("automl_torch-*.whl")  # the distribution is automl-torch
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_every_module_and_search_space_of_the_source_tree_is_in_the_wheel(wheel):
    missing = source_files() - set(wheel.namelist())
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_every_entry_point_of_the_wheel_names_a_module_inside_it(wheel):
    (entry_points_file,) = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points_file).decode())
    names = set(wheel.namelist())
    targets = [value.split(":")[0] for section in parser.sections() for value in parser[section].values()]
    assert "automl.cli" in targets and "automl_plugins.mlp" in targets
    for module in targets:
        path = module.replace(".", "/")
        assert f"{path}.py" in names or f"{path}/__init__.py" in names, module
