"""The load benchmark itself works: a few seconds, two clients, a killed worker and a graceful stop.

Timings are not checked here (benchmarks/load_test.py prints them); behaviour is: no 5xx, and every
2xx analysis is in the database, also across a SIGKILLed worker and a SIGTERM to the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.load
def test_rel_load_script_smoke(tmp_path):
    out = tmp_path / "load.json"
    completed = subprocess.run(
        [
            sys.executable,
            "benchmarks/load_test.py",
            "--duration",
            "3",
            "--clients",
            "2",
            "--phases",
            "healthz,predict1,stored1,kill,sigterm",
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode in (0, 1), completed.stdout[-2000:] + completed.stderr[-2000:]
    report = json.loads(out.read_text())
    phases = {row["phase"]: row for row in report["phases"]}
    assert set(phases) == {"healthz", "predict1", "stored1", "kill", "sigterm"}
    assert all(row["status_5xx"] == 0 for row in phases.values()), phases
    assert phases["healthz"]["ok_2xx"] > 0 and phases["stored1"]["ok_2xx"] > 0
    for name in ("stored1", "kill", "sigterm"):
        lost = report["lost"][name]
        assert lost["missing_from_db"] == 0 and lost["duplicate_ids"] == 0, (name, lost)
    # storing requests carry an Idempotency-Key and are re-sent with it after a reset, so a killed worker
    # leaves no stored row its client never heard of
    for name in ("stored1", "kill", "sigterm"):
        lost = report["lost"][name]
        assert lost["rows_stored"] == lost["unique_keys_2xx"] == lost["ok_2xx"], (name, lost)
        assert lost["rows_without_2xx"] == 0 and lost["keys_stored_twice"] == 0, (name, lost)
    assert any("replaced by" in event for event in phases["kill"]["events"]), phases["kill"]["events"]
    assert any("exited 0" in event for event in phases["sigterm"]["events"]), phases["sigterm"]["events"]
    assert "targets:" in completed.stdout
