"""Multi-lead recordings: extra leads add their morphology distance at the primary lead's R peaks."""

import io

import numpy as np
import pytest

from ecg_backend.errors import InputError
from ecg_backend.signals import parsing, scoring
from ecg_backend.signals.recording import analyze_recording
from tests.signals.helpers import synthetic_ecg, wait_for_job

FS = 360.0


@pytest.fixture(scope="module")
def two_leads():
    """neurokit2's ECG as lead 1; lead 2 a scaled, inverted copy with its own noise in which beat 40 alone
    carries a wide 400-ms deflection (a shape change visible in lead 2 only)."""
    lead1, peaks = synthetic_ecg(seconds=60, fs=FS, seed=3)
    lead2 = -0.7 * lead1 + np.random.default_rng(5).normal(0, 0.01, len(lead1))
    k = int(peaks[40])
    t = np.arange(int(0.4 * FS)) / FS
    start = k - int(0.1 * FS)
    lead2[start : start + len(t)] += 2.5 * np.sin(2 * np.pi * t / 0.4)
    return lead1, lead2, k


def _beat(analysis, sample):
    return int(np.argmin(np.abs(analysis.beats["r_peak"].to_numpy() - sample)))


def test_sig_multilead_beat_abnormal_in_lead2_only_is_flagged(two_leads, untrained):
    lead1, lead2, k = two_leads
    one = analyze_recording(lead1, FS, detector=untrained)
    both = analyze_recording(lead1, FS, detector=untrained, extra_leads=lead2)
    i1, i2 = _beat(one, k), _beat(both, k)
    assert not one.beats["is_anomaly"].any()  # lead 1 alone sees nothing
    assert both.beats["is_anomaly"].iloc[i2] and both.beats["is_anomaly"].sum() == 1
    assert both.beats["score"].iloc[i2] > scoring.OPERATING_POINT_MULTILEAD > one.beats["score"].iloc[i1]
    # the same R peaks (they come from the primary lead); the primary distance is the single-lead one
    np.testing.assert_array_equal(one.beats["r_peak"], both.beats["r_peak"])
    np.testing.assert_allclose(both.beats["morph_distance_primary"], one.beats["morph_distance"])
    assert both.beats["morph_distance_extra"].iloc[i2] > 20
    assert both.summary["operating_point"] == scoring.OPERATING_POINT_MULTILEAD
    assert both.summary["extra_leads"] == 1 and both.summary["extra_leads_used"] == 1
    assert both.summary["extra_lead_beats_percent"] == 100.0
    # the same with the extra lead given as (n, 1) array or a list of 1-D leads
    for form in (lead2[:, None], [lead2]):
        again = analyze_recording(lead1, FS, detector=untrained, extra_leads=form)
        np.testing.assert_allclose(again.beats["score"], both.beats["score"])


def test_sig_multilead_one_lead_path_unchanged(two_leads, untrained):
    lead1, _, _ = two_leads
    plain = analyze_recording(lead1, FS, detector=untrained)
    assert list(plain.beats.columns) == [
        "r_peak",
        "time_s",
        "rr_s",
        "score",
        "is_anomaly",
        "confidence",
        "morph_distance",
        "rr_ratio",
        "qrs_width_ratio",
        "ae_error",
        "noise_spikiness",
        "noise_swing",
        "noise_hf",
        "unusable",
        "label",
        "label_auto",
        "label_source",
        "family",
    ]
    assert plain.summary["operating_point"] == scoring.OPERATING_POINT and "extra_leads" not in plain.summary
    # an extra lead that is usable nowhere (missing except 1 s) contributes nothing: single-lead scores
    gappy = np.full(len(lead1), np.nan)
    gappy[: int(FS)] = lead1[: int(FS)]
    masked = analyze_recording(lead1, FS, detector=untrained, extra_leads=gappy)
    assert masked.summary["extra_leads_used"] == 0 and masked.summary["extra_lead_beats_percent"] == 0.0
    assert masked.summary["operating_point"] == scoring.OPERATING_POINT
    np.testing.assert_array_equal(masked.beats["score"], plain.beats["score"])
    np.testing.assert_array_equal(masked.beats["is_anomaly"], plain.beats["is_anomaly"])


def test_sig_multilead_unusable_windows_of_the_extra_lead_do_not_count(two_leads, untrained):
    lead1, lead2, k = two_leads
    noisy = lead2.copy()
    window = int(2 * FS)
    w = k // window
    noisy[(w - 1) * window : (w + 2) * window] = np.nan  # lead 2 missing around the odd beat
    result = analyze_recording(lead1, FS, detector=untrained, extra_leads=noisy)
    i = _beat(result, k)
    assert np.isnan(result.beats["morph_distance_extra"].iloc[i])
    assert not result.beats["is_anomaly"].iloc[i]
    assert result.summary["extra_leads_used"] == 1 and result.summary["extra_lead_beats_percent"] < 100.0


