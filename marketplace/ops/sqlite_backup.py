"""Online backup and restore of the SQLite database, with SQLite's backup API.

The backup API copies a consistent snapshot while the app keeps its connections
open and keeps serving (a plain file copy of a WAL database can miss committed
pages or catch half a write). A backup is one self-contained file (journal mode
DELETE), checked with `PRAGMA integrity_check` before it replaces anything.
"""
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


@dataclass
class Snapshot:
    path: str
    size_bytes: int
    revision: str | None  #: the Alembic revision of the schema inside


def sqlite_file(engine) -> str:
    """The database file behind a SQLite engine (not an in-memory database)."""
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        raise BackupError("The database is in memory: there is no file to back up or restore.")
    return os.path.abspath(path)


def schema_revision(conn) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # one step: a snapshot as of one moment (stepwise copies restart whenever the app writes)
    source.backup(target)


def backup(source_path: str, target_path: str) -> Snapshot:
    """Copy the live database at source_path to target_path (a new file)."""
    if not os.path.exists(source_path):
        raise BackupError(f"There is no database at {source_path}.")
    partial = target_path + ".partial"
    source = sqlite3.connect(source_path)
    try:
        target = sqlite3.connect(partial)
        try:
            _copy(source, target)
            target.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            _check(target, partial)
            revision = schema_revision(target)
        finally:
            target.close()
    except BaseException:
        _remove(partial)
        raise
    finally:
        source.close()
    os.replace(partial, target_path)  # a reader of target_path never sees half a backup
    return Snapshot(target_path, os.path.getsize(target_path), revision)


def _check(conn, path):
    result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result}")


def _read_only(path) -> str:
    """A URI that opens the file read-only: a restore can never change its backup."""
    return Path(path).absolute().as_uri() + "?mode=ro"


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def inspect(path: str) -> Snapshot:
    """A backup file's schema revision, after checking it is an intact marketplace database."""
    if not os.path.isfile(path):
        raise BackupError(f"There is no backup file at {path}.")
    conn = sqlite3.connect(_read_only(path), uri=True)
    try:
        _check(conn, path)
        revision = schema_revision(conn)
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path} is not a SQLite database ({err}).") from None
    finally:
        conn.close()
    if revision is None:
        raise BackupError(f"{path} holds no marketplace schema (no alembic_version table).")
    return Snapshot(path, os.path.getsize(path), revision)


def known_revisions(migrations_dir: str) -> tuple[set[str], set[str]]:
    """(every revision, the heads) of the migrations this code ships."""
    config = Config()
    config.set_main_option("script_location", migrations_dir)
    scripts = ScriptDirectory.from_config(config)
    return {s.revision for s in scripts.walk_revisions()}, set(scripts.get_heads())


def restore(backup_path: str, live_path: str) -> None:
    """Overwrite the live database with the backup, through the backup API (which takes
    the database's write lock, so the app's own requests wait instead of reading half)."""
    source = sqlite3.connect(_read_only(backup_path), uri=True)
    try:
        target = sqlite3.connect(live_path, timeout=30)
        try:
            _copy(source, target)
            _check(target, live_path)
        finally:
            target.close()
    finally:
        source.close()
