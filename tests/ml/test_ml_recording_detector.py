"""The network long recordings score with: loaded once per process, the shipped recording bundle when there
is one, else the beat detector."""

import numpy as np
import pytest

from ecg_backend.ml import detector as detector_module
from ecg_backend.ml.bundle import write_bundle
from ecg_backend.ml.detector import AnomalyDetector


def _tiny_bundle(directory, seed):
    from sklearn.preprocessing import StandardScaler

    source = AnomalyDetector.untrained(seed=seed)
    scaler = StandardScaler().fit(np.random.default_rng(seed).normal(size=(20, 140)))
    write_bundle(
        directory,
        source.net,
        scaler,
        {"name": f"tiny-{seed}", "threshold": 0.5, "calibration": {"a": 3.0, "b": 0.5}, "scoring": {}},
    )


def test_for_recordings_prefers_the_recording_bundle(tmp_path, monkeypatch):
    beat_dir, recording_dir = tmp_path / "beat", tmp_path / "beat" / "recording"
    _tiny_bundle(beat_dir, 1)
    monkeypatch.setattr(detector_module, "DEFAULT_BUNDLE_DIR", beat_dir)
    monkeypatch.setattr(detector_module, "RECORDING_BUNDLE_DIR", recording_dir)
    monkeypatch.setattr("ecg_backend.ml.bundle.DEFAULT_BUNDLE_DIR", beat_dir)
    assert AnomalyDetector.for_recordings().card["name"] == "tiny-1"  # no recording bundle: the beat one
    _tiny_bundle(recording_dir, 2)
    assert AnomalyDetector.for_recordings().card["name"] == "tiny-2"
    assert AnomalyDetector.for_recordings(beat_dir).card["name"] == "tiny-1"  # an explicit folder wins


def test_the_app_loads_the_recording_detector_once_from_its_folder(tmp_path):
    from tests.conftest import dispose_app, make_test_app

    _tiny_bundle(tmp_path / "rec", 3)
    app = make_test_app(
        f"sqlite:///{tmp_path / 'a.db'}", DETECTOR=None, MODEL_DIR=None, RECORDING_MODEL_DIR=str(tmp_path / "rec")
    )
    try:
        beat, recording = app.extensions["ecg_detector"], app.extensions["ecg_recording_detector"]
        assert recording.card["name"] == "tiny-3" and beat is not recording
        from ecg_backend.services.detection import get_detector, get_recording_detector

        with app.app_context():
            assert get_recording_detector() is recording and get_detector() is beat
    finally:
        dispose_app(app)


def test_an_injected_detector_serves_both(app):
    assert app.extensions["ecg_recording_detector"] is app.extensions["ecg_detector"]


@pytest.mark.app_config(RECORDING_DETECTOR=AnomalyDetector.untrained(seed=5))
def test_recording_jobs_score_with_the_recording_detector(app, monkeypatch):
    import ecg_backend.services.recordings as recordings_service

    used = []

    def fake_analyze(signal, fs, detector=None, **kwargs):
        used.append(detector)
        raise RuntimeError("stop here")

    monkeypatch.setattr("ecg_backend.signals.recording.analyze_recording", fake_analyze)
    monkeypatch.setattr(recordings_service, "_read_job_input", lambda path: (np.zeros(10), None))

    class Job:
        params = {"sampling_rate": 360}
        input_path = "unused"

    with app.app_context(), pytest.raises(RuntimeError, match="stop here"):
        recordings_service._analyse_saved_recording(Job(), lambda *a: None)
    assert used == [app.extensions["ecg_recording_detector"]]
    assert used[0] is not app.extensions["ecg_detector"]


def test_the_shipped_recording_bundle_is_the_earlier_network_and_self_checking():
    from ecg_backend.ml.bundle import RECORDING_BUNDLE_DIR

    recording, beat = AnomalyDetector.for_recordings(), AnomalyDetector.load()
    assert recording.version == "c2e8f44cf2d9"  # trained on normal beats only; see docs/MODEL_CARD.md
    assert recording.version != beat.version
    assert recording.card["training"].get("n_train_abnormal", 0) == 0
    assert sum(p.stat().st_size for p in RECORDING_BUNDLE_DIR.iterdir()) < 2 * 1024 * 1024
