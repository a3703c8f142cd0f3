"""The benchmarks run at tiny sizes, so their code cannot rot (their figures are not checked)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("module", ["bench.overhead", "bench.early_stopping"])
def test_benchmark_runs_at_smoke_size(module, ray_session):
    import importlib

    figures = importlib.import_module(module).main(["--smoke"])
    assert figures["machine"] and figures["trials"] >= 2
