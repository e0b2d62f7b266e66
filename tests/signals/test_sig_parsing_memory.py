"""WFDB uploads are read block by block: the chosen lead float64, the others float32 from the start, with
the samples one ``wfdb.rdrecord(physical=True)`` gives (NaN for invalid samples), and without a float64
copy of every lead. CSV columns are converted one at a time; the job's input file is written in blocks."""

import tracemalloc

import numpy as np
import pytest

from ecg_backend.errors import InputError
from ecg_backend.services import recordings, storage
from ecg_backend.signals import parsing, store, wfdb_input

FS = 360


def _saved_array(parsed):
    """What a job's input file holds as samples, built whole (leads without gains): an (n_samples, 1 + k)
    float32 array whose column 0 is the chosen lead."""
    if parsed.extra_leads is None:
        return parsed.signal.astype(np.float32)[:, None]
    return np.column_stack([parsed.signal.astype(np.float32), parsed.extra_leads]).astype(np.float32)


def _files(folder, name):
    return {f"{name}{ext}": (folder / f"{name}{ext}").read_bytes() for ext in (".hea", ".dat")}


def _physical(folder, name):
    """The reference: the whole record in one physical float64 read (what parsing did before)."""
    import wfdb

    return wfdb.rdrecord(str(folder / name), physical=True).p_signal


def _write(folder, name, digital, fmt, gains=(200.0, 100.0, 31.5), baselines=(0, -40, 1024)):
    import wfdb

    k = digital.shape[1]
    wfdb.wrsamp(
        name,
        fs=FS,
        units=["mV"] * k,
        sig_name=["V1", "MLII", "V5"][:k],
        d_signal=digital,
        fmt=[fmt] * k,
        adc_gain=list(gains[:k]),
        baseline=list(baselines[:k]),
        write_dir=str(folder),
    )


def _digital(n, k, invalid, amplitude=400, seed=0):
    """Digital samples of k leads with runs of the format's invalid value, across block boundaries."""
    rng = np.random.default_rng(seed)
    wave = amplitude * np.sin(np.arange(n)[:, None] / 7.0 + np.arange(k)) + rng.normal(0, amplitude / 20, (n, k))
    digital = np.clip(np.round(wave), invalid + 1, -invalid - 1).astype(np.int64)
    digital[95:105, 0] = invalid  # straddles the 100-sample blocks below
    digital[299:301, 1] = invalid
    digital[n - 3 :, 2 % k] = invalid  # the last samples
    return digital


@pytest.mark.parametrize(
    "folder, record, lead",
    [
        ("mitdb_excerpt_dir", "114", None),
        ("mitdb_excerpt_dir", "119", "V1"),
        ("mitdb_excerpt_dir", "119", None),
        pytest.param("mitdb_dir", "208", None, marks=pytest.mark.data),
        pytest.param("mitdb_dir", "203", None, marks=pytest.mark.data),
        pytest.param("mitdb_dir", "230", None, marks=pytest.mark.data),
    ],
)
def test_sig_parsing_memory_wfdb_matches_one_physical_read(request, tmp_path, folder, record, lead):
    folder = request.getfixturevalue(folder)
    reference = _physical(folder, record)
    parsed = parsing.parse_upload(_files(folder, record), tmp_path, lead=lead)
    index = parsed.leads.index(parsed.lead)
    others = [i for i in range(reference.shape[1]) if i != index]
    assert parsed.signal.dtype == np.float64 and parsed.extra_leads.dtype == np.float32
    assert reference.shape[0] in (108000, 650000)  # the excerpt's five minutes or a whole record
    assert parsed.extra_leads.shape == (reference.shape[0], 1)
    assert parsed.extra_names == [parsed.leads[i] for i in others]
    # bit for bit: the chosen lead as wfdb's float64, the others as its float64 rounded to float32
    np.testing.assert_array_equal(parsed.signal, reference[:, index])
    np.testing.assert_array_equal(parsed.extra_leads, reference[:, others].astype(np.float32))
    if record == "114":  # MLII is the second lead of 114: the default choice skips the first
        assert parsed.lead == "MLII" and parsed.extra_names == ["V5"]
    if lead == "V1":
        assert parsed.lead == "V1" and parsed.extra_names == ["MLII"]


