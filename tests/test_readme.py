"""The README's Python examples run as written, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_an_example_per_python_entry_point():
    text = "\n".join(python_blocks())
    for entry_point in ("AutoML(", "automl.load(", "AutoMLClassifier(", "cross_validate(", "encode_rows(", "@hookimpl"):
        assert entry_point in text, entry_point


@pytest.mark.slow
def test_readme_python_examples_run(ray_session, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the examples write under runs/
    namespace: dict = {"__name__": "readme"}
    for number, block in enumerate(python_blocks(), start=1):
        exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    assert (tmp_path / "runs" / "iris-export" / "model.torchscript.pt").is_file()
    assert "linear" in capsys.readouterr().out


def test_public_functions_of_the_user_facing_modules_have_docstrings():
    import ast

    root = README.parent / "automl"
    modules = ["__init__", "api", "predictor", "sklearn", "ensemble", "export", "serve", "cli", "refit", "errors"]
    missing = []
    for module in modules:
        tree = ast.parse((root / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                members = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
                candidates = [node, *[m for m in members if not m.name.startswith(("_", "do_", "log_"))]]
            elif isinstance(node, ast.Module):
                candidates = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
            else:
                continue
            missing += [f"{module}.{c.name}" for c in candidates if ast.get_docstring(c) is None]
    assert not missing, f"public without a docstring: {sorted(set(missing))}"
