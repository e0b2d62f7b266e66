"""Label-chosen VEB threshold bounds of the MIT-BIH evaluation (`evaluate.threshold_bounds`), on rows
built by hand so every figure can be counted on paper."""

import numpy as np
import pytest

from ecg_backend.signals.evaluate import format_thresholds, threshold_bounds


def _row(name, scores, veb, n_veb=None, op=9.0):
    scores, veb = np.asarray(scores, float), np.asarray(veb, bool)
    flag = scores > op
    return {
        "record": name,
        "det_score": scores,
        "det_veb": veb,
        "veb": int(veb.sum() if n_veb is None else n_veb),
        "veb_tp": int((flag & veb).sum()),
        "veb_fp": int((flag & ~veb).sum()),
        "operating_point": op,
    }


def _rows():
    # record a: its 4 VEBs score 4-7 (below the shipped 9.0), its normal beats 1-2.
    a = _row("a", [7, 6, 5, 4, 2, 1.5, 1], [1, 1, 1, 1, 0, 0, 0])
    # record b: 2 VEBs at 30 and 20, noise at 12 and 10 (flagged at 9.0), normal beats 3; one VEB undetected.
    b = _row("b", [30, 20, 12, 10, 3, 3], [1, 1, 0, 0, 0, 0], n_veb=3)
    return [a, b]


def test_sig_thresholds_shipped_global_and_per_record():
    out = threshold_bounds(_rows(), min_ppv=90.0, min_se=50.0)
    # shipped 9.0: b's 30, 20 (TP) and 12, 10 (FP); the 4 VEBs of a missed; 7 VEBs in all
    assert (out["shipped"]["tp"], out["shipped"]["fp"], out["shipped"]["fn"]) == (2, 2, 5)
    # one threshold for both records with PPV >= 90: only >= 20 (2 TP, 0 FP); lower ones admit 12 or 10
    assert (out["global"]["tp"], out["global"]["fp"]) == (2, 0) and out["global"]["threshold"] == 20
    # per record: a at >= 4 (4 TP), b at >= 20 (2 TP): 6 of 7 with no FP
    best = out["per_record_se"]
    assert (best["tp"], best["fp"], best["fn"]) == (6, 0, 1)
    assert best["thresholds"] == {"a": 4.0, "b": 20.0}
    assert best["se"] == pytest.approx(600 / 7) and best["ppv"] == 100.0


def test_sig_thresholds_ties_flag_together_and_bounds_can_be_unreachable():
    # a VEB and a normal beat tie at 5: no threshold separates them, so PPV 100% needs the cut above 5
    rows = [_row("c", [8, 5, 5, 1], [1, 1, 0, 0])]
    out = threshold_bounds(rows, min_ppv=100.0, min_se=100.0)
    assert (out["global"]["tp"], out["global"]["fp"]) == (1, 0)
    assert out["per_record_ppv"]["tp"] == 2 and out["per_record_ppv"]["fp"] == 1  # Se 100 needs the tie
    text = format_thresholds(rows, min_ppv=100.0, min_se=100.0)
    assert "shipped operating point (9)" in text and "PPV 66.67%" in text
    none = threshold_bounds([_row("d", [1, 2], [0, 0], n_veb=2)], min_ppv=90.0)
    assert none["per_record_se"] is None and none["global"] is None
    assert "none reaches the bound" in format_thresholds([_row("d", [1, 2], [0, 0], n_veb=2)])
