"""Family consensus: members of a mostly-V family that the threshold missed become V, and nothing else moves."""

import numpy as np

from ecg_backend.signals.classes import ClassRules, family_consensus


def test_sig_mostly_v_family_takes_its_members_above_the_floor():
    # family 0: 8 V + 2 N (80 % V) -> both N follow if scored above half the operating point;
    # family 1: 3 V + 2 N + 5 Q (60 % of its N/S/V beats) -> unchanged; family 2: all N -> unchanged
    labels = np.array(["V"] * 8 + ["N", "S"] + ["V"] * 3 + ["N"] * 2 + ["Q"] * 5 + ["N"] * 4, dtype=object)
    family = np.array([0] * 10 + [1] * 10 + [2] * 4)
    ratio = np.full(len(labels), 0.8)
    ratio[9] = 0.3  # the S member of family 0 scored far below the threshold: its timing alone, keeps its label
    out = family_consensus(labels, family, ratio, ClassRules())
    assert out[8] == "V" and out[9] == "S"
    assert (out[10:] == labels[10:]).all()
    assert (labels[8] == "N") and out is not labels  # a new array; the input is untouched


def test_sig_q_beats_do_not_count_and_never_change():
    # 4 V and 1 N among the counted beats (80 %) although 5 more are Q: the N follows, the Q stay Q
    labels = np.array(["V"] * 4 + ["N"] + ["Q"] * 5, dtype=object)
    out = family_consensus(labels, np.zeros(10, np.int64), np.ones(10), ClassRules())
    assert out.tolist() == ["V"] * 5 + ["Q"] * 5
    stricter = family_consensus(labels, np.zeros(10, np.int64), np.ones(10), ClassRules(v_family_share=0.9))
    assert stricter.tolist() == labels.tolist()


def test_sig_family_consensus_of_no_beats():
    assert len(family_consensus(np.array([], dtype=object), np.array([], np.int64), np.array([]))) == 0
