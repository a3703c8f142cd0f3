"""scikit-learn estimators over the whole search: ``AutoMLClassifier`` and ``AutoMLRegressor``.

``fit(X, y)`` runs :class:`automl.api.AutoML` on the rows it is given (split train / val /
test, Ray Tune trials, refit of the winner on train+val, one test evaluation) and keeps the
refitted model in memory, so the estimator works inside a ``Pipeline``, ``cross_val_score``
or ``GridSearchCV`` like any other::

    from sklearn.model_selection import cross_val_score
    from automl.sklearn import AutoMLClassifier

    scores = cross_val_score(AutoMLClassifier(space="quick", num_trials=4), X, y, cv=3)

Each ``fit`` needs a run directory for Ray Tune's records. By default it is a temporary
folder the estimator creates and deletes when ``fit`` returns (the leaderboard and test
metrics stay available as ``leaderboard_`` and ``test_metrics_``), and the fit writes no
review material: no ``report.html``, no W&B runs. Pass ``output=PATH`` to keep every fit's run
directory under ``PATH`` (``run_dir_`` names it), with its report and W&B tracking as a search
from the CLI has them.

Ray: ``fit`` joins a running Ray instance, or starts one and shuts it down after the fit.
Call ``ray.init(_system_config=automl.engine.ray_cluster.LOCAL_RAY_SYSTEM_CONFIG)`` once before fitting many
estimators to pay Ray's start-up only once (that setting makes its workers preload torch, as the
instance a search starts does).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from automl.options import checked_options, estimator_defaults, given_keywords, options_signature

TARGET_COLUMN = "__automl_target__"
# The options of automl.options.TASK_OPTIONS that make sense per fit (marked `estimator` there,
# with the estimators' defaults: a quick search).
ESTIMATOR_OPTIONS = tuple(estimator_defaults())
MIN_ROWS = 8  # one row each for val and test needs ~7 rows at the default fractions


def task_learning(target_type: str) -> str:
    """The registered task whose ``Task.sklearn_target_type`` is ``target_type`` (a value of
    scikit-learn's ``type_of_target``): the task an estimator's search runs for its ``y``."""
    from automl.registry import load_registry

    tasks = load_registry().tasks
    for name, task in tasks.items():
        if task.sklearn_target_type == target_type:
            return name
    raise ValueError(f"no installed task learns targets of type {target_type!r}; the tasks are {', '.join(tasks)}.")


class _AutoMLEstimator(BaseEstimator):
    """What both estimators share: parameters, input validation, the search, prediction."""

    _task: str = ""  # the task of the current fit (task_learning)
    _numeric_target = False  # whether y is read as numbers

    def __init__(self, **params: Any) -> None:
        given_keywords(type(self).__name__, params, ESTIMATOR_OPTIONS)
        for name, default in estimator_defaults().items():
            setattr(self, name, params.get(name, default))

    # The parameters are options of automl.options.TASK_OPTIONS, declared there once.
    __init__.__signature__ = options_signature(estimator_defaults(), ESTIMATOR_OPTIONS)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are imputed (fitted on the training split)
        return tags

    # -- fitting -----------------------------------------------------------------------------

    def _check_params(self) -> None:
        """Refuse, before the data is read, a parameter value that ``automl search`` refuses for
        its flag (:func:`automl.options.checked_options`); scikit-learn checks parameters in
        ``fit``, never in ``__init__``."""
        checked_options({name: getattr(self, name) for name in ESTIMATOR_OPTIONS})

    def _search(self, frame: pd.DataFrame, y: np.ndarray) -> None:
        from automl.api import AutoML
        from automl.predictor import load

        frame = frame.copy()
        frame[TARGET_COLUMN] = y
        if self.output is None:
            run_dir, owned = Path(tempfile.mkdtemp(prefix="automl-sklearn-")), True
        else:
            Path(self.output).mkdir(parents=True, exist_ok=True)
            run_dir, owned = Path(tempfile.mkdtemp(prefix="fit-", dir=self.output)), False
        try:
            space = self.space
            if isinstance(space, Mapping):
                import yaml

                space = run_dir / "space.yaml"
                space.write_text(yaml.safe_dump(dict(self.space)))
            per_fit = {name: getattr(self, name) for name in ESTIMATOR_OPTIONS}
            result = AutoML(**{**per_fit, "space": space, "output": run_dir / "run"}, target=TARGET_COLUMN, task=self._task,
                            report=not owned, wandb=not owned).fit(frame)
            self.predictor_ = load(result.artifact_dir)
        finally:
            if owned:
                shutil.rmtree(run_dir, ignore_errors=True)
        self.leaderboard_ = result.leaderboard
        self.best_ = result.best
        self.test_metrics_ = result.test_metrics
        self.run_dir_ = None if owned else result.run_dir

    def _features(self, X, reset: bool) -> pd.DataFrame:
        """Validate ``X`` and return it as the table the search and predictor read."""
        if isinstance(X, pd.DataFrame):
            # Keep the frame as it is: string and categorical columns are one-hot encoded.
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            return X.rename(columns=str)
        X = validate_data(self, X, reset=reset, dtype="numeric", ensure_all_finite="allow-nan")
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])

    def _target(self, y) -> np.ndarray:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        if self._numeric_target:
            y = np.asarray(y, dtype=float)
        if pd.isna(pd.Series(y)).any() or (y.dtype.kind == "f" and not np.isfinite(y).all()):
            raise ValueError("Input y contains NaN or infinity; drop those rows before fit.")
        return y

    def _check_rows(self, n_rows: int, n_targets: int) -> None:
        if n_rows != n_targets:
            raise ValueError(f"X has {n_rows} rows but y has {n_targets} values; pass one target per row.")
        if n_rows < MIN_ROWS:
            raise ValueError(
                f"Found array with {n_rows} sample(s) while a minimum of {MIN_ROWS} is required: "
                "the search splits the rows into train, validation and test."
            )

    # -- prediction --------------------------------------------------------------------------

    def _outputs_frame(self, X) -> pd.DataFrame:
        check_is_fitted(self, "predictor_")
        return self._features(X, reset=False)


class AutoMLClassifier(ClassifierMixin, _AutoMLEstimator):
    """A classifier whose model is found by an automl search (binary or multiclass).

    Parameters are those of :class:`automl.api.AutoML` that make sense per fit: ``space``
    (a name in ``search_spaces/``, a YAML path, or a dict in the YAML schema), ``metric`` (the
    validation metric that ranks trials, e.g. ``"balanced_accuracy"``), ``num_trials``,
    ``time_budget_s``, ``scheduler``, ``ensemble`` (top-K ensemble selection; 0 is off), ``validation``
    (``"auto"``, ``"holdout"``, ``"cv:K"``), ``final_model`` (``"bag"`` or ``"refit"``), resources,
    ``output`` (keep run directories there; default: a temporary one, deleted),
    split fractions, ``seed`` and ``verbose``.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``feature_names_in_`` (for
    DataFrames with string column names), ``predictor_`` (an :class:`automl.predictor.Predictor`),
    ``leaderboard_``, ``best_``, ``test_metrics_`` (on the fit's own held-out test rows) and
    ``run_dir_``.
    """

    def fit(self, X, y) -> "AutoMLClassifier":
        """Search, refit and keep the best model for ``X`` (table or array) and labels ``y``."""
        self._check_params()
        frame = self._features(X, reset=True)
        y = self._target(y)
        self._check_rows(len(frame), len(y))
        check_classification_targets(y)
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y has 1 class ({classes[0]!r}); a classifier needs at least 2 classes.")
        self._task = task_learning(type_of_target(encoded))  # binary (2 classes) or multiclass
        # The search sees class indices 0..k-1, so classes_ keeps scikit-learn's sorted order and dtype.
        self._search(frame, encoded)
        self.classes_ = classes
        return self

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row, as one of ``classes_``."""
        frame = self._outputs_frame(X)
        indices = self.predictor_.predict(frame).astype(int)
        return self.classes_[indices]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n_rows, n_classes)``, columns in the order of ``classes_``,
        as float32: the network computes in float32, so a row's probabilities may differ by
        float32 rounding with the other rows of its batch (BLAS blocks by matrix size)."""
        frame = self._outputs_frame(X)
        return np.asarray(self.predictor_.predict_proba(frame), dtype=np.float32)

    def predict_log_proba(self, X) -> np.ndarray:
        """Natural logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class AutoMLRegressor(RegressorMixin, _AutoMLEstimator):
    """A regressor whose model is found by an automl search (one numeric target).

    Parameters and fitted attributes are those of :class:`AutoMLClassifier`, without
    ``classes_``.
    """

    _numeric_target = True

    def fit(self, X, y) -> "AutoMLRegressor":
        """Search, refit and keep the best model for ``X`` (table or array) and values ``y``."""
        self._check_params()
        self._task = task_learning("continuous")  # regression
        frame = self._features(X, reset=True)
        y = self._target(y)
        self._check_rows(len(frame), len(y))
        self._search(frame, y)
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted values in the units of ``y``."""
        frame = self._outputs_frame(X)
        return np.asarray(self.predictor_.predict(frame), dtype=float)
