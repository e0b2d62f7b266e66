"""Dashboard pages through the Flask test client: login redirects, ownership, admin-only pages,
patients CRUD, uploads and their errors, result downloads, escaping and the bundled plotly.js."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.ui.conftest import SAMPLE, analysis_id_of, create_patient, csrf_from, post_form, upload_csv

PAGES = ["/", "/patients", "/patients/new", "/analyse", "/model", "/admin"]


def test_ui_pages_render_for_a_clinician(clinician):
    for path in PAGES[:-1]:
        response = clinician.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "Alice Martin" in html and ">clinician<" in html  # name and role in the header
        assert 'name="csrf_token"' in html  # the logout form at least


def test_ui_pages_have_no_inline_scripts(clinician):
    """A CSP of script-src 'self' must hold: every script is a file or a JSON data block."""
    analysis_id = analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes()))
    for path in PAGES[:-1] + [f"/analyses/{analysis_id}"]:
        html = clinician.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert 'src="' in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=\"", html), path  # no inline event handlers
        assert "cdn." not in html.lower(), path


def test_ui_home_empty_state_then_sample(clinician):
    html = clinician.get("/").get_data(as_text=True)
    assert "No analyses yet" in html and 'id="try-sample"' in html
    response = post_form(clinician, "/analyses/sample")
    assert response.status_code == 303
    result = clinician.get(response.headers["Location"]).get_data(as_text=True)
    assert "sample_beats.csv" in result and "of 12" in result
    home = clinician.get("/").get_data(as_text=True)
    assert "No analyses yet" not in home and "sample_beats.csv" in home


def test_ui_patient_create_search_edit_delete(clinician):
    patient_id = create_patient(
        clinician, "Dana Whitfield", external_id="MRN-7", date_of_birth="1961-04-02", sex="female"
    )
    create_patient(clinician, "Eli Brandt")
    assert "Dana Whitfield" in clinician.get(f"/patients/{patient_id}").get_data(as_text=True)
    found = clinician.get("/patients?q=mrn-7").get_data(as_text=True)
    assert "Dana Whitfield" in found and "Eli Brandt" not in found

    edited = post_form(
        clinician,
        f"/patients/{patient_id}/edit",
        {"name": "Dana W. Whitfield", "sex": "other"},
        page=f"/patients/{patient_id}/edit",
    )
    assert edited.status_code == 303
    assert "Dana W. Whitfield" in clinician.get(f"/patients/{patient_id}").get_data(as_text=True)

    confirm = clinician.get(f"/patients/{patient_id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert clinician.get(f"/patients/{patient_id}").status_code == 200  # asking did not delete
    deleted = post_form(clinician, f"/patients/{patient_id}/delete", page=f"/patients/{patient_id}/delete")
    assert deleted.status_code == 303
    assert clinician.get(f"/patients/{patient_id}").status_code == 404


def test_ui_patient_form_errors_are_shown(clinician):
    response = post_form(clinician, "/patients/new", {"name": "", "date_of_birth": ""}, page="/patients/new")
    assert response.status_code == 422
    assert "Enter the patient&#39;s name." in response.get_data(as_text=True)
    future = post_form(clinician, "/patients/new", {"name": "Zed", "date_of_birth": "2999-01-01"}, page="/patients/new")
    assert future.status_code == 422 and "in the past" in future.get_data(as_text=True)


def test_ui_upload_result_page_and_downloads(clinician):
    patient_id = create_patient(clinician, '=HYPERLINK("http://x")')
    analysis_id = analysis_id_of(
        upload_csv(clinician, SAMPLE.read_bytes(), patient_id=patient_id, filename="@beats.csv")
    )
    html = clinician.get(f"/analyses/{analysis_id}").get_data(as_text=True)
    assert 'id="verdict"' in html and "of 12" in html
    for block in ("overview-figure", "beat-figure", "gauge-figure"):
        figure = json.loads(
            re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', html, re.S).group(1)
        )
        assert figure["data"], block
    assert clinician.get(f"/analyses/{analysis_id}?beat=99").status_code == 200  # clamped to the last beat
    beat = clinician.get(f"/analyses/{analysis_id}/beats/5")
    assert beat.status_code == 200
    body = beat.get_json()
    assert body["beat"]["number"] == 5 and len(body["figure"]["data"]) == 4 and body["gauge"]["data"]
    assert clinician.get(f"/analyses/{analysis_id}/beats/13").status_code == 404
    assert clinician.get(f"/analyses/{analysis_id}/beats/0").status_code == 404

    download = clinician.get(f"/analyses/{analysis_id}/results.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert len(rows) == 12 and [r["beat"] for r in rows] == [str(n) for n in range(1, 13)]
    assert rows[0]["patient"].startswith("'=") and rows[0]["filename"] == "'@beats.csv"
    float(rows[0]["score"])  # numbers stay numbers

    full = clinician.get(f"/analyses/{analysis_id}/results.json")
    assert full.status_code == 200 and "attachment" in full.headers["Content-Disposition"]
    data = json.loads(full.get_data(as_text=True))
    assert data["id"] == analysis_id and len(data["beats"]) == 12
    assert len(data["beats"][0]["signal"]) == 140 and len(data["beats"][0]["reconstruction"]) == 140


def test_ui_bad_upload_message_matches_the_api(clinician):
    bad = ("\n".join([",".join(["0.1"] * 140), ",".join(["0.1"] * 138)]) + "\n").encode()
    page = upload_csv(clinician, bad)
    assert page.status_code == 422
    api = clinician.post(
        "/predict",
        data={"file": (io.BytesIO(bad), "bad.csv")},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": csrf_from(clinician.get("/analyse").get_data(as_text=True))},
    )
    assert api.status_code == page.status_code
    assert page.get_json()["error"]["message"] == api.get_json()["error"]["message"]
    # Without JavaScript the form posts normally: the same message is rendered beside the form.
    plain = upload_csv(clinician, bad, xhr=False)
    assert plain.status_code == 422
    html = plain.get_data(as_text=True)
    assert api.get_json()["error"]["message"] in html and 'id="analyse-form"' in html


def test_ui_upload_without_a_file_explains(clinician):
    token = csrf_from(clinician.get("/analyse").get_data(as_text=True))
    response = clinician.post("/analyse", data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert response.status_code == 400 and "no file" in response.get_json()["error"]["message"]


def test_ui_stored_text_is_escaped(clinician):
    patient_id = create_patient(clinician, "<script>alert(1)</script>", notes="<img src=x onerror=alert(2)>")
    for path in ("/patients", f"/patients/{patient_id}", f"/patients/{patient_id}/edit"):
        html = clinician.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html, path
        assert "<img src=x" not in html


def test_ui_patient_page_draws_history(clinician):
    patient_id = create_patient(clinician)
    for _ in range(2):
        analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes(), patient_id=patient_id))
    html = clinician.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert 'id="history-figure"' in html and html.count("/analyses/") >= 2
    listing = clinician.get("/patients").get_data(as_text=True)
    assert re.search(r'<td class="num">2</td>', listing)  # the analyses column counts them


def test_ui_model_page_renders_whatever_the_card_holds(ui_app, clinician):
    from ecg_backend.ml.detector import AnomalyDetector

    detector = AnomalyDetector.untrained(seed=1)
    detector.card = {
        **detector.card,
        "metrics": {
            "split": "TEST",
            "roc_auc": 0.9712,
            "per_class": {"normal": {"f1": 0.93, "support": 2627}, "abnormal": {"f1": 0.91, "support": 1873}},
            "ablation": [{"variant": "cnn", "roc_auc": 0.95}, {"variant": "hybrid", "roc_auc": 0.97}],
        },
        "roc_curve": {"fpr": [0, 0.1, 1], "tpr": [0, 0.8, 1], "auc": 0.9712},
        "reliability": [{"count": 3, "mean_confidence": 0.2, "observed_rate": 0.25}],
        "data": {"dataset": "ECG5000 (UCR 2018)"},
        "surprise": {"nested": [1, 2, 3]},
    }
    ui_app.extensions["ecg_detector"] = detector
    html = clinician.get("/model").get_data(as_text=True)
    for text in (
        "TEST metrics",
        "ROC AUC",
        "0.9712",
        "Ablation",
        "hybrid",
        "Threshold and calibration",
        "Architecture",
        "ECG5000 (UCR 2018)",
        "Other details",
        'id="roc-figure"',
        'id="reliability-figure"',
        "Per class",
        "2627",
        "Reliability",
    ):
        assert text in html, text
    ui_app.extensions["ecg_detector"] = None
    assert "No model is loaded" in clinician.get("/model").get_data(as_text=True)


def test_ui_plotly_is_served_by_the_app(ui_app):
    client = ui_app.test_client()
    response = client.get("/assets/plotly.min.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert b"plotly" in response.data[:2000].lower() and len(response.data) > 1_000_000
    etag = response.headers["ETag"]
    assert client.get("/assets/plotly.min.js", headers={"If-None-Match": etag}).status_code == 304
    versioned = client.get(f"/assets/plotly.min.js?v={etag.strip(chr(34))}")
    assert "immutable" in versioned.headers["Cache-Control"]


def test_ui_unknown_page_is_a_friendly_404(clinician):
    response = clinician.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "Back to the dashboard" in html


def test_ui_login_page_keeps_its_contract(ui_app):
    html = ui_app.test_client().get("/login").get_data(as_text=True)
    for name in ('name="email"', 'name="password"', 'name="csrf_token"', 'for="email"', 'for="password"'):
        assert name in html


def test_ui_patient_search_treats_wildcards_literally(clinician):
    create_patient(clinician, "Ann 100%")
    create_patient(clinician, "Bo Lee")
    clinician.get("/patients/new")  # shows (and so clears) the "created" flash message
    found = clinician.get("/patients?q=%25").get_data(as_text=True)
    assert "Ann 100%" in found and "Bo Lee" not in found
    assert "No patient matches" in clinician.get("/patients?q=zzz").get_data(as_text=True)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 413, 429, 500, 503])
def test_ui_error_pages_render_without_a_user_or_database(ui_app, status):
    from flask import render_template

    with ui_app.test_request_context("/"):
        html = render_template(
            f"errors/{status}.html", status=status, message="The database is unavailable.", code=None
        )
    assert f">{status}<" in html and "Back to the dashboard" in html and "current_user" not in html


def test_ui_many_beats_get_a_number_box_and_the_first_flagged_beat(clinician):
    rng = __import__("numpy").random.default_rng(0)
    rows = rng.normal(0, 1, (600, 140)).round(4)
    data = "\n".join(",".join(str(v) for v in row) for row in rows).encode()
    analysis_id = analysis_id_of(upload_csv(clinician, data))
    html = clinician.get(f"/analyses/{analysis_id}").get_data(as_text=True)
    assert 'type="number" min="1" max="600"' in html and "<option" not in html.split('id="beat-select"')[1][:200]
    overview = json.loads(re.search(r'id="overview-figure">(.*?)</script>', html, re.S).group(1))
    assert overview["data"][0]["mode"] == "markers"  # no connecting line for a long series
    flagged = re.search(r'data-beat="(\d+)"', html).group(1)
    body = clinician.get(f"/analyses/{analysis_id}/results.json").get_json()
    first = next((b["beat"] for b in body["beats"] if b["is_anomaly"]), 1)
    assert int(flagged) == first  # the page opens on the first anomalous beat


def test_ui_delete_analysis_and_patient_with_their_analyses(clinician):
    patient_id = create_patient(clinician)
    kept = analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes(), patient_id=patient_id))
    dropped = analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes(), patient_id=patient_id))
    response = post_form(clinician, f"/analyses/{dropped}/delete", page=f"/analyses/{dropped}")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/patients/{patient_id}")
    assert clinician.get(f"/analyses/{dropped}").status_code == 404
    assert clinician.get(f"/analyses/{kept}").status_code == 200
    confirm = clinician.get(f"/patients/{patient_id}/delete").get_data(as_text=True)
    assert "their 1 analysis will be deleted" in confirm
    post_form(clinician, f"/patients/{patient_id}/delete", page=f"/patients/{patient_id}/delete")
    assert clinician.get(f"/analyses/{kept}").status_code == 404


@pytest.mark.app_config(MAX_CONTENT_LENGTH=4000)
def test_ui_oversized_upload_gets_the_size_message(clinician):
    response = upload_csv(clinician, SAMPLE.read_bytes())  # ~19 kB against a 4 kB limit
    assert response.status_code == 413
    assert "larger than" in response.get_json()["error"]["message"]


def test_ui_recording_analyses_open_on_the_recording_page(clinician, ui_app):
    from ecg_backend.extensions import db
    from ecg_backend.models import Analysis, User

    with ui_app.app_context():
        owner = db.session.scalar(db.select(User).where(User.email == "alice@clinic.example.org"))
        analysis = Analysis(owner_id=owner.id, kind="recording", source="recording", n_beats=0, result={})
        db.session.add(analysis)
        db.session.commit()
        analysis_id = analysis.id
    response = clinician.get(f"/analyses/{analysis_id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/recordings/{analysis_id}")
    assert f'href="/recordings/{analysis_id}"' in clinician.get("/").get_data(as_text=True)


def test_ui_a_stored_beat_without_reconstruction_still_renders(clinician, ui_app):
    from ecg_backend.extensions import db
    from ecg_backend.models import Analysis

    analysis_id = analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes()))
    with ui_app.app_context():
        analysis = db.session.get(Analysis, analysis_id)
        result = dict(analysis.result)
        result["beats"] = [{k: v for k, v in b.items() if k != "reconstruction"} for b in result["beats"]]
        analysis.result = result
        db.session.commit()
    page = clinician.get(f"/analyses/{analysis_id}")
    assert page.status_code == 200 and "stored without its reconstruction" in page.get_data(as_text=True)
    beat = clinician.get(f"/analyses/{analysis_id}/beats/2")
    assert beat.status_code == 200 and beat.get_json()["figure"] is None
