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


def get_detector():
    """The detector of the current app; a 503 ``InputError`` when the app started without one."""
    detector = current_app.extensions.get("ecg_detector")
    if detector is None:
        raise InputError("No model is loaded on this server; train one with `flask --app ecg_backend ecg train`.",
                         kind="unavailable", code="model_unavailable")
    return detector
