"""Live progress of a search on the command line, drawn with rich.

:class:`TrialProgress` is a Ray Tune callback that replaces Ray's raw status table with one
panel: trials finished / running / failed / stopped early, the best score so far with its
configuration, and elapsed time against the time budget. :class:`SearchDisplay` prints the
stages of a search (data, search, ensemble selection with the trials it left out, a final model
other than the one asked for, refit with an epoch progress bar, test) from the API's
``on_event`` calls and owns the trial panel. On a terminal the panel refreshes in place; on
anything else (a pipe, a CI log) rich draws it once when the search ends, and each finished
trial is printed as one plain line.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ray.tune import Callback
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from automl.metrics import is_better
from automl.training.failures import DIVERGED_KEY
from automl.training.report_schedule import epoch_results


def describe_config(config: dict) -> str:
    """A one-line summary of a trial's components and hyperparameters."""
    parts = []
    for family in ("architecture", "loss", "optimizer"):
        block = dict(config.get(family) or {})
        if block:
            name = block.pop("name", "?")
            parts.append(f"{name}({_params(block)})" if block else name)
    for name, block in (config.get("regularizers") or {}).items():
        block = dict(block)
        if block.pop("enabled", False):
            parts.append(f"{name}({_params(block)})" if block else name)
    parts += [f"{key}={config[key]}" for key in ("epochs", "batch_size") if key in config]
    return " · ".join(parts)


def _params(block: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in block.items())


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrialProgress(Callback):
    """A Ray Tune callback that keeps the counts and the best trial, and shows them live."""

    def __init__(self, console: Console, num_trials: int | None = None, time_budget_s: float | None = None) -> None:
        self.console = console
        self.num_trials = num_trials
        self.time_budget_s = time_budget_s
        self.metric, self.mode = "", "max"
        self.finished = self.stopped_early = self.failed = 0
        self.running: dict[str, int] = {}
        self.best: tuple[float, str, dict] | None = None
        self.started = time.monotonic()
        self._live: Live | None = None

    def __getstate__(self) -> dict:
        # Ray Tune pickles its run config (callbacks included) for restores; a console is not picklable.
        return {k: v for k, v in self.__dict__.items() if k not in ("console", "_live")} | {"console": None, "_live": None}

    def set_ranking(self, metric: str, mode: str) -> None:
        """Rank by the search's validation metric (known once the data has named the task)."""
        self.metric, self.mode = metric, mode

    # -- Ray Tune callback hooks ------------------------------------------------------------

    def setup(self, **info) -> None:
        # The panel replaces Ray's own chatter, including its slow-callback warnings (-v brings them back).
        logging.getLogger("ray.tune.utils.util").setLevel(logging.ERROR)
        self.started = time.monotonic()
        self._live = Live(get_renderable=self.render, console=self.console, refresh_per_second=4,
                          redirect_stdout=False, redirect_stderr=False)
        self._live.start()

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        self.running[trial.trial_id] = 0

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        self.running[trial.trial_id] = int(result.get("epoch") or 0)
        for row in epoch_results(result):
            value = row.get(f"val_{self.metric}")
            if value is not None and is_better(float(value), self.best[0] if self.best else None, self.mode):
                self.best = (float(value), trial.trial_id, trial.config)

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        epochs = self.running.pop(trial.trial_id, 0)
        diverged = (trial.last_result or {}).get(DIVERGED_KEY)
        if diverged:
            self.failed += 1
            self._log(f"trial {trial.trial_id} diverged: {diverged}")
            return
        planned = int(trial.config.get("epochs") or epochs)
        self.finished += 1
        early = epochs < planned
        self.stopped_early += early
        score = (trial.last_result or {}).get(f"best_val_{self.metric}")
        self._log(f"trial {trial.trial_id} {'stopped early' if early else 'completed'} after {epochs} of {planned} epochs"
                  + (f", best val {self.metric} {score:.4f}" if isinstance(score, (int, float)) else ""))

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        self.running.pop(trial.trial_id, None)
        self.failed += 1
        self._log(f"trial {trial.trial_id} failed")

    def on_trial_recover(self, iteration: int, trials: list, trial, **info) -> None:
        self.running.pop(trial.trial_id, None)
        self._log(f"trial {trial.trial_id} failed; retrying it (--max-failures)")

    def on_experiment_end(self, trials: list, **info) -> None:
        self.running.clear()
        if self._live is not None:
            self._live.stop()  # on a non-terminal this draws the final panel once
            self._live = None
            if not self.console.is_terminal:
                self.console.line()

    # -- display ----------------------------------------------------------------------------

    def _log(self, line: str) -> None:
        # A terminal shows the live panel; a log gets one plain line per finished trial.
        if not self.console.is_terminal:
            self.console.print(line, markup=False, highlight=False)

    def render(self) -> Table:
        """The panel: counts, best so far with its configuration, elapsed against the budget."""
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        of = f" of {self.num_trials}" if self.num_trials else ""
        table.add_row("trials", Text(
            f"{self.finished}{of} finished ({self.stopped_early} stopped early) · {len(self.running)} running · "
            f"{self.failed} failed"
        ))
        if self.best:
            value, trial_id, config = self.best
            table.add_row("best", Text(f"val {self.metric} {value:.4f}  trial {trial_id}"))
            table.add_row("", Text(describe_config(config), style="dim"))
        else:
            table.add_row("best", Text("no result yet", style="dim"))
        elapsed = time.monotonic() - self.started
        if self.time_budget_s:
            bar = ProgressBar(total=self.time_budget_s, completed=min(elapsed, self.time_budget_s), width=30)
            table.add_row("time", Group(Text(f"{_clock(elapsed)} of {_clock(self.time_budget_s)} budget"), bar))
        else:
            table.add_row("time", Text(f"{_clock(elapsed)} elapsed (no time budget)"))
        return table


