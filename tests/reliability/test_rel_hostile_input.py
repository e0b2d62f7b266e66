"""Hostile and malformed input: every parser either returns clean data or raises a 4xx InputError.

Property-based (hypothesis) over the beat parser (``services/beat_input.py``), the recording parsers
(``signals/parsing.py``: CSV, JSON, WFDB, zip) and the HTTP routes that use them, plus named cases a
fuzzer would rarely build: zip bombs, ``../`` members, 10^6 columns, deep JSON, files over the limit.
Outcomes are counted into ``test-artifacts/hostile_inputs.json`` for docs/RELIABILITY.md.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecg_backend.errors import InputError, error_body, http_status
from ecg_backend.services.beat_input import beats_from_csv, beats_from_json
from ecg_backend.signals import parsing

FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
HTTP = settings(FAST, max_examples=60)

# ---------------------------------------------------------------------------- strategies
NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(
        [
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "1e999",
            "-1e400",
            "0x1F",
            "1_000",
            "١٢٣",
            "½",
            "",
            " ",
            "=1+1",
            "@SUM(A1)",
            '"1,5"',
            "1,5",
            "--1",
            "1e",
            ".",
            "\x00",
            "\u202e1",
        ]
    ),
    st.text(max_size=8),
)
CELL_ROW = st.lists(NUMBER_TEXT, min_size=0, max_size=160)
DELIMITER = st.sampled_from([",", ";", "\t", " ", "|"])
ENCODING = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252", "utf-32"])


@st.composite
def csv_documents(draw) -> bytes:
    """CSV-ish text: ragged rows of odd cells, any delimiter, optional header, in some encoding."""
    delimiter = draw(DELIMITER)
    rows = draw(st.lists(CELL_ROW, min_size=0, max_size=6))
    if draw(st.booleans()):  # mostly-valid files reach the deeper checks
        width = draw(st.sampled_from([139, 140, 141]))
        rows += [[repr(v) for v in draw(st.lists(st.floats(-5, 5), min_size=width, max_size=width))]]
    text = "\n".join(delimiter.join(row) for row in rows)
    if draw(st.booleans()):
        text = "time" + delimiter + "MLII\n" + text
    try:
        return text.encode(draw(ENCODING))
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="surrogatepass")


JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["NaN", "inf", "1e999"]),
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=150), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=400,
)


@st.composite
def beat_payloads(draw):
    """JSON bodies shaped roughly like /predict's, with hostile values in places."""
    key = draw(st.sampled_from(["beats", "beat", "both", "neither"]))
    beat = draw(
        st.one_of(
            st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=138, max_size=142),
            st.lists(JSON_SCALAR, min_size=140, max_size=140),
            JSON_VALUE,
        )
    )
    payload = draw(st.dictionaries(st.text(max_size=5), JSON_VALUE, max_size=2))
    if key in ("beats", "both"):
        payload["beats"] = draw(st.one_of(st.just([beat]), st.lists(st.just(beat), max_size=3), JSON_VALUE))
    if key in ("beat", "both"):
        payload["beat"] = beat
    return draw(st.one_of(st.just(payload), JSON_VALUE))


@st.composite
def signal_payloads(draw):
    """JSON bodies shaped like POST /api/v1/recordings'."""
    n = draw(st.integers(0, 3000))
    value = draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True), JSON_SCALAR))
    signal = draw(
        st.one_of(
            st.just(np.sin(np.arange(n) / 20.0).round(4).tolist()[: max(n - 1, 0)] + [value]),
            st.lists(st.lists(st.floats(-3, 3), min_size=0, max_size=800), max_size=3),
            JSON_VALUE,
        )
    )
    payload = {
        "signal": signal,
        "sampling_rate": draw(
            st.one_of(st.sampled_from([360, 100, 1000, 99, 1001, 0, -1, 1e309, "360", "abc", None]), JSON_SCALAR)
        ),
    }
    if draw(st.booleans()):
        payload["lead"] = draw(JSON_SCALAR)
    if draw(st.booleans()):
        payload["leads"] = draw(JSON_VALUE)
    return payload


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