@pytest.mark.parametrize("fmt, invalid", [("16", -(2**15)), ("212", -(2**11)), ("24", -(2**23)), ("80", -(2**7))])
def test_sig_parsing_memory_blocks_keep_values_and_invalid_samples(tmp_path, monkeypatch, fmt, invalid):
    n = 1003
    digital = _digital(n, 3, invalid, amplitude=100 if fmt == "80" else 400)
    _write(tmp_path, "rec", digital, fmt)
    reference = _physical(tmp_path, "rec")
    whole = parsing.parse_upload(_files(tmp_path, "rec"), tmp_path / "up", lead="V1")
    monkeypatch.setattr(wfdb_input, "WFDB_READ_SAMPLES", 100)
    blocks = parsing.parse_upload(_files(tmp_path, "rec"), tmp_path / "up", lead="V1")
    # wfdb marks the format's invalid value NaN; the block reads find the same NaNs and values
    assert np.isnan(reference[95:105, 0]).all() and np.isnan(reference[n - 3 :, 2]).all()
    assert np.isnan(reference).sum() == 10 + 2 + 3
    for parsed in (whole, blocks):
        np.testing.assert_array_equal(parsed.signal, reference[:, 0])
        np.testing.assert_array_equal(parsed.extra_leads, reference[:, 1:].astype(np.float32))
        assert parsed.extra_names == ["MLII", "V5"]
    # physical units: (digital - baseline) / gain
    assert blocks.extra_leads[0, 0] == np.float32((digital[0, 1] + 40) / 100.0)
    assert blocks.extra_leads[0, 1] == np.float32((digital[0, 2] - 1024) / 31.5)
    single = parsing.parse_upload(_files(tmp_path, "rec"), tmp_path / "up", lead="MLII", single_lead="true")
    np.testing.assert_array_equal(single.signal, reference[:, 1])
    assert single.extra_leads is None and single.extra_names == []


def test_sig_parsing_memory_difference_format_is_read_in_one_piece(tmp_path, monkeypatch):
    """Format 8 stores first differences: a read from the middle would restart from the initial value."""
    n = 1000
    digital = np.stack([np.round(300 * np.sin(np.arange(n) / 9.0)), np.round(-200 * np.cos(np.arange(n) / 9.0))], 1)
    digital = digital.astype(np.int64)
    steps = np.diff(np.vstack([digital[:1], digital]), axis=0)
    assert np.abs(steps).max() < 127
    (tmp_path / "dif.dat").write_bytes(steps.astype(np.int8).tobytes())
    (tmp_path / "dif.hea").write_text(
        f"dif 2 {FS} {n}\n"
        f"dif.dat 8 200(0)/mV 12 0 {digital[0, 0]} 0 0 MLII\n"
        f"dif.dat 8 200(0)/mV 12 0 {digital[0, 1]} 0 0 V1\n"
    )
    reference = _physical(tmp_path, "dif")
    np.testing.assert_allclose(reference, digital / 200.0)
    monkeypatch.setattr(wfdb_input, "WFDB_READ_SAMPLES", 100)
    parsed = parsing.parse_upload(_files(tmp_path, "dif"), tmp_path / "up")
    np.testing.assert_array_equal(parsed.signal, reference[:, 0])
    np.testing.assert_array_equal(parsed.extra_leads[:, 0], reference[:, 1].astype(np.float32))


def test_sig_parsing_memory_truncated_dat_is_a_422(tmp_path, monkeypatch):
    digital = _digital(1000, 2, -(2**15))
    _write(tmp_path, "cut", digital, "16")
    files = _files(tmp_path, "cut")
    files["cut.dat"] = files["cut.dat"][:-40]  # the last 10 frames of 2 leads x 2 bytes
    for block in (wfdb_input.WFDB_READ_SAMPLES, 100):
        monkeypatch.setattr(wfdb_input, "WFDB_READ_SAMPLES", block)
        with pytest.raises(InputError, match="the WFDB signal file could not be read") as caught:
            parsing.parse_upload(files, tmp_path / "up")
        assert caught.value.kind == "invalid"


