"""Write benchmark figures into bench/RESULTS.md: one generated block per benchmark.

Each benchmark's section holds a block between ``<!-- generated:NAME start -->`` and
``<!-- generated:NAME end -->`` that ``python -m bench`` replaces with the figures it just
measured; everything outside the blocks (earlier measurements, notes) is kept as it is.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Iterable, Sequence

RESULTS_PATH = Path(__file__).with_name("RESULTS.md")


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- generated:{name} start -->", f"<!-- generated:{name} end -->"


def update_section(path: Path, name: str, body: str, heading: str) -> None:
    """Replace the generated block ``name`` in ``path`` with ``body``; add the block under
    a new ``## heading`` at the end when the file does not have one yet."""
    start, end = _markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n{block}\n"
    path.write_text(text)


def run_header(command: str, commit: str) -> str:
    """Machine, date, commit and library versions of this run, for the top of RESULTS.md."""
    return "\n".join([
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- Command: `{command}`",
        f"- Commit: {commit}",
        f"- Machine: {machine_description()}",
        f"- Load average at the start: {load_average()}",
        f"- Versions: {library_versions()}",
    ])


def git_commit(written: Path | None = None, root: Path = Path(__file__).resolve().parent.parent) -> str:
    """The commit of the code being measured: ``git rev-parse HEAD`` of the checkout at ``root``
    (this one), with "+ uncommitted changes" when its tree differs from that commit (untracked
    files count). ``written``, the results file this run rewrites, does not count: it is the
    run's output, not its input, and a run that writes several blocks changes it before its
    second one."""
    import subprocess

    root = root.resolve()

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changed = git("status", "--porcelain", "-z").split("\0")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not run from a git checkout)"
    ignored = {str(written.resolve().relative_to(root))} if written and written.resolve().is_relative_to(root) else set()
    dirty = any(entry and entry[3:] not in ignored for entry in changed)
    return commit + (" + uncommitted changes" if dirty else "")


def machine_description() -> str:
    """Cores, memory, GPU and OS, read from this machine."""
    import os
    import platform

    import torch

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), {memory_gib:.0f} GiB, {gpu}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def load_average() -> str:
    import os

    return ", ".join(f"{value:.1f}" for value in os.getloadavg()) + " (1, 5, 15 min)"


def library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for package in ("automl-torch", "torch", "ray", "scikit-learn", "pandas", "numpy"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} (not installed)")
    return ", ".join(parts)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A Markdown table; floats with 4 significant digits, or as whole numbers from 1,000 up."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return "" if value is None else str(value)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    import numpy as np

    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0
