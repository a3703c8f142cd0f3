"""The plugin author's kit (issue 20, point 5): ``automl.testing`` and ``automl plugins check``."""

from __future__ import annotations

import importlib
import textwrap

import pytest
from plugin_packages import NAME

from automl import hookimpl
from automl.cli import main
from automl.components import ArchitectureSpec, LossSpec, OptimizerSpec
from automl.testing import check_plugin, plugin_checks, run_checks

BUILTIN_MODULES = ["mlp", "cnn", "rnn", "transformer", "losses", "optimizers", "regularizers", "autoencoder", "gan",
                   "unsupervised_losses", "initialization", "augmentation", "feature_views", "mixture_vae"]


def test_plugins_check_passes_an_installed_package_by_its_distribution_name(rival_plugin, capsys):
    assert main(["plugins", "check", NAME]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "ok   architecture mlp: builds for multiclass with tabular input" in out
    assert "ok   regularizer feature_noise: hooks run for regression with tabular input" in out
    assert out[-1].endswith("checks passed") and "failed" not in out[-1]


def test_plugins_check_reads_a_project_folder_through_its_entry_points(rival_plugin, capsys):
    assert main(["plugins", "check", str(rival_plugin)]) == 0
    assert "ok   architecture mlp: space parses" in capsys.readouterr().out


HARD_TARGETS_ONLY = '''
import torch
from automl import hookimpl
from automl.components import LossSpec


def build():
    return lambda outputs, targets: torch.nn.functional.nll_loss(torch.log_softmax(outputs, 1), targets.long())


@hookimpl
def automl_losses():
    return [LossSpec(name="hard_only", build=build, tasks=("multiclass",))]
'''


def test_plugins_check_fails_a_loss_that_rejects_soft_targets(tmp_path, capsys):
    path = tmp_path / "hard_only_plugin.py"
    path.write_text(textwrap.dedent(HARD_TARGETS_ONLY))
    assert main(["plugins", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "ok   loss hard_only: hard targets for multiclass" in out
    assert any(line.startswith("FAIL loss hard_only: soft targets for multiclass") for line in out)
    assert out[-1] == "2 of 3 checks passed, 1 failed"


def test_plugins_check_of_something_that_is_no_plugin_is_one_line(tmp_path, capsys):
    assert main(["plugins", "check", "no_such_plugin_module"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "cannot find the plugin 'no_such_plugin_module'" in line


class _WrongShape:
    @hookimpl
    def automl_architectures(self):
        import torch

        return [ArchitectureSpec(name="one_out", build=lambda shape, out: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(1)),
                                 tasks=("multiclass",))]


def test_check_plugin_raises_naming_each_failed_check():
    with pytest.raises(AssertionError) as raised:
        check_plugin(_WrongShape())
    message = str(raised.value)
    assert "1 of 2 plugin checks failed" in message
    assert "FAIL architecture one_out: builds for multiclass with tabular input: outputs have shape (4, 1), expected (4, 3)" in message


class _Forgetful:
    """An optimizer whose saved state does not bring its momentum back."""

    @hookimpl
    def automl_optimizers(self):
        import torch

        class Forgetful(torch.optim.SGD):
            def load_state_dict(self, state_dict):
                pass

        return [OptimizerSpec(name="forgetful", build=lambda params, lr=0.1: Forgetful(params, lr=lr, momentum=0.9))]


def test_an_optimizer_whose_state_does_not_round_trip_fails():
    [result] = [r for r in run_checks(_Forgetful()) if "round-trips" in str(r.check)]
    assert not result.passed and "the same step gives other parameters" in result.detail


class _BadSpace:
    @hookimpl
    def automl_losses(self):
        return [LossSpec(name="odd", build=lambda: None, space={"alpha": {"uniform": [2.0, 1.0]}}, tasks=("regression",))]


def test_a_plugin_that_does_not_register_is_one_failed_check():
    [result] = run_checks(_BadSpace())
    assert not result.passed and "loss 'odd' declares an invalid space" in result.detail


def test_plugin_checks_are_parametrizable_with_readable_ids():
    ids = [str(check) for check in plugin_checks(_WrongShape())]
    assert ids == ["architecture one_out: space parses", "architecture one_out: builds for multiclass with tabular input"]


@pytest.mark.slow
@pytest.mark.parametrize("module", BUILTIN_MODULES)
def test_every_builtin_plugin_meets_the_contract(module):
    check_plugin([(module, importlib.import_module(f"automl_plugins.{module}"))])
