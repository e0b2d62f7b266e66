"""A person's review of a 24-h recording, timed through the API: relabel a family, a beat, undo, and the lists.

    python benchmarks/bench_recording_review.py [--hours 24] [--fs 360]

Analyses a simulated two-lead Holter (a 5-minute neurokit2 ECG repeated with fresh noise) the way its job
does (stored input, job body with the model, reading kept beside the signal), then times, through the test
client: ``PATCH .../families/<f>`` (the change stored, the review replayed with apply_labels, the analysis's
result rewritten in one transaction), ``PATCH .../beats/<i>``, ``DELETE .../labels/<id>``,
``GET .../families`` (with shapes), ``GET .../beats`` of a 10-s strip, ``GET /api/v1/analyses/<id>`` and the
three exports. Prints each latency and the sizes of the stored files.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_app import bench_app, bench_reader  # noqa: E402


def simulated_holter(hours: float, fs: float) -> np.ndarray:
    import neurokit2 as nk

    tile = nk.ecg_simulate(
        duration=300, sampling_rate=int(fs), heart_rate=72, noise=0.0, random_state=0, method="ecgsyn"
    )
    n = int(hours * 3600 * fs)
    rng = np.random.default_rng(0)
    return np.resize(tile, n) + rng.normal(0, 0.02, n)


def _timed(client, method: str, url: str, headers: dict, **kwargs):
    began = time.perf_counter()
    response = client.open(url, method=method, headers=headers, **kwargs)
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])
    return elapsed, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--fs", type=float, default=360.0)
    args = parser.parse_args()

    from ecg_backend.extensions import db
    from ecg_backend.models import Analysis, User
    from ecg_backend.services import jobs, recordings, storage
    from ecg_backend.signals.leads import ParsedRecording

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp, without_model=False)
        owner_id, headers = bench_reader(app)
        first = simulated_holter(args.hours, args.fs)
        parsed = ParsedRecording(
            signal=first,
            fs=args.fs,
            lead="MLII",
            leads=["MLII", "V5"],
            source="wfdb",
            extra_leads=(-0.5 * first).astype(np.float32)[:, None],
            extra_names=["V5"],
            lead_info={"MLII": {"gain": 200.0}, "V5": {"gain": 200.0}},
        )
        with app.app_context():
            user = db.session.get(User, owner_id)
            began = time.perf_counter()
            path = storage.save_job_input(parsed)
            job = jobs.create_job(user, "recording", {"sampling_rate": args.fs, "lead": "MLII"}, input_path=path)
            del parsed, first
            analysis_id = recordings.run_recording_job(job, lambda *a: None)
            print(f"stored and analysed {args.hours:g} h in {time.perf_counter() - began:.1f} s")
            folder = storage.recording_folder(db.session.get(Analysis, analysis_id))
        for name in sorted(os.listdir(folder)):
            print(f"  {name}: {os.path.getsize(os.path.join(folder, name)) / 2**20:.1f} MiB")
        client = app.test_client()
        base = f"/api/v1/recordings/{analysis_id}"
        elapsed, response = _timed(client, "GET", f"{base}/families", headers)
        families = response.get_json()["items"]
        print(f"GET families ({len(families)} with shapes): {elapsed * 1000:.0f} ms")
        timings = [
            ("PATCH family -> V", "PATCH", f"{base}/families/{families[0]['family']}", {"json": {"label": "V"}}),
            ("PATCH beat -> N", "PATCH", f"{base}/beats/100", {"json": {"label": "N"}}),
        ]
        changes = []
        for label, method, url, kwargs in timings:
            elapsed, response = _timed(client, method, url, headers, **kwargs)
            changes.append(response.get_json()["change"]["id"])
            print(f"{label}: {elapsed * 1000:.0f} ms (beat counts {response.get_json()['beat_counts']})")
        elapsed, _ = _timed(client, "DELETE", f"{base}/labels/{changes[0]}", headers)
        print(f"DELETE label (undo): {elapsed * 1000:.0f} ms")
        for label, url in (
            ("GET beats of a 10-s strip", f"{base}/beats?start=43200&end=43210"),
            ("GET analysis (full result)", f"/api/v1/analyses/{analysis_id}"),
            ("GET beats.csv", f"{base}/beats.csv"),
            ("GET events.csv", f"{base}/events.csv"),
            ("GET annotations.zip", f"{base}/annotations.zip"),
        ):
            elapsed, response = _timed(client, "GET", url, headers)
            print(f"{label}: {elapsed * 1000:.0f} ms, {len(response.data) / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
