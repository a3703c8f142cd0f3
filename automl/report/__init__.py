"""The HTML report of a finished search: one self-contained ``report.html`` in the run directory.

It reads only the run directory (``result.json``, ``leaderboard.csv``, ``trials.jsonl``,
``data_report.json``, ``timeline.jsonl`` and ``model/metrics.json``) and draws with matplotlib:
best-so-far against wall time, learning curves of the top trials, score by architecture,
hyperparameter effects, and the final model's confusion matrix or residual plot. Plots are
embedded as base64 PNGs, so the page needs no other file and no network.

The package, one module per job (it imports :func:`read_run`, :func:`render_plots`,
:func:`write_report` and ``REPORT_FILE``; import any other name from the module that holds it):

- ``run_files``: :class:`~automl.report.run_files.RunFiles`, what the report reads from a run
  directory, and :func:`read_run`;
- ``plots``: :func:`render_plots`, every plot the run's files allow, as PNG bytes;
- ``page``: :func:`write_report`, the self-contained HTML page.
"""

from automl.report.page import REPORT_FILE, write_report  # REPORT_FILE: automl.run_directory's
from automl.report.plots import render_plots
from automl.report.run_files import read_run

__all__ = ["REPORT_FILE", "read_run", "render_plots", "write_report"]
