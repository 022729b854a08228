"""Opening the scan's cases in bulk: thousands of households at once, in a few statements.

For each household found: a case (`identified`, with its reasons and the measure's due
date), the household's status `stable` -> `monitored`, and an audit record "case.open",
as cases.open_case does for one. A household that already has an open case (opened a
moment ago by a concurrent scan, say) is skipped: INSERT ... ON CONFLICT DO NOTHING on
the partial unique index that allows one open case per household, so the database
decides, not a check made before.

On PostgreSQL each of the three writes is one statement whatever the number of
households: the rows travel as array literals ('{1,2,3}', built here: much cheaper
than adapting thousands of values one by one) that the server parses and unnests.
Elsewhere (SQLite) they go in batches of BATCH rows.
"""
import json
from datetime import timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import insert, text, update

from ..core.audit import AuditRecord
from ..core.db import utcnow
from ..extensions import db
from ..households.models import Household, HouseholdStatus as H
from .models import Case, CaseStatus

#: the predicate of the partial unique index uq_cases_one_open_per_household, word for word
#: (migration 0005): ON CONFLICT names it so the database picks that index
ONE_OPEN_CASE = "status IN ('identified','village_review','township_check','county_decision','assisted')"
BATCH = 1000

PG_CASES = text(f"""
    INSERT INTO cases (household_id, status, reasons, opened_at, due_at)
    SELECT t.household_id, 'identified', CAST(t.reasons AS json), :now, :due
    FROM unnest(CAST(CAST(:household_ids AS text) AS integer[]), CAST(CAST(:reasons AS text) AS text[]))
         AS t(household_id, reasons)
    ON CONFLICT (household_id) WHERE {ONE_OPEN_CASE} DO NOTHING
    RETURNING id, household_id""")
PG_WATCH = text("UPDATE households SET status = 'monitored' "
                "WHERE id = ANY(CAST(CAST(:household_ids AS text) AS integer[])) AND status = 'stable'")
PG_AUDIT = text("""
    INSERT INTO audit_records (created_at, actor_id, action, object_type, object_id, before, after, ip)
    SELECT :now, NULL, 'case.open', 'cases', t.case_id, CAST(t.before AS json), CAST(t.after AS json), :ip
    FROM unnest(CAST(CAST(:case_ids AS text) AS integer[]), CAST(CAST(:befores AS text) AS text[]),
                CAST(CAST(:afters AS text) AS text[])) AS t(case_id, before, after)""")


def _ints(values) -> str:
    """PostgreSQL's text form of an integer array."""
    return "{" + ",".join(map(str, values)) + "}"


def _texts(values) -> str:
    """PostgreSQL's text form of a text array: every element quoted, \\ and " escaped."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _audit_values(opened, found, statuses):
    """(before, after) of each opened case's audit record."""
    for _, h in opened:
        before = statuses[h]
        after = H.monitored if before == H.stable else before
        yield ({"household_status": before.value},
               {"household_id": h, "reasons": found[h], "household_status": after.value})


def _postgres(found, statuses, now, due, ip):
    opened = db.session.execute(PG_CASES, {"now": now, "due": due, "household_ids": _ints(found),
                                           "reasons": _texts(json.dumps(r) for r in found.values())}).all()
    db.session.execute(PG_WATCH, {"household_ids": _ints(h for _, h in opened)})
    values = list(_audit_values(opened, found, statuses))
    db.session.execute(PG_AUDIT, {"now": now, "ip": ip, "case_ids": _ints(c for c, _ in opened),
                                  "befores": _texts(json.dumps(b) for b, _ in values),
                                  "afters": _texts(json.dumps(a) for _, a in values)})
    return opened


def _portable(found, statuses, now, due, ip):
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    table = Case.__table__
    stmt = (sqlite_insert(table).on_conflict_do_nothing(index_elements=[table.c.household_id],
                                                        index_where=text(ONE_OPEN_CASE))
            .returning(table.c.id, table.c.household_id))
    rows = [{"household_id": h, "status": CaseStatus.identified, "reasons": r, "opened_at": now, "due_at": due}
            for h, r in found.items()]
    opened = []
    for i in range(0, len(rows), BATCH):
        opened += db.session.execute(stmt, rows[i:i + BATCH]).all()
    household_ids = [h for _, h in opened]
    for i in range(0, len(household_ids), BATCH):
        db.session.execute(update(Household).where(Household.id.in_(household_ids[i:i + BATCH]),
                                                   Household.status == H.stable)
                           .values(status=H.monitored).execution_options(synchronize_session=False))
    records = [{"created_at": now, "actor_id": None, "action": "case.open", "object_type": "cases",
                "object_id": case_id, "ip": ip, "before": before, "after": after}
               for (case_id, _), (before, after) in zip(opened, _audit_values(opened, found, statuses))]
    for i in range(0, len(records), BATCH):
        db.session.execute(insert(AuditRecord.__table__), records[i:i + BATCH])
    return opened


def open_cases(found: dict[int, list], statuses: dict[int, H], now=None) -> list[int]:
    """Open a case for each household in `found` ({household_id: reasons}) that has no
    open case; `statuses` holds each household's status (for the audit record). Returns
    the ids of the households that got a case."""
    if not found:
        return []
    now = now or utcnow()
    due = now + timedelta(days=current_app.config["CASE_MEASURE_DAYS"])
    ip = request.remote_addr if has_request_context() else None
    write = _postgres if db.session.get_bind().dialect.name == "postgresql" else _portable
    return [h for _, h in write(found, statuses, now, due, ip)]
