"""Building what a trial config names: the builder call protocol (a builder gets each fact it
names as a parameter), the network with its model-transforming regularizers, and the whole
:class:`automl.training.records.Model` (loss, optimizers and their schedules)."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping

import torch

from automl.errors import AutoMLError
from automl.training.epochs import min_steps_of
from automl.training.records import Components, DataFacts, Model


def keyword_parameters(build: Callable[..., Any], skip: int = 0) -> set[str]:
    """The parameters of ``build`` that a keyword can fill, past its first ``skip``."""
    try:
        parameters = list(inspect.signature(build).parameters.values())
    except (TypeError, ValueError):  # some builtins have no signature: they get no facts
        parameters = []
    keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters[skip:] if p.kind in keyword_kinds}


def call_builder(build: Callable[..., Any], args: tuple, hparams: Mapping[str, Any], facts: Mapping[str, Any]) -> Any:
    """``build(*args, **hparams)`` plus each fact that ``build`` names as a parameter."""
    # The leading parameters take ``args`` (e.g. ``output_size`` of an architecture) and are not facts.
    names = keyword_parameters(build, len(args))
    extra = {k: v for k, v in facts.items() if k in names and k not in hparams and v is not None}
    return build(*args, **hparams, **extra)


def split_params(block: Mapping[str, Any]) -> tuple[str, dict]:
    params = dict(block)
    return params.pop("name"), params


def build_network(
    config: Mapping[str, Any], components: Components, input_shape, output_size, facts: Mapping[str, Any] | None = None
) -> tuple[torch.nn.Module, list]:
    """The architecture a config names, with its model-transforming regularizers applied.

    ``facts`` (from :meth:`DataFacts.for_builders`) go to builders that ask for them.
    """
    facts = facts or {}
    name, hparams = split_params(config["architecture"])
    network = call_builder(components.spec("architectures", name).build, (tuple(input_shape), output_size), hparams, facts)
    regularizers = []
    for reg_name, block in (config.get("regularizers") or {}).items():
        params = dict(block)
        if params.pop("enabled", False):
            regularizers.append(call_builder(components.spec("regularizers", reg_name).build, (), params, facts))
    for regularizer in regularizers:
        network = regularizer.transform_model(network)
    return network, regularizers


def check_losses_apply_class_weights(components: Components) -> None:
    """With ``--class-weights balanced``, refuse a loss that would ignore the weights: the
    ``class_weights`` fact reaches only builders that name it."""
    for name, spec in components.specs.get("losses", {}).items():
        if "class_weights" not in keyword_parameters(spec.build):
            raise AutoMLError(
                f"loss '{name}' does not apply class weights (its builder has no class_weights parameter)",
                "exclude it in the search space (losses: exclude: [...]) or drop --class-weights",
            )


def build_model(
    config: Mapping[str, Any], components: Components, input_shape, output_size, device,
    facts: DataFacts | None = None, parameter_groups: Callable[[torch.nn.Module], list] | None = None,
) -> Model:
    """Network, loss, optimizer(s) (and their learning-rate schedules) and regularizers of a config.

    ``parameter_groups(network)`` (a task's) gives one parameter list per optimizer; by default
    one optimizer trains every parameter. The loss gets the ``class_weights`` fact
    (``--class-weights balanced``) and applies it itself.
    """
    torch.manual_seed(int(config.get("seed", 0)))
    offered = facts.for_builders(int(config["epochs"]), int(config["batch_size"]), min_steps_of(config)) if facts else {}
    network, regularizers = build_network(config, components, input_shape, output_size, offered)
    network = network.to(device)
    loss_name, loss_params = split_params(config["loss"])
    opt_name, opt_params = split_params(config["optimizer"])
    loss = call_builder(components.spec("losses", loss_name).build, (), loss_params, offered)
    if isinstance(loss, torch.nn.Module):
        loss = loss.to(device)  # class weights live on the model's device
    build_optimizer = components.spec("optimizers", opt_name).build
    groups = parameter_groups(network) if parameter_groups else [network.parameters()]
    built = [call_builder(build_optimizer, (params,), opt_params, offered) for params in groups]
    pairs = [b if isinstance(b, tuple) else (b, None) for b in built]
    return Model(network, loss, [o for o, _ in pairs], regularizers, [s for _, s in pairs])
