"""Database models. Every record a user can see carries an ``owner_id`` that queries filter on."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecg_backend.extensions import db

MAX_ID = 2**31 - 1  # integer primary keys fit a 32-bit database integer
ROLES = ("admin", "clinician")
SEXES = ("female", "male", "other", "unknown")
JOB_STATES = ("queued", "running", "finished", "failed")


def utcnow() -> datetime:
    """Timezone-aware now in UTC (stored naive-UTC by SQLite, timestamptz-free by design)."""
    return datetime.now(UTC).replace(tzinfo=None)


def is_valid_id(value: int) -> bool:
    """Whether ``value`` can be an integer primary key (larger numbers overflow the database driver)."""
    return 0 < value <= MAX_ID


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 text for JSON; datetimes are UTC and marked with ``Z``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    return value.isoformat()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="clinician")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set for the first admin when start-up generated the password: the pages ask for a new one first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "is_active": self.is_active,
            "created_at": iso(self.created_at),
        }


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, shown so a user can tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(lazy="joined")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
            "active": self.revoked_at is None,
        }


class UserSession(db.Model):
    """A signed-in browser session (and its remember-me cookie), ended on the server by logout.

    The cookie carries a random session id; only its SHA-256 is stored. Logging out deletes the row,
    disabling the account deletes all of them, so a copied cookie stops working.
    """

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the session id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Patient(db.Model):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(default=None)
    sex: Mapped[str | None] = mapped_column(String(16), default=None)
    external_id: Mapped[str | None] = mapped_column(String(64), default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    analyses: Mapped[list[Analysis]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True
    )

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "date_of_birth": iso(self.date_of_birth),
            "sex": self.sex,
            "external_id": self.external_id,
            "notes": self.notes,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


IDEMPOTENCY_KEY_MAX = 255


class Analysis(db.Model):
    __tablename__ = "analyses"
    __table_args__ = (
        Index("ix_analyses_owner_created", "owner_id", "created_at"),
        # One analysis per client-chosen Idempotency-Key and owner; the database settles a race between
        # two requests carrying the same key. NULL keys (requests without one) never collide.
        UniqueConstraint("owner_id", "idempotency_key", name="uq_analyses_owner_idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(16), default="beats")  # 'beats' | 'recording'
    source: Mapped[str] = mapped_column(String(32), default="api")  # api | csv | upload | sample | recording
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    n_beats: Mapped[int] = mapped_column(default=0)
    n_anomalous: Mapped[int] = mapped_column(default=0)
    # The detector's MSE threshold of a beat analysis; a recording's context-score cut is `operating_point`.
    threshold: Mapped[float | None] = mapped_column(default=None)
    operating_point: Mapped[float | None] = mapped_column(default=None)
    model_version: Mapped[str | None] = mapped_column(String(64), default=None)
    input: Mapped[dict | None] = mapped_column(JSON, default=None)
    result: Mapped[dict | None] = mapped_column(JSON, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(IDEMPOTENCY_KEY_MAX), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)  # sha256 hex of the request

    patient: Mapped[Patient | None] = relationship(back_populates="analyses")

    def to_dict(self, full: bool = False) -> dict:
        """Summary fields; ``full`` adds the stored input and per-beat result."""
        data = {
            "id": self.id,
            "patient_id": self.patient_id,
            "kind": self.kind,
            "source": self.source,
            "filename": self.filename,
            "created_at": iso(self.created_at),
            "n_beats": self.n_beats,
            "n_anomalous": self.n_anomalous,
            "threshold": self.threshold,
            "operating_point": self.operating_point,
            "model_version": self.model_version,
            "summary": (self.result or {}).get("summary"),
        }
        if full:
            data["input"] = self.input
            data["result"] = self.result
        return data


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        # One recording job per client-chosen Idempotency-Key and owner (NULL keys never collide).
        UniqueConstraint("owner_id", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(32), default="recording")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    params: Mapped[dict | None] = mapped_column(JSON, default=None)
    input_path: Mapped[str | None] = mapped_column(String(500), default=None)
    analysis_id: Mapped[int | None] = mapped_column(ForeignKey("analyses.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(IDEMPOTENCY_KEY_MAX), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "kind": self.kind,
            "state": self.state,
            "progress": self.progress,
            "message": self.message,
            "error": self.error,
            "params": self.params,
            "analysis_id": self.analysis_id,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
        }


BEAT_LABELS = ("N", "S", "V", "Q")


class LabelChange(db.Model):
    """A person's label of a recording's beat family or of one beat: who, when, what it was and became.

    Changes are replayed in order over the machine reading (`services.review`); an undone change keeps
    its row (``undone_at``) so the review's history stays readable.
    """

    __tablename__ = "label_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    family: Mapped[int | None] = mapped_column(default=None)  # the family labelled, or
    beat: Mapped[int | None] = mapped_column(default=None)  # the beat labelled (row index in the reading)
    old_label: Mapped[str | None] = mapped_column(String(1), default=None)
    label: Mapped[str] = mapped_column(String(1))
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")

    def to_dict(self) -> dict:
        name = (self.user.name or self.user.email) if self.user is not None else None
        return {
            "id": self.id,
            "family": self.family,
            "beat": self.beat,
            "old_label": self.old_label,
            "label": self.label,
            "user_id": self.user_id,
            "user_name": name,
            "created_at": iso(self.created_at),
            "undone_at": iso(self.undone_at),
            "undone_by": self.undone_by,
        }
