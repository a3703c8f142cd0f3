"""`python -m bench` (or `make bench`): run every benchmark at full size and print its figures.

`python -m bench --smoke` runs each at tiny size (the test suite does this so the code cannot rot).
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["bench.overhead", "bench.early_stopping"]


def main(argv: list[str]) -> int:
    smoke = ["--smoke"] if "--smoke" in argv else []
    for name in BENCHMARKS:
        print(f"== {name} {' '.join(smoke)}", flush=True)
        importlib.import_module(name).main(smoke)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
