"""The household side of the demo: enrolled households, approved benefit links, the
demo buyer's paid orders (so the payment event appends the accruals), a refund, a
delivery, a payout, 24 months of other income and spending, and the monitoring scan
that opens a case for the household whose wages fell.

Everything goes through the services staff, cooperatives and buyers use, and every
step looks for its natural key first (file number, link, order reference, payout
reference, record month), so re-running seeds nothing twice and keeps changes made
in the demo. Returns the number of things created.
"""
import logging
from datetime import date

from flask import current_app
from sqlalchemy import select

from ..auth.models import User
from ..catalog.models import Product
from ..coops.models import Cooperative, MemberRole, Membership
from ..core.clock import local_today
from ..core.errors import Conflict, DomainError
from ..extensions import db
from ..households import links as link_service
from ..households.identity import with_check_digit
from ..households.models import BenefitLink, Household, LinkKind, LinkStatus, Payout
from ..households.services import create_household, record_payout
from ..monitoring.models import IncomeRecord, RecordCategory
from ..monitoring.records import record_income
from ..monitoring.scan import run_scan, shift_month
from ..orders.checkout import WantedLine, place_checkout
from ..orders.fulfilment import deliver, ship
from ..orders.models import Checkout
from ..payments.services import confirm_demo, refund_order, start_payment
from . import programme_data as data

STAFF, BUYER = "staff@demo.example", "buyer@demo.example"
MONTHS = 24
log = logging.getLogger("marketplace.demo")


def _kept(what: str, step) -> int:
    """Run one seeding step in a savepoint. Someone trying the demo may have changed what
    it depends on (sold the stock, paid the household out, linked it otherwise): the
    services then refuse, and the step is skipped with a note instead of stopping the demo."""
    try:
        with db.session.begin_nested():
            step()
        return 1
    except DomainError as err:
        log.warning("demo data: %s skipped: %s", what, err)
        print(f"  demo data: {what} skipped ({err})")
        return 0


def seed_programme() -> int:
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.like("%@demo.example")))}
    coops = {c.registration_no: c for c in db.session.scalars(select(Cooperative))}
    households = _households(users[STAFF])
    created = sum(households.pop(None, []))
    created += _links(users, coops, households)
    created += _orders(users, coops)
    created += _payouts(coops, households)
    created += _records(users[STAFF], households)
    db.session.flush()
    created += run_scan()["opened"]  # never a second open case for a household
    return created


def _households(staff) -> dict:
    """{file_no: Household}, registering the missing ones (key None: how many were new)."""
    existing = {h.file_no: h for h in db.session.scalars(select(Household).where(
        Household.file_no.in_([row[0] for row in data.HOUSEHOLDS])))}
    new = []
    for file_no, head, born, township, village, members, working, status, enrolled, *_income in data.HOUSEHOLDS:
        if file_no in existing:
            continue
        province, county = data.COUNTIES[file_no[:6]]
        existing[file_no] = create_household(staff, {
            "file_no": file_no, "head_name": head, "id_number": with_check_digit(file_no[:6] + born + file_no[-3:]),
            "province": province, "county": county, "township": township, "village": village,
            "members": members, "working_members": working, "status": status, "enrolled_at": enrolled,
            "consent": True})
        new.append(1)
    return {**existing, None: new}


def _links(users, coops, households) -> int:
    """Proposed by the cooperative's owner (the only proposer links.propose allows) and
    approved by programme staff: two people. One proposal is left for staff to decide."""
    created = 0
    for reg_no, wanted, approve in [(k, v, True) for k, v in data.LINKS.items()] + \
            [(k, v, False) for k, v in data.PROPOSED_LINKS.items()]:
        coop = coops[reg_no]
        owner = _owner(coop)
        prices = {p.price_fen: p.id for p in db.session.scalars(select(Product).where(
            Product.cooperative_id == coop.id))}
        for file_no, kind, price, share_bp, fixed in wanted:
            household, product_id = households[file_no], prices[price] if price else None
            if _has_link(coop.id, household.id, kind, product_id):
                continue
            fields = {"household_id": household.id, "kind": kind, "product_id": product_id, "share_bp": share_bp,
                      "fixed_fen_per_unit": fixed, "valid_from": household.enrolled_at.isoformat(),
                      "note": "演示 demo"}
            created += _kept(f"the {kind} link of {file_no}", lambda: _link(users, owner, coop, fields, approve))
    return created


def _link(users, owner, coop, fields, approve):
    link = link_service.propose(owner, coop, fields)
    if approve:
        link_service.decide(users[STAFF], link, approve=True, note="核实协议 Agreement checked")


def _owner(coop) -> User:
    return db.session.scalar(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.cooperative_id == coop.id, Membership.role == MemberRole.owner))


def _has_link(coop_id, household_id, kind, product_id) -> bool:
    q = select(BenefitLink.id).where(
        BenefitLink.cooperative_id == coop_id, BenefitLink.household_id == household_id,
        BenefitLink.kind == LinkKind(kind), BenefitLink.status.in_([LinkStatus.proposed, LinkStatus.approved]))
    q = q.where(BenefitLink.product_id.is_(None) if product_id is None else BenefitLink.product_id == product_id)
    return db.session.scalar(q.limit(1)) is not None


