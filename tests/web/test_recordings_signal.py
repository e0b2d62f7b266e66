"""The stored signal: its file format on hand-made arrays, windows served by the API, storage and deletion."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ecg_backend.signals import store
from tests.web.recording_fixtures import FS, two_lead_upload, upload_recording


def _write(tmp_path, columns, leads, fs=100.0, **kwargs):
    path = str(tmp_path / f"s{store.SUFFIX}")
    store.write_signal(path, columns, fs, leads, **kwargs)
    return store.open_signal(path)


def test_digital_samples_are_stored_as_int16_and_read_back_exactly(tmp_path):
    digital = np.array([0, 5, -7, 1200, -32000, 3], dtype=np.int64)
    physical = (digital - 10) / 200.0
    physical[2] = np.nan  # a missing sample
    signal = _write(
        tmp_path,
        [physical],
        [store.LeadInfo("MLII", "mV", gain=200.0, baseline=10)],
        annotations={"sample": [1, 4], "symbol": ["N", "V"]},
    )
    assert signal.is_digital and signal.array("samples").dtype == np.int16
    assert signal.array("samples")[:, 0].tolist() == [0, 5, store.INVALID, 1200, -32000, 3]
    np.testing.assert_array_equal(signal.lead(0, np.float64), physical)
    samples, symbols = signal.annotations(2, 6)
    assert samples.tolist() == [4] and symbols == ["V"]


def test_values_beyond_int16_or_without_gain_stay_float32(tmp_path):
    lead = store.LeadInfo("x", gain=1000.0)
    assert store.stored_dtype([np.array([0.0, 40.0])], [lead]) == np.float32  # 40000 does not fit
    assert store.stored_dtype([np.array([0.0, 1.0])], [store.LeadInfo("x")]) == np.float32
    assert store.stored_dtype([np.array([0.0, 1.0])], [lead]) == np.int16


def test_envelope_levels_hold_each_runs_min_and_max_ignoring_missing_values():
    values = np.array([[1, 9], [3, store.INVALID], [-2, 4], [store.INVALID, store.INVALID], [5, 0]], dtype=np.int16)
    level = store.envelope(values, 2, invalid=store.INVALID)
    assert level[:, 0].tolist() == [[1, 3], [-2, -2], [5, 5]]
    assert level[:, 1].tolist() == [[9, 9], [4, 4], [0, 0]]
    coarser = store.envelope(level, 2, invalid=store.INVALID)
    assert coarser[:, 1].tolist() == [[4, 9], [0, 0]]
    floats = store.envelope(np.array([[np.nan], [np.nan], [2.0], [np.nan]], dtype=np.float32), 2)
    assert np.isnan(floats[0]).all() and floats[1, 0].tolist() == [2.0, 2.0]


def test_a_window_with_few_samples_is_exact(tmp_path):
    column = np.arange(1000, dtype=np.float32) / 10
    signal = _write(tmp_path, [column, -column], [store.LeadInfo("a"), store.LeadInfo("b", unit="uV")])
    leads = signal.window(2.0, 3.0, points=500)
    assert [lead["name"] for lead in leads] == ["a", "b"] and leads[1]["unit"] == "uV"
    np.testing.assert_allclose(leads[0]["time"], np.arange(200, 301) / 100)
    np.testing.assert_allclose(leads[0]["values"], column[200:301], atol=1e-4)
    np.testing.assert_allclose(leads[1]["values"], -column[200:301], atol=1e-4)


@pytest.mark.parametrize("raw_limit", [store.RAW_WINDOW_LIMIT, 0])  # from the samples / from the levels
def test_a_long_window_keeps_every_peak_within_points(tmp_path, monkeypatch, raw_limit):
    monkeypatch.setattr(store, "RAW_WINDOW_LIMIT", raw_limit)
    rng = np.random.default_rng(0)
    column = rng.normal(0, 0.1, 400_000).astype(np.float32)
    spikes = [1234, 100_001, 250_017, 399_000]
    column[spikes] = [5.0, -6.0, 7.0, 8.0]
    signal = _write(tmp_path, [column], [store.LeadInfo("a")], fs=200.0)
    (lead,) = signal.window(0.0, 2000.0, points=1000)
    assert len(lead["values"]) <= 1000 and len(lead["time"]) == len(lead["values"])
    assert {5.0, -6.0, 7.0, 8.0} <= set(lead["values"])
    assert min(lead["time"]) >= 0 and max(lead["time"]) <= 2000.0
    assert np.all(np.diff(lead["time"]) >= 0)
    (part,) = signal.window(1000.0, 1300.0, points=400)  # holds the 7.0 spike at 1250.085 s only
    assert max(part["values"]) == 7.0 and -6.0 not in part["values"] and len(part["values"]) <= 400


def test_levels_of_a_window_match_min_and_max_computed_by_hand(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "RAW_WINDOW_LIMIT", 0)
    column = np.sin(np.arange(2**16) / 50.0).astype(np.float32) * np.linspace(1, 3, 2**16, dtype=np.float32)
    signal = _write(tmp_path, [column], [store.LeadInfo("a")], fs=256.0)
    (lead,) = signal.window(0.0, 256.0, points=32)  # 16 runs of 4096 samples: the 2048-sample level
    runs = column.reshape(16, 4096)
    expected = np.stack([runs.min(axis=1), runs.max(axis=1)], axis=1).ravel()
    np.testing.assert_allclose(lead["values"], expected, atol=1e-4)


def test_recording_signal_windows_through_the_api(app, client, clinician_a, clinician_b, bearer):
    headers = bearer(clinician_a)
    payload = two_lead_upload()
    analysis_id = upload_recording(client, headers, payload)
    url = f"/api/v1/recordings/{analysis_id}/signal"
    body = client.get(f"{url}?start=2&end=4&points=1000", headers=headers).get_json()
    assert body["start"] == 2 and body["end"] == 4 and [lead["name"] for lead in body["leads"]] == ["lead 0", "lead 1"]
    first = body["leads"][0]
    assert first["unit"] == "mV" and len(first["values"]) == 2 * FS + 1
    np.testing.assert_allclose(first["values"], payload["signal"][0][2 * FS : 4 * FS + 1], atol=1e-4)
    np.testing.assert_allclose(body["leads"][1]["values"], payload["signal"][1][2 * FS : 4 * FS + 1], atol=1e-4)
    overview = client.get(f"{url}?start=0&end=40&points=100", headers=headers).get_json()
    assert all(len(lead["values"]) <= 100 for lead in overview["leads"])
    assert max(overview["leads"][0]["values"]) == pytest.approx(max(payload["signal"][0]), abs=1e-4)
    default = client.get(url, headers=headers).get_json()
    assert (default["start"], default["end"]) == (0.0, 10.0)
    # owner scoping, bad parameters
    assert client.get(url, headers=bearer(clinician_b)).status_code == 404
    assert client.get("/api/v1/recordings/999999/signal", headers=headers).status_code == 404
    for query, status in (
        ("start=x", 400),
        ("start=-1", 400),
        ("start=nan", 400),
        ("points=1", 400),
        ("points=10x", 400),
        ("start=5&end=4", 400),
        ("start=100", 422),
    ):
        response = client.get(f"{url}?{query}", headers=headers)
        assert response.status_code == status, query
        assert response.get_json()["error"]["code"]


def test_a_beat_analysis_has_no_signal(app, client, clinician_a, bearer, beats):
    headers = bearer(clinician_a)
    analysis = client.post("/predict", json={"beats": beats(2), "store": True}, headers=headers).get_json()
    assert client.get(f"/api/v1/recordings/{analysis['analysis_id']}/signal", headers=headers).status_code == 404


def test_the_upload_is_stored_once_and_deleting_the_analysis_removes_it(app, client, clinician_a, bearer):
    from ecg_backend.services import storage

    headers = bearer(clinician_a)
    analysis_id = upload_recording(client, headers, two_lead_upload(seconds=20))
    with app.app_context():
        root = storage.storage_root()
        assert os.listdir(os.path.join(root, "jobs")) == []  # the job's input became the stored signal
        (folder,) = os.listdir(os.path.join(root, "recordings"))
    stored = client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).get_json()
    assert stored["input"]["storage"] == os.path.join("recordings", folder)
    assert client.delete(f"/api/v1/analyses/{analysis_id}", headers=bearer(clinician_a)).status_code == 204
    assert os.listdir(os.path.join(root, "recordings")) == []


def test_deleting_a_patient_removes_their_recordings_files(app, client, clinician_a, bearer):
    from ecg_backend.services import storage

    headers = bearer(clinician_a)
    patient = client.post("/api/v1/patients", json={"name": "P"}, headers=headers).get_json()
    upload_recording(client, headers, {**two_lead_upload(seconds=20), "patient_id": patient["id"]})
    with app.app_context():
        folder = os.path.join(storage.storage_root(), "recordings")
    assert len(os.listdir(folder)) == 1
    assert client.delete(f"/api/v1/patients/{patient['id']}", headers=headers).status_code == 204
    assert os.listdir(folder) == []


def test_someone_elses_delete_keeps_the_files(app, client, clinician_a, clinician_b, bearer):
    from ecg_backend.services import storage

    analysis_id = upload_recording(client, bearer(clinician_a), two_lead_upload(seconds=20))
    assert client.delete(f"/api/v1/analyses/{analysis_id}", headers=bearer(clinician_b)).status_code == 404
    with app.app_context():
        assert len(os.listdir(os.path.join(storage.storage_root(), "recordings"))) == 1
    assert client.get(f"/api/v1/recordings/{analysis_id}/signal", headers=bearer(clinician_a)).status_code == 200


def test_a_wfdb_upload_is_stored_as_its_own_16_bit_samples_with_its_annotations(app, tmp_path):
    import wfdb

    from ecg_backend.services import storage
    from ecg_backend.signals import parsing

    folder = Path(__file__).resolve().parents[1] / "fixtures" / "mitdb"
    files = {f"119{ext}": (folder / f"119{ext}").read_bytes() for ext in (".hea", ".dat", ".atr")}
    parsed = parsing.parse_upload(files, str(tmp_path / "uploads"))
    with app.app_context():
        signal = store.open_signal(storage.save_job_input(parsed))
    record = wfdb.rdrecord(str(folder / "119"), physical=False)
    assert signal.is_digital and [lead.name for lead in signal.leads] == record.sig_name
    assert [lead.gain for lead in signal.leads] == record.adc_gain
    np.testing.assert_array_equal(signal.array("samples"), record.d_signal)
    np.testing.assert_array_equal(signal.lead(0, np.float64), parsed.signal)
    reference = wfdb.rdann(str(folder / "119"), "atr")
    samples, symbols = signal.annotations()
    assert samples.tolist() == reference.sample.tolist() and symbols == reference.symbol
