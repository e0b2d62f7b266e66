"""No page may evaluate code: the recording page draws its strip on a canvas and its charts as SVG traces.

The Chromium check shows why the dashboard keeps to SVG traces: under the strict policy an SVG trace draws
with no violation, while a WebGL trace (scattergl) raises 'script-src eval' violations and would need
'unsafe-eval', which no page is given.
"""

from __future__ import annotations

import time

import pytest

from ecg_backend.security import content_security_policy


def _script_src(response) -> str:
    csp = response.headers["Content-Security-Policy"]
    return next(part for part in csp.split("; ") if part.startswith("script-src"))


def test_rel_no_page_allows_eval(app, clinician_a, auth, beats):
    auth.login(clinician_a)
    client = auth.client
    analysis_id = client.post(
        "/predict", json={"beats": beats(2), "store": True}, headers=auth.csrf_headers()
    ).get_json()["analysis_id"]
    for path in (
        f"/recordings/{analysis_id}",
        "/recordings",
        "/",
        "/patients",
        "/analyse",
        "/model",
        "/recordings/new",
        f"/analyses/{analysis_id}",
        f"/recordings/{analysis_id}/data.json",
        "/login",
        "/healthz",
    ):
        assert _script_src(client.get(path)) == "script-src 'self'", path
    anonymous = app.test_client().get(f"/recordings/{analysis_id}")  # the redirect to /login stays strict
    assert _script_src(anonymous) == "script-src 'self'"


@pytest.mark.browser
def test_rel_plotly_webgl_needs_eval_svg_does_not():
    """The reason the pages keep to SVG traces, checked on the bundled plotly.js itself."""
    from flask import Flask, Response
    from plotly.offline import get_plotlyjs

    from tests.ui.browser import LiveServer, require_chromium, start_chromium

    require_chromium()
    bundle = get_plotlyjs()
    page = (
        '<!doctype html><html><body><div id="c" style="width:600px;height:300px"></div>'
        '<script src="/listen.js"></script><script src="/plotly.js"></script>'
        '<script src="/draw-{kind}.js"></script></body></html>'
    )
    site = Flask("csp_probe")

    @site.route("/<kind>/<int:allow>")
    def chart(kind, allow):
        policy = content_security_policy()
        if allow:
            policy = policy.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")
        return Response(page.format(kind=kind), headers={"Content-Security-Policy": policy})

    @site.route("/listen.js")
    def listen():
        return Response(
            "window.violations=[];document.addEventListener('securitypolicyviolation',"
            "function(e){window.violations.push(e.violatedDirective)});",
            mimetype="text/javascript",
        )

    @site.route("/plotly.js")
    def plotly():
        return Response(bundle, mimetype="text/javascript")

    @site.route("/draw-<kind>.js")
    def draw(kind):
        return Response(
            f"Plotly.newPlot('c',[{{type:'{kind}',mode:'lines',x:[1,2,3,4,5,6],y:[3,1,2,5,4,6]}}])"
            ".then(function(){document.title='drawn'});",
            mimetype="text/javascript",
        )

    driver, profile = start_chromium()
    seen = {}
    try:
        with LiveServer(site) as server:
            for kind in ("scatter", "scattergl"):
                for allow in (0, 1):
                    driver.get(f"{server.url}/{kind}/{allow}")
                    deadline = time.monotonic() + 20
                    while driver.title != "drawn" and time.monotonic() < deadline:
                        time.sleep(0.2)
                    time.sleep(0.5)
                    seen[(kind, allow)] = driver.execute_script("return window.violations;")
    finally:
        driver.quit()
        import shutil

        shutil.rmtree(profile, ignore_errors=True)
    assert seen[("scatter", 0)] == [] and seen[("scatter", 1)] == []
    assert "script-src" in " ".join(seen[("scattergl", 0)]), seen  # blocked: the long trace would not draw
    assert seen[("scattergl", 1)] == [], seen
