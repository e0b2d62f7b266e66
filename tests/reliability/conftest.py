"""Fixtures for the reliability tests: an outcome collector whose counts feed docs/RELIABILITY.md."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class OutcomeCollector:
    """Counts inputs tried per suite and their outcomes (HTTP status or exception class)."""

    def __init__(self):
        self.counts: dict[str, Counter] = defaultdict(Counter)

    def record(self, suite: str, outcome) -> None:
        self.counts[suite][str(outcome)] += 1

    def as_dict(self) -> dict:
        return {
            suite: {"tried": sum(c.values()), "outcomes": dict(sorted(c.items()))}
            for suite, c in sorted(self.counts.items())
        }


@pytest.fixture(scope="session")
def outcomes():
    """Session-wide collector; merged into test-artifacts/hostile_inputs.json at the end."""
    collector = OutcomeCollector()
    yield collector
    if not collector.counts:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "hostile_inputs.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous.update(collector.as_dict())  # a partial run refreshes only the suites it ran
    path.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Score with one torch thread, as gunicorn workers do: on a busy 2-core machine it is ~10x faster."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "load: starts gunicorn and drives it for a few seconds (benchmarks/load_test.py)"
    )
