"""R peaks, segmentation and quality on synthetic signals with known beats."""

import numpy as np
import pytest

from ecg_backend.signals.beats import _drop_t_waves, detect_r_peaks, qrs_envelope, refine_peaks, segment_beats
from ecg_backend.signals.mitdb import detection_counts, match_peaks
from ecg_backend.signals.quality import assess_quality
from ecg_backend.signals.recording import analyze_recording
from ecg_backend.signals.scoring import robust_z
from tests.signals.helpers import synthetic_ecg


@pytest.mark.parametrize("fs", [128.0, 250.0, 360.0, 500.0, 1000.0])
def test_sig_peaks_found_at_several_rates(fs):
    signal, truth = synthetic_ecg(seconds=40, fs=fs, heart_rate=72)
    found = detect_r_peaks(signal, fs)
    counts = detection_counts(truth, found, fs, tol_s=0.05)
    assert counts["fn"] <= 1 and counts["fp"] <= 1, counts
    assert counts["tp"] >= len(truth) - 1


def test_sig_match_peaks_by_hand():
    ref = np.array([100, 200, 300])
    det = np.array([102, 260, 301, 500])
    ref_to_det, matched = match_peaks(ref, det, tolerance=5)
    assert ref_to_det.tolist() == [0, -1, 2]
    assert matched.tolist() == [True, False, True, False]


