"""Data-layer scale benchmark: a 1,000,000-row × 50-column CSV (40 numeric, 8 low- and 2
high-cardinality categorical columns, 2% missing in 10 numeric columns) is loaded, profiled and
preprocessed; prints time and peak memory against the size of the raw DataFrame, then (with
``--ray``) checks that trials read the prepared arrays from Ray's object store without a copy.

    .venv/bin/python bench/data_scale.py [--rows 1000000] [--ray]

The CSV is written to a temporary folder by this process; the measurement runs in a fresh child
process, whose peak RSS (VmHWM, reset after a warm-up) holds only loading and preparation.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NUMERIC, LOW_CARD, HIGH_CARD = 40, 8, 2


def table_chunks(rows: int, seed: int = 0, chunk: int = 100_000):
    """The benchmark table in chunks of ``chunk`` rows (DataFrames), so that generating it needs little memory."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    weights = rng.normal(size=NUMERIC)
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        numbers = rng.normal(size=(n, NUMERIC)).astype(np.float64)
        frame = pd.DataFrame(numbers, columns=[f"num{i}" for i in range(NUMERIC)])
        for i in range(LOW_CARD):
            frame[f"cat{i}"] = np.array([f"level{j}" for j in range(5 + i)])[rng.integers(0, 5 + i, n)]
        for i in range(HIGH_CARD):
            frame[f"code{i}"] = np.char.add("id", rng.integers(0, 500, n).astype(str))
        score = numbers @ weights + (frame["cat0"] == "level1") * 2.0
        for i in range(10):
            frame.loc[rng.random(n) < 0.02, f"num{i}"] = np.nan
        frame = frame.iloc[:, : NUMERIC + LOW_CARD + HIGH_CARD - 1]  # 49 features + target = 50 columns
        frame["label"] = np.where(score > 0, "yes", "no")
        yield frame


def write_csv(path: Path, rows: int, seed: int = 0, chunk: int = 100_000) -> None:
    """The benchmark table as CSV."""
    for i, frame in enumerate(table_chunks(rows, seed, chunk)):
        frame.to_csv(path, mode="a" if i else "w", header=not i, index=False, float_format="%.6g")


