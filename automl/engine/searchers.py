"""Ray Tune's search algorithms: random and grid search, and Optuna's TPE and GP define-by-run
on the conditional space; with the Tune subclasses they need (Optuna's suggestions as nested
trial configs, whole portfolio configs first in random search)."""

from __future__ import annotations

import itertools
import warnings

from automl.errors import AutoMLError
from automl.options import SEARCHERS
from automl.space import SearchSpace


def make_searcher(
    name: str, space: SearchSpace, metric: str, mode: str, seed: int, max_concurrent: int | None, portfolio: list[dict] = (),
    slots: int = 1, sampler_seed: int | None = None,
):
    """A Ray Tune search algorithm; Optuna's samplers follow the conditional space define-by-run.

    ``portfolio`` (complete trial configs, :mod:`automl.portfolio`) runs first, in order, as
    Ray Tune's ``points_to_evaluate``; the grid searcher ignores it (a grid is exhaustive).
    An Optuna searcher runs in a ``ConcurrencyLimiter`` of ``max_concurrent`` or else ``slots``
    (the trials the cluster holds at once): Ray Tune keeps as many trials pending as that
    limit, and one alone without it, so short trials would start one after another.
    ``sampler_seed`` (default ``seed``) seeds Optuna's sampler alone; ``seed`` also goes into
    every trial config.
    """
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.basic_variant import BasicVariantGenerator

    if name == "grid" or (name == "random" and not portfolio):
        return BasicVariantGenerator(random_state=seed, max_concurrent=max_concurrent or 0)
    if name == "random":
        return _portfolio_first_generator()(points_to_evaluate=list(portfolio), random_state=seed, max_concurrent=max_concurrent or 0)
    if name in ("tpe", "gp"):
        import optuna

        from automl.space import define_by_run_point

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        sampler_seed = seed if sampler_seed is None else sampler_seed
        sampler = (
            optuna.samplers.TPESampler(seed=sampler_seed, multivariate=True, group=True)
            if name == "tpe"
            else optuna.samplers.GPSampler(seed=sampler_seed)
        )
        searcher_class = _conditional_optuna_search()
        # Optuna enqueues the points as fixed values of the parameters the define-by-run space suggests.
        points = [define_by_run_point(config, space) for config in portfolio] or None
        searcher = searcher_class(
            space=space.define_by_run(seed), metric=f"val_{metric}", mode=mode, sampler=sampler, points_to_evaluate=points,
        )
        return ConcurrencyLimiter(searcher, max_concurrent or slots)
    raise AutoMLError(f"unknown searcher '{name}'", f"use one of: {', '.join(SEARCHERS)}")


def _conditional_optuna_search():
    # Defined on demand so that importing the engine does not import Optuna.
    from ray.tune.search.optuna import OptunaSearch

    from automl.space import strip_component_prefixes

    class ConditionalOptunaSearch(OptunaSearch):
        """Optuna define-by-run whose suggestions come back as the nested trial config."""

        def suggest(self, trial_id):
            config = super().suggest(trial_id)
            return strip_component_prefixes(config) if isinstance(config, dict) else config

        def tell_finished(self, config: dict, result: dict | None) -> None:
            """Add to the study a trial that ran without this searcher's suggestion (one of a
            resumed search): the parameters of its ``config``, with the value Tune tells for a
            trial that ends (its last result's metric), or failed (``result`` None, or no value)."""
            import math

            import optuna

            from automl.space import define_by_run_point

            # Run the define-by-run space on the config's own values: it names each parameter's distribution.
            fixed = optuna.trial.FixedTrial(define_by_run_point(config, self._space.space))
            self._space(fixed)
            value = (result or {}).get(self.metric)
            finite = isinstance(value, (int, float)) and math.isfinite(value)
            state = optuna.trial.TrialState.COMPLETE if finite else optuna.trial.TrialState.FAIL
            self._ot_study.add_trial(optuna.trial.create_trial(
                state=state, value=float(value) if finite else None, params=fixed.params, distributions=fixed.distributions))

    return ConditionalOptunaSearch


def _portfolio_first_generator():
    # Defined on demand so that importing the engine does not import Ray.
    import copy

    from ray.tune.experiment import _convert_to_experiment_list
    from ray.tune.search.basic_variant import SERIALIZATION_THRESHOLD, BasicVariantGenerator, _TrialIterator
    from ray.tune.search.variant_generator import _count_spec_samples

    class PortfolioFirstGenerator(BasicVariantGenerator):
        """Random search whose ``points_to_evaluate`` are whole trial configs, tried first.

        Tune's own generator overlays each point on the ``param_space`` key by key, which cannot
        reach inside a choice among component blocks (``architecture``: one dict per
        architecture) and fails. Here each point is a one-trial experiment of its own, chained
        before the sampled trials, so the point's config is the trial's config, and the
        iterators are the generator's saved state as in Tune's (a resume continues them).
        """

        def add_configurations(self, experiments):
            for experiment in _convert_to_experiment_list(experiments):
                spec = experiment.spec
                num_samples = spec.get("num_samples", 1)
                points = copy.deepcopy(self._points_to_evaluate)[:num_samples]
                runs = [({**spec, "config": point, "num_samples": 1}, 1) for point in points]
                if num_samples > len(points):
                    runs.append((spec, num_samples - len(points)))
                for run_spec, count in runs:
                    lazy_eval = _count_spec_samples(run_spec, num_samples=1) > SERIALIZATION_THRESHOLD
                    iterator = _TrialIterator(
                        uuid_prefix=self._uuid_prefix, num_samples=count, unresolved_spec=run_spec,
                        constant_grid_search=self._constant_grid_search, lazy_eval=lazy_eval,
                        start=self._total_samples, random_state=self._random_state,
                    )
                    self._total_samples += count * _count_spec_samples(run_spec, num_samples=1)
                    self._iterators.append(iterator)
                    self._trial_generator = itertools.chain(self._trial_generator, iterator)

    return PortfolioFirstGenerator
