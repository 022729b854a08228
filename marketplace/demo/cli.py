"""`flask demo seed`: load the demo data into the configured database."""
import click
from flask.cli import with_appcontext

demo_cli = click.Group("demo", help="Demo data.")


@demo_cli.command("seed")
@with_appcontext
def seed_command():
    from .seed import seed

    click.echo("seeded" if seed() else "demo data already present; nothing changed")
