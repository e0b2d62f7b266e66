"""A recording's operating point has its own column; the migration moves it out of ``threshold``."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from ecg_backend.config import TestConfig
from tests.conftest import dispose_app, untrained_detector

BEFORE = "5d2a8c0e7f41"  # the revision before the operating point got its column


def _app(uri: str):
    from ecg_backend import create_app

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = uri
    config.DETECTOR = untrained_detector()
    return create_app(config)


def test_migration_moves_a_recordings_threshold_to_its_operating_point(tmp_path):
    """...and no migration after it loses stored rows (on SQLite a batch copy of a table cascades deletes)."""
    app = _app(f"sqlite:///{tmp_path / 'old.db'}")
    from ecg_backend.extensions import db

    try:
        with app.app_context():
            upgrade(revision=BEFORE)
            db.session.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, is_active, created_at)"
                    " VALUES (1, 'a@example.com', '', 'x', 'clinician', 1, '2026-01-01')"
                )
            )
            for row_id, kind, threshold in ((1, "recording", 12.5), (2, "beats", 0.031)):
                db.session.execute(
                    text(
                        "INSERT INTO analyses (id, owner_id, kind, source, created_at, n_beats, n_anomalous, threshold)"
                        " VALUES (:id, 1, :kind, 'api', '2026-01-01', 0, 0, :threshold)"
                    ),
                    {"id": row_id, "kind": kind, "threshold": threshold},
                )
            db.session.execute(
                text(
                    "INSERT INTO jobs (id, owner_id, kind, state, progress, message, created_at,"
                    " analysis_id) VALUES ('j', 1, 'recording', 'finished', 100, '', '2026-01-01', 1)"
                )
            )
            db.session.commit()
            upgrade()  # to the head: every later migration keeps the rows too
            assert db.session.execute(text("SELECT analysis_id FROM jobs")).scalar() == 1
            rows = {
                (r[0]): (r[1], r[2])
                for r in db.session.execute(text("SELECT id, threshold, operating_point FROM analyses"))
            }
        assert rows == {1: (None, 12.5), 2: (0.031, None)}
    finally:
        dispose_app(app)


def test_analysis_json_keeps_threshold_and_operating_point_apart(app, clinician_a):
    from ecg_backend.models import Analysis
    from ecg_backend.services.analyses import save_analysis

    with app.app_context():
        data = save_analysis(Analysis(owner_id=clinician_a.id, kind="recording", operating_point=12.5)).to_dict()
    assert data["threshold"] is None and data["operating_point"] == 12.5