HEADER_LINES = st.sampled_from(
    [
        "rec 1 360 2000",
        "rec 1 0 2000",
        "rec 1 360 99999999999",
        "rec 2 360 100",
        "rec -1 360 10",
        "rec 1 1e9 10",
        "rec.dat 16 200 11 1024 0 0 0 MLII",
        "../rec.dat 16 200 11 1024 0 0 0 MLII",
        "/etc/passwd 16 200 11 1024 0 0 0 MLII",
        "rec.dat 212 200 11 1024 0 0 0 V1",
        "rec.dat 999 0 0 0",
        "# comment",
        "",
        "rec.dat 16 200 11 1024 0 0 0 MLII extra words here",
    ]
)


@st.composite
def wfdb_uploads(draw) -> dict[str, bytes]:
    """Header text from plausible and broken lines, a .dat of random bytes, odd member names, maybe zipped."""
    header = "\n".join(draw(st.lists(HEADER_LINES, min_size=0, max_size=4))) + "\n"
    if draw(st.booleans()):
        header = draw(st.text(max_size=200))
    dat = draw(st.binary(max_size=4000))
    names = draw(
        st.sampled_from(
            [
                ("rec.hea", "rec.dat"),
                ("../rec.hea", "../../rec.dat"),
                ("/abs/rec.hea", "rec.dat"),
                ("rec.hea", "sub/rec.dat"),
                (".hidden.hea", "rec.dat"),
                ("r e c.hea", "rec.dat"),
                ("rec.hea", "C:\\rec.dat"),
                ("rec.HEA", "rec.DAT"),
            ]
        )
    )
    files = {names[0]: header.encode("utf-8", "surrogatepass"), names[1]: dat}
    if draw(st.booleans()):
        return {"record.zip": _zip(files)}
    return files


# ---------------------------------------------------------------------------- checks
def check_outcome(outcomes, suite: str, call):
    """Run ``call``: it must return or raise InputError with a 4xx status and a message."""
    try:
        result = call()
    except InputError as exc:
        status = http_status(exc)
        assert 400 <= status < 500 and exc.message, (status, exc.message)
        json.dumps(error_body(exc))  # the error body must serialise
        outcomes.record(suite, status)
        return None
    outcomes.record(suite, "accepted")
    return result


def check_beats(array) -> None:
    assert array.ndim == 2 and array.shape[1] == 140 and len(array) >= 1
    assert np.isfinite(array).all()


def check_recording(parsed) -> None:
    assert parsed.signal.ndim == 1 and parsed.signal.dtype == np.float64
    assert not np.isinf(parsed.signal).any(), "infinite samples passed the parser"
    assert np.isfinite(parsed.signal).any()
    assert parsing.MIN_FS <= parsed.fs <= parsing.MAX_FS
    assert len(parsed.signal) >= parsing.MIN_SECONDS * parsed.fs
    assert parsed.lead in parsed.leads


def files_outside(root, upload_dir) -> list[str]:
    found = []
    for folder, _, names in os.walk(root):
        if not os.path.abspath(folder).startswith(os.path.abspath(upload_dir)):
            found += [os.path.join(folder, n) for n in names]
    return sorted(found)


# ---------------------------------------------------------------------------- beat parser (unit)
@FAST
@given(data=st.binary(max_size=3000))
def test_rel_beat_csv_random_bytes(outcomes, data):
    result = check_outcome(outcomes, "beat CSV parser: random bytes", lambda: beats_from_csv(data, 5000))
    if result is not None:
        check_beats(result)


@FAST
@given(data=csv_documents())
def test_rel_beat_csv_hostile_text(outcomes, data):
    result = check_outcome(outcomes, "beat CSV parser: ragged/odd cells, encodings", lambda: beats_from_csv(data, 5000))
    if result is not None:
        check_beats(result)


@FAST
@given(payload=beat_payloads())
def test_rel_beat_json_hostile(outcomes, payload):
    result = check_outcome(outcomes, "beat JSON parser", lambda: beats_from_json(payload, 5000))
    if result is not None:
        check_beats(result)


