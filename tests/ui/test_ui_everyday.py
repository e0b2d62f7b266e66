"""Everyday use in a real headless Chromium: a 500-beat result page (flagged beats from the verdict,
previous/next flagged, the sortable beat table, opening beats in place at 1366 and 390 px), the account
pages, the first admin's forced password change, the admin's confirmation before disabling, the small
frictions, and the first/repeat visit figures of the result page (printed and saved, not asserted).

Screenshots and ``first_load_timing.json`` go to test-artifacts/.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime

import pytest

from tests.ui.browser import ARTIFACTS, STRICT_CSP, LiveServer, chromium_driver
from tests.ui.conftest import PASSWORD
from tests.ui.test_ui_browser import (
    by_id,
    full_page_screenshot,
    rendered,
    severe_console_errors,
    wait_for,
)
from tests.ui.test_ui_frictions import beats_csv

pytestmark = pytest.mark.browser

CLINICIAN = "carol@clinic.example.org"
ADMIN = "root@clinic.example.org"
GENERATED = "generated-at-start-1"


@contextmanager
def live_app(db_path):
    """A live server for a fresh app holding a clinician and a clinician to disable (strict CSP on every page)."""
    from ecg_backend.services.users import create_user
    from tests.conftest import dispose_app, make_test_app

    app = make_test_app(f"sqlite:///{db_path}")
    with app.app_context():
        create_user(CLINICIAN, PASSWORD, name="Carol Reyes", role="clinician")
        create_user("dan@clinic.example.org", PASSWORD, name="Dan Ward", role="clinician")

    @app.after_request
    def strict_csp(response):
        response.headers.setdefault("Content-Security-Policy", STRICT_CSP)
        return response

    try:
        with LiveServer(app) as server:
            server.app = app
            yield server
    finally:
        dispose_app(app)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_app(tmp_path_factory.mktemp("everyday") / "ui.db") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium_driver() as driver:
        yield driver


def page_errors(driver) -> list[str]:
    """Console errors, less the 4xx answers the tests provoke on purpose (a refused form is a page, not an error)."""
    return [m for m in severe_console_errors(driver) if not re.search(r"status of 4(15|22)", m)]


def sign_in(driver, base, email=CLINICIAN, password=PASSWORD):
    driver.delete_all_cookies()
    driver.get(base + "/login")
    by_id(driver, "email").send_keys(email)
    by_id(driver, "password").send_keys(password)
    by_id(driver, "password").submit()
    wait_for(driver, lambda d: "/login" not in d.current_url)


def upload(driver, base, path) -> str:
    driver.get(base + "/analyse")
    by_id(driver, "file").send_keys(str(path))
    by_id(driver, "analyse-submit").click()
    wait_for(driver, lambda d: re.search(r"/analyses/\d+", d.current_url), timeout=60)
    wait_for(driver, lambda d: rendered(d, "beat-chart"), timeout=40)
    return driver.current_url.split("?")[0]


def shown_beat(driver) -> int:
    return int(driver.find_element("id", "beat-chart").get_attribute("data-beat"))


def wait_beat(driver, number: int) -> None:
    wait_for(
        driver,
        lambda d: (
            shown_beat(d) == number
            and f"Beat {number} " in d.execute_script("return document.getElementById('beat-chart').layout.title.text")
        ),
    )


def no_sideways_scroll(driver) -> int:
    return driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.fixture(scope="module")
def big_result(live, browser, tmp_path_factory):
    """A 500-beat analysis uploaded through the page; its URL and flagged beats."""
    path = tmp_path_factory.mktemp("beats") / "five_hundred.csv"
    path.write_bytes(beats_csv(500))
    sign_in(browser, live.url)
    url = upload(browser, live.url, path)
    flagged = [int(n) for n in browser.find_element("id", "beat-viewer").get_attribute("data-flagged").split(",")]
    return url, flagged


def test_ui_large_beat_set_flagged_beats_and_navigation(live, browser, big_result):
    from selenium.webdriver.common.by import By

    url, flagged = big_result
    sign_in(browser, live.url)
    browser.get(url)
    wait_for(browser, lambda d: rendered(d, "beat-chart"), timeout=60)
    assert shown_beat(browser) == flagged[0]
    browser.execute_script("window.__samePage = true;")  # gone if anything reloads the page
    verdict_links = [
        int(a.get_attribute("data-open-beat"))
        for a in browser.find_elements(By.CSS_SELECTOR, "#verdict [data-open-beat]")
    ]
    assert verdict_links == flagged
    full_page_screenshot(browser, "everyday-large-beat-set.png")

    # The last flagged beat, from the "show the other flagged beats" list of the verdict.
    by_id(browser, "more-flagged").find_element(By.TAG_NAME, "summary").click()
    browser.find_element(By.CSS_SELECTOR, f"#more-flagged [data-open-beat='{flagged[-1]}']").click()
    wait_beat(browser, flagged[-1])
    # Previous / next flagged beat step through the flagged beats only.
    browser.find_element(By.CSS_SELECTOR, "[data-nav='previous-flagged']").click()
    wait_beat(browser, flagged[-2])
    browser.find_element(By.CSS_SELECTOR, "[data-nav='previous']").click()
    wait_beat(browser, flagged[-2] - 1)
    browser.find_element(By.CSS_SELECTOR, "[data-nav='next-flagged']").click()
    wait_beat(browser, flagged[-2])
    assert f"beat={flagged[-2]}" in browser.current_url
    # The same from the keyboard: N / P through flagged beats, arrows through all beats.
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.find_element(By.ID, "beat-title").click()  # focus on the page, not in a field
    ActionChains(browser).send_keys("n").perform()
    wait_beat(browser, flagged[-1])
    ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()
    wait_beat(browser, flagged[-1] - 1)
    ActionChains(browser).send_keys("p").perform()
    wait_beat(browser, flagged[-2])
    assert browser.find_element(By.CSS_SELECTOR, "#beat-table tr[aria-current='true']").get_attribute(
        "data-number"
    ) == str(flagged[-2])

    # Sort the table by score, highest first: the top rows are flagged beats.
    score_button = browser.find_element(By.CSS_SELECTOR, "#beat-table button[data-sort='score']")
    score_button.click()
    score_button.click()
    assert score_button.find_element(By.XPATH, "..").get_attribute("aria-sort") == "descending"
    scores = browser.execute_script(
        "return Array.from(document.querySelectorAll('#beat-table tbody tr')).map(r => Number(r.cells[1].textContent));"
    )
    assert scores == sorted(scores, reverse=True) and len(scores) == 500
    top = int(browser.find_element(By.CSS_SELECTOR, "#beat-table tbody tr").get_attribute("data-number"))
    assert top in flagged
    assert browser.execute_script("return window.__samePage === true;")
    assert page_errors(browser) == []


def test_ui_large_beat_set_at_phone_width_opens_beats_in_place(live, browser, big_result):
    from selenium.webdriver.common.by import By

    url, flagged = big_result
    sign_in(browser, live.url)
    size = browser.get_window_size()
    browser.set_window_size(390, 844)
    try:
        browser.get(url)
        wait_for(browser, lambda d: rendered(d, "beat-chart"), timeout=60)
        assert no_sideways_scroll(browser) <= 1, "the result page scrolls sideways at 390 px"
        browser.execute_script("window.__samePage = true;")
        # Down in the table, open a beat: the page brings the beat up, and a button returns to the table.
        row = browser.find_element(By.CSS_SELECTOR, "#beat-table tr[data-number='250'] a")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", row)
        reading_at = browser.execute_script("return window.scrollY;")
        row.click()
        wait_beat(browser, 250)
        back = by_id(browser, "back-to-position")
        wait_for(browser, lambda d: back.is_displayed())
        assert browser.execute_script("return window.scrollY;") < reading_at
        browser.save_screenshot(str(ARTIFACTS / "everyday-390-beat-opened.png"))
        back.click()
        assert abs(browser.execute_script("return window.scrollY;") - reading_at) <= 2
        assert browser.execute_script("return window.__samePage === true;")
        # The overview: a click on a point opens that beat too.
        browser.execute_script("window.scrollTo(0, 0);")
        point = browser.find_elements(By.CSS_SELECTOR, "#overview-chart .scatterlayer .trace:first-child path.point")
        target = flagged[2]
        browser.execute_script(
            """
            var el = document.getElementById('overview-chart');
            el.emit('plotly_click', {points: [{curveNumber: 0, customdata: arguments[0] - 1, x: arguments[0]}]});
        """,
            target,
        )
        wait_beat(browser, target)
        assert point and browser.execute_script("return window.__samePage === true;")
        assert no_sideways_scroll(browser) <= 1
        full_page_screenshot(browser, "everyday-390-result.png")
    finally:
        browser.set_window_size(size["width"], size["height"])


def test_ui_account_password_and_tokens_in_the_browser(live, browser):
    from selenium.webdriver.common.by import By

    with live.app.app_context():
        from ecg_backend.services.users import create_user

        create_user("erin@clinic.example.org", PASSWORD, name="Erin Moss")
    sign_in(browser, live.url, "erin@clinic.example.org")
    by_id(browser, "account-link").click()
    wait_for(browser, lambda d: d.current_url.endswith("/account"))
    details = by_id(browser, "account-details").text
    assert "Erin Moss" in details and "erin@clinic.example.org" in details and "Clinician" in details
    by_id(browser, "current_password").send_keys("not-my-password")
    by_id(browser, "new_password").send_keys("erin-new-password-2")
    by_id(browser, "confirm_password").send_keys("erin-new-password-2")
    by_id(browser, "change-password").click()
    wait_for(browser, lambda d: "The current password is not right." in d.page_source)
    by_id(browser, "current_password").send_keys(PASSWORD)
    by_id(browser, "new_password").send_keys("erin-new-password-2")
    by_id(browser, "confirm_password").send_keys("erin-new-password-2")
    by_id(browser, "change-password").click()
    wait_for(browser, lambda d: "Password changed" in d.page_source)
    full_page_screenshot(browser, "everyday-account.png")

    by_id(browser, "tokens-link").click()
    by_id(browser, "token-name").send_keys("ward export script")
    by_id(browser, "create-token").click()
    token = by_id(browser, "new-token").get_attribute("value")
    assert token.startswith("ecg_")
    by_id(browser, "copy-token").click()
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-copy-status]").text.strip())
    full_page_screenshot(browser, "everyday-token-created.png")
    browser.get(live.url + "/account/tokens")
    assert token not in browser.page_source and "ward export script" in browser.page_source
    row = browser.find_element(By.CSS_SELECTOR, "#token-table tbody tr")
    row.find_element(By.TAG_NAME, "summary").click()
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait_for(browser, lambda d: "can no longer sign in" in d.page_source)
    assert "revoked" in browser.find_element(By.ID, "token-table").text
    assert page_errors(browser) == []


def test_ui_first_admin_is_sent_to_change_the_generated_password(tmp_path, browser, monkeypatch):
    from ecg_backend.services import users
    from tests.conftest import dispose_app, make_test_app

    monkeypatch.setattr(users.secrets, "token_urlsafe", lambda n: GENERATED)
    app = make_test_app(f"sqlite:///{tmp_path / 'first.db'}", ADMIN_PASSWORD=None, ADMIN_EMAIL=ADMIN)
    with app.app_context():
        users.ensure_admin(app)
    try:
        with LiveServer(app) as server:
            sign_in(browser, server.url, ADMIN, GENERATED)
            wait_for(browser, lambda d: d.current_url.endswith("/account"))
            assert by_id(browser, "must-change").is_displayed()
            browser.get(server.url + "/admin")
            wait_for(browser, lambda d: d.current_url.endswith("/account"))
            full_page_screenshot(browser, "everyday-first-admin.png")
            by_id(browser, "current_password").send_keys(GENERATED)
            by_id(browser, "new_password").send_keys("my-own-admin-secret")
            by_id(browser, "confirm_password").send_keys("my-own-admin-secret")
            by_id(browser, "change-password").click()
            wait_for(browser, lambda d: "Password changed" in d.page_source)
            browser.get(server.url + "/admin")
            wait_for(browser, lambda d: d.current_url.endswith("/admin"))
    finally:
        dispose_app(app)


def test_ui_admin_disable_asks_first(tmp_path, browser):
    from selenium.webdriver.common.by import By

    from ecg_backend.services.users import create_user
    from tests.conftest import dispose_app, make_test_app

    app = make_test_app(f"sqlite:///{tmp_path / 'admin.db'}")
    with app.app_context():
        create_user(ADMIN, PASSWORD, name="Ada Admin", role="admin")
        create_user("dan@clinic.example.org", PASSWORD, name="Dan Ward")
    try:
        with LiveServer(app) as server:
            sign_in(browser, server.url, ADMIN)
            browser.get(server.url + "/admin")
            row = by_id(browser, "content").find_element(By.CSS_SELECTOR, "tr[data-user='dan@clinic.example.org']")
            row.find_element(By.TAG_NAME, "summary").click()
            confirm = row.find_element(By.CSS_SELECTOR, "button.danger")
            assert confirm.is_displayed() and "Disable dan@clinic.example.org" in confirm.text
            assert "active" in row.text  # opening the question changed nothing
            full_page_screenshot(browser, "everyday-admin-disable-confirm.png")
            confirm.click()
            wait_for(browser, lambda d: "dan@clinic.example.org is now disabled" in d.page_source)
    finally:
        dispose_app(app)


def test_ui_small_frictions_in_the_browser(live, browser, tmp_path):
    from selenium.webdriver.common.by import By

    sign_in(browser, live.url)
    # The date picker stops at today; a future date typed in anyway is refused in words.
    browser.get(live.url + "/patients/new")
    picker = by_id(browser, "date_of_birth")
    assert picker.get_attribute("max") == datetime.now().date().isoformat()
    by_id(browser, "name").send_keys("Fay Lund")
    browser.execute_script("arguments[0].value = '2999-01-01';", picker)
    by_id(browser, "save-patient").click()
    wait_for(browser, lambda d: "The date of birth must be in the past" in d.page_source)
    assert "date_of_birth must" not in browser.page_source
    browser.execute_script("arguments[0].value = '1961-04-02';", by_id(browser, "date_of_birth"))
    by_id(browser, "save-patient").click()
    wait_for(browser, lambda d: "Fay Lund" in d.title)
    patient_id = int(browser.current_url.rstrip("/").split("/")[-1])

    # The Analyse page names tabs, and a WFDB header is sent to Recordings rather than "no beats found".
    browser.get(live.url + "/analyse")
    assert "commas, semicolons or tabs" in by_id(browser, "file-hint").text
    header = tmp_path / "100.hea"
    header.write_text("100 2 360 650000\n")
    by_id(browser, "file").send_keys(str(header))
    by_id(browser, "analyse-submit").click()
    error = by_id(browser, "upload-error")
    wait_for(browser, lambda d: error.is_displayed() and "Recordings page" in error.text)
    sent = browser.execute_script(
        "return performance.getEntriesByType('resource').filter(r => r.initiatorType === 'xmlhttprequest').length;"
    )
    assert sent == 0  # refused before uploading anything
    link = error.find_element(By.CSS_SELECTOR, "[data-error-link]")
    assert link.is_displayed() and link.get_attribute("href").endswith("/recordings/new")
    full_page_screenshot(browser, "everyday-analyse-recording-file.png")

    # Two beat sets and a recording for the patient: the history keeps the kinds apart.
    sample = tmp_path / "beats.csv"
    sample.write_bytes(beats_csv(12))
    for _ in range(2):
        browser.get(f"{live.url}/analyse?patient_id={patient_id}")
        by_id(browser, "file").send_keys(str(sample))
        by_id(browser, "analyse-submit").click()
        wait_for(browser, lambda d: re.search(r"/analyses/\d+", d.current_url), timeout=60)
    result_url = browser.current_url.split("?")[0]
    with live.app.app_context():
        from ecg_backend.extensions import db
        from ecg_backend.models import Analysis
        from ecg_backend.services.users import find_by_email

        db.session.add(
            Analysis(
                owner_id=find_by_email(CLINICIAN).id,
                patient_id=patient_id,
                kind="recording",
                source="recording",
                filename="holter.edf",
                n_beats=90000,
                n_anomalous=450,
                created_at=datetime(2026, 1, 5),
            )
        )
        db.session.commit()
    browser.get(f"{live.url}/patients/{patient_id}")
    wait_for(browser, lambda d: rendered(d, "history-chart"), timeout=60)
    names = browser.execute_script("return document.getElementById('history-chart').data.map(t => t.name);")
    assert names == ["Beat sets", "Recordings"]
    kinds = [e.get_attribute("textContent") for e in browser.find_elements(By.CSS_SELECTOR, "#content table .kind")]
    assert sorted(kinds) == ["Beat set", "Beat set", "Recording"]
    full_page_screenshot(browser, "everyday-patient-history.png")

    # Deleting an analysis says so on the page it lands on.
    browser.get(result_url)
    browser.find_element(By.CSS_SELECTOR, "details.panel summary").click()
    browser.find_element(By.CSS_SELECTOR, "details.panel button.danger").click()
    wait_for(browser, lambda d: "was deleted" in d.find_element(By.ID, "content").text)
    assert f"/patients/{patient_id}" in browser.current_url
    assert page_errors(browser) == []


# --- first and repeat visits: figures for the report, not assertions on time ------------------------------

PROFILES = {
    "loopback": None,
    "throttled 20 Mbit/s, 40 ms": {
        "offline": False,
        "latency": 40,
        "downloadThroughput": 20e6 / 8,
        "uploadThroughput": 5e6 / 8,
    },
}


def visit(driver, url) -> dict:
    """Load ``url`` and wait for every chart; the browser's own timing of the visit and of what it fetched."""
    driver.get("about:blank")  # arrive from elsewhere, as a person coming back to the page would
    driver.get(url)
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete", timeout=60)
    wait_for(
        driver,
        lambda d: d.execute_script(
            "return Array.from(document.querySelectorAll('[data-figure]')).every(e => e.dataset.rendered === 'true');"
        ),
        timeout=60,
    )
    return driver.execute_script("""
        var nav = performance.getEntriesByType('navigation')[0];
        var res = performance.getEntriesByType('resource');
        var assets = res.filter(r => /\\/(static|assets)\\//.test(r.name));
        var plotly = res.filter(r => r.name.indexOf('plotly.min.js') >= 0)[0];
        return {load_ms: Math.round(nav.loadEventEnd), charts_ms: Math.round(performance.now()),
                page_ms: Math.round(nav.responseEnd - nav.requestStart),
                page_bytes: nav.transferSize,
                asset_bytes: assets.reduce((s, r) => s + r.transferSize, 0),
                assets_fetched: assets.filter(r => r.transferSize > 0).length, assets: assets.length,
                plotly_bytes: plotly ? plotly.transferSize : null,
                plotly_decoded: plotly ? plotly.decodedBodySize : null};""")


