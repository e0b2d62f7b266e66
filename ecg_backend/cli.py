"""Flask CLI: ``users`` and ``tokens`` groups, plus the ``ecg`` group of the model and signal modules."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ecg_backend.errors import InputError

users_cli = AppGroup("users", help="Manage accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")


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


def register_commands(app) -> None:
    """Attach ``users``, ``tokens`` and ``ecg`` (train, evaluate, evaluate-mitdb) to ``app.cli``."""
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    ecg_cli = _optional_attr("ecg_backend.ml.cli", "ecg_cli")
    if ecg_cli is not None:
        _optional_attr("ecg_backend.signals.cli", "ecg_cli")  # registers evaluate-mitdb on the same group
        app.cli.add_command(ecg_cli)


def _optional_attr(module_name: str, attr: str):
    # Only a missing module is tolerated (e.g. a checkout without training code); errors inside it surface.
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, attr, None)
