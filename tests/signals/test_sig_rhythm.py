"""Ventricular flutter reported as a rhythm episode; slow morphology drift not flagged as ectopy."""

import numpy as np
import pytest

from ecg_backend.signals.quality import flutter_windows, vf_filter_leakage
from ecg_backend.signals.recording import analyze_recording
from tests.signals.helpers import synthetic_ecg


def test_sig_vf_filter_leakage_sinusoid_vs_beats():
    fs = 250.0
    t = np.arange(int(4 * fs)) / fs
    assert vf_filter_leakage(np.sin(2 * np.pi * 4.5 * t)) < 0.1
    signal, _ = synthetic_ecg(seconds=20, fs=fs, seed=1)
    from ecg_backend.signals.beats import bandpass

    filtered = bandpass(signal, fs)
    assert vf_filter_leakage(filtered[: int(4 * fs)]) > 0.6
    assert vf_filter_leakage(np.zeros(100)) == 1.0
    # outside the flutter/fibrillation band a sinusoid is not judged: slow drift, residual mains
    assert vf_filter_leakage(np.sin(2 * np.pi * 4.5 * t), fs) < 0.1
    assert vf_filter_leakage(np.sin(2 * np.pi * 0.8 * t), fs) == 1.0
    assert vf_filter_leakage(np.sin(2 * np.pi * 30.0 * t), fs) == 1.0


def test_sig_flutter_windows_need_a_core_and_a_minimum_length():
    leak = np.array([0.8, 0.55, 0.4, 0.45, 0.58, 0.8, 0.45, 0.8, 0.55, 0.55, 0.7])
    # 1..4: core 0.4 extended over neighbours < 0.6 (4 windows); 6: a single low window is not an episode;
    # 8..9: below the extension level but without a core
    assert np.where(flutter_windows(leak))[0].tolist() == [1, 2, 3, 4]


def _with_flutter(fs, seed=2):
    signal, truth = synthetic_ecg(seconds=80, fs=fs, seed=seed)
    a, b = int(30 * fs), int(50 * fs)
    t = np.arange(b - a) / fs
    amp = np.percentile(np.abs(signal - np.median(signal)), 99.9)
    signal[a:b] = np.median(signal) + amp * np.sin(2 * np.pi * 4.5 * t)
    return signal, truth, a, b


@pytest.mark.parametrize("fs", [250.0, 360.0])
def test_sig_flutter_reported_as_an_episode_without_beats(fs, untrained):
    signal, truth, a, b = _with_flutter(fs)
    result = analyze_recording(signal, fs, detector=untrained)
    episodes = result.episodes
    assert len(episodes) == 1 and episodes[0]["rhythm"] == "ventricular_flutter", episodes
    # the episode covers the flutter (2-s windows, so within one window of its edges)
    assert abs(episodes[0]["start_s"] - 30.0) <= 2.0 and abs(episodes[0]["end_s"] - 50.0) <= 2.0
    assert result.summary["flutter_episodes"] == 1
    assert result.summary["flutter_s"] == pytest.approx(episodes[0]["end_s"] - episodes[0]["start_s"])
    r = result.beats["r_peak"].to_numpy()
    inside = (r > int(episodes[0]["start_s"] * fs)) & (r < int(episodes[0]["end_s"] * fs))
    assert not inside.any()
    # sinus beats outside the episode are all still there
    outside_truth = truth[(truth < a - 2 * fs) | (truth > b + 2 * fs)]
    found = np.abs(r[None, :] - outside_truth[:, None]).min(axis=1) < 0.05 * fs
    assert found.mean() > 0.98
    # flutter is not unusable signal
    assert not any(s["start_s"] < 45 and s["end_s"] > 35 for s in result.segments), result.segments


def test_sig_slow_swing_of_a_loose_lead_is_not_flutter(untrained):
    fs = 250.0
    signal, truth = synthetic_ecg(seconds=60, fs=fs, seed=9)
    a, b = int(20 * fs), int(40 * fs)
    signal[a:b] = np.median(signal) + 2.0 * np.sin(2 * np.pi * 0.8 * np.arange(b - a) / fs)
    result = analyze_recording(signal, fs, detector=untrained)
    assert result.episodes == []


