"""Bad input on the CLI: one line naming the problem and the fix, exit code 2, nothing written."""

from __future__ import annotations

import pytest

from automl import hookimpl
from automl.cli import main
from automl.components import OptimizerSpec
from automl.registry import load_registry


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


def test_a_missing_file(tmp_path, capsys):
    code, err = run_cli(["search", str(tmp_path / "nope.csv"), "--target", "y", "--output", str(tmp_path / "run")], capsys)
    assert code == 2 and len(err) == 1
    assert "does not exist" in err[0] and "Fix:" in err[0]
    assert not (tmp_path / "run").exists()


def test_a_missing_target_column(tmp_path, capsys, blobs_frame):
    data = tmp_path / "d.csv"
    blobs_frame.to_csv(data, index=False)
    code, err = run_cli(["search", str(data), "--target", "label", "--output", str(tmp_path / "run")], capsys)
    assert code == 2 and len(err) == 1
    assert "target column 'label' is not in the data" in err[0] and "species" in err[0]
    assert not (tmp_path / "run").exists()


def test_an_empty_table(tmp_path, capsys):
    data = tmp_path / "empty.csv"
    data.write_text("")
    code, err = run_cli(["search", str(data), "--target", "y", "--output", str(tmp_path / "run")], capsys)
    assert code == 2 and len(err) == 1 and "is empty" in err[0]
    assert not (tmp_path / "run").exists()


def test_an_unknown_component_in_a_space(tmp_path, capsys, blobs_frame, tiny_space):
    data = tmp_path / "d.csv"
    blobs_frame.to_csv(data, index=False)
    space = tiny_space("architectures:\n  include: [mlp, perceiver]\n")
    code, err = run_cli(["search", str(data), "--target", "species", "--space", str(space), "--output", str(tmp_path / "run")], capsys)
    assert code == 2 and len(err) == 1
    assert "unknown architecture 'perceiver'" in err[0] and "mlp" in err[0]
    assert not (tmp_path / "run").exists()


def test_predict_with_a_folder_that_is_not_an_artifact(tmp_path, capsys):
    (tmp_path / "model").mkdir()
    code, err = run_cli(["predict", str(tmp_path / "model"), "whatever.csv"], capsys)
    assert code == 2 and len(err) == 1 and "not a complete automl artifact" in err[0]


@pytest.mark.parametrize(
    "flag, value, allowed",
    [("--time-budget", "-5", "a positive number"), ("--num-trials", "zero", "a whole number of 1 or more"),
     ("--num-trials", "0", "a whole number of 1 or more"), ("--image-shape", "1,8", "C,H,W"),
     ("--val-fraction", "2", "between 0 and 1"), ("--ensemble", "1", "2 or more"), ("--seed", "x", "a whole number"),
     ("--scheduler", "bohb", "asha, fifo, hyperband, pbt")],
)
def test_a_bad_flag_value_is_three_lines_naming_the_flag_and_what_it_allows(flag, value, allowed, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["search", "digits", flag, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) <= 3
    assert err[0].startswith(f"automl search: error: argument {flag}: ") and value in err[0]
    assert err[1].startswith(f"allowed: {flag}") and allowed in err[1]
    assert err[-1] == "see: automl search --help"
    assert "usage:" not in "\n".join(err) and "_int" not in err[0] and "invalid int" not in err[0]


def test_an_unknown_command_lists_the_commands_in_three_lines(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["serch", "digits"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(err) <= 3
    assert "invalid choice: 'serch'" in err[0] and "search" in err[1] and err[-1] == "see: automl --help"


@pytest.mark.parametrize("searcher", ["tpe", "gp"])
def test_a_searcher_ray_tune_refuses_with_pbt_is_refused_before_the_run_directory(searcher, tmp_path, capsys):
    run = tmp_path / "run"
    code, err = run_cli(["search", "digits", "--searcher", searcher, "--scheduler", "pbt", "--output", str(run), "-q"], capsys)
    assert code == 2 and len(err) == 1
    assert f"--searcher {searcher} cannot run with --scheduler pbt" in err[0] and "PopulationBasedTraining" in err[0]
    assert "--searcher random or grid" in err[0]
    assert not run.exists()


class _OptimizerWithoutLearningRate:
    @hookimpl
    def automl_optimizers(self):
        return [OptimizerSpec(name="fixed_step", build=lambda params: None, space={"momentum": {"choice": [0.0, 0.9]}})]


def test_pbt_over_an_optimizer_without_a_learning_rate_is_refused_before_the_run_directory(
    tmp_path, capsys, blobs_frame, tiny_space, monkeypatch
):
    from automl import registry

    with_plugin = lambda disabled=(): load_registry(disabled, extra_plugins=[("fixed", _OptimizerWithoutLearningRate())])  # noqa: E731
    monkeypatch.setattr(registry, "load_registry", with_plugin)
    monkeypatch.setattr("automl.api.load_registry", with_plugin)  # the search's own registry
    data = tmp_path / "d.csv"
    blobs_frame.to_csv(data, index=False)
    space = tiny_space("epochs: 1\narchitectures:\n  include: [mlp]\noptimizers:\n  include: [fixed_step]\n")
    run = tmp_path / "run"
    code, err = run_cli(["search", str(data), "--target", "species", "--space", str(space), "--scheduler", "pbt",
                         "--output", str(run), "-q"], capsys)
    assert code == 2 and len(err) == 1 and "optimizer 'fixed_step' has no 'lr'" in err[0]
    assert not run.exists()
