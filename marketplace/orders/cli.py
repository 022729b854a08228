"""`flask orders ...`: the scheduled jobs of buying (run them from cron or a worker).

    flask orders expire-reservations   # every minute: unpaid checkouts past expires_at
    flask orders auto-deliver          # daily: parcels shipped 14+ days ago, unconfirmed
"""
import click
from flask.cli import with_appcontext

from ..extensions import db
from . import fulfilment
from .checkout import expire_reservations

orders_cli = click.Group("orders", help="Scheduled jobs for checkouts and orders.")


@orders_cli.command("expire-reservations")
@with_appcontext
def expire_reservations_command():
    """Cancel unpaid checkouts whose reservation ran out; their stock goes back on sale."""
    count = expire_reservations()
    db.session.commit()
    click.echo(f"Expired {count} checkout(s).")


@orders_cli.command("auto-deliver")
@with_appcontext
def auto_deliver_command():
    """Mark delivered the orders shipped more than 14 days ago that the buyer never confirmed."""
    count = fulfilment.auto_deliver()
    db.session.commit()
    click.echo(f"Delivered {count} order(s).")
