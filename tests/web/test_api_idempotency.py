"""POST /predict with an Idempotency-Key: a retried storing request is answered again, never stored twice."""

import pytest

from ecg_backend.extensions import db
from ecg_backend.models import Analysis


def _rows(app):
    with app.app_context():
        return db.session.scalars(db.select(Analysis).order_by(Analysis.id)).all()


@pytest.fixture
def patient(client, clinician_a, bearer):
    return client.post("/api/v1/patients", json={"name": "Idem Potent"}, headers=bearer(clinician_a)).get_json()


def test_same_key_same_request_is_stored_once_and_replayed(app, client, clinician_a, bearer, beats, patient):
    headers = {**bearer(clinician_a), "Idempotency-Key": "3f1c2a9e-retry-me"}
    body = {"beats": beats(2), "patient_id": patient["id"]}
    first = client.post("/predict", json=body, headers=headers)
    again = client.post("/predict", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    rows = _rows(app)
    assert [r.id for r in rows] == [first.get_json()["analysis_id"]]
    assert rows[0].idempotency_key == "3f1c2a9e-retry-me" and len(rows[0].request_hash) == 64


def test_same_key_with_another_request_is_422(app, client, clinician_a, bearer, beats, patient):
    headers = {**bearer(clinician_a), "Idempotency-Key": "k-1"}
    first = client.post("/predict", json={"beats": beats(1), "patient_id": patient["id"]}, headers=headers)
    assert first.status_code == 200
    for other in ({"beats": beats(1, seed=7), "patient_id": patient["id"]}, {"beats": beats(1), "store": True}):
        answer = client.post("/predict", json=other, headers=headers)
        assert answer.status_code == 422
        error = answer.get_json()["error"]
        assert error["code"] == "idempotency_key_reused" and "Idempotency-Key" in error["message"]
        assert error["details"]["analysis_id"] == first.get_json()["analysis_id"]
    assert len(_rows(app)) == 1


def test_keys_belong_to_one_account(app, client, clinician_a, clinician_b, bearer, beats):
    body = {"beats": beats(1), "store": True}
    a = client.post("/predict", json=body, headers={**bearer(clinician_a), "Idempotency-Key": "shared"})
    b = client.post("/predict", json=body, headers={**bearer(clinician_b), "Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 200 and "Idempotent-Replayed" not in b.headers
    assert a.get_json()["analysis_id"] != b.get_json()["analysis_id"]
    assert {r.owner_id for r in _rows(app)} == {clinician_a.id, clinician_b.id}


def test_without_a_key_every_request_is_stored(app, client, clinician_a, bearer, beats):
    body = {"beats": beats(1), "store": True}
    ids = {client.post("/predict", json=body, headers=bearer(clinician_a)).get_json()["analysis_id"] for _ in range(2)}
    assert len(ids) == 2 and len(_rows(app)) == 2


def test_a_request_that_stores_nothing_keeps_no_key(app, client, clinician_a, bearer, beats):
    headers = {**bearer(clinician_a), "Idempotency-Key": "score-only"}
    scored = client.post("/predict", json={"beats": beats(1)}, headers=headers)
    assert scored.status_code == 200 and "analysis_id" not in scored.get_json() and not _rows(app)
    stored = client.post("/predict", json={"beats": beats(1), "store": True}, headers=headers)
    assert stored.status_code == 200 and "Idempotent-Replayed" not in stored.headers
    assert len(_rows(app)) == 1


def test_csv_upload_retry_with_another_boundary_is_replayed(app, client, clinician_a, bearer, beats, patient):
    import io

    csv_text = "\n".join(",".join(str(v) for v in row) for row in beats(3)).encode()
    headers = {**bearer(clinician_a), "Idempotency-Key": '"upload-7"'}  # structured-header quoting

    def upload():  # the test client picks a new multipart boundary for every request
        return client.post(
            "/predict",
            data={"file": (io.BytesIO(csv_text), "beats.csv"), "patient_id": str(patient["id"])},
            headers=headers,
        )

    first, again = upload(), upload()
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["analysis_id"] == first.get_json()["analysis_id"]
    assert [r.idempotency_key for r in _rows(app)] == ["upload-7"]


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "tab\tinside", "ünïcode"])
def test_malformed_keys_are_400(app, client, clinician_a, bearer, beats, key):
    headers = {**bearer(clinician_a), "Idempotency-Key": key.encode("utf-8").decode("latin-1")}
    answer = client.post("/predict", json={"beats": beats(1), "store": True}, headers=headers)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["details"] == {"header": "Idempotency-Key"}
    assert not _rows(app)


def test_a_concurrent_request_with_the_same_key_gets_the_winners_answer(
    app, client, clinician_a, bearer, beats, patient, monkeypatch
):
    """Both requests pass the look-up before either has stored; the unique constraint settles it."""
    from ecg_backend.services import analyses

    headers = {**bearer(clinician_a), "Idempotency-Key": "racing"}
    body = {"beats": beats(2), "patient_id": patient["id"]}
    winner = client.post("/predict", json=body, headers=headers)
    real_lookup, calls = analyses._analysis_for_key, []

    def lookup_misses_once(owner, key):
        calls.append(key)
        return None if len(calls) == 1 else real_lookup(owner, key)

    monkeypatch.setattr(analyses, "_analysis_for_key", lookup_misses_once)
    loser = client.post("/predict", json=body, headers=headers)
    assert len(calls) == 2  # the pre-check missed, the insert failed on the constraint, the winner was read
    assert loser.status_code == 200 and loser.headers["Idempotent-Replayed"] == "true"
    assert loser.get_json() == winner.get_json()
    assert len(_rows(app)) == 1
    # the session is usable after the failed insert
    assert client.get("/api/v1/analyses", headers=headers).get_json()["total"] == 1


def test_a_deleted_analysis_frees_its_key(app, client, clinician_a, bearer, beats):
    headers = {**bearer(clinician_a), "Idempotency-Key": "again-later"}
    body = {"beats": beats(1), "store": True}
    first = client.post("/predict", json=body, headers=headers).get_json()["analysis_id"]
    assert client.delete(f"/api/v1/analyses/{first}", headers=headers).status_code == 204
    second = client.post("/predict", json=body, headers=headers)
    assert second.status_code == 200 and "Idempotent-Replayed" not in second.headers
    assert [r.idempotency_key for r in _rows(app)] == ["again-later"]  # a new row (SQLite may reuse the id)


def test_openapi_documents_the_header(client):
    operation = client.get("/api/openapi.json").get_json()["paths"]["/predict"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
    assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"]


def _race(app, headers, body):
    """Two requests with one key, held until both have passed the look-up, then let go together."""
    import threading

    from ecg_backend.services import analyses

    barrier = threading.Barrier(2, timeout=20)
    real_score = analyses.score_beats

    def score_after_both_looked(beats):
        barrier.wait()
        return real_score(beats)

    answers = []

    def post():
        answer = app.test_client().post("/predict", json=body, headers=headers)
        answers.append((answer.status_code, answer.get_json(), answer.headers.get("Idempotent-Replayed")))

    analyses.score_beats = score_after_both_looked
    try:
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        analyses.score_beats = real_score
    return answers


def _assert_one_winner(answers):
    assert [status for status, _, _ in answers] == [200, 200], answers
    assert sorted(str(replayed) for _, _, replayed in answers) == ["None", "true"]
    assert answers[0][1]["analysis_id"] == answers[1][1]["analysis_id"]


def test_two_simultaneous_requests_with_one_key_store_once(app, clinician_a, bearer, beats, patient):
    headers = {**bearer(clinician_a), "Idempotency-Key": "simultaneous"}
    _assert_one_winner(_race(app, headers, {"beats": beats(2), "patient_id": patient["id"]}))
    assert len(_rows(app)) == 1


@pytest.fixture
def migrated_postgres_app(postgres_database):
    """An app on a PostgreSQL database of this test's own, schema made by the migrations."""
    from tests.conftest import dispose_app
    from tests.web.test_api_app import _startup_app

    url = postgres_database.render_as_string(hide_password=False)
    application = _startup_app(url, ADMIN_EMAIL="pg-idem@example.com", ADMIN_PASSWORD="pg-idem-password")
    yield application
    dispose_app(application)


@pytest.mark.postgres
def test_simultaneous_requests_with_one_key_store_once_on_postgres(migrated_postgres_app, beats):
    app = migrated_postgres_app
    client = app.test_client()
    login = client.post("/login", json={"email": "pg-idem@example.com", "password": "pg-idem-password"})
    token = client.post(
        "/api/v1/tokens", json={"name": "pg"}, headers={"X-CSRFToken": login.get_json()["csrf_token"]}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "pg-simultaneous"}
    body = {"beats": beats(2), "store": True}
    _assert_one_winner(_race(app, headers, body))
    other = client.post("/predict", json={"beats": beats(2, seed=3), "store": True}, headers=headers)
    assert other.status_code == 422
    assert client.get("/api/v1/analyses", headers=headers).get_json()["total"] == 1
