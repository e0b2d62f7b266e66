"""The recording pages in headless Chromium, as a Holter reader uses them: upload a WFDB record with its
reference labels through the form, page the strip with the keyboard, jump to events and flagged beats, the
list and delete, and the PDF report with its first page rendered by pdftoppm. Screenshots go to
test-artifacts/ (recording-*.png). Times are written to the log, not asserted (benchmarks own targets)."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ui.browser import ARTIFACTS, chromium_driver, live_app_with_clinician, wait_until

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple 42"
EMAIL = "holter.reader@clinic.example.org"
EXCERPT = Path(__file__).resolve().parents[1] / "fixtures" / "mitdb"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_app_with_clinician(tmp_path_factory.mktemp("recb") / "ui.db", EMAIL, PASSWORD, "Hana Reader") as server:
        yield server


@pytest.fixture(scope="module")
def driver():
    with chromium_driver() as drv:
        yield drv


def wait(drv, condition, timeout=60):
    return wait_until(drv, condition, timeout)


def view_attr(drv, name):
    return drv.execute_script(
        "var v = document.getElementById('recording-view'); return v && v.getAttribute(arguments[0]);", name
    )


def severe(drv) -> list[str]:
    return [
        e["message"] for e in drv.get_log("browser") if e.get("level") == "SEVERE" and "favicon" not in e["message"]
    ]


def screenshot(drv, name: str, width: int = 1366) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    height = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(width, min(int(height) + 140, 6000))
    time.sleep(0.5)
    drv.save_screenshot(str(ARTIFACTS / name))
    drv.set_window_size(1366, 900)
    time.sleep(0.3)


def log_in(drv, base):
    from selenium.webdriver.common.by import By

    drv.get(base + "/login")
    wait(drv, lambda d: d.find_element(By.ID, "email")).send_keys(EMAIL)
    drv.find_element(By.ID, "password").send_keys(PASSWORD)
    drv.find_element(By.ID, "password").submit()
    wait(drv, lambda d: "/login" not in d.current_url)


@pytest.fixture(scope="module")
def recording_url(live, driver):
    """Upload MIT-BIH 119 (5-min excerpt: .hea, .dat, .atr) through the form; the review page's URL."""
    from selenium.webdriver.common.by import By

    if not (EXCERPT / "119.hea").exists():
        pytest.fail("tests/fixtures/mitdb/119.* missing (see data/README.md)", pytrace=False)
    log_in(driver, live.url)
    driver.get(live.url + "/recordings/new")
    files = "\n".join(str(EXCERPT / f"119.{ext}") for ext in ("hea", "dat", "atr"))
    driver.find_element(By.ID, "rec-file").send_keys(files)
    assert "119.hea" in driver.find_element(By.CSS_SELECTOR, "[data-filename]").text
    driver.find_element(By.ID, "rec-submit").click()
    stages = set()
    deadline = time.monotonic() + 120
    while "/new" in driver.current_url and time.monotonic() < deadline:
        stage = driver.execute_script(
            "var p = document.getElementById('job-panel'); return p && p.getAttribute('data-stage');"
        )
        text = driver.execute_script("var m = document.getElementById('job-message'); return m && m.textContent;") or ""
        stages.add(stage)
        assert "running: done" not in text.lower() and "failed" != stage, text
        time.sleep(0.05)
    assert "/recordings/" in driver.current_url, stages
    print(f"upload stages seen: {sorted(s for s in stages if s)}")
    return driver.current_url


