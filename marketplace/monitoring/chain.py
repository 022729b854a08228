"""The hash-chain check of one cooperative's ledger entries in a period, for the
reconciliation.

`flask ledger verify` walks the whole chain in Python; the reconciliation checks only
the entries it reconciles, each against its own hash (an edited entry) and against its
predecessor in the chain (seq - 1 must exist and its hash be this entry's prev_hash:
an entry deleted or slipped in before it). On PostgreSQL the hashes are recomputed by
the database (sha256() over the same text as marketplace.households.ledger.entry_hash,
built from ledger.HASHED), so 100,000 entries cost one query instead of a Python loop;
on SQLite the rows come back and Python hashes them with entry_hash itself.
"""
from sqlalchemy import and_, select, text
from sqlalchemy.orm import aliased

from ..extensions import db
from ..households import ledger
from ..households.models import LedgerEntry

EDITED = "content does not match its hash: the entry was edited"
UNLINKED = "does not follow the previous entry"
MISSING_BEFORE = "a gap in the sequence: an entry was deleted"
LIMIT = 100  #: breaks listed at most (one is enough to start an investigation)


def _hashed_text_sql() -> str:
    """The SQL text entry_hash() hashes: each HASHED field ('' for NULL), then prev_hash,
    '|'-joined; timestamps as Python's isoformat(timespec="microseconds") of a UTC time."""
    parts = []
    for name in ledger.HASHED:
        if name == "created_at":
            parts.append("""to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'""")
        else:
            parts.append(f"e.{name}")
    parts.append("e.prev_hash")
    return "concat(" + ", '|', ".join(parts) + ")"  # concat() reads NULL as ''


def _postgres_breaks(coop_id, lo, hi, limit):
    sql = text(f"""
        SELECT * FROM (
            SELECT e.id, e.seq, p.seq IS NULL AND e.seq <> 1 AS missing_before,
                   coalesce(p.hash, :genesis) <> e.prev_hash AS unlinked,
                   encode(sha256(convert_to({_hashed_text_sql()}, 'UTF8')), 'hex') <> e.hash AS edited
            FROM ledger_entries e LEFT JOIN ledger_entries p ON p.seq = e.seq - 1
            WHERE e.cooperative_id = :coop AND e.created_at >= :lo AND e.created_at < :hi) checked
        WHERE missing_before OR unlinked OR edited ORDER BY seq LIMIT :limit""")
    rows = db.session.execute(sql, {"genesis": ledger.GENESIS, "coop": coop_id, "lo": lo, "hi": hi, "limit": limit})
    return [_break(r.id, r.seq, r.missing_before, r.unlinked, r.edited) for r in rows]


def _python_breaks(coop_id, lo, hi, limit):
    e, p = LedgerEntry, aliased(LedgerEntry)
    columns = [getattr(e, name) for name in ledger.HASHED] + [e.id, e.prev_hash, e.hash,
                                                               p.seq.label("p_seq"), p.hash.label("p_hash")]
    rows = db.session.execute(select(*columns).outerjoin(p, p.seq == e.seq - 1).where(and_(
        e.cooperative_id == coop_id, e.created_at >= lo, e.created_at < hi)).order_by(e.seq))
    found = []
    for row in rows:
        values = row._mapping
        missing = values["p_seq"] is None and values["seq"] != 1
        unlinked = (values["p_hash"] or ledger.GENESIS) != values["prev_hash"]
        edited = ledger.entry_hash(values, values["prev_hash"]) != values["hash"]
        if missing or unlinked or edited:
            found.append(_break(values["id"], values["seq"], missing, unlinked, edited))
            if len(found) == limit:
                break
    return found


def _break(entry_id, seq, missing_before, unlinked, edited) -> dict:
    problem = EDITED if edited else MISSING_BEFORE if missing_before else UNLINKED
    return {"kind": "ledger_chain_break", "entry_id": entry_id, "seq": seq, "problem": problem}


def breaks(coop_id: int, lo, hi, limit: int = LIMIT) -> list[dict]:
    """Entries of the cooperative written in [lo, hi) that break the chain, by seq."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _postgres_breaks(coop_id, lo, hi, limit)
    return _python_breaks(coop_id, lo, hi, limit)
