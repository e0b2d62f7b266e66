"""Signal windows of a stored 24-h recording, timed through the API: a 10-s strip and the whole-day overview.

    python benchmarks/bench_signal_window.py [--hours 24] [--fs 360] [--leads 2] [--repeat 20]

Stores a simulated Holter (the record's own 16-bit samples with a gain, as a WFDB upload has them) under a
temporary storage root, then requests ``GET /api/v1/recordings/<id>/signal`` as the recording page does:
10-s strips at random places (exact samples) and the 24-h overview (``points=2000``, a min/max envelope),
each from a freshly opened file. Prints the store's size and write time, and per request the median and
worst latency. Targets: a 10-s window <= 300 ms, the 24-h overview <= 500 ms (server, 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_app import add_recording, bench_app, bench_reader, signal_path  # noqa: E402


def simulated_holter(hours: float, fs: float, leads: int, gain: float = 200.0) -> list[np.ndarray]:
    """A beat-like periodic signal with noise, quantised to ``gain`` steps per mV (float64, mV)."""
    n = int(hours * 3600 * fs)
    rng = np.random.default_rng(0)
    phase = (np.arange(n) / fs * 1.2) % 1.0
    beat = np.exp(-(((phase - 0.3) / 0.015) ** 2)) * 1.6 - np.exp(-(((phase - 0.6) / 0.08) ** 2)) * 0.3
    return [np.round((beat * (1 - 0.3 * k) + rng.normal(0, 0.02, n)) * gain) / gain for k in range(leads)]


def _timed(client, url: str, headers: dict) -> tuple[float, dict]:
    began = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.get_data(as_text=True)
    return elapsed, response.get_json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--fs", type=float, default=360.0)
    parser.add_argument("--leads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from ecg_backend.signals import store

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        owner_id, headers = bench_reader(app)
        columns = simulated_holter(args.hours, args.fs, args.leads)
        path = signal_path(app)
        began = time.perf_counter()
        header = store.write_signal(
            path, columns, args.fs, [store.LeadInfo(f"lead {k}", gain=200.0) for k in range(args.leads)]
        )
        written = time.perf_counter() - began
        float_bytes = len(columns[0]) * args.leads * 4
        del columns
        url = f"/api/v1/recordings/{add_recording(app, owner_id, args.fs, [f'lead {k}' for k in range(args.leads)])}/signal"
        client = app.test_client()
        size = os.path.getsize(path)
        print(
            f"stored {args.hours:g} h, {args.leads} leads at {args.fs:g} Hz as {header['dtype']}: "
            f"{size / 2**20:.1f} MiB (samples as float32 alone: {float_bytes / 2**20:.1f} MiB), "
            f"written in {written:.2f} s"
        )
        duration = args.hours * 3600
        rng = np.random.default_rng(1)
        strips, overview = [], []
        for _ in range(args.repeat):
            start = float(rng.uniform(0, duration - 10))
            elapsed, body = _timed(client, f"{url}?start={start:.3f}&end={start + 10:.3f}&points=4000", headers)
            strips.append(elapsed)
            elapsed, body = _timed(client, f"{url}?start=0&end={duration:g}&points=2000", headers)
            overview.append(elapsed)
        points = len(body["leads"][0]["values"])
        for name, times, target in (
            ("10-s window (exact samples)", strips, 0.3),
            (f"{args.hours:g}-h overview ({points} values per lead)", overview, 0.5),
        ):
            print(
                f"{name}: median {statistics.median(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms "
                f"over {len(times)} requests (target {target * 1000:.0f} ms)"
            )


if __name__ == "__main__":
    main()
