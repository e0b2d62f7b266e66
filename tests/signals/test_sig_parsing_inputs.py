"""The input layer's shared parts: field parsers, the CSV row scan, budgets, uploads read from disk, EDF."""

from pathlib import Path

import numpy as np
import pytest

from ecg_backend.errors import InputError, http_status
from ecg_backend.signals import csv_input, leads, parsing
from ecg_backend.signals.input_fields import (
    human_bytes,
    parse_flag,
    parse_id,
    parse_number,
    parse_text,
)

FS = 360


def _wave(n=FS * 10):
    return np.sin(np.arange(n) / 9.0) + (np.arange(n) % FS == 0)


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, False),
        ("", False),
        (True, True),
        ("yes", True),
        (" On ", True),
        (0, False),
        ("0", False),
        ("off", False),
        (1, True),
    ],
)
def test_sig_inputs_flags(value, expected):
    assert parse_flag(value, "store") is expected


@pytest.mark.parametrize("value", ["maybe", "2", 2, 1.0, [], {}, "truee"])
def test_sig_inputs_flags_one_strictness(value):
    with pytest.raises(InputError) as caught:
        parse_flag(value, "single_lead")
    assert caught.value.kind == "invalid" and caught.value.details == {"field": "single_lead"}


@pytest.mark.parametrize("value", [10**400, "1" * 401, "nan", "inf", float("nan"), True, None, [360], "1e999", "x"])
def test_sig_inputs_numbers_never_overflow(value):
    with pytest.raises(InputError) as caught:
        parse_number(value, "sampling_rate", low=100, high=1000, unit="Hz")
    assert "sampling_rate" in caught.value.message and len(caught.value.message) < 200


def test_sig_inputs_ids_and_text():
    assert parse_id(" 7 ", "patient_id", 100) == 7 and parse_id(7.0, "patient_id", 100) == 7
    for bad in ("²", "٣", "-1", "0", "1e3", True, 101, "9" * 30):
        with pytest.raises(InputError):
            parse_id(bad, "patient_id", 100)
    assert parse_text(" a ", "name", 5) == "a" and parse_text(None, "name", 5) is None
    for bad in ("\ud800", ["a"], 3, "x" * 6):
        with pytest.raises(InputError) as caught:
            parse_text(bad, "name", 5)
        assert caught.value.details == {"field": "name"}


def test_sig_inputs_one_byte_formatter_and_kinds():
    assert [human_bytes(n) for n in (512, 2048, 10 << 20, 256 << 20, 3 << 30)] == [
        "512 bytes",
        "2 KB",
        "10 MB",
        "256 MB",
        "3 GB",
    ]
    assert http_status(InputError("x", kind="too_large")) == 413
    assert http_status(InputError("x", kind="too_many")) == 429
    assert InputError("x", status=415).kind == "unsupported"


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_sig_inputs_row_scan_across_chunks(monkeypatch, chunk):
    monkeypatch.setattr(csv_input, "SCAN_CHUNK", chunk)
    good = ("a,b\n" + "1,2\n" * 50).encode()
    assert csv_input.scan_rows(np.frombuffer(good, np.uint8), ord(",")) == 51
    wide = good + b",".join([b"1"] * 65) + b"\n1,2\n"
    with pytest.raises(InputError, match="row 52 of the CSV has 65 or more columns") as caught:
        csv_input.scan_rows(np.frombuffer(wide, np.uint8), ord(","))
    assert caught.value.kind == "too_large"
    long = good + b"1" * (csv_input.MAX_LINE_BYTES + 1)
    with pytest.raises(InputError, match="row 52"):
        csv_input.scan_rows(np.frombuffer(long, np.uint8), ord(","))


def test_sig_inputs_budget_before_reading():
    leads.check_budget(24 * 3600 * 360, 3)  # a 24-h three-lead Holter at 360 Hz fits
    for n, k, fragment in (
        (24 * 3600 * 1000, 1, "needs"),
        (1000, leads.MAX_LEADS + 1, "leads"),
        (leads.MAX_SAMPLES + 1, 1, "samples per lead"),
    ):
        with pytest.raises(InputError, match=fragment) as caught:
            leads.check_budget(n, k)
        assert caught.value.kind == "too_large"


def test_sig_inputs_csv_from_a_file_path_matches_bytes(tmp_path):
    rows = [f"{i / FS:.6f},{a:.4f},{b:.4f}" for i, (a, b) in enumerate(zip(_wave(), -_wave()))]
    body = ("time,MLII,V1\n" + "\n".join(rows) + "\n").encode()
    path = tmp_path / "upload-0"
    path.write_bytes(body)
    from_path = parsing.parse_upload({"ecg.csv": path}, tmp_path)
    from_bytes = parsing.parse_csv(body)
    assert from_path.fs == pytest.approx(FS, rel=1e-3) and from_path.lead == "MLII" and from_path.extra_names == ["V1"]
    np.testing.assert_array_equal(from_path.signal, from_bytes.signal)
    np.testing.assert_array_equal(from_path.extra_leads, from_bytes.extra_leads)
    (tmp_path / "bom").write_bytes(b"\xef\xbb\xbf" + body)
    np.testing.assert_array_equal(parsing.parse_upload({"e.csv": tmp_path / "bom"}, tmp_path).signal, from_bytes.signal)


def test_sig_inputs_csv_decimal_commas_and_bad_cells():
    body = "MLII;V1\n" + "\n".join(f"{a:.3f};{-a:.3f}".replace(".", ",") for a in _wave())
    parsed = parsing.parse_csv(body, sampling_rate=FS)
    np.testing.assert_allclose(parsed.signal, np.round(_wave(), 3))
    bad = "MLII,V1\n" + "1,2\n" * 900 + "1,x\n" + "1,2\n" * 900
    with pytest.raises(InputError, match="row 902 of lead 'V1' is not a number"):
        parsing.parse_csv(bad, sampling_rate=FS)
    assert (
        parsing.parse_csv(
            bad.replace("1,2", "1.5,2").replace("1,x", "0.5,x"), sampling_rate=FS, single_lead="true"
        ).extra_leads
        is None
    )  # the unused lead is not read


def _edf(path: Path, leads_: dict, fs=FS, unit="mV"):
    import edfio

    signals = [
        edfio.EdfSignal(values, sampling_frequency=fs, label=name, physical_dimension=unit)
        for name, values in leads_.items()
    ]
    edfio.Edf(signals).write(path)
    return path


def test_sig_inputs_edf(tmp_path):
    wave = _wave()
    path = _edf(tmp_path / "rec.edf", {"V1": -wave, "MLII": wave})
    parsed = parsing.parse_upload({"rec.edf": path}, tmp_path)
    assert parsed.source == "edf" and parsed.fs == FS and parsed.lead == "MLII" and parsed.extra_names == ["V1"]
    np.testing.assert_allclose(parsed.signal, wave, atol=1e-3)
    assert parsed.extra_leads.dtype == np.float32
    np.testing.assert_allclose(parsed.extra_leads[:, 0], -wave, atol=1e-3)
    micro = parsing.parse_upload({"r.edf": _edf(tmp_path / "uv.edf", {"ECG": wave * 1000}, unit="uV")}, tmp_path)
    np.testing.assert_allclose(micro.signal, wave, atol=1e-3)  # µV read as mV
    assert parsing.parse_upload({"rec.edf": path.read_bytes()}, tmp_path, single_lead="1").extra_leads is None
    with pytest.raises(InputError, match="EDF file could not be read"):
        parsing.parse_upload({"bad.edf": b"0       " + b"x" * 300}, tmp_path)
