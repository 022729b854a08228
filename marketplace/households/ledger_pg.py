"""The ledger's two bulk operations, done the fast way on PostgreSQL.

insert_rows: a batch of entries in one INSERT ... SELECT FROM unnest(arrays), one
array parameter per column, sent as an array literal ('{1,2,NULL}') that the
server parses (building those strings is much cheaper in Python than adapting a
million values one by one). A short statement whatever the batch size, no COPY,
and every constraint, index and trigger of ledger_entries applies as for any INSERT.

first_broken: the chain check of ledger.verify() done by the server. It
recomputes each entry's sha256 over exactly the text ledger.entry_hash() hashes
(NULL as '', integers in decimal, the time as Python's isoformat of the UTC
time) and checks the gapless sequence and that each entry names the previous
one's hash, so a million entries are checked without shipping them to Python.
The tests run this and the Python check on PostgreSQL and require them to agree.
"""
import enum
from datetime import datetime
from functools import cache

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from ..extensions import db
from .models import LedgerEntry

_COLUMNS = [c for c in LedgerEntry.__table__.columns if c.name != "id"]
#: the text of a timestamp exactly as datetime.isoformat(timespec="microseconds") writes a UTC time
_TIME_TEXT = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"


@cache
def _insert():
    # built on first use: a foreign key column has its type only once every model is loaded
    pg = postgresql.dialect()
    return text("INSERT INTO ledger_entries ({}) SELECT * FROM unnest({})".format(
        ", ".join(c.name for c in _COLUMNS),
        ", ".join(f"CAST(CAST(:{c.name} AS TEXT) AS {c.type.compile(dialect=pg)}[])" for c in _COLUMNS)))


def _element(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, enum.Enum):
        value = value.value
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.isoformat()
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values) -> str:
    """PostgreSQL's text form of a one-dimensional array."""
    if all(type(v) is int for v in values):  # the common case, in one C-level join
        return "{" + ",".join(map(str, values)) + "}"
    texts = {value: _element(value) for value in set(values)}  # a batch shares its kind and time
    return "{" + ",".join(map(texts.__getitem__, values)) + "}"


def insert_rows(rows: list[dict]) -> None:
    params = {column.name: array_literal([row[column.name] for row in rows]) for column in _COLUMNS}
    db.session.execute(_insert(), params)


def hash_sql(hashed, alias: str = "") -> str:
    """SQL computing an entry's hash as ledger.entry_hash() does; `alias` ("e.") qualifies the columns."""
    parts = []
    for name in hashed:
        column = alias + name
        parts += [_TIME_TEXT.format(column) if name == "created_at" else column, "'|'"]
    return f"encode(sha256(convert_to(concat({', '.join(parts)}, {alias}prev_hash), 'UTF8')), 'hex')"


def first_broken(hashed, genesis) -> dict | None:
    """The first entry (by seq) that breaks the chain, with the number of good ones
    before it, or None. Two scans: the links (gapless seq, prev_hash = the previous
    entry's hash) in seq order, and the hashes in any order, which PostgreSQL may
    spread over parallel workers; at the same seq a broken link is reported first."""
    link = db.session.execute(text("""
        SELECT id, seq, n, CASE WHEN seq <> n THEN 'gap' ELSE 'prev' END
        FROM (SELECT id, seq, prev_hash, row_number() OVER w AS n, coalesce(lag(hash) OVER w, :genesis) AS before
              FROM ledger_entries WINDOW w AS (ORDER BY seq)) chain
        WHERE seq <> n OR prev_hash <> before
        ORDER BY seq LIMIT 1"""), {"genesis": genesis}).first()
    # min(seq + 0), not min(seq): no walk down the seq index, a full scan that can run in parallel
    edited = db.session.scalar(text(f"SELECT min(seq + 0) FROM ledger_entries WHERE {hash_sql(hashed)} <> hash"))
    if link is not None and (edited is None or link[1] <= edited):
        return {"id": link[0], "seq": link[1], "checked": link[2] - 1, "problem": link[3]}
    if edited is not None:  # every entry before it is linked and gapless: seq 1 .. edited - 1
        entry_id = db.session.scalar(text("SELECT id FROM ledger_entries WHERE seq = :seq"), {"seq": edited})
        return {"id": entry_id, "seq": edited, "checked": edited - 1, "problem": "hash"}
    return None


def chain_end() -> tuple[int, str | None, tuple | None]:
    """(number of entries, hash of the last one, (entries, last_hash) of the head row or
    None), read in one statement: one snapshot, so an append committed meanwhile cannot
    make the two disagree."""
    row = db.session.execute(text(
        "SELECT (SELECT count(*) FROM ledger_entries), "
        "(SELECT hash FROM ledger_entries ORDER BY seq DESC LIMIT 1), "
        "(SELECT entries FROM ledger_head WHERE id = 1), (SELECT last_hash FROM ledger_head WHERE id = 1)")).one()
    return row[0], row[1], (None if row[2] is None else (row[2], row[3]))
