"""Beat classes, families, events and review on simulated recordings with known beats."""

import numpy as np
import pandas as pd
import pytest

from ecg_backend.signals.events import EventRules, find_events, hourly_table
from ecg_backend.signals.mitdb import match_peaks
from ecg_backend.signals.reading import load_reading, save_reading
from ecg_backend.signals.recording import analyze_recording
from ecg_backend.signals.review import apply_labels
from tests.signals.helpers import beat_train

FS = 250.0
# 10 cycles of 9 N + 1 V, bigeminy (6 cycles), trigeminy (4 cycles), premature atrial beats, a 2.6-s pause
# (before beat 200), a couplet, a triplet and a run of 5
KINDS = (
    ("N" * 9 + "V") * 10
    + "N" * 30
    + "NV" * 6
    + "N" * 30
    + "NNV" * 4
    + "N" * 20
    + "NNSNNNNNNN" * 5
    + "N" * 40
    + "VV"
    + "N" * 10
    + "VVV"
    + "N" * 10
    + "VVVVV"
    + "N" * 30
)


@pytest.fixture(scope="module")
def simulated(untrained):
    signal, peaks, kinds = beat_train(KINDS, fs=FS, pauses={200: 2.6})
    return analyze_recording(signal, FS, detector=untrained), peaks, kinds


def _labels_at(analysis, peaks):
    ref_to_det, _ = match_peaks(peaks, analysis.beats["r_peak"].to_numpy(), int(0.1 * FS))
    assert (ref_to_det >= 0).all()
    return analysis.beats["label"].to_numpy()[ref_to_det]


def test_sig_classes_of_inserted_beats(simulated):
    analysis, peaks, kinds = simulated
    got = _labels_at(analysis, peaks)
    np.testing.assert_array_equal(got, kinds)
    table = analysis.beats
    np.testing.assert_array_equal(table["is_anomaly"], table["label"].isin(["S", "V"]))
    counts = analysis.summary["beat_counts"]
    assert counts == {"N": int((kinds == "N").sum()), "S": 5, "V": int((kinds == "V").sum()), "Q": 0}
    assert analysis.summary["n_anomalous"] == counts["S"] + counts["V"]
    assert (table["label_source"] == "auto").all() and (table["label_auto"] == table["label"]).all()


def test_sig_events_of_inserted_patterns(simulated):
    analysis, peaks, _ = simulated
    events = analysis.events
    t = peaks / FS
    kinds_found = events["type"].tolist()
    for kind in ("bigeminy", "trigeminy", "pause", "couplet", "triplet", "run"):
        assert kinds_found.count(kind) == 1, events
    pause = events[events["type"] == "pause"].iloc[0]
    assert pause["start_s"] == pytest.approx(t[199], abs=0.02) and pause["end_s"] == pytest.approx(t[200], abs=0.02)
    run = events[events["type"] == "run"].iloc[0]
    first_v = KINDS.rindex("VVVVV")
    assert run["n_beats"] == 5 and run["start_s"] == pytest.approx(t[first_v], abs=0.02)
    big = events[events["type"] == "bigeminy"].iloc[0]
    assert big["n_beats"] == 12
    assert analysis.summary["event_counts"]["couplet"] == 1


def test_sig_families_table(simulated):
    analysis, _, _ = simulated
    fam = analysis.families
    assert list(fam.columns[:5]) == ["family", "n_beats", "representative", "label", "review_rank"]
    assert fam["n_beats"].sum() == len(analysis.beats)
    assert sorted(fam["review_rank"]) == list(range(len(fam)))
    table = analysis.beats
    for row in fam.itertuples():
        assert table["family"].iloc[row.representative] == row.family
    # the family a reader should check first holds ventricular beats; V beats and N beats share no family
    assert fam.sort_values("review_rank").iloc[0]["label"] == "V"
    v_families = set(table.loc[table["label"] == "V", "family"])
    n_families = set(table.loc[table["label"] == "N", "family"])
    assert not v_families & n_families


