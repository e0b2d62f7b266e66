"""Synthetic ECGs with known beats for the signal tests."""

from __future__ import annotations

import time

import numpy as np


def synthetic_ecg(seconds: float = 60.0, fs: float = 360.0, heart_rate: float = 70.0, seed: int = 0):
    """neurokit2's simulated ECG and the sample indices of its R peaks (found on the noise-free copy)."""
    import neurokit2 as nk

    clean = nk.ecg_simulate(
        duration=seconds, sampling_rate=int(fs), heart_rate=heart_rate, noise=0.0, random_state=seed, method="ecgsyn"
    )
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


def _normal_beat(t: np.ndarray) -> np.ndarray:
    """P, QRS (narrow, upright) and T waves around an R peak at t = 0 (seconds)."""
    return (
        0.12 * np.exp(-(((t + 0.16) / 0.025) ** 2))
        - 0.1 * np.exp(-(((t + 0.025) / 0.01) ** 2))
        + np.exp(-((t / 0.012) ** 2))
        - 0.2 * np.exp(-(((t - 0.03) / 0.012) ** 2))
        + 0.3 * np.exp(-(((t - 0.3) / 0.05) ** 2))
    )


def _ventricular_beat(t: np.ndarray) -> np.ndarray:
    """No P wave, a wide QRS of the other polarity and a discordant T wave."""
    return (
        -1.3 * np.exp(-((t / 0.04) ** 2))
        + 0.4 * np.exp(-(((t - 0.07) / 0.03) ** 2))
        + 0.45 * np.exp(-(((t - 0.32) / 0.07) ** 2))
    )


def beat_train(kinds: str, fs: float = 250.0, rr_s: float = 0.8, seed: int = 0, pauses: dict | None = None):
    """A simulated ECG from a string of beat kinds: "N" normal, "S" normal shape 35% early, "V" wide and 35%
    early (then a compensatory pause). ``pauses``: {beat index: R-R in seconds before that beat}.

    Returns:
        (signal, R-peak samples, kinds as an array).
    """
    rng = np.random.default_rng(seed)
    times, t = [], 0.5
    for i, kind in enumerate(kinds):
        rr = rr_s * (1 + rng.normal(0, 0.01))
        if pauses and i in pauses:
            rr = pauses[i]
        elif kind in "SV":
            rr = 0.65 * rr_s
        elif i and kinds[i - 1] in "SV":
            rr = 1.35 * rr_s
        t += rr if i else 0.0
        times.append(t)
    n = int((times[-1] + 1.0) * fs)
    signal = rng.normal(0, 0.01, n)
    grid = np.arange(n) / fs
    for when, kind in zip(times, kinds):
        a, b = int((when - 0.5) * fs), min(int((when + 0.6) * fs), n)
        shape = _ventricular_beat if kind == "V" else _normal_beat
        signal[max(a, 0) : b] += shape(grid[max(a, 0) : b] - when)
    return signal, np.round(np.asarray(times) * fs).astype(np.int64), np.array(list(kinds))
