"""A person's review through the API: families, beats and events listed; labels stored with who and when,
undone, replayed after a restart; owner scoping and bad input."""

from __future__ import annotations

import pytest

from tests.conftest import dispose_app, make_test_app
from tests.web.recording_fixtures import stored_recording


@pytest.fixture
def recording(app, clinician_a):
    return stored_recording(app, clinician_a.id)


def _counts(client, analysis_id, headers) -> dict:
    return client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).get_json()["summary"]["beat_counts"]


def _labels(client, analysis_id, headers) -> list:
    return client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).get_json()["result"]["beats"]["label"]


def test_families_list_their_shapes_in_ms_and_mv(client, clinician_a, bearer, recording):
    body = client.get(f"/api/v1/recordings/{recording}/families", headers=bearer(clinician_a)).get_json()
    assert body["items"] and body["total"] == len(body["items"])
    assert [f["review_rank"] for f in body["items"]] == sorted(f["review_rank"] for f in body["items"])
    assert body["ms"][0] == pytest.approx(-248.0) and body["ms"][-1] == pytest.approx(448.0, abs=8)
    for family in body["items"]:
        assert {"family", "n_beats", "representative", "label", "review_rank", "reviewed"} <= set(family)
        shape = family["shape"]
        assert len(shape["representative"]) == len(body["ms"]) and 1 <= len(shape["members"]) <= 12
        # the representative is drawn as recorded: its R peak (at 0 ms) is its highest point, upright
        peak = body["ms"].index(0.0)
        assert max(shape["representative"]) == pytest.approx(shape["representative"][peak], abs=0.2)
        assert shape["representative"][peak] > 0.5


def test_family_label_is_stored_counted_and_undone(client, clinician_a, bearer, recording):
    headers = bearer(clinician_a)
    before, labels_before = _counts(client, recording, headers), _labels(client, recording, headers)
    family = client.get(f"/api/v1/recordings/{recording}/families", headers=headers).get_json()["items"][0]
    # called artefact, every beat of the family follows (a V call keeps clearly normal members N)
    response = client.patch(
        f"/api/v1/recordings/{recording}/families/{family['family']}", json={"label": "Q"}, headers=headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["change"]["label"] == "Q" and body["change"]["old_label"] == family["label"]
    assert body["change"]["user_name"] == "Alice Clinician" and body["change"]["created_at"]
    assert body["family"]["label"] == "Q" and body["family"]["reviewed"] is True
    after = _counts(client, recording, headers)
    assert after == body["beat_counts"] and after["Q"] >= family["n_beats"] > 0
    assert sum(after.values()) == sum(before.values())
    beats = client.get(f"/api/v1/recordings/{recording}/beats?per_page=2000", headers=headers).get_json()["items"]
    members = [b for b in beats if b["family"] == family["family"]]
    assert members and all(b["label"] == "Q" and b["label_source"] == "reader" for b in members)
    changes = client.get(f"/api/v1/recordings/{recording}/labels", headers=headers).get_json()
    assert changes["total"] == 1 and changes["items"][0]["family"] == family["family"]
    undo = client.delete(f"/api/v1/recordings/{recording}/labels/{changes['items'][0]['id']}", headers=headers)
    assert undo.status_code == 200 and undo.get_json()["change"]["undone_at"]
    assert _counts(client, recording, headers) == before and _labels(client, recording, headers) == labels_before
    listed = client.get(f"/api/v1/recordings/{recording}/labels", headers=headers).get_json()["items"]
    assert listed[0]["undone_at"] is not None  # kept, marked undone
    again = client.delete(f"/api/v1/recordings/{recording}/labels/{changes['items'][0]['id']}", headers=headers)
    assert again.status_code == 409


def test_beat_labels_win_and_survive_a_restart(app, client, clinician_a, bearer, recording, tmp_path):
    headers = bearer(clinician_a)
    family = client.get(f"/api/v1/recordings/{recording}/families", headers=headers).get_json()["items"][0]
    beat = client.get(f"/api/v1/recordings/{recording}/beats?per_page=2000", headers=headers).get_json()["items"]
    index = next(b["index"] for b in beat if b["family"] == family["family"])
    assert (
        client.patch(
            f"/api/v1/recordings/{recording}/families/{family['family']}", json={"label": "Q"}, headers=headers
        ).status_code
        == 200
    )
    response = client.patch(f"/api/v1/recordings/{recording}/beats/{index}", json={"label": "V"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["beat"]["label"] == "V"
    labels = _labels(client, recording, headers)
    assert labels[index] == "V"
    # a new process on the same database and storage: the review is there and can still be undone
    restarted = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], ECG_STORAGE_DIR=app.config["ECG_STORAGE_DIR"])
    try:
        other = restarted.test_client()
        assert _labels(other, recording, headers) == labels
        changes = other.get(f"/api/v1/recordings/{recording}/labels", headers=headers).get_json()["items"]
        beat_change = next(c for c in changes if c["beat"] == index)
        assert (
            other.delete(f"/api/v1/recordings/{recording}/labels/{beat_change['id']}", headers=headers).status_code
            == 200
        )
        assert _labels(other, recording, headers)[index] == "Q"  # its family's label holds again
    finally:
        dispose_app(restarted)


def test_beats_in_a_window_are_paged_with_reference_labels(app, client, clinician_a, bearer):
    headers = bearer(clinician_a)
    plain = stored_recording(app, clinician_a.id)
    peaks = client.get(f"/api/v1/recordings/{plain}/beats", headers=headers).get_json()["items"]
    reference = {
        "sample": [peaks[1]["r_peak"] + 10, peaks[2]["r_peak"] - 5, peaks[2]["r_peak"] + 100],
        "symbol": ["N", "V", "+"],
    }
    analysis_id = stored_recording(app, clinician_a.id, annotations=reference)
    url = f"/api/v1/recordings/{analysis_id}/beats"
    everything = client.get(url, headers=headers).get_json()
    assert everything["total"] == len(peaks) and [b["index"] for b in everything["items"]] == list(range(len(peaks)))
    assert [b["reference"] for b in everything["items"][:4]] == [None, "N", "V", None]
    window = client.get(f"{url}?start=5&end=10", headers=headers).get_json()
    assert window["items"] and all(5 <= b["time_s"] < 10 for b in window["items"])
    first = client.get(f"{url}?start=5&end=10&per_page=2", headers=headers).get_json()
    second = client.get(f"{url}?start=5&end=10&per_page=2&page=2", headers=headers).get_json()
    assert first["total"] == window["total"] and first["items"] + second["items"] == window["items"][:4]
    listed = client.get(f"/api/v1/recordings/{analysis_id}/reference", headers=headers).get_json()
    assert [a["symbol"] for a in listed["items"]] == ["N", "V", "+"] and listed["total"] == 3
    assert listed["items"][0]["time_s"] == pytest.approx(reference["sample"][0] / 250, abs=1e-4)


def test_events_list(client, clinician_a, bearer, recording):
    body = client.get(f"/api/v1/recordings/{recording}/events", headers=bearer(clinician_a)).get_json()
    assert {"items", "total", "page", "per_page"} <= set(body)


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "families"),
        ("PATCH", "families/0"),
        ("PATCH", "beats/0"),
        ("GET", "labels"),
        ("GET", "events"),
        ("GET", "beats"),
        ("GET", "reference"),
        ("GET", "signal"),
        ("GET", "beats.csv"),
        ("GET", "events.csv"),
        ("GET", "annotations.zip"),
    ],
)
def test_someone_elses_recording_is_404_and_unchanged(
    client, clinician_a, clinician_b, bearer, recording, method, path
):
    before = _labels(client, recording, bearer(clinician_a))
    response = client.open(
        f"/api/v1/recordings/{recording}/{path}", method=method, json={"label": "V"}, headers=bearer(clinician_b)
    )
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert _labels(client, recording, bearer(clinician_a)) == before


