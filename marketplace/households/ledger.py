"""The income ledger: append entries to one hash chain, read balances, verify the chain.

Each entry's hash covers its content and the previous entry's hash, and entries
carry a gapless sequence number, so an edited, inserted or deleted row is found
by `verify()` (and `flask ledger verify`).
"""
import hashlib

from sqlalchemy import func, select

from ..core.db import utcnow
from ..extensions import db
from .models import LedgerEntry, LedgerHead

GENESIS = "0" * 64
HASHED = ("seq", "kind", "household_id", "cooperative_id", "amount_fen", "order_line_id", "link_id", "rate_bp",
          "fixed_fen_per_unit", "refund_id", "absorbed_fen", "payout_id", "created_at")


def _value(value):
    if value is None:
        return ""
    if hasattr(value, "value"):  # enums
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="microseconds")
    return str(value)


def entry_hash(values: dict, prev_hash: str) -> str:
    """sha256 over the entry's fields (fixed order, '|'-joined) and the previous hash."""
    text = "|".join(_value(values.get(name)) for name in HASHED) + "|" + prev_hash
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


def balance(household_id: int, cooperative_id: int) -> int:
    """What the cooperative still owes the household, in fen."""
    return db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
        LedgerEntry.household_id == household_id, LedgerEntry.cooperative_id == cooperative_id))


def verify(batch: int = 20_000) -> dict:
    """Walk the chain in order. {"ok": True, "entries": N} or the first broken entry."""
    columns = [getattr(LedgerEntry, name) for name in HASHED] + [LedgerEntry.id, LedgerEntry.prev_hash,
                                                                  LedgerEntry.hash]
    prev, expected_seq, checked = GENESIS, 1, 0
    result = db.session.execute(select(*columns).order_by(LedgerEntry.seq).execution_options(yield_per=batch))
    with result:  # a server-side cursor on PostgreSQL: close it even when stopping early
        for row in result:
            values = row._mapping
            problem = _check(values, prev, expected_seq)
            if problem:
                return {"ok": False, "entries": checked,
                        "first_broken": {"id": values["id"], "seq": values["seq"], "problem": problem}}
            prev, expected_seq, checked = values["hash"], expected_seq + 1, checked + 1
    head = db.session.get(LedgerHead, 1)
    if head is not None and (head.entries != checked or head.last_hash != prev):
        return {"ok": False, "entries": checked,
                "first_broken": {"id": None, "seq": checked + 1, "problem": "entries missing at the end"}}
    return {"ok": True, "entries": checked}


def _check(values, prev, expected_seq) -> str | None:
    if values["seq"] != expected_seq:
        return "a gap in the sequence: an entry was deleted"
    if values["prev_hash"] != prev:
        return "does not follow the previous entry"
    if entry_hash(values, prev) != values["hash"]:
        return "content does not match its hash: the entry was edited"
    return None
