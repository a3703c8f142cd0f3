"""The report page: one self-contained HTML file, its plots embedded as base64 PNGs."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from automl.report.plots import Plot, render_plots
from automl.report.run_files import RunFiles, read_run
from automl.run_directory import REPORT_FILE, RunDirectory


def write_report(run_dir: str | Path, plots: list[Plot] | None = None, output: str | Path | None = None) -> Path:
    """Write the report (default ``RUN_DIR/report.html``) and return its path."""
    from automl.files import write_text_atomic

    run = read_run(run_dir)
    plots = render_plots(run) if plots is None else plots
    path = Path(output) if output else RunDirectory(run.run_dir).report_path
    write_text_atomic(path, _html(run, plots))
    return path


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d232a; background: #f5f6f8; }
header { background: #1d3557; color: white; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; opacity: 0.85; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 32px 48px; }
section { background: white; border-radius: 8px; padding: 16px 20px; margin: 16px 0; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { font-size: 18px; margin: 0 0 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #dde1e6; border-radius: 6px; padding: 10px 14px; min-width: 140px; }
.card .label { font-size: 12px; color: #5a6470; }
.card .value { font-size: 20px; font-weight: 600; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e6e8eb; vertical-align: top; }
th { background: #f0f2f5; }
#leaderboard tr td { border-bottom: none; padding-bottom: 0; }
#leaderboard tr.hyperparameters td { font-size: 11px; color: #5a6470; padding: 0 8px 6px 24px; border-bottom: 1px solid #e6e8eb; }
.scroll { overflow-x: auto; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { font-size: 13px; color: #5a6470; margin-top: 6px; text-align: center; }
"""


def _html(run: RunFiles, plots: list[Plot]) -> str:
    best = run.result.get("best", {})
    metric = run.metric
    data = run.data_report
    title = f"automl report: {data.get('dataset', run.run_dir.name)}"
    cards = [("best trial", best.get("trial_id", "-")), (f"best validation {metric}", _fmt(best.get(f"val_{metric}"))),
             ("refit epochs", best.get("refit_epochs", "-")), ("trials", len(run.leaderboard))]
    cards += [(f"test {name}", _fmt(value)) for name, value in (run.result.get("test_metrics") or {}).items()]
    card_html = "".join(
        f'<div class="card"><div class="label">{_e(label)}</div><div class="value">{_e(value)}</div></div>' for label, value in cards
    )
    figures = "".join(
        f'<section id="{_e(p.name)}"><h2>{_e(p.title)}</h2><figure>'
        f'<img class="plot" alt="{_e(p.title)}" src="data:image/png;base64,{base64.b64encode(p.png).decode()}">'
        f"<figcaption>{_e(p.caption)}</figcaption></figure></section>"
        for p in plots
    )
    data_rows = {k: v for k, v in data.items() if k not in ("split_rows",)}
    data_rows.update({f"{split} rows": n for split, n in (data.get("split_rows") or {}).items()})
    config = json.dumps(best.get("config", {}), indent=2, default=str)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>{_e(title)}</title><style>{_CSS}</style></head>
<body><header><h1>{_e(title)}</h1><p>task {_e(data.get('task', '?'))} · ranked by validation {_e(metric)} ·
run directory {_e(str(run.run_dir))}</p></header><main>
<section id="summary"><h2>Result</h2><div class="cards">{card_html}</div>
<p>Test metrics come from a single evaluation of the refitted model on the held-out test split,
after selection on validation.</p></section>
{figures}
<section id="leaderboard"><h2>Leaderboard</h2><div class="scroll">{_leaderboard_table(run.leaderboard.head(50))}</div></section>
<section id="best-config"><h2>Best configuration</h2><pre>{_e(config)}</pre></section>
<section id="data"><h2>Data report</h2>{_key_values(data_rows)}</section>
</main></body></html>
"""


def _leaderboard_table(frame: pd.DataFrame) -> str:
    """One row per trial; its hyperparameters on a full-width line of their own beneath it."""
    columns = [c for c in frame.columns if c != "hyperparameters"]
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    rows = []
    for _, row in frame.iterrows():
        rows.append("<tr>" + "".join(f"<td>{_e(_cell(row[c]))}</td>" for c in columns) + "</tr>")
        if "hyperparameters" in frame:
            rows.append(f'<tr class="hyperparameters"><td colspan="{len(columns)}">{_e(_cell(row["hyperparameters"]))}</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _key_values(values: dict) -> str:
    rows = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(_list(v) if isinstance(v, list) else _fmt(v))}</td></tr>" for k, v in values.items()
    )
    return f"<table>{rows}</table>"


def _list(values: list, limit: int = 24) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return f"{shown}, … ({len(values)} in all)" if len(values) > limit else shown or "-"


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def _cell(value) -> str:
    # An empty leaderboard cell (an ensemble's loss, optimizer, hyperparameters) is read back as "".
    return "-" if isinstance(value, str) and not value else _fmt(value)


def _e(value) -> str:
    return html.escape(str(value), quote=True)

