"""Evaluation against MIT-BIH reference annotations on a few records (needs the mitdb data)."""
import math

import pytest

from ecg_backend.signals.evaluate import evaluate_dir, format_table

pytestmark = pytest.mark.data


def test_sig_mitdb_records_meet_detection_and_auc(mitdb_dir, untrained):
    rows = evaluate_dir(mitdb_dir, untrained, ["119", "124"], echo=lambda *_: None)
    table = format_table(rows)
    assert "pooled R-peak" in table and "119" in table
    for row in rows:
        se = row["tp"] / (row["tp"] + row["fn"])
        ppv = row["tp"] / (row["tp"] + row["fp"])
        assert se > 0.99 and ppv > 0.99, row
        assert row["n_v"] >= 10 and row["auc"] > 0.97, row
    v119 = rows[0]
    assert v119["veb_tp"] / v119["veb"] > 0.9
    assert not math.isnan(v119["auc"])


def test_sig_evaluate_mitdb_command(mitdb_dir, runner):
    result = runner.invoke(args=["ecg", "evaluate-mitdb", "--dir", str(mitdb_dir), "--records", "124", "--untrained"])
    assert result.exit_code == 0, result.output
    assert "pooled VEB at the shipped operating point" in result.output


def test_sig_evaluate_mitdb_missing_dir(tmp_path, runner):
    result = runner.invoke(args=["ecg", "evaluate-mitdb", "--dir", str(tmp_path), "--untrained"])
    assert result.exit_code != 0 and "no WFDB records" in result.output
