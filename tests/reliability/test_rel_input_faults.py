"""Input faults found by probing the served app: each is a fast 4xx with the JSON error shape, and nothing
is stored (no job, no analysis) or left on disk."""

import io
import json
import time
import zipfile

import numpy as np
import pytest

FS = 360


@pytest.fixture(autouse=True)
def _own_upload_area(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")


@pytest.fixture()
def no_jobs(monkeypatch):
    from ecg_backend.services import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: None)


def _left_behind(app) -> tuple[int, list]:
    """Job rows and files under the upload area (what a refused upload must not leave)."""
    from ecg_backend.extensions import db
    from ecg_backend.models import Job
    from ecg_backend.services.recordings import upload_dir

    with app.app_context():
        root = upload_dir()
        n_jobs = db.session.query(Job).count()
    from pathlib import Path

    return n_jobs, sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()) if Path(
        root
    ).exists() else []


def _post_files(client, headers, files: dict, **form):
    data = {"file": [(io.BytesIO(content), name) for name, content in files.items()], **form}
    return client.post("/api/v1/recordings", headers=headers, data=data, content_type="multipart/form-data")


def _refused(app, response, status, fragment=None):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] and error["message"], error
    if fragment:
        assert fragment in error["message"], error["message"]
    assert _left_behind(app) == (0, [])
    return error


def _wave(n=FS * 10):
    return np.sin(np.arange(n) / 9.0) + (np.arange(n) % FS == 0)


def _wfdb(tmp_path, name="rec", n=FS * 10, leads=2, **kwargs) -> dict:
    import wfdb

    signal = np.column_stack([_wave(n) * (k + 1) for k in range(leads)])
    wfdb.wrsamp(
        name,
        fs=FS,
        units=["mV"] * leads,
        sig_name=[f"L{k}" for k in range(leads)],
        p_signal=signal,
        fmt=["16"] * leads,
        write_dir=str(tmp_path),
        **kwargs,
    )
    return {
        f"{name}.hea": (tmp_path / f"{name}.hea").read_bytes(),
        f"{name}.dat": (tmp_path / f"{name}.dat").read_bytes(),
    }


