"""`automl report RUN_DIR`: a self-contained report.html of a real search, checked in a real
headless browser (Debian's chromium through selenium and chromedriver)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from automl.cli import main

PLOTS = ("best_so_far", "learning_curves", "score_by_architecture", "hyperparameter_effects", "residuals")

TINY_REGRESSION_SPACE = """
epochs: 3
batch_size: 32
architectures:
  include: [mlp]
  mlp:
    depth: 1
    width: {choice: [8, 32]}
    normalization: none
optimizers:
  include: [adam]
  adam:
    lr: {loguniform: [3.0e-3, 3.0e-2]}
"""


@pytest.fixture(scope="module")
def regression_run(ray_session, tmp_path_factory):
    """A real 3-trial regression search (W&B off), its run directory and result."""
    from automl import AutoML

    root = tmp_path_factory.mktemp("report")
    (root / "space.yaml").write_text(TINY_REGRESSION_SPACE)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": 4 * x[:, 0] - x[:, 1] + 0.2 * rng.normal(size=200) + 10})
    result = AutoML(target="y", space=root / "space.yaml", num_trials=3, output=root / "run", wandb=False).fit(frame)
    return result


def test_regression_report_residuals_come_from_the_single_test_evaluation(regression_run):
    run_dir = regression_run.run_dir
    evaluation = json.loads((run_dir / "model" / "metrics.json").read_text())["test_predictions"]
    true, predicted = np.array(evaluation["true"]), np.array(evaluation["predicted"])
    assert len(true) == evaluation["rows"] == regression_run.data_report["split_rows"]["test"]
    # The saved predictions are exactly the ones the test metrics were computed from.
    assert np.sqrt(np.mean((true - predicted) ** 2)) == pytest.approx(regression_run.test_metrics["rmse"], rel=1e-4)
    page = (run_dir / "report.html").read_text()
    assert all(f'<section id="{name}">' in page for name in PLOTS)
    assert "confusion_matrix" not in page


def test_report_command_rebuilds_a_self_contained_page_from_the_run_directory(regression_run, capsys):
    run_dir = regression_run.run_dir
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert f"wrote {run_dir / 'report.html'}" in capsys.readouterr().out
    page = (run_dir / "report.html").read_text()
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith(("data:image/png;base64,", "data:,")) for s in sources)  # no other file, no network
    assert len(re.findall(r'<img class="plot"', page)) == len(PLOTS)
    for text in ("test rmse", "Data report", "Leaderboard", "Best configuration", regression_run.best["trial_id"]):
        assert text in page


def test_a_search_with_the_report_turned_off_writes_no_page(regression_run, tmp_path):
    from automl.config import TrackingConfig
    from automl.tracking.search_tracking import SearchTracking

    run_dir = shutil.copytree(regression_run.run_dir, tmp_path / "run")
    (run_dir / "report.html").unlink()
    tracking = SearchTracking(TrackingConfig(wandb=False, report=False), run_dir, "val_rmse")
    outcome = tracking.finish(regression_run.leaderboard, {}, regression_run.artifact_dir)
    assert outcome.report is None and not (run_dir / "report.html").exists()


def test_report_refuses_a_directory_without_a_finished_search(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no finished search" in capsys.readouterr().err


def _chromium_and_driver() -> tuple[str, str]:
    """The Debian chromium and chromedriver, installed here if missing and possible; else skip."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if all(found):
        return found
    reason = "not installed"
    if shutil.which("apt-get") and os.geteuid() == 0:
        done = subprocess.run("apt-get update -qq && apt-get install -y -qq chromium chromium-driver", shell=True,
                              capture_output=True, text=True, timeout=600)
        reason = f"apt-get exited {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if not all(found):
        pytest.skip(f"Debian chromium and chromium-driver cannot be installed here ({reason}); "
                    "install them with `apt-get install -y chromium chromium-driver`")
    return found


@pytest.fixture(scope="module")
def browser():
    chromium, chromedriver = _chromium_and_driver()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    yield driver
    driver.quit()


def test_report_loads_in_chromium_without_console_errors_and_every_plot_is_visible(regression_run, browser):
    from PIL import Image
    from selenium.webdriver.common.by import By

    browser.get((regression_run.run_dir / "report.html").resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.title.startswith("automl report")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    images = browser.find_elements(By.CSS_SELECTOR, "img.plot")
    assert [img.find_element(By.XPATH, "./ancestor::section").get_attribute("id") for img in images] == list(PLOTS)
    for img in images:
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", img)
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
        assert img.is_displayed() and img.size["width"] >= 300 and img.size["height"] >= 200
        shot = np.asarray(Image.open(io.BytesIO(img.screenshot_as_png)).convert("RGB"))
        inked = (shot < 200).any(axis=2).mean()  # share of pixels that are not near-white
        assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 20 and inked > 0.02, img.get_attribute("alt")


def test_the_hyperparameter_effects_leave_out_the_ensemble_and_show_only_what_the_trials_varied():
    # The ensemble's row lacked every hyperparameter, which made each look varied, and its
    # member list became a tick label 1,500 characters long.
    from automl.ensemble import ENSEMBLE_ID
    from automl.report.plots import hyperparameter_table
    from automl.run_records import TrialRecord

    def trial(trial_id: str, lr: float, score: float) -> TrialRecord:
        config = {"architecture": {"name": "mlp", "width": 32}, "optimizer": {"name": "adam", "lr": lr}, "seed": 0}
        return TrialRecord(trial_id, config, {"best_val_accuracy": score}, "completed")

    ensemble = TrialRecord(ENSEMBLE_ID, {"architecture": {"name": ENSEMBLE_ID, "members": "0.5×a + 0.5×b"},
                                         "ensemble": [{"trial_id": "a", "weight": 0.5}, {"trial_id": "b", "weight": 0.5}]},
                           {"best_val_accuracy": 0.97}, "ensemble")
    table = hyperparameter_table([trial("a", 0.01, 0.95), trial("b", 0.001, 0.9), ensemble], "accuracy")
    assert list(table.columns) == ["optimizer.lr", "score"]
    assert table["score"].tolist() == [0.95, 0.9]
