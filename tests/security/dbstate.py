"""The database as data: a digest of every table, and putting changed tables back.

The access matrix makes ~1,400 calls against one data set built once. After each
call it compares the digests with the data set's: a refused call (or any GET)
must have changed nothing, and an allowed call that did change something is
undone by writing back only the tables it touched, so every call starts from the
same state without rebuilding the data set (password hashing makes that slow).
"""
from hashlib import sha256

from sqlalchemy import select, text

from marketplace.extensions import db
from marketplace.households import triggers


def _tables():
    return list(db.metadata.sorted_tables)


def _rows(conn, table) -> list[tuple]:
    order = list(table.primary_key.columns) or list(table.columns)
    return [tuple(row) for row in conn.execute(select(table).order_by(*order))]


def _digest(rows) -> str:
    return sha256(repr(rows).encode()).hexdigest()


class Snapshot:
    """The rows of every table at one moment, and their digests."""

    def __init__(self):
        with db.engine.connect() as conn:
            self.rows = {t.name: _rows(conn, t) for t in _tables()}
        self.digests = {name: _digest(rows) for name, rows in self.rows.items()}

    def changed_tables(self) -> list[str]:
        """Tables whose content differs from the snapshot now."""
        with db.engine.connect() as conn:
            return [t.name for t in _tables() if _digest(_rows(conn, t)) != self.digests[t.name]]

    def restore(self, names) -> None:
        """Write these tables back as they were (their rows only; ids are kept)."""
        tables = [t for t in _tables() if t.name in set(names)]
        if not tables:
            return
        db.session.remove()  # nothing of the session's may hold a lock or a stale row
        with db.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # no cascades while a parent table is emptied; before BEGIN, or it is ignored
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    self._write_back(conn, tables, sqlite)
            finally:
                if sqlite:
                    conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")

    def _write_back(self, conn, tables, sqlite):
        ledger = any(t.name == "ledger_entries" for t in tables)
        if not sqlite:  # no foreign-key checks, cascades or append-only trigger in this transaction
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        elif ledger:  # the append-only triggers are lifted for this transaction only
            for sql in triggers.statements("sqlite", create=False):
                conn.execute(text(sql))
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            rows = self.rows[table.name]
            if rows:
                names = [c.key for c in table.columns]
                conn.execute(table.insert(), [dict(zip(names, row)) for row in rows])
        if sqlite and ledger:
            for sql in triggers.statements("sqlite", create=True):
                conn.execute(text(sql))
