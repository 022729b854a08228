"""`flask live send-reminders`: mail the subscribers of shows starting within
REMINDER_LEAD_MINUTES, each once. Run it every minute from cron (or an RQ job)."""
import click
from flask.cli import with_appcontext

live_cli = click.Group("live", help="Live shows.")


@live_cli.command("send-reminders")
@with_appcontext
def send_reminders_command():
    from ..extensions import db
    from .reminders import send_due

    sent = send_due()
    db.session.commit()
    click.echo(f"sent {sent} reminder(s)")