def test_sig_apply_labels_propagates_and_records_the_reader(simulated):
    analysis, _, _ = simulated
    table = analysis.beats
    v_family = int(table.loc[table["label"] == "V", "family"].mode()[0])
    reviewed = apply_labels(analysis, families={v_family: "N"})
    members = (table["family"] == v_family).to_numpy()
    assert (reviewed.beats["label"].to_numpy()[members] == "N").all()
    assert (reviewed.beats["label_source"].to_numpy()[members] == "reader").all()
    assert reviewed.summary["beat_counts"]["V"] == analysis.summary["beat_counts"]["V"] - members.sum()
    assert bool(reviewed.families.set_index("family").loc[v_family, "reviewed"])
    # the input reading is left as it was
    assert (analysis.beats["label"].to_numpy()[members] == "V").all()
    # a beat label wins over its family's; an empty review is the automatic reading (undo)
    index = int(np.flatnonzero(members)[0])
    again = apply_labels(analysis, families={v_family: "N"}, beats={index: "Q"})
    assert again.beats["label"].iloc[index] == "Q" and again.summary["beat_counts"]["Q"] == 1
    undone = apply_labels(again)
    pd.testing.assert_series_equal(undone.beats["label"], analysis.beats["label"])


def test_sig_a_family_called_v_is_v_throughout_and_n_keeps_its_s_and_q(simulated):
    """The reader's family label holds for every beat of the family, however normal a member scored (the issue:
    "the given labels hold"); a family called N keeps its S beats (timing) and Q beats (noise)."""
    from dataclasses import replace

    analysis = replace(simulated[0], beats=simulated[0].beats.copy())
    table = analysis.beats
    n_family = int(table["family"].mode()[0])
    members = (table["family"] == n_family).to_numpy()
    assert (table["score"].to_numpy()[members] < 0.2 * analysis.summary["operating_point"]).any()
    called_v = apply_labels(analysis, families={n_family: "V"})
    assert (called_v.beats["label"].to_numpy()[members] == "V").all()
    first, second = np.flatnonzero(members)[:2]
    table.loc[first, "label_auto"], table.loc[second, "label_auto"] = "S", "Q"
    called_n = apply_labels(analysis, families={n_family: "N"})
    assert called_n.beats["label"].iloc[first] == "S" and called_n.beats["label"].iloc[second] == "Q"
    rest = members & ~np.isin(table["label_auto"].to_numpy(dtype=object), ["S", "Q"])
    assert (called_n.beats["label"].to_numpy()[rest] == "N").all()


def test_sig_apply_labels_moves_similar_beats_to_a_family_called_v(untrained):
    # two V shapes close enough to be one shape: labelling the family of one pulls its near neighbours
    signal, _, _ = beat_train("NNNNNNNNNV" * 30, fs=FS, seed=3)
    analysis = analyze_recording(signal, FS, detector=untrained)
    table = analysis.beats
    n_family = int(table["family"].mode()[0])
    # pretend the rules had called one normal beat V: a reader's N family takes it back (the bar is raised)
    odd = int(np.flatnonzero((table["family"] == n_family).to_numpy())[5])
    table.loc[odd, "label_auto"] = "V"
    reviewed = apply_labels(analysis, families={n_family: "N"})
    assert reviewed.beats["label"].iloc[odd] == "N"


@pytest.mark.parametrize(
    "bad", [{"families": {99: "V"}}, {"families": {0: "X"}}, {"beats": {10**6: "N"}}, {"beats": {"a": "N"}}]
)
def test_sig_apply_labels_rejects_unknown_targets(simulated, bad):
    analysis, _, _ = simulated
    with pytest.raises(ValueError):
        apply_labels(analysis, **bad)


def test_sig_reading_round_trip_and_review_after_reload(simulated, tmp_path):
    analysis, _, _ = simulated
    path = tmp_path / "reading.npz"
    save_reading(analysis, path)
    loaded = load_reading(path)
    pd.testing.assert_frame_equal(loaded.beats, analysis.beats)
    for name in ("families", "events", "hourly"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(analysis, name), check_dtype=False)
    assert loaded.summary == analysis.summary and loaded.segments == analysis.segments
    np.testing.assert_array_equal(loaded.beat_matrix, analysis.beat_matrix)
    family = int(analysis.families.iloc[-1]["family"])
    a = apply_labels(analysis, families={family: "V"}, beats={3: "S"})
    b = apply_labels(loaded, families={family: "V"}, beats={3: "S"})
    pd.testing.assert_frame_equal(a.beats, b.beats)
    pd.testing.assert_frame_equal(a.events, b.events, check_dtype=False)
    assert a.summary == b.summary
    save_reading(analysis, tmp_path / "light.npz", waveforms=False)
    assert load_reading(tmp_path / "light.npz").beat_matrix is None
    (tmp_path / "other.npz").write_bytes(b"not a reading")
    with pytest.raises(ValueError):
        load_reading(tmp_path / "other.npz")


