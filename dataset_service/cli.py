"""Command line: `flask --app dataset_service users create NAME --role admin|labeler`, `... db upgrade`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .errors import DomainError
from .migrate import upgrade
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


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to the configured database."""
    upgrade(current_app.config["SERVICE"].database_url)
    click.echo("database is up to date")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(users_cli)
    app.cli.add_command(db_cli)
