"""Recording pages over HTTP: the list (analysed, queued and failed uploads), delete with confirmation, the
upload form, the review page's shell and its overview data; all owner-scoped."""

from __future__ import annotations

import numpy as np
import pytest

from tests.signals.helpers import synthetic_ecg, wait_for_job
from tests.ui.conftest import post_form


@pytest.fixture(scope="module")
def ecg_json():
    signal, _ = synthetic_ecg(seconds=40, fs=250.0, seed=3)
    return {"signal": np.round(signal, 4).tolist(), "sampling_rate": 250}


def _recording(client, ecg_json, patient_id=None) -> int:
    body = dict(ecg_json, filename="holter-a.csv", **({"patient_id": patient_id} if patient_id else {}))
    token = client.get("/recordings/new").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
    response = client.post("/api/v1/recordings", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 202, response.get_json()
    done = wait_for_job(client, response.get_json()["url"], {})
    assert done["state"] == "finished", done
    return done["analysis_id"]


def test_ui_recordings_list_shows_recordings_and_deletes_after_confirmation(clinician, other_clinician, ecg_json):
    from tests.ui.conftest import create_patient

    patient_id = create_patient(clinician, name="Holter Patient")
    analysis_id = _recording(clinician, ecg_json, patient_id)
    page = clinician.get("/recordings").get_data(as_text=True)
    assert "Holter Patient" in page and "holter-a.csv" in page and "0:00:40" in page
    assert f'href="/recordings/{analysis_id}"' in page and f"/recordings/{analysis_id}/delete" in page
    assert f"/recordings/{analysis_id}" not in other_clinician.get("/recordings").get_data(as_text=True)
    assert other_clinician.get(f"/recordings/{analysis_id}/delete").status_code == 404
    # the patient page links the upload form with the patient chosen
    patient_page = clinician.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert f"/recordings/new?patient_id={patient_id}" in patient_page
    form = clinician.get(f"/recordings/new?patient_id={patient_id}").get_data(as_text=True)
    assert f'value="{patient_id}" selected' in form
    # GET asks; a POST without the form's token deletes nothing; the confirmed POST deletes
    confirm = clinician.get(f"/recordings/{analysis_id}/delete")
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.data
    assert clinician.post(f"/recordings/{analysis_id}/delete").status_code in (200, 302, 400)
    assert clinician.get(f"/recordings/{analysis_id}").status_code == 200
    gone = post_form(clinician, f"/recordings/{analysis_id}/delete", page=f"/recordings/{analysis_id}/delete")
    assert gone.status_code == 303 and gone.headers["Location"].endswith("/recordings")
    assert clinician.get(f"/recordings/{analysis_id}").status_code == 404
    assert b"No recordings yet" in clinician.get("/recordings").data


def test_ui_recordings_list_shows_failed_uploads_with_their_reason(clinician, ui_app):
    from ecg_backend.extensions import db
    from ecg_backend.models import Job, User

    with ui_app.app_context():
        owner = db.session.scalars(db.select(User).where(User.email == "alice@clinic.example.org")).one()
        db.session.add(
            Job(
                owner_id=owner.id,
                kind="recording",
                state="failed",
                error="no beats were found",
                params={"filename": "broken.edf", "sampling_rate": 250, "n_samples": 2500},
            )
        )
        db.session.commit()
    page = clinician.get("/recordings").get_data(as_text=True)
    assert "broken.edf" in page and "failed" in page and "no beats were found" in page and "0:00:10" in page


def test_ui_recording_page_shell_and_overview(clinician, other_clinician, ecg_json):
    analysis_id = _recording(clinician, ecg_json)
    html = clinician.get(f"/recordings/{analysis_id}").get_data(as_text=True)
    for needle in (
        'id="strip"',
        'id="overview-chart"',
        'id="disclosure"',
        'id="events-table"',
        'id="families"',
        f'data-api="/api/v1/recordings/{analysis_id}"',
        "25 mm/s",
        "10 mm/mV",
    ):
        assert needle in html, needle
    for export in ("beats.csv", "events.csv", "annotations.zip", "report.pdf"):
        assert f'href="/api/v1/recordings/{analysis_id}/{export}"' in html
    assert "<script>" not in html and " onclick=" not in html  # strict CSP: no inline code
    overview = clinician.get(f"/recordings/{analysis_id}/overview.json").get_json()
    assert overview["duration_s"] == pytest.approx(40.0) and overview["bin_s"] == 10.0
    assert len(overview["heart_rate_bpm"]) == 4 and all(50 < hr < 100 for hr in overview["heart_rate_bpm"])
    assert (
        sum(sum(v) for v in overview["counts"].values())
        == clinician.get(f"/api/v1/analyses/{analysis_id}").get_json()["n_beats"]
    )
    assert other_clinician.get(f"/recordings/{analysis_id}").status_code == 404
    assert other_clinician.get(f"/recordings/{analysis_id}/overview.json").status_code == 404
    assert clinician.get("/recordings/99999999999").status_code == 404


def test_ui_recording_upload_form_speaks_words(clinician):
    html = clinician.get("/recordings/new").get_data(as_text=True)
    assert 'class="dropzone"' in html and 'data-error-for="sampling_rate"' in html
    assert "Sampling rate (Hz)" in html and "recording_upload.js" in html and "<script>" not in html


def test_ui_overview_bins_are_round_and_bounded():
    from ecg_backend.services.holter_report import bin_seconds

    assert bin_seconds(40, 720) == 10.0 and bin_seconds(1800, 720) == 10.0 and bin_seconds(86400, 720) == 120.0
    assert 86400 * 7 / bin_seconds(86400 * 7, 720) <= 720 and bin_seconds(86400, 288) == 300.0


def test_ui_recording_page_offers_the_reference_row_only_with_annotations(clinician, ecg_json):
    import io
    from pathlib import Path

    excerpt = Path(__file__).resolve().parents[1] / "fixtures" / "mitdb"
    token = clinician.get("/recordings/new").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
    files = [(io.BytesIO((excerpt / f"119.{ext}").read_bytes()), f"119.{ext}") for ext in ("hea", "dat", "atr")]
    response = clinician.post(
        "/api/v1/recordings", data={"file": files}, headers={"X-CSRFToken": token}, content_type="multipart/form-data"
    )
    assert response.status_code == 202, response.get_json()
    with_atr = wait_for_job(clinician, response.get_json()["url"], {})["analysis_id"]
    html = clinician.get(f"/recordings/{with_atr}").get_data(as_text=True)
    assert f'data-reference="/api/v1/recordings/{with_atr}/reference"' in html
    without = _recording(clinician, ecg_json)
    assert 'data-reference=""' in clinician.get(f"/recordings/{without}").get_data(as_text=True)


def test_ui_recording_start_from_the_header_gives_clock_times(clinician):
    import io
    from pathlib import Path

    excerpt = Path(__file__).resolve().parents[1] / "fixtures" / "mitdb"
    header = (excerpt / "119.hea").read_text().splitlines()
    header[0] = header[0].split()[0] + " " + " ".join(header[0].split()[1:4]) + " 13:10:05 01/12/2026"
    token = clinician.get("/recordings/new").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
    files = [
        (io.BytesIO("\n".join(header).encode() + b"\n"), "119.hea"),
        (io.BytesIO((excerpt / "119.dat").read_bytes()), "119.dat"),
    ]
    response = clinician.post(
        "/api/v1/recordings", data={"file": files}, headers={"X-CSRFToken": token}, content_type="multipart/form-data"
    )
    assert response.status_code == 202, response.get_json()
    analysis_id = wait_for_job(clinician, response.get_json()["url"], {})["analysis_id"]
    page = clinician.get(f"/recordings/{analysis_id}").get_data(as_text=True)
    assert 'data-start="2026-12-01T13:10:05"' in page and "started 2026-12-01 13:10:05" in page
    assert "2026-12-01 13:10" in clinician.get("/recordings").get_data(as_text=True)


def test_ui_edf_start_date_and_time_become_the_recordings_start(tmp_path):
    import datetime

    import edfio

    from ecg_backend.signals.wfdb_input import parse_edf

    t = np.arange(0, 20, 1 / 250.0)
    signal = edfio.EdfSignal(
        np.sin(2 * np.pi * 1.2 * t), sampling_frequency=250, label="ECG II", physical_dimension="mV"
    )
    edf = edfio.Edf([signal], starttime=datetime.time(8, 30, 15))
    edf.startdate = datetime.date(2026, 3, 4)
    path = tmp_path / "holter.edf"
    edf.write(path)
    assert parse_edf(path.read_bytes()).start == "2026-03-04T08:30:15"
    edf.anonymize()  # an anonymised start date: no wall-clock start
    edf.write(path)
    assert parse_edf(path.read_bytes()).start is None
