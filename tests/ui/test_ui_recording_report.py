"""The Holter report PDF: owner-scoped download, the sections a reader expects, text that survives any name,
and the layout's pieces (strip choice, hourly table from beats) on small hand-made inputs."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from tests.signals.helpers import synthetic_ecg, wait_for_job


def pdf_text(body: bytes, tmp_path) -> str:
    """The PDF's text by poppler's pdftotext (skips without poppler-utils, except in CI)."""
    if not shutil.which("pdftotext"):
        if os.environ.get("CI"):
            pytest.fail("pdftotext not found: apt-get install poppler-utils", pytrace=False)
        pytest.skip("pdftotext not found; apt-get install poppler-utils to read the report in tests")
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def ecg_json():
    signal, _ = synthetic_ecg(seconds=40, fs=250.0, seed=4)
    return {"signal": np.round(signal, 4).tolist(), "sampling_rate": 250}


def test_ui_report_pdf_download(client, clinician_a, clinician_b, bearer, ecg_json, tmp_path, app):
    from ecg_backend.extensions import db
    from ecg_backend.models import Patient

    with app.app_context():
        patient = Patient(owner_id=clinician_a.id, name="Zoë Łukaszewicz Иванова", external_id="MRN-7")
        db.session.add(patient)
        db.session.commit()
        patient_id = patient.id
    headers = bearer(clinician_a)
    job = client.post(
        "/api/v1/recordings", json=dict(ecg_json, patient_id=patient_id, filename="rec-7.csv"), headers=headers
    ).get_json()
    done = wait_for_job(client, job["url"], headers)
    url = f"/api/v1/recordings/{done['analysis_id']}/report.pdf"
    response = client.get(url, headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response.data, tmp_path)
    for needle in (
        "Holter report",
        "Zoë Łukaszewicz Иванова",
        "MRN-7",
        "rec-7.csv",
        "0:00:40",
        "Summary",
        "Hour by hour",
        "Heart-rate trend",
        "Events",
        "Beat families",
        "The reader's changes",
        "page 1 of",
    ):
        assert needle in text, needle
    assert client.get(url, headers=bearer(clinician_b)).status_code == 404
    assert client.get(url).status_code == 401


def test_ui_report_of_a_beat_set_is_404(client, clinician_a, bearer, beats):
    headers = bearer(clinician_a)
    stored = client.post("/predict?store=true", json={"beats": beats(2)}, headers=headers).get_json()
    analysis_id = stored.get("analysis_id") or stored.get("id")
    response = client.get(f"/api/v1/recordings/{analysis_id}/report.pdf", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"]["message"]


def test_ui_report_main_events_one_of_each_kind_first():
    from ecg_backend.services.holter_report import main_events

    events = [{"type": "couplet", "start_s": float(i), "n_beats": 2} for i in range(10)] + [
        {"type": "run", "start_s": 50.0, "n_beats": 6},
        {"type": "pause", "start_s": 70.0, "n_beats": 2},
    ]
    chosen = main_events(events, limit=4)
    assert [e["type"] for e in chosen] == ["couplet", "couplet", "run", "pause"]  # by time, run and pause kept
    assert len(main_events([], limit=4)) == 0


def test_ui_report_hourly_rows_counted_from_beats_when_not_stored():
    from ecg_backend.services.holter_report import beat_columns, hourly_rows

    result = {
        "beats": {"time_s": [10.0, 11.0, 3700.0, 3702.5], "rr_s": [None, 1.0, 1.0, 2.5], "label": ["N", "V", "S", "N"]}
    }
    rows = hourly_rows(result, beat_columns(result))
    assert [r["beats"] for r in rows] == [2, 2] and [r["V"] for r in rows] == [1, 0] and rows[1]["S"] == 1
    assert rows[1]["pauses"] == 1 and rows[0]["mean_rate_bpm"] == 60 and rows[1]["min_rate_bpm"] == 24


def test_ui_report_text_keeps_what_its_font_prints_and_folds_the_rest(monkeypatch):
    from ecg_backend.services import holter_pdf_layout as layout

    assert layout.report_font().family == "DejaVuSans"  # matplotlib (with wfdb and neurokit2) ships it
    assert layout.printable("Zoë – Łódź → V") == "Zoë – Łódź → V"
    assert layout.printable("Ζωή Παπαδοπούλου, Иван Петров") == "Ζωή Παπαδοπούλου, Иван Петров"
    assert layout.printable("王 Zoë") == "? Zoë"  # no CJK glyphs in DejaVu Sans
    # without the font file: the PDF core font's Latin-1, accents folded where Latin-1 lacks them
    monkeypatch.setattr(layout, "report_font", lambda: layout.ReportFont("Helvetica", {}, None))
    assert layout.printable("Zoë – Łódź → V") == "Zoë - ?ódz -> V"
    assert layout.clock(3725) == "1:02:05" and layout.clock(None) == "-"


def test_ui_report_lists_events_strips_families_and_the_readers_changes(client, clinician_a, bearer, tmp_path):
    import io
    from pathlib import Path

    excerpt = Path(__file__).resolve().parents[1] / "fixtures" / "mitdb"
    headers = bearer(clinician_a)
    files = [(io.BytesIO((excerpt / f"119.{ext}").read_bytes()), f"119.{ext}") for ext in ("hea", "dat", "atr")]
    job = client.post(
        "/api/v1/recordings", data={"file": files}, headers=headers, content_type="multipart/form-data"
    ).get_json()
    analysis_id = wait_for_job(client, job["url"], headers)["analysis_id"]
    base = f"/api/v1/recordings/{analysis_id}"
    families = client.get(f"{base}/families", headers=headers).get_json()["items"]
    target = next(f for f in families if f["label"] != "V")
    assert client.patch(f"{base}/families/{target['family']}", json={"label": "V"}, headers=headers).status_code == 200
    events = client.get(f"{base}/events", headers=headers).get_json()["items"]
    text = pdf_text(client.get(f"{base}/report.pdf", headers=headers).data, tmp_path)
    assert f"family {target['family']}: {target['label']} -> V" in text and "Alice Clinician" in text
    assert "in effect" in text and f"Beat families ({len(families)})" in text
    assert f"Events ({len(events)})" in text
    if events:  # strips on ECG paper for the main events, with both leads named
        assert "Strips of the main events (25 mm/s, 10 mm/mV)" in text and "MLII" in text and "V1" in text
