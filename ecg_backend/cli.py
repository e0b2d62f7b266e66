"""Flask CLI: the ``users``, ``tokens`` and ``ecg`` command groups.

``ml/`` and ``signals/`` know nothing of Flask or click: each ``ecg`` command hands its arguments to the
``main`` of its module (``ecg_backend.ml.train``, ``ecg_backend.ml.evaluate``,
``ecg_backend.signals.evaluate``), whose argparse parser is the one definition of the command's options,
and adds only what the app knows (its model folder, its loaded detector).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ecg_backend.errors import InputError

users_cli = AppGroup("users", help="Manage accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
ecg_cli = AppGroup("ecg", help="Train and evaluate the ECG anomaly detector.")
# The module's parser reads every argument, --help included.
_PASS_THROUGH = {"context_settings": {"ignore_unknown_options": True}, "add_help_option": False}
_argv = click.argument("argv", nargs=-1, type=click.UNPROCESSED)


@users_cli.command("create")
@click.option("--email", required=True, help="Login email.")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--name", default="", help="Display name (default: the part before @).")
@click.option("--admin", is_flag=True, help="Create an admin instead of a clinician.")
def create_user_command(email: str, password: str, name: str, admin: bool) -> None:
    """Create an account."""
    from ecg_backend.services.users import create_user

    try:
        user = create_user(email, password, name=name, role="admin" if admin else "clinician")
    except InputError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@users_cli.command("list")
def list_users_command() -> None:
    """List accounts."""
    from ecg_backend.services.users import list_users

    for user in list_users():
        state = "active" if user.is_active else "disabled"
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{state}")


@users_cli.command("set-password")
@click.option("--email", required=True)
@click.option("--password", required=True)
def set_password_command(email: str, password: str) -> None:
    """Reset an account's password (signs out its sessions and revokes its API tokens)."""
    from ecg_backend.services.users import find_by_email, reset_password

    user = find_by_email(email)
    if user is None:
        raise click.ClickException(f"no account for {email}")
    try:
        reset = reset_password(user.id, password)
    except InputError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"password changed for {user.email}. {reset.summary()}")


@tokens_cli.command("create")
@click.option("--email", required=True, help="The account the token acts as.")
@click.option("--name", default="cli", help="A label to tell tokens apart.")
def create_token_command(email: str, name: str) -> None:
    """Create an API token and print it (it is shown only once)."""
    from ecg_backend.services.tokens import create_token
    from ecg_backend.services.users import find_by_email

    user = find_by_email(email)
    if user is None or not user.is_active:
        raise click.ClickException(f"no active account for {email}")
    _, raw = create_token(user, name)
    click.echo(raw)


def _model_dir() -> Path | None:
    configured = current_app.config.get("MODEL_DIR")
    return Path(configured) if configured else None


@ecg_cli.command("train", **_PASS_THROUGH)
@_argv
def train_command(argv: tuple[str, ...]) -> None:
    """Train on ECG5000 TRAIN (threshold and calibration by cross-validation in TRAIN), write the bundle,
    report TEST. Options: --out --data --branches --seed (see --help)."""
    from ecg_backend.ml.train import main

    main(list(argv), prog="flask ecg train", default_out=_model_dir())


@ecg_cli.command("evaluate", **_PASS_THROUGH)
@_argv
def evaluate_command(argv: tuple[str, ...]) -> None:
    """Evaluate the bundle on the 4500-beat ECG5000 TEST split; print and write the report.
    Options: --bundle --data --out (see --help)."""
    from ecg_backend.ml.evaluate import main

    main(list(argv), prog="flask ecg evaluate", default_bundle=_model_dir())


@ecg_cli.command("evaluate-mitdb", **_PASS_THROUGH)
@_argv
def evaluate_mitdb_command(argv: tuple[str, ...]) -> None:
    """Recording analysis against MIT-BIH reference annotations (R peaks, V-beat AUC, VEB Se/PPV).
    Options: --dir --records --bundle --untrained --halves --single-lead --thresholds (see --help)."""
    from ecg_backend.signals.evaluate import main

    main(
        list(argv),
        prog="flask ecg evaluate-mitdb",
        detector=current_app.extensions.get("ecg_recording_detector"),
        echo=click.echo,
    )


def register_commands(app) -> None:
    """Attach ``users``, ``tokens`` and ``ecg`` (train, evaluate, evaluate-mitdb) to ``app.cli``."""
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(ecg_cli)
