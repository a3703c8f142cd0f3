"""The records a trial works on: what it needs of the data (:class:`TrainingSet`, one per
cross-validation fold), the facts builders may ask for (:class:`DataFacts`), the components it
may build (:class:`Components`), and a built :class:`Model`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np
import torch

from automl.training.epochs import steps_per_epoch


@dataclass
class TrainingSet:
    """What a trial needs of the data: train and validation arrays and their shapes.

    The test split is deliberately absent: trials never see it.
    """

    task: str
    input_shape: tuple[int, ...]
    output_size: int
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    target_scale: float = 1.0
    # Unsupervised tasks only: a fixed cluster count, and the original columns of generated rows.
    n_clusters: int | None = None
    column_space: Any = None
    input_kind: str = "tabular"
    vocab_size: int | None = None
    # Preprocessing variants searched as a dimension: {variant key: (X_train, X_val)}.
    variants: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    class_weights: np.ndarray | None = None
    # The validation metric that ranks this search's trials (``--metric``) and its direction.
    metric: str | None = None
    mode: str | None = None
    # Cross-validation: one TrainingSet per fold (its fit rows as the train split, its
    # validation rows as the val split), and each fold's validation rows as positions into
    # ``X_train`` / ``y_train`` (every training row), where its out-of-fold outputs go.
    folds: list["TrainingSet"] = field(default_factory=list)
    fold_rows: list[np.ndarray] = field(default_factory=list)
    # A fold's ``(a, b)``: ``a * output + b`` is its model's output in the encoding of every
    # training row (the fold standardized a regression target on its fit rows alone).
    output_map: tuple[float, float] | None = None

    @classmethod
    def of(cls, prepared, metric: str | None = None, mode: str | None = None) -> "TrainingSet":
        """What the trials read of ``prepared`` (an :class:`automl.data.PreparedData`): its
        training and validation arrays of every preprocessing variant, with one
        :class:`TrainingSet` per cross-validation fold (each with what its fold fitted on its fit
        rows alone: features, target encoding, class weights), never its test split.
        ``metric``, ``mode``: the validation metric that ranks the search's trials."""
        data = cls(
            prepared.task, prepared.input_shape, prepared.output_size,
            prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val, getattr(prepared.target_encoder, "std_", 1.0),
            n_clusters=prepared.n_clusters, column_space=prepared.column_space, input_kind=prepared.input_kind,
            vocab_size=prepared.vocab_size, variants={key: (v.X_train, v.X_val) for key, v in prepared.variants.items()},
            class_weights=prepared.class_weights, metric=metric, mode=mode,
        )
        folds = []
        for fold in prepared.folds:
            default = fold.variant(None)
            folds.append(replace(
                data, X_train=default.X_train, y_train=fold.y_train, X_val=default.X_val, y_val=fold.y_val,
                target_scale=getattr(fold.target_encoder, "std_", 1.0), class_weights=fold.class_weights, output_map=fold.output_map,
                variants={k: (v.X_train, v.X_val) for k, v in fold.variants.items()} if data.variants else {},
            ))
        return replace(data, folds=folds, fold_rows=[fold.val for fold in prepared.folds])

    def fold_sets(self) -> list["TrainingSet"]:
        """What a trial trains one model on each of: the folds, or (hold-out) the data itself."""
        return self.folds or [self]

    def arrays(self, preprocessing: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
        """``(X_train, X_val)`` of the preprocessing variant a trial config picks (default: the first)."""
        if not preprocessing or not self.variants:
            return self.X_train, self.X_val
        from automl.variants import variant_key

        return self.variants[variant_key(preprocessing)]

    def out_of_fold_outputs(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The fold models' validation outputs (in fold order) as one array over every training
        row, all in the encoding of ``y_train``."""
        mapped = [o if s.output_map is None else o * np.float32(s.output_map[0]) + np.float32(s.output_map[1])
                  for s, o in zip(self.folds, outputs)]
        return out_of_fold(mapped, self.fold_rows, len(self.y_train))

    def facts(self, task: Any = None) -> "DataFacts":
        """The builders' facts of this split; ``task``: the registered task object (else looked up by name)."""
        return DataFacts.of_data(task or self.task, self)


_UNKNOWN = object()


def registered_task(task: Any, unknown: Any = _UNKNOWN) -> Any:
    """``task`` itself, or for a name the task of that name in the installed plugins' registry
    (``unknown`` for a name none registers, when given). The training layer never imports the
    tasks: a task object arrives from above, or the registry (core) is asked at run time."""
    if not isinstance(task, str):
        return task
    from automl.registry import load_registry

    registry = load_registry()
    return registry.task(task) if unknown is _UNKNOWN else registry.tasks.get(task, unknown)


@dataclass(frozen=True)
class DataFacts:
    """Facts about the training data that a component's builder may ask for by name.

    A builder receives a fact only when its signature names it as a keyword parameter (see
    "Facts" in ``automl/hookspecs.py``), so builders that need none keep their plain form.
    """

    task: str
    input_kind: str = "tabular"
    output_size: int = 1
    vocab_size: int | None = None
    class_counts: tuple[int, ...] | None = None
    train_rows: int = 0
    class_weights: tuple[float, ...] | None = None
    # The validation metric that ranks trials and its direction (unknown outside a search).
    metric: str | None = None
    mode: str | None = None

    @classmethod
    def of(cls, task: Any, input_kind: str, output_size: int, y_train: np.ndarray, vocab_size: int | None = None,
           class_weights: np.ndarray | None = None, metric: str | None = None, mode: str | None = None) -> "DataFacts":
        """The facts of a training split (class counts for classification only); ``class_weights``
        are the run's ``--class-weights`` vector, computed once on the training split. ``task``:
        the task (an :class:`automl.tasks.base.Task`, or its name, looked up in the registry)."""
        task = registered_task(task)
        counts = None
        if task.is_classification:
            counts = tuple(int(c) for c in np.bincount(np.asarray(y_train, dtype=np.int64), minlength=output_size))
        weights = None if class_weights is None else tuple(float(w) for w in class_weights)
        metric = metric or task.default_metric
        return cls(task.name, input_kind, output_size, vocab_size, counts, len(y_train), weights, metric,
                   mode or task.metrics.get(metric))

    @classmethod
    def of_data(cls, task: Any, data: Any) -> "DataFacts":
        """The facts of the data a model trains on, the one way every trial, fold model and refit
        gets them: ``data`` is a :class:`TrainingSet` (a trial's, or one fold's) or an
        :class:`automl.data.PreparedData` (the refit's), read for its ``input_kind``,
        ``output_size``, ``y_train`` (the rows trained on), ``vocab_size``, ``class_weights``
        and, where it has them, the ranking ``metric`` and ``mode``."""
        return cls.of(task, data.input_kind, data.output_size, data.y_train, data.vocab_size, data.class_weights,
                      getattr(data, "metric", None), getattr(data, "mode", None))

    @classmethod
    def of_model(cls, info: Mapping[str, Any], task: Any) -> "DataFacts":
        """The facts a saved model's builders got back, from its ``model.json`` record ``info``
        and its task (the object: loading a model imports only the plugins it needs, never the
        whole registry): the same when the model is saved and when it is loaded to predict."""
        metric, mode = task.ranking()
        return cls(info["task"], info.get("input_kind", "tabular"), info["output_size"], info.get("vocab_size"),
                   metric=metric, mode=mode)

    def for_builders(self, epochs: int | None = None, batch_size: int | None = None,
                     min_steps: int = 1) -> dict[str, Any]:
        """The keyword facts offered to builders; ``None`` values are never passed."""
        steps = steps_per_epoch(self.train_rows, batch_size, min_steps) if batch_size and self.train_rows else None
        return {
            "task": self.task, "input_kind": self.input_kind, "output_size": self.output_size,
            "vocab_size": self.vocab_size if self.input_kind == "text" else None,
            "class_counts": self.class_counts, "class_weights": self.class_weights, "epochs": epochs, "steps_per_epoch": steps,
            "monitor": f"val_{self.metric}" if self.metric else None, "mode": self.mode,
        }


@dataclass
class Components:
    """The specs a trial may build, by family and name (a slice of the driver's registry).

    ``sources`` holds, under the same keys, the registry's :class:`automl.components.Component`
    records (plugin, package, version), which a saved model records (``automl.requirements``).
    """

    specs: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, registry, names: Mapping[str, Any]) -> "Components":
        """The components ``names`` (``{family: [name, ...]}``) of a registry."""
        found = {family: {name: registry.get(family, name) for name in family_names} for family, family_names in names.items()}
        return cls({f: {n: c.spec for n, c in by_name.items()} for f, by_name in found.items()}, found)

    def spec(self, family: str, name: str):
        return self.specs[family][name]


@dataclass
class Model:
    """A built model with everything needed to train it: one optimizer (and its learning-rate
    schedule or ``None``) per parameter group of the task (two for a GAN: generator, discriminator)."""

    network: torch.nn.Module
    loss: Any
    optimizers: list[torch.optim.Optimizer]
    regularizers: list
    schedulers: list = field(default_factory=list)
    # A seeded generator for tasks that draw random inputs (a GAN's noise); reseeded every epoch.
    noise: torch.Generator | None = None

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The first (for most tasks the only) optimizer."""
        return self.optimizers[0]

    @property
    def scheduler(self) -> Any:
        """The first optimizer's learning-rate schedule, or ``None``."""
        return self.schedulers[0] if self.schedulers else None


def out_of_fold(outputs: list[np.ndarray], rows: list[np.ndarray], size: int) -> np.ndarray:
    """Each fold's validation outputs at its rows of the training split; rows no fold validates
    (the earliest block of time-ordered folds) stay NaN."""
    oof = np.full((size, *outputs[0].shape[1:]), np.nan, dtype=np.float32)
    for fold_outputs, fold_rows in zip(outputs, rows):
        oof[fold_rows] = fold_outputs
    return oof
