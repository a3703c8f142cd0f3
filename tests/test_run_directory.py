"""The run directory is one type: its file names are spelled in ``automl/run_directory.py`` alone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import automl
from automl import run_directory
from automl.run_directory import RunDirectory
from automl.run_records import TrialRecord

PACKAGE = Path(automl.__file__).parent
FILE_NAMES = {
    value for name, value in vars(run_directory).items()
    if name.endswith(("_FILE", "_CSV", "_MD")) and isinstance(value, str) and "." in value and name != "MODEL_METRICS_FILE"
}


def spelled_file_names(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each string in ``source`` (docstrings aside) that is a run directory's
    file name, alone or at the end of a path (``run_dir / "trials.jsonl"``, ``f"{run_dir}/leaderboard.csv"``)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    pattern = re.compile(r"(^|/)(" + "|".join(map(re.escape, sorted(FILE_NAMES))) + r")$")
    return [
        (node.lineno, node.value) for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        and pattern.search(node.value.strip())
    ]


def test_the_scan_knows_every_file_of_the_run_directory_and_finds_one_spelled_elsewhere():
    assert {"request.json", "search_state.json", "search_log.jsonl", "scheduler_state.json", "trials.jsonl",
            "leaderboard.csv", "leaderboard.md", "result.json", "timeline.jsonl", "data_report.json", "report.html"} <= FILE_NAMES
    source = 'def f(run_dir):\n    """Reads trials.jsonl."""\n    return run_dir / "trials.jsonl", f"{run_dir}/leaderboard.csv"\n'
    assert [text for _, text in spelled_file_names(source)] == ["trials.jsonl", "/leaderboard.csv"]


def test_no_module_but_run_directory_spells_a_file_name_of_the_run_directory():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for path in sorted(PACKAGE.rglob("*.py")) if path.name != "run_directory.py"
        for line, text in spelled_file_names(path.read_text())
    ]
    assert not found, "use automl.run_directory.RunDirectory (or its constants) instead:\n" + "\n".join(found)


def test_trials_written_with_the_leaderboard_are_read_back_as_records(tmp_path):
    import pandas as pd

    records = [TrialRecord("a", {"epochs": 2}, {"best_val_accuracy": 0.9, "epoch": 2}, "completed", history=[{"epoch": 1}, {"epoch": 2}]),
               TrialRecord("b", {"epochs": 2}, {}, "error", "diverged")]
    frame = pd.DataFrame({"rank": [1, 2], "trial_id": ["a", "b"], "loss": ["cross_entropy", ""]})
    run = RunDirectory.create(tmp_path / "run")
    run.write_leaderboard(frame, "| table |\n", records)
    assert run.read_trials() == records
    assert run.read_leaderboard()["loss"].tolist() == ["cross_entropy", ""]  # an empty cell stays text


def test_the_journal_skips_a_line_a_kill_cut_short(tmp_path):
    run = RunDirectory(tmp_path)
    run.append_journal([{"event": "start", "trial_id": "a", "config": {"lr": 0.1}},
                        {"event": "result", "trial_id": "a", "wall_s": 1.0, "result": {"epoch": 1, "val_loss": 0.5}}])
    with open(run.journal_path, "a") as handle:
        handle.write('{"event": "result", "trial_id": "a", "res')
    journal = run.read_journal()
    assert journal.starts == {"a": {"lr": 0.1}} and journal.results == {"a": [{"epoch": 1, "val_loss": 0.5}]}
    assert journal.unfinished() == ["a"] and not journal.search_ended
