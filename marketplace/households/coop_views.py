"""The cooperative's side of household income: its linked households (masked:
never a full identity number), what it owes each, proposing links, and
recording the cash it paid out. Owners and managers only; others get 403."""
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..catalog.models import Product
from ..coops.models import MemberRole
from ..core.errors import DomainError, Invalid
from ..core.forms import apply_errors, form_status
from ..core.money import MAX_PRICE_FEN, parse_yuan
from ..extensions import db
from . import ledger, links, services
from .forms import PayoutForm, ProposeLinkForm, labels
from .models import BenefitLink, Household, LedgerEntry, LinkStatus, Payout

bp = Blueprint("coop_households", __name__, url_prefix="/my/households")
PER_PAGE = 25
#: a household is the cooperative's to see once a link to it was approved
LINKED = (LinkStatus.approved, LinkStatus.superseded)
#: form fields that carry what the services call otherwise
FIELD_OF = {"household_id": "file_no", "share_bp": "share_percent", "fixed_fen_per_unit": "fixed_yuan",
            "amount_fen": "amount"}
IMAGE_ERRORS = {"invalid_image", "image_too_many_pixels", "file_too_large"}


@bp.before_request
@login_required
def _owners_and_managers():
    membership = current_user.membership
    if membership is None or membership.role not in (MemberRole.owner, MemberRole.manager):
        abort(403)


@bp.context_processor
def _labels():
    return {"labels": labels()}


def _coop():
    return current_user.membership.cooperative


def _fields_renamed(err: DomainError) -> DomainError:
    err.fields = {FIELD_OF.get(name, name): messages for name, messages in err.fields.items()}
    return err


def _field_error(field, message):
    return Invalid(message, fields={field: [message]})


# --- the list and the propose form --------------------------------------------

def _linked_ids(coop_id):
    return select(BenefitLink.household_id).where(BenefitLink.cooperative_id == coop_id,
                                                  BenefitLink.status.in_(LINKED))


def _products(coop):
    return db.session.scalars(select(Product).where(Product.cooperative_id == coop.id)
                              .order_by(Product.title)).all()


def _index(form):
    coop = _coop()
    q = select(Household).where(Household.id.in_(_linked_ids(coop.id)))
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    households = db.session.scalars(q.order_by(Household.file_no).offset((page - 1) * PER_PAGE)
                                    .limit(PER_PAGE)).all()
    owed = dict(db.session.execute(
        select(LedgerEntry.household_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.cooperative_id == coop.id, LedgerEntry.household_id.in_([h.id for h in households]))
        .group_by(LedgerEntry.household_id)).all())
    # proposals show only the file number the cooperative typed: no name before approval
    pending = db.session.scalars(select(BenefitLink).where(
        BenefitLink.cooperative_id == coop.id, BenefitLink.status.in_((LinkStatus.proposed, LinkStatus.rejected)))
        .order_by(BenefitLink.id.desc()).limit(50)).all()
    return render_template("households/coop_index.html", coop=coop, households=households, owed=owed,
                           total=total, page=page, per_page=PER_PAGE, pending=pending, form=form,
                           products={p.id: p.title for p in _products(coop)}), form_status(form)


@bp.get("")
def index():
    return _index(ProposeLinkForm(_products(_coop())))


def _rule(form) -> dict:
    """The share typed in percent -> basis points, or yuan per unit -> fen."""
    if form.rule.data == "fixed":
        try:
            fen = parse_yuan(form.fixed_yuan.data)
        except ValueError:
            fen = 0
        if not 0 < fen <= MAX_PRICE_FEN:
            raise _field_error("fixed_yuan", _l("Enter an amount in yuan from 0.01 to 100,000, e.g. 1.50."))
        return {"fixed_fen_per_unit": fen}
    try:
        basis_points = Decimal((form.share_percent.data or "").strip().rstrip("%")) * 100
    except InvalidOperation:
        basis_points = Decimal(0)
    if basis_points != basis_points.to_integral_value() or not 0 < basis_points <= 10000:
        raise _field_error("share_percent", _l("Enter a percent from 0.01 to 100, with at most two decimals."))
    return {"share_bp": int(basis_points)}


def _proposal(form) -> dict:
    file_no = (form.file_no.data or "").strip()
    household_id = db.session.scalar(select(Household.id).where(Household.file_no == file_no)) if file_no else None
    if household_id is None:
        raise _field_error("file_no", _l("No enrolled household has this file number. Check it against the "
                                         "household's card."))
    return {"household_id": household_id, "kind": form.kind.data, "product_id": form.product_id.data or None,
            "valid_from": form.valid_from.data, "valid_to": form.valid_to.data, "note": form.note.data,
            **_rule(form)}


@bp.post("/links")
def propose():
    coop = _coop()
    form = ProposeLinkForm(_products(coop))
    if form.validate_on_submit():
        try:
            links.propose(current_user, coop, _proposal(form))
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, _fields_renamed(err))
        else:
            db.session.commit()
            flash(_("Link proposed. Programme staff will review it."), "success")
            return redirect(url_for("coop_households.index"))
    return _index(form)


# --- one household: balance, links, payouts ------------------------------------

def _linked_household(household_id) -> Household:
    """404 unless a link to this household was approved for this cooperative."""
    household = db.session.scalar(select(Household).where(Household.id == household_id,
                                                          Household.id.in_(_linked_ids(_coop().id))))
    if household is None:
        abort(404)
    return household


def _show(household, form):
    coop = _coop()
    links_ = db.session.scalars(select(BenefitLink).where(
        BenefitLink.cooperative_id == coop.id, BenefitLink.household_id == household.id)
        .order_by(BenefitLink.link_key, BenefitLink.version.desc())).all()
    payouts = db.session.scalars(select(Payout).where(Payout.cooperative_id == coop.id,
                                                      Payout.household_id == household.id)
                                 .order_by(Payout.id.desc()).limit(50)).all()
    return render_template("households/coop_show.html", household=household, coop=coop, links=links_,
                           payouts=payouts, owed=ledger.balance(household.id, coop.id), form=form,
                           products={p.id: p.title for p in _products(coop)}), form_status(form)


@bp.get("/<int:household_id>")
def show(household_id):
    return _show(_linked_household(household_id), PayoutForm())


def _payout_data(form, household) -> dict:
    try:
        amount = parse_yuan(form.amount.data)
    except ValueError:
        raise _field_error("amount", _l("Enter the amount in yuan, e.g. 120.50.")) from None
    return {"household_id": household.id, "amount_fen": amount, "method": form.method.data,
            "reference": form.reference.data, "paid_on": form.paid_on.data}


def _payout_error(form, err: DomainError):
    if err.code == "exceeds_balance":
        err.fields = {"amount": [err.message]}
        flash(str(err.message), "error")  # also at the top, where the eye lands after the reload
    elif err.code in IMAGE_ERRORS:
        err.fields = {"receipt": [err.message]}
    apply_errors(form, _fields_renamed(err))


@bp.post("/<int:household_id>/payouts")
def payout(household_id):
    household = _linked_household(household_id)
    form = PayoutForm()
    if form.validate_on_submit():
        receipt = form.receipt.data
        photo = receipt.read() if receipt and getattr(receipt, "filename", "") else None
        try:
            services.record_payout(current_user, _coop(), _payout_data(form, household), photo)
        except DomainError as err:
            db.session.rollback()  # nothing of the refused payout stays
            household = _linked_household(household_id)
            _payout_error(form, err)
        else:
            db.session.commit()
            flash(_("Payout recorded."), "success")
            return redirect(url_for("coop_households.show", household_id=household.id))
    return _show(household, form)
