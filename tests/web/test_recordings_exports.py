"""Exports of a reading: beats and events as CSV, WFDB annotations readable with wfdb.rdann."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest

from ecg_backend.services import recording_exports
from tests.web.recording_fixtures import stored_recording


@pytest.fixture
def recording(app, clinician_a):
    return stored_recording(app, clinician_a.id)


def _result(client, analysis_id, headers) -> dict:
    return client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).get_json()["result"]


def test_beats_csv_has_one_row_per_beat_with_the_reviewed_class(client, clinician_a, bearer, recording):
    headers = bearer(clinician_a)
    assert (
        client.patch(f"/api/v1/recordings/{recording}/beats/2", json={"label": "V"}, headers=headers).status_code == 200
    )
    response = client.get(f"/api/v1/recordings/{recording}/beats.csv", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    beats = _result(client, recording, headers)["beats"]
    assert len(rows) == len(beats["label"]) and list(rows[0]) == list(recording_exports.BEAT_FIELDS)
    assert [r["label"] for r in rows] == beats["label"] and rows[2]["label_source"] == "reader"
    assert [int(r["r_peak"]) for r in rows] == beats["r_peak"]


def test_events_csv_columns(client, clinician_a, bearer, recording):
    response = client.get(f"/api/v1/recordings/{recording}/events.csv", headers=bearer(clinician_a))
    assert response.status_code == 200
    assert response.get_data(as_text=True).splitlines()[0] == ",".join(recording_exports.EVENT_FIELDS)


def test_annotations_zip_is_read_by_wfdb(client, clinician_a, bearer, recording, tmp_path):
    import wfdb

    headers = bearer(clinician_a)
    assert (
        client.patch(f"/api/v1/recordings/{recording}/beats/1", json={"label": "S"}, headers=headers).status_code == 200
    )
    response = client.get(f"/api/v1/recordings/{recording}/annotations.zip", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    name = f"recording{recording}"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert sorted(archive.namelist()) == [f"{name}.ecg", f"{name}.hea"]
        archive.extractall(tmp_path)
    annotation = wfdb.rdann(str(tmp_path / name), "ecg")
    beats = _result(client, recording, headers)["beats"]
    assert annotation.sample.tolist() == beats["r_peak"] and annotation.symbol == beats["label"]
    assert annotation.symbol[1] == "S" and annotation.fs == 250
    header = wfdb.rdheader(str(tmp_path / name))
    assert header.fs == 250 and header.sig_name == ["lead_0", "lead_1"] and header.n_sig == 2
    assert header.sig_len == 20 * 250


def test_events_become_rhythm_annotations():
    result = {
        "summary": {"sampling_rate": 100.0},
        "beats": {"r_peak": [50, 150, 250, 350], "label": ["N", "V", "V", "N"]},
        "events": {"type": ["couplet", "pause"], "start_s": [1.4, 3.0], "end_s": [2.6, 5.5]},
    }
    sample, symbol, aux = recording_exports._annotations(result)
    assert sample.tolist() == [50, 140, 150, 250, 260, 300, 350, 550]
    assert symbol == ["N", "+", "V", "V", "+", "+", "N", "+"]
    assert aux == ["", "(COUPLET", "", "", "(N", "(PAUSE", "", "(N"]


def test_wfdb_header_checksum_and_first_sample_match_the_digital_samples(tmp_path):
    from ecg_backend.signals import store

    digital = np.array([[5, -3], [40000 // 4, 7], [-2, 1]], dtype=np.int64)
    columns = [digital[:, 0] / 200.0, (digital[:, 1] - 4) / 100.0]
    path = str(tmp_path / f"x{store.SUFFIX}")
    store.write_signal(
        path, columns, 360.0, [store.LeadInfo("MLII", gain=200.0), store.LeadInfo("V 5", gain=100.0, baseline=4)]
    )
    lines = recording_exports.wfdb_header(store.open_signal(path), "x").splitlines()
    assert lines[0] == "x 2 360 3"
    assert lines[1] == f"x.dat 16 200(0)/mV 16 0 5 {(5 + 10000 - 2)} 0 MLII"
    assert lines[2] == "x.dat 16 100(4)/mV 16 0 -3 5 0 V_5"
