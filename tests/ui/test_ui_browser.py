"""The dashboard in a real headless Chromium: log in, create a patient, upload beats, read the charts,
open a beat from the overview, download the results, log out; bad uploads and anonymous visits."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from tests.ui.browser import ARTIFACTS, chromium_driver, live_app_with_clinician, wait_until
from tests.ui.conftest import PASSWORD

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample_beats.csv"
WAIT = 20


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    """One app and live server for the module (temp SQLite, untrained detector) with one clinician."""
    with live_app_with_clinician(
        tmp_path_factory.mktemp("live") / "ui.db", "carol@clinic.example.org", PASSWORD, "Carol Reyes"
    ) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium_driver() as driver:
        yield driver


def wait_for(driver, condition, timeout=WAIT):
    return wait_until(driver, condition, timeout)


def by_id(driver, element_id):
    from selenium.webdriver.common.by import By

    return wait_for(driver, lambda d: d.find_element(By.ID, element_id))


def rendered(driver, element_id) -> bool:
    return driver.execute_script(
        "var el = document.getElementById(arguments[0]);"
        "return !!(el && el.getAttribute('data-rendered') === 'true' && el.data);",
        element_id,
    )


def trace_count(driver, element_id) -> int:
    return driver.execute_script("return document.getElementById(arguments[0]).data.length;", element_id)


def severe_console_errors(driver) -> list[str]:
    try:
        entries = driver.get_log("browser")
    except Exception:  # noqa: BLE001  (not every driver exposes the log; then there is nothing to check)
        return []
    # A favicon 404 or the deliberately bad upload's 4xx answer is not a page error.
    return [
        e["message"]
        for e in entries
        if e.get("level") == "SEVERE"
        and "favicon" not in e["message"]
        and "/analyse - Failed to load resource" not in e["message"]
    ]


def full_page_screenshot(driver, name: str) -> None:
    """Save the whole page (not just the viewport) under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(int(height) + 140, 5000))
    time.sleep(0.4)  # let the responsive charts settle after the resize
    driver.save_screenshot(str(ARTIFACTS / name))
    driver.set_window_size(size["width"], size["height"])


def log_in(driver, base, email="carol@clinic.example.org", password=PASSWORD):
    driver.get(base + "/login")
    by_id(driver, "email").send_keys(email)
    by_id(driver, "password").send_keys(password)
    by_id(driver, "password").submit()
    wait_for(driver, lambda d: d.current_url.rstrip("/") == base)


def test_ui_pages_behind_login_redirect_to_login(live_app, browser):
    for path in ("/", "/patients", "/analyse", "/model"):
        browser.delete_all_cookies()
        browser.get(live_app.url + path)
        wait_for(browser, lambda d: "/login" in d.current_url)
        assert browser.find_element("id", "email").get_attribute("name") == "email"


def test_ui_wrong_password_shows_message(live_app, browser):
    browser.delete_all_cookies()
    browser.get(live_app.url + "/login")
    by_id(browser, "email").send_keys("carol@clinic.example.org")
    by_id(browser, "password").send_keys("not-the-password")
    by_id(browser, "password").submit()
    wait_for(browser, lambda d: "Wrong email or password" in d.page_source)
    assert "/login" in browser.current_url


