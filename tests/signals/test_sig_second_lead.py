"""Second-lead search-back: beats the primary lead misses (a QRS shrunk to nearly nothing, a window the quality
check rejects) are found where an extra lead shows them; beats in rejected windows are kept and labelled Q."""

import numpy as np
import pytest

from ecg_backend.signals.beats import bandpass, second_lead_beats
from ecg_backend.signals.mitdb import detection_counts, match_peaks
from ecg_backend.signals.recording import analyze_recording
from tests.signals.helpers import synthetic_ecg

FS = 250.0


@pytest.fixture(scope="module")
def leads():
    """neurokit2's ECG (lead 1) and an inverted, scaled copy with its own noise (lead 2)."""
    lead1, truth = synthetic_ecg(seconds=90, fs=FS, seed=7)
    lead2 = -0.8 * lead1 + np.random.default_rng(8).normal(0, 0.01, len(lead1))
    return lead1, lead2, truth


def _between(truth, a_s, b_s):
    return truth[(truth > a_s * FS) & (truth < b_s * FS)]


def test_sig_second_lead_finds_beats_where_the_primary_qrs_nearly_vanishes(leads, untrained):
    """An electrode losing contact for 6 s shrinks lead 1 to 2% (still judged usable: it is a clean small
    signal); lead 2 shows every beat."""
    lead1, lead2, truth = leads
    weak = lead1.copy()
    a, b = int(40 * FS), int(46 * FS)
    base = np.median(weak)
    weak[a:b] = base + 0.02 * (weak[a:b] - base)
    hidden = _between(truth, 40.3, 45.7)
    one = analyze_recording(weak, FS, detector=untrained).beats["r_peak"].to_numpy()
    both = analyze_recording(weak, FS, detector=untrained, extra_leads=lead2)
    found = both.beats["r_peak"].to_numpy()
    tol = int(0.1 * FS)
    assert (match_peaks(hidden, one, tol)[0] < 0).sum() >= len(hidden) // 2  # lead 1 alone misses them
    assert (match_peaks(hidden, found, tol)[0] >= 0).all()
    counts = detection_counts(truth, found, FS, tol_s=0.1)
    assert counts["fp"] == 0 and counts["fn"] <= 1, counts


def test_sig_beats_in_a_rejected_window_are_kept_and_labelled_q(leads, untrained):
    """A noise burst makes lead 1's windows unusable: they are still reported (unusable_s, segments), and the
    beats lead 2 shows there are in the table, labelled Q (they count in no burden or event)."""
    lead1, lead2, truth = leads
    noisy = lead1.copy()
    a, b = int(50 * FS), int(60 * FS)
    noisy[a:b] = np.random.default_rng(0).normal(0, 2.0, b - a)
    result = analyze_recording(noisy, FS, detector=untrained, extra_leads=lead2)
    assert any(s["reason"] == "noise" and s["start_s"] < 60 and s["end_s"] > 50 for s in result.segments)
    assert result.summary["unusable_s"] >= 8
    beats = result.beats
    inside = _between(truth, 50.5, 59.5)
    ref_to_det, _ = match_peaks(inside, beats["r_peak"].to_numpy(), int(0.1 * FS))
    assert (ref_to_det >= 0).all()
    rows = ref_to_det[ref_to_det >= 0]
    assert (beats["label"].to_numpy()[rows] == "Q").all()
    assert beats["unusable"].to_numpy()[rows].all()
    assert not beats["is_anomaly"].to_numpy()[rows].any()
    assert result.summary["beat_counts"]["Q"] >= len(inside)
    # without the second lead the window holds no beat, as before
    alone = analyze_recording(noisy, FS, detector=untrained).beats["time_s"].to_numpy()
    assert not ((alone > 50.5) & (alone < 59.5)).any()


def test_sig_second_lead_adds_the_beat_a_long_gap_misses():
    fs = 100.0
    peaks = np.arange(100, 3000, 80)
    other = np.zeros(3100)
    other[peaks] = 1.0
    missed = peaks[17]
    added = second_lead_beats(np.delete(peaks, 17), bandpass(other, fs), fs)
    assert len(added) == 1 and abs(int(added[0]) - missed) <= 2


def test_sig_second_lead_seeing_beats_where_there_are_none_is_not_trusted():
    """A lead with a spike between every pair of beats (where the primary lead's regular rhythm leaves no
    room) is not used, even to fill a real gap."""
    fs = 100.0
    peaks = np.arange(100, 3000, 80)
    other = np.zeros(3100)
    other[peaks] = 1.0
    other[peaks[:-1] + 40] = 1.0
    assert len(second_lead_beats(np.delete(peaks, 17), bandpass(other, fs), fs)) == 0


def test_sig_weak_detection_the_second_lead_does_not_show_is_dropped(leads, untrained):
    """Artefacts in lead 1 alone (a sharp deflection, 0.8 of the R wave, in the middle of five R-R intervals)
    are found as beats from lead 1; lead 2 shows nothing there, so with it they are dropped, no true beat lost."""
    lead1, lead2, truth = leads
    spiky = lead1.copy()
    t = np.arange(len(spiky)) / FS
    marks = [(truth[i] + truth[i + 1]) // 2 for i in range(30, 80, 10)]
    for m in marks:
        spiky += 0.8 * np.exp(-(((t - m / FS) / 0.012) ** 2))
    tol = int(0.1 * FS)
    one = analyze_recording(spiky, FS, detector=untrained).beats["r_peak"].to_numpy()
    assert (match_peaks(np.array(marks), one, tol)[0] >= 0).sum() >= 3  # lead 1 alone takes them for beats
    both = analyze_recording(spiky, FS, detector=untrained, extra_leads=lead2).beats["r_peak"].to_numpy()
    assert (match_peaks(np.array(marks), both, tol)[0] < 0).all()
    counts = detection_counts(truth, both, FS, tol_s=0.1)
    assert counts["fp"] == 0 and counts["fn"] <= 1, counts
