"""`flask monitoring scan`: run the monitoring rules over every household and open a
case for each new hit (never a second open case for one household).
`flask monitoring verify-ledger`: verify the ledger's whole hash chain and record the
result, which the reconciliation builds on (run it nightly)."""
import click
from flask.cli import with_appcontext

monitoring_cli = click.Group("monitoring", help="Income monitoring: the scan that opens assistance cases.")


@monitoring_cli.command("scan")
@click.option("--date", "today", default=None, metavar="YYYY-MM-DD",
              help="Scan as of this day (default: today in Asia/Shanghai).")
@click.option("--enqueue", is_flag=True, help="Put the scan on the RQ queue (needs REDIS_URL) instead of "
                                              "running it here.")
@with_appcontext
def scan_command(today, enqueue):
    from datetime import date

    from flask import current_app

    from .jobs import enqueue_scan, scan_job

    if today:
        try:
            date.fromisoformat(today)
        except ValueError:
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from None
    if enqueue and not current_app.config.get("REDIS_URL"):
        raise click.UsageError("--enqueue needs REDIS_URL")
    result = enqueue_scan(today) if enqueue else scan_job(today)
    if result.get("queued"):
        click.echo(f"queued: job {result['job_id']}")
        return
    if result.get("skipped"):  # a worker holds the scan's lock (REDIS_URL set)
        click.echo("skipped: another scan is running")
        return
    click.echo(f"scanned {result['households']} households: {result['opened']} new cases, "
               f"{result['already_open']} already open")


@monitoring_cli.command("verify-ledger")
@click.option("--enqueue", is_flag=True, help="Put the verification on the RQ queue (needs REDIS_URL).")
@with_appcontext
def verify_ledger_command(enqueue):
    """Verify the whole chain (like `flask ledger verify`) and record the result for the
    reconciliation; exit 1 when the chain is broken."""
    from flask import current_app

    from .jobs import enqueue_verify, verify_ledger_job

    if enqueue and not current_app.config.get("REDIS_URL"):
        raise click.UsageError("--enqueue needs REDIS_URL")
    result = enqueue_verify() if enqueue else verify_ledger_job()
    if result.get("queued"):
        click.echo(f"queued: job {result['job_id']}")
    elif result.get("skipped"):
        click.echo("skipped: another verification is running")
    elif result["ok"]:
        click.echo(f"ok: {result['entries']} entries, chain intact (recorded)")
    else:
        broken = result["first_broken"]
        click.echo(f"BROKEN after {result['entries']} good entries: entry id {broken['id']} (seq {broken['seq']}): "
                   f"{broken['problem']} (recorded)")
        raise SystemExit(1)
