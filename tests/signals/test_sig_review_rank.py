"""Review order: the family whose answer would change most labels comes first, not the one with most V calls."""

import numpy as np

from ecg_backend.signals.families import FamilyModel, family_table


def _model(sizes):
    family = np.repeat(np.arange(len(sizes)), sizes)
    distance = np.ones((len(family), len(sizes)), np.float32)
    distance[np.arange(len(family)), family] = 0.5
    return FamilyModel(family=family, distance=distance, centres=np.zeros((len(sizes), 4), np.float32))


def test_sig_uncertain_family_before_a_family_of_confident_v_calls():
    # family 0: 100 V scored 5 x the operating point (sure); family 1: 20 N scored 0.8 x (unsure: the rules'
    # doubt); family 2: 300 N scored 0.1 x. sqrt(100) = 10 < 20 unsure beats: family 1 first, then 0, then 2
    model = _model([100, 20, 300])
    labels = np.array(["V"] * 100 + ["N"] * 20 + ["N"] * 300, dtype=object)
    ratio = np.concatenate([np.full(100, 5.0), np.full(20, 0.8), np.full(300, 0.1)])
    table = family_table(model, labels, score_ratio=ratio).set_index("family")
    assert table["review_rank"].to_dict() == {1: 0, 0: 1, 2: 2}


def test_sig_labelled_family_goes_last_and_q_flagged_beats_count_as_v():
    model = _model([30, 9, 50])
    labels = np.array(["V"] * 30 + ["Q"] * 9 + ["N"] * 50, dtype=object)
    ratio = np.concatenate([np.full(30, 4.0), np.full(9, 3.0), np.full(50, 0.1)])
    table = family_table(model, labels, score_ratio=ratio).set_index("family")
    assert table["review_rank"].to_dict() == {0: 0, 1: 1, 2: 2}  # sqrt(30) > sqrt(9) > 0
    reviewed = family_table(model, labels, reviewed={0: "V"}, score_ratio=ratio).set_index("family")
    assert reviewed.loc[0, "review_rank"] == 2 and reviewed.loc[0, "reviewed"]