# --- the buyer's orders ----------------------------------------------------------------

def _address(reference) -> dict:
    return {"name": "王芳 Wang Fang", "phone": "13800000000", "province": "北京 Beijing", "city": "北京 Beijing",
            "address": f"朝阳区建国路 1 号 1 Jianguo Road ({reference})"}


def _orders(users, coops) -> int:
    buyer = users[BUYER]
    done = {c.shipping_address.get("address") for c in db.session.scalars(
        select(Checkout).where(Checkout.buyer_id == buyer.id))}
    created = 0
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):  # links in the mail
        for reference, lines, then in data.ORDERS:
            if _address(reference)["address"] in done:
                continue
            created += _kept(reference, lambda: _pay_and_follow_up(users, coops, reference, lines, then))
    return created


def _pay_and_follow_up(users, coops, reference, lines, then):
    checkout = _pay(users[BUYER], coops, reference, lines)
    for order in checkout.orders:
        _follow_up(users, order, then)


def _pay(buyer, coops, reference, lines) -> Checkout:
    """Checkout and the demo provider's payment: its event marks the orders paid and the
    accrual of every paid line is appended to the ledger."""
    wanted = []
    for reg_no, price, quantity in lines:
        product = db.session.scalar(select(Product).where(Product.cooperative_id == coops[reg_no].id,
                                                          Product.price_fen == price))
        wanted.append(WantedLine(product_id=product.id, quantity=quantity, seen_price_fen=price))
    checkout = place_checkout(buyer, wanted, _address(reference), "demo")
    start_payment(checkout)
    outcome = confirm_demo(buyer, checkout)
    if outcome != "paid":
        raise Conflict(f"the demo payment of {reference} was {outcome}", code="demo_payment")
    return checkout


def _follow_up(users, order, then) -> None:
    owner = _owner(order.cooperative)
    reg_no = order.cooperative.registration_no
    if then == "deliver" and reg_no == data.SHIPPED_COOP:
        ship(owner, order, {"carrier": "顺丰速运 SF Express", "tracking_no": f"SF{1000000 + order.id}"})
        deliver(users[BUYER], order)
    if then == "refund_one" and reg_no == data.REFUNDED_COOP:
        line = order.lines[0]
        refund_order(owner, order, lines=[{"order_line_id": line.id, "quantity": 1}],
                     reason="一瓶运输破损 One bottle broken in transit")


# --- payouts and other income -------------------------------------------------------------

def _payouts(coops, households) -> int:
    created = 0
    for reg_no, file_no, amount, reference in data.PAYOUTS:
        coop = coops[reg_no]
        if db.session.scalar(select(Payout.id).where(Payout.cooperative_id == coop.id,
                                                     Payout.reference == reference).limit(1)):
            continue
        fields = {"household_id": households[file_no].id, "amount_fen": amount, "method": "mobile_payment",
                  "reference": reference, "paid_on": local_today().isoformat()}
        created += _kept(reference, lambda: record_payout(_owner(coop), coop, fields))
    return created


def _monthly(row, month_index) -> list[tuple[str, str, int, str]]:
    """(kind, category, yuan, source) of one household for the month `month_index` months ago."""
    file_no, wages, farming, subsidy = row[0], row[9], row[10], row[11]
    if file_no == data.DROPPING and month_index < 3:
        wages = data.DROPPED_WAGES
    out = [("income", "wages", wages + 50 * (month_index % 3), "县城务工 Work in the county town")]
    if farming:
        out.append(("income", "farming", farming, "种植养殖 Crops and livestock"))
    if subsidy:
        out.append(("income", "subsidy", subsidy, "低保及产业补贴 Minimum living and farming subsidies"))
    if month_index % 6 == 2:
        out.append(("spending", "medical", 600 + 20 * int(file_no[-1]), "乡镇卫生院 Township clinic"))
    if month_index % 12 == 8:
        out.append(("spending", "education", 1200, "学杂费 School fees"))
    return out


def _records(staff, households) -> int:
    """24 months per household, skipping any (month, category) already recorded."""
    this_month = local_today().replace(day=1)
    first = shift_month(this_month, -(MONTHS - 1))
    have = set(db.session.execute(select(IncomeRecord.household_id, IncomeRecord.month, IncomeRecord.category)
                                  .where(IncomeRecord.month >= first)).all())
    created = 0
    for row in data.HOUSEHOLDS:
        household = households[row[0]]
        for back in range(MONTHS):
            month: date = shift_month(this_month, -back)
            for kind, category, yuan, source in _monthly(row, back):
                if (household.id, month, RecordCategory(category)) in have:
                    continue
                record_income(staff, household, {"kind": kind, "category": category, "month": month,
                                                 "amount_fen": yuan * 100, "source": source})
                created += 1
    return created

