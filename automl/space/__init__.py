"""Search spaces: the registry plus a YAML file become one conditional Ray Tune param_space.

A trial's config is nested, one block per component family, so each architecture, loss and
optimizer brings only its own hyperparameters::

    {"epochs": 20, "batch_size": 64, "seed": 0,
     "architecture": {"name": "mlp", "width": 128, "depth": 2},
     "loss": {"name": "cross_entropy", "label_smoothing": 0.0},
     "optimizer": {"name": "adam", "lr": 0.003},
     "regularizers": {"dropout": {"enabled": True, "p": 0.2}, "l2": {"enabled": False}}}

YAML schema (``search_spaces/default.yaml`` is the reference)::

    epochs: 20                         # a constant or a domain; ASHA's budget dimension
    min_steps_per_epoch: 32            # optional constant: on small data an epoch is as many
                                       # passes over the rows as make this many optimizer steps
    batch_size: {choice: [32, 64]}
    preprocessing:                     # optional; tabular input only (automl/variants.py)
      imputer: {choice: [median, most_frequent]}
      scaler: {choice: [standard, robust, minmax]}
    architectures:                     # also: losses, optimizers, regularizers
      include: [mlp]                   # optional; default every component that fits; a name
                                       # may be qualified: [my-plugins:mlp] (automl/registry.py)
      exclude: []                      # optional
      mlp:                             # optional; overrides entries of the plugin's space
        width: {choice: [64, 128]}
    regularizers:
      dropout:
        enabled: {choice: [true, false]}   # default; `true` forces it on
        p: {uniform: [0.0, 0.5]}

Domains: a constant, or one of ``{choice: [..]}``, ``{grid: [..]}`` (every value is tried),
``{uniform: [low, high]}``, ``{loguniform: [low, high]}``, ``{randint: [low, high]}`` (high
exclusive), and the quantized ``{quniform: [low, high, q]}``, ``{qloguniform: [low, high, q]}``,
``{qrandint: [low, high, q]}`` (high inclusive).

Searchers read the same space: ``random`` samples it, ``grid`` tries every ``choice`` and
``grid`` value (continuous domains are sampled once per grid point), ``tpe`` and ``gp`` (Optuna)
follow the conditional structure define-by-run, so each component's hyperparameters are
modelled only where that component was chosen.

The package, by job: ``domains`` (one domain: validation, bounds, its Tune and Optuna forms),
``search_space`` (the resolved :class:`SearchSpace`, Tune's ``param_space`` and the
define-by-run function), ``loading`` (finding and reading the YAML file) and ``building``
(resolving it against the registry). Import the names from ``automl.space``.
"""

from automl.space.building import FAMILY_KEYS, TOP_LEVEL_KEYS, build_search_space
from automl.space.domains import (
    DOMAIN_ARITY,
    domain_bounds,
    is_domain,
    suggest,
    to_tune,
    to_tune_grid,
    validate_component_space,
    validate_domain,
)
from automl.space.loading import (
    DEFAULT_SPACE,
    INPUT_KIND_SPACES,
    NOT_SPACES,
    SpaceSource,
    find_space_file,
    load_space_file,
    space_folders,
    space_for_input_kind,
)
from automl.space.search_space import (
    CONFIG_KEY,
    MIN_STEPS_PER_EPOCH,
    DefineByRun,
    SearchSpace,
    define_by_run_point,
    flat_parameters,
    strip_component_prefixes,
)

__all__ = [
    "CONFIG_KEY", "DEFAULT_SPACE", "DOMAIN_ARITY", "FAMILY_KEYS", "INPUT_KIND_SPACES", "MIN_STEPS_PER_EPOCH",
    "NOT_SPACES", "TOP_LEVEL_KEYS", "DefineByRun", "SearchSpace", "SpaceSource", "build_search_space",
    "define_by_run_point", "domain_bounds", "find_space_file", "flat_parameters", "is_domain", "load_space_file",
    "space_folders", "space_for_input_kind", "strip_component_prefixes", "suggest", "to_tune", "to_tune_grid",
    "validate_component_space", "validate_domain",
]
