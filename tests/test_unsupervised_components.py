"""The unsupervised catalogue: autoencoders, GANs and their losses build for every input kind
they claim, learn in a few steps, and are offered only for the tasks they fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from automl.config import DataConfig
from automl.errors import AutoMLError
from automl.registry import load_registry
from automl.space import build_search_space

# Tiny models in this process train fastest on one thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

SHAPES = {"tabular": (6,), "image": (1, 8, 8)}
RECONSTRUCTION = {"autoencoder": ["tabular"], "conv_autoencoder": ["image"]}
ADVERSARIAL = {"gan": ["tabular"], "conv_gan": ["image"], "adversarial_autoencoder": ["tabular"]}
RECONSTRUCTION_LOSSES = ["reconstruction_mse", "reconstruction_huber"]
ADVERSARIAL_LOSSES = ["adversarial_bce", "adversarial_hinge"]
# Fixed views and likelihood-trained generators: tests/test_unsupervised_families.py.
VIEWS_AND_LIKELIHOOD = ["features", "pca", "mixture_vae"]
UNSUPERVISED_COMPONENTS = [*RECONSTRUCTION, *ADVERSARIAL, *VIEWS_AND_LIKELIHOOD, *RECONSTRUCTION_LOSSES, *ADVERSARIAL_LOSSES]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def spec(registry, family, name):
    return registry.get(family, name).spec


def structured_batch(shape, n=32, seed=0) -> torch.Tensor:
    """Rows on a low-dimensional manifold, so there is something to learn."""
    g = torch.Generator().manual_seed(seed)
    factors = torch.randn(n, 2, generator=g)
    mixing = torch.randn(2, int(np.prod(shape)), generator=g)
    return (factors @ mixing).reshape(n, *shape)


def declared(catalogue):
    return [(name, kind) for name, kinds in catalogue.items() for kind in kinds]


@pytest.mark.parametrize("loss_name", RECONSTRUCTION_LOSSES)
@pytest.mark.parametrize("name,kind", declared(RECONSTRUCTION))
def test_autoencoder_reconstruction_loss_falls_for_each_claimed_input_kind(registry, name, kind, loss_name):
    arch = spec(registry, "architectures", name)
    assert kind in arch.input_kinds and arch.tasks == ("cluster",)
    torch.manual_seed(0)
    network = arch.build(SHAPES[kind], 0)
    loss_fn = spec(registry, "losses", loss_name).build()
    x = structured_batch(SHAPES[kind])
    optimizer = torch.optim.Adam(network.parameters(), lr=5e-3)
    losses = []
    for _ in range(25):
        loss = loss_fn(network(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert network(x).shape == x.shape
    assert network.encode(x).shape == (len(x), network.latent)
    assert losses[-1] < 0.7 * losses[0]


@pytest.mark.parametrize("loss_name", ADVERSARIAL_LOSSES)
@pytest.mark.parametrize("name,kind", declared(ADVERSARIAL))
def test_adversarial_steps_lower_each_players_loss_for_each_claimed_input_kind(registry, name, kind, loss_name):
    arch = spec(registry, "architectures", name)
    assert kind in arch.input_kinds and arch.tasks == ("generate",)
    torch.manual_seed(0)
    network = arch.build(SHAPES[kind], 0)
    loss_fn = spec(registry, "losses", loss_name).build()
    x = structured_batch(SHAPES[kind])
    noise = torch.Generator().manual_seed(1)
    real, fake, _ = network.adversarial_pair(x, noise)
    real, fake = real.detach(), fake.detach()

    # The discriminator, generator fixed, learns to tell the two apart.
    d_opt = torch.optim.Adam(network.discriminator.parameters(), lr=1e-3)
    d_losses = []
    for _ in range(15):
        loss = loss_fn.discriminator_loss(network.discriminator(real), network.discriminator(fake))
        d_opt.zero_grad()
        loss.backward()
        d_opt.step()
        d_losses.append(float(loss.detach()))
    assert d_losses[-1] < d_losses[0]

    # The generator, discriminator fixed, learns to fool it.
    g_opt = torch.optim.Adam(network.generator_parameters(), lr=1e-3)
    g_losses = []
    for _ in range(15):
        _, fake, _ = network.adversarial_pair(x, torch.Generator().manual_seed(2))
        loss = loss_fn.generator_loss(network.discriminator(fake))
        g_opt.zero_grad()
        loss.backward()
        g_opt.step()
        g_losses.append(float(loss.detach()))
    assert g_losses[-1] < g_losses[0]
    assert network.sample(5, torch.Generator().manual_seed(0)).shape == (5, *SHAPES[kind])


def test_scheduled_optimizers_decay_the_learning_rate_of_both_adversarial_players(registry):
    from automl.tasks.generate import GenerateTask
    from automl.training.building import build_model
    from automl.training.loop import train_epochs
    from automl.training.records import Components, DataFacts

    names = {"architectures": ["gan"], "losses": ["adversarial_bce"], "optimizers": ["adam"]}
    components = Components({family: {n: spec(registry, family, n) for n in ns} for family, ns in names.items()})
    config = {"architecture": {"name": "gan"}, "loss": {"name": "adversarial_bce"}, "epochs": 2, "batch_size": 16,
              "optimizer": {"name": "adam", "lr": 1e-3, "schedule": "cosine", "warmup": 0.0}}
    X = structured_batch(SHAPES["tabular"], n=64).numpy()
    task = GenerateTask()
    model = build_model(config, components, SHAPES["tabular"], 0, "cpu", DataFacts("generate", train_rows=len(X)), task.parameter_groups)
    list(train_epochs(model, X, None, 2, 16, "cpu", seed=0, batch_losses=task.batch_losses, loss_keys=task.loss_keys))
    # Two epochs of four batches end the cosine horizon: both learning rates decayed to 0.
    assert [o.param_groups[0]["lr"] for o in model.optimizers] == pytest.approx([0.0, 0.0], abs=1e-9)


def test_convolutional_models_accept_odd_image_sizes_and_channels(registry):
    x = structured_batch((3, 7, 9), n=4)
    assert spec(registry, "architectures", "conv_autoencoder").build((3, 7, 9), 0)(x).shape == x.shape
    assert spec(registry, "architectures", "conv_gan").build((3, 7, 9), 0).sample(4).shape == x.shape


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("kind", ["tabular", "image", "sequence", "text"])
def test_unsupervised_components_are_never_offered_for_supervised_tasks(registry, task, kind):
    offered = {c.name for c in registry.list(task=task, input_kind=kind)}
    assert not offered & set(UNSUPERVISED_COMPONENTS)


@pytest.mark.parametrize(
    "task,kind,architectures,losses",
    [
        ("cluster", "tabular", ["autoencoder", "features", "pca"], RECONSTRUCTION_LOSSES),
        ("cluster", "image", ["conv_autoencoder", "features"], RECONSTRUCTION_LOSSES),
        ("generate", "tabular", ["adversarial_autoencoder", "gan", "mixture_vae"], ADVERSARIAL_LOSSES),
        ("generate", "image", ["conv_gan"], ADVERSARIAL_LOSSES),
    ],
)
def test_default_space_offers_only_what_fits_each_unsupervised_task(registry, task, kind, architectures, losses):
    space = build_search_space(registry, {}, task, kind)
    assert sorted(space.names("architectures")) == architectures
    assert sorted(space.names("losses")) == sorted(losses)
    assert space.names("regularizers") == []  # built-in regularizers are supervised-only


def test_cluster_data_needs_no_target_and_sets_a_given_label_aside():
    from automl.data import prepare_data

    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40) % 3, "label": ["x", "y"] * 20})
    prepared = prepare_data(frame, DataConfig(task="cluster"))
    assert prepared.input_shape == (4,)  # a, b and the one-hot label: every column is a feature
    prepared = prepare_data(frame, DataConfig(target="label", task="cluster"))
    assert prepared.input_shape == (2,) and prepared.output_size == 0
    assert len(prepared.X_train) + len(prepared.X_val) + len(prepared.X_test) == 40


def test_builtin_dataset_label_is_kept_out_of_cluster_features():
    from automl.data import prepare_data

    prepared = prepare_data("digits", DataConfig(task="cluster", image_shape=(1, 8, 8)))
    assert prepared.input_kind == "image" and prepared.input_shape == (1, 8, 8)
    assert prepared.report["column_set_aside"] == "target"


def test_column_space_decodes_to_training_ranges_types_and_labels():
    from automl.data.columns import ColumnSpace
    from automl.data.preprocess import FeaturePreprocessor

    # "count" repeats a value: a distinct integer per row would be profiled as an id and dropped.
    frame = pd.DataFrame({
        "height": [1.5, 1.7, 1.9, 1.6], "count": [1, 4, 2, 4], "flag": [True, False, True, True],
        "colour": ["red", "blue", "red", "green"], "rating": pd.array([2, None, 5, 3], dtype="Int64"),
        "member": ["yes", "no", "no", "yes"],
    })
    features = FeaturePreprocessor().fit(frame)
    space = ColumnSpace.fit(frame, features)
    encoded = features.transform(frame)
    complete = frame.assign(rating=frame["rating"].fillna(3))  # missing values come back imputed (median)
    pd.testing.assert_frame_equal(space.decode(encoded), complete, rtol=1e-5)  # a round trip
    wild = np.random.default_rng(0).normal(0, 10, size=(50, space.width))
    rows = space.decode(wild)
    assert list(rows.columns) == list(frame.columns)
    assert rows["height"].between(1.5, 1.9).all() and rows["height"].dtype == np.float64
    assert rows["count"].between(1, 4).all() and rows["count"].dtype == np.int64
    assert rows["flag"].dtype == bool
    assert rows["rating"].dtype == "Int64" and rows["rating"].between(2, 5).all()
    assert set(rows["colour"]) <= {"red", "blue", "green"}
    assert set(rows["member"]) <= {"yes", "no"}  # a text boolean keeps its training spelling


def test_generate_refuses_a_date_column_before_training():
    from automl.data import prepare_data

    frame = pd.DataFrame({"a": np.arange(30.0) % 7, "day": pd.date_range("2024-01-01", periods=30).astype(str)})
    assert prepare_data(frame, DataConfig(task="cluster")).input_shape[0] > 1  # clustering uses the date parts
    with pytest.raises(AutoMLError, match="'day'"):
        prepare_data(frame, DataConfig(task="generate"))


def test_two_sample_test_scores_same_distribution_near_half_and_a_shift_near_one():
    from automl.tasks.generate import two_sample_test

    rng = np.random.default_rng(0)
    same = two_sample_test(rng.normal(size=(200, 3)), rng.normal(size=(200, 3)), seed=0)
    shifted = two_sample_test(rng.normal(size=(200, 3)), rng.normal(2.0, 1.0, size=(200, 3)), seed=0)
    assert same["c2st_gap"] < 0.1
    assert shifted["c2st_auc"] > 0.9


class _Replaying(torch.nn.Module):
    """A stand-in generator (the contract's ``sample(n, noise)``) whose samples are given rows."""

    def __init__(self, rows: np.ndarray) -> None:
        super().__init__()
        self.rows = torch.as_tensor(rows, dtype=torch.float32)

    def sample(self, n: int, noise: torch.Generator) -> torch.Tensor:
        return self.rows[:n]


@pytest.mark.parametrize("metric", ["c2st_auc", "c2st_gap"])
def test_a_generator_the_two_sample_test_anti_predicts_does_not_win(metric, registry):
    from types import SimpleNamespace

    from automl.engine.trial_records import TrialRecord
    from automl.leaderboard import rank_trials

    rng = np.random.default_rng(0)
    held_out = rng.normal(size=(120, 3))
    # Copies of the held-out rows: out of fold the forest has learned each real row's twin as
    # fake, so it calls the real rows fake, an AUC far below 0.5, as telling as one far above.
    copying, honest = _Replaying(held_out[rng.permutation(120)]), _Replaying(rng.normal(size=(120, 3)))
    task = registry.task("generate")
    evaluate = task.evaluator(None, SimpleNamespace(column_space=None), held_out, held_out, "cpu", seed=0)
    records, scores = [], {}
    for trial_id, generator in (("copying", copying), ("honest", honest)):
        scores[trial_id] = evaluate(generator)
        records.append(TrialRecord(trial_id, {}, {f"best_{k}": v for k, v in scores[trial_id].items()}, "completed"))
    assert scores["copying"]["val_c2st_gap"] > 0.2 > scores["honest"]["val_c2st_gap"]
    board = rank_trials(records, *task.ranking(metric))
    assert list(board.trial_id) == ["honest", "copying"]
    assert scores["copying"]["val_c2st_auc"] == pytest.approx(0.5 + scores["copying"]["val_c2st_gap"])  # folded


def test_plugins_command_lists_the_unsupervised_components(capsys):
    from automl.cli import main

    assert main(["plugins"]) == 0
    listing = capsys.readouterr().out
    for name in UNSUPERVISED_COMPONENTS:
        assert name in listing
    assert "generate" in listing and "cluster" in listing


def test_search_command_accepts_unsupervised_tasks_without_a_target():
    from automl.cli import build_parser

    args = build_parser().parse_args(["search", "rows.csv", "--task", "cluster", "--n-clusters", "4"])
    assert (args.task, args.n_clusters, args.target) == ("cluster", 4, None)
    assert build_parser().parse_args(["search", "rows.csv", "--task", "generate"]).task == "generate"
    sample = build_parser().parse_args(["sample", "runs/x/model", "-n", "7", "-o", "rows.csv"])
    assert (sample.num_rows, str(sample.output)) == (7, "rows.csv")
