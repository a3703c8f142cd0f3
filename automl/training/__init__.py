"""Training: what a trial does, from the data it is handed to the reports and checkpoints it
gives Ray Tune.

- ``records``: the data records (:class:`~automl.training.records.TrainingSet`,
  ``DataFacts``, ``Components``, ``Model``);
- ``epochs``: the epoch, the unit of every budget;
- ``building``: the builder call protocol and ``build_model``;
- ``loop``: ``train_epochs``, the one training loop (trials and the final refit), and the
  validation metrics;
- ``trainable``: ``train_trial``, the Ray Tune function trainable (cross-validation folds in step);
- ``checkpoints``: a trial's checkpoint folder, its training state and the restore;
- ``report_schedule``: when a trial reports to Ray Tune, and how the driver reads its epochs back;
- ``failures``: how a trial failed.

The package imports nothing on its own: import the module that holds a name.
"""