@pytest.mark.parametrize(
    "extra, message",
    [
        (lambda s: np.zeros(len(s)), "flat"),
        (lambda s: np.full(len(s), np.nan), "no finite sample"),
        (lambda s: s[:-10], "21590 samples per lead; the primary lead has 21600"),
        (lambda s: [s, s[:100]], "extra lead 1 has 100 samples"),
        (lambda s: np.zeros((len(s), 2, 2)), "must be (n_samples, k)"),
        (lambda s: s[None, :], "samples per lead"),
    ],
)
def test_sig_multilead_bad_extra_lead_is_a_value_error(two_leads, untrained, extra, message):
    lead1, _, _ = two_leads
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        analyze_recording(lead1, FS, detector=untrained, extra_leads=extra(lead1))


# ------------------------------------------------------------------------------------------ uploads
def test_sig_multilead_parsing_keeps_other_leads(two_leads):
    lead1, lead2, _ = two_leads
    payload = {"signal": [lead2.tolist(), lead1.tolist()], "leads": ["V1", "MLII"], "sampling_rate": FS}
    parsed = parsing.parse_json_signal(payload)
    assert parsed.lead == "MLII" and parsed.extra_names == ["V1"]
    assert parsed.extra_leads.dtype == np.float32 and parsed.extra_leads.shape == (len(lead1), 1)
    np.testing.assert_array_equal(parsed.signal, lead1)
    single = parsing.parse_json_signal({**payload, "single_lead": True})
    assert single.extra_leads is None and single.extra_names == []
    np.testing.assert_array_equal(single.signal, parsed.signal)
    csv = "MLII,V1\n" + "\n".join(f"{a:.5f},{b:.5f}" for a, b in zip(lead1[:2000], lead2[:2000]))
    parsed = parsing.parse_csv(csv, sampling_rate=FS)
    assert parsed.lead == "MLII" and parsed.extra_names == ["V1"] and parsed.extra_leads.shape == (2000, 1)
    bad = csv.replace("\n", "\n", 1).splitlines()
    bad[5] = bad[5].split(",")[0] + ",oops"
    with pytest.raises(InputError, match="row 6 of lead 'V1' is not a number"):
        parsing.parse_csv("\n".join(bad), sampling_rate=FS)
    assert parsing.parse_csv("\n".join(bad), sampling_rate=FS, single_lead="true").extra_leads is None


def test_sig_multilead_wfdb_upload_reads_every_lead(mitdb_excerpt_dir, tmp_path):
    files = {f"119{ext}": (mitdb_excerpt_dir / f"119{ext}").read_bytes() for ext in (".hea", ".dat")}
    parsed = parsing.parse_upload(files, tmp_path)
    single = parsing.parse_upload(files, tmp_path, single_lead="1")
    assert parsed.lead == "MLII" and parsed.extra_names == ["V1"] and parsed.extra_leads.shape == (108000, 1)
    np.testing.assert_array_equal(parsed.signal, single.signal)
    assert single.extra_leads is None
    swapped = parsing.parse_upload(files, tmp_path, lead="V1")
    assert swapped.lead == "V1" and swapped.extra_names == ["MLII"]
    np.testing.assert_allclose(swapped.extra_leads[:, 0], parsed.signal, rtol=1e-6, atol=1e-6)


