"""The scikit-learn estimators follow scikit-learn's conventions and compose with its tools."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import _get_check_estimator_ids, estimator_checks_generator

from automl.sklearn import AutoMLClassifier, AutoMLRegressor

# One trial, one epoch of a small network per fit: scikit-learn's checks fit about 90 times.
TINY_SPACE = {
    "epochs": 1,
    "batch_size": 16,
    "architectures": {"include": ["mlp"], "mlp": {"depth": 1, "width": 32, "activation": "relu", "normalization": "none"}},
    "losses": {"include": ["cross_entropy", "mse"], "cross_entropy": {"label_smoothing": 0.0}},
    "optimizers": {"include": ["adam"], "adam": {"lr": 0.05, "schedule": "constant", "warmup": 0.0}},
    "regularizers": {"exclude": ["dropout", "l2"]},
}
# Hold-out and no ensemble: one model per fit (the defaults would train 5 folds and select).
TINY = {"space": TINY_SPACE, "num_trials": 1, "scheduler": "fifo", "validation": "holdout", "ensemble": 0}

# Checks expected to fail, each with the reason (scikit-learn's own `expected_failed_checks`).
EXPECTED_FAILED: dict[str, str] = {}
ESTIMATORS = [AutoMLClassifier(**TINY), AutoMLRegressor(**TINY)]
# Checks that also run through real Ray Tune (the first variant of each): the classifier fitted,
# pickled and loaded again; the regressor fitted twice with the same predictions.
THROUGH_RAY = {AutoMLClassifier: "check_estimators_pickle", AutoMLRegressor: "check_fit_idempotent"}


# scikit-learn runs its array API check only in SciPy's array API mode, which SciPy reads from
# SCIPY_ARRAY_API once, at its first import: it runs in a process of its own (below), so that every
# other test imports SciPy as a user's process does.
NEEDS_SCIPY_ARRAY_API = "check_array_api_input"


def checks_in_process():
    """scikit-learn's checks of each estimator, as test parameters, but the array API check."""
    for estimator in ESTIMATORS:
        for estimator_clone, check in estimator_checks_generator(estimator, legacy=True, expected_failed_checks=EXPECTED_FAILED):
            if getattr(check, "func", check).__name__ != NEEDS_SCIPY_ARRAY_API:
                yield pytest.param(estimator_clone, check, id=_get_check_estimator_ids(estimator_clone) + "-"
                                   + _get_check_estimator_ids(check))


# Every check runs to its end (106 with the DataFrame test below, 91 fits). They check the
# estimators' conventions, not the search: their searches run in process (the
# `searches_in_process` seam, tests/in_process.py), a fraction of a second a fit where a real
# Ray Tune search costs seconds of actor start-up (the module took 26 min through Ray on a
# 2-core machine at load 7-15). Two of them run through Ray as well (THROUGH_RAY), below.
@pytest.mark.parametrize("estimator, check", checks_in_process())
def test_estimator_passes_scikit_learn_checks(estimator, check, searches_in_process):
    check(estimator)


ARRAY_API_CHECK = """
import sys
sys.path.insert(0, sys.argv[1])
from sklearn.utils.estimator_checks import estimator_checks_generator
from in_process import run_trials_in_process
import automl.engine.ray_cluster, automl.engine.run
import test_sklearn

automl.engine.ray_cluster.ensure_ray = lambda resources, verbose=False: False  # the searches_in_process seam
automl.engine.run.run_trials = run_trials_in_process
ran = []
for estimator in test_sklearn.ESTIMATORS:
    for clone, check in estimator_checks_generator(estimator, legacy=True):
        if getattr(check, "func", check).__name__ == test_sklearn.NEEDS_SCIPY_ARRAY_API:
            check(clone)
            ran.append(type(estimator).__name__)
print(" ".join(ran))
"""


def test_estimators_pass_the_array_api_check_in_scipy_s_array_api_mode():
    import os
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run([sys.executable, "-c", ARRAY_API_CHECK, str(Path(__file__).parent)], capture_output=True, text=True,
                          env={**os.environ, "SCIPY_ARRAY_API": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["AutoMLClassifier", "AutoMLRegressor"]  # each estimator's check ran, none skipped


def checks_through_ray():
    for estimator in ESTIMATORS:
        wanted = THROUGH_RAY[type(estimator)]
        for estimator_clone, check in estimator_checks_generator(estimator, legacy=True, expected_failed_checks=EXPECTED_FAILED):
            if getattr(check, "func", check).__name__ == wanted:
                yield pytest.param(estimator_clone, check, id=f"{type(estimator).__name__}-{wanted}")
                break


@pytest.mark.slow
@pytest.mark.parametrize("estimator, check", checks_through_ray())
def test_estimator_passes_the_fitting_checks_through_ray_tune(estimator, check, ray_session):
    check(estimator)


@pytest.mark.slow
def test_classifier_fits_a_dataframe_with_text_columns_and_keeps_its_run(blobs_frame, ray_session, tmp_path):
    X, y = blobs_frame.drop(columns=["species"]), blobs_frame["species"]
    clf = AutoMLClassifier(**TINY, output=tmp_path / "runs").fit(X, y)
    assert list(clf.feature_names_in_) == ["x1", "x2", "colour", "noise"]
    assert list(clf.classes_) == ["ant", "bee", "cat"]
    assert clf.score(X, y) > 0.9
    assert clf.predict_proba(X.head(4)).shape == (4, 3)
    assert (clf.run_dir_ / "leaderboard.csv").is_file() and clf.run_dir_.is_relative_to(tmp_path / "runs")
    assert set(clf.test_metrics_) >= {"accuracy"}
