"""Synthetic ECGs with known beats for the signal tests."""
from __future__ import annotations

import time

import numpy as np


def synthetic_ecg(seconds: float = 60.0, fs: float = 360.0, heart_rate: float = 70.0, seed: int = 0):
    """neurokit2's simulated ECG and the sample indices of its R peaks (found on the noise-free copy)."""
    import neurokit2 as nk

    clean = nk.ecg_simulate(duration=seconds, sampling_rate=int(fs), heart_rate=heart_rate, noise=0.0,
                            random_state=seed, method="ecgsyn")
    _, info = nk.ecg_peaks(clean, sampling_rate=int(fs), method="neurokit")
    rng = np.random.default_rng(seed)
    noisy = clean + rng.normal(0, 0.01, len(clean))
    return noisy, np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def wait_for_job(client, url: str, headers: dict, timeout: float = 60.0) -> dict:
    """Poll a job URL until the job has finished or failed; its last JSON body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers).get_json()
        if body["state"] in ("finished", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job did not finish: {body}")
