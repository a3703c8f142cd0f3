"""Records that plugins return from their hooks: one dataclass per component family.

Hyperparameter spaces are declarative dicts (the schema in ``automl/space/__init__.py``), so a plugin
never imports Ray or Optuna: ``{"width": {"choice": [64, 128]}, "lr": {"loguniform": [1e-4, 1e-2]}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

# Which tasks exist is the registry's business (the ``automl_tasks`` hook): a component's
# ``tasks`` left at ``None`` means the tasks that take unmarked components
# (``Task.takes_unmarked_components``: binary, multiclass and regression), filled in by the
# registry once every plugin is loaded (:meth:`automl.registry.Registry.settle_names`).
INPUT_KINDS = ("tabular", "image", "sequence", "text")


@dataclass(frozen=True)
class ArchitectureSpec:
    """A network family.

    ``build(input_shape, output_size, **hparams)`` returns a ``torch.nn.Module`` that maps a
    batch of shape ``(N, *input_shape)`` to ``(N, output_size)``: logits for classification
    (one per class, also for binary), values for regression.

    Architectures for the unsupervised tasks (``cluster``, ``generate``) are called with
    ``output_size=0`` and follow the contracts in ``automl/tasks/cluster.py`` and ``automl/tasks/generate.py``
    (an ``encode`` method for clustering; a discriminator and ``sample`` for generation).

    A convex module may ask to be fitted to its optimum instead of trained by mini-batch steps
    (``fits_to_optimum``, ``penalty()``: :func:`automl.hookspecs.automl_architectures`).

    Defaults: ``tasks`` (``None``) is the single-target supervised tasks (binary, multiclass,
    regression: those whose ``Task.takes_unmarked_components``), and ``input_kinds`` is
    ``("tabular",)`` only: an architecture is offered for images, sequences or text only where
    it says so.
    """

    name: str
    build: Callable[..., Any]
    tasks: tuple[str, ...] | None = None
    input_kinds: tuple[str, ...] = ("tabular",)
    space: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class LossSpec:
    """A training loss.

    ``build(**hparams)`` returns a callable ``loss(outputs, targets) -> scalar tensor``.
    Targets are class indices (``long``, shape ``(N,)``) for classification and float values
    of shape ``(N, output_size)`` for regression.

    Soft targets: a classification loss must also accept float class probabilities of shape
    ``(N, output_size)`` (rows summing to 1), which batch transforms such as ``mixup`` produce;
    tell the two forms apart by ``targets.dim()`` (or use ``torch.nn.CrossEntropyLoss``, which
    takes both). ``automl plugins check`` calls a loss with both.

    Losses for ``cluster`` compare a reconstruction with its input; losses for ``generate``
    are adversarial (see ``automl/tasks/cluster.py`` and ``automl/tasks/generate.py``). ``tasks`` defaults
    (``None``) to the single-target supervised tasks only, as for architectures.
    """

    name: str
    build: Callable[..., Any]
    tasks: tuple[str, ...] | None = None
    space: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer: ``build(params, **hparams)`` returns a ``torch.optim.Optimizer``, or a pair
    ``(optimizer, lr_scheduler)`` whose scheduler the training loop steps after every batch."""

    name: str
    build: Callable[..., Any]
    space: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


class Regularizer:
    """Hooks a regularizer can take in the training loop; each default does nothing.

    Subclass it and override only what the regularizer needs.

    A saved model needs at prediction only the regularizers that shape the network: those
    overriding :meth:`transform_model`. The others (penalties, batch transforms such as
    augmentation, after-backward steps, stop rules) are training-only: ``predict``, ``export``
    and ``serve`` neither load nor build them. Set ``training_only = True`` on a class whose
    ``transform_model`` changes only weight values that the saved weights replace (weight
    initialization does), or ``False`` to be loaded at prediction whatever it overrides.
    """

    training_only: bool | None = None

    def transform_model(self, model: Any) -> Any:
        """Called once after the model is built; return the (possibly changed) model."""
        return model

    def transform_batch(self, inputs: Any, targets: Any) -> tuple[Any, Any]:
        """Called on every training batch (never on validation or test data)."""
        return inputs, targets

    def penalty(self, model: Any) -> Any:
        """A term added to the training loss, or ``None``."""
        return None

    def after_backward(self, model: Any) -> None:
        """Called after ``loss.backward()`` and before ``optimizer.step()``."""

    def stop_reason(self, metrics: Mapping[str, Any]) -> str | None:
        """Called after every epoch with that epoch's metrics (``train_loss`` and, during a
        search, ``val_loss`` and ``val_<metric>``); return a short reason to stop training
        now (shown on the leaderboard), or ``None`` to go on."""
        return None


@dataclass(frozen=True)
class RegularizerSpec:
    """A regularizer: ``build(**hparams)`` returns a :class:`Regularizer` instance.

    Each regularizer is switched on or off per trial; its ``space`` applies when it is on.
    Defaults: ``tasks`` (``None``) the single-target supervised tasks, as for architectures;
    ``input_kinds`` every input kind. A space
    whose ``include`` names a regularizer that does not fit the task or input kind is refused
    with an error naming it (left to the default, such a regularizer is simply not offered).
    """

    name: str
    build: Callable[..., Regularizer]
    tasks: tuple[str, ...] | None = None
    input_kinds: tuple[str, ...] = INPUT_KINDS
    space: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


FAMILIES: dict[str, type] = {
    "architectures": ArchitectureSpec,
    "losses": LossSpec,
    "optimizers": OptimizerSpec,
    "regularizers": RegularizerSpec,
}


SINGULAR = {"architectures": "architecture", "losses": "loss", "optimizers": "optimizer", "regularizers": "regularizer"}


def needed_to_predict(regularizer: Regularizer) -> bool:
    """Whether a built regularizer must be rebuilt to load a saved model (see :class:`Regularizer`)."""
    if regularizer.training_only is not None:
        return not regularizer.training_only
    return type(regularizer).transform_model is not Regularizer.transform_model


@dataclass(frozen=True)
class Component:
    """A registered component with where it came from (for listing and error messages).

    ``key`` is the name search spaces, trial configs and the leaderboard use: the bare name,
    or the qualified ``package:name`` where another package's component of the same family
    holds the bare name (see :mod:`automl.registry`).
    """

    family: str
    spec: Any
    plugin: str
    package: str
    version: str
    key: str = ""

    @property
    def name(self) -> str:
        """The bare name the plugin gave it."""
        return self.spec.name

    @property
    def namespace(self) -> str:
        """The distribution that installed it, or for a plugin registered in code its plugin name."""
        return self.package if self.package not in ("-", "?", "") else self.plugin

    @property
    def qualified_name(self) -> str:
        """``package:name``, unique in an environment: ``automl-torch:focal``."""
        return f"{self.namespace}:{self.name}"

    def fits(self, task: str, input_kind: str) -> bool:
        """Whether this component may be offered for a task and input kind (a family without
        ``tasks``, such as optimizers, fits every task)."""
        tasks = getattr(self.spec, "tasks", None)
        kinds = getattr(self.spec, "input_kinds", INPUT_KINDS)
        return (not hasattr(self.spec, "tasks") or task in (tasks or ())) and input_kind in kinds