def test_ui_recording_strip_pages_by_keyboard(live, driver, recording_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(recording_url)
    wait(driver, lambda d: view_attr(d, "data-ready") == "true")
    print(f"interactive {view_attr(driver, 'data-ready-ms')} ms after navigation (5-min 2-lead record)")
    assert view_attr(driver, "data-strip-start") == "0.000" and view_attr(driver, "data-strip-leads") == "2"
    assert int(view_attr(driver, "data-strip-beats")) >= 8  # ~70 bpm: a dozen beats in 10 s
    assert "0:00:00 – 0:00:10" in driver.find_element(By.ID, "strip-range").text
    body = driver.find_element(By.TAG_NAME, "body")
    turns = []
    for expected in ("10.000", "20.000", "30.000"):
        body.send_keys(Keys.ARROW_RIGHT)
        wait(driver, lambda d, e=expected: view_attr(d, "data-strip-start") == e, timeout=10)
        turns.append(float(view_attr(driver, "data-turn-ms")))
    body.send_keys(Keys.ARROW_LEFT)
    wait(driver, lambda d: view_attr(d, "data-strip-start") == "20.000", timeout=10)
    turns.append(float(view_attr(driver, "data-turn-ms")))
    print(f"strip page turns (ms, key press to drawn strip): {turns}")
    # the uploaded .atr gives the second row; the strip's canvas really drew the paper and the trace
    assert not driver.find_element(By.ID, "ref-legend").get_attribute("hidden")
    wait(driver, lambda d: view_attr(d, "data-loaded") == "true")
    assert (
        driver.execute_script("return document.getElementById('overview-chart').querySelectorAll('.xtitle').length")
        == 1
    )
    # jump to a time typed as h:mm:ss
    field = driver.find_element(By.ID, "jump-time")
    field.send_keys("0:02:00")
    field.send_keys(Keys.ENTER)
    wait(driver, lambda d: view_attr(d, "data-strip-start") == "120.000", timeout=10)
    screenshot(driver, "recording-review.png")
    assert severe(driver) == []


def test_ui_recording_full_disclosure_switches_lead(live, driver, recording_url):
    from selenium.webdriver.common.by import By

    driver.get(recording_url)
    wait(driver, lambda d: d.find_element(By.ID, "disclosure").get_attribute("data-lead") == "MLII")
    buttons = driver.find_elements(By.CSS_SELECTOR, "#disclosure-leads button")
    assert [b.text for b in buttons] == ["MLII", "V1"] and buttons[0].get_attribute("aria-pressed") == "true"
    buttons[1].click()
    wait(driver, lambda d: d.find_element(By.ID, "disclosure").get_attribute("data-lead") == "V1", timeout=10)
    assert "lead V1" in driver.find_element(By.ID, "disclosure-caption").text
    assert buttons[1].get_attribute("aria-pressed") == "true" and buttons[0].get_attribute("aria-pressed") == "false"
    assert severe(driver) == []


def test_ui_recording_family_relabel_updates_counts_and_undo(live, driver, recording_url):
    from selenium.webdriver.common.by import By

    driver.get(recording_url)
    wait(driver, lambda d: view_attr(d, "data-loaded") == "true")

    def count(label):
        return int(driver.find_element(By.ID, f"count-{label}").text)

    before = {label: count(label) for label in "NSVQ"}
    cards = driver.find_elements(By.CSS_SELECTOR, "#families article.family")
    assert cards, "no beat families listed"
    normal = next(c for c in cards if c.get_attribute("class").split()[-1] == "family-N")
    family, size = normal.get_attribute("data-family"), int(normal.text.split("·")[1].split()[0])
    assert normal.find_element(By.TAG_NAME, "canvas")  # its shape is drawn
    normal.find_element(By.CSS_SELECTOR, "button[data-label='V']").click()
    wait(driver, lambda d: count("V") != before["V"], timeout=30)
    wait(driver, lambda d: view_attr(d, "data-busy") is None, timeout=30)
    assert count("V") >= before["V"] + size // 2 and count("N") < before["N"]  # (its Q beats may stay Q)
    changes = driver.find_elements(By.CSS_SELECTOR, "#changes-list li")
    assert len(changes) == 1 and f"Family {family}" in changes[0].text and "Hana Reader" in changes[0].text
    relabelled = driver.find_element(By.CSS_SELECTOR, f"#families article[data-family='{family}']")
    assert "family-V" in relabelled.get_attribute("class")
    screenshot(driver, "recording-relabelled.png")
    changes[0].find_element(By.CSS_SELECTOR, "button.undo").click()
    wait(driver, lambda d: count("V") == before["V"], timeout=30)
    assert {label: count(label) for label in "NSVQ"} == before
    assert "undone" in driver.find_element(By.CSS_SELECTOR, "#changes-list li").text
    assert severe(driver) == []


def test_ui_recording_click_a_beat_to_relabel_it_alone(live, driver, recording_url):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver.get(recording_url)
    wait(driver, lambda d: view_attr(d, "data-loaded") == "true")
    api = view_attr(driver, "data-api")
    beats = driver.execute_async_script(
        "var done = arguments[1]; fetch(arguments[0] + '/beats?start=0&end=10').then(function (r) { return r.json(); })"
        ".then(function (b) { done(b.items); });",
        api,
    )
    beat = beats[len(beats) // 2]
    canvas = driver.find_element(By.ID, "strip")
    width = canvas.size["width"]
    x = beat["time_s"] / 10.0 * width - width / 2  # offsets are from the canvas's centre
    ActionChains(driver).move_to_element_with_offset(canvas, int(x), 0).click().perform()
    tools = wait(
        driver,
        lambda d: d.find_element(By.ID, "beat-tools") if d.find_element(By.ID, "beat-tools").is_displayed() else None,
        timeout=10,
    )
    assert f"Beat {beat['index']} at" in tools.text
    new = "Q" if beat["label"] != "Q" else "N"
    before = int(driver.find_element(By.ID, "count-Q").text)
    tools.find_element(By.CSS_SELECTOR, f"button[data-label='{new}']").click()
    wait(driver, lambda d: int(d.find_element(By.ID, "count-Q").text) != before, timeout=30)
    assert f"Beat {beat['index']}" in driver.find_element(By.CSS_SELECTOR, "#changes-list li").text
    driver.find_element(By.CSS_SELECTOR, "#changes-list li button.undo").click()
    wait(driver, lambda d: int(d.find_element(By.ID, "count-Q").text) == before, timeout=30)


def test_ui_recording_page_fits_a_phone(live, driver, recording_url):
    driver.set_window_size(390, 844)
    driver.get(recording_url)
    wait(driver, lambda d: view_attr(d, "data-loaded") == "true")
    time.sleep(0.4)
    width, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page scrolls sideways at 390 px ({width} > {inner})"
    screenshot(driver, "recording-review-390.png", width=390)
    driver.get(live.url + "/recordings")
    width, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner
    driver.set_window_size(1366, 900)


def _pdf_first_page(body: bytes, name: str) -> Path:
    if not shutil.which("pdftoppm"):
        from tests.conftest import unavailable

        unavailable("poppler-utils (pdftoppm)", "apt-get install poppler-utils")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(body)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(ARTIFACTS / name)],
        check=True,
        timeout=60,
    )
    pdf.unlink()
    return ARTIFACTS / f"{name}.png"


