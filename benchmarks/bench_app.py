"""The temporary app the recording benchmarks time: a SQLite database and storage root in a folder of their
own, one reader with an API token, and a recording stored the way a finished job leaves it."""

from __future__ import annotations

import os

EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"
STORAGE_KEY = "recordings/bench"


def bench_app(tmp: str, *, without_model: bool = True):
    """An app on ``tmp``'s own database and storage root, tables created (``without_model``: no bundle needed)."""
    from ecg_backend import create_app
    from ecg_backend.config import TestConfig
    from ecg_backend.extensions import db

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp}/bench.db"
    config.ECG_STORAGE_DIR = os.path.join(tmp, "storage")
    if without_model:
        config.MODEL_REQUIRED = False
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def bench_reader(app) -> tuple[int, dict]:
    """The reader's user id and the ``Authorization`` headers of a fresh API token."""
    from ecg_backend.services.tokens import create_token
    from ecg_backend.services.users import create_user

    with app.app_context():
        user = create_user(EMAIL, PASSWORD, name="Bench Reader")
        _, token = create_token(user, "bench")
        return user.id, {"Authorization": f"Bearer {token}"}


def signal_path(app) -> str:
    """Where the benchmark recording's signal file goes (its folder created)."""
    from ecg_backend.services.storage import SIGNAL_FILE

    folder = os.path.join(app.config["ECG_STORAGE_DIR"], *STORAGE_KEY.split("/"))
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, SIGNAL_FILE)


def store_recording(app, owner_id: int, columns, fs: float, lead_names: list[str], result: dict | None = None) -> int:
    """Write ``columns`` (one array per lead, 200 units/mV) as the stored signal and add the recording's
    Analysis row (with the stored ``result``, if any); returns its id."""
    from ecg_backend.signals import store

    store.write_signal(signal_path(app), columns, fs, [store.LeadInfo(name, gain=200.0) for name in lead_names])
    return add_recording(app, owner_id, fs, lead_names, result)


def add_recording(app, owner_id: int, fs: float, lead_names: list[str], result: dict | None = None) -> int:
    """The Analysis row of a recording whose signal is already at `signal_path`; returns its id."""
    from ecg_backend.extensions import db
    from ecg_backend.models import Analysis

    with app.app_context():
        analysis = Analysis(
            owner_id=owner_id,
            kind="recording",
            filename="bench-holter.hea",
            n_beats=(result or {}).get("summary", {}).get("n_beats", 0),
            result=result,
            input={"storage": STORAGE_KEY, "sampling_rate": fs, "leads": lead_names},
        )
        db.session.add(analysis)
        db.session.commit()
        return analysis.id