def test_sig_event_boundaries_by_hand():
    labels = np.array(list("NVVNVVVNVVVVNNNVNVNVNQVVN"))
    t = np.arange(len(labels)) * 0.5
    events = find_events(labels, t, gaps=[], episodes=[])
    got = [(e.type, e.start_s, e.end_s, e.n_beats) for e in events.itertuples()]
    assert ("couplet", 0.5, 1.0, 2) in got
    assert ("triplet", 2.0, 3.0, 3) in got
    assert ("run", 4.0, 5.5, 4) in got
    assert ("bigeminy", 7.0, 9.5, 6) in got  # N V N V N V from beat 14 to 19
    assert ("couplet", 11.0, 11.5, 2) in got  # after the Q beat: Q joins no event
    assert not any(e[0] == "pause" for e in got)
    assert events.loc[events["type"] == "run", "rate_bpm"].iloc[0] == 120.0


def test_sig_pause_rate_events_and_gaps_by_hand():
    # beats 0-19 at 1-s intervals, 20-29 at 2-s intervals (21 .. 39 s), 30-41 at 0.4-s intervals
    t = np.concatenate([np.arange(20) * 1.0, 19 + 2.0 * np.arange(1, 11), 39 + 0.4 * np.arange(1, 13)])
    labels = np.array(["N"] * len(t))
    events = find_events(labels, t, gaps=[], episodes=[], rules=EventRules())
    pauses = events[events["type"] == "pause"]
    assert len(pauses) == 10 and pauses.iloc[0]["start_s"] == 19.0 and pauses.iloc[0]["end_s"] == 21.0
    # 8-beat windows below 40 /min span more than 10.5 s: the first starts at beat 16 (16 .. 27 s), the last at
    # beat 24 (29 .. 39.8 s); the event is beats 16 .. 31
    brady = events[events["type"] == "bradycardia"]
    assert len(brady) == 1
    assert (brady.iloc[0]["start_s"], brady.iloc[0]["end_s"], brady.iloc[0]["n_beats"]) == (16.0, 39.8, 16)
    assert brady.iloc[0]["rate_bpm"] == round(60 * 15 / (39.8 - 16), 1)
    # above 120 /min: windows spanning under 3.5 s, from beat 29 (39 .. 41.4 s) to the end
    tachy = events[events["type"] == "tachycardia"]
    assert len(tachy) == 1 and (tachy.iloc[0]["start_s"], tachy.iloc[0]["n_beats"]) == (39.0, 13)
    # an interval across unusable signal is no pause and breaks the rate windows
    gapped = find_events(labels, t, gaps=[{"start_s": 19.5, "end_s": 20.5}], episodes=[])
    assert 19.0 not in gapped.loc[gapped["type"] == "pause", "start_s"].tolist()
    assert gapped.loc[gapped["type"] == "bradycardia", "start_s"].iloc[0] == 21.0
    hourly = hourly_table(labels, t, [], 60.0, events)
    assert len(hourly) == 1 and hourly.iloc[0]["beats"] == len(t) and hourly.iloc[0]["pauses"] == 10


def test_sig_noise_burst_beats_are_not_ventricular(untrained):
    signal, _, _ = beat_train("N" * 200, fs=FS, seed=5)
    rng = np.random.default_rng(1)
    a, b = int(60 * FS), int(64 * FS)
    signal[a:b] += rng.normal(0, 0.8, b - a)
    analysis = analyze_recording(signal, FS, detector=untrained)
    table = analysis.beats
    inside = (table["time_s"] > 59) & (table["time_s"] < 65)
    assert not (table.loc[inside, "label"] == "V").any()
    assert analysis.summary["beat_counts"]["V"] == 0
    covered = sum(min(s["end_s"], 64) - max(s["start_s"], 60) for s in analysis.segments if s["end_s"] > 60)
    assert covered >= 3.0 or (table.loc[inside, "label"] == "Q").any()