def test_someone_elses_label_change_cannot_be_undone(app, client, clinician_a, clinician_b, bearer, recording):
    change = client.patch(
        f"/api/v1/recordings/{recording}/beats/0", json={"label": "V"}, headers=bearer(clinician_a)
    ).get_json()["change"]
    own = stored_recording(app, clinician_b.id)
    for url in (
        f"/api/v1/recordings/{recording}/labels/{change['id']}",
        f"/api/v1/recordings/{own}/labels/{change['id']}",
    ):
        assert client.delete(url, headers=bearer(clinician_b)).status_code == 404
    assert _labels(client, recording, bearer(clinician_a))[0] == "V"


@pytest.mark.parametrize(
    "method, path, kwargs, status",
    [
        ("PATCH", "families/0", {"json": {"label": "X"}}, 422),
        ("PATCH", "families/0", {"json": {}}, 422),
        ("PATCH", "families/0", {"data": "label=V"}, 415),
        ("PATCH", "families/0", {"data": "{", "content_type": "application/json"}, 400),
        ("PATCH", "families/999", {"json": {"label": "V"}}, 404),
        ("PATCH", "beats/99999", {"json": {"label": "V"}}, 404),
        ("DELETE", "labels/12345", {}, 404),
        ("GET", "beats?start=abc", {}, 400),
        ("GET", "beats?start=5&end=2", {}, 400),
        ("GET", "beats?per_page=0", {}, 400),
        ("GET", "events?page=x", {}, 400),
        ("GET", "reference?end=-3", {}, 400),
    ],
)
def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    client, clinician_a, bearer, recording, method, path, kwargs, status
):
    headers = bearer(clinician_a)
    before = _labels(client, recording, headers)
    response = client.open(f"/api/v1/recordings/{recording}/{path}", method=method, headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["message"]
    assert _labels(client, recording, headers) == before
    assert client.get(f"/api/v1/recordings/{recording}/labels", headers=headers).get_json()["total"] == 0


def test_deleting_the_analysis_deletes_its_label_changes(app, client, clinician_a, bearer, recording):
    from ecg_backend.extensions import db
    from ecg_backend.models import LabelChange

    headers = bearer(clinician_a)
    assert (
        client.patch(f"/api/v1/recordings/{recording}/beats/0", json={"label": "V"}, headers=headers).status_code == 200
    )
    assert client.delete(f"/api/v1/analyses/{recording}", headers=headers).status_code == 204
    with app.app_context():
        assert db.session.query(LabelChange).count() == 0
    assert client.get(f"/api/v1/recordings/{recording}/labels", headers=headers).status_code == 404
