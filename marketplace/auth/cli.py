"""`flask users create EMAIL --role ROLE`: make staff and admin accounts in any deployment."""
import sys

import click
from flask.cli import with_appcontext

from ..core.errors import DomainError
from ..extensions import db
from .models import Role
from .services import create_user

users_cli = click.Group("users", help="Manage user accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="buyer", show_default=True)
@click.option("--name", "display_name", default=None, help="Display name (default: the email's local part).")
@with_appcontext
def create(email, role, display_name):
    """Create an account. The password is read from stdin, or prompted for on a terminal."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        user = create_user(email, password, display_name or email.split("@")[0], role=Role(role))
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email} (id {user.id})")