# ---------------------------------------------------------------------------- recording parsers (unit)
@FAST
@given(data=st.one_of(st.binary(max_size=3000), csv_documents()), rate=st.sampled_from([None, "360", "50", "x", "nan"]))
def test_rel_recording_csv_hostile(outcomes, data, rate):
    result = check_outcome(outcomes, "recording CSV parser", lambda: parsing.parse_csv(data, sampling_rate=rate))
    if result is not None:
        check_recording(result)


@FAST
@given(payload=signal_payloads())
def test_rel_recording_json_hostile(outcomes, payload):
    result = check_outcome(outcomes, "recording JSON parser", lambda: parsing.parse_json_signal(payload))
    if result is not None:
        check_recording(result)


@FAST
@given(files=wfdb_uploads())
def test_rel_recording_wfdb_and_zip_hostile(outcomes, tmp_path_factory, files):
    root = tmp_path_factory.mktemp("wfdb")
    upload_dir = root / "uploads"
    result = check_outcome(outcomes, "recording WFDB/zip parser", lambda: parsing.parse_upload(files, upload_dir))
    if result is not None:
        check_recording(result)
    assert files_outside(root, upload_dir) == []
    assert not upload_dir.exists() or list(upload_dir.rglob("*.*")) == []  # temp files cleaned up


