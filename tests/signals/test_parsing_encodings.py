"""Text encodings of uploaded CSV/JSON files: decoded by byte-order mark, anything else a clean 422."""

import codecs
import io
import json

import numpy as np
import pytest

from ecg_backend.errors import InputError
from ecg_backend.services.beat_input import beats_from_csv
from ecg_backend.signals import parsing

FS = 250


def _wave(n=1000):
    return np.round(np.sin(np.arange(n) / 10.0), 4)


def _excel_unicode_text(values) -> str:
    # Excel's "Unicode text" export: tab-separated, CRLF line ends (encoded as UTF-16 LE with a BOM below).
    return "Time\tECG (µV)\r\n" + "".join(f"{i / FS:.3f}\t{v}\r\n" for i, v in enumerate(values))


@pytest.mark.parametrize(
    "bom, codec",
    [
        (b"", "utf-8"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_parsing_csv_decoded_by_bom(bom, codec):
    values = _wave()
    parsed = parsing.parse_csv(bom + _excel_unicode_text(values).encode(codec))
    assert parsed.fs == pytest.approx(FS)
    assert parsed.leads == ["ECG (µV)"]  # the BOM is not glued to the first header cell
    np.testing.assert_allclose(parsed.signal, values)


def test_parsing_upload_of_utf16_csv_and_json_files(tmp_path):
    values = _wave()
    csv_bytes = _excel_unicode_text(values).encode("utf-16")  # Python writes the BOM, like Excel
    parsed = parsing.parse_upload({"export.txt": csv_bytes}, tmp_path)
    np.testing.assert_allclose(parsed.signal, values)
    payload = json.dumps({"signal": values.tolist(), "sampling_rate": FS}).encode("utf-16")
    parsed = parsing.parse_upload({"signal.json": payload}, tmp_path)
    np.testing.assert_allclose(parsed.signal, values)


@pytest.mark.parametrize(
    "data, fragment",
    [
        ("ecg (µV)\n".encode("latin-1") + b"0.1\n" * 600, "not UTF-8 text (byte 6"),  # cp1252/latin-1 export
        ("ecg\n".encode("utf-16-le") + "0.1\n".encode("utf-16-le") * 600, "NUL characters"),  # UTF-16 without BOM
        (codecs.BOM_UTF16_LE + "ecg\n0.1\n".encode("utf-16-le") + b"0", "not UTF-16 text"),  # odd byte count
        (codecs.BOM_UTF16_LE + b"\x00\xd8" + "\n0.1".encode("utf-16-le"), "not UTF-16 text"),  # lone surrogate
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
    ],
)
def test_parsing_undecodable_csv_is_422(data, fragment):
    with pytest.raises(InputError) as caught:
        parsing.parse_csv(data, sampling_rate=FS)
    assert caught.value.kind == "invalid" and fragment in caught.value.message
    assert "UTF-8" in caught.value.message  # says what to save it as


def test_parsing_beat_csv_shares_the_decoding():
    rows = "\r\n".join("\t".join(str(v) for v in np.round(np.linspace(-1, 1, 140) * k, 3)) for k in (1, 2))
    beats = beats_from_csv(codecs.BOM_UTF16_BE + rows.encode("utf-16-be"), 10)
    assert beats.shape == (2, 140) and beats[1, -1] == pytest.approx(2.0)
    with pytest.raises(InputError) as caught:
        beats_from_csv("é".encode("latin-1") + rows.encode(), 10)
    assert caught.value.kind == "invalid" and "not UTF-8 text (byte 1" in caught.value.message


def _upload(client, headers, data: bytes, name="export.txt"):
    return client.post(
        "/api/v1/recordings",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(data), name), "sampling_rate": str(FS)},
    )


def test_parsing_utf16_recording_upload_over_http(client, clinician_a, bearer):
    headers = bearer(clinician_a)
    values = np.round(np.sin(np.arange(10 * FS) / 10.0), 4)
    response = _upload(client, headers, _excel_unicode_text(values).encode("utf-16"))
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["params"]["leads"] == ["ECG (µV)"]
    bad = _upload(client, headers, "ecg;µV\n".encode("cp1252") + b"0.1\n" * 3000, name="rec.csv")
    assert bad.status_code == 422
    error = bad.get_json()["error"]
    assert error["code"] == "invalid_input" and "not UTF-8 text" in error["message"]
    assert error["details"] == {"encoding": "UTF-8", "byte": 5}
