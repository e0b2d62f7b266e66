"""Each recording input format, and the errors bad uploads get."""

import io
import json
import zipfile

import numpy as np
import pytest

from ecg_backend.errors import InputError
from ecg_backend.signals import parsing


def _wave(n=2000):
    return np.sin(np.arange(n) / 10.0)


def test_sig_csv_with_header_time_column_and_mlii(tmp_path):
    fs = 250.0
    t = np.arange(1000) / fs
    text = "time,V1,MLII\n" + "\n".join(f"{a:.4f},{b:.3f},{c:.3f}" for a, b, c in zip(t, -_wave(1000), _wave(1000)))
    parsed = parsing.parse_csv(text.encode())
    assert parsed.fs == pytest.approx(fs)
    assert parsed.lead == "MLII" and parsed.leads == ["V1", "MLII"]
    np.testing.assert_allclose(parsed.signal, np.round(_wave(1000), 3))
    assert parsing.parse_csv(text.encode(), lead="V1").lead == "V1"
    assert parsing.parse_csv(text.encode(), lead="0").lead == "V1"


def test_sig_csv_without_header_needs_rate():
    text = "\n".join(f"{v:.3f}" for v in _wave(1000))
    with pytest.raises(InputError, match="sampling_rate"):
        parsing.parse_csv(text)
    parsed = parsing.parse_csv(text, sampling_rate="360")
    assert parsed.fs == 360 and len(parsed.signal) == 1000


def test_sig_csv_millisecond_time_column_and_empty_cells():
    rows = [f"{i * 4},{'' if i == 10 else round(float(v), 3)}" for i, v in enumerate(_wave(1000))]
    parsed = parsing.parse_csv("time,ecg\n" + "\n".join(rows))
    assert parsed.fs == pytest.approx(250.0)
    assert np.isnan(parsed.signal[10])


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("ecg\n1\n2\nabc\n" + "\n".join(["1"] * 1000), "row 4"),
        ("a,b\n" + "\n".join(["1,2"] * 100), "at least"),
    ],
)
def test_sig_csv_errors(text, message):
    with pytest.raises(InputError, match=message):
        parsing.parse_csv(text, sampling_rate=250)


@pytest.mark.parametrize("fs", [50, 2000, "fast", None])
def test_sig_sampling_rate_out_of_range(fs):
    with pytest.raises(InputError, match="sampling_rate"):
        parsing.parse_json_signal({"signal": _wave().tolist(), "sampling_rate": fs})


def test_sig_json_single_and_multi_lead():
    parsed = parsing.parse_json_signal({"signal": _wave().tolist(), "sampling_rate": 360})
    assert parsed.fs == 360 and len(parsed.signal) == 2000
    multi = {"signal": [(-_wave()).tolist(), _wave().tolist()], "sampling_rate": 360, "leads": ["V5", "II"]}
    assert parsing.parse_json_signal(multi).lead == "II"
    assert parsing.parse_json_signal(multi, lead=0).lead == "V5"
    with pytest.raises(InputError, match="not found"):
        parsing.parse_json_signal(multi, lead="V9")
    with pytest.raises(InputError, match="numbers"):
        parsing.parse_json_signal({"signal": ["x"] * 2000, "sampling_rate": 360})
    with pytest.raises(InputError, match="signal"):
        parsing.parse_json_signal({"sampling_rate": 360})


def _wfdb_files(tmp_path, with_atr=True):
    import wfdb

    sig = np.stack([_wave(3000), -_wave(3000)], axis=1)
    wfdb.wrsamp(
        "rec1",
        fs=360,
        units=["mV", "mV"],
        sig_name=["V1", "MLII"],
        p_signal=sig,
        fmt=["212", "212"],
        write_dir=str(tmp_path),
    )
    if with_atr:
        wfdb.wrann("rec1", "atr", np.array([100, 500]), symbol=["N", "V"], write_dir=str(tmp_path))
    return {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("rec1.")}


def test_sig_wfdb_files_and_zip(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    files = _wfdb_files(src)
    uploads = tmp_path / "uploads"
    parsed = parsing.parse_upload(files, uploads)
    assert parsed.fs == 360 and parsed.lead == "MLII" and parsed.source == "wfdb"
    np.testing.assert_allclose(parsed.signal, -_wave(3000), atol=0.01)
    assert parsed.annotations["symbol"] == ["N", "V"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"record/{name}", data)
    parsed = parsing.parse_upload({"rec1.zip": buf.getvalue()}, uploads, lead="V1")
    assert parsed.lead == "V1"
    assert list(uploads.iterdir()) == []  # the temporary folder is removed


def test_sig_wfdb_missing_dat_and_bad_zips(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    files = _wfdb_files(src, with_atr=False)
    with pytest.raises(InputError, match="rec1.dat"):
        parsing.parse_upload({"rec1.hea": files["rec1.hea"]}, tmp_path / "up")
    for members in ({"../evil.hea": b"x"}, {"/abs/rec.hea": b"x"}):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        with pytest.raises(InputError, match="unsafe"):
            parsing.parse_upload({"r.zip": buf.getvalue()}, tmp_path / "up")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("rec.dat", b"\0" * (300 * 1024 * 1024))
    with pytest.raises(InputError, match="expands") as info:
        parsing.parse_upload({"r.zip": bomb.getvalue()}, tmp_path / "up")
    assert info.value.kind == "too_large"
    with pytest.raises(InputError, match="not a valid zip"):
        parsing.parse_upload({"r.zip": b"PK nonsense"}, tmp_path / "up")


def test_sig_upload_dispatch_errors(tmp_path):
    with pytest.raises(InputError) as info:
        parsing.parse_upload({"a.exe": b"MZ"}, tmp_path)
    assert info.value.kind == "unsupported"
    with pytest.raises(InputError, match="not valid JSON"):
        parsing.parse_upload({"a.json": b"{nope"}, tmp_path)
    parsed = parsing.parse_upload(
        {"a.json": json.dumps({"signal": _wave().tolist(), "sampling_rate": 200}).encode()}, tmp_path
    )
    assert parsed.fs == 200
