"""Evaluation against MIT-BIH reference annotations: the command on the committed five-minute excerpt
(tests/fixtures/mitdb), the detection figures on full records (need the mitdb data)."""

import math

import pytest

from ecg_backend.signals.evaluate import evaluate_dir, format_table


@pytest.mark.data
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


def test_sig_evaluate_mitdb_command(mitdb_excerpt_dir, runner):
    result = runner.invoke(
        args=["ecg", "evaluate-mitdb", "--dir", str(mitdb_excerpt_dir), "--records", "119", "--untrained"]
    )
    assert result.exit_code == 0, result.output
    assert "pooled VEB at the shipped operating point" in result.output


def test_sig_evaluate_mitdb_missing_dir(tmp_path, runner):
    result = runner.invoke(args=["ecg", "evaluate-mitdb", "--dir", str(tmp_path), "--untrained"])
    assert result.exit_code != 0 and "no WFDB records" in result.output


@pytest.mark.data
def test_sig_mitdb_207_flutter_reported_as_episodes(mitdb_dir, untrained):
    """Record 207's annotated ventricular flutter comes back as flutter episodes, not as beats."""
    from ecg_backend.signals.mitdb import read_record
    from ecg_backend.signals.recording import analyze_recording

    rec = read_record(mitdb_dir, "207")
    result = analyze_recording(rec.signal, rec.fs, detector=untrained)
    annotated = sum(b - a for a, b in rec.vf_episodes) / rec.fs
    found = [(e["start_s"] * rec.fs, e["end_s"] * rec.fs) for e in result.episodes]
    overlap = sum(max(0.0, min(b, d) - max(a, c)) for a, b in rec.vf_episodes for c, d in found) / rec.fs
    assert annotated > 60 and overlap > 0.8 * annotated, (annotated, overlap, result.episodes)
    assert result.summary["flutter_s"] < 1.2 * annotated
    r = result.beats["r_peak"].to_numpy()
    in_vf = sum(((r >= a) & (r < b)).sum() for a, b in rec.vf_episodes)
    assert in_vf < 20


def test_sig_evaluate_mitdb_command_halves(mitdb_excerpt_dir, runner):
    result = runner.invoke(
        args=[
            "ecg",
            "evaluate-mitdb",
            "--dir",
            str(mitdb_excerpt_dir),
            "--records",
            "119,114",
            "--untrained",
            "--halves",
            "--thresholds",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "even positions (119)" in result.output and "odd positions (114)" in result.output
    assert "best threshold per record, PPV >= 90%: Se" in result.output
    assert "per-record thresholds (flags score >=) of the first of these: 119 " in result.output
