"""The bundled demo CSV is what data/README.md says it is: 12 ECG5000 TRAIN beats, 8 normal and 4 abnormal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample_beats.csv"
# CSV row (1-based, header excluded) -> (TRAIN row, class), as listed in data/README.md.
DECLARED = {
    1: (0, 1),
    2: (1, 1),
    3: (292, 2),
    4: (2, 1),
    5: (3, 1),
    6: (469, 3),
    7: (4, 1),
    8: (5, 1),
    9: (479, 4),
    10: (6, 1),
    11: (7, 1),
    12: (498, 5),
}


def test_ui_sample_csv_parses_like_an_upload():
    from ecg_backend.services.beat_input import beats_from_csv

    beats = beats_from_csv(SAMPLE.read_bytes(), 5000)
    assert beats.shape == (12, 140) and np.isfinite(beats).all()
    assert SAMPLE.read_text().splitlines()[0].startswith("sample_1,sample_2,")


@pytest.mark.data
def test_ui_sample_csv_rows_are_the_declared_train_beats(ecg5000_dir):
    from ecg_backend.ml.data import load_ecg5000
    from ecg_backend.services.beat_input import beats_from_csv

    train = load_ecg5000("TRAIN", ecg5000_dir)
    beats = beats_from_csv(SAMPLE.read_bytes(), 5000)
    for csv_row, (train_row, label) in DECLARED.items():
        # the loader keeps float32; the CSV holds the file's exact decimal text
        np.testing.assert_allclose(beats[csv_row - 1], train.beats[train_row], rtol=1e-6, atol=1e-7)
        assert int(train.labels[train_row]) == label
    assert sum(label == 1 for _, label in DECLARED.values()) == 8
