"""Reading a finished search's ``search_log.jsonl`` in tests: which trials ran at the same time."""

from __future__ import annotations

import json
from pathlib import Path


def trials_running_at_once(run_dir: Path) -> int:
    """The most trials of a search that had started (reported an epoch) and not yet ended, at any point of its log."""
    from automl.run_directory import SEARCH_LOG_FILE

    started, most = set(), 0
    for line in (Path(run_dir) / SEARCH_LOG_FILE).read_text().splitlines():
        entry = json.loads(line)
        if entry["event"] == "result":
            started.add(entry["trial_id"])
            most = max(most, len(started))
        elif entry["event"] == "end":
            started.discard(entry["trial_id"])
    return most