def _zip(files: dict, method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------------------- 1: rows wider than the header
@pytest.mark.parametrize(
    "make",
    [
        lambda: "ecg\n" + "\n".join(",".join(["1"] * 400_000) for _ in range(3)),  # the probe
        lambda: "1\n2\n" + ";".join(["0.5"] * 100_000) + "\n3\n",  # no header, one row
        lambda: "time\tMLII\n" + "0\t1\n" * 2000 + "\t".join(["1"] * 70) + "\n",  # tab, just over the cap
        lambda: "ecg\n" + "1" * 3_000_000 + "\n",  # one enormous cell
        lambda: "ecg\n" + "\n".join("1" for _ in range(2000)) + "\n" + "9," * 500_000,  # a wide last row, no newline
    ],
)
def test_rel_csv_rows_wider_than_the_header_are_refused_fast(app, client, clinician_a, bearer, make):
    body = make().encode()
    start = time.perf_counter()
    response = _post_files(client, bearer(clinician_a), {"wide.csv": body}, sampling_rate="360")
    elapsed = time.perf_counter() - start
    error = _refused(app, response, 413)
    assert "row" in error["message"] and elapsed < 2.0, (elapsed, error)


# ---------------------------------------------------------------------------- 2: zip and WFDB expansion
def test_rel_zip_filler_member_does_not_raise_the_allowance(app, client, clinician_a, bearer, tmp_path):
    files = _wfdb(tmp_path)
    files["rec.dat"] = b"\0" * (200 << 20)  # expands 1000x
    files["filler.bin"] = np.random.default_rng(0).bytes(3 << 20)  # incompressible
    start = time.perf_counter()
    response = _post_files(client, bearer(clinician_a), {"rec.zip": _zip(files)})
    _refused(app, response, 413, "expands")
    assert time.perf_counter() - start < 3.0


def test_rel_zip_total_is_capped_by_what_members_really_hold(app, client, clinician_a, bearer, tmp_path, monkeypatch):
    from ecg_backend.signals import wfdb_input

    monkeypatch.setattr(wfdb_input, "ZIP_MAX_TOTAL", 1 << 20)
    files = _wfdb(tmp_path, n=FS * 1000)  # 1.4 MB of samples: over the cap set above
    response = _post_files(client, bearer(clinician_a), {"rec.zip": _zip(files)})
    _refused(app, response, 413)


@pytest.mark.parametrize(
    "header, fragment",
    [
        ("rec 1 1000 86400000\nrec.dat 16 200 16 0 0 0 0 MLII\n", "samples"),  # 24 h at 1 kHz, 1 lead
        ("rec 3 360 31104000\n" + "".join(f"rec.dat 16 200 16 0 0 0 0 L{k}\n" for k in range(3)), None),  # fits
        ("rec 40 360 2000000\n" + "".join(f"rec.dat 16 200 16 0 0 0 0 L{k}\n" for k in range(40)), "40 leads"),
    ],
)
def test_rel_wfdb_budget_is_checked_from_the_header(app, client, clinician_a, bearer, header, fragment):
    """The header alone decides: the .dat here holds 1 s, so a record within the budget fails later (422)."""
    files = {"rec.hea": header.encode(), "rec.dat": b"\0\0" * 360 * 40}
    for upload in (files, {"rec.zip": _zip(files)}):
        response = _post_files(client, bearer(clinician_a), upload)
        _refused(app, response, 413 if fragment else 422, fragment)


# ---------------------------------------------------------------------------- 4: JSON filename
@pytest.mark.parametrize("filename", [["a", "b"], 12, {"x": 1}, True, "\ud800.csv"])
def test_rel_json_recording_filename_must_be_a_string(app, client, clinician_a, bearer, no_jobs, filename):
    body = {"signal": np.round(_wave(), 4).tolist(), "sampling_rate": FS, "filename": filename}
    response = client.post(
        "/api/v1/recordings", data=json.dumps(body), content_type="application/json", headers=bearer(clinician_a)
    )
    _refused(app, response, 422, "filename")


# ---------------------------------------------------------------------------- 5: unhandled input
def test_rel_huge_integers_in_a_recording(app, client, clinician_a, bearer):
    samples = json.dumps(np.round(_wave(), 3).tolist())
    for body in (
        '{"sampling_rate": 360, "signal": [' + "1" * 401 + ", " + samples[1:] + "}",
        '{"sampling_rate": ' + "3" * 401 + ', "signal": ' + samples + "}",
        '{"sampling_rate": 360, "signal": [[1, 2], [3, ' + "9" * 401 + "]]}",
    ):
        response = client.post(
            "/api/v1/recordings", data=body, content_type="application/json", headers=bearer(clinician_a)
        )
        _refused(app, response, 422)
    csv_body = ("ecg\n" + "\n".join(f"{v:.3f}" for v in _wave())).encode()
    response = _post_files(client, bearer(clinician_a), {"a.csv": csv_body}, sampling_rate="3" * 401)
    _refused(app, response, 422, "sampling_rate")
    response = _post_files(client, bearer(clinician_a), {"a.csv": csv_body + b"\n" + b"7" * 401}, sampling_rate="360")
    _refused(app, response, 422)


@pytest.mark.parametrize("lead", ["²", "٣", "-0", "1" * 300])
def test_rel_unusual_lead_values(app, client, clinician_a, bearer, no_jobs, lead):
    csv_body = ("a,b\n" + "\n".join(f"{v:.3f},{-v:.3f}" for v in _wave())).encode()
    response = _post_files(client, bearer(clinician_a), {"a.csv": csv_body}, sampling_rate="360", lead=lead)
    if lead == "-0":  # an index: the first lead
        assert response.status_code == 202, response.get_json()
        return
    _refused(app, response, 422, "not found")


def test_rel_surrogates_in_patient_fields(app, client, clinician_a, bearer):
    headers = bearer(clinician_a)
    for body in ({"name": "A \ud800 B"}, {"name": "Ann", "notes": "x\udfff"}, {"name": "Ann", "external_id": "\ud83d"}):
        response = client.post(
            "/api/v1/patients", data=json.dumps(body), content_type="application/json", headers=headers
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        assert "not valid Unicode" in response.get_json()["error"]["message"]
    response = client.post("/api/v1/patients", json={"name": "Ann"}, headers=headers)
    assert response.status_code == 201
    patient = response.get_json()["id"]
    response = client.patch(
        f"/api/v1/patients/{patient}",
        data=json.dumps({"notes": "\ud800"}),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 422


@pytest.mark.parametrize("patient_id", ["²", "٣", "-1", "1e3", "99999999999999999999999"])
def test_rel_dashboard_analyse_patient_id(app, client, clinician_a, auth, beats, patient_id):
    auth.login(clinician_a)
    body = "\n".join(",".join(str(v) for v in beat) for beat in beats(2)).encode()
    for xhr in (False, True):
        headers = {**auth.csrf_headers(), **({"X-Requested-With": "XMLHttpRequest"} if xhr else {})}
        response = client.post(
            "/analyse",
            data={"file": (io.BytesIO(body), "b.csv"), "patient_id": patient_id},
            content_type="multipart/form-data",
            headers=headers,
        )
        assert response.status_code == 422, response.get_data(as_text=True)[:300]
        if xhr:
            assert response.get_json()["error"]["details"] == {"field": "patient_id"}
        else:
            assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    "path, field, value", [("/predict", "store", "maybe"), ("/api/v1/recordings", "single_lead", "maybe")]
)
def test_rel_one_boolean_strictness(app, client, clinician_a, bearer, beats, path, field, value):
    if path == "/predict":
        body = {"file": (io.BytesIO(",".join(map(str, beats(1)[0])).encode()), "b.csv"), field: value}
    else:
        body = {
            "file": (io.BytesIO(("\n".join(f"{v:.3f}" for v in _wave())).encode()), "a.csv"),
            "sampling_rate": "360",
            field: value,
        }
    response = client.post(path, data=body, content_type="multipart/form-data", headers=bearer(clinician_a))
    error = _refused(app, response, 422, field)
    assert error["details"] == {"field": field}


def test_rel_multi_segment_wfdb_header(app, client, clinician_a, bearer, tmp_path):
    files = _wfdb(tmp_path, leads=1)
    files["multi.hea"] = b"multi/2 1 360 7200\nrec 3600\nrec 3600\n"
    del files["rec.hea"]
    response = _post_files(client, bearer(clinician_a), files)
    _refused(app, response, 415, "multi-segment")


# ---------------------------------------------------------------------------- 8 and 10: WFDB header fields
@pytest.mark.parametrize("fs", ["-360", "nan", "inf", "0", "abc", "360e9999"])
def test_rel_wfdb_sampling_frequency_is_checked(app, client, clinician_a, bearer, tmp_path, fs):
    files = _wfdb(tmp_path, leads=1)
    files["rec.hea"] = files["rec.hea"].replace(b" 360 ", f" {fs} ".encode(), 1)
    response = _post_files(client, bearer(clinician_a), files)
    _refused(app, response, 422, "sampling frequency")


def test_rel_wfdb_without_a_frequency_needs_sampling_rate(app, client, clinician_a, bearer, tmp_path, no_jobs):
    files = _wfdb(tmp_path, leads=1)
    files["rec.hea"] = files["rec.hea"].replace(b" 360 3600", b"", 1)
    _refused(app, _post_files(client, bearer(clinician_a), files), 422, "sampling_rate")
    response = _post_files(client, bearer(clinician_a), files, sampling_rate="360")
    assert response.status_code == 202, response.get_json()


@pytest.mark.parametrize("fmt", ["508", "516", "999"])
def test_rel_error_messages_show_no_server_path(app, client, clinician_a, bearer, tmp_path, fmt):
    files = _wfdb(tmp_path, leads=1)
    files["rec.hea"] = files["rec.hea"].replace(b"rec.dat 16", f"rec.dat {fmt}".encode(), 1)
    response = _post_files(client, bearer(clinician_a), files)
    assert 400 <= response.status_code < 500
    text = response.get_data(as_text=True)
    assert app.instance_path not in text and "/tmp" not in text and "wfdb-" not in text, text
    assert _left_behind(app) == (0, [])


# ---------------------------------------------------------------------------- 11: job limit, flat lead
@pytest.mark.app_config(MAX_JOBS_PER_USER=2)
def test_rel_per_user_job_limit(app, client, clinician_a, clinician_b, bearer, no_jobs):
    body = {"signal": np.round(_wave(), 4).tolist(), "sampling_rate": FS}
    for _ in range(2):
        assert client.post("/api/v1/recordings", json=body, headers=bearer(clinician_a)).status_code == 202
    response = client.post("/api/v1/recordings", json=body, headers=bearer(clinician_a))
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "too_many_jobs" and error["details"] == {"active_jobs": 2, "max_jobs": 2}
    # another user is not held up, and a retry of an accepted upload still answers its job
    assert client.post("/api/v1/recordings", json=body, headers=bearer(clinician_b)).status_code == 202


@pytest.mark.parametrize("flat", [np.zeros, lambda n: np.full(n, 0.731)])
def test_rel_flat_main_lead_is_422_naming_it(app, client, clinician_a, bearer, flat):
    n = FS * 10
    body = {"signal": [flat(n).tolist(), np.round(_wave(n), 3).tolist()], "leads": ["MLII", "V1"], "sampling_rate": FS}
    response = client.post("/api/v1/recordings", json=body, headers=bearer(clinician_a))
    error = _refused(app, response, 422, "'MLII' is flat")
    assert "V1" in error["message"] and error["details"]["lead"] == "MLII"
    csv_body = "ecg\n" + "\n".join(["0.5"] * n)
    response = _post_files(client, bearer(clinician_a), {"flat.csv": csv_body.encode()}, sampling_rate="360")
    _refused(app, response, 422, "flat")


# ---------------------------------------------------------------------------- EDF and the beat CSV
def test_rel_edf_upload_is_accepted(app, client, clinician_a, bearer, tmp_path, no_jobs):
    import edfio

    wave = _wave()
    edfio.Edf(
        [
            edfio.EdfSignal(wave, sampling_frequency=FS, label="MLII", physical_dimension="mV"),
            edfio.EdfSignal(-wave, sampling_frequency=FS, label="V1", physical_dimension="mV"),
        ]
    ).write(tmp_path / "r.edf")
    response = _post_files(client, bearer(clinician_a), {"r.edf": (tmp_path / "r.edf").read_bytes()})
    assert response.status_code == 202, response.get_json()
    params = response.get_json()["params"]
    assert params["source"] == "edf" and params["lead"] == "MLII" and params["extra_leads"] == ["V1"]


def test_rel_beat_csv_long_row_is_refused_before_it_is_split(app, client, clinician_a, bearer):
    body = ",".join(["0.1"] * 400_000).encode()
    start = time.perf_counter()
    response = client.post("/predict", data=body, content_type="text/csv", headers=bearer(clinician_a))
    assert response.status_code == 422 and "row 1 is longer" in response.get_json()["error"]["message"]
    assert time.perf_counter() - start < 1.0
