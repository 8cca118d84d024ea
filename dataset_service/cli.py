"""Command line: `flask --app dataset_service users create NAME --role admin|labeler`, `... users set-password NAME`, `... db upgrade`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .errors import DomainError
from .migrate import upgrade
from .services import logins
from .services import users as user_service

users_cli = AppGroup("users", help="Manage users.")
db_cli = AppGroup("db", help="Manage the database schema.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "labeler"]), default="labeler", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user(username: str, role: str, password: str) -> None:
    """Create a user."""
    with current_app.extensions["db_sessionmaker"]() as session:
        try:
            user_service.create_user(session, username, password, role)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
    click.echo(f"created {role} '{username}'")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(username: str, password: str) -> None:
    """Give a user a new password (their tokens and sessions end) and lift any lock from failed logins."""
    with current_app.extensions["db_sessionmaker"]() as session:
        try:
            user = user_service.get_user(session, _user_id(session, username))
            user_service.set_password(session, user, password)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        logins.forget_user(session, username)
        session.commit()
    click.echo(f"set a new password for '{username}'")


def _user_id(session, username: str) -> int:
    user_id = user_service.find_user_id(session, username)
    if user_id is None:
        raise click.ClickException(f"no user '{username}'")
    return user_id


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to the configured database."""
    upgrade(current_app.config["SERVICE"].database_url)
    click.echo("database is up to date")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(users_cli)
    app.cli.add_command(db_cli)