def _two_lead_job(client, headers, two_leads):
    lead1, lead2, _ = two_leads
    body = {
        "signal": [np.round(lead1, 4).tolist(), np.round(lead2, 4).tolist()],
        "leads": ["MLII", "V1"],
        "sampling_rate": FS,
    }
    response = client.post("/api/v1/recordings", json=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    done = wait_for_job(client, response.get_json()["url"], headers)
    assert done["state"] == "finished", done
    return done


def test_sig_multilead_api_job_uses_both_leads(client, clinician_a, bearer, two_leads):
    headers = bearer(clinician_a)
    done = _two_lead_job(client, headers, two_leads)
    analysis = client.get(done["result_url"], headers=headers).get_json()
    summary = analysis["result"]["summary"]
    assert summary["extra_leads_used"] == 1 and summary["operating_point"] == scoring.OPERATING_POINT_MULTILEAD
    assert analysis["input"]["extra_leads"] == ["V1"] and analysis["input"]["lead"] == "MLII"
    assert analysis["n_anomalous"] == 1


def test_sig_multilead_pages_show_the_leads_and_offer_single_lead(client, auth, clinician_a, bearer, two_leads):
    done = _two_lead_job(client, bearer(clinician_a), two_leads)
    auth.login(clinician_a)
    page = client.get(done["page_url"]).get_data(as_text=True)
    leads = page[page.index('id="sum-leads"') :]
    leads = " ".join(leads[: leads.index("</dd>")].split())
    assert "MLII, beat shapes also from V1 (1 of 1 usable; 100.0 % of beats)" in leads, leads
    form = client.get("/recordings/new").get_data(as_text=True)
    assert 'name="single_lead" type="checkbox" value="true"' in form


@pytest.mark.parametrize(
    "second, message",
    [
        (lambda s: s[:-5], "has 21595 samples"),
        (lambda s: [0.5] * len(s), "flat"),
        (lambda s: [None] * len(s), "no numeric samples"),
        (lambda s: ["x"] * len(s), "only numbers"),
        (lambda s: 3, "must be a list"),
        # stored as float32, 1e39 would become infinity: refused, naming the sample
        (lambda s: s[:9] + [1e39] + s[10:], "sample 10 of lead 'V1' is infinite or beyond float32's range"),
    ],
)
def test_sig_multilead_api_bad_second_lead_is_422(client, clinician_a, bearer, two_leads, second, message):
    lead1, _, _ = two_leads
    first = np.round(lead1, 4).tolist()
    body = {"signal": [first, second(first)], "leads": ["MLII", "V1"], "sampling_rate": FS}
    response = client.post("/api/v1/recordings", json=body, headers=bearer(clinician_a))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert message in error["message"] and "V1" in error["message"], error
    assert "single_lead" in error["message"]
    # the chosen lead alone is accepted
    response = client.post("/api/v1/recordings", json={**body, "single_lead": True}, headers=bearer(clinician_a))
    assert response.status_code == 202, response.get_json()


def test_sig_multilead_api_csv_bad_column_and_single_lead_form(client, clinician_a, bearer, two_leads):
    lead1, _, _ = two_leads
    rows = "\n".join(f"{v:.4f},oops" for v in lead1[:7200])
    data = {"file": (io.BytesIO(("MLII,V1\n" + rows).encode()), "two.csv"), "sampling_rate": "360"}
    response = client.post(
        "/api/v1/recordings", data=data, headers=bearer(clinician_a), content_type="multipart/form-data"
    )
    assert response.status_code == 422 and "lead 'V1'" in response.get_json()["error"]["message"]
    data = {
        "file": (io.BytesIO(("MLII,V1\n" + rows).encode()), "two.csv"),
        "sampling_rate": "360",
        "single_lead": "true",
    }
    response = client.post(
        "/api/v1/recordings", data=data, headers=bearer(clinician_a), content_type="multipart/form-data"
    )
    assert response.status_code == 202, response.get_json()
    data = {
        "file": (io.BytesIO(("MLII,V1\n" + rows).encode()), "two.csv"),
        "sampling_rate": "360",
        "single_lead": "maybe",
    }
    response = client.post(
        "/api/v1/recordings", data=data, headers=bearer(clinician_a), content_type="multipart/form-data"
    )
    assert response.status_code == 422 and "single_lead" in response.get_json()["error"]["message"]


# ------------------------------------------------------------------------------------------ MIT-BIH
@pytest.mark.data
def test_sig_multilead_mitdb_both_leads(mitdb_dir, untrained):
    from ecg_backend.signals.evaluate import evaluate_dir

    names = ["119", "203", "223"]
    both = evaluate_dir(mitdb_dir, untrained, names, echo=lambda *_: None)
    single = evaluate_dir(mitdb_dir, untrained, names, echo=lambda *_: None, single_lead=True)
    for b in both:
        assert b["auc"] > 0.98, b
    # the second lead checks weak detections and fills long gaps of the primary lead: fewer errors in all
    errors = [sum(r["fn"] + r["fp"] for r in rows) for rows in (both, single)]
    assert errors[0] < errors[1], errors
    veb = sum(r["veb"] for r in both)
    tp, fp = sum(r["veb_tp"] for r in both), sum(r["veb_fp"] for r in both)
    assert tp / veb > 0.8 and tp / (tp + fp) > 0.9, (tp, fp, veb)


def test_sig_multilead_evaluate_command_single_lead_flag(mitdb_excerpt_dir, runner):
    result = runner.invoke(
        args=[
            "ecg",
            "evaluate-mitdb",
            "--dir",
            str(mitdb_excerpt_dir),
            "--records",
            "119",
            "--untrained",
            "--single-lead",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "pooled VEB at the shipped operating point" in result.output
