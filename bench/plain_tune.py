"""The plain contender of ``bench.quality``: a Ray Tune random search over a hand-written PyTorch
MLP, without the platform (no automl code runs in its trials), then the best configuration
retrained on train+val for its best epoch count.

Ray Tune's defaults throughout: FIFO, random search, no actor reuse (each trial starts a worker
and imports torch), 1 CPU per trial.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

PLAIN_EPOCHS = 30  # the default space's epoch count, so both searches train trials equally long


def plain_mlp(inputs: int, outputs: int, width: int, depth: int, dropout: float):
    """``depth`` × (Linear, ReLU, Dropout) then a linear output layer."""
    import torch.nn as nn

    layers, size = [], inputs
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU(), nn.Dropout(dropout)]
        size = width
    layers.append(nn.Linear(size, outputs))
    return nn.Sequential(*layers)


def plain_train(config: dict, X, y, classification: bool, outputs: int, epochs: int, seed: int, evaluate=None):
    """Train the MLP with Adam; after each epoch yield ``evaluate(model)`` (or None)."""
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    model = plain_mlp(X.shape[1], outputs, config["width"], config["depth"], config["dropout"])
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    loss_fn = nn.CrossEntropyLoss() if classification else nn.MSELoss()
    X_t, y_t = torch.as_tensor(np.array(X)), torch.as_tensor(np.array(y))  # copies: Ray hands read-only arrays
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X_t), generator=generator)
        for start in range(0, len(order), config["batch_size"]):
            rows = order[start : start + config["batch_size"]]
            optimizer.zero_grad()
            loss_fn(model(X_t[rows]), y_t[rows]).backward()
            optimizer.step()
        yield evaluate(model) if evaluate else None
    return model


def plain_predict(model, X) -> np.ndarray:
    """The model's outputs for ``X``, in evaluation mode."""
    import torch

    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(X)).numpy()


def plain_score(outputs: np.ndarray, y: np.ndarray, classification: bool) -> float:
    """Validation score, higher is better: accuracy, or minus the mean squared error."""
    if classification:
        return float((outputs.argmax(axis=1) == y).mean())
    return -float(((outputs.reshape(y.shape) - y) ** 2).mean())


def plain_trainable(config: dict, X_train, y_train, X_val, y_val, classification: bool, outputs: int) -> None:
    """The Ray Tune function trainable: reports the validation score after every epoch."""
    import torch
    from ray import tune

    torch.set_num_threads(1)
    evaluate = lambda model: plain_score(plain_predict(model, X_val), y_val, classification)  # noqa: E731
    for epoch, value in enumerate(plain_train(config, X_train, y_train, classification, outputs, PLAIN_EPOCHS,
                                              config["seed"], evaluate), start=1):
        tune.report({"val_score": value, "epoch": epoch})


def plain_space(seed: int) -> dict:
    """What a user would search by hand: width, depth, dropout, lr, weight decay, batch size."""
    from ray import tune

    return {
        "width": tune.choice([64, 128, 256, 512]),
        "depth": tune.choice([1, 2, 3]),
        "dropout": tune.uniform(0.0, 0.5),
        "lr": tune.loguniform(1e-4, 1e-2),
        "weight_decay": tune.loguniform(1e-6, 1e-2),
        "batch_size": tune.choice([32, 64, 128]),
        "seed": seed,
    }


def search_and_refit(X_train, y_train, X_val, y_val, X_test, classification: bool, outputs: int, budget_s: float,
                     seed: int, max_trials: int | None = None) -> tuple[np.ndarray | None, int, dict]:
    """Search for ``budget_s`` seconds (or ``max_trials`` trials without a budget), refit the best
    configuration on train+val, and return ``(test outputs, trials that reported, detail)``;
    the outputs are None when no trial reported a validation score within the budget."""
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    with tempfile.TemporaryDirectory() as folder:
        tuner = tune.Tuner(
            tune.with_parameters(plain_trainable, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
                                 classification=classification, outputs=outputs),
            param_space=plain_space(seed),
            tune_config=tune.TuneConfig(metric="val_score", mode="max", num_samples=max_trials or -1,
                                        time_budget_s=None if max_trials else budget_s,
                                        search_alg=BasicVariantGenerator(random_state=seed)),
            run_config=tune.RunConfig(storage_path=folder, name="plain", verbose=0),
        )
        results = tuner.fit()
        trials = sum(1 for r in results if r.metrics and "val_score" in r.metrics)
        if not trials:
            return None, 0, {"note": "no trial reported a validation score within the budget"}
        best = results.get_best_result(metric="val_score", mode="max", scope="all")
        history = best.metrics_dataframe
    epochs = int(history.loc[history["val_score"].idxmax(), "epoch"])
    config = best.config
    model = _last_return(plain_train(config, np.concatenate([X_train, X_val]), np.concatenate([y_train, y_val]),
                                     classification, outputs, epochs, seed))
    detail = {"best_config": {k: v for k, v in config.items() if k != "seed"}, "refit_epochs": epochs}
    return plain_predict(model, X_test), trials, detail


def _last_return(generator):
    """Run a generator to its end and return its ``return`` value."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value
