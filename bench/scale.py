"""Scale: a synthetic table of 10k, 100k and 1M rows (40 numeric columns with missing values,
8 low- and 1 high-cardinality categorical column, a binary target; see ``bench/data_scale.py``)
is written to Parquet (or CSV), then for each size:

- load + preprocess: a fresh child process reads the file (``read_table``) and prepares it
  (``prepare_data``: split, profile, fit on train, transform); its times, its peak RSS over the
  whole process (VmHWM) and its peak above the baseline of imported libraries;
- trials per minute: a fixed short search (``--trials`` MLP trials of ``--epochs`` epochs, FIFO,
  1 CPU per trial) on the prepared arrays, in this process's Ray session.

    python -m bench.scale [--rows 10000 100000 1000000] [--format parquet] [--trials 4] [--epochs 2] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import small_mlp_space

SPACE = small_mlp_space(batch_size=256)  # "{epochs}" is filled in per run
ARRAYS = ("X_train", "y_train", "X_val", "y_val")


def write_table(path: Path, rows: int) -> float:
    """Write the benchmark table; returns the seconds it took."""
    from bench.data_scale import write_csv, write_parquet

    started = time.perf_counter()
    (write_parquet if path.suffix == ".parquet" else write_csv)(path, rows)
    return time.perf_counter() - started


def measure_preparation(path: Path, arrays_dir: Path) -> dict:
    """In a fresh process: load and prepare ``path``; save the arrays the trials need."""
    from automl.config import DataConfig
    from automl.data import prepare_data
    from bench.data_scale import load_after_warm_up, peak_rss_bytes, table_chunks

    frame, load_s, raw_bytes, baseline = load_after_warm_up(path, next(table_chunks(2000, seed=1)))
    started = time.perf_counter()
    prepared = prepare_data(frame, DataConfig(validation="holdout", target="label"))
    prepare_s = time.perf_counter() - started
    peak = peak_rss_bytes()
    for name in ARRAYS:
        np.save(arrays_dir / f"{name}.npy", getattr(prepared, name))
    facts = {"task": prepared.task, "input_shape": list(prepared.input_shape), "output_size": prepared.output_size}
    (arrays_dir / "facts.json").write_text(json.dumps(facts))
    return {
        "rows": len(frame), "columns": frame.shape[1], "file_bytes": path.stat().st_size, "raw_dataframe_bytes": raw_bytes,
        "input_shape": list(prepared.input_shape), "load_s": round(load_s, 2), "prepare_s": round(prepare_s, 2),
        "baseline_rss_bytes": baseline, "peak_rss_bytes": peak,
        "peak_over_baseline_vs_raw": round((peak - baseline) / raw_bytes, 2),
    }


def trials_per_minute(arrays_dir: Path, trials: int, epochs: int) -> dict:
    """A fixed short search on the prepared arrays: wall time, trials per minute, samples/s per trial."""
    import yaml

    from automl.config import ResourceConfig, SearchConfig
    from automl.engine.run import run_trials
    from automl.registry import load_registry
    from automl.space import build_search_space
    from automl.training.records import Components, TrainingSet

    facts = json.loads((arrays_dir / "facts.json").read_text())
    arrays = {name: np.load(arrays_dir / f"{name}.npy") for name in ARRAYS}
    registry = load_registry()
    space = build_search_space(registry, yaml.safe_load(SPACE.format(epochs=epochs)), facts["task"], "tabular")
    components = Components({f: {n: registry.get(f, n).spec for n in space.names(f)} for f in space.components})
    data = TrainingSet(facts["task"], tuple(facts["input_shape"]), facts["output_size"], arrays["X_train"],
                       arrays["y_train"], arrays["X_val"], arrays["y_val"])
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        records = run_trials(data, space, components, SearchConfig(num_trials=trials, scheduler="fifo"),
                             ResourceConfig(cpus_per_trial=1), Path(run_dir))
        wall = time.perf_counter() - started
    finished = [r for r in records if r.history]
    rates = [len(arrays["X_train"]) * len(r.history) / r.history[-1]["train_time_s"] for r in finished
             if r.history[-1].get("train_time_s")]
    return {"trials": trials, "trials_finished": len(finished), "epochs": epochs, "search_wall_s": round(wall, 2),
            "trials_per_minute": round(len(finished) / wall * 60, 2),
            "samples_per_s_per_trial": round(float(np.mean(rates)), 1) if rates else float("nan")}


def measure_size(rows: int, file_format: str, trials: int, epochs: int, folder: Path) -> dict:
    """Write the table, measure its preparation in a child process, then the short search."""
    path = folder / f"scale-{rows}.{file_format}"
    generate_s = write_table(path, rows)
    arrays_dir = folder / f"arrays-{rows}"
    arrays_dir.mkdir()
    command = [sys.executable, "-m", "bench.scale", "--child", str(path), "--arrays", str(arrays_dir)]
    child = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if child.returncode:
        raise RuntimeError(f"the preparation child failed for {rows} rows:\n{child.stderr[-3000:]}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result["format"] = file_format
    result["generate_s"] = round(generate_s, 1)
    path.unlink()
    result.update(trials_per_minute(arrays_dir, trials, epochs))
    print(json.dumps(result), flush=True)
    return result


def to_markdown(figures: dict) -> str:
    """This benchmark's table for RESULTS.md."""
    from bench.results import markdown_table

    mib = lambda b: round(b / 2**20)  # noqa: E731
    header = ["rows", "file", "load s", "prepare s", "raw frame MiB", "peak RSS MiB (baseline)", "(peak - baseline) / raw",
              "trials", "search wall s", "trials / min", "samples/s per trial"]
    rows = [[r["rows"], f"{r['format']} {mib(r['file_bytes'])} MiB", r["load_s"], r["prepare_s"], mib(r["raw_dataframe_bytes"]),
             f"{mib(r['peak_rss_bytes'])} ({mib(r['baseline_rss_bytes'])})", r["peak_over_baseline_vs_raw"],
             f"{r['trials_finished']} of {r['trials']} × {r['epochs']} epochs", r["search_wall_s"], r["trials_per_minute"],
             r["samples_per_s_per_trial"]] for r in figures["sizes"]]
    return (f"{figures['columns']}-column table (40 numeric with 2% missing in 10, 8 low- and 1 high-cardinality "
            "categorical, binary target). Load + prepare in a fresh child process per size (peak RSS = VmHWM of that "
            "process, baseline = after importing libraries and a 2,000-row warm-up). Trials: MLP (depth 2, width 64/128), "
            "batch 256, FIFO, 1 CPU per trial; `ray.init` not counted.\n\n" + markdown_table(header, rows))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--arrays", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_preparation(args.child, args.arrays)))
        return {}
    if args.smoke:
        args.rows, args.trials, args.epochs = [2000], 2, 1

    from bench.common import machine, ray_running

    with tempfile.TemporaryDirectory() as folder, ray_running(num_cpus=min(os.cpu_count() or 1, args.trials)):
        sizes = [measure_size(rows, args.format, args.trials, args.epochs, Path(folder)) for rows in args.rows]
    figures = {"machine": machine(), "columns": sizes[0]["columns"], "sizes": sizes}
    print(to_markdown(figures))
    return figures


if __name__ == "__main__":
    main()
