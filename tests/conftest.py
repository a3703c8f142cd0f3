"""Shared fixtures: one Ray instance per test session, and tiny datasets."""

from __future__ import annotations

import logging
import os

# scikit-learn's check_array_api_input (numpy namespace) runs only when SciPy's array API mode
# is on, and SciPy reads this once, when first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import frames  # noqa: E402


# The scikit-learn checks (about 90 fits, each a search whose trial actor is a fresh process
# importing torch) depend on nothing but their own Ray instance: under pytest-xdist (`make test`
# runs `-n 2`) they spread over both workers, while every other test runs as one unit, in file
# order, on one worker, as without xdist (they start Ray clusters, pip-install a plugin package,
# build wheels and time searches). xdist's own `xdist_group` marks do not group under pytest 9.
PARALLEL_TESTS = "tests/test_sklearn.py::test_estimator_passes_scikit_learn_checks"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SerialExceptTheSklearnChecks(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if nodeid.startswith(PARALLEL_TESTS) else "serial"

    return SerialExceptTheSklearnChecks(config, log)


@pytest.fixture(autouse=True)
def wandb_off_unless_a_test_tracks(monkeypatch):
    """W&B has its own tests (which set WANDB_MODE=offline first); elsewhere it only costs time."""
    import os

    if "WANDB_MODE" not in os.environ:
        monkeypatch.setenv("WANDB_MODE", "disabled")


@pytest.fixture
def searches_in_process(monkeypatch):
    """Every search of the test runs its trials one after another in this process, without Ray
    (a seam for API conventions; see tests/in_process.py)."""
    from in_process import run_trials_in_process

    monkeypatch.setattr("automl.engine.ensure_ray", lambda resources, verbose=False: False)
    monkeypatch.setattr("automl.engine.run_trials", run_trials_in_process)


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray instance shared by every test that runs trials (ray.init costs seconds)."""
    import ray

    from automl.engine import LOCAL_RAY_SYSTEM_CONFIG

    if not ray.is_initialized():
        # address="local": never join a `ray start` cluster another test or user left on this machine.
        ray.init(
            address="local",
            num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
            _node_ip_address="127.0.0.1",  # keep test traffic on loopback
            _system_config=LOCAL_RAY_SYSTEM_CONFIG,
        )
    yield ray
    ray.shutdown()


@pytest.fixture
def blobs_frame() -> pd.DataFrame:
    """A small, easily separable 3-class table with a numeric and a categorical feature."""
    return frames.blobs()


@pytest.fixture
def regression_frame() -> pd.DataFrame:
    return frames.linear_regression()


@pytest.fixture
def tiny_space(tmp_path):
    """Write a tiny search space YAML and return its path."""

    def write(text: str):
        path = tmp_path / "space.yaml"
        path.write_text(text)
        return path

    return write


@pytest.fixture(scope="session")
def rival_plugin_installed(tmp_path_factory):
    """``automl-rival-plugin`` (tests/plugin_packages.py), built in a temporary folder and
    pip-installed once per session; uninstalled at the end."""
    from plugin_packages import NAME, pip_install, pip_uninstall, write_rival_package

    project = write_rival_package(tmp_path_factory.mktemp("rival"))
    pip_install(project)
    yield project
    pip_uninstall(NAME)


@pytest.fixture
def rival_plugin(rival_plugin_installed, monkeypatch):
    """The installed rival plugin, answering its hooks for this one test."""
    from plugin_packages import ACTIVE_ENV

    monkeypatch.setenv(ACTIVE_ENV, "1")
    return rival_plugin_installed