# ---------------------------------------------------------------------------- named cases
def _bomb(size: int = 64 * 1024 * 1024) -> bytes:
    """A zip whose one member claims and holds ``size`` zero bytes (deflate packs it ~1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("rec.dat", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
        archive.writestr("rec.hea", "rec 1 360 1000000\nrec.dat 16 200 11 1024 0 0 0 MLII\n")
    return buffer.getvalue()


def _lying_zip() -> bytes:
    """A zip whose member header under-states its size (a classic way around size checks)."""
    blob = bytearray(_zip({"rec.hea": b"rec 1 360 2000\n", "rec.dat": bytes(400_000)}))
    for signature in (b"PK\x03\x04", b"PK\x01\x02"):  # patch the uncompressed size of every record of rec.dat
        start = 0
        while (index := blob.find(signature, start)) >= 0:
            offset = index + (22 if signature == b"PK\x03\x04" else 24)
            name_at = index + (30 if signature == b"PK\x03\x04" else 46)
            if blob[name_at : name_at + 7] == b"rec.dat":
                blob[offset : offset + 4] = (100).to_bytes(4, "little")
            start = index + 4
    return bytes(blob)


NAMED_RECORDING_CASES = {
    "empty CSV": {"x.csv": b""},
    "BOM only": {"x.csv": b"\xef\xbb\xbf"},
    "UTF-16 CSV with BOM": {"x.csv": "MLII\n".encode("utf-16") + "\n".join(["0.1"] * 10).encode("utf-16")},
    "10^6 columns CSV": {"x.csv": b",".join([b"1"] * 1_000_000) + b"\n" + b",".join([b"2"] * 1_000_000)},
    "10^6 rows of 10^6-wide ragged tail": {"x.csv": b"1,2\n" * 10 + b",".join([b"3"] * 200_000)},
    "deeply nested JSON file": {"x.json": b"[" * 100_000},
    "JSON with inf": {"x.json": json.dumps({"signal": [1.0] * 3000 + ["inf"], "sampling_rate": 360}).encode()},
    "JSON with 1e999": {"x.json": b'{"signal": [' + b"1.0," * 3000 + b'1e999], "sampling_rate": 360}'},
    "zip bomb (64 MB of zeros)": lambda: {"bomb.zip": _bomb()},
    "zip with ../ member": {"a.zip": _zip({"../../evil.hea": b"rec 1 360 2000\n", "rec.dat": b"\0" * 8000})},
    "zip with absolute member": {"a.zip": _zip({"/tmp/evil.hea": b"x"})},
    "zip member lying about its size": lambda: {"a.zip": _lying_zip()},
    "zip with 1000 members": {"a.zip": _zip({f"m{i}.dat": b"" for i in range(1000)})},
    "not a zip": {"a.zip": b"PK\x03\x04garbage"},
    "header pointing outside": {"rec.hea": b"rec 1 360 2000\n../../../etc/passwd 16 200 11 1024 0 0 0 MLII\n"},
    "header with absolute .dat": {"rec.hea": b"rec 1 360 2000\n/etc/passwd 16 200 11 1024 0 0 0 MLII\n"},
    "header without .dat": {"rec.hea": b"rec 1 360 2000\nrec.dat 16 200 11 1024 0 0 0 MLII\n"},
    "truncated .dat": {"rec.hea": b"rec 1 360 200000\nrec.dat 16 200 11 1024 0 0 0 MLII\n", "rec.dat": b"\1" * 11},
    "unknown extension": {"x.exe": b"MZ"},
    "two CSVs": {"a.csv": b"1\n", "b.csv": b"1\n"},
}


@pytest.mark.parametrize("name", sorted(NAMED_RECORDING_CASES))
def test_rel_recording_named_cases(outcomes, tmp_path, name):
    upload_dir = tmp_path / "uploads"
    started = time.monotonic()
    files = NAMED_RECORDING_CASES[name]
    files = files() if callable(files) else files
    result = check_outcome(
        outcomes,
        "recording parsers: named hostile files",
        lambda: parsing.parse_upload(files, upload_dir, sampling_rate="360"),
    )
    assert result is None or name == "UTF-16 CSV with BOM", f"{name} was accepted"
    if result is not None:
        check_recording(result)
    assert time.monotonic() - started < 30, f"{name} kept a worker busy for minutes"
    assert files_outside(tmp_path, upload_dir) == []
    assert not (tmp_path.parent / "evil.hea").exists()


# ---------------------------------------------------------------------------- over HTTP
@pytest.fixture
def token_headers(app, clinician_a, bearer):
    return bearer(clinician_a)


def assert_api_error_or_ok(response, ok=(200, 202)) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    body = response.get_json(silent=True)
    assert isinstance(body, dict), response.get_data(as_text=True)[:200]
    if response.status_code not in ok:
        assert 400 <= response.status_code < 500
        assert set(body["error"]) == {"code", "message", "details"} and body["error"]["message"]
        assert "Traceback" not in response.get_data(as_text=True)


@HTTP
@given(
    body=st.one_of(st.binary(max_size=2000), csv_documents(), beat_payloads().map(lambda p: json.dumps(p).encode())),
    content_type=st.sampled_from(
        [
            "application/json",
            "text/csv",
            "text/plain",
            "application/octet-stream",
            "multipart/form-data",
            "application/json; charset=utf-16",
            "",
            "text/csv; x=y",
        ]
    ),
    as_upload=st.booleans(),
    filename=st.sampled_from(["beats.csv", "../../x.csv", "b.exe", "", "a.CSV"]),
)
def test_rel_predict_http_hostile(outcomes, app, token_headers, body, content_type, as_upload, filename):
    client = app.test_client()
    if as_upload:
        response = client.post(
            "/predict",
            data={"file": (io.BytesIO(body), filename), "patient_id": "x"[: len(filename) % 2]},
            headers=token_headers,
            content_type="multipart/form-data",
        )
    else:
        response = client.post("/predict", data=body, content_type=content_type, headers=token_headers)
    outcomes.record("HTTP POST /predict", response.status_code)
    assert_api_error_or_ok(response)


@HTTP
@given(
    files=st.one_of(
        wfdb_uploads(),
        st.builds(
            lambda b, n: {n: b},
            st.one_of(st.binary(max_size=2000), csv_documents()),
            st.sampled_from(["r.csv", "r.json", "r.zip", "r.hea", "r.bin"]),
        ),
    ),
    rate=st.sampled_from(["360", "", "abc", "-5", "1e9"]),
)
def test_rel_recordings_http_hostile(outcomes, app, token_headers, files, rate, monkeypatch):
    from ecg_backend.services import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: None)  # parsing is what is under test here
    upload_dir = app.config.get("UPLOAD_DIR") or os.path.join(app.instance_path, "uploads")
    data = {"file": [(io.BytesIO(content), name) for name, content in files.items()], "sampling_rate": rate}
    response = app.test_client().post(
        "/api/v1/recordings", data=data, headers=token_headers, content_type="multipart/form-data"
    )
    outcomes.record("HTTP POST /api/v1/recordings (files)", response.status_code)
    assert_api_error_or_ok(response)
    leftovers = [p for p in (os.listdir(upload_dir) if os.path.isdir(upload_dir) else []) if p != "jobs"]
    assert leftovers == []


@HTTP
@given(payload=signal_payloads())
def test_rel_recordings_http_json_hostile(outcomes, app, token_headers, payload, monkeypatch):
    from ecg_backend.services import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: None)
    response = app.test_client().post(
        "/api/v1/recordings",
        data=json.dumps(payload, allow_nan=True),
        content_type="application/json",
        headers=token_headers,
    )
    outcomes.record("HTTP POST /api/v1/recordings (JSON)", response.status_code)
    assert_api_error_or_ok(response)


@pytest.mark.parametrize("path", ["/predict", "/api/v1/recordings", "/api/v1/patients"])
def test_rel_over_size_limit_answers_413(outcomes, app, token_headers, path):
    limit = app.config["MAX_CONTENT_LENGTH"]
    # recordings have their own, larger limit (256 MB by default): held to the same number here
    app.config["ECG_MAX_RECORDING_BYTES"] = limit
    client = app.test_client()
    for kwargs in (
        {"data": b"1," * (limit // 2 + 1), "content_type": "text/csv"},
        {"data": {"file": (io.BytesIO(b"0" * (limit + 1)), "big.csv")}, "content_type": "multipart/form-data"},
        {"data": b'{"beat": [' + b"1," * (limit // 2) + b"1]}", "content_type": "application/json"},
    ):
        response = client.post(path, headers=token_headers, **kwargs)
        outcomes.record("HTTP bodies over MAX_CONTENT_LENGTH", response.status_code)
        # A JSON-only route may refuse another type before reading the body (415): nothing is read either way.
        allowed = {413, 415} if path == "/api/v1/patients" and kwargs["content_type"] != "application/json" else {413}
        assert response.status_code in allowed, (path, kwargs["content_type"], response.status_code)
        assert response.get_json()["error"]["code"] in {"payload_too_large", "unsupported_media_type"}


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b"\xff\xfe{\x00}\x00",
        b"\xef\xbb\xbf{}",
        b'{"beat": [1e999]}',
        b'{"beat": NaN}',
        b"null",
        b'"text"',
        b"1" * 5000,
    ],
)
@pytest.mark.parametrize("path", ["/predict", "/api/v1/recordings", "/api/v1/patients", "/login"])
def test_rel_hostile_json_bodies(outcomes, app, token_headers, path, body):
    response = app.test_client().post(path, data=body, content_type="application/json", headers=token_headers)
    outcomes.record("HTTP hostile JSON bodies (4 routes)", response.status_code)
    assert 400 <= response.status_code < 500, (path, body[:20], response.status_code)
    assert response.get_json()["error"]["message"]


@HTTP
@given(
    body=st.one_of(st.binary(max_size=2000), csv_documents()),
    filename=st.sampled_from(["beats.csv", "../../x.csv", "b.exe", "a.CSV", "x.txt"]),
)
def test_rel_dashboard_upload_hostile(outcomes, app, clinician_a, body, filename):
    """The dashboard's upload form: a readable page (or the result's redirect), never a 500."""
    import re

    client = app.test_client()
    client.post("/login", json={"email": clinician_a.email, "password": clinician_a.password})
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/analyse").get_data(as_text=True))
    response = client.post(
        "/analyse",
        data={"file": (io.BytesIO(body), filename), "csrf_token": token.group(1)},
        content_type="multipart/form-data",
    )
    outcomes.record("HTTP POST /analyse (dashboard upload form)", response.status_code)
    assert response.status_code in (200, 303, 400, 413, 415, 422), response.status_code
    if response.status_code != 303:
        html = response.get_data(as_text=True)
        assert "<html" in html.lower() and "Traceback" not in html
