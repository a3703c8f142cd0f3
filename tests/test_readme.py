"""The README's and the docs pages' Python examples run as written, and their links lead somewhere.

Each page's examples run in order, in one namespace and one folder of their own, so that a page
can be read (and its examples pasted) without another page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def pages() -> list[Path]:
    """The README, then every page under docs/, by name."""
    return [README, *sorted(DOCS.glob("*.md"))]


def page_name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


PAGES_WITH_EXAMPLES = [page for page in pages() if python_blocks(page)]
# What a page's examples must leave behind (in their folder) or print, beyond running without an error.
LEFT_BEHIND = {
    "README.md": lambda folder, out: (folder / "runs" / "iris-api" / "model" / "model.json").is_file(),
    "docs/export-and-serving.md": lambda folder, out: (folder / "runs" / "iris-export" / "model.torchscript.pt").is_file(),
    "docs/plugins.md": lambda folder, out: "my_linear" in out,
}


def test_readme_has_an_example_per_python_entry_point():
    text = "\n".join(block for page in pages() for block in python_blocks(page))
    for entry_point in ("AutoML(", "automl.load(", "AutoMLClassifier(", "cross_validate(", "encode_rows(", "@hookimpl"):
        assert entry_point in text, entry_point
    assert set(LEFT_BEHIND) <= {page_name(page) for page in PAGES_WITH_EXAMPLES}


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=page_name)
def test_readme_python_examples_run(page, ray_session, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the examples write under runs/, each page in a folder of its own
    namespace: dict = {"__name__": page.stem}
    for number, block in enumerate(python_blocks(page), start=1):
        exec(compile(block, f"{page_name(page)} python block {number}", "exec"), namespace)
    check = LEFT_BEHIND.get(page_name(page))
    assert check is None or check(tmp_path, capsys.readouterr().out), page_name(page)


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(page: Path) -> list[str]:
    """The targets of a page's Markdown links and images that are not URLs (code is left out)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [target for target in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    headings = re.findall(r"^#+\s+(.*?)\s*$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_relative_link_of_the_readme_and_docs_points_to_a_file_that_exists():
    broken, seen = [], 0
    for page in pages():
        for target in relative_links(page):
            seen += 1
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page_name(page)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
                broken.append(f"{page_name(page)}: {target} (no such heading)")
    assert seen and not broken, broken


def test_the_readme_links_every_docs_page():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(README)}
    assert not [page_name(page) for page in pages()[1:] if page.resolve() not in linked]


def test_public_functions_of_the_user_facing_modules_have_docstrings():
    import ast

    root = ROOT / "automl"
    modules = ["__init__", "api", "predictor", "sklearn", "ensemble", "export", "serve", "cli", "refit", "errors"]
    missing = []
    for module in modules:
        # A package (automl/export/) counts with every module in it.
        paths = [root / f"{module}.py"] if (root / f"{module}.py").is_file() else sorted((root / module).glob("*.py"))
        assert paths, module
        for path in paths:
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    members = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
                    candidates = [node, *[m for m in members if not m.name.startswith(("_", "do_", "log_"))]]
                elif isinstance(node, ast.Module):
                    candidates = [n for n in node.body
                                  if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
                else:
                    continue
                missing += [f"{module}.{c.name}" for c in candidates if ast.get_docstring(c) is None]
    assert not missing, f"public without a docstring: {sorted(set(missing))}"
