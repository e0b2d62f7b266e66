"""The Holter report of a 24-h recording, timed through the API: ``GET /api/v1/recordings/<id>/report.pdf``.

    python benchmarks/bench_report.py [--hours 24] [--fs 360] [--leads 2] [--repeat 3]

Stores a simulated Holter signal (`bench_signal_window.simulated_holter`) and a reading of its size (a beat
every 0.8 s with N/S/V/Q labels and families, a few hundred events of every type) as the job would, then
asks for the report as the recording page's link does. Prints the median and worst time and the PDF's size
and page count. Target: at most 15 s for 24 h (server, 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_app import bench_app, bench_reader, store_recording
from benchmarks.bench_signal_window import simulated_holter

EVENT_TYPES = ("couplet", "triplet", "run", "bigeminy", "trigeminy", "pause", "bradycardia", "tachycardia")


def simulated_reading(hours: float, seed: int = 0) -> dict:
    """A stored result of a 24-h size with the columns the job stores: beats (R peak, time, R-R, scores, labels,
    family), events, families, summary."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.normal(0.8, 0.05, int(hours * 3600 / 0.8)))
    times = times[times < hours * 3600 - 1]
    labels = rng.choice(np.array(["N", "S", "V", "Q"]), len(times), p=[0.96, 0.015, 0.02, 0.005])
    family = np.where(labels == "N", rng.integers(0, 4, len(times)), rng.integers(4, 20, len(times)))
    starts = np.sort(rng.uniform(0, hours * 3600 - 20, 400))
    events = [
        {
            "type": EVENT_TYPES[i % len(EVENT_TYPES)],
            "start_s": round(float(s), 3),
            "end_s": round(float(s) + 3, 3),
            "n_beats": int(2 + i % 6),
            "rate_bpm": float(60 + i % 120),
        }
        for i, s in enumerate(starts)
    ]
    families = [
        {
            "family": f,
            "n_beats": int((family == f).sum()),
            "representative": int(np.flatnonzero(family == f)[0]),
            "label": "N" if f < 4 else "V",
            "review_rank": f,
        }
        for f in range(20)
    ]
    counts = {c: int((labels == c).sum()) for c in "NSVQ"}
    return {
        "summary": {
            "duration_s": hours * 3600,
            "n_beats": len(times),
            "beat_counts": counts,
            "burden_percent": round(100 * (counts["S"] + counts["V"]) / len(times), 2),
            "mean_hr_bpm": 75,
            "unusable_s": 0,
        },
        "beats": {
            "r_peak": np.round(times * 360.0).astype(int).tolist(),
            "time_s": np.round(times, 3).tolist(),
            "rr_s": [None] + np.round(np.diff(times), 3).tolist(),
            **{
                col: np.round(rng.random(len(times)), 5).tolist()
                for col in ("score", "confidence", "morph_distance", "ae_error")
            },
            "is_anomaly": np.isin(labels, ["S", "V"]).tolist(),
            "label": labels.tolist(),
            "label_auto": labels.tolist(),
            "label_source": ["auto"] * len(times),
            "family": family.tolist(),
        },
        "events": as_columns(events),
        "families": as_columns(families),
    }


def as_columns(rows: list[dict]) -> dict:
    """Rows as the stored ``{column: [values]}`` table."""
    return {key: [row[key] for row in rows] for key in rows[0]} if rows else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--fs", type=float, default=360.0)
    parser.add_argument("--leads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        owner_id, headers = bench_reader(app)
        result = simulated_reading(args.hours)
        columns = simulated_holter(args.hours, args.fs, args.leads)
        analysis_id = store_recording(app, owner_id, columns, args.fs, [f"lead {k}" for k in range(args.leads)], result)
        del columns
        client = app.test_client()
        times, body = [], b""
        for _ in range(args.repeat):
            began = time.perf_counter()
            response = client.get(f"/api/v1/recordings/{analysis_id}/report.pdf", headers=headers)
            times.append(time.perf_counter() - began)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            body = response.data
        pages = body.count(b"/Type /Page\n") or body.count(b"/Type /Page")
        print(
            f"report.pdf of a {args.hours:g}-h {args.leads}-lead {args.fs:g} Hz recording "
            f"({result['summary']['n_beats']} beats, {len(result['events']['type'])} events): "
            f"median {statistics.median(times):.2f} s, worst {max(times):.2f} s "
            f"(target <= 15 s); {len(body) / 1024:.0f} kB, ~{pages} pages"
        )


if __name__ == "__main__":
    main()
