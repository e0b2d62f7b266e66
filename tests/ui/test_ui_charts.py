"""Chart builders, result wording and model-card layout on small hand-made inputs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from numpy.testing import assert_allclose

from ecg_backend.dashboard import charts, model_card, report


def test_ui_beat_figure_overlays_signal_reconstruction_and_error():
    signal, recon, error = [0.0, 1.0, 2.0, 1.0], [0.0, 0.5, 2.0, 1.5], [0.0, 0.25, 0.0, 0.25]
    fig = charts.beat_figure(signal, recon, error, score=0.125, threshold=0.1, index=2, is_anomaly=True)
    assert [t.name for t in fig.data] == ["band base", "Signal", "Reconstruction", "Error per sample"]
    base, sig, rec, bars = fig.data
    assert_allclose(base.y, recon)
    assert_allclose(rec.y, recon)
    assert_allclose(sig.y, signal)
    assert sig.fill == "tonexty"  # the gap down to the reconstruction is shaded
    assert bars.type == "bar" and bars.xaxis == "x2"
    assert_allclose(bars.y, error)
    assert_allclose(bars.marker.color, error)  # colour follows the error magnitude
    assert bars.marker.cmax == pytest.approx(0.25)
    assert_allclose(sig.x, [0, 1, 2, 3])
    title = fig.layout.title.text
    assert "Beat 3" in title and "0.125" in title and "threshold 0.1" in title and "anomalous" in title
    assert "a.u." in fig.layout.yaxis.title.text


def test_ui_beat_figure_rejects_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="differ in length"):
        charts.beat_figure([1, 2, 3], [1, 2], [0, 0, 0])
    with pytest.raises(ValueError, match="signal is empty"):
        charts.beat_figure([], [], [])


def test_ui_beat_figure_all_zero_error_keeps_a_valid_colour_range():
    fig = charts.beat_figure([1, 1], [1, 1], [0, 0])
    assert fig.data[3].marker.cmax == 1.0


def test_ui_overview_marks_anomalies_and_draws_the_threshold():
    fig = charts.scores_overview_figure([0.1, 0.5, 0.2], threshold=0.3)
    points, line = fig.data
    assert_allclose(points.x, [1, 2, 3])
    assert_allclose(points.customdata, [0, 1, 2])  # zero-based beat index for the click handler
    assert list(points.marker.color) == [charts.NORMAL_COLOUR, charts.ANOMALY_COLOUR, charts.NORMAL_COLOUR]
    assert list(points.marker.symbol) == ["circle", "diamond", "circle"]
    assert_allclose(line.y, [0.3, 0.3])
    assert_allclose(line.x, [0.5, 3.5])
    assert "0.3" in line.name


def test_ui_overview_uses_given_flags_and_checks_their_length():
    fig = charts.scores_overview_figure([0.1, 0.5], threshold=0.3, is_anomaly=[True, False])
    assert list(fig.data[0].marker.color) == [charts.ANOMALY_COLOUR, charts.NORMAL_COLOUR]
    with pytest.raises(ValueError, match="is_anomaly has 1"):
        charts.scores_overview_figure([0.1, 0.5], threshold=0.3, is_anomaly=[True])


def test_ui_score_gauge_colours_by_side_of_threshold():
    high = charts.score_gauge_figure(0.4, 0.2)
    low = charts.score_gauge_figure(0.1, 0.2)
    assert high.data[0].marker.color == charts.ANOMALY_COLOUR
    assert low.data[0].marker.color == charts.NORMAL_COLOUR
    assert high.layout.shapes[0].x0 == pytest.approx(0.2)
    assert high.layout.xaxis.range[1] == pytest.approx(0.5)  # 1.25 x the larger of score and threshold


def test_ui_patient_history_is_share_of_anomalous_beats_in_time_order():
    fig = charts.patient_history_figure(
        [
            {"id": 7, "created_at": "2024-03-01T10:00:00", "n_beats": 4, "n_anomalous": 1},
            {"id": 3, "created_at": "2024-01-01T10:00:00", "n_beats": 10, "n_anomalous": 0},
            {"id": 9, "created_at": "2024-05-01T10:00:00", "n_beats": 0, "n_anomalous": 0},  # nothing to plot
        ]
    )
    trace = fig.data[0]
    assert list(trace.customdata) == [3, 7]
    assert_allclose(trace.y, [0.0, 25.0])
    assert list(trace.text) == ["0 of 10 beats", "1 of 4 beats"]


def test_ui_roc_curve_is_found_wherever_the_card_keeps_it():
    card = {"metrics": {"test": {"roc": {"fpr": [0, 0.2, 1], "tpr": [0, 0.9, 1], "auc": 0.93}}}}
    fig = charts.roc_figure(card)
    assert_allclose(fig.data[0].x, [0, 0.2, 1])
    assert_allclose(fig.data[0].y, [0, 0.9, 1])
    assert fig.data[0].name == "ROC (AUC 0.930)" and fig.data[1].name == "chance"
    assert charts.roc_figure({"metrics": {}}) is None
    assert charts.roc_figure({"roc": {"fpr": ["a", "b"], "tpr": [0, 1]}}) is None
    assert charts.roc_figure({"roc": {"fpr": [0, 1], "tpr": [0]}}) is None


def test_ui_figure_json_round_trips_and_cannot_close_the_script_block():
    fig = charts.scores_overview_figure([0.1], threshold=0.2)
    fig.update_layout(title_text="</script><script>alert(1)</script>")
    text = charts.figure_json(fig)
    assert "</" not in text and "<script" not in text
    assert json.loads(text)["layout"]["title"]["text"].startswith("</script>")
    assert charts.figure_json(None) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("Dana", "Dana"),
        ("", ""),
        (-0.5, -0.5),
        (3, 3),
        (None, None),
    ],
)
def test_ui_csv_cells_are_neutralised(value, expected):
    assert report.safe_cell(value) == expected


def _analysis(flags, confidences, threshold=1.0, patient=None):
    beats = [
        {
            "index": i,
            "score": 2.0 if f else 0.5,
            "threshold": threshold,
            "is_anomaly": f,
            "confidence": c,
            "reconstruction": [0.0] * 3,
            "sample_error": [0.0] * 3,
        }
        for i, (f, c) in enumerate(zip(flags, confidences))
    ]
    return SimpleNamespace(
        id=5,
        patient=patient,
        filename="=evil.csv",
        threshold=threshold,
        n_beats=len(flags),
        n_anomalous=sum(flags),
        input={"beats": [[1.0, 2.0, 3.0]] * len(flags)},
        result={"beats": beats, "summary": {"n_beats": len(flags)}},
        kind="beats",
        source="upload",
        created_at=None,
        model_version="v1",
    )


def test_ui_verdict_for_all_normal_beats():
    verdict = report.verdict(_analysis([False, False], [0.1, 0.3]))
    assert verdict["level"] == "ok" and verdict["headline"] == "Normal: no anomalous beats among 2"
    assert "80%" in verdict["detail"] and "lowest 70%" in verdict["detail"]


def test_ui_verdict_names_the_anomalous_beats_and_their_confidence():
    verdict = report.verdict(_analysis([False, True, True], [0.1, 0.9, 0.7]))
    assert verdict["level"] == "bad" and verdict["headline"] == "2 anomalous beats of 3"
    assert verdict["flagged"] == [2, 3]
    assert "Beats 2, 3 differ" in verdict["detail"] and "80%" in verdict["detail"] and "90%" in verdict["detail"]
    single = report.verdict(_analysis([True], [0.6]))
    assert single["headline"] == "1 anomalous beat of 1" and "Beat 1 differs" in single["detail"]


def test_ui_beat_view_is_one_based_and_404s_outside():
    from werkzeug.exceptions import NotFound

    analysis = _analysis([False, True], [0.2, 0.75])
    beat = report.beat_view(analysis, 2)
    assert beat["is_anomaly"] and beat["signal"] == [1.0, 2.0, 3.0] and beat["threshold"] == 1.0
    assert beat["confidence_text"] == "75% probability the beat is abnormal"
    assert report.beat_view(analysis, 1)["confidence_text"] == "80% probability the beat is normal"
    for number in (0, 3):
        with pytest.raises(NotFound):
            report.beat_view(analysis, number)


def test_ui_results_csv_has_one_row_per_beat_and_safe_text():
    text = report.results_csv(_analysis([False, True], [0.2, 0.75]))
    lines = text.strip().split("\n")
    assert lines[0] == ",".join(report.CSV_COLUMNS)
    assert lines[1] == "5,,'=evil.csv,1,0.5,1.0,False,0.2"
    assert lines[2] == "5,,'=evil.csv,2,2.0,1.0,True,0.75"


def test_ui_model_card_sections_tolerate_missing_and_unknown_keys():
    assert model_card.card_sections(None) == {"overview": {}, "sections": [], "other": {}}
    card = {
        "name": "m",
        "format": 1,
        "files": {},
        "threshold": 0.5,
        "architecture": {"latent_dim": 8},
        "metrics": {"test": {"f1": 0.9}, "ablation": [{"variant": "cnn"}]},
        "mystery": 3,
    }
    parts = model_card.card_sections(card)
    titles = [title for title, _ in parts["sections"]]
    assert titles == ["Architecture", "TEST metrics", "Ablation", "Threshold and calibration"]
    assert dict(parts["sections"])["Ablation"] == {"ablation": [{"variant": "cnn"}]}
    assert "ablation" not in dict(parts["sections"])["TEST metrics"]["metrics"]
    assert parts["other"] == {"mystery": 3} and parts["overview"] == {"name": "m"}
    assert "ablation" in card["metrics"]  # the detector's card is not modified


@pytest.mark.parametrize(
    "value, text",
    [
        (0.123456, "0.1235"),
        (True, "yes"),
        (None, "—"),
        ([1, 2], "[1, 2]"),
        (list(range(10)), "[0, 1, 2, 3, 4, 5, 6, 7, …] (10 values)"),
    ],
)
def test_ui_model_card_formats_values(value, text):
    assert model_card.fmt(value) == text


def test_ui_model_card_labels():
    assert model_card.label("roc_auc") == "ROC AUC" and model_card.label("n_members") == "N members"
    assert model_card.is_table([{"a": 1}]) and not model_card.is_table([]) and not model_card.is_table([1])
    assert model_card.table_columns([{"a": 1}, {"b": 2, "a": 3}]) == ["a", "b"]


def test_ui_reliability_figure_plots_bins_and_the_diagonal():
    rows = [
        {"lower": 0.0, "upper": 0.5, "count": 10, "mean_confidence": 0.2, "observed_rate": 0.1},
        {"lower": 0.5, "upper": 1.0, "count": 0, "mean_confidence": 0.7, "observed_rate": 0.0},  # empty bin
        {"lower": 0.5, "upper": 1.0, "count": 5, "mean_confidence": 0.9, "observed_rate": 0.8},
    ]
    fig = charts.reliability_figure(rows)
    assert_allclose(fig.data[0].x, [0.2, 0.9])
    assert_allclose(fig.data[0].y, [0.1, 0.8])
    assert_allclose(fig.data[1].y, [0, 1])
    assert charts.reliability_figure(None) is None
    assert charts.reliability_figure([{"mean_confidence": "x"}]) is None


def test_ui_per_class_metrics_become_a_keyed_table():
    per_class = {"normal": {"f1": 0.9, "support": 10}, "abnormal": {"f1": 0.8, "support": 5}}
    assert model_card.is_keyed_table(per_class)
    assert model_card.keyed_rows(per_class)[1] == {"": "abnormal", "f1": 0.8, "support": 5}
    assert not model_card.is_keyed_table({"a": {"b": {"c": 1}}, "d": {"e": 2}})
    assert not model_card.is_keyed_table({"only": {"f1": 1}})
    parts = model_card.card_sections({"roc_curve": {"fpr": [0, 1], "tpr": [0, 1]}, "reliability": [{"count": 1}]})
    assert parts["other"] == {}  # the ROC curve is drawn, not listed
    assert dict(parts["sections"])["Threshold and calibration"] == {"reliability": [{"count": 1}]}
