"""Shared fixtures: one Ray instance per test session, and tiny datasets."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

import frames


# Under pytest-xdist (`make test` runs `-n 2`) each test file runs whole on one worker, so that its
# module-scoped searches are shared by its tests, and the files that take longest start first, so
# that both workers finish together (measured with `--durations`; a file not listed runs after
# them, in collection order). A file must not change what another process sees: the plugin
# package a test installs goes into a folder of its own (tests/test_example_plugin.py), a
# cluster a test starts is stopped by its process group, never `ray stop`.
LONGEST_FIRST = (
    "test_bench_smoke.py", "test_resume.py", "test_search_algorithms.py", "test_failures.py", "test_cluster.py",
    "test_sklearn.py", "test_shipped_defaults.py", "test_readme.py", "test_search.py", "test_data_layout.py",
    "test_example_plugin.py", "test_task_from_another_package.py", "test_report.py", "test_data_leakage.py", "test_tracking_wandb.py", "test_unsupervised_families.py",
    "test_ensemble.py", "test_report_schedule.py", "test_unsupervised_search.py", "test_catalogue_search.py", "test_portfolio.py",
    "test_multilabel.py", "test_plugins_from_many_authors.py", "test_validation.py", "test_fallbacks.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: in-file order is kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadFileScheduling

    config.option.loadscopereorder = False  # keep the order above, not the number of tests per file
    return LoadFileScheduling(config, log)


@pytest.fixture
def searches_in_process(monkeypatch):
    """Every search of the test runs its trials one after another in this process, without Ray
    (a seam for API conventions; see tests/in_process.py)."""
    from in_process import run_trials_in_process

    monkeypatch.setattr("automl.engine.ray_cluster.ensure_ray", lambda resources, verbose=False: False)
    monkeypatch.setattr("automl.engine.run.run_trials", run_trials_in_process)


def start_session_ray():
    import ray

    from automl.engine.ray_cluster import LOCAL_RAY_SYSTEM_CONFIG

    # address="local": never join a `ray start` cluster another test or user left on this machine.
    ray.init(
        address="local",
        num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
        _node_ip_address="127.0.0.1",  # keep test traffic on loopback
        _system_config=LOCAL_RAY_SYSTEM_CONFIG,
    )


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray instance shared by every test that runs trials (ray.init costs seconds)."""
    import ray

    if not ray.is_initialized():
        start_session_ray()
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module", autouse=True)
def session_ray_gets_its_cpus_back(request):
    """After each test file the session's Ray should have every CPU free again. In runs with two
    workers, 1 of 2 CPUs has stayed held after tests/test_search_algorithms.py, through the next
    files (not reproduced with that file alone, with or without load); a search needing more CPUs
    than were left would wait forever (a CI run stopped at its time limit with 11 tests to go).
    A trial's actor is gone within a second or two of its search; a CPU still held after 10 s
    stays held, so the file is named in a warning, with what still holds CPUs, and the next file
    gets a fresh Ray."""
    yield
    import time

    import ray

    if not ray.is_initialized():
        return
    deadline = time.monotonic() + 10
    while ray.available_resources().get("CPU", 0) < ray.cluster_resources().get("CPU", 0):
        if time.monotonic() > deadline:
            held = ray.cluster_resources().get("CPU", 0) - ray.available_resources().get("CPU", 0)
            request.node.warn(pytest.PytestWarning(f"{held:g} CPU(s) of the session's Ray still held 10 s after "
                                                   f"{request.node.name} ended ({cpu_holders()}); Ray restarted for the next file"))
            ray.shutdown()
            start_session_ray()
            return
        time.sleep(0.25)


def cpu_holders() -> str:
    """The live actors and placement groups of the session's Ray, for the warning above."""
    from ray._private.state import actors  # the GCS's actor table (ray.util.state needs the dashboard)
    from ray.util import placement_group_table

    alive = [f"{a['ActorClassName']} {a['State']}" for a in actors().values() if a["State"] != "DEAD"]
    groups = [f"{g['state']} {g['bundles']}" for g in placement_group_table().values() if g["state"] != "REMOVED"]
    return f"actors: {alive or 'none'}; placement groups: {groups or 'none'}"


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch intra-op thread for the tests of a module that asks for it by name
    (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``): tests that train tiny models
    in this process run several times faster on a shared, loaded machine without thread
    contention, as a trial does with its one CPU. Restored afterwards."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


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

