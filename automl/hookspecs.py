"""The plugin contract: the five hooks a plugin may implement.

This module is all a plugin author needs to read. A plugin is any importable module (or
object) with functions decorated by ``automl.hookimpl`` whose names match the hooks below.
It is found through the ``automl`` entry-point group of an installed package::

    # pyproject.toml of your package
    [project.entry-points.automl]
    my_plugin = "my_package.my_module"

Every hook takes no arguments and returns a list: component records (dataclasses from
``automl.components``) for the four component families, task objects for ``automl_tasks``.
Each component carries:

- ``name``: a plain name (no ``:``), unique within its family in your package (see "Names");
- ``build``: a plain function called with keyword hyperparameters drawn from ``space``;
- ``space``: its own hyperparameters, declaratively. Each value is a constant or one of
  ``{"choice": [..]}``, ``{"grid": [..]}`` (every value is tried), ``{"uniform": [low, high]}``,
  ``{"loguniform": [low, high]}``, ``{"randint": [low, high]}`` (high exclusive), and the
  quantized ``{"quniform": [low, high, q]}``, ``{"qloguniform": [low, high, q]}`` and
  ``{"qrandint": [low, high, q]}`` (high inclusive). A search-space YAML file may override
  any of them;
- ``tasks`` (and for architectures and regularizers ``input_kinds``): where it fits. The
  search only offers a component where the task (``binary``, ``multiclass``,
  ``regression``, ``multilabel``, the unsupervised ``cluster`` and ``generate``, and any task
  a package adds, see ``automl_tasks``) and input kind (``tabular``, ``image``, ``sequence``,
  ``text``) fit. ``tasks`` defaults to the three
  single-target supervised tasks (name ``multilabel`` to be offered there: one logit per
  label); an architecture's ``input_kinds`` is ``("tabular",)`` only (say so to be offered for
  images, sequences or text); a regularizer's is every input kind. Architectures and losses
  for ``cluster`` and ``generate`` follow the contracts in ``automl/tasks/cluster.py`` and ``automl/tasks/generate.py`` (see
  ``plugins/autoencoder.py``, ``plugins/feature_views.py``, ``plugins/mixture_vae.py``).

Names: a component's full name is ``package:name``, where ``package`` is the distribution
that installed it (``automl-torch:focal``, ``my-plugins:focal``); a plugin registered in code
uses its registration name instead. The distribution is the namespace because it is unique in
an environment by construction (an entry point name is not: two packages may both call theirs
``losses``), it is what a user installs, so a saved model can say ``pip install`` what, and it
never changes when a package reorganizes its entry points. A bare name (``focal``) resolves
when one package provides it. When several do, that is a warning, never an error: the bare
name means the core distribution's component (else the first package in alphabetical order),
the others keep their full names, and a search space picks one by naming it in full
(``losses: {include: [my-plugins:focal]}``), or ``--disable-plugin PACKAGE`` skips a package.

Input kinds arrive as fixed array layouts (``N`` rows): tabular ``(N, F)`` float32, image
``(N, C, H, W)`` float32, sequence ``(N, T, F)`` float32, text ``(N, T)`` int64 token ids with
0 = padding. Preprocessing is fitted on the training split only: tabular columns are imputed,
encoded and scaled (standardized unless a space searches another scaler); images are
standardized per channel and sequences per feature (the last axis, its mean and deviation
pooled over every row and time step, not per time step), so a builder sees roughly zero-mean,
unit-variance values.

Saved models: a model records the package and version of each component it uses and needs at
prediction only its architecture and the regularizers that shape the network (those that
override ``transform_model``; see :class:`automl.components.Regularizer`). ``predict``,
``export`` and ``serve`` import only those plugins; a missing one is named with the ``pip
install`` that brings it back.

Checking a plugin: ``automl plugins check PATH_OR_MODULE`` runs the whole contract below on
your plugin (builds for every claimed task and input kind, output shapes, hard and soft
targets, optimizer state round-trips, regularizer hooks, space parsing); from pytest,
``automl.testing.check_plugin(my_module)``.

Facts: besides its hyperparameters, a builder may ask the platform for facts about the data by
naming them as keyword parameters; a fact is passed only to builders whose signature names it
(never through ``**kwargs``), and only when it is known, so ``build(input_shape, output_size,
**hparams)`` keeps working unchanged. A hyperparameter of the same name wins. The facts:

- ``task``, ``input_kind``, ``output_size``;
- ``vocab_size``: text input only; token ids lie in ``0 .. vocab_size - 1`` (an
  architecture that claims ``text`` must take it, e.g. for ``nn.Embedding``);
- ``class_counts``: classification only; training rows per class;
- ``class_weights``: classification with ``--class-weights balanced`` only; one float per class
  (``n / (C * n_c)`` on the rows the model fits on, 0 for a class absent there: the training
  split, or with cross-validation the fold's fit rows). It is the only class weighting: the
  platform does not wrap or re-weight the loss;
- ``epochs`` and ``steps_per_epoch``: the trial's configured epochs and optimizer steps per
  epoch (the horizon of a learning-rate schedule; an epoch is at least the space's
  ``min_steps_per_epoch`` steps, default 32: on small data several passes over the rows);
- ``monitor`` and ``mode``: the validation metric that ranks trials (``"val_accuracy"``,
  ``"max"``), for stop rules such as early stopping.

A complete architecture plugin, one screen long::

    import torch
    from automl import hookimpl
    from automl.components import ArchitectureSpec

    def build_linear(input_shape, output_size, bias=True):
        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.LazyLinear(output_size, bias=bias))

    @hookimpl
    def automl_architectures():
        return [ArchitectureSpec(
            name="my_linear", build=build_linear,
            tasks=("binary", "multiclass", "regression"), input_kinds=("tabular",),
            space={"bias": {"choice": [True, False]}})]

After ``pip install`` of the package, ``automl plugins`` lists ``my_linear`` and every search
whose space does not exclude it may pick it.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "automl"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


@hookspec
def automl_architectures() -> list:
    """Return the network architectures this plugin offers.

    :return: a list of :class:`automl.components.ArchitectureSpec`.

    ``build(input_shape, output_size, **hparams) -> torch.nn.Module``:

    - ``input_shape`` is one example's shape without the batch dimension: ``(F,)`` for
      tabular data, ``(C, H, W)`` for images, ``(T, F)`` for sequences, ``(T,)`` token ids
      for text;
    - ``output_size`` is the number of classes (2 for binary) or of regression targets;
    - the module maps ``(N, *input_shape)`` float tensors (``long`` for text) to
      ``(N, output_size)``: raw logits for classification, values for regression.

    For ``text`` input, name a ``vocab_size`` parameter: the platform passes it (see "Facts"
    above), e.g. ``def build(input_shape, output_size, vocab_size=None, width=64)``.

    Weight initialization, dropout and other regularizers are applied by the platform after
    ``build``; an architecture only declares its own shape hyperparameters. Weight
    initialization is a search dimension through the built-in ``initialization`` regularizer
    (a model transform sampling ``scheme`` among ``default``, ``xavier_uniform``,
    ``xavier_normal``, ``kaiming_uniform``, ``kaiming_normal`` and ``orthogonal``); it
    re-initializes every parameter whose name contains ``weight`` and has two or more
    dimensions, and zeroes that layer's biases, so name your weights accordingly. Its space
    sets ``enabled: True``, so it is on in every trial of a space that leaves the
    regularizers to the default or lists it; a space whose ``regularizers.include`` leaves it
    out (or whose ``exclude`` names it) turns it off, and then your module keeps PyTorch's own
    initialization (as ``scheme: default`` does).

    A supervised module convex in its parameters may set the class attribute
    ``fits_to_optimum = True`` and define ``penalty() -> scalar tensor`` (its own L2 term, say):
    the training loop then minimizes the trial's loss plus ``penalty()`` and the regularizers'
    penalties over all training rows by L-BFGS in the first epoch, and ends the trial there,
    instead of training it by the optimizer's mini-batch steps (the built-in ``linear``: a
    ridge or logistic regression fitted to its optimum, so no scheduler judges it half-trained).
    """


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


@hookspec
def automl_losses() -> list:
    """Return the training losses this plugin offers.

    :return: a list of :class:`automl.components.LossSpec`.

    ``build(**hparams)`` returns a callable ``loss(outputs, targets) -> scalar tensor``
    (a ``torch.nn.Module`` is fine). ``outputs`` are the architecture's ``(N, output_size)``
    outputs; ``targets`` are ``long`` class indices of shape ``(N,)`` for classification and
    float values of shape ``(N, output_size)`` for regression (standardized on the training
    split). Declare ``tasks`` so that, e.g., a regression loss is never offered for
    classification. The validation metric used for ranking does not depend on the loss.

    Soft targets: a batch transform such as ``mixup`` turns classification targets into
    float class probabilities of shape ``(N, output_size)`` (rows sum to 1); a classification
    loss must accept both forms, and one-hot probabilities must give the loss of the same
    class indices (``torch.nn.CrossEntropyLoss`` does both; ``automl plugins check`` tests it).

    Class weights: name a ``class_weights`` parameter (default ``None``) and apply the vector
    it receives (see "Facts") exactly as ``torch.nn.CrossEntropyLoss(weight=...)`` reduces:
    class indices give ``sum_n w[y_n] l_n / sum_n w[y_n]``, class probabilities
    ``sum_n sum_c w_c y_nc l_nc / N``. Keep it in a registered buffer of an ``nn.Module`` so
    ``.to(device)`` moves it. With ``--class-weights balanced`` a search refuses, before it
    starts, a classification loss whose builder does not name ``class_weights``; do not
    sample class weighting as a hyperparameter of your own.

    Example::

        @hookimpl
        def automl_losses():
            return [LossSpec(name="mae", build=lambda: torch.nn.L1Loss(),
                             tasks=("regression",))]
    """


@hookspec
def automl_optimizers() -> list:
    """Return the optimizers this plugin offers.

    :return: a list of :class:`automl.components.OptimizerSpec`.

    ``build(params, **hparams) -> torch.optim.Optimizer`` where ``params`` are the model's
    trainable parameters. Learning-rate schedules belong to optimizer plugins as well: the
    builder may return ``(optimizer, lr_scheduler)`` instead, and the training loop calls
    ``lr_scheduler.step()`` after every batch (express per-epoch schedules in batches). Name
    ``epochs`` and ``steps_per_epoch`` parameters to get the horizon: the trial's configured
    epochs (also during the refit, which stops early at the winning epoch, so its
    learning-rate curve matches the trial's) times its optimizer steps per epoch.

    Name the learning rate ``lr`` in ``space``: ``--scheduler pbt`` (Population Based
    Training) mutates ``lr`` (within the union of the offered optimizers' ``lr`` ranges)
    and refuses, before the search starts, an optimizer whose space has no ``lr``. A trial
    restored from a checkpoint gets its config's hyperparameters written into the optimizer's
    param groups, so keep each one under the name the optimizer uses.

    Example::

        @hookimpl
        def automl_optimizers():
            return [OptimizerSpec(
                name="adam", build=lambda params, lr: torch.optim.Adam(params, lr=lr),
                space={"lr": {"loguniform": [1e-4, 1e-2]}})]
    """


@hookspec
def automl_regularizers() -> list:
    """Return the regularizers this plugin offers.

    :return: a list of :class:`automl.components.RegularizerSpec`.

    ``build(**hparams)`` returns an instance of a subclass of
    :class:`automl.components.Regularizer` overriding any of its hooks into the training
    loop: ``transform_model(model)`` (once, e.g. insert dropout or re-initialize weights),
    ``transform_batch(x, y)`` (training batches only, e.g. augmentation; it may turn class
    indices into class probabilities, as mixup does), ``penalty(model)`` (added to the loss,
    e.g. L1/L2), ``after_backward(model)`` (e.g. gradient clipping) and
    ``stop_reason(metrics)`` (after each epoch; a string stops training, e.g. early stopping,
    and the leaderboard shows it as the trial's status). The builder may name facts such as
    ``task``, ``output_size``, ``monitor`` and ``mode`` (see "Facts"). Declare
    ``input_kinds`` where a regularizer only makes sense for some inputs (image shifts).

    The search switches each regularizer on or off per trial and samples its ``space`` when
    on; a space that sets ``"enabled": True`` keeps it always on (the search can still narrow
    or widen that in a YAML file). A regularizer that does not fit the task or input kind is
    not offered; a space whose ``include`` names one anyway is refused with an error naming
    it, ``enabled: true`` or not.

    At prediction a saved model rebuilds only the regularizers that override
    ``transform_model`` (they shape the network: dropout layers, normalization); the others
    are training-only and need not be installed to predict. Set the class attribute
    ``training_only = True`` when ``transform_model`` only changes weight values that the
    saved weights replace (as weight initialization does).

    Example::

        class L1(Regularizer):
            def __init__(self, strength):
                self.strength = strength
            def penalty(self, model):
                return self.strength * sum(p.abs().sum() for p in model.parameters())

        @hookimpl
        def automl_regularizers():
            return [RegularizerSpec(name="l1", build=L1,
                                    space={"strength": {"loguniform": [1e-6, 1e-3]}})]
    """


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------


@hookspec
def automl_tasks() -> list:
    """Return the tasks (kinds of learning problem) this plugin offers.

    :return: a list of :class:`automl.tasks.base.Task` instances, each with a unique ``name``
        (the ``--task`` value). The built-in ``binary``, ``multiclass``, ``regression``,
        ``multilabel``, ``cluster`` and ``generate`` arrive through this hook too (``plugins/tasks.py``).

    A task makes every decision that differs between kinds of problem; the core names no task
    (its ``--task`` and ``--metric`` choices, the inferred task and ``automl space show --task``
    come from the registry), so a task from your package is searched, ranked, refitted,
    predicted and refused or exported exactly like a built-in. Subclass
    :class:`automl.tasks.base.Task`, whose defaults are those of a supervised task trained on
    ``loss(network(x), y)`` with one optimizer, or one of :mod:`automl.tasks.supervised`
    (``SupervisedTask`` already evaluates on the validation rows and tests once), and set or
    override:

    The target and the outputs

    - ``target_kind``: no column (``NO_TARGET``), one column (``ONE_COLUMN``, the default) or
      several 0/1 columns (``SEVERAL_COLUMNS``), from :mod:`automl.data.task`;
      ``is_classification``: the column holds class labels, encoded as class indices
      (stratified splits and folds, ``--class-weights``, ensembles average probabilities); else
      a numeric column is standardized on the training rows, ``(N, 1)`` float targets;
    - ``infers(profile)`` / ``check_target(profile)``: whether a search without ``--task`` picks
      it for a target column (leave ``infers`` alone and it is picked only by name), and an
      :class:`automl.errors.AutoMLError` when ``--task`` names it for a column it cannot learn;
    - ``output_size(target_size)``: the networks' output size for a target encoded in
      ``target_size`` values (the class count, or 1 for a value); by default as many.

    Training and ranking

    - ``metrics`` (``{name: "max" | "min"}``) and ``default_metric``: what its validation
      computes and which metric ranks trials unless ``--metric`` names another; the leaderboard
      shows ``val_<metric>``, best first in that direction;
    - ``score(outputs, targets, target_scale)``: the metrics of ``(N, output_size)`` outputs
      against encoded targets (``target_scale``: the standard deviation a standardized target
      was divided by, to report errors in the target's units);
    - ``supervised``: whether trials train on targets (batch transforms such as mixup apply);
      ``loss_keys``, ``parameter_groups(network)`` (one parameter list per optimizer),
      ``batch_losses(model, inputs, targets)`` (yields ``(optimizer index, loss)`` per batch;
      each optimizer steps on its loss before the next is computed), ``carry``;
    - ``evaluator(model, data, X_train, X_val, device, seed)``: returns ``evaluate(network)``,
      the ``val_<metric>`` values of one epoch; ``validation_outputs(network, X_val, device)``:
      what ensemble selection scores (``ensembles``: whether ``--ensemble`` applies);
    - ``test_once(model, network, prepared, fit_metrics, X_fit, seed)``: the final model's
      single test evaluation, ``(test metrics, report details, fitted state to save)``.

    Which components it is offered

    - a component is offered where its ``tasks`` name the task; ``takes_unmarked_components``:
      also those that name no tasks; ``takes_components_of``: the architectures and
      regularizers that claim any of these tasks are offered for it too (losses never are: a
      task brings its own through ``automl_losses``, naming the task in ``tasks``);
    - ``portfolio_group``: its key in ``search_spaces/portfolio.yaml`` (none: no portfolio);
    - ``contract`` (``"outputs"``, ``"autoencoder"`` or ``"generator"``) and
      ``contract_output_size``: what ``automl plugins check`` asks of the architectures and
      losses that claim the task.

    Predictions and what a saved model supports

    - ``predictions(outputs, target_encoder)``: outputs as predictions in the target's labels
      or units; ``has_probabilities`` and ``probabilities(outputs)``: class probabilities;
      ``prediction_columns(outputs, target_encoder, target)``: the columns ``automl predict``
      writes (by default ``predicted_<target>``, then ``probability_<class>`` per class);
      ``predictor(network, preprocessing, info)``: the :class:`automl.predictor.Predictor`;
    - ``exportable`` and ``output_activation`` (``"softmax"``, ``"sigmoid"`` or ``None`` for
      values in the target's units: what the exported module applies); a task that is not
      exportable is refused by ``automl export`` with "cannot export a <name> model:
      ``export_refusal``" and the fix ``export_instead``; ``makes_rows``: its models sample
      rows (not served, not exported, ``automl sample``);
    - ``options``: the options used by some tasks only (``--class-weights``, ``--validation``,
      ``--n-clusters``, ``--ensemble``, ...) that it uses; any other such option given with it
      is refused; ``sklearn_target_type``: the scikit-learn estimators pick it by
      ``type_of_target``.

    A complete task plugin is ``examples/automl-quantile-task/``: quantile regression with an
    80 % prediction interval. Its networks output the 10 %, 50 % and 90 % quantiles of a numeric
    target (``output_size``), trained on a pinball loss the platform does not ship (its own
    ``automl_losses``); it ranks by the validation pinball loss (``metrics``, ``score``),
    predicts the median with the interval beside it (``predictions``, ``prediction_columns``),
    takes the architectures and regularizers of ``regression`` (``takes_components_of``) and
    refuses export (``export_refusal``). tests/task_package.py installs it and searches it with
    ``automl search data.csv --target y --task quantile``.

    Register the module under ``[project.entry-points.automl]``; after ``pip install``,
    ``--task quantile`` and ``--metric pinball`` are accepted, ``automl plugins`` lists the
    loss with its package, and ``automl plugins mlp`` lists ``quantile`` among mlp's tasks.
    A saved model needs the package installed to predict.
    """
