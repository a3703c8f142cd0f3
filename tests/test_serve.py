"""`automl serve` answers JSON predictions over HTTP on loopback and rejects bad requests clearly."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pandas as pd
import pytest
from artifact_helpers import build_artifact

from automl.predictor import load


@pytest.fixture(scope="module")
def served(tmp_path_factory, module_blobs_frame):
    """A real `automl serve` process on 127.0.0.1 (a free port) and the artifact it serves."""
    artifact = build_artifact(module_blobs_frame, "species", tmp_path_factory.mktemp("serve") / "model")
    process = subprocess.Popen(
        [sys.executable, "-m", "automl", "serve", str(artifact), "--port", "0", "--max-body-bytes", "4096"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = process.stdout.readline()
        assert "serving" in line, line
        url = line.split(" on ")[1].split()[0]
        yield url, artifact
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def module_blobs_frame():
    import numpy as np

    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, 240)
    frame = pd.DataFrame({"x1": label * 2.0 + rng.normal(0, 0.4, 240), "x2": -label * 1.5 + rng.normal(0, 0.4, 240),
                          "colour": np.array(["red", "green", "blue"])[label], "noise": rng.normal(0, 1, 240)})
    frame["species"] = np.array(["ant", "bee", "cat"])[label]
    return frame


def call(url: str, path: str, body: bytes | None = None, content_type: str = "application/json"):
    request = urllib.request.Request(url + path, data=body, headers={"Content-Type": content_type} if body is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def rows_body(rows) -> bytes:
    return json.dumps({"rows": rows}).encode()


def test_health_names_task_features_and_classes(served):
    url, _ = served
    status, answer = call(url, "/health")
    assert status == 200
    assert answer["status"] == "ok" and answer["task"] == "multiclass"
    assert answer["features"] == ["x1", "x2", "colour", "noise"]
    assert answer["classes"] == ["ant", "bee", "cat"]


def test_predictions_match_the_python_predictor(served, module_blobs_frame):
    url, artifact = served
    rows = module_blobs_frame.drop(columns=["species"]).head(8)
    payload = json.loads(rows.to_json(orient="records"))
    payload[0]["x1"] = None  # missing values are allowed and imputed
    status, answer = call(url, "/predict", rows_body(payload))
    assert status == 200
    expected = load(artifact).predict_frame(pd.DataFrame(payload))
    assert answer["predictions"] == list(expected["predicted_species"])
    assert answer["probabilities"][3]["bee"] == pytest.approx(expected.loc[3, "probability_bee"], abs=1e-6)


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([{"x1": 1.0, "x2": 0.0, "colour": "red"}], "rows[0].noise"),
        ([{"x1": 1.0, "x2": 0.0, "colour": "red", "noise": 0}, {"x1": "abc", "x2": 0, "colour": "red", "noise": 0}], "rows[1].x1"),
        ([{"x1": 1.0, "x2": 0.0, "colour": "red", "noise": 0, "x9": 3}], "rows[0].x9"),
        ([[1.0, 0.0, "red", 0.0]], "rows[0]"),
        ([], "rows"),
    ],
)
def test_bad_rows_get_a_400_naming_the_field(served, rows, field):
    status, answer = call(served[0], "/predict", rows_body(rows))
    assert status == 400
    assert answer["field"] == field and answer["error"]


def test_malformed_json_and_wrong_shape_are_400(served):
    assert call(served[0], "/predict", b"{not json")[0] == 400
    status, answer = call(served[0], "/predict", b'{"data": []}')
    assert (status, answer["field"]) == (400, "rows")


def test_a_body_over_the_limit_is_413(served):
    row = {"x1": 1.0, "x2": 0.0, "colour": "red", "noise": 0.0}
    status, answer = call(served[0], "/predict", rows_body([row] * 200))
    assert status == 413 and answer["field"] == "body"


def test_unknown_paths_and_methods_are_4xx(served):
    assert call(served[0], "/nowhere")[0] == 404
    assert call(served[0], "/predict")[0] == 405
    assert call(served[0], "/predict", b"rows", content_type="text/plain")[0] == 415
