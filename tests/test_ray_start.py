"""The Ray instance a search starts for itself."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, ray
from automl.config import ResourceConfig
from automl.engine.ray_cluster import ensure_ray

assert ensure_ray(ResourceConfig()), "ensure_ray did not start Ray"

@ray.remote(num_cpus=1)
class Probe:
    def torch_was_imported_before_the_actor(self):
        return "torch" in sys.modules

print("preloaded" if ray.get(Probe.remote().torch_was_imported_before_the_actor.remote()) else "cold")
ray.shutdown()
"""


def test_a_search_started_ray_hands_trials_workers_that_already_imported_torch(tmp_path):
    # A subprocess: the test session's own Ray is already running, and ensure_ray would join it.
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "preloaded"
