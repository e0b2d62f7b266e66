"""Recording uploads have their own, configurable byte limit with a clear 413."""

import io

import numpy as np
import pytest


def _csv(n_bytes: int) -> bytes:
    """A one-column CSV ECG of about ``n_bytes`` (a sine with spikes is enough to be parsed)."""
    n = n_bytes // 7
    t = np.arange(n)
    return "\n".join(f"{v:.3f}" for v in np.sin(t / 50.0) + (t % 250 == 0)).encode()


@pytest.fixture()
def no_jobs(monkeypatch):
    from ecg_backend.services import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: None)


@pytest.mark.app_config(MAX_CONTENT_LENGTH=20_000, ECG_MAX_RECORDING_BYTES=400_000)
def test_sig_recording_limit_above_app_limit(client, clinician_a, bearer, no_jobs):
    headers = bearer(clinician_a)
    body = _csv(100_000)
    assert 20_000 < len(body) < 400_000
    response = client.post(
        "/api/v1/recordings",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(body), "ecg.csv"), "sampling_rate": "250"},
    )
    assert response.status_code == 202, response.get_json()
    # other routes keep the app-wide limit
    response = client.post("/predict", headers=headers, data=body, content_type="text/csv")
    assert response.status_code == 413


@pytest.mark.app_config(MAX_CONTENT_LENGTH=20_000, ECG_MAX_RECORDING_BYTES=50_000)
@pytest.mark.parametrize("kind", ["multipart", "json"])
def test_sig_recording_over_its_limit_is_413_json(client, clinician_a, bearer, kind):
    headers = bearer(clinician_a)
    body = _csv(80_000)
    if kind == "multipart":
        response = client.post(
            "/api/v1/recordings",
            headers=headers,
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(body), "ecg.csv"), "sampling_rate": "250"},
        )
    else:
        response = client.post(
            "/api/v1/recordings",
            headers=headers,
            content_type="application/json",
            data=b'{"sampling_rate": 250, "signal": [' + body.replace(b"\n", b",") + b"]}",
        )
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and error["details"]["max_bytes"] == 50_000
    assert "recording" in error["message"] and "ECG_MAX_RECORDING_BYTES" in error["message"]


@pytest.mark.app_config(MAX_CONTENT_LENGTH=20_000)
def test_sig_recording_limit_from_environment(app, monkeypatch):
    from ecg_backend.services.recordings import upload_limit

    with app.app_context():
        assert upload_limit() == 256 << 20  # unset: 256 MB, so a 24-h three-lead 360 Hz WFDB record fits
        assert upload_limit(is_json=True) == 64 << 20  # a JSON body is parsed whole: a smaller cap
        monkeypatch.setenv("ECG_MAX_RECORDING_BYTES", "268435456")
        assert upload_limit() == 268_435_456
        monkeypatch.setenv("ECG_MAX_RECORDING_BYTES", "lots")
        assert upload_limit() == 20_000  # a malformed value is logged, the app-wide limit applies


@pytest.mark.parametrize("name", ["ecg.csv", "ecg.json"])
def test_sig_recording_files_are_streamed_to_disk_not_read_into_memory(
    client, clinician_a, bearer, no_jobs, monkeypatch, name
):
    """The route saves each uploaded file by streaming it (FileStorage.save) and parses it from disk: nothing
    reads an upload whole into memory."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import EnvironBuilder

    def refuse(*args, **kwargs):
        raise AssertionError("an uploaded recording was read whole into memory")

    body = _csv(200_000)
    if name.endswith(".json"):
        body = b'{"sampling_rate": 250, "signal": [' + body.replace(b"\n", b",") + b"]}"
    environ = EnvironBuilder(
        path="/api/v1/recordings",
        method="POST",
        headers=bearer(clinician_a),
        data={"file": (io.BytesIO(body), name), "sampling_rate": "250"},
    ).get_environ()
    monkeypatch.setattr(FileStorage, "read", refuse, raising=False)  # FileStorage passes read() to its stream
    response = client.open(environ)
    assert response.status_code == 202, response.get_json()