def test_sig_q_rule_on_a_hand_made_table():
    from ecg_backend.signals.classes import ClassRules, classify_beats

    # beat 2: strange and at 30% of the local R-R, alone (a T wave found as a beat) -> Q;
    # beats 5-6: strange and as early, but side by side (a salvo) -> V; beat 8: a strange beat in noise -> Q
    table = pd.DataFrame(
        {
            "score": [1, 1, 20, 1, 1, 20, 20, 1, 20, 1],
            "morph_distance": [1, 1, 6, 1, 1, 6, 6, 1, 6, 1],
            "rr_ratio": [1, 1, 0.3, 1.3, 1, 0.45, 0.45, 1.5, 0.7, 1.2],
            "rr_s": [0.8, 0.8, 0.24, 1.0, 0.8, 0.36, 0.36, 1.2, 0.56, 0.96],
            "noise_spikiness": [30, 30, 30, 30, 30, 30, 30, 30, 4.8, 30],
            "noise_swing": [1.0] * 10,
        }
    )
    labels = classify_beats(table, operating_point=8.25, rules=ClassRules(q_max_rr_ratio=0.5))
    assert labels.tolist() == ["N", "N", "Q", "N", "N", "V", "V", "N", "Q", "N"]
    # the shipped rules leave the early-beat test off: beat 2 is V
    assert classify_beats(table, operating_point=8.25)[2] == "V"


def test_sig_second_lead_and_faint_rules_on_a_hand_made_table():
    from ecg_backend.signals.classes import classify_beats

    # beat 1: wide, early, strange in both leads -> V; beat 3: strange only in the primary lead, normal in the
    # other -> not V; beat 5: scored V but its primary-lead shape is normal in a noisy window (a P / T wave or
    # a noise deflection found as a beat) -> Q; beats 7-8: a salvo strange in both leads in a noisy stretch -> V;
    # beat 10: scored V, no usable second lead (NaN) -> V
    table = pd.DataFrame(
        {
            "score": [1, 20, 1, 12, 1, 12, 1, 30, 30, 1, 20],
            "morph_distance": [1, 6, 1, 2.5, 1, 2.4, 1, 6, 6, 1, 5],
            "morph_distance_primary": [1, 6, 1, 2.8, 1, 1.5, 1, 6, 6, 1, 5],
            "morph_distance_extra": [1, 6, 1, 1.2, 1, 5.0, 1, 6, 6, 1, np.nan],
            "rr_ratio": [1, 0.65, 1.3, 1.0, 1, 0.5, 1.2, 0.6, 0.6, 1.3, 0.65],
            "rr_s": [0.8, 0.52, 1.04, 0.8, 0.8, 0.4, 0.96, 0.48, 0.48, 1.04, 0.52],
            "noise_spikiness": [30, 30, 30, 30, 8, 8, 8, 7, 7, 30, 30],
            "noise_swing": [1.0] * 11,
        }
    )
    labels = classify_beats(table, operating_point=9.0)
    assert labels.tolist() == ["N", "V", "N", "N", "N", "Q", "N", "V", "V", "N", "V"]


def _two_leads(kinds: str, seed: int = 7):
    signal, peaks, kinds = beat_train(kinds, fs=FS, seed=seed)
    other = 0.6 * signal + np.random.default_rng(seed + 1).normal(0, 0.01, len(signal))
    return signal, other, peaks, kinds


TWO_LEAD_KINDS = ("N" * 9 + "V") * 6 + "N" * 60 + "VVVVV" + "N" * 30 + ("N" * 9 + "V") * 4 + "N" * 20


@pytest.mark.parametrize("noisy", ["primary", "other"])
def test_sig_noise_burst_in_one_lead_is_not_ventricular(untrained, noisy):
    # a 6-s burst of noise in one lead, normal beats in both: no V inside it; the wide V beats (strange in both
    # leads) and the salvo of five stay V
    signal, other, peaks, kinds = _two_leads(TWO_LEAD_KINDS)
    a, b = int(100 * FS), int(106 * FS)
    rng = np.random.default_rng(2)
    burst = 2 * np.convolve(rng.normal(0, 0.12, b - a), np.ones(5) / 5, mode="same")
    (signal if noisy == "primary" else other)[a:b] += burst
    analysis = analyze_recording(signal, FS, detector=untrained, extra_leads=other)
    table = analysis.beats
    inside = ((table["time_s"] > 99.5) & (table["time_s"] < 106.5)).to_numpy()
    labels = table["label"].to_numpy()
    _, real = match_peaks(peaks, table["r_peak"].to_numpy(), int(0.1 * FS))  # not noise found as a beat
    assert (inside & real).sum() >= 6 and not (labels[inside & real] == "V").any()
    outside = peaks[(peaks < a - FS) | (peaks > b + FS)]
    got = _labels_at(analysis, outside)
    np.testing.assert_array_equal(got, kinds[(peaks < a - FS) | (peaks > b + FS)])
    assert analysis.summary["beat_counts"]["V"] >= int((kinds == "V").sum())