def test_ui_full_flow(live_app, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base = live_app.url
    browser.delete_all_cookies()
    log_in(browser, base)
    assert "Carol Reyes" in by_id(browser, "content").find_element(By.TAG_NAME, "h1").text

    # Create a patient.
    browser.get(base + "/patients/new")
    by_id(browser, "name").send_keys("Dana Whitfield")
    by_id(browser, "external_id").send_keys("MRN-0042")
    by_id(browser, "save-patient").click()
    wait_for(browser, lambda d: "/patients/" in d.current_url and "Dana Whitfield" in d.title)

    # Upload the sample CSV for that patient from the patient's page.
    by_id(browser, "analyse-patient").click()
    wait_for(browser, lambda d: "/analyse" in d.current_url)
    assert Select(by_id(browser, "patient_id")).first_selected_option.text.startswith("Dana Whitfield")
    by_id(browser, "file").send_keys(str(SAMPLE))
    wait_for(browser, lambda d: "sample_beats.csv" in d.find_element(By.CSS_SELECTOR, "[data-filename]").text)
    by_id(browser, "analyse-submit").click()
    wait_for(browser, lambda d: "/analyses/" in d.current_url)

    # The charts: overview (scores + threshold), gauge (1 bar), beat (band base, signal, reconstruction, error).
    for chart in ("overview-chart", "gauge-chart", "beat-chart"):
        wait_for(browser, lambda d, c=chart: rendered(d, c))
    assert trace_count(browser, "overview-chart") == 2
    assert trace_count(browser, "beat-chart") == 4
    assert trace_count(browser, "gauge-chart") == 1
    assert browser.execute_script("return document.getElementById('overview-chart')._fullData[0].y.length") == 12
    assert "Dana Whitfield" in by_id(browser, "content").text
    full_page_screenshot(browser, "result-page.png")

    # Open a beat by clicking its point in the overview.
    first = browser.find_element(By.ID, "beat-chart").get_attribute("data-beat")
    target = 7 if first != "7" else 8
    point = browser.find_elements(By.CSS_SELECTOR, "#overview-chart .scatterlayer .trace:first-child path.point")[
        target - 1
    ]
    ActionChains(browser).move_to_element(point).click().perform()
    wait_for(browser, lambda d: d.find_element(By.ID, "beat-chart").get_attribute("data-beat") == str(target))
    wait_for(browser, lambda d: f"beat={target}" in d.current_url)
    assert f"Beat {target} " in browser.execute_script("return document.getElementById('beat-chart').layout.title.text")
    assert by_id(browser, "beat-select").get_attribute("value") == str(target)

    # And with the beat number box.
    number_box = by_id(browser, "beat-select")
    number_box.clear()
    number_box.send_keys("3")
    number_box.submit()
    wait_for(browser, lambda d: d.find_element(By.ID, "beat-chart").get_attribute("data-beat") == "3")
    assert trace_count(browser, "beat-chart") == 4
    full_page_screenshot(browser, "result-page-beat-3.png")

    # Download the CSV with the browser's session.
    href = by_id(browser, "download-csv").get_attribute("href")
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    request = urllib.request.Request(href, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own live server)
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers["Content-Disposition"]
        lines = response.read().decode("utf-8").strip().splitlines()
    assert lines[0].startswith("analysis_id,patient,filename,beat,score")
    assert len(lines) == 13 and "Dana Whitfield" in lines[1]

    assert severe_console_errors(browser) == []

    # Log out.
    by_id(browser, "logout").click()
    wait_for(browser, lambda d: "/login" in d.current_url)
    browser.get(base + "/patients")
    wait_for(browser, lambda d: "/login" in d.current_url)


def test_ui_bad_upload_shows_api_message(live_app, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from ecg_backend.errors import InputError
    from ecg_backend.services.beat_input import beats_from_csv

    bad = tmp_path / "short_row.csv"
    rows = [",".join(["0.5"] * 140), ",".join(["0.5"] * 139)]
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as expected:
        beats_from_csv(bad.read_bytes(), 5000)

    browser.delete_all_cookies()
    log_in(browser, live_app.url)
    browser.get(live_app.url + "/analyse")
    by_id(browser, "file").send_keys(str(bad))
    by_id(browser, "analyse-submit").click()
    error = by_id(browser, "upload-error")
    wait_for(browser, lambda d: error.is_displayed() and error.text.strip())
    assert error.text.strip() == expected.value.message
    assert "/analyse" in browser.current_url
    # The form is still there to try again, next to the message.
    assert browser.find_element(By.ID, "analyse-submit").is_enabled()
    full_page_screenshot(browser, "bad-upload.png")


def test_ui_pages_fit_a_tablet_and_log_no_errors(live_app, browser):
    """At tablet width (820 px) no page scrolls sideways and no page logs a console error."""
    from selenium.webdriver.common.by import By

    base = live_app.url
    browser.delete_all_cookies()
    log_in(browser, base)
    browser.get_log("browser") if hasattr(browser, "get_log") else None  # drop earlier entries
    size = browser.get_window_size()
    browser.set_window_size(820, 1180)
    try:
        browser.get(base + "/")
        sample = browser.find_elements(By.ID, "try-sample")
        if sample:
            sample[0].click()
            wait_for(browser, lambda d: "/analyses/" in d.current_url)
        else:
            browser.get(base + "/analyses/1")
        wait_for(browser, lambda d: rendered(d, "beat-chart"))
        result_url = browser.current_url
        for name, url in (
            ("home", base + "/"),
            ("patients", base + "/patients"),
            ("analyse", base + "/analyse"),
            ("result", result_url),
            ("model", base + "/model"),
        ):
            browser.get(url)
            wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")
            if name == "result":
                wait_for(browser, lambda d: rendered(d, "beat-chart"))
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
            )
            assert overflow <= 1, f"{name} page scrolls sideways by {overflow}px at 820px"
            full_page_screenshot(browser, f"tablet-{name}.png")
        assert severe_console_errors(browser) == []
    finally:
        browser.set_window_size(size["width"], size["height"])


def test_ui_upload_form_is_keyboard_reachable(live_app, browser):
    """Tabbing from the top of the Analyse page reaches the file picker, the patient select and the button."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.delete_all_cookies()
    log_in(browser, live_app.url)
    browser.get(live_app.url + "/analyse")
    by_id(browser, "file")
    reached = set()
    browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
    for _ in range(25):
        ActionChains(browser).send_keys(Keys.TAB).perform()  # to the page, as a person would press it
        reached.add(browser.switch_to.active_element.get_attribute("id"))
        if {"file", "patient_id", "analyse-submit"} <= reached:
            break
    assert {"file", "patient_id", "analyse-submit"} <= reached, reached
    labels = browser.execute_script(
        "return ['file', 'patient_id'].map(function (id) {"
        "  return document.querySelector('label[for=' + id + ']') !== null; });"
    )
    assert labels == [True, True]


def test_ui_drag_and_drop_upload(live_app, browser):
    """A file dropped on the drop zone is the one uploaded (the drop is dispatched as the browser would)."""
    browser.delete_all_cookies()
    log_in(browser, live_app.url)
    browser.get(live_app.url + "/analyse")
    by_id(browser, "dropzone")
    text = "\n".join(SAMPLE.read_text().splitlines()[:4]) + "\n"  # header + 3 beats
    over, files, label = browser.execute_script(
        """
        var dt = new DataTransfer();
        dt.items.add(new File([arguments[0]], "dropped.csv", {type: "text/csv"}));
        var zone = document.getElementById("dropzone");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
        var over = zone.classList.contains("dragover");
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        return [over, document.getElementById("file").files.length,
                document.querySelector("[data-filename]").textContent];""",
        text,
    )
    assert over is True and files == 1 and label.startswith("dropped.csv")
    by_id(browser, "analyse-submit").click()
    wait_for(browser, lambda d: "/analyses/" in d.current_url)
    wait_for(browser, lambda d: rendered(d, "overview-chart"))
    assert browser.execute_script("return document.getElementById('overview-chart')._fullData[0].y.length") == 3
    assert "dropped.csv" in by_id(browser, "content").text
