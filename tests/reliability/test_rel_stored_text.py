"""Stored text is data, never markup or formulas: escaped in every page, neutralised in CSV downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "</script><script>alert(3)</script>",
    "<svg/onload=alert(4)>",
    "javascript:alert(5)",
]
FORMULAS = ["=1+2", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", '=HYPERLINK("http://evil.example","x")', "\t=1+1", "\r=1+1"]


def _upload(client, headers, patient_id, filename, beats):
    body = "\n".join(",".join(str(v) for v in beat) for beat in beats).encode()
    response = client.post(
        "/predict",
        data={"file": (io.BytesIO(body), filename), "patient_id": str(patient_id)},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["analysis_id"]


@pytest.fixture
def hostile_records(app, make_account, bearer, beats):
    """A clinician whose name, patients, notes and upload file names are all hostile strings."""
    account = make_account("mallory@example.com", name=XSS[0])
    headers = bearer(account)
    client = app.test_client()
    created = []
    for text in XSS + FORMULAS:
        response = client.post(
            "/api/v1/patients", json={"name": text, "notes": text, "external_id": text[:60]}, headers=headers
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        patient_id = response.get_json()["id"]
        # A browser would send '"' as %22 and no control characters in a multipart file name.
        filename = "".join(c for c in text if c.isprintable() and c not in '"/\\')[:60] + ".csv"
        created.append((patient_id, _upload(client, headers, patient_id, filename, beats(2))))
    return account, created


def _session(app, account):
    client = app.test_client()
    response = client.post("/login", json={"email": account.email, "password": account.password})
    assert response.status_code == 200
    return client


def test_rel_hostile_text_is_escaped_in_pages(app, hostile_records, admin_account):
    account, created = hostile_records
    client = _session(app, account)
    paths = ["/", "/patients", "/analyse", "/patients?q=%3Cscript%3E"]
    for patient_id, analysis_id in created:
        paths += [
            f"/patients/{patient_id}",
            f"/patients/{patient_id}/edit",
            f"/patients/{patient_id}/delete",
            f"/analyses/{analysis_id}",
            f"/analyses/{analysis_id}/beats/1",
        ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        for text in XSS[:4]:
            assert text not in html, (path, text)
        # As text, "javascript:..." is harmless; it must never become a link or a source.
        assert not re.search(r"(href|src|action|formaction)\s*=\s*[\"']?\s*javascript:", html, re.I), path
    admin_html = _session(app, admin_account).get("/admin").get_data(as_text=True)
    assert XSS[0] not in admin_html and "&lt;script&gt;alert(1)&lt;/script&gt;" in admin_html


def test_rel_csv_download_neutralises_formulas(app, hostile_records):
    account, created = hostile_records
    client = _session(app, account)
    checked = 0
    for _, analysis_id in created:
        response = client.get(f"/analyses/{analysis_id}/results.csv")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers.get("Content-Disposition", "")
        for row in csv.reader(io.StringIO(response.get_data(as_text=True))):
            for cell in row:
                checked += 1
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    float(cell)  # only a plain (negative) number may start like a formula
    assert checked > 50
    # ... and the text itself survives, behind the quote a spreadsheet shows as text
    body = client.get(f"/analyses/{created[len(XSS)][1]}/results.csv").get_data(as_text=True)
    assert "'=1+2" in body