def _rhythm_table(rr_s: list, distance: float = 1.0, fs: float = 250.0) -> pd.DataFrame:
    """A beat table (the columns the class rules read) for normal-shaped beats at the given R-R intervals."""
    from ecg_backend.signals.scoring import rr_features

    peaks = np.round(np.cumsum(np.r_[0.5, rr_s]) * fs).astype(np.int64)
    rr, ratio = rr_features(peaks, fs, [])
    n = len(peaks)
    return pd.DataFrame(
        {
            "score": np.ones(n),
            "morph_distance": np.full(n, distance),
            "rr_ratio": ratio,
            "rr_s": rr,
            "noise_spikiness": np.full(n, 30.0),
            "noise_swing": np.ones(n),
        }
    )


def test_sig_run_of_fast_normal_beats_is_supraventricular(untrained):
    # 60 sinus beats, a run of 30 normal-shaped beats at 0.65 x the sinus R-R (longer than the local median's
    # window, which the run pulls down), 60 sinus beats, a run of 6, 40 sinus beats
    kinds = "N" * 60 + "S" * 30 + "N" * 60 + "S" * 6 + "N" * 40
    signal, peaks, kinds = beat_train(kinds, fs=FS)
    analysis = analyze_recording(signal, FS, detector=untrained)
    np.testing.assert_array_equal(_labels_at(analysis, peaks), kinds)


def test_sig_run_rule_by_hand():
    from ecg_backend.signals.classes import classify_beats

    rng = np.random.default_rng(3)
    sinus = list(0.8 * (1 + rng.normal(0, 0.01, 40)))
    # a run at 0.5 s that ends with a pause; then a beat 12% early followed by a pause (S) and one 12% early
    # without a pause (N)
    rr = sinus + [0.5] * 25 + [1.0] + sinus + [0.7, 1.0] + sinus + [0.7, 0.8] + sinus
    labels = classify_beats(_rhythm_table(rr), operating_point=8.25)
    expected = ["N"] * (len(rr) + 1)
    first = 41
    expected[first : first + 25] = ["S"] * 25
    single = first + 26 + 40
    expected[single] = "S"
    assert labels.tolist() == expected
    # the same run with a strange shape is never S (it is the V rule's business)
    assert "S" not in classify_beats(_rhythm_table(rr, distance=6.0), operating_point=8.25)[first : first + 25]


def test_sig_gradual_acceleration_and_irregular_rhythm_give_few_s():
    from ecg_backend.signals.classes import ClassRules, classify_beats

    # sinus tachycardia building up over ~60 beats: faster and faster, but never a sudden jump
    speeding = list(np.geomspace(0.9, 0.45, 60)) + [0.45] * 60
    assert "S" not in classify_beats(_rhythm_table(speeding), operating_point=8.25)
    # atrial-fibrillation-like rhythm: normal-shaped beats at irregular intervals (R-R 0.45-0.95 s): the
    # irregularity guard keeps "early" beats from becoming hundreds of S: a few percent remain where the random
    # intervals happen to look regular (2-3% of the beats in atrial fibrillation in MIT-BIH 201 and 203)
    rng = np.random.default_rng(0)
    fibrillation = _rhythm_table(list(rng.uniform(0.45, 0.95, 600)))
    assert (classify_beats(fibrillation, operating_point=8.25) == "S").sum() <= 45
    unguarded = classify_beats(fibrillation, operating_point=8.25, rules=ClassRules(s_max_irregularity=np.inf))
    assert (unguarded == "S").sum() > 200


