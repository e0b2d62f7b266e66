"""Headless Chromium for the browser tests, and a live server thread for the app under test."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1366,900",
)


# The policy the product is meant to run under: no inline or third-party scripts. Plotly sets inline styles.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class LiveServer:
    """Serve a WSGI app on 127.0.0.1 with an OS-chosen port from a daemon thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def chromium_paths() -> tuple[str | None, str | None]:
    """(chromium binary, chromedriver) from ECG_CHROMIUM / ECG_CHROMEDRIVER or the Debian locations."""
    chromium = os.environ.get("ECG_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    driver = os.environ.get("ECG_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return (chromium if Path(chromium).exists() else None, driver if Path(driver).exists() else None)


def require_chromium() -> None:
    """Skip (fail under CI=true) when Chromium or chromedriver is missing, saying how to install them."""
    from tests.conftest import unavailable

    if not all(chromium_paths()):
        unavailable(
            "Chromium and chromedriver",
            "apt-get install chromium chromium-driver, or set ECG_CHROMIUM and ECG_CHROMEDRIVER",
        )


def start_chromium():
    """A headless Chromium with a fresh profile; returns (driver, profile_dir)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = chromium_paths()
    profile = tempfile.mkdtemp(prefix="ecg-ui-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(30)
    return driver, profile


@contextmanager
def live_app_with_clinician(db_path: Path, email: str, password: str, name: str, **overrides):
    """A live server for a fresh test app (temp SQLite, storage beside it, untrained detector) holding one
    clinician; ``overrides`` are app settings.

    Responses carry STRICT_CSP unless the app set a policy itself, so a page that needed an inline script
    breaks and logs a console error.
    """
    from ecg_backend.services.users import create_user
    from tests.conftest import dispose_app, make_test_app

    overrides.setdefault("ECG_STORAGE_DIR", str(db_path.parent / "storage"))
    app = make_test_app(f"sqlite:///{db_path}", **overrides)
    with app.app_context():
        create_user(email, password, name=name, role="clinician")

    @app.after_request
    def strict_csp(response):
        response.headers.setdefault("Content-Security-Policy", STRICT_CSP)
        return response

    try:
        with LiveServer(app) as server:
            yield server
    finally:
        dispose_app(app)


def wait_until(driver, condition, timeout: float):
    """Wait until ``condition(driver)`` is truthy. An element that went stale because the page navigated
    while the condition read it is retried, like one not found yet (a race, not a failure)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


@contextmanager
def chromium_driver():
    """A headless Chromium session, failing the test with a clear message when Chromium is missing."""
    require_chromium()
    driver, profile = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
