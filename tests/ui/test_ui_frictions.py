"""Everyday frictions through the test client: messages in words, the date picker's bounds, the delete
confirmation, the Analyse page's wording and recording files, the patient history kept apart by kind, and
the large beat-set result page (all flagged beats reachable, previous/next flagged, the beat table)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from tests.ui.conftest import (
    SAMPLE,
    analysis_id_of,
    create_patient,
    post_form,
    upload_csv,
)


def beats_csv(n: int, flag_every: int = 9) -> bytes:
    """``n`` sine beats; every ``flag_every``-th one (from the 5th) six times larger, which the detector flags."""
    t = np.linspace(0, 2 * np.pi, 140)
    rows = [np.sin(t) * (6.0 if i % flag_every == 4 else 1.0) for i in range(n)]
    return ("\n".join(",".join(f"{v:.4f}" for v in row) for row in rows) + "\n").encode()


def test_ui_patient_form_messages_use_words_and_the_api_keeps_the_field(clinician, auth, client, clinician_a):
    future = (date.today() + timedelta(days=3)).isoformat()
    page = post_form(clinician, "/patients/new", {"name": "Zed", "date_of_birth": future}, page="/patients/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "The date of birth must be in the past, and not before 1880." in html
    assert "date_of_birth must" not in html
    empty = post_form(clinician, "/patients/new", {"name": "", "sex": "robot"}, page="/patients/new")
    assert "Enter the patient&#39;s name." in empty.get_data(as_text=True)
    auth.login(clinician_a)
    api = client.post("/api/v1/patients", json={"name": "Zed", "date_of_birth": future}, headers=auth.csrf_headers())
    error = api.get_json()["error"]
    assert api.status_code == 422 and "date_of_birth" in error["details"]["fields"]
    assert error["message"].startswith("date_of_birth: ")


def test_ui_date_picker_has_a_max_date(clinician):
    html = clinician.get("/patients/new").get_data(as_text=True)
    picker = re.search(r'<input[^>]*id="date_of_birth"[^>]*>', html).group(0)
    assert f'max="{date.today().isoformat()}"' in picker and 'min="1880-01-01"' in picker


def test_ui_deleting_an_analysis_says_so(clinician):
    patient_id = create_patient(clinician)
    analysis_id = analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes(), patient_id=patient_id))
    response = post_form(
        clinician, f"/analyses/{analysis_id}/delete", page=f"/analyses/{analysis_id}", follow_redirects=True
    )
    assert f"Analysis {analysis_id} (beats.csv) was deleted." in response.get_data(as_text=True)


def test_ui_analyse_page_names_every_separator(clinician):
    html = clinician.get("/analyse").get_data(as_text=True)
    assert "commas, semicolons or tabs" in html
    tab_separated = SAMPLE.read_text().replace(",", "\t").encode()
    assert upload_csv(clinician, tab_separated).status_code == 201


@pytest.mark.parametrize("filename", ["100.hea", "100.dat", "night.edf", "record.zip"])
def test_ui_recording_files_on_the_analyse_page_point_to_recordings(clinician, filename):
    response = upload_csv(clinician, b"100 2 360 650000\n", filename=filename)
    error = response.get_json()["error"]
    assert response.status_code == 415 and "Recordings page" in error["message"]
    assert "no beats" not in error["message"].lower()
    assert error["details"]["recordings_url"] == "/recordings/new" and error["details"]["field"] == "file"
    page = upload_csv(clinician, b"x", filename=filename, xhr=False)  # without JavaScript: a link on the page
    assert page.status_code == 415 and 'href="/recordings/new"' in page.get_data(as_text=True)


def _recording_for(ui_app, email: str, patient_id: int, n_beats: int, n_anomalous: int, created: datetime) -> int:
    from ecg_backend.extensions import db
    from ecg_backend.models import Analysis
    from ecg_backend.services.users import find_by_email

    with ui_app.app_context():
        row = Analysis(
            owner_id=find_by_email(email).id,
            patient_id=patient_id,
            kind="recording",
            source="recording",
            filename="holter.csv",
            n_beats=n_beats,
            n_anomalous=n_anomalous,
            created_at=created,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_ui_patient_history_keeps_beat_sets_and_recordings_apart(ui_app, clinician):
    patient_id = create_patient(clinician)
    beat_set = analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes(), patient_id=patient_id))
    recording = _recording_for(ui_app, "alice@clinic.example.org", patient_id, 2000, 20, datetime(2020, 1, 1))
    html = clinician.get(f"/patients/{patient_id}").get_data(as_text=True)
    figure = json.loads(re.search(r'id="history-figure">(.*?)</script>', html, re.DOTALL).group(1))
    traces = {t["name"]: t for t in figure["data"]}
    assert set(traces) == {"Beat sets", "Recordings"}
    assert traces["Beat sets"]["customdata"] == [beat_set] and traces["Recordings"]["customdata"] == [recording]
    assert traces["Recordings"]["y"] == [1.0]
    table = html.split('id="analyses-title"')[1].split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
    kinds = [re.search(r'class="kind[^"]*">([^<]+)<', r).group(1) for r in rows]
    assert kinds == ["Beat set", "Recording"]  # newest first; the recording is from 2020


def test_ui_large_beat_set_reaches_every_flagged_beat(clinician):
    analysis_id = analysis_id_of(upload_csv(clinician, beats_csv(500)))
    body = clinician.get(f"/analyses/{analysis_id}/results.json").get_json()
    flagged = [b["beat"] for b in body["beats"] if b["is_anomaly"]]
    assert len(flagged) > 40  # more than the verdict shows at once
    html = clinician.get(f"/analyses/{analysis_id}").get_data(as_text=True)
    verdict = html.split('id="verdict"')[1].split("</section>")[0]
    assert sorted(int(n) for n in re.findall(r'data-open-beat="(\d+)"', verdict)) == flagged
    assert "…" not in verdict and 'id="more-flagged"' in verdict
    assert "<select" not in html and "<option" not in html  # no 500-entry drop-down
    # The beat table: one row per beat with score, confidence and verdict; sortable headings.
    table = html.split('id="beat-table"')[1].split("</table>")[0]
    assert len(re.findall(r"<tr data-number=", table)) == 500
    assert all(f'data-sort="{key}"' in table for key in ("number", "score", "confidence", "verdict"))
    assert len(re.findall(r'class="flagged"', table)) == len(flagged)
    # Previous/next flagged beat around a beat that is not flagged.
    middle = flagged[3] + 1
    page = clinician.get(f"/analyses/{analysis_id}?beat={middle}").get_data(as_text=True)
    nav = dict(re.findall(r'data-nav="([a-z-]+)" data-target="(\d+)"', page))
    assert nav == {
        "previous-flagged": str(flagged[3]),
        "previous": str(middle - 1),
        "next": str(middle + 1),
        "next-flagged": str(flagged[4]),
    }
    first = clinician.get(f"/analyses/{analysis_id}?beat={flagged[0]}").get_data(as_text=True)
    assert re.search(r'data-nav="previous-flagged" aria-disabled="true"', first)
