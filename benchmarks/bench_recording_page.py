"""The recording page of a 24-h Holter in headless Chromium: time to interactive and strip page turns.

    python benchmarks/bench_recording_page.py [--hours 24] [--turns 20]

Stores a simulated 24-h two-lead recording and a reading of its size (`bench_report.simulated_reading`)
in a temporary app served on 127.0.0.1, opens ``/recordings/<id>`` in headless Chromium (Debian's chromium
and chromium-driver, or ECG_CHROMIUM / ECG_CHROMEDRIVER), and prints: the time from navigation to a drawn,
pageable strip (``data-ready-ms``), to the whole page drawn (overview, full disclosure, families), and the
median and worst strip page turn by the right-arrow key (key press to drawn strip, ``data-turn-ms``).
Targets: interactive within 2 s, a page turn within 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_app import EMAIL, PASSWORD, bench_app, bench_reader, store_recording
from benchmarks.bench_report import simulated_reading
from benchmarks.bench_signal_window import simulated_holter


def _serve(tmp: str, hours: float):
    from tests.ui.browser import LiveServer

    app = bench_app(tmp)
    owner_id, _ = bench_reader(app)
    columns = simulated_holter(hours, 360.0, 2)
    analysis_id = store_recording(app, owner_id, columns, 360.0, ["MLII", "V1"], simulated_reading(hours))
    return LiveServer(app), analysis_id


def _attr(driver, name):
    return driver.execute_script("return document.getElementById('recording-view').getAttribute(arguments[0]);", name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.ui.browser import start_chromium

    with tempfile.TemporaryDirectory() as tmp:
        server, analysis_id = _serve(tmp, args.hours)
        with server:
            driver, _profile = start_chromium()
            try:
                driver.get(server.url + "/login")
                driver.find_element(By.ID, "email").send_keys(EMAIL)
                driver.find_element(By.ID, "password").send_keys(PASSWORD)
                driver.find_element(By.ID, "password").submit()
                WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)
                driver.get(f"{server.url}/recordings/{analysis_id}")
                wait = WebDriverWait(driver, 120)
                wait.until(lambda d: _attr(d, "data-ready") == "true")
                ready = float(_attr(driver, "data-ready-ms"))
                wait.until(lambda d: _attr(d, "data-loaded") == "true")
                loaded = driver.execute_script("return performance.now();")
                turns, body = [], driver.find_element(By.TAG_NAME, "body")
                for k in range(1, args.turns + 1):
                    body.send_keys(Keys.ARROW_RIGHT)
                    wait.until(lambda d, s=f"{10.0 * k:.3f}": _attr(d, "data-strip-start") == s)
                    turns.append(float(_attr(driver, "data-turn-ms")))
                    time.sleep(0.05)  # a reader's pace: the next page is prefetched meanwhile
            finally:
                driver.quit()
    print(f"recording page, {args.hours:g}-h 2-lead 360 Hz recording in headless Chromium:")
    print(f"  interactive (strip drawn, keys bound): {ready:.0f} ms after navigation (target <= 2000 ms)")
    print(f"  whole page drawn (overview, full disclosure, families): {loaded:.0f} ms")
    print(
        f"  strip page turn (right arrow, {len(turns)} turns): median {statistics.median(turns):.1f} ms, "
        f"worst {max(turns):.1f} ms (target <= 300 ms)"
    )


if __name__ == "__main__":
    main()
