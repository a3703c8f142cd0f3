"""Preprocessing as a search dimension: the search space's ``preprocessing`` block names the
imputers and scalers to try; each combination is fitted once on the training split in the
driver, shipped to trials once through the object store, and picked by the trial's config.

YAML::

    preprocessing:
      imputer: {choice: [median, most_frequent]}
      scaler: {choice: [standard, robust, minmax]}

A constant (``scaler: robust``) fixes a choice; a missing block keeps the defaults
(median, standard) and adds nothing to the trial config.
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping

from automl.errors import AutoMLError

IMPUTERS = ("median", "mean", "most_frequent")
SCALERS = ("standard", "robust", "minmax", "none")
PREPROCESSING_KEYS = {"imputer": IMPUTERS, "scaler": SCALERS}
DEFAULT_CHOICE = {"imputer": "median", "scaler": "standard"}
DEFAULT_VARIANT = "default"


def variant_key(choice: Mapping[str, Any]) -> str:
    """``"median/standard"`` for ``{"imputer": "median", "scaler": "standard"}``."""
    merged = {**DEFAULT_CHOICE, **dict(choice)}
    return f"{merged['imputer']}/{merged['scaler']}"


def preprocessing_options(block: Mapping[str, Any] | None, where: str = "search space") -> dict[str, list[str]]:
    """The options per dimension (``{"imputer": [..], "scaler": [..]}``) a space block offers."""
    options = {key: [default] for key, default in DEFAULT_CHOICE.items()}
    if not block:
        return options
    if not isinstance(block, Mapping):
        raise AutoMLError(f"{where}: 'preprocessing' must be a mapping", "write preprocessing: {imputer: {choice: [median, most_frequent]}}")
    for key, value in block.items():
        if key not in PREPROCESSING_KEYS:
            raise AutoMLError(f"{where}: unknown preprocessing key '{key}'", f"use {', '.join(PREPROCESSING_KEYS)}")
        if isinstance(value, Mapping):
            if list(value) not in (["choice"], ["grid"]) or not isinstance(next(iter(value.values())), list):
                raise AutoMLError(f"{where}: preprocessing.{key} must be a name or {{choice: [..]}}", f"write {key}: {{choice: [..]}}")
            values = list(next(iter(value.values())))
        else:
            values = [value]
        for name in values:
            if name not in PREPROCESSING_KEYS[key]:
                raise AutoMLError(f"{where}: unknown {key} '{name}'", f"use one of: {', '.join(PREPROCESSING_KEYS[key])}")
        options[key] = values
    return options


def preprocessing_variants(block: Mapping[str, Any] | None, where: str = "search space") -> list[dict[str, str]]:
    """Every imputer × scaler combination a space block asks for; the first is the default."""
    options = preprocessing_options(block, where)
    return [dict(zip(options, combo)) for combo in itertools.product(*options.values())]
