"""The data report: every decision the data stage took, saved as ``data_report.json`` in the run
directory and printed in short by the CLI."""

from __future__ import annotations

from typing import Any


def build_report(**facts: Any) -> dict:
    """A JSON-ready record of what was loaded, dropped, encoded, split and fitted."""
    raw = facts.pop("raw")
    decisions = facts.pop("decisions")
    report = {
        "dataset": facts["name"],
        "source": "table" if raw.is_table else f"{raw.array_kind} arrays",
        "rows": int(facts["rows"]),
        "rows_dropped_missing_target": int(facts["n_missing_target"]),
        "task": facts["task"],
        "input_kind": facts["input_kind"],
        "input_shape": list(facts["input_shape"]),
        "columns": decisions,
        "dropped_columns": {d["column"]: d["reason"] for d in decisions if d["kind"] in ("id", "constant", "all_missing")},
        "columns_used_for_split": facts["used_for_split"],
        "split_rows": facts["splits"],
        "split_method": facts["split_method"],
        "preprocessing": facts["preprocessing"],
        "class_weights": facts["class_weights"],
        # With folds, the vector above is every training row's (the refit's); each fold's loss
        # weighs by its own fit rows' class counts.
        "class_weights_in_folds": "each fold's own, from its fit rows" if facts.get("class_weights_in_folds") else None,
        "input_view": facts.get("input_view", ""),
        # Several target columns ("targets"), or with no target the column(s) set aside unused.
        **facts.get("target_columns", {}),
    }
    if raw.details:
        report["images"] = raw.details
    kinds: dict[str, list[str]] = {}
    for d in decisions:
        kinds.setdefault(d["kind"], []).append(d["column"])
    report["numeric_columns"] = kinds.get("numeric", [])
    report["categorical_columns"] = kinds.get("categorical", []) + kinds.get("embedding", [])
    report["column_kinds"] = {kind: len(columns) for kind, columns in kinds.items()}
    return report


def short_summary(report: dict) -> list[str]:
    """A few lines for the terminal: shape, task, split, column decisions, dropped columns."""
    rows = report["split_rows"]
    lines = [
        f"data: {report['dataset']}, {report['rows']} rows, task {report['task']}, {report['input_kind']} input "
        f"{tuple(report.get('input_shape', ()))}; split ({report.get('split_method', 'random')}) "
        f"train {rows['train']} / val {rows['val']} / test {rows['test']}"
    ]
    if report.get("input_view"):
        lines.append(f"      {report['input_view']}")
    if report.get("rows_dropped_missing_target"):
        lines.append(f"      dropped {report['rows_dropped_missing_target']} row(s) with a missing target")
    if report.get("column_kinds"):
        lines.append("      columns: " + ", ".join(f"{n} {kind}" for kind, n in report["column_kinds"].items()))
    for column, reason in report.get("dropped_columns", {}).items():
        lines.append(f"      column '{column}' {reason}")
    if report.get("class_weights"):
        folds = " (every training row's, for the refit; each fold's from its own fit rows)" if report.get("class_weights_in_folds") else ""
        lines.append(f"      class weights: {report['class_weights']}{folds}")
    return lines
