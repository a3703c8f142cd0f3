"""Bad input: one line naming the problem and the fix, exit code 2, and no run directory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.cli import main

SPACE = """epochs: 1
batch_size: 32
architectures: {include: [mlp]}
optimizers: {include: [adam]}
"""


def _table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "y": np.tile(["p", "q", "r"], n // 3)})


def _write_png(path, size=(8, 8), colour=0):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, color=colour).save(path)


def _run_search(tmp_path, capsys, data, *extra):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    run_dir = tmp_path / "run"
    code = main(["search", str(data), "--space", str(space), "--output", str(run_dir), "--num-trials", "1", *extra])
    err = capsys.readouterr().err.strip()
    return code, err, run_dir


def _bad_inputs():
    """Each case: (name, writer(tmp_path) -> data path, extra CLI args, words the error names)."""

    def unreadable(tmp):
        path = tmp / "data.parquet"
        path.write_bytes(b"this is not parquet at all")
        return path

    def empty(tmp):
        path = tmp / "data.csv"
        path.write_text("")
        return path

    def header_only(tmp):
        path = tmp / "data.csv"
        path.write_text("a,b,y\n")
        return path

    def constant_target(tmp):
        frame = _table()
        frame["y"] = "p"
        path = tmp / "data.csv"
        frame.to_csv(path, index=False)
        return path

    def class_of_one_row(tmp):
        frame = _table()
        frame.loc[0, "y"] = "lonely"
        path = tmp / "data.csv"
        frame.to_csv(path, index=False)
        return path

    def missing_target(tmp):
        path = tmp / "data.csv"
        _table().to_csv(path, index=False)
        return path

    def all_missing_features(tmp):
        frame = _table()
        frame["a"] = np.nan
        frame["b"] = np.nan
        path = tmp / "data.csv"
        frame.to_csv(path, index=False)
        return path

    def mixed_types(tmp):
        frame = _table()
        frame["a"] = frame["a"].round(3).astype(str)
        frame.loc[5, "a"] = "1,234.5"
        path = tmp / "data.csv"
        frame.to_csv(path, index=False)
        return path

    def duplicate_columns(tmp):
        path = tmp / "data.csv"
        path.write_text("a,a,y\n" + "".join(f"{i},{i * 2},{'pq'[i % 2]}\n" for i in range(30)))
        return path

    def wrong_delimiter(tmp):
        path = tmp / "data.csv"
        _table().to_csv(path, index=False, sep=";")
        return path

    def binary_file(tmp):
        path = tmp / "data.csv"
        path.write_bytes(bytes(range(256)) * 20)
        return path

    def mixed_image_sizes(tmp):
        folder = tmp / "images"
        for i in range(3):
            _write_png(folder / "cat" / f"{i}.png")
            _write_png(folder / "dog" / f"{i}.png", size=(8, 8) if i else (10, 6))
        return folder

    def no_images(tmp):
        folder = tmp / "images"
        (folder / "cat").mkdir(parents=True)
        (folder / "cat" / "notes.txt").write_text("no images here")
        return folder

    return [
        ("unreadable file", unreadable, ["--target", "y"], "cannot read"),
        ("empty file", empty, ["--target", "y"], "empty"),
        ("header only", header_only, ["--target", "y"], "no data rows"),
        ("constant target", constant_target, ["--target", "y"], "1 distinct value"),
        ("class of one row", class_of_one_row, ["--target", "y"], "'lonely'"),
        ("target column does not exist", missing_target, ["--target", "price"], "'price'"),
        ("all-missing features", all_missing_features, ["--target", "y"], "entirely missing"),
        ("mixed-type column", mixed_types, ["--target", "y"], "column 'a'"),
        ("duplicate column names", duplicate_columns, ["--target", "y"], "more than once"),
        ("wrong delimiter", wrong_delimiter, ["--target", "y", "--delimiter", ","], "--delimiter ';'"),
        ("binary file as CSV", binary_file, ["--target", "y"], "binary"),
        ("images of mixed sizes", mixed_image_sizes, [], "mixed sizes"),
        ("folder with no images", no_images, [], "no PNG or JPEG"),
    ]


@pytest.mark.parametrize("name, write, extra, named", _bad_inputs(), ids=[case[0] for case in _bad_inputs()])
def test_bad_input_exits_2_with_one_line_and_writes_no_run_directory(tmp_path, capsys, name, write, extra, named):
    code, err, run_dir = _run_search(tmp_path, capsys, write(tmp_path), *extra)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("automl: error: ") and "Fix: " in err
    assert named in err
    assert not run_dir.exists()


def test_semicolon_csv_without_delimiter_flag_is_detected(tmp_path):
    from automl.data.load import read_table

    path = tmp_path / "data.csv"
    _table().to_csv(path, index=False, sep=";")
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b", "y"]


def test_cp1252_encoded_csv_is_read_with_its_accents(tmp_path):
    from automl.data.load import read_table

    path = tmp_path / "data.csv"
    path.write_bytes("city,y\nZürich,1\nMâcon,0\n".encode("cp1252"))
    assert read_table(path)["city"].tolist() == ["Zürich", "Mâcon"]
