"""What to run instead of `flask backup` / `flask restore` on PostgreSQL."""
import shlex

from sqlalchemy.engine import URL

DEFAULT_DUMP = "marketplace-$(date -u +%Y%m%d-%H%M%S).dump"


def libpq_url(url) -> str:
    """The SQLAlchemy URL as libpq takes it: no driver suffix and no password
    (give that through PGPASSWORD or ~/.pgpass, never on a command line)."""
    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                      database=url.database, query=url.query)
    return bare.render_as_string(hide_password=False)


def dump_commands(url, path: str | None = None) -> str:
    target = shlex.quote(libpq_url(url))
    dump_file = shlex.quote(path) if path else DEFAULT_DUMP
    restore_file = shlex.quote(path) if path else "FILE.dump"
    return "\n".join([
        "PostgreSQL is backed up with its own tools (the password: PGPASSWORD or ~/.pgpass).",
        "Back up (a consistent snapshot while the app keeps running):",
        f"  pg_dump --format=custom --no-owner --no-acl --file={dump_file} {target}",
        "Restore (stop the web and worker processes first, then run `flask db upgrade`):",
        f"  pg_restore --clean --if-exists --no-owner --no-acl --single-transaction --dbname={target} {restore_file}",
    ])
