"""Use-cases the routes call. Routes parse and serialise; the work and the owner checks live here."""

from ecg_backend.extensions import db


def add_and_commit(record):
    """Insert ``record`` in its own transaction and return it.

    On failure the session is rolled back (so it stays usable for the error response) and the error is
    re-raised for the app's handlers (503 when the database is unreachable); nothing is half-stored.
    """
    db.session.add(record)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return record
