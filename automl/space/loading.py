"""Finding and reading a search-space YAML file: the shipped names (``default`` following the
input kind), paths, and the line of every key for errors that point into the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from automl.errors import AutoMLError

DEFAULT_SPACE = "default"
# YAML files of search_spaces/ that are not search spaces (the portfolio: automl/portfolio.py).
NOT_SPACES = ("portfolio.yaml",)
# The space ``default`` stands for, per input kind: search_spaces/<name>.yaml (tables: default.yaml).
INPUT_KIND_SPACES = {"sequence": "sequence", "image": "image", "text": "text"}


def space_for_input_kind(name_or_path: str | Path, input_kind: str) -> str | Path:
    """The space a search uses: ``default`` follows the input kind (``sequence.yaml`` for
    sequences, ``image.yaml`` for images, ``text.yaml`` for text, ``default.yaml`` for tables);
    any other name or path is used as given."""
    if isinstance(name_or_path, str) and name_or_path == DEFAULT_SPACE:
        return INPUT_KIND_SPACES.get(input_kind, DEFAULT_SPACE)
    return name_or_path


def find_space_file(name_or_path: str | Path) -> Path:
    """A path to a YAML file, or the name of one in ``search_spaces/`` (``default``, ``quick``)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise AutoMLError(f"search space file {path} does not exist", "pass an existing YAML file")
        return path
    for folder in space_folders():
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.is_file() and candidate.name not in NOT_SPACES:
            return candidate
    known = sorted({p.stem for folder in space_folders() for p in folder.glob("*.yaml") if p.name not in NOT_SPACES})
    raise AutoMLError(f"unknown search space '{name_or_path}'", f"use one of {', '.join(known)} or a YAML path")


def space_folders() -> list[Path]:
    """The folders holding the shipped YAML files: ``search_spaces/`` (installed as ``automl_search_spaces``)."""
    folders = [Path(__file__).resolve().parents[2] / "search_spaces"]
    try:
        import automl_search_spaces

        folders.append(Path(automl_search_spaces.__file__).parent)
    except ImportError:
        pass
    return [f for f in folders if f.is_dir()]


@dataclass(frozen=True)
class SpaceSource:
    """Where a space came from, and the line of each key, for errors that point into the file."""

    path: str = "search space"
    lines: Mapping[tuple, int] = field(default_factory=dict)

    def at(self, *keys: Any) -> str:
        """``"space.yaml, line 7 (optimizers.adam.lr)"`` for the deepest key path that has a line."""
        keys = tuple(str(k) for k in keys)
        for depth in range(len(keys), 0, -1):
            if keys[:depth] in self.lines:
                return f"{self.path}, line {self.lines[keys[:depth]]} ({'.'.join(keys)})"
        return f"{self.path} ({'.'.join(keys)})" if keys else self.path

    def __str__(self) -> str:
        return self.path


def _key_lines(node, prefix: tuple = ()) -> dict[tuple, int]:
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, str(key_node.value))
            lines[path] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, path))
    return lines


def load_space_file(name_or_path: str | Path) -> tuple[dict, SpaceSource]:
    """Read a space YAML file (safely) with the line of every key."""
    path = find_space_file(name_or_path)
    text = path.read_text()
    try:
        data = yaml.safe_load(text) or {}
        lines = _key_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AutoMLError(f"search space {path}{where} is not valid YAML: {problem}", "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise AutoMLError(f"search space {path} must be a mapping", "start the file with keys such as epochs:")
    return data, SpaceSource(str(path), lines)