def write_parquet(path: Path, rows: int, seed: int = 0, chunk: int = 100_000) -> None:
    """The benchmark table as Parquet (one row group per chunk)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for frame in table_chunks(rows, seed, chunk):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _status_kib(field: str, name: str = "/proc/self/status") -> int:
    with open(name) as handle:
        return sum(int(line.split()[1]) for line in handle if line.split(":")[0] in field.split("+"))


def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets the process's peak RSS (VmHWM)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_rss_bytes() -> int:
    return _status_kib("VmHWM") * 1024


def current_rss_bytes() -> int:
    return _status_kib("VmRSS") * 1024


def private_bytes() -> int:
    """Memory this process alone holds (shared object-store pages are not counted)."""
    return _status_kib("Private_Clean+Private_Dirty", "/proc/self/smaps_rollup") * 1024


def load_after_warm_up(path: Path, warm_up_rows) -> tuple:
    """Prepare ``warm_up_rows`` once (so lazily imported libraries are part of the baseline),
    reset the peak RSS, then read ``path``: ``(frame, load seconds, frame bytes, baseline RSS)``."""
    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.data.load import read_table

    prepare_data(warm_up_rows, DataConfig(target="label"))
    gc.collect()
    baseline = current_rss_bytes()
    reset_peak_rss()
    started = time.perf_counter()
    frame = read_table(path)
    load_s = time.perf_counter() - started
    return frame, load_s, int(frame.memory_usage(deep=True).sum()), baseline


def measure(path: Path, with_ray: bool) -> dict:
    """Load, profile and prepare ``path`` in this process; return times and memory."""
    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.data.profile import profile_columns

    import pandas as pd

    frame, load_s, raw_bytes, baseline = load_after_warm_up(path, pd.read_csv(path, nrows=2000))
    peak_after_load = peak_rss_bytes()

    started = time.perf_counter()
    decisions = profile_columns(frame.drop(columns="label"))
    profile_s = time.perf_counter() - started

    started = time.perf_counter()
    prepared = prepare_data(frame, DataConfig(target="label"))
    prepare_s = time.perf_counter() - started
    peak_total = peak_rss_bytes()
    arrays = sum(getattr(prepared, f"X_{s}").nbytes for s in ("train", "val", "test"))
    result = {
        "rows": len(frame),
        "columns": frame.shape[1],
        "csv_bytes": path.stat().st_size,
        "raw_dataframe_bytes": raw_bytes,
        "prepared_arrays_bytes": arrays,
        "input_shape": list(prepared.input_shape),
        "column_kinds": prepared.report["column_kinds"],
        "load_s": round(load_s, 2),
        "profile_s": round(profile_s, 2),
        "prepare_s": round(prepare_s, 2),
        "baseline_rss_bytes": baseline,
        "peak_rss_after_load_bytes": peak_after_load,
        "peak_rss_bytes": peak_total,
        "peak_over_baseline_vs_raw": round((peak_total - baseline) / raw_bytes, 2),
        "kept_columns": sum(d.kept for d in decisions),
    }
    if with_ray:
        result["ray"] = shared_with_trials(prepared)
    return result


def shared_with_trials(prepared) -> dict:
    """Put the trials' data in Ray's object store once; two concurrent readers map it, not copy it."""
    import ray

    from automl.training.records import TrainingSet

    # address="local": always a private instance, never a cluster someone else started on this machine.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        data = TrainingSet(prepared.task, prepared.input_shape, prepared.output_size, prepared.X_train,
                           prepared.y_train, prepared.X_val, prepared.y_val)
        ref = ray.put(data)

        @ray.remote(num_cpus=1)
        def reader(ref_list):
            import automl.training.trainable  # noqa: F401  (imports are not data: load them before measuring)

            before = private_bytes()
            data = ray.get(ref_list[0])
            checksum = float(data.X_train.sum())  # touch every page of the array
            return {"writeable": bool(data.X_train.flags.writeable), "private_growth_bytes": private_bytes() - before, "checksum": checksum}

        readers = ray.get([reader.remote([ref]), reader.remote([ref])])
        return {"X_train_bytes": int(prepared.X_train.nbytes), "readers": readers}
    finally:
        ray.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ray", action="store_true", help="also check zero-copy sharing through Ray's object store")
    parser.add_argument("--keep", type=Path, metavar="CSV", help="write the CSV here and keep it; reuse it if it exists")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.ray)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "scale.csv"
        if not path.exists():
            started = time.perf_counter()
            write_csv(path, args.rows)
            print(f"wrote {args.rows} rows to {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s", flush=True)
        command = [sys.executable, __file__, "--measure", str(path)] + (["--ray"] if args.ray else [])
        child = subprocess.run(command, capture_output=True, text=True)
        if child.returncode:
            print(child.stderr, file=sys.stderr)
            return child.returncode
        result = json.loads(child.stdout.strip().splitlines()[-1])
    mib = lambda b: f"{b / 2**20:.0f} MiB"  # noqa: E731
    print(f"rows × columns        {result['rows']} × {result['columns']}  (CSV {mib(result['csv_bytes'])})")
    print(f"column kinds          {result['column_kinds']}  → input shape {result['input_shape']}")
    print(f"load                  {result['load_s']} s")
    print(f"profile               {result['profile_s']} s")
    print(f"split+profile+fit+transform (prepare_data) {result['prepare_s']} s")
    print(f"raw DataFrame         {mib(result['raw_dataframe_bytes'])}")
    print(f"prepared arrays       {mib(result['prepared_arrays_bytes'])}")
    print(f"RSS baseline          {mib(result['baseline_rss_bytes'])}")
    print(f"peak RSS after load   {mib(result['peak_rss_after_load_bytes'])}")
    print(f"peak RSS              {mib(result['peak_rss_bytes'])}")
    print(f"(peak - baseline) / raw DataFrame = {result['peak_over_baseline_vs_raw']}x")
    if "ray" in result:
        for i, reader in enumerate(result["ray"]["readers"]):
            print(f"ray reader {i}: X_train writeable={reader['writeable']} (False = zero-copy view of the object store), "
                  f"private memory growth {mib(reader['private_growth_bytes'])} for a {mib(result['ray']['X_train_bytes'])} X_train")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
