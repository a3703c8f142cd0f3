"""`python -m bench` (or `make bench`): run every benchmark at full size and write its figures
into bench/RESULTS.md (one generated block per benchmark; the rest of the file is kept).

    python -m bench [--only quality scale] [--quality-budget 120] [--quality-datasets wine] [--quality-seeds 0 1]
                    [--quality-contenders automl flaml sklearn] [--sequence-budget 60] [--results bench/RESULTS.md] [--block NAME] [--smoke]

`--smoke` runs each at tiny size and writes nothing unless `--results` is given (the test
suite does this so the code cannot rot).
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
from pathlib import Path

# name → (module, heading of its RESULTS.md section), in the order they run.
BENCHMARKS = {
    "quality": ("bench.quality", "Quality under a fixed wall budget — `bench/quality.py`"),
    "overhead": ("bench.overhead", "Platform overhead per trial — `bench/overhead.py`"),
    "sequence": ("bench.sequence", "Time series against MiniRocket and InceptionTime — `bench/sequence.py`"),
    "early_stopping": ("bench.early_stopping", "Early stopping against FIFO — `bench/early_stopping.py`"),
    "scale": ("bench.scale", "Scale: 10k to 1M rows — `bench/scale.py`"),
    "gpu": ("bench.gpu", "GPU — `bench/gpu.py`"),
    "kill_resume": ("bench.kill_resume", "Kills at random moments, then resume — `bench/kill_resume.py`"),
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--quality-budget", type=float, help="search seconds per dataset and seed (bench.quality --budget)")
    parser.add_argument("--quality-datasets", nargs="+", help="datasets of bench.quality (default: all six)")
    parser.add_argument("--quality-seeds", type=int, nargs="+", help="seeds of bench.quality (default 0 1 2 3 4)")
    parser.add_argument("--quality-contenders", nargs="+", help="contenders of bench.quality (default: all)")
    parser.add_argument("--sequence-budget", type=float, help="search seconds per time-series set and seed (bench.sequence --budget)")
    parser.add_argument("--sequence-datasets", nargs="+", help="time-series sets of bench.sequence (default: all five)")
    parser.add_argument("--sequence-seeds", type=int, nargs="+", help="seeds of bench.sequence (default 0 1 2)")
    parser.add_argument("--results", type=Path, help="the RESULTS.md to update (default: bench/RESULTS.md, not with --smoke)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; writes nothing unless --results is given")
    parser.add_argument("--block", help="with one --only: write into the generated block of this name instead of the "
                                        "benchmark's own (a partial run kept beside the full one)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    from bench.results import (RESULTS_PATH, library_versions, load_average, machine_description, run_header,
                               update_section)

    args = parse_args(argv)
    if args.block and len(args.only) != 1:
        print(f"python -m bench: --block {args.block} needs exactly one --only benchmark", file=sys.stderr)
        return 2
    results = args.results or (None if args.smoke else RESULTS_PATH)
    command = shlex.join(["python", "-m", "bench", *argv])
    full_run = set(args.only) == set(BENCHMARKS)
    if results is not None and full_run:  # a partial run leaves the last full run's header alone
        update_section(results, "run", run_header(command), "Latest `python -m bench` run")
    for name in args.only:
        module_name, heading = BENCHMARKS[name]
        module_args = ["--smoke"] if args.smoke else []
        if name == "quality" and args.quality_budget is not None:
            module_args += ["--budget", str(args.quality_budget)]
        for option in ("datasets", "seeds", "contenders"):
            if name == "quality" and getattr(args, f"quality_{option}"):
                module_args += [f"--{option}", *map(str, getattr(args, f"quality_{option}"))]
        if name == "sequence" and args.sequence_budget is not None:
            module_args += ["--budget", str(args.sequence_budget)]
        if name == "sequence" and args.sequence_seeds:
            module_args += ["--seeds", *map(str, args.sequence_seeds)]
        if name == "sequence" and args.sequence_datasets:
            module_args += ["--datasets", *args.sequence_datasets]
        print(f"== {module_name} {' '.join(module_args)}", flush=True)
        started_load = load_average()
        module = importlib.import_module(module_name)
        figures = module.main(module_args)
        if results is not None:
            measured = f"Measured by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
            if not full_run:
                measured += f" ({machine_description()}; versions: {library_versions()})"
            body = f"{measured}; load average at the start: {started_load}.\n\n{module.to_markdown(figures)}"
            update_section(results, args.block or name, body, heading)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