def test_sig_segment_beats_shape_position_and_polarity():
    filtered = np.zeros(2000)
    peaks = np.array([200, 400, 600, 800])
    filtered[peaks] = 1.0  # upward R spikes
    beats = segment_beats(filtered, peaks, polarity=-1.0)
    assert beats.shape == (4, 140)
    np.testing.assert_allclose(beats.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(beats.std(axis=1), 1, atol=1e-4)
    # R sits 2.5% into the window (sample 3-4 of 140) and points down, as in ECG5000
    assert np.argmin(beats[0]) in (3, 4)
    assert beats[0].min() < -3


def test_sig_robust_z_by_hand():
    z = robust_z(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    # median 3, MAD 1 -> scale 1.4826
    np.testing.assert_allclose(z[:4], (np.array([1, 2, 3, 4]) - 3) / 1.4826)
    assert z[4] > 60


def _quality_reasons(signal, fs):
    return assess_quality(signal, fs).segments


@pytest.fixture(scope="module")
def base_signal():
    return synthetic_ecg(seconds=60, fs=250.0, seed=3)


@pytest.mark.parametrize("case", ["flat", "clipped", "missing", "noise"])
def test_sig_bad_segments_found_and_beatless(case, base_signal, untrained):
    fs = 250.0
    signal = base_signal[0].copy()
    a, b = int(20 * fs), int(30 * fs)
    if case == "flat":
        signal[a:b] = signal[a]
    elif case == "clipped":
        top = np.percentile(signal, 99.0)
        signal[a:b] = np.minimum(signal[a:b], top)
        signal = np.minimum(signal, signal[a:b].max())
        signal[a:b] = np.clip(signal[a:b] * 3, None, signal[a:b].max())
    elif case == "missing":
        signal[a:b] = np.nan
    else:
        signal[a:b] = np.random.default_rng(0).normal(0, 2.0, b - a)
    result = analyze_recording(signal, fs, detector=untrained)
    reasons = {s["reason"] for s in result.segments if s["start_s"] < 30 and s["end_s"] > 20}
    assert case in reasons, result.segments
    times = result.beats["time_s"].to_numpy()
    inside = (times > 20.5) & (times < 29.5)
    assert not inside.any() or case == "clipped"
    assert result.summary["unusable_s"] >= 6
    assert result.summary["n_beats"] > 40  # the rest of the minute still yields beats


def test_sig_clean_signal_has_no_unusable_segment(base_signal):
    assert _quality_reasons(base_signal[0], 250.0) == []


def test_sig_all_flat_or_all_nan_never_crash(untrained):
    for signal in (np.zeros(5000), np.full(5000, np.nan), np.full(5000, 3.0)):
        result = analyze_recording(signal, 250.0, detector=untrained)
        assert result.summary["n_beats"] == 0
        assert result.summary["unusable_s"] == pytest.approx(20.0)
        assert len(result.beats) == 0


def test_sig_analyze_recording_columns_and_summary(base_signal, untrained):
    signal, truth = base_signal
    progress = []
    result = analyze_recording(signal, 250.0, detector=untrained, progress=lambda p, m: progress.append(p))
    for col in ("r_peak", "time_s", "rr_s", "score", "is_anomaly", "confidence"):
        assert col in result.beats.columns
    assert abs(len(result.beats) - len(truth)) <= 1
    assert ((result.beats["confidence"] >= 0) & (result.beats["confidence"] <= 1)).all()
    s = result.summary
    assert s["duration_s"] == pytest.approx(60.0)
    assert 60 < s["mean_hr_bpm"] < 85
    assert s["burden_percent"] == pytest.approx(100 * s["n_anomalous"] / s["n_beats"])
    assert progress[-1] == 100.0 and progress == sorted(progress)
    assert result.beat_matrix.shape == (len(result.beats), 140)


def test_sig_ectopic_beats_score_above_normal(untrained):
    """Beats with a different QRS shape that also come early score higher than the rest."""
    fs = 250.0
    signal, truth = synthetic_ecg(seconds=60, fs=fs, seed=5)
    odd = truth[5::10]
    width = int(0.12 * fs)
    for r in odd:  # a wide negative complex 150 ms early, replacing the normal QRS
        early = r - int(0.15 * fs)
        signal[r - 15 : r + 15] = np.median(signal)
        signal[early - width : early + width] -= 1.5 * np.hanning(2 * width)
    result = analyze_recording(signal, fs, detector=untrained)
    ref_to_det, _ = match_peaks(odd - int(0.15 * fs), result.beats["r_peak"].to_numpy(), int(0.1 * fs))
    assert (ref_to_det >= 0).mean() > 0.8
    flagged = result.beats["is_anomaly"].to_numpy()
    assert flagged[ref_to_det[ref_to_det >= 0]].mean() > 0.8
    assert flagged.sum() <= len(odd) + 3


def test_sig_rejects_bad_rate_and_shape(untrained):
    with pytest.raises(ValueError):
        analyze_recording(np.zeros(5000), 50.0, detector=untrained)
    with pytest.raises(ValueError):
        analyze_recording(np.zeros((2, 5000)), 250.0, detector=untrained)


def test_sig_long_recording_model_gating_keeps_flags(untrained, monkeypatch):
    """Scoring only the beats whose flag can depend on the model (and a sample) keeps the flags here."""
    from ecg_backend.signals import stages

    fs = 250.0
    signal, truth = synthetic_ecg(seconds=60, fs=fs, seed=7)
    width = int(0.12 * fs)
    for r in truth[4::9]:
        signal[r - width : r + width] -= 1.2 * np.hanning(2 * width)
    full = analyze_recording(signal, fs, detector=untrained)
    monkeypatch.setattr(stages, "MODEL_ALL_BEATS", 10)
    monkeypatch.setattr(stages, "MODEL_SAMPLE", 8)
    gated = analyze_recording(signal, fs, detector=untrained)
    assert gated.summary["model_scored_beats"] < full.summary["model_scored_beats"] == len(full.beats)
    assert full.beats["is_anomaly"].sum() > 0
    np.testing.assert_array_equal(gated.beats["is_anomaly"].to_numpy(), full.beats["is_anomaly"].to_numpy())


def test_sig_beat_waveform_spans_qrs_and_st_t():
    from ecg_backend.signals import scoring

    fs = 100.0
    ramp = np.arange(1000, dtype=np.float64)  # value == sample index
    wave = scoring.beat_waveform(ramp, np.array([300, 500]), fs)
    assert wave.shape == (2, scoring.WAVE_POINTS)
    # R-100 ms .. R+300 ms: 40 samples at 100 Hz, each row minus its median
    np.testing.assert_allclose(wave[:, -1] - wave[:, 0], 40.0)
    np.testing.assert_allclose(np.median(wave, axis=1), 0.0, atol=1e-9)
    assert scoring.beat_waveform(ramp, np.array([], dtype=np.int64), fs).shape == (0, scoring.WAVE_POINTS)


def test_sig_morphology_distance_shift_tolerance_and_outlier():
    from ecg_backend.signals.scoring import morphology_distance

    t = np.arange(56, dtype=np.float64)
    normal = np.exp(-0.5 * ((t - 14) / 2.0) ** 2)
    rows = [normal + 0.01 * np.sin(i + t) for i in range(40)]
    rows.append(np.roll(normal, 3))  # the same beat, R marked 3 points late
    rows.append(-normal)  # opposite polarity: a different beat
    morph = np.array(rows)
    peaks = np.arange(len(morph)) * 100
    ratio = np.ones(len(morph))
    tolerant = morphology_distance(morph, peaks, 100.0, ratio, shift=4)
    strict = morphology_distance(morph, peaks, 100.0, ratio, shift=0)
    assert tolerant[-1] == tolerant.max() and tolerant[-1] > 5
    assert tolerant[-2] < 3 < strict[-2]


def test_sig_drop_t_waves_removes_large_p_wave_before_r():
    fs = 100.0
    envelope = np.zeros(600)
    peaks = np.array([100, 200, 279, 300, 400, 500])  # 279: a P wave 210 ms before the R at 300
    energy = np.array([1.0, 1.0, 0.6, 1.0, 1.0, 1.0])
    envelope[peaks] = energy
    kept = _drop_t_waves(peaks, envelope, fs)
    assert kept.tolist() == [100, 200, 300, 400, 500]


def test_sig_searchback_finds_every_beat_of_a_fast_wide_salvo():
    """A beat the primary detector skips inside a salvo of wide beats leaves a gap about twice its
    neighbours, though too short against the sinus R-R: the search-back uses the shorter reference."""
    fs = 250.0
    signal, truth = synthetic_ecg(seconds=120, fs=fs, heart_rate=70, seed=11)
    base = np.median(signal)
    width = int(0.14 * fs)
    k = np.searchsorted(truth, 60 * fs)
    salvo = truth[k] - int(0.3 * fs) + np.arange(5) * int(0.46 * fs)
    signal[truth[k] - 30 : truth[k + 3] + 30] = base
    for r in salvo:
        signal[r - width : r + width] -= 1.5 * np.hanning(2 * width)
    found = detect_r_peaks(signal, fs)
    ref_to_det, _ = match_peaks(salvo, found, int(0.06 * fs))
    assert (ref_to_det >= 0).all(), (salvo / fs, found[(found > salvo[0] - fs) & (found < salvo[-1] + fs)] / fs)
    outside = truth[(truth < salvo[0] - fs) | (truth > salvo[-1] + 2 * fs)]
    counts = detection_counts(outside, found[(found < salvo[0] - fs) | (found > salvo[-1] + 2 * fs)], fs, 0.05)
    assert counts["fn"] <= 1 and counts["fp"] <= 1, counts


def test_sig_refine_moves_an_onset_mark_to_the_wide_qrs_not_the_p_wave():
    """A detector mark at the onset of a wide complex, 95 ms before its peak, with a P wave 40 ms before the
    mark: the largest deflection within 60 ms of the mark is the P wave; the QRS-energy centre is not."""
    fs = 360.0
    t = np.arange(int(2 * fs)) / fs
    mark = int(1.0 * fs)
    qrs = mark + int(0.095 * fs)
    filtered = 0.4 * np.exp(-(((t - (mark / fs - 0.04)) / 0.03) ** 2)) - np.exp(-(((t - qrs / fs) / 0.03) ** 2))
    plain = refine_peaks(np.array([mark]), filtered, fs)
    centred = refine_peaks(np.array([mark]), filtered, fs, envelope=qrs_envelope(filtered, fs))
    assert abs(int(plain[0]) - (mark - int(0.04 * fs))) <= 2  # the old refinement lands on the P wave
    assert abs(int(centred[0]) - qrs) <= 2
