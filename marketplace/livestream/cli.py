"""`flask live send-reminders`: mail the subscribers of shows starting within
REMINDER_LEAD_MINUTES, each once. Run it every minute from cron (or an RQ job)."""
import click
from flask.cli import with_appcontext

live_cli = click.Group("live", help="Live shows.")


@live_cli.command("send-reminders")
@with_appcontext
def send_reminders_command():
    from ..jobs.tasks import send_reminders  # the same job the worker runs: each mail once

    result = send_reminders()
    if result.get("skipped"):  # a worker is sending them right now (REDIS_URL set)
        click.echo("skipped: reminders are being sent by another run")
        return
    click.echo(f"sent {result['sent']} reminder(s)")
