"""The recording upload form in headless Chromium: errors in words next to their field (the form's own
checks and the server's), then a good upload followed through the job's stages to the review page."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.signals.helpers import synthetic_ecg
from tests.ui.browser import ARTIFACTS, chromium_driver, live_app_with_clinician, wait_until

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple 42"
EMAIL = "upload.reader@clinic.example.org"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_app_with_clinician(tmp_path_factory.mktemp("recu") / "ui.db", EMAIL, PASSWORD, "Uma Reader") as server:
        yield server


@pytest.fixture(scope="module")
def driver():
    with chromium_driver() as drv:
        yield drv


def wait(drv, condition, timeout=60):
    return wait_until(drv, condition, timeout)


def choose(drv, path) -> None:
    """Replace the file input's selection (keys sent to a ``multiple`` input add to what it holds)."""
    from selenium.webdriver.common.by import By

    field = drv.find_element(By.ID, "rec-file")
    drv.execute_script("arguments[0].value = '';", field)
    field.send_keys(str(path))


def shown_error(drv, element_id) -> str:
    from selenium.webdriver.common.by import By

    el = drv.find_element(By.ID, element_id)
    return "" if el.get_attribute("hidden") is not None else el.text


def test_ui_upload_form_errors_in_words_then_progress(live, driver, tmp_path):
    from selenium.webdriver.common.by import By

    driver.get(live.url + "/login")
    wait(driver, lambda d: d.find_element(By.ID, "email")).send_keys(EMAIL)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "password").submit()
    wait(driver, lambda d: "/login" not in d.current_url)
    driver.get(live.url + "/recordings/new")
    submit = driver.find_element(By.ID, "rec-submit")
    # nothing chosen: the form says so next to the file field
    submit.click()
    assert "Choose the recording" in shown_error(driver, "rec-file-error")
    # the server's answer for a CSV without a rate lands next to the rate field, in words
    signal, _ = synthetic_ecg(seconds=20, fs=250.0, seed=5)
    csv = tmp_path / "no-rate.csv"
    csv.write_text("ecg\n" + "\n".join(f"{v:.4f}" for v in signal))
    driver.find_element(By.ID, "rec-file").send_keys(str(csv))
    submit.click()
    wait(driver, lambda d: shown_error(d, "rec-fs-error"))
    message = shown_error(driver, "rec-fs-error")
    assert "sampling rate" in message and "sampling_rate" not in message, message
    assert driver.find_element(By.ID, "rec-fs").get_attribute("aria-invalid") == "true"
    # a rate out of range is caught before anything is sent
    driver.find_element(By.ID, "rec-fs").send_keys("50")
    submit.click()
    assert "between 100 and 1000" in shown_error(driver, "rec-fs-error")
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "recording-upload-errors.png"))
    # a file the server cannot read: its message sits next to the file field
    other = tmp_path / "notes.pdf"
    other.write_bytes(b"%PDF-1.4 not an ECG")
    driver.find_element(By.ID, "rec-fs").clear()
    choose(driver, other)
    submit.click()
    wait(driver, lambda d: shown_error(d, "rec-file-error"))
    assert "unsupported file type" in shown_error(driver, "rec-file-error").lower()
    # a good upload: the stages advance and the review page opens; "running: done" never shows
    driver.find_element(By.ID, "rec-fs").send_keys("250")
    choose(driver, csv)
    submit.click()
    messages, deadline = set(), time.monotonic() + 90
    while "/new" in driver.current_url and time.monotonic() < deadline:
        messages.add(
            driver.execute_script("var m = document.getElementById('job-message'); return m && m.textContent;")
        )
        time.sleep(0.02)
    assert "/recordings/" in driver.current_url and "/new" not in driver.current_url
    assert not any("running: done" in (m or "").lower() for m in messages), messages
    assert np.isfinite(signal).all()
