"""A stored recording analysis made through the API (upload, job, result), for the recording tests."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tests.signals.helpers import synthetic_ecg, wait_for_job

FS = 250


@lru_cache(maxsize=8)
def two_lead_upload(seconds: float = 40.0, seed: int = 3) -> dict:
    """JSON upload of a synthetic two-lead ECG (the second lead a scaled copy), rounded to 4 decimals.
    Shared between tests (simulating it takes a second): do not change it."""
    signal, _ = synthetic_ecg(seconds=seconds, fs=float(FS), seed=seed)
    first = np.round(signal, 4)
    return {"signal": [first.tolist(), np.round(-0.5 * signal, 4).tolist()], "sampling_rate": FS}


def upload_recording(client, headers: dict, payload: dict) -> int:
    """Upload ``payload``, wait for its job, return the analysis id."""
    response = client.post("/api/v1/recordings", json=payload, headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    job = wait_for_job(client, response.get_json()["url"], headers)
    assert job["state"] == "finished", job
    return job["analysis_id"]


def stored_recording(
    app, owner_id: int, payload: dict | None = None, patient_id: int | None = None, annotations: dict | None = None
) -> int:
    """A recording analysed the way its job does it, synchronously: stored input, Job row, job body;
    ``annotations`` ({"sample", "symbol"}) as if a WFDB .atr had come with the upload."""
    from ecg_backend.services import jobs, recordings, storage
    from ecg_backend.services.users import get_user
    from ecg_backend.signals.parsing import parse_json_signal

    payload = payload or two_lead_upload(seconds=20)
    with app.app_context():
        parsed = parse_json_signal(payload)
        parsed.annotations = annotations
        path = storage.save_job_input(parsed)
        job = jobs.create_job(
            get_user(owner_id),
            "recording",
            {"sampling_rate": parsed.fs, "lead": parsed.lead},
            input_path=path,
            patient_id=patient_id,
        )
        return recordings.run_recording_job(job, lambda *args: None)
