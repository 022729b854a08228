"""`flask worker`: run the background jobs (needs REDIS_URL).

    flask worker                  # all queues, retries and the periodic schedule
    flask worker -q mail          # only the mail queue
    flask worker --no-cron        # leave the periodic jobs to another worker (or to cron)
    flask worker --burst          # run what is queued now, then exit
"""
import click
from flask import current_app
from flask.cli import with_appcontext

from .queue import QUEUES


@click.command("worker")
@click.option("-q", "--queue", "queues", multiple=True, type=click.Choice(QUEUES),
              help="A queue to work on (repeatable). Default: all of them, in priority order.")
@click.option("--cron/--no-cron", default=True, show_default=True,
              help="Also run the periodic jobs (rq's CronScheduler). Safe on several workers: a "
                   "period's job is enqueued once.")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty (no periodic jobs).")
@with_appcontext
def worker_command(queues, cron, burst):
    """Run the queued jobs (reminder mail, reservation expiry, auto-delivery, monitoring
    scans), retried with backoff."""
    from .worker import run

    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("flask worker needs REDIS_URL. Without Redis, jobs run inline in the web "
                               "process and cron runs the `flask` commands (see docs/jobs.md).")
    run(current_app._get_current_object(), list(queues) or None, with_cron=cron, burst=burst)
