"""The engine: runs the trials of a search space on Ray Tune and collects one record per trial.

- ``ray_cluster``: start or join Ray, and what the cluster can hold;
- ``schedulers``: the trial schedulers (ASHA, HyperBand, PBT, FIFO) and the report plan they need;
- ``searchers``: the search algorithms (random, grid, Optuna's TPE and GP, the portfolio first);
- ``run``: :func:`~automl.engine.run.run_trials`, one search on Ray Tune, and Tune's settings;
- ``trial_records``: :class:`~automl.engine.trial_records.TrialRecord`, one per trial.

The package imports nothing on its own: import the module that holds a name.
"""