def test_ui_first_and_repeat_visit_figures(live, browser, big_result):
    url, _ = big_result
    sign_in(browser, live.url)
    figures = {}
    try:
        for profile, conditions in PROFILES.items():
            browser.execute_cdp_cmd("Network.enable", {})
            if conditions:
                browser.execute_cdp_cmd("Network.emulateNetworkConditions", conditions)
            for encoding in ("gzip, deflate, br", "identity"):
                browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": encoding}})
                browser.execute_cdp_cmd("Network.clearBrowserCache", {})
                first = visit(browser, url)
                repeat = visit(browser, url)
                label = f"{profile}, Accept-Encoding: {encoding}"
                figures[label] = {"first": first, "repeat": repeat}
                # Behaviour, not time: compressed when accepted; a repeat visit fetches no asset again.
                if encoding == "identity":
                    assert first["plotly_bytes"] > 4_000_000
                else:
                    assert first["plotly_bytes"] < 2_000_000
                assert repeat["asset_bytes"] == 0 and repeat["assets_fetched"] == 0, repeat
    finally:
        browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
        browser.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "first_load_timing.json").write_text(json.dumps(figures, indent=2))
    print(
        "\nResult page with 500 beats (ms: the page's own request, until load, until every chart is drawn; "
        "bytes transferred):"
    )
    for label, visits in figures.items():
        for name, v in visits.items():
            print(
                f"  {label:<48} {name:<6} page {v['page_ms']:>5} ms  load {v['load_ms']:>5} ms  "
                f"charts {v['charts_ms']:>5} ms  "
                f"assets {v['asset_bytes']:>9} B ({v['assets_fetched']}/{v['assets']} fetched)  "
                f"page {v['page_bytes']:>7} B"
            )


def test_ui_beat_table_fits_a_phone_without_sideways_scrolling(live, browser, big_result):
    url, _ = big_result
    sign_in(browser, live.url)
    size = browser.get_window_size()
    browser.set_window_size(390, 844)
    try:
        browser.get(url)
        wait_for(browser, lambda d: rendered(d, "beat-chart"), timeout=60)
        inner = browser.execute_script(
            "var w = document.querySelector('.beat-table-wrap'); return w.scrollWidth - w.clientWidth;"
        )
        assert inner <= 1, f"the beat table scrolls sideways by {inner}px at 390 px"
        for page in ("/account", "/account/tokens", "/analyse", "/patients/new"):
            browser.get(live.url + page)
            wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")
            assert no_sideways_scroll(browser) <= 1, f"{page} scrolls sideways at 390 px"
        full_page_screenshot(browser, "everyday-390-patient-form.png")
    finally:
        browser.set_window_size(size["width"], size["height"])
