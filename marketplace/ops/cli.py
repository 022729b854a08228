"""`flask backup [PATH]`, `flask restore PATH`, `flask check-config`.

    flask backup                       # instance/backups/marketplace-<UTC time>.db
    flask backup /srv/backups/         # a new file in that directory
    flask restore /srv/backups/marketplace-20260101-020000.db
    flask check-config                 # exit code 1 when a production setting is missing or unsafe

SQLite only for backup/restore: on PostgreSQL they print the pg_dump/pg_restore
commands to use instead and exit with code 1.
"""
import os
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import ROOT
from ..extensions import db
from . import checks, sqlite_backup
from .postgres import dump_commands

MIGRATIONS = os.path.join(ROOT, "migrations")


def _sqlite_or_explain(action: str, path: str | None) -> str:
    """The SQLite file, or (PostgreSQL) the commands to use instead and a non-zero exit."""
    if db.engine.dialect.name == "sqlite":
        try:
            return sqlite_backup.sqlite_file(db.engine)
        except sqlite_backup.BackupError as err:
            raise click.ClickException(str(err)) from None
    click.echo(dump_commands(db.engine.url, path))
    raise click.ClickException(f"flask {action} works on SQLite only; this database is "
                               f"{db.engine.dialect.name}: use the commands above.")


def _target(path: str | None) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = f"marketplace-{stamp}.db"
    if path is None:
        path = os.path.join(current_app.instance_path, "backups")
        os.makedirs(path, exist_ok=True)
    if os.path.isdir(path):
        return os.path.join(path, name)
    if os.path.exists(path):
        raise click.ClickException(f"{path} exists; choose a new file name or a directory.")
    return path


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=True))
@with_appcontext
def backup_cli(path):
    """Copy the SQLite database to PATH while the app keeps running (default:
    instance/backups/marketplace-<UTC time>.db; a directory gets a file of that name)."""
    live = _sqlite_or_explain("backup", path)
    try:
        snap = sqlite_backup.backup(live, _target(path))
    except sqlite_backup.BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Backed up {live} to {snap.path} ({snap.size_bytes:,} bytes, schema revision {snap.revision}).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_cli(path, yes):
    """Replace the SQLite database with the backup at PATH. The current database is
    first saved beside it (<database>.before-restore-<UTC time>)."""
    live = _sqlite_or_explain("restore", path)
    try:
        snap = sqlite_backup.inspect(path)
        revisions, heads = sqlite_backup.known_revisions(MIGRATIONS)
        if snap.revision not in revisions:
            raise sqlite_backup.BackupError(
                f"{path} is at schema revision {snap.revision}, which this version of the app does not know "
                "(a backup from a newer version?). Restore it with that version.")
        if not yes:
            click.confirm(f"Replace every row in {live} with the backup {path}?", abort=True)
        saved = _save_current(live)
        db.session.remove()
        sqlite_backup.restore(path, live)
        db.engine.dispose()  # pooled connections start afresh on the restored file
    except sqlite_backup.BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Restored {path} into {live}." + (f" The previous database is saved as {saved}." if saved else ""))
    if snap.revision not in heads:
        click.echo("The backup's schema is older than this code: run `flask db upgrade` now.")


def _save_current(live: str) -> str | None:
    if not os.path.exists(live):
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return sqlite_backup.backup(live, f"{live}.before-restore-{stamp}").path


@click.command("check-config")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@with_appcontext
def check_config_cli(strict):
    """Report missing or unsafe production settings; exit code 1 on any error."""
    findings = checks.run_all(current_app.config, os.environ)
    for finding in findings:
        click.echo(f"{finding.level.upper():<8}{finding.setting:<26}{finding.message}")
    errors = sum(f.level == "error" for f in findings)
    warnings = len(findings) - errors
    click.echo(f"{errors} error(s), {warnings} warning(s)." if findings else "No problems found.")
    if errors or (strict and warnings):
        click.get_current_context().exit(1)

