"""The income ledger: append entries to one hash chain, read balances, verify the chain.

Each entry's hash covers its content and the previous entry's hash, and entries
carry a gapless sequence number, so an edited, inserted or deleted row is found
by `verify()` (and `flask ledger verify`).
"""
import enum
import hashlib
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import func, insert, select

from ..core.db import utcnow
from ..extensions import db
from . import ledger_pg
from .models import LedgerEntry, LedgerHead

GENESIS = "0" * 64
HASHED = ("seq", "kind", "household_id", "cooperative_id", "amount_fen", "order_line_id", "link_id", "rate_bp",
          "fixed_fen_per_unit", "refund_id", "absorbed_fen", "payout_id", "created_at")
#: rows per INSERT statement when appending a batch
INSERT_ROWS = 5000


@lru_cache(maxsize=4096)
def _time_text(value: datetime) -> str:
    # in UTC, as the database gives it back; cached (equal instants, equal text): entries
    # written together share their timestamp, and isoformat() is slow
    utc = value if value.tzinfo is None else value.astimezone(timezone.utc)
    return utc.isoformat(timespec="microseconds")


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):  # before str: the kinds are str enums
        return value.value
    if isinstance(value, datetime):
        return _time_text(value)
    return str(value)


def entry_hash(values: dict, prev_hash: str) -> str:
    """sha256 over the entry's fields (fixed order, '|'-joined) and the previous hash."""
    text = "|".join([_value(values.get(name)) for name in HASHED]) + "|" + prev_hash
    return hashlib.sha256(text.encode()).hexdigest()


def lock_head() -> LedgerHead:
    """The chain head, locked until the transaction ends (FOR UPDATE on PostgreSQL)."""
    head = db.session.scalar(select(LedgerHead).where(LedgerHead.id == 1).with_for_update())
    if head is None:
        head = LedgerHead(id=1, last_hash=GENESIS, entries=0)
        db.session.add(head)
        db.session.flush()
    return head


def append(entries: list[LedgerEntry], head: LedgerHead | None = None) -> list[LedgerEntry]:
    """Chain and add entries, in order. Pass `head` if the caller already locked it."""
    head = head or lock_head()
    prev, seq = head.last_hash, head.entries
    for entry in entries:
        seq += 1
        entry.seq = seq
        entry.created_at = entry.created_at or utcnow()
        entry.absorbed_fen = entry.absorbed_fen or 0
        entry.prev_hash = prev
        entry.hash = prev = entry_hash({name: getattr(entry, name) for name in HASHED}, entry.prev_hash)
        db.session.add(entry)
    head.last_hash, head.entries = prev, seq
    db.session.flush()
    return entries


def append_rows(rows: list[dict], head: LedgerHead | None = None) -> int:
    """Chain and insert entries given as column dicts, in order, with multi-row
    INSERTs and no ORM objects: the path for batches (accruals of many paid lines).
    Every row needs every column of HASHED; seq, prev_hash and hash are filled in here."""
    head = head or lock_head()
    prev, seq = head.last_hash, head.entries
    for row in rows:
        seq += 1
        row["seq"], row["prev_hash"] = seq, prev
        row["hash"] = prev = entry_hash(row, prev)
    for start in range(0, len(rows), INSERT_ROWS):
        if db.session.get_bind().dialect.name == "postgresql":
            ledger_pg.insert_rows(rows[start:start + INSERT_ROWS])
        else:  # SQLite: the driver's executemany is already a tight loop in C
            db.session.execute(insert(LedgerEntry.__table__), rows[start:start + INSERT_ROWS])
    head.last_hash, head.entries = prev, seq
    db.session.flush()
    return len(rows)


def balance(household_id: int, cooperative_id: int) -> int:
    """What the cooperative still owes the household, in fen."""
    return db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
        LedgerEntry.household_id == household_id, LedgerEntry.cooperative_id == cooperative_id))


PROBLEMS = {"gap": "a gap in the sequence: an entry was deleted",
            "prev": "does not follow the previous entry",
            "hash": "content does not match its hash: the entry was edited"}


def verify() -> dict:
    """Walk the chain in order. {"ok": True, "entries": N} or the first broken entry.
    On PostgreSQL the server recomputes the hashes (ledger_pg); elsewhere Python does."""
    if db.session.get_bind().dialect.name == "postgresql":
        broken = ledger_pg.first_broken(HASHED, GENESIS)
        checked, last_hash, head = ledger_pg.chain_end() if broken is None else (broken["checked"], None, None)
    else:  # (one read transaction on SQLite: the walk and the head agree)
        broken, checked, last_hash = verify_in_python()
        head = db.session.execute(select(LedgerHead.entries, LedgerHead.last_hash).where(LedgerHead.id == 1)).first()
    if broken is not None:
        return {"ok": False, "entries": broken["checked"],
                "first_broken": {"id": broken["id"], "seq": broken["seq"], "problem": PROBLEMS[broken["problem"]]}}
    if head is not None and tuple(head) != (checked, last_hash or GENESIS):
        return {"ok": False, "entries": checked,
                "first_broken": {"id": None, "seq": checked + 1, "problem": "entries missing at the end"}}
    return {"ok": True, "entries": checked}


def verify_in_python(batch: int = 20_000) -> tuple[dict | None, int, str | None]:
    """(first broken entry or None, entries checked, hash of the last one), recomputing
    every hash here. The reference for ledger_pg.first_broken, and the check on SQLite."""
    columns = [getattr(LedgerEntry, name) for name in HASHED] + [LedgerEntry.id, LedgerEntry.prev_hash,
                                                                  LedgerEntry.hash]
    prev, checked = GENESIS, 0
    result = db.session.execute(select(*columns).order_by(LedgerEntry.seq).execution_options(yield_per=batch))
    with result:  # a server-side cursor on PostgreSQL: close it even when stopping early
        for row in result:
            values = row._mapping
            problem = _check(values, prev, checked + 1)
            if problem:
                return {"id": values["id"], "seq": values["seq"], "checked": checked, "problem": problem}, checked, None
            prev, checked = values["hash"], checked + 1
    return None, checked, (prev if checked else None)


def _check(values, prev, expected_seq) -> str | None:
    if values["seq"] != expected_seq:
        return "gap"
    if values["prev_hash"] != prev:
        return "prev"
    if entry_hash(values, prev) != values["hash"]:
        return "hash"
    return None