@pytest.mark.data
def test_sig_parsing_memory_no_float64_copy_of_every_lead(mitdb_dir, tmp_path, monkeypatch):
    files = _files(mitdb_dir, "208")
    monkeypatch.setattr(wfdb_input, "WFDB_READ_SAMPLES", 65536)
    parsing.parse_upload(files, tmp_path)  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        parsed = parsing.parse_upload(files, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n = len(parsed.signal)
    kept = parsed.signal.nbytes + parsed.extra_leads.nbytes  # 8 + 4 bytes per sample
    assert kept == 12 * n == 7_800_000
    # one physical read alone holds 16 bytes per sample (both leads float64); the old parse peaked at ~37
    assert peak < 1.5 * kept, (peak, kept)


def test_sig_parsing_memory_csv_columns_and_job_input_file(tmp_path):
    n = 3000
    t = np.arange(n) / 250.0
    a, b = np.sin(t * 7.0), np.cos(t * 5.0)
    text = "time,V1,MLII,V5\n" + "\n".join(
        f"{x:.4f},{y:.4f},{z:.4f},{'' if i == 7 else f'{y - z:.4f}'}" for i, (x, y, z) in enumerate(zip(t, a, b))
    )
    parsed = parsing.parse_csv(text)
    assert parsed.fs == pytest.approx(250.0) and parsed.lead == "MLII" and parsed.extra_names == ["V1", "V5"]
    assert parsed.signal.dtype == np.float64 and parsed.extra_leads.dtype == np.float32
    np.testing.assert_array_equal(parsed.signal, np.round(b, 4))
    np.testing.assert_array_equal(parsed.extra_leads[:, 0], np.round(a, 4).astype(np.float32))
    assert np.isnan(parsed.extra_leads[7, 1]) and np.isfinite(parsed.extra_leads[8:, 1]).all()
    # the job's input file, written in blocks, is the whole array
    columns, leads = storage.recording_leads(parsed)
    for block in (64, store.BLOCK_SAMPLES):
        path = str(tmp_path / f"job-{block}{store.SUFFIX}")
        store.write_signal(path, columns, parsed.fs, leads, block=block)
        saved = np.asarray(store.open_signal(path).array("samples"))
        assert saved.dtype == np.float32 and saved.shape == (n, 3)
        np.testing.assert_array_equal(saved, _saved_array(parsed))
        np.testing.assert_array_equal(saved[:, 0], parsed.signal.astype(np.float32))
    one = parsing.parse_csv(text, single_lead="true")
    path = str(tmp_path / f"one{store.SUFFIX}")
    store.write_signal(path, [one.signal], one.fs, storage.recording_leads(one)[1])
    np.testing.assert_array_equal(store.open_signal(path).array("samples"), _saved_array(one))


@pytest.mark.parametrize("extra", [True, False])
def test_sig_parsing_memory_fingerprint_read_in_blocks_is_the_whole_array_hash(monkeypatch, extra):
    """The Idempotency-Key hash of a recording reads its leads block by block and still equals the hash of
    the whole saved array, so keys stored before keep matching their retries."""
    from ecg_backend.services import idempotency

    rng = np.random.default_rng(1)
    signal = rng.normal(size=1003)
    parsed = parsing.ParsedRecording(
        signal=signal,
        fs=360.0,
        lead="MLII",
        leads=["MLII", "V1", "V5"],
        extra_leads=rng.normal(size=(1003, 2)).astype(np.float32) if extra else None,
        extra_names=["V1", "V5"] if extra else [],
    )
    options = [7, 360.0, "MLII", "r.csv"] + ([["V1", "V5"]] if extra else [])
    whole = idempotency.fingerprint(options, _saved_array(parsed), dtype="<f4")
    for block in (100, 1003, 1 << 20):
        monkeypatch.setattr(store, "BLOCK_SAMPLES", block)
        assert recordings.recording_fingerprint(parsed, filename="r.csv", patient_id=7) == whole
    changed = parsing.ParsedRecording(**{**parsed.__dict__, "signal": signal + np.eye(1, 1003, 1002)[0]})
    assert recordings.recording_fingerprint(changed, filename="r.csv", patient_id=7) != whole
