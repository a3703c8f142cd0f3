"""Bad input on the CLI: one line naming the problem and the fix, exit code 2, nothing written."""

from __future__ import annotations

import pytest

from automl.cli import main


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


@pytest.mark.parametrize("flag, value", [("--num-trials", "0"), ("--image-shape", "1,8")])
def test_invalid_flag_values_exit_with_usage_code(flag, value, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["search", "digits", flag, value])
    assert exited.value.code == 2
