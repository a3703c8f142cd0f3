"""The benchmarks run at tiny sizes, so their code cannot rot; their figures are not judged, only
that each produces the rows and columns RESULTS.md shows, with finite numbers."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest


def assert_finite(*values) -> None:
    for value in values:
        assert isinstance(value, (int, float)) and math.isfinite(value), value


@pytest.mark.slow
def test_quality_compares_every_contender_on_the_same_rows(ray_session):
    from bench import quality

    figures = quality.main(["--smoke"])
    peer = {"flaml"} if quality.flaml_installed() else set()  # FLAML comes with the bench extra
    contenders = {"classification": {"automl", "plain_tune_mlp", "svc", "hist_gradient_boosting", "logistic_regression", *peer},
                  "regression": {"automl", "plain_tune_mlp", "svr", "hist_gradient_boosting", "ridge", *peer}}
    assert {row["dataset"] for row in figures["summary"]} == {"wine", "diabetes"}
    assert {r["contender"] for r in figures["summary"] if r["dataset"] == "wine"} == contenders["classification"]
    assert {r["contender"] for r in figures["summary"] if r["dataset"] == "diabetes"} == contenders["regression"]
    for row in figures["summary"]:
        metrics = ("accuracy",) if row["dataset"] == "wine" else ("r2", "rmse")
        assert_finite(*(row[f"{m}_{s}"] for m in metrics for s in ("mean", "std")), row["wall_s_mean"])
        assert row["seeds"] == 1
    searches = [r for r in figures["summary"] if r["contender"] in ("automl", "flaml", "plain_tune_mlp")]
    assert all(r["trials_mean"] >= 1 for r in searches)
    platform = next(o for o in figures["outcomes"] if o["contender"] == "automl" and o["dataset"] == "wine")
    assert platform["detail"]["optimism"] == pytest.approx(platform["detail"]["validation"] - platform["metrics"]["accuracy"])
    table = quality.to_markdown(figures)
    assert "| wine | automl |" in table and "| diabetes | ridge |" in table
    # Each scikit-learn default is also scored as the platform's validation would score it.
    baselines = [o for o in figures["outcomes"] if o["contender"] in ("svc", "logistic_regression", "svr", "ridge")]
    assert baselines and all(math.isfinite(o["detail"]["validation"]) for o in baselines)


def test_digits_is_also_searched_as_a_table_on_the_same_split_beside_the_same_baselines():
    from bench import quality

    images, table = quality.load_dataset("digits"), quality.load_dataset("digits_tabular")
    assert (images.space, images.image_shape) == ("image", (1, 8, 8))
    assert (table.source, table.space, table.image_shape) == ("digits", "default", None)
    as_images, as_table = quality.prepare(images, 3), quality.prepare(table, 3)
    assert as_images.input_kind == "image" and as_table.input_kind == "tabular"
    for split in ("y_train", "y_val", "y_test"):  # the same rows in the same order, seed by seed
        assert (getattr(as_images, split) == getattr(as_table, split)).all()
    assert set(quality.sklearn_baselines(as_images)) == set(quality.sklearn_baselines(as_table))
    outcomes = [quality.Outcome(name, "multiclass", 0, contender, {"accuracy": 0.98}, 1.0)
                for name in ("digits", "digits_tabular") for contender in ("automl", "svc")]
    figures = {"seeds": [0], "budget_s": 1, "outcomes": [o.__dict__ for o in outcomes], "summary": quality.summarise(outcomes)}
    table_text = quality.to_markdown(figures)
    # The rows sit side by side, and the image figure says the space it used was tuned on digits.
    assert table_text.index("| digits | svc |") < table_text.index("| digits_tabular | automl |")
    assert "chosen on digits itself" in table_text and "not a figure on unseen data" in table_text


def test_quality_scores_a_baseline_out_of_fold_on_the_platform_s_folds_and_as_a_bag():
    from sklearn.neighbors import KNeighborsClassifier

    from bench import quality

    dataset = quality.load_dataset("wine")
    folded = quality.prepare(dataset, 0, validation="cv:3")
    held_out = quality.prepare(dataset, 0, validation="holdout")
    memorizer = KNeighborsClassifier(n_neighbors=1)  # perfect on every row it fitted
    scores = quality.validation_scores(memorizer, folded)
    # Out of fold: each row is scored by a model that never saw it, so even 1-NN is not perfect.
    assert 0.8 < scores["validation"] < 1.0 and 0.8 < scores["bag_test"] <= 1.0
    # A hold-out: fitted on the training split, scored on the validation split; no bag.
    fitted = memorizer.fit(quality.flat(held_out.X_train), held_out.y_train.ravel())
    expected = float((fitted.predict(quality.flat(held_out.X_val)) == held_out.y_val.ravel()).mean())
    assert quality.validation_scores(memorizer, held_out) == {"validation": expected}


def test_quality_says_which_model_validation_and_test_each_preferred():
    from bench import quality

    def outcome(contender, seed, validation, test):
        return {"dataset": "wine", "task": "multiclass", "seed": seed, "contender": contender,
                "metrics": {"accuracy": test}, "wall_s": 1.0, "detail": {"validation": validation}}

    # Seed 0: validation prefers the platform, test the baseline; seed 1: both prefer the baseline.
    outcomes = [outcome("automl", 0, 0.99, 0.96), outcome("svc", 0, 0.97, 1.0),
                outcome("automl", 1, 0.95, 0.96), outcome("svc", 1, 0.98, 1.0),
                outcome("hist_gradient_boosting", 0, 0.999, 0.90), outcome("hist_gradient_boosting", 1, 0.999, 0.90)]
    figures = {"seeds": [0, 1], "outcomes": outcomes,
               "summary": quality.summarise([quality.Outcome(**o) for o in outcomes])}
    rows = quality.selection_rows(figures)
    # Only the baseline whose mean beats the platform's is compared, seed by seed.
    assert [(r[1], r[3], r[6], r[9]) for r in rows] == [(0, "svc", "automl", "svc"), (1, "svc", "svc", "svc")]
    assert "| wine | 0 | accuracy | svc | 0.9900 | 0.9700 | automl | 0.9600 | 1.0000 | svc |  |" in quality.to_markdown(
        {**figures, "budget_s": 1, "max_trials": None})


def test_quality_compares_regression_by_the_rmse_the_search_ranks_by():
    from bench import quality

    outcomes = [quality.Outcome("diabetes", "regression", 0, "automl", {"r2": 0.40, "rmse": 55.0}, 1.0,
                                detail={"validation": 53.0}),
                quality.Outcome("diabetes", "regression", 0, "ridge", {"r2": 0.42, "rmse": 54.0}, 1.0,
                                detail={"validation": 54.5, "bag_test": 54.2})]
    figures = {"seeds": [0], "outcomes": [o.__dict__ for o in outcomes], "summary": quality.summarise(outcomes)}
    (row,) = quality.selection_rows(figures)
    # Lower RMSE is better: validation prefers the platform (53.0 < 54.5), test the ridge (54.0 < 55.0).
    assert row[2:] == ["rmse", "ridge", "53.0000", "54.5000", "automl", "55.0000", "54.0000", "ridge", "54.2000"]


def test_sequence_benchmark_detects_series_and_ranks_trials_out_of_fold_on_every_training_series(ray_session):
    from bench import sequence

    # The benchmark runs the shipped defaults: on these few series, 5-fold cross-validation.
    figures = sequence.main(["--smoke"])  # tiny sets the bench makes: no aeon needed
    assert [row["dataset"] for row in figures["summary"]] == ["SmokeUnivariate", "SmokeMultivariate"]
    for row in figures["summary"]:
        assert_finite(row["automl_mean"], row["automl_wall_s"])
    platform = {o["dataset"]: o["detail"] for o in figures["outcomes"] if o["contender"] == "automl"}
    # The univariate CSV is detected as series with no --input-kind; the 3-D arrays are series anyway.
    univariate = platform["SmokeUnivariate"]
    assert univariate["input_kind"] == "sequence" and univariate["input_view"].startswith("sequence view")
    assert platform["SmokeMultivariate"]["input_kind"] == "sequence"
    # 40 training series: every one of them scores the trials out of fold.
    assert univariate["ranking_rows"] == 40 and "5-fold cross-validation" in univariate["validation"]
    table = sequence.to_markdown(figures)
    assert "| SmokeUnivariate |" in table
    if not sequence.aeon_installed():  # MiniRocket comes with the bench extra
        assert "MiniRocket: not measured: aeon is not installed" in table
    else:
        assert all(math.isfinite(row["minirocket_mean"]) for row in figures["summary"])


def test_sequence_benchmark_says_not_measured_without_aeon(monkeypatch):
    import sys

    from bench import sequence

    monkeypatch.setitem(sys.modules, "aeon", None)  # import aeon raises ImportError
    figures = sequence.main(["--datasets", "GunPoint"])  # aeon's bundled sets
    assert "not measured: aeon is not installed" in sequence.to_markdown(figures)


@pytest.mark.slow
def test_unsupervised_benchmark_writes_clustering_and_generation_tables_into_its_block(ray_session, tmp_path):
    from bench.__main__ import main

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n")
    assert main(["--smoke", "--only", "unsupervised", "--block", "cluster_check", "--results", str(results)]) == 0
    text = results.read_text()
    assert text.count("<!-- generated:cluster_check start -->") == 1 and "at commit " in text
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith(("| blobs |", "| iris |"))]
    assert [row[0] for row in rows] == ["| blobs", "| iris"]
    for row in rows:  # every mean is a number: ARI, KMeans' ARI, scores (clustering); AUCs and gaps (generation)
        assert_finite(*(float(cell.split(" ± ")[0]) for cell in row[1:5]))


def test_full_size_searches_get_the_default_space_a_user_s_search_gets(monkeypatch):
    from bench import sequence, unsupervised

    asked = []

    class Stop(Exception):
        pass

    def recording_automl(**settings):
        asked.append(settings)
        raise Stop

    monkeypatch.setattr("automl.AutoML", recording_automl)
    monkeypatch.setattr("automl.api.AutoML", recording_automl)
    with pytest.raises(Stop):
        unsupervised.cluster_run("iris", 0, 8, "unused", prepared=None)
    with pytest.raises(Stop):
        sequence.run_platform("GunPoint", 0, 120.0, ("train.csv", "test.csv", "label"))
    # No space given: the search chooses it (for series, the sequence space), as without the bench.
    assert ["space" in settings for settings in asked] == [False, False]


def test_blobs_are_a_fixed_family_of_unequal_stretched_blobs_one_draw_per_seed():
    from bench import unsupervised

    frame, labels = unsupervised.labelled("blobs", 0)
    assert frame.shape == (1500, 9) and sorted(np.bincount(labels), reverse=True) == [600, 400, 250, 150, 100]
    assert frame.equals(unsupervised.labelled("blobs", 0)[0]) and not frame.equals(unsupervised.labelled("blobs", 1)[0])
    prepared = unsupervised.same_split("blobs", "cluster", 0)
    # Read as a table, with enough validation rows that trials are scored on held-out rows alone.
    assert prepared.input_kind == "tabular" and len(prepared.X_val) >= 200


def test_overhead_reports_a_ratio_per_trial_length(ray_session):
    from bench import overhead

    figures = overhead.main(["--smoke"])
    assert [(run["trial_seconds"], run["trials"]) for run in figures["runs"]] == [(0.2, 2)]
    for run in figures["runs"]:
        assert_finite(run["platform_wall_s"], run["raw_serial_s"], run["ratio"], run["first_training_s"], run["tune_floor_ratio"],
                      run["plain_parallel_ratio"])
        assert run["ratio"] > run["ratio_after_start_up"] > 0 and 0 < run["first_training_s"] < run["platform_wall_s"]
    assert overhead.to_markdown(figures).count("\n| 0.") == 2  # a row per run in each of the two tables


def test_early_stopping_compares_asha_and_hyperband_with_fifo(ray_session):
    from bench import early_stopping

    figures = early_stopping.main(["--smoke"])
    assert_finite(figures["fifo_best_val_accuracy"], figures["asha"]["best_val_accuracy"], figures["hyperband"]["best_val_accuracy"])
    assert figures["fifo_epochs"] == figures["trials"] * figures["max_epochs"]
    assert "| ASHA" in early_stopping.to_markdown(figures)


def test_scale_measures_preparation_memory_and_trials_per_minute(ray_session):
    from bench import scale

    figures = scale.main(["--smoke"])
    (size,) = figures["sizes"]
    assert size["rows"] == 2000 and size["columns"] == 50
    assert_finite(size["load_s"], size["prepare_s"], size["trials_per_minute"], size["samples_per_s_per_trial"])
    assert size["peak_rss_bytes"] >= size["baseline_rss_bytes"] > 0
    assert size["trials_finished"] == size["trials"] == 2
    assert "| 2000 | parquet" in scale.to_markdown(figures)


@pytest.mark.slow
def test_kill_resume_kills_a_search_while_a_trial_trains_and_checks_the_resume():
    from bench import kill_resume

    figures = kill_resume.main(["--smoke"])
    assert figures["kills"] == figures["by_stage"]["trial"]["kills"] == 1
    assert figures["searches_finished"] == figures["search_count"] == 1
    assert figures["by_stage"]["trial"]["running"] >= 1 and not figures["failed"] and not figures["lost"]
    assert "| trial | 1 |" in kill_resume.to_markdown(figures)


def test_gpu_benchmark_says_not_measured_without_cuda():
    import torch

    from bench import gpu

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the full GPU benchmark is not a smoke test")
    figures = gpu.main(["--smoke"])
    assert "no GPU was lent" in gpu.to_markdown(figures)


def test_gpu_benchmark_samples_utilization_from_nvidia_smi(tmp_path, monkeypatch):
    from bench import gpu

    fake = tmp_path / "nvidia-smi"  # prints a sample per 50 ms until stopped, like `-lms`
    fake.write_text("#!/bin/sh\nwhile true; do echo '30, 1000'; echo '90, 3000'; sleep 0.05; done\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with gpu.gpu_utilization() as sampled:
        time.sleep(0.3)
    assert sampled["utilization_mean"] == 60.0 and sampled["utilization_max"] == 90.0
    assert sampled["memory_max_mib"] == 3000.0 and sampled["utilization_samples"] >= 2
    assert gpu.parse_utilization("[N/A], [N/A]\n") == {}


def test_bench_rewrites_only_its_generated_blocks(tmp_path):
    from bench.__main__ import main

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nHand-written note that must survive.\n\n## GPU\n\n"
                       "<!-- generated:gpu start -->\nold figures\n<!-- generated:gpu end -->\n\nEarlier GPU note.\n")
    assert main(["--smoke", "--only", "gpu", "--results", str(results)]) == 0
    text = results.read_text()
    assert "Hand-written note that must survive." in text and "Earlier GPU note." in text
    assert "old figures" not in text and text.count("<!-- generated:gpu start -->") == 1
    assert "python -m bench --smoke --only gpu" in text and "versions: automl" in text
    assert f"at commit {git_commit()}" in text
    assert "generated:run" not in text  # the header describes full runs only


def git_commit() -> str:
    import subprocess

    return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


def test_a_block_names_its_commit_and_says_when_the_measured_tree_had_uncommitted_changes(tmp_path, tmp_path_factory):
    import subprocess

    from bench.results import git_commit as measured_commit

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "RESULTS.md").write_text("# results\n")
    git("add", ".")
    git("commit", "-q", "-m", "code")
    head = git("rev-parse", "HEAD")
    assert measured_commit(root=tmp_path) == head
    # The results file the run is writing is its output, not the code it measured.
    (tmp_path / "RESULTS.md").write_text("# results\nnew block\n")
    assert measured_commit(tmp_path / "RESULTS.md", root=tmp_path) == head
    assert measured_commit(root=tmp_path) == f"{head} + uncommitted changes"
    (tmp_path / "scratch.py").write_text("y = 2\n")  # an untracked file could change what runs
    assert measured_commit(tmp_path / "RESULTS.md", root=tmp_path) == f"{head} + uncommitted changes"
    assert measured_commit(root=tmp_path_factory.mktemp("no_repo")) == "unknown (not run from a git checkout)"


def test_a_partial_run_can_write_beside_the_full_run_s_block(tmp_path, capsys):
    from bench.__main__ import main

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## GPU\n\n<!-- generated:gpu start -->\nfull run\n<!-- generated:gpu end -->\n\n"
                       "<!-- generated:gpu_extra start -->\nold extra\n<!-- generated:gpu_extra end -->\n")
    assert main(["--smoke", "--only", "gpu", "--block", "gpu_extra", "--results", str(results)]) == 0
    text = results.read_text()
    assert "full run" in text and "old extra" not in text and text.count("generated:gpu_extra start") == 1
    assert main(["--smoke", "--only", "gpu", "quality", "--block", "x", "--results", str(results)]) == 2
    assert "--block x needs exactly one --only benchmark" in capsys.readouterr().err


def test_results_keeps_a_section_for_every_benchmark_and_closes_every_block():
    # An edit of bench/RESULTS.md once cut everything after one section (seven benchmarks'
    # figures) and nothing noticed.
    import re
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "bench"
    text = (bench / "RESULTS.md").read_text()
    benchmarks = [p.name for p in bench.glob("*.py") if p.name != "__main__.py" and "\ndef main(" in p.read_text()]
    assert len(benchmarks) >= 10
    assert [name for name in benchmarks if f"bench/{name}" not in text] == []
    starts = re.findall(r"<!-- generated:(\w+) start -->", text)
    assert starts and starts == re.findall(r"<!-- generated:(\w+) end -->", text)