def test_sig_high_frequency_noise_on_a_ventricular_shape_makes_it_q(untrained):
    # muscle-like noise on one wide beat: its shape cannot be told from the noise (Q); the clean wide beats and a
    # salvo of five (whose neighbours' QRS fall in each other's noise windows) stay V
    kinds = ("N" * 9 + "V") * 10 + "N" * 30 + "VVVVV" + "N" * 30
    signal, peaks, kinds = beat_train(kinds, fs=FS, seed=4)
    target = int(np.flatnonzero(kinds == "V")[3])
    a, b = peaks[target] - int(0.5 * FS), peaks[target] + int(0.5 * FS)
    signal[a:b] += np.random.default_rng(3).normal(0, 0.2, b - a)
    analysis = analyze_recording(signal, FS, detector=untrained)
    got = _labels_at(analysis, peaks)
    expected = kinds.copy()
    expected[target] = "Q"
    np.testing.assert_array_equal(got, expected)
    hf = analysis.beats["noise_hf"].to_numpy()
    near = np.abs(analysis.beats["r_peak"].to_numpy() - peaks[target]) < FS  # beats whose windows reach the noise
    assert np.median(hf) == pytest.approx(1.0) and hf[~near].max() < 2.0 and hf[near].max() > 8.0


def test_sig_hf_rule_on_a_hand_made_table():
    from ecg_backend.signals.classes import ClassRules, classify_beats

    table = pd.DataFrame(
        {
            "score": [1, 20, 20, 1, 20],
            "morph_distance": [1, 6, 6, 1, 6],
            "rr_ratio": [1, 0.65, 0.65, 1.3, 0.65],
            "rr_s": [0.8, 0.52, 0.52, 1.04, 0.52],
            "noise_spikiness": [30] * 5,
            "noise_swing": [1.0] * 5,
            "noise_hf": [1.0, 1.5, 12.0, 12.0, 7.0],
        }
    )
    assert classify_beats(table, operating_point=8.25).tolist() == ["N", "V", "Q", "N", "V"]
    assert classify_beats(table, 8.25, ClassRules(q_hf_noise=6.0)).tolist() == ["N", "V", "Q", "N", "Q"]
    # a stored reading without the column: the rule does not apply
    assert classify_beats(table.drop(columns="noise_hf"), operating_point=8.25)[2] == "V"


def test_sig_ventricular_beats_in_first_lead_noise_stay_ventricular(untrained):
    # 40 s of high-frequency noise on the first lead (noise_hf ~5-8 x the clean beats': the noise rules
    # are active), the second lead clean: the wide beats inside (strange in both leads, far out of the noisy normal
    # beats) stay V, the normal beats N
    signal, other, peaks, kinds = _two_leads(("N" * 9 + "V") * 12 + "N" * 20)
    a, b = int(30 * FS), int(70 * FS)
    signal[a:b] += np.random.default_rng(3).normal(0, 0.07, b - a)
    analysis = analyze_recording(signal, FS, detector=untrained, extra_leads=other)
    got = _labels_at(analysis, peaks)
    np.testing.assert_array_equal(got, kinds)
    inside = ((analysis.beats["time_s"] > 31) & (analysis.beats["time_s"] < 69)).to_numpy()
    assert np.median(analysis.beats["noise_hf"].to_numpy()[inside]) > 3.0


def test_sig_family_noise_rule_by_hand():
    from ecg_backend.signals.classes import ClassRules, family_noise

    # family 0: 19 N and one V in a noisy window (noise_hf 4) -> the V is Q (its family, which compares every
    # lead's QRS and ST-T, says normal shape); family 1: ventricular beats, one of them in the same noise -> V;
    # the V of family 2 (10 N, 1 V, clean window) -> V; family 3: 19 N and a V in a window where the QRS barely
    # stands out (spikiness 8) -> Q
    labels = np.array(["N"] * 19 + ["V"] + ["V"] * 5 + ["N"] * 10 + ["V"] + ["N"] * 19 + ["V"], dtype=object)
    family = np.array([0] * 20 + [1] * 5 + [2] * 11 + [3] * 20)
    hf = np.ones(len(labels))
    hf[[19, 22]] = 4.0
    spikiness = np.full(len(labels), 30.0)
    spikiness[-1] = 8.0
    table = pd.DataFrame({"noise_hf": hf, "noise_spikiness": spikiness})
    out = family_noise(table, labels, family)
    assert out[19] == "Q" and out[22] == "V" and out[35] == "V" and out[-1] == "Q"
    assert (out[labels != "V"] == labels[labels != "V"]).all() and (labels[19] == "V")  # a new array
    assert family_noise(table, labels, family, ClassRules(q_family_share=0.0))[19] == "V"
    assert family_noise(table.drop(columns="noise_hf"), labels, family)[19] == "V"  # no column: spikiness only
