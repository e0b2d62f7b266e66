"""The evaluation's beat-class counting and simulated reader on hand-countable cases."""

import numpy as np
import pandas as pd

from ecg_backend.signals.ec57 import class_counts, noise_outcome, pooled, reader_labels
from ecg_backend.signals.reading import RecordingAnalysis

FS = 100.0  # 150 ms = 15 samples


def test_sig_class_counts_by_hand():
    ref = np.array([100, 200, 300, 400, 500, 600, 700, 800])
    sym = np.array(["N", "V", "V", "A", "F", "E", "N", "a"])
    det = np.array([101, 205, 298, 399, 500, 650, 800, 900])
    # 600 (E) is not detected (650 is 50 samples away); 900 matches nothing
    labels = np.array(["V", "V", "N", "S", "V", "V", "S", "V"])
    counts = class_counts(ref, sym, det, labels, FS)
    # VEB: TP 200; FN 300 (labelled N) and 600 (missed); FP 100 (an N), 650 and 900 (no reference); F -> neither
    assert counts["veb"] == {"tp": 1, "fn": 2, "fp": 3}
    # SVEB: TP 400 and 800 (a); FN none; FP none
    assert counts["sveb"] == {"tp": 2, "fn": 0, "fp": 0}
    both = pooled([counts, counts])
    assert both["veb"]["tp"] == 2 and round(both["veb"]["se"], 2) == 33.33 and both["veb"]["ppv"] == 25.0


def _reading(peaks, labels, families, reps, segments=()):
    beats = pd.DataFrame({"r_peak": peaks, "time_s": np.asarray(peaks) / FS, "label": labels, "family": list(families)})
    fam = pd.DataFrame(
        {
            "family": range(len(reps)),
            "n_beats": np.bincount(families),
            "representative": reps,
            "label": "N",
            "review_rank": list(range(len(reps)))[::-1],
        }
    )
    return RecordingAnalysis(beats=beats, summary={"duration_s": 20.0}, segments=list(segments), families=fam)


def test_sig_simulated_reader_uses_the_representatives_reference_class():
    peaks = np.array([100, 300, 500, 700])
    analysis = _reading(peaks, ["N", "V", "N", "N"], np.array([0, 1, 2, 3]), [0, 1, 2, 3])
    ref = np.array([100, 302, 700])
    sym = np.array(["N", "F", "A"])
    # review order: family 3 first (rank 0), then 2, 1, 0
    assert reader_labels(analysis, ref, sym, FS, 2) == {3: "S", 2: "Q"}  # 500: no reference within 150 ms
    assert reader_labels(analysis, ref, sym, FS, 4) == {3: "S", 2: "Q", 1: "V", 0: "N"}  # F counts as V
    assert reader_labels(analysis, ref, sym, FS, 0) == {}


def test_sig_noise_outcome_by_hand():
    peaks = np.array([300, 500, 900, 1500])
    analysis = _reading(
        peaks,
        ["Q", "V", "N", "V"],
        np.array([0, 0, 0, 0]),
        [0],
        segments=[{"start_s": 10.0, "end_s": 12.0, "reason": "noise"}],
    )
    # noise spans 2..6 s and 9..13 s; Q beat at 3 s covers 2.5 .. 3.5 s
    out = noise_outcome(analysis, [(200, 600), (900, 1300)], np.array([1500, 1000]), FS)
    assert out["noise_s"] == 8.0 and out["unusable_s"] == 2.0 and out["q_s"] == 1.0
    assert out["v_in_noise"] == 1  # the V at 5 s (all V count when no reference is passed)
    assert out["artefacts"] == 2 and out["artefacts_v"] == 1 and out["artefacts_q_or_unusable"] == 1
    assert out["artefacts_no_beat"] == 1  # the mark at 10 s: no detection within 150 ms


def test_sig_reference_noise_spans_of_the_first_lead():
    from types import SimpleNamespace

    from ecg_backend.signals.mitdb import _noise_spans

    # '~' subtypes: 2 = second lead noisy, 0 = clean, 1 = first lead noisy, 0x20 = second unreadable,
    # 0x10 = first unreadable, 3 = both noisy, -1 = every lead unreadable (to the end)
    ann = SimpleNamespace(
        sample=[100, 200, 300, 400, 500, 600, 700, 800, 900, 950],
        symbol=["~", "~", "~", "N", "~", "~", "~", "~", "~", "~"],
        subtype=[2, 0, 1, 0, 0x20, 0x10, 3, 0, -1, -1],
    )
    assert _noise_spans(ann, 1000) == [
        (100, 200),
        (300, 500),
        (500, 600),
        (600, 700),
        (700, 800),
        (900, 950),
        (950, 1000),
    ]
    assert _noise_spans(ann, 1000, lead=0) == [(300, 500), (600, 700), (700, 800), (900, 950), (950, 1000)]
