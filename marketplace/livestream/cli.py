"""`flask live send-reminders`: mail the subscribers of shows starting within
REMINDER_LEAD_MINUTES, each once. `flask live end-overdue`: end the live shows whose
scheduled end has passed. Run both every minute from cron (or the RQ schedule)."""
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


@live_cli.command("end-overdue")
@with_appcontext
def end_overdue_command():
    from .jobs import end_overdue_shows  # the same job the worker runs

    result = end_overdue_shows()
    if result.get("skipped"):
        click.echo("skipped: another run is ending shows right now")
        return
    click.echo(f"ended {len(result['ended'])} show(s)" + (f": {result['ended']}" if result["ended"] else ""))
