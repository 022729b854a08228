"""The audit workspace (programme staff): reconciliation of a cooperative's books for a
period with its discrepancies and per-household figures, CSV and XLSX exports, a
random sample of paid order lines with their whole trail, and the audit log search.

Staff assigned to counties reconcile the cooperatives of those counties only (404
otherwise); the audit log covers everything, so it is for programme-level staff
and admins. The period is in Asia/Shanghai days, both ends included.
"""
import csv
import io
import json
import random
from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from ..auth.models import User
from ..coops.models import Cooperative
from ..core.audit import AuditRecord
from ..core.errors import Forbidden, Invalid, NotFound
from ..core.validation import Checker
from ..extensions import db
from ..households.income import LOCAL
from ..households.models import Household, LedgerEntry, Payout
from ..orders.models import Checkout, Order, OrderLine, Refund
from ..payments.models import PaymentEvent
from . import reconciliation
from .dashboard import shift_month
from .jobs import enqueue_verify
from .scope import counties_of

bp = Blueprint("audit_ws", __name__, url_prefix="/staff/audit")
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
ROW_HEADERS = ("household_id", "file_no", "county", "village", "allocated_fen", "paid_out_fen", "owed_fen")
DISCREPANCY_HEADERS = ("kind", "household_id", "entry_id", "payout_id", "link_id", "owed_fen",
                       "older_than_90_days_fen", "seq", "problem")
FIGURES = ("paid_fen", "refunded_fen", "allocated_fen", "absorbed_fen", "retained_fen", "paid_out_fen", "owed_fen")
LOG_PER_PAGE, MAX_SAMPLE = 50, 50


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)


# --- shared with the API -------------------------------------------------------------

def cooperative_in_scope(user, coop_id) -> Cooperative:
    coop = db.session.get(Cooperative, coop_id) if isinstance(coop_id, int) and 1 <= coop_id < 2**31 else None
    counties = counties_of(user)
    if coop is None or (counties is not None and coop.county not in counties):
        raise NotFound(_l("No such cooperative."))
    return coop


def period(start: date | None, end: date | None) -> tuple[date, date]:
    """Default: the 12 months ending today. Both ends within 2000..2100, start <= end."""
    end = end or datetime.now(LOCAL).date()
    start = start or shift_month(end.replace(day=1), -11)
    if not EARLIEST <= start <= end <= LATEST:
        message = _l("Give a period from YYYY-MM-DD to YYYY-MM-DD, the start not after the end.")
        raise Invalid(message, code="invalid_period", fields={"from": [message]})
    return start, end


def require_programme_level(user):
    if counties_of(user) is not None:
        raise Forbidden(_l("The audit log is for programme-level staff."), code="programme_staff_only")


def log_query(f: dict):
    """Audit records matching person (part of the email), object (type and id), action
    (a prefix: "case." finds every case step) and days, newest first."""
    stmt = select(AuditRecord, User.email).outerjoin(User, User.id == AuditRecord.actor_id)
    if f.get("email"):
        stmt = stmt.where(User.email.contains(f["email"].strip().lower(), autoescape=True))
    if f.get("object_type"):
        stmt = stmt.where(AuditRecord.object_type == f["object_type"].strip())
    if f.get("object_id") is not None:
        stmt = stmt.where(AuditRecord.object_id == f["object_id"])
    if f.get("action"):
        stmt = stmt.where(AuditRecord.action.startswith(f["action"].strip(), autoescape=True))
    if f.get("from") or f.get("to"):
        lo, hi = reconciliation._bounds(f.get("from") or EARLIEST, f.get("to") or LATEST)
        stmt = stmt.where(AuditRecord.created_at >= lo, AuditRecord.created_at < hi)
    return stmt.order_by(AuditRecord.created_at.desc(), AuditRecord.id.desc())


