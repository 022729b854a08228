"""`flask ledger verify`: walk the hash chain; exit 1 at the first broken entry."""
import click
from flask.cli import with_appcontext

ledger_cli = click.Group("ledger", help="The household income ledger.")


@ledger_cli.command("verify")
@with_appcontext
def verify_command():
    from .ledger import verify

    result = verify()
    if result["ok"]:
        click.echo(f"ok: {result['entries']} entries, chain intact")
        return
    broken = result["first_broken"]
    click.echo(f"BROKEN after {result['entries']} good entries: entry id {broken['id']} (seq {broken['seq']}): "
               f"{broken['problem']}", err=False)
    raise SystemExit(1)
