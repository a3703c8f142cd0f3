"""Benchmark: what loading a saved model costs when it imports only the plugins it needs,
against loading every installed plugin first (what ``predict`` did before issue 20), and how
long ``automl plugins check`` takes on each built-in plugin module.

    .venv/bin/python bench/plugin_loading.py [--repeats 5]

Each load runs in a fresh interpreter (imports are the cost), on a small real artifact (an MLP
with dropout refitted on iris by the refit code, no search). Prints the numbers to record in
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOAD_NEEDED = "import sys, automl; automl.load(sys.argv[1])"
LOAD_EVERYTHING = ("import sys, automl; from automl.registry import load_registry; "
                   "automl.load(sys.argv[1], registry=load_registry())")
BUILTIN_MODULES = ["mlp", "cnn", "rnn", "transformer", "losses", "optimizers", "regularizers", "autoencoder", "gan",
                   "unsupervised_losses", "initialization", "augmentation"]


def build_artifact(folder: Path) -> Path:
    """A real saved model: the built-in MLP with dropout, refitted on iris (tests/artifact_helpers.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from sklearn.datasets import load_iris

    from artifact_helpers import build_artifact as build

    return build(load_iris(as_frame=True).frame, "target", folder / "model")


def seconds(code: str, artifact: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(artifact)], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        artifact = build_artifact(Path(folder))
        for name, code in (("only the plugins it needs", LOAD_NEEDED), ("every installed plugin", LOAD_EVERYTHING)):
            runs = [seconds(code, artifact) for _ in range(args.repeats)]
            print(f"load, {name}: median {statistics.median(runs):.2f} s, min {min(runs):.2f} s over {args.repeats} fresh interpreters")
    for module in BUILTIN_MODULES:
        started = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "automl", "plugins", "check", f"automl_plugins.{module}"],
                             capture_output=True, text=True)
        summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip()
        print(f"automl plugins check automl_plugins.{module}: {time.perf_counter() - started:.1f} s, {summary}")


if __name__ == "__main__":
    main()
