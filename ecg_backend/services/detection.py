"""Access to the process-wide detector, loaded once by ``create_app``."""

from __future__ import annotations

from flask import current_app

from ecg_backend.errors import InputError


def load_detector(app):
    """Load the detector for ``app`` once: the injected ``DETECTOR`` or the bundle in ``MODEL_DIR``.

    Returns ``None`` only when loading failed and ``MODEL_REQUIRED`` is false (used for the very first
    ``flask --app ecg_backend ecg train``); otherwise a broken bundle raises ``ModelBundleError``.
    """
    if app.config.get("DETECTOR") is not None:
        return app.config["DETECTOR"]
    from ecg_backend.ml.detector import AnomalyDetector, ModelBundleError

    try:
        return AnomalyDetector.load(app.config.get("MODEL_DIR"))
    except ModelBundleError as exc:
        if app.config.get("MODEL_REQUIRED", True):
            raise
        app.logger.warning("starting without a detector (ECG_MODEL_REQUIRED=0): %s", exc)
        return None


def load_recording_detector(app, beat_detector):
    """The network whose error enters long-recording scores, loaded once: the injected ``RECORDING_DETECTOR``,
    the bundle in ``RECORDING_MODEL_DIR``, the shipped recording bundle, or else ``beat_detector`` itself."""
    if app.config.get("RECORDING_DETECTOR") is not None:
        return app.config["RECORDING_DETECTOR"]
    if app.config.get("DETECTOR") is not None or beat_detector is None:
        return beat_detector  # tests inject one detector for both; a start without a model has neither
    from ecg_backend.ml.bundle import RECORDING_BUNDLE_DIR
    from ecg_backend.ml.detector import AnomalyDetector

    directory = app.config.get("RECORDING_MODEL_DIR")
    if directory is None and not RECORDING_BUNDLE_DIR.is_dir():
        return beat_detector
    return AnomalyDetector.for_recordings(directory)


def get_recording_detector():
    """The recording detector of the current app (a 503 ``InputError`` when the app started without one)."""
    detector = current_app.extensions.get("ecg_recording_detector")
    if detector is None:
        return get_detector()
    return detector


def get_detector():
    """The detector of the current app; a 503 ``InputError`` when the app started without one."""
    detector = current_app.extensions.get("ecg_detector")
    if detector is None:
        raise InputError(
            "No model is loaded on this server; train one with `flask --app ecg_backend ecg train`.",
            kind="unavailable",
            code="model_unavailable",
        )
    return detector