def log_page(f: dict, page: int, per_page: int) -> dict:
    stmt = log_query(f)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    items = [{"id": r.id, "created_at": r.created_at, "actor_id": r.actor_id, "actor_email": email,
              "action": r.action, "object_type": r.object_type, "object_id": r.object_id, "before": r.before,
              "after": r.after, "ip": r.ip} for r, email in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


# --- reconciliation detail and exports ------------------------------------------------

def _cell(value):
    """Text that a spreadsheet would run as a formula is written as plain text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _tables(coop, start, end):
    result = reconciliation.reconcile(coop.id, start, end)
    rows = [[_cell(r[h]) for h in ROW_HEADERS] for r in result["households"]]
    found = [[_cell(d.get(h)) for h in DISCREPANCY_HEADERS] for d in result["discrepancies"]]
    return result, rows, found


def export_csv(coop, start, end, part="households") -> bytes:
    result, rows, found = _tables(coop, start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DISCREPANCY_HEADERS if part == "discrepancies" else ROW_HEADERS)
    writer.writerows(found if part == "discrepancies" else rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads Chinese names right


def export_xlsx(coop, start, end) -> bytes:
    from openpyxl import Workbook

    result, rows, found = _tables(coop, start, end)
    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")
    summary.append(["cooperative_id", coop.id])
    summary.append(["cooperative", _cell(coop.name)])
    summary.append(["from", start.isoformat()])
    summary.append(["to", end.isoformat()])
    for key in FIGURES:
        summary.append([key, result[key]])
    for title, headers, body in (("Households", ROW_HEADERS, rows), ("Discrepancies", DISCREPANCY_HEADERS, found)):
        sheet = book.create_sheet(title)
        sheet.append(list(headers))
        for row in body:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the sample of paid lines with their trail ----------------------------------------

def sample_trails(coop_id: int, start: date, end: date, size: int, seed: int) -> list[dict]:
    """`size` paid lines drawn at random (reproducibly, from `seed`) with their payment,
    accruals and reversals, refunds and the payouts to the households they accrued to.
    The same eight queries for any size."""
    lo, hi = reconciliation._bounds(start, end)
    ids = db.session.scalars(select(OrderLine.id).join(Order, Order.id == OrderLine.order_id).where(
        Order.cooperative_id == coop_id, Order.paid_at >= lo, Order.paid_at < hi).order_by(OrderLine.id)).all()
    chosen = sorted(random.Random(seed).sample(ids, min(size, len(ids))))
    if not chosen:
        return []
    lines = db.session.execute(
        select(OrderLine.id, OrderLine.order_id, OrderLine.title, OrderLine.quantity, OrderLine.line_total_fen,
               OrderLine.refunded_fen, Order.status, Order.paid_at, Checkout.id.label("checkout_id"),
               Checkout.provider, Checkout.payment_intent_id, Checkout.status.label("checkout_status"),
               Checkout.amount_fen.label("checkout_fen"))
        .join(Order, Order.id == OrderLine.order_id).join(Checkout, Checkout.id == Order.checkout_id)
        .where(OrderLine.id.in_(chosen)).order_by(OrderLine.id)).all()
    checkout_ids = {r.checkout_id for r in lines}
    intents = {r.payment_intent_id for r in lines if r.payment_intent_id}
    events = db.session.scalars(select(PaymentEvent).where(or_(
        PaymentEvent.checkout_id.in_(checkout_ids), PaymentEvent.payment_intent_id.in_(intents)))
        .order_by(PaymentEvent.id)).all()
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.order_line_id.in_(chosen))
                                 .order_by(LedgerEntry.seq)).all()
    refunds = db.session.scalars(select(Refund).where(Refund.order_id.in_({r.order_id for r in lines}))
                                 .order_by(Refund.id)).all()
    household_ids = {e.household_id for e in entries}
    files = dict(db.session.execute(select(Household.id, Household.file_no)
                                    .where(Household.id.in_(household_ids))).all())
    payouts = db.session.scalars(select(Payout).where(
        Payout.cooperative_id == coop_id, Payout.household_id.in_(household_ids),
        Payout.created_at >= lo, Payout.created_at < hi).order_by(Payout.id)).all()
    owed = dict(db.session.execute(select(LedgerEntry.household_id, func.sum(LedgerEntry.amount_fen)).where(
        LedgerEntry.cooperative_id == coop_id, LedgerEntry.household_id.in_(household_ids),
        LedgerEntry.created_at < hi).group_by(LedgerEntry.household_id)).all())
    trails = []
    for line in lines:
        mine = [e for e in entries if e.order_line_id == line.id]
        households = sorted({e.household_id for e in mine})
        trails.append({
            "line": line, "entries": mine,
            "events": [e for e in events if e.checkout_id == line.checkout_id
                       or (line.payment_intent_id and e.payment_intent_id == line.payment_intent_id)],
            "refunds": [r for r in refunds if r.order_id == line.order_id],
            "households": [{"id": h, "file_no": files.get(h), "owed_fen": int(owed.get(h) or 0),
                            "payouts": [p for p in payouts if p.household_id == h]} for h in households]})
    return trails


# --- pages ---------------------------------------------------------------------------------

def _args(*extra) -> dict:
    c = Checker(request.args.to_dict())
    c.integer("cooperative_id", minimum=1, maximum=2**31 - 1, required=False)
    c.day("from")
    c.day("to")
    for name, lo, hi in extra:
        c.integer(name, minimum=lo, maximum=hi, required=False)
    return c.done()


def _coops():
    counties = counties_of(current_user)
    stmt = select(Cooperative.id, Cooperative.name).order_by(Cooperative.name).limit(1000)
    return db.session.execute(stmt if counties is None else stmt.where(Cooperative.county.in_(counties))).all()


def _render(template, **context):
    return render_template(template, coops=_coops(), **context)


def _page_or_error(template, build):
    """Run `build(args)`; bad filters re-render the page with the message and a 422."""
    try:
        return _render(template, **build())
    except Invalid as err:
        db.session.rollback()
        return _render(template, error=err, args=request.args), 422


@bp.get("")
def reconcile():
    def build():
        a = _args()
        if a["cooperative_id"] is None:
            return {"args": request.args, "result": None}
        coop = cooperative_in_scope(current_user, a["cooperative_id"])
        start, end = period(a["from"], a["to"])
        result = reconciliation.reconcile(coop.id, start, end)
        return {"args": request.args, "coop": coop, "start": start, "end": end, "result": result,
                "rows": result["households"], "coop_scoped": counties_of(current_user) is not None}
    return _page_or_error("audit/reconciliation.html", build)


@bp.get("/export.<any(csv, xlsx):fmt>")
def export(fmt):
    a = _args()
    coop = cooperative_in_scope(current_user, a["cooperative_id"])
    start, end = period(a["from"], a["to"])
    part = "discrepancies" if request.args.get("part") == "discrepancies" else "households"
    name = f"reconciliation-{coop.id}-{start.isoformat()}-{end.isoformat()}"
    if fmt == "csv":
        body, mimetype, name = export_csv(coop, start, end, part), "text/csv; charset=utf-8", f"{name}-{part}.csv"
    else:
        body = export_xlsx(coop, start, end)
        mimetype, name = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name + ".xlsx"
    return send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=True, download_name=name,
                     max_age=0)


@bp.post("/verify-ledger")
def verify_ledger():
    """Verify the whole chain now (programme-level staff): queued with Redis, else inline."""
    require_programme_level(current_user)
    result = enqueue_verify(current_user.id)
    if result.get("queued"):
        flash(_("The ledger's verification was queued; its result shows here when it has run."), "success")
    elif result.get("skipped"):
        flash(_("A verification of the ledger is already running."), "success")
    elif result["ok"]:
        flash(ngettext("The ledger's hash chain is intact: %(num)d entry verified.",
                       "The ledger's hash chain is intact: %(num)d entries verified.", result["entries"]), "success")
    else:
        flash(_("The ledger's hash chain is broken at entry %(seq)s: %(problem)s.",
                seq=result["first_broken"]["seq"], problem=result["first_broken"]["problem"]), "error")
    back = {k: request.form[k] for k in ("cooperative_id", "from", "to") if request.form.get(k)}
    return redirect(url_for("audit_ws.reconcile", **back))


@bp.get("/sample")
def sample():
    def build():
        a = _args(("size", 1, MAX_SAMPLE), ("seed", 0, 2**31 - 1))
        if a["cooperative_id"] is None:
            return {"args": request.args, "trails": None}
        coop = cooperative_in_scope(current_user, a["cooperative_id"])
        start, end = period(a["from"], a["to"])
        seed = a["seed"] if a["seed"] is not None else random.SystemRandom().randrange(1, 1_000_000)
        size = a["size"] or 10
        return {"args": request.args, "coop": coop, "start": start, "end": end, "seed": seed, "size": size,
                "trails": sample_trails(coop.id, start, end, size, seed)}
    return _page_or_error("audit/sample.html", build)


@bp.get("/log")
def log():
    require_programme_level(current_user)

    def build():
        c = Checker(request.args.to_dict())
        for name, n in (("email", 254), ("object_type", 40), ("action", 64)):
            c.text(name, max_len=n, required=False)
        c.integer("object_id", minimum=1, maximum=2**31 - 1, required=False)
        c.day("from")
        c.day("to")
        c.integer("page", minimum=1, maximum=100_000, required=False, default=1)
        f = c.done()
        return {"args": request.args, **log_page(f, f["page"], LOG_PER_PAGE),
                "as_json": lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True) if v is not None else ""}
    return _page_or_error("audit/log.html", build)