def test_ui_recording_report_download(live, driver, recording_url):
    from selenium.webdriver.common.by import By

    driver.get(recording_url)
    link = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#exports a[href$='report.pdf']"))
    hrefs = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#exports a[download]")]
    assert [h.rsplit("/", 1)[1] for h in hrefs] == ["beats.csv", "events.csv", "annotations.zip", "report.pdf"]
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(link.get_attribute("href"), headers={"Cookie": cookie})) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
        body = r.read()
    print(f"report.pdf of the 5-min record: {time.perf_counter() - started:.2f} s, {len(body) // 1024} kB")
    page = _pdf_first_page(body, "recording-report-page1")
    assert page.stat().st_size > 10_000


def test_ui_recordings_list_and_delete(live, driver, recording_url):
    from selenium.webdriver.common.by import By

    analysis_id = recording_url.rstrip("/").rsplit("/", 1)[1]
    driver.get(live.url + "/recordings")
    row = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"tr[data-analysis-id='{analysis_id}']"))
    assert "119.hea" in row.text and "0:05:00" in row.text
    screenshot(driver, "recording-list.png")
    row.find_element(By.CSS_SELECTOR, "a.delete-link").click()
    wait(driver, lambda d: d.find_element(By.ID, "confirm-delete")).click()
    wait(driver, lambda d: d.current_url.rstrip("/").endswith("/recordings"))
    assert not driver.find_elements(By.CSS_SELECTOR, f"tr[data-analysis-id='{analysis_id}']")
    driver.get(recording_url)
    assert "404" in driver.title or "not found" in driver.page_source.lower()
