"""The recording pages in headless Chromium: upload with a progress bar, then the result page's charts."""

import numpy as np
import pytest

from tests.signals.helpers import synthetic_ecg
from tests.ui.browser import ARTIFACTS, chromium_driver, live_app_with_clinician

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_app_with_clinician(
        tmp_path_factory.mktemp("rec") / "ui.db", "rita@clinic.example.org", PASSWORD, "Rita"
    ) as server:
        yield server


@pytest.fixture(scope="module")
def driver():
    with chromium_driver() as drv:
        yield drv


def _wait(drv, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(drv, timeout).until(condition)


def test_sig_upload_progress_and_recording_page(live, driver, tmp_path):
    from selenium.webdriver.common.by import By

    signal, _ = synthetic_ecg(seconds=40, fs=250.0, seed=2)
    width = 30
    for r in np.arange(1500, len(signal) - 100, 2000):  # a few wide ectopic complexes to flag
        signal[r - width : r + width] -= 1.5 * np.hanning(2 * width)
    csv = tmp_path / "holter.csv"
    csv.write_text("time,MLII\n" + "\n".join(f"{i / 250:.4f},{v:.4f}" for i, v in enumerate(signal)))

    driver.get(live.url + "/login")
    _wait(driver, lambda d: d.find_element(By.ID, "email")).send_keys("rita@clinic.example.org")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "password").submit()
    _wait(driver, lambda d: d.current_url.rstrip("/") == live.url)

    driver.get(live.url + "/recordings/new")
    driver.find_element(By.ID, "rec-file").send_keys(str(csv))
    driver.find_element(By.CSS_SELECTOR, "#recording-form button[type=submit]").click()
    _wait(driver, lambda d: "/recordings/" in d.current_url and "/new" not in d.current_url)
    # the review page's strip is drawn from the stored signal's windows (tests/ui/test_ui_recording_browser.py)
    assert driver.find_element(By.ID, "strip").tag_name == "canvas"
    ARTIFACTS.mkdir(exist_ok=True)
    errors = [
        e["message"]
        for e in driver.get_log("browser")
        if e.get("level") == "SEVERE" and "favicon" not in e["message"] and "/api/v1/recordings/" not in e["message"]
    ]
    assert errors == []