class SearchDisplay:
    """The CLI's view of a search: stage lines, the live trial panel and the refit progress bar.

    ``live=False`` (``-v``, when Ray prints its own table) keeps the stage lines but no panel.
    """

    def __init__(self, console: Console | None = None, num_trials: int | None = None,
                 time_budget_s: float | None = None, live: bool = True) -> None:
        self.console = console or Console(soft_wrap=True)
        self.trials = TrialProgress(self.console, num_trials, time_budget_s)
        self.live = live
        self._refit: Progress | None = None
        self._refit_task: Any = None

    def callbacks(self) -> list:
        """The Ray Tune callbacks to pass to the search."""
        return [self.trials] if self.live else []

    def on_event(self, stage: str, info: dict) -> None:
        """Show one event of :meth:`automl.api.AutoML.fit`."""
        print_ = self.console.print
        if stage == "data":
            from automl.data.summary import short_summary

            print_("\n".join(short_summary(info)), markup=False, highlight=False)
        elif stage == "search":
            self.trials.set_ranking(info["metric"], info["mode"])
            comps = "; ".join(f"{family}: {', '.join(names) or '-'}" for family, names in info["components"].items())
            print_(f"search: space {info['space']} ({comps})\n        run directory {info['run_dir']}", markup=False, highlight=False)
            if info.get("portfolio"):
                print_(f"        {info['portfolio']}", markup=False, highlight=False)
        elif stage == "ensemble":
            print_(f"ensemble selection: {info['note']}", markup=False, highlight=False)
        elif stage == "leaderboard":
            from automl.ensemble import ENSEMBLE_ID

            trials = int((info["leaderboard"]["trial_id"] != ENSEMBLE_ID).sum())  # the ensemble's row is no trial
            print_(f"search finished: {trials} trials in {info['seconds']:.1f} s", markup=False)
        elif stage == "final_model":
            print_(f"final model: {info['note']}", markup=False, highlight=False)
        elif stage == "refit_epoch":
            self._refit_epoch(info)
        elif stage == "tracking":
            print_(f"report: {info['report']}", markup=False, highlight=False)

    def _refit_epoch(self, info: dict) -> None:
        if self._refit is None:
            self._refit = Progress(
                TextColumn("refit on train+val"), BarColumn(), MofNCompleteColumn(), TextColumn("epochs"),
                TextColumn("{task.fields[loss]}"), TimeElapsedColumn(), console=self.console,
            )
            self._refit_task = self._refit.add_task("refit", total=info["epochs"], loss="")
            self._refit.start()
        self._refit.update(self._refit_task, completed=info["epoch"], loss=f"training loss {info['train_loss']:.4f}")
        if info["epoch"] >= info["epochs"]:
            self._refit.stop()
            self._refit = None
