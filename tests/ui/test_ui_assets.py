"""Static assets: content-hashed URLs with a year-long immutable lifetime, gzip compressed once (not per
request), honouring Accept-Encoding with ``Vary``; plotly.js the same way. Timing is in test_ui_everyday.py."""

from __future__ import annotations

import gzip
import re

from ecg_backend import static_assets


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/(?:static|assets)/[^"]+)"', html)


def test_ui_every_static_asset_of_a_page_has_a_content_hashed_url(ui_app, clinician):
    from tests.ui.conftest import SAMPLE, analysis_id_of, upload_csv

    analysis_id = analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes()))
    urls = set()
    for page in ("/", f"/analyses/{analysis_id}", "/analyse", "/account"):
        urls |= set(_asset_urls(clinician.get(page).get_data(as_text=True)))
    assert any("app.css" in u for u in urls) and any("plotly.min.js" in u for u in urls)
    assert any("beat_viewer.js" in u for u in urls) and any("favicon.svg" in u for u in urls)
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{16}$", url), url
        response = clinician.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url


def test_ui_text_assets_are_gzipped_when_accepted_and_plain_otherwise(ui_app):
    client = ui_app.test_client()
    with ui_app.test_request_context():
        from flask import url_for

        css = url_for("static", filename="css/app.css")
    plain = client.get(css, headers={"Accept-Encoding": "identity"})
    zipped = client.get(css, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"].startswith("Accept-Encoding")
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == plain.data and len(zipped.data) < len(plain.data) / 2
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # two representations, two validators
    assert (
        client.get(css, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}).status_code == 304
    )
    # Without the current hash (an old or hand-typed URL) the browser revalidates instead of keeping it a year.
    assert client.get("/static/css/app.css").headers["Cache-Control"] == "no-cache"
    assert client.get("/static/css/nope.css").status_code == 404
    assert client.get("/static/../ecg_backend/__init__.py").status_code == 404


def test_ui_plotly_is_sent_compressed(ui_app):
    client = ui_app.test_client()
    response = client.get("/assets/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip" and len(response.data) < 2_000_000
    assert len(gzip.decompress(response.data)) > 4_000_000


def test_ui_compression_happens_once_per_file_not_per_request(ui_app, monkeypatch):
    client = ui_app.test_client()
    with ui_app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="js/charts.js")
    calls = []
    original = static_assets.gzip.compress
    monkeypatch.setattr(static_assets.gzip, "compress", lambda *a, **k: calls.append(1) or original(*a, **k))
    for _ in range(5):
        assert client.get(url, headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
        client.get("/assets/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert calls == []  # compressed at start-up (create_app), served from memory since


def test_ui_a_changed_file_gets_a_new_hash(tmp_path):
    path = tmp_path / "a.js"
    path.write_text("console.log(1);" * 100)
    first = static_assets.file_asset(str(path))
    path.write_text("console.log(2);" * 101)
    second = static_assets.file_asset(str(path))
    assert first.digest != second.digest and gzip.decompress(second.gzipped) == path.read_bytes()
    assert static_assets.file_asset(str(tmp_path / "missing.js")) is None


def test_ui_assets_carry_no_session_cookie_and_do_not_vary_on_it(ui_app, clinician):
    """A session cookie that changes on every page must not make the browser revalidate cached assets."""
    with ui_app.test_request_context():
        from flask import url_for

        urls = [url_for("static", filename="css/app.css"), url_for("static", filename="js/charts.js")]
    urls.append("/assets/plotly.min.js")
    for url in urls:
        response = clinician.get(url, headers={"Accept-Encoding": "gzip"})
        assert "Cookie" not in response.headers.get("Vary", "") and "Set-Cookie" not in response.headers, url
    page = clinician.get("/")
    assert page.status_code == 200 and "Cookie" in page.headers.get("Vary", "")  # pages still do
