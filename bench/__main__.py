"""`python -m bench` (or `make bench`): run every benchmark at full size and write its figures
into bench/RESULTS.md (one generated block per benchmark; the rest of the file is kept). Each
block names its command, the git commit it measured, the machine, the date and the versions.

    python -m bench [--only quality scale] [--quality-budget 120] [--quality-datasets wine] [--quality-seeds 0 1]
                    [--quality-contenders automl flaml sklearn] [--sequence-budget 60] [--results bench/RESULTS.md] [--block NAME] [--smoke]
    python -m bench --only unsupervised [--unsupervised-cluster-sets breast_cancer blobs] [--unsupervised-generate-sets]
                    [--unsupervised-seeds 0 1 2 3 4]     # on request only: not part of a full run

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
# Run only when named in --only: not part of a full run (`make bench`).
ON_REQUEST = {
    "unsupervised": ("bench.unsupervised", "Clustering and generation against scikit-learn — `bench/unsupervised.py`"),
}
# Each benchmark's options of this command → that benchmark's own flag.
MODULE_OPTIONS = {
    "quality": {"quality_budget": "--budget", "quality_datasets": "--datasets", "quality_seeds": "--seeds",
                "quality_contenders": "--contenders"},
    "sequence": {"sequence_budget": "--budget", "sequence_seeds": "--seeds", "sequence_datasets": "--datasets"},
    "unsupervised": {"unsupervised_cluster_sets": "--cluster-sets", "unsupervised_generate_sets": "--generate-sets",
                     "unsupervised_seeds": "--seeds"},
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=[*BENCHMARKS, *ON_REQUEST], default=list(BENCHMARKS))
    parser.add_argument("--quality-budget", type=float, help="search seconds per dataset and seed (bench.quality --budget)")
    parser.add_argument("--quality-datasets", nargs="+", help="datasets of bench.quality (default: all seven)")
    parser.add_argument("--quality-seeds", type=int, nargs="+", help="seeds of bench.quality (default 0 1 2 3 4)")
    parser.add_argument("--quality-contenders", nargs="+", help="contenders of bench.quality (default: all)")
    parser.add_argument("--sequence-budget", type=float, help="search seconds per time-series set and seed (bench.sequence --budget)")
    parser.add_argument("--sequence-datasets", nargs="+", help="time-series sets of bench.sequence (default: all five)")
    parser.add_argument("--sequence-seeds", type=int, nargs="+", help="seeds of bench.sequence (default 0 1 2)")
    parser.add_argument("--unsupervised-cluster-sets", nargs="*", help="cluster sets of bench.unsupervised (none: no clustering)")
    parser.add_argument("--unsupervised-generate-sets", nargs="*", help="generate sets of bench.unsupervised (none: no generation)")
    parser.add_argument("--unsupervised-seeds", type=int, nargs="+", help="seeds of bench.unsupervised (default 0 1 2)")
    parser.add_argument("--results", type=Path, help="the RESULTS.md to update (default: bench/RESULTS.md, not with --smoke)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; writes nothing unless --results is given")
    parser.add_argument("--block", help="with one --only: write into the generated block of this name instead of the "
                                        "benchmark's own (a partial run kept beside the full one)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    from bench.results import (RESULTS_PATH, git_commit, library_versions, load_average, machine_description, run_header,
                               update_section)

    args = parse_args(argv)
    if args.block and len(args.only) != 1:
        print(f"python -m bench: --block {args.block} needs exactly one --only benchmark", file=sys.stderr)
        return 2
    results = args.results or (None if args.smoke else RESULTS_PATH)
    command = shlex.join(["python", "-m", "bench", *argv])
    commit = git_commit(written=results)  # before the first block changes the results file
    full_run = set(args.only) == set(BENCHMARKS)
    if results is not None and full_run:  # a partial run leaves the last full run's header alone
        update_section(results, "run", run_header(command, commit), "Latest `python -m bench` run")
    for name in args.only:
        module_name, heading = {**BENCHMARKS, **ON_REQUEST}[name]
        module_args = ["--smoke"] if args.smoke else []
        for option, flag in MODULE_OPTIONS.get(name, {}).items():
            value = getattr(args, option)
            if value is not None:
                module_args += [flag, *map(str, value if isinstance(value, list) else [value])]
        print(f"== {module_name} {' '.join(module_args)}", flush=True)
        started_load = load_average()
        module = importlib.import_module(module_name)
        figures = module.main(module_args)
        if results is not None:
            # Each block names everything needed to re-run it, whichever run later rewrites the others.
            measured = (f"Measured by `{command}` at commit {commit} on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
                        f"({machine_description()}; versions: {library_versions()})")
            body = f"{measured}; load average at the start: {started_load}.\n\n{module.to_markdown(figures)}"
            update_section(results, args.block or name, body, heading)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