def test_sig_sinus_rhythm_has_no_flutter_episode(untrained):
    signal, _ = synthetic_ecg(seconds=60, fs=360.0, heart_rate=110, seed=4)
    result = analyze_recording(signal, 360.0, detector=untrained)
    assert result.episodes == [] and result.summary["flutter_s"] == 0.0


def test_sig_slow_morphology_drift_is_not_flagged(untrained):
    """QRS amplitude shrinking by 40% and the T wave flattening over 10 minutes, with baseline wander:
    every beat stays close to its neighbours, so (almost) none may be flagged."""
    fs = 250.0
    signal, truth = synthetic_ecg(seconds=600, fs=fs, heart_rate=75, seed=6)
    n = len(signal)
    ramp = np.linspace(0.0, 1.0, n)
    base = np.median(signal)
    signal = base + (signal - base) * (1.0 - 0.4 * ramp) + 0.1 * np.sin(2 * np.pi * 0.05 * np.arange(n) / fs)
    result = analyze_recording(signal, fs, detector=untrained)
    assert abs(len(result.beats) - len(truth)) <= 3
    assert result.beats["is_anomaly"].mean() < 0.01, result.beats["score"].describe()


def test_sig_wide_premature_beats_flagged_among_drifting_sinus(untrained):
    """The same drift, with a wide, early, inverted complex every 12th beat: those are flagged."""
    fs = 250.0
    signal, truth = synthetic_ecg(seconds=300, fs=fs, heart_rate=72, seed=8)
    base = np.median(signal)
    signal = base + (signal - base) * (1.0 - 0.3 * np.linspace(0.0, 1.0, len(signal)))
    odd = truth[6:-2:12]
    width = int(0.14 * fs)
    for r in odd:
        early = r - int(0.2 * fs)
        signal[r - 20 : r + 20] = base
        signal[early - width : early + width] -= 1.5 * np.hanning(2 * width)
    result = analyze_recording(signal, fs, detector=untrained)
    r = result.beats["r_peak"].to_numpy()
    flagged = result.beats["is_anomaly"].to_numpy()
    near = np.abs(r[None, :] - (odd - int(0.2 * fs))[:, None])
    hit = near.min(axis=1) < 0.1 * fs
    assert hit.mean() > 0.9
    assert flagged[near.argmin(axis=1)[hit]].mean() > 0.9
    assert flagged.sum() <= len(odd) + 3


def test_sig_anomalous_runs_by_hand():
    import pandas as pd

    from ecg_backend.signals.scoring import anomalous_runs

    flags = [0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1]
    rr = [0.8, 0.5, 0.4, 0.4, 0.9, 0.5, 0.5, 0.8, 0.5, 0.5, 0.5, 0.5, 0.8, 0.5, 0.7, 0.5]
    t = np.cumsum(rr)
    table = pd.DataFrame({"is_anomaly": np.array(flags, bool), "rr_s": rr, "time_s": t})
    runs = anomalous_runs(table)
    # beats 1-3 (3 beats), 8-11 (4 beats); 5-6 is too short; 13-15 is broken by a 0.7-s interval
    assert [(r["n_beats"], r["start_s"]) for r in runs] == [(3, round(t[1], 3)), (4, round(t[8], 3))]
    assert runs[0]["end_s"] == round(t[3], 3) and runs[0]["rate_bpm"] == 150.0
    assert anomalous_runs(table.iloc[:0]) == []


def test_sig_salvo_of_wide_beats_is_reported_as_a_run(untrained):
    fs = 250.0
    signal, truth = synthetic_ecg(seconds=120, fs=fs, heart_rate=70, seed=11)
    base = np.median(signal)
    width = int(0.14 * fs)
    k = np.searchsorted(truth, 60 * fs)
    start = truth[k] - int(0.3 * fs)
    salvo = start + np.arange(5) * int(0.46 * fs)  # five wide beats at 130 /min
    signal[truth[k] - 30 : truth[k + 3] + 30] = base
    for r in salvo:
        signal[r - width : r + width] -= 1.5 * np.hanning(2 * width)
    result = analyze_recording(signal, fs, detector=untrained)
    runs = result.runs
    assert len(runs) == 1, runs
    assert runs[0]["n_beats"] >= 4 and abs(runs[0]["start_s"] - salvo[0] / fs) < 0.2 and runs[0]["rate_bpm"] > 110
    assert result.summary["anomalous_runs"] == 1 and result.summary["longest_anomalous_run"] == runs[0]["n_beats"]
