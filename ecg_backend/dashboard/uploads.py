"""Turn an uploaded CSV (or the bundled sample) into a stored analysis, with the API's parser and messages."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, url_for

from ecg_backend.api.predict import CSV_EXTENSIONS
from ecg_backend.errors import InputError
from ecg_backend.models import MAX_ID, Analysis, User
from ecg_backend.services.analyses import analyse_beats
from ecg_backend.services.beat_input import beats_from_csv
from ecg_backend.signals.input_fields import parse_id, parse_text

SAMPLE_NAME = "sample_beats.csv"
# Files of whole recordings: they belong on the Recordings page, which finds the beats itself.
RECORDING_EXTENSIONS = {".hea", ".dat", ".atr", ".edf", ".bdf", ".zip", ".json"}


def sample_path() -> Path:
    """The bundled demo CSV (``data/sample_beats.csv`` beside the package, or ``ECG_SAMPLE_CSV``)."""
    configured = current_app.config.get("SAMPLE_CSV")
    return Path(configured) if configured else Path(current_app.root_path).parent / "data" / SAMPLE_NAME


def parse_patient_id(value: str | None) -> int | None:
    """The optional patient select: empty means no patient; anything else must be a positive whole number."""
    try:
        return parse_id((value or "").strip(), "patient_id", MAX_ID)
    except InputError:
        raise InputError(
            f"The patient choice {str(value)[:40]!r} is not valid; choose a patient from the list.",
            details={"field": "patient_id"},
        ) from None


def analyse_csv(
    owner: User, data: bytes, *, filename: str | None, patient_id: int | None, source: str = "upload"
) -> Analysis:
    """Parse CSV bytes like ``POST /predict`` does, score them and store one Analysis."""
    beats = beats_from_csv(data, current_app.config.get("MAX_BEATS_PER_REQUEST", 5000))
    _, analysis = analyse_beats(owner, beats, patient_id=patient_id, store=True, source=source, filename=filename)
    return analysis


def analyse_upload(owner: User, upload, patient_id_text: str | None) -> Analysis:
    """The Analyse form: one ``file`` field (werkzeug FileStorage) and an optional patient."""
    if upload is None or not upload.filename:
        raise InputError(
            "no file was uploaded; choose a CSV file with one beat per row (140 values)",
            kind="malformed",
            details={"field": "file"},
        )
    patient_id = parse_patient_id(patient_id_text)
    name = Path(parse_text(upload.filename, "the file name", 1000).replace("\\", "/")).name[:255]
    check_beats_file(name)
    return analyse_csv(owner, upload.read(), filename=name, patient_id=patient_id)


def recording_file_message(name: str) -> str:
    """What the Analyse page says about a recording file (the page's script says it before uploading)."""
    return (
        f"“{name}” looks like a long recording (WFDB, EDF, JSON or zip), not a file of cut beats. "
        "Upload it on the Recordings page, which finds the beats for you."
    )


def check_beats_file(name: str) -> None:
    """Refuse, before reading, a file that is not a CSV of beats; point recordings to the Recordings page."""
    extension = Path(name).suffix.lower()
    if extension in CSV_EXTENSIONS:
        return
    if extension in RECORDING_EXTENSIONS:
        details = {"field": "file"}
        if "dashboard.recording_new" in current_app.view_functions:
            details["recordings_url"] = url_for("dashboard.recording_new")
        raise InputError(recording_file_message(name), status=415, details=details)
    raise InputError(
        f"“{name}” is not a CSV file. Upload a .csv with one beat per row (140 values).",
        status=415,
        details={"field": "file"},
    )


def analyse_sample(owner: User) -> Analysis:
    """Run the bundled sample file; a clear 503 when it is missing from this installation."""
    path = sample_path()
    if not path.is_file():
        raise InputError(f"the sample file {SAMPLE_NAME} is missing from this installation", kind="unavailable")
    return analyse_csv(owner, path.read_bytes(), filename=SAMPLE_NAME, patient_id=None, source="sample")
