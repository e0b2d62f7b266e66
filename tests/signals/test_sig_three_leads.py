"""Three-lead recordings: the two extra leads' morphology distances are averaged, a lead that is usable
nowhere is left out, and a 3-column CSV upload keeps both extra leads through the recording job."""

import io

import numpy as np
import pytest

from ecg_backend.signals import parsing, scoring
from ecg_backend.signals.recording import analyze_recording
from tests.signals.helpers import synthetic_ecg, wait_for_job

FS = 360.0
ODD_BEAT = 40


@pytest.fixture(scope="module")
def three_leads():
    """neurokit2's ECG as lead 1 (MLII); V1 a scaled copy with its own noise; V5 an inverted copy in which
    beat 40 alone carries a wide 400-ms deflection (a shape change that V5 alone shows)."""
    lead1, peaks = synthetic_ecg(seconds=60, fs=FS, seed=3)
    v1 = 0.6 * lead1 + np.random.default_rng(7).normal(0, 0.01, len(lead1))
    v5 = -0.7 * lead1 + np.random.default_rng(5).normal(0, 0.01, len(lead1))
    k = int(peaks[ODD_BEAT])
    t = np.arange(int(0.4 * FS)) / FS
    start = k - int(0.1 * FS)
    v5[start : start + len(t)] += 2.5 * np.sin(2 * np.pi * t / 0.4)
    return lead1, v1, v5, k


@pytest.fixture(scope="module")
def one_extra(three_leads, untrained):
    """The analyses with V1 alone and with V5 alone as the extra lead."""
    lead1, v1, v5, _ = three_leads
    return (
        analyze_recording(lead1, FS, detector=untrained, extra_leads=v1),
        analyze_recording(lead1, FS, detector=untrained, extra_leads=v5),
    )


def _beat(analysis, sample):
    return int(np.argmin(np.abs(analysis.beats["r_peak"].to_numpy() - sample)))


def test_sig_three_leads_both_extra_leads_contribute_their_mean(three_leads, one_extra, untrained):
    lead1, v1, v5, k = three_leads
    only_v1, only_v5 = one_extra
    both = analyze_recording(lead1, FS, detector=untrained, extra_leads=np.stack([v1, v5], axis=1))
    assert both.summary["extra_leads"] == 2 and both.summary["extra_leads_used"] == 2
    assert both.summary["extra_lead_beats_percent"] == 100.0
    assert both.summary["operating_point"] == scoring.OPERATING_POINT_MULTILEAD
    np.testing.assert_array_equal(both.beats["r_peak"], only_v1.beats["r_peak"])  # R peaks: the primary lead's
    # per beat, the extra distance is the mean of each lead's own distance: each lead counts
    expected = (only_v1.beats["morph_distance_extra"].to_numpy() + only_v5.beats["morph_distance_extra"].to_numpy()) / 2
    np.testing.assert_allclose(both.beats["morph_distance_extra"], expected, rtol=1e-12)
    i = _beat(both, k)
    assert i == ODD_BEAT
    assert only_v5.beats["morph_distance_extra"].iloc[i] > 20 > only_v1.beats["morph_distance_extra"].iloc[i] * 20
    assert both.beats["morph_distance_extra"].iloc[i] > 10
    # the odd beat stands out most with both leads, and its score lies between the two single-lead ones
    scores = both.beats["score"].to_numpy()
    assert scores[i] > 5 * np.delete(scores, i).max()
    assert only_v1.beats["score"].iloc[i] < scores[i] < only_v5.beats["score"].iloc[i]
    # a list of two 1-D leads is the same input
    again = analyze_recording(lead1, FS, detector=untrained, extra_leads=[v1, v5])
    np.testing.assert_array_equal(again.beats["score"], both.beats["score"])


@pytest.mark.parametrize("kind", ["missing", "disconnected"])
@pytest.mark.parametrize("position", [0, 1])
def test_sig_three_leads_unusable_lead_is_skipped_the_other_counts(three_leads, one_extra, untrained, kind, position):
    lead1, v1, v5, k = three_leads
    _, only_v5 = one_extra
    # V1 usable for its first second only: missing (NaN) or a disconnected electrode (flat zero) afterwards
    bad = np.full(len(lead1), np.nan if kind == "missing" else 0.0)
    bad[: int(FS)] = v1[: int(FS)]
    leads = [bad, v5] if position == 0 else [v5, bad]
    result = analyze_recording(lead1, FS, detector=untrained, extra_leads=leads)
    assert result.summary["extra_leads"] == 2 and result.summary["extra_leads_used"] == 1
    assert result.summary["operating_point"] == scoring.OPERATING_POINT_MULTILEAD
    # exactly the analysis with V5 alone: the unusable lead adds nothing, not even a zero to the mean
    for column in ("morph_distance_extra", "score", "is_anomaly"):
        np.testing.assert_array_equal(result.beats[column], only_v5.beats[column])
    assert result.summary["extra_lead_beats_percent"] == only_v5.summary["extra_lead_beats_percent"] == 100.0
    i = _beat(result, k)
    assert result.beats["is_anomaly"].iloc[i] and result.beats["is_anomaly"].sum() == 1
    assert result.beats["score"].iloc[i] > scoring.OPERATING_POINT_MULTILEAD


def test_sig_three_leads_csv_upload_keeps_both_extra_leads(client, clinician_a, bearer, three_leads, untrained):
    lead1, v1, v5, _ = three_leads
    text = "MLII,V1,V5\n" + "\n".join(f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in zip(lead1, v1, v5))
    parsed = parsing.parse_csv(text, sampling_rate="360")
    assert parsed.lead == "MLII" and parsed.extra_names == ["V1", "V5"] and parsed.extra_leads.shape == (21600, 2)
    # the job analyses the leads as it saved them, in float32
    direct = analyze_recording(parsed.signal.astype(np.float32), FS, detector=untrained, extra_leads=parsed.extra_leads)
    headers = bearer(clinician_a)
    data = {"file": (io.BytesIO(text.encode()), "three.csv"), "sampling_rate": "360"}
    response = client.post("/api/v1/recordings", data=data, headers=headers, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["params"]["extra_leads"] == ["V1", "V5"]
    done = wait_for_job(client, response.get_json()["url"], headers)
    assert done["state"] == "finished", done
    analysis = client.get(done["result_url"], headers=headers).get_json()
    assert analysis["input"]["lead"] == "MLII" and analysis["input"]["leads"] == ["MLII", "V1", "V5"]
    assert analysis["input"]["extra_leads"] == ["V1", "V5"]
    summary = analysis["result"]["summary"]
    assert summary["extra_leads"] == 2 and summary["extra_leads_used"] == 2
    assert summary["operating_point"] == scoring.OPERATING_POINT_MULTILEAD
    assert summary["n_beats"] == direct.summary["n_beats"] == len(direct.beats) > 60
    np.testing.assert_allclose(
        analysis["result"]["beats"]["morph_distance"], direct.beats["morph_distance"].to_numpy(), atol=1e-5
    )
