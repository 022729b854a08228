"""The ledger's hash chain, as the reconciliation sees it.

Checking the chain means recomputing a sha256 per entry, ten times the work of summing
the entry; doing it for every entry at every reconciliation would make the page as slow
as a full `flask ledger verify`. So the work is split:

* the full verification (`flask monitoring verify-ledger`, its job, or the page's button)
  runs ledger.verify() over the whole chain and records the result in the audit log
  ("ledger.verify": ok, how many entries were good, the first broken one);
* a reconciliation reports the latest full verification's break, if it found one (the
  chain is one for every cooperative), and checks now only the cooperative's entries of
  the period written after that verification: each against its own hash (an edited
  entry) and its predecessor (seq - 1 must exist and its hash be this entry's prev_hash:
  an entry deleted or slipped in before it). With a nightly verification that is a
  day's entries at most; never verified, it is every entry of the period.

An entry edited after the latest full verification is found by the next one. On
PostgreSQL the database recomputes the hashes (sha256() over the text that
ledger.entry_hash hashes, built from ledger.HASHED); on SQLite Python does.
"""
from sqlalchemy import and_, select, text
from sqlalchemy.orm import aliased

from ..core import audit
from ..core.audit import AuditRecord
from ..extensions import db
from ..households import ledger, ledger_pg
from ..households.models import LedgerEntry

EDITED = "content does not match its hash: the entry was edited"
UNLINKED = "does not follow the previous entry"
MISSING_BEFORE = "a gap in the sequence: an entry was deleted"
LIMIT = 100  #: breaks listed at most (one is enough to start an investigation)
VERIFY_ACTION = "ledger.verify"
LEDGER_OBJECT = ("ledger", 1)  #: the audit log's object for the chain (the ledger head's id)


# --- the full verification, recorded ------------------------------------------------------

def record_full_verification(actor=None) -> dict:
    """ledger.verify() over the whole chain, with an audit record of its result."""
    result = ledger.verify()
    audit.record(actor, VERIFY_ACTION, object_type=LEDGER_OBJECT[0], object_id=LEDGER_OBJECT[1], after=result)
    return result


def last_full_verification() -> dict | None:
    """{"at", "ok", "entries", "first_broken"} of the latest recorded verification, or None."""
    row = db.session.execute(select(AuditRecord.created_at, AuditRecord.after).where(
        AuditRecord.object_type == LEDGER_OBJECT[0], AuditRecord.object_id == LEDGER_OBJECT[1],
        AuditRecord.action == VERIFY_ACTION).order_by(AuditRecord.id.desc()).limit(1)).first()
    if row is None or not isinstance(row.after, dict):
        return None
    return {"at": row.created_at, "ok": bool(row.after.get("ok")), "entries": int(row.after.get("entries") or 0),
            "first_broken": row.after.get("first_broken")}


# --- the entries a reconciliation checks itself ------------------------------------------

def _postgres_breaks(coop_id, lo, hi, after_seq, limit):
    sql = text(f"""
        SELECT * FROM (
            SELECT e.id, e.seq, p.seq IS NULL AND e.seq <> 1 AS missing_before,
                   coalesce(p.hash, :genesis) <> e.prev_hash AS unlinked,
                   {ledger_pg.hash_sql(ledger.HASHED, 'e.')} <> e.hash AS edited
            FROM ledger_entries e LEFT JOIN ledger_entries p ON p.seq = e.seq - 1
            WHERE e.cooperative_id = :coop AND e.created_at >= :lo AND e.created_at < :hi
              AND e.seq > :after_seq) checked
        WHERE missing_before OR unlinked OR edited ORDER BY seq LIMIT :limit""")
    rows = db.session.execute(sql, {"genesis": ledger.GENESIS, "coop": coop_id, "lo": lo, "hi": hi,
                                    "after_seq": after_seq, "limit": limit})
    return [_break(r.id, r.seq, r.missing_before, r.unlinked, r.edited) for r in rows]


def _python_breaks(coop_id, lo, hi, after_seq, limit):
    e, p = LedgerEntry, aliased(LedgerEntry)
    columns = [getattr(e, name) for name in ledger.HASHED] + [e.id, e.prev_hash, e.hash,
                                                               p.seq.label("p_seq"), p.hash.label("p_hash")]
    rows = db.session.execute(select(*columns).outerjoin(p, p.seq == e.seq - 1).where(and_(
        e.cooperative_id == coop_id, e.created_at >= lo, e.created_at < hi, e.seq > after_seq)).order_by(e.seq))
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


def breaks_after(coop_id: int, lo, hi, after_seq: int = 0, limit: int = LIMIT) -> list[dict]:
    """Entries of the cooperative written in [lo, hi), after seq `after_seq`, that break
    the chain, by seq."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _postgres_breaks(coop_id, lo, hi, after_seq, limit)
    return _python_breaks(coop_id, lo, hi, after_seq, limit)


def check(coop_id: int, lo, hi) -> dict:
    """{"breaks": [...], "verified_at", "verified_entries"}: the latest full verification's
    break (if any) and the breaks among the cooperative's entries written since."""
    last = last_full_verification()
    found = []
    if last is not None and not last["ok"] and last["first_broken"]:
        first = last["first_broken"]
        found.append({"kind": "ledger_chain_break", "entry_id": first.get("id"), "seq": first.get("seq"),
                      "problem": first.get("problem"), "found_at": last["at"].isoformat()})
    verified = last["entries"] if last is not None else 0
    known = {b["seq"] for b in found}
    found += [b for b in breaks_after(coop_id, lo, hi, verified) if b["seq"] not in known]
    return {"breaks": found, "verified_at": last["at"] if last else None, "verified_entries": verified}
