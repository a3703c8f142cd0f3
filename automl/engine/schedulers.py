"""Ray Tune's trial schedulers (ASHA, HyperBand, PBT, FIFO): their decision epochs, which the
trials' report plan follows, and PBT's mutations."""

from __future__ import annotations

from automl.config import SearchConfig
from automl.errors import AutoMLError
from automl.options import SCHEDULERS
from automl.space import SearchSpace, domain_bounds
from automl.training.report_schedule import ReportPlan


def check_search_space(search: SearchConfig, space: SearchSpace) -> None:
    """Refuse, before a run directory exists, a scheduler the resolved space cannot serve."""
    if search.scheduler == "pbt":
        pbt_mutations(space)


ASHA_GRACE_EPOCHS = 1
REDUCTION_FACTOR = 3


def asha_rungs(max_epochs: int) -> list[int]:
    """The epochs where ASHA decides: the grace period times powers of the reduction factor, up to ``max_epochs``."""
    rungs, rung = [], ASHA_GRACE_EPOCHS
    while rung <= max(max_epochs, 1):
        rungs.append(rung)
        rung *= REDUCTION_FACTOR
    return rungs


def hyperband_brackets(max_epochs: int) -> int:
    """HyperBand's brackets for trials of up to ``max_epochs``: one per rung below ``max_epochs``
    (each bracket's grace period), and at least one."""
    return max(1, sum(rung < max_epochs for rung in asha_rungs(max_epochs)))


def make_scheduler(name: str, space: SearchSpace, seed: int):
    """A Ray Tune trial scheduler; epochs (the reported ``epoch``) are the budget dimension.

    ``hyperband`` is asynchronous HyperBand (Li et al., 2020): ASHA's successive halving in
    several brackets, each with a longer grace period, so that slow starters get a chance. Like
    ASHA it never pauses a trial (Ray Tune's synchronous HyperBandScheduler pauses each trial at
    its milestone until the bracket catches up; under two busy test workers such a search was
    still in Tune's loop after 9 minutes).
    """
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, PopulationBasedTraining

    max_epochs = max(space.max_epochs(), 1)
    if name == "asha":
        return ASHAScheduler(time_attr="epoch", max_t=max_epochs, grace_period=ASHA_GRACE_EPOCHS, reduction_factor=REDUCTION_FACTOR)
    if name == "fifo":
        return FIFOScheduler()
    if name == "hyperband":
        return ASHAScheduler(time_attr="epoch", max_t=max_epochs, grace_period=ASHA_GRACE_EPOCHS,
                             reduction_factor=REDUCTION_FACTOR, brackets=hyperband_brackets(max_epochs))
    if name == "pbt":
        return PopulationBasedTraining(
            time_attr="epoch",
            perturbation_interval=max(1, max_epochs // 4),
            hyperparam_mutations=pbt_mutations(space),
            quantile_fraction=0.25,
            # Synchronous: every trial reaches each perturbation point before the weakest exploit
            # the strongest, so short or staggered trials are compared too.
            synch=True,
        )
    raise AutoMLError(f"unknown scheduler '{name}'", f"use one of: {', '.join(SCHEDULERS)}")


def report_plan(scheduler: str, space: SearchSpace) -> ReportPlan:
    """The epochs at which trials must report as they end: where ``scheduler`` decides.

    ASHA and HyperBand decide at their rungs (grace period times powers of the reduction factor;
    each HyperBand bracket's rungs are some of these); FIFO never; PBT clones trials at any
    epoch, so it gets every epoch.
    """
    if scheduler == "fifo":
        return ReportPlan(frozenset())
    if scheduler in ("asha", "hyperband"):
        return ReportPlan(frozenset(asha_rungs(space.max_epochs())))
    return ReportPlan(None)


def pbt_mutations(space: SearchSpace) -> dict:
    """PBT perturbs the learning rate, within the union of the offered optimizers' lr ranges."""
    from ray import tune

    bounds = []
    for name, params in space.components["optimizers"].items():
        if "lr" not in params:
            raise AutoMLError(f"PBT mutates the learning rate, but optimizer '{name}' has no 'lr'", "exclude that optimizer or use another scheduler")
        bounds.append(domain_bounds(params["lr"]))
    low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
    if low == high:
        low, high = low / 10, high * 10
    return {"optimizer": {"lr": tune.loguniform(low, high)}}
