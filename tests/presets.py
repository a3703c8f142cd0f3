"""Named settings that tests pass to a search in their own arguments.

A search in a test runs the shipped defaults (``--validation auto``: 5-fold cross-validation
on the small tables tests make; ``--ensemble 10``; TPE after the portfolio) unless the test
passes one of these. Each preset exists twice: as ``AutoML(...)`` / estimator keywords
(``HOLDOUT_NO_ENSEMBLE``) and as ``automl search`` flags (``HOLDOUT_NO_ENSEMBLE_FLAGS``), so a
reader sees at the call what each test runs.
"""

from __future__ import annotations

from typing import Any, Mapping


def as_flags(preset: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``automl search`` flags of a preset's keywords (``{"ensemble": 0}`` -> ``--ensemble 0``,
    ``{"wandb": False}`` -> ``--no-wandb``)."""
    flags: list[str] = []
    for key, value in preset.items():
        name = key.replace("_", "-")
        if value is False:
            flags.append(f"--no-{name}")
        else:
            flags += [f"--{name}", str(value)]
    return tuple(flags)


# One model per trial trained on a hold-out split, no ensemble after the search: for tests of
# something other than validation or ensembles, at the cost they had before cross-validation.
HOLDOUT_NO_ENSEMBLE: dict[str, Any] = {"validation": "holdout", "ensemble": 0}
HOLDOUT_NO_ENSEMBLE_FLAGS = as_flags(HOLDOUT_NO_ENSEMBLE)

# A hold-out split, with the shipped ensemble after the search (selected on validation outputs).
HOLDOUT: dict[str, Any] = {"validation": "holdout"}
HOLDOUT_FLAGS = as_flags(HOLDOUT)

# No W&B runs and no report.html (the leaderboard files stay): for tests of neither. Together
# they are about a quarter of a small search's CPU time (offline W&B runs, five plots).
UNTRACKED: dict[str, Any] = {"wandb": False, "report": False}
UNTRACKED_FLAGS = as_flags(UNTRACKED)

# Trials one after another in one trial process: each trial that runs at the same time as another
# starts a process of its own (about 3 CPU-seconds: Python, torch, Ray Tune's trainable), which
# costs more than the few seconds of a small test search's trials. For tests of neither
# concurrency nor schedulers that compare running trials (PBT; ASHA's rungs are met either way).
ONE_TRIAL_AT_A_TIME: dict[str, Any] = {"max_concurrent": 1}
ONE_TRIAL_AT_A_TIME_FLAGS = as_flags(ONE_TRIAL_AT_A_TIME)

# The shipped defaults, named so that a test that runs them says so.
SHIPPED_DEFAULTS: dict[str, Any] = {}
SHIPPED_DEFAULTS_FLAGS: tuple[str, ...] = ()
