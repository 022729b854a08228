"""The access matrix's data set: one object of every kind belonging to cooperative A
(county X) or to "the buyer", the eight roles that call the routes, and private
texts (markers) that only some roles may ever read.

Cooperative B (county Y) and the other buyer have objects of their own, so a
page scoped to "my" objects has something to show them, and showing them A's
instead would be seen.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from marketplace.auth.models import Role
from marketplace.auth.services import create_user, issue_api_token
from marketplace.catalog.models import Product
from marketplace.catalog.services import add_image, create_product
from marketplace.coops.services import apply_for_cooperative, decide
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.households import links
from marketplace.households.identity import with_check_digit
from marketplace.households.services import create_household, record_payout
from marketplace.livestream import chat
from marketplace.livestream import services as shows
from marketplace.monitoring import cases
from marketplace.monitoring.models import MonitoringLine, StaffAssignment, StaffLevel
from marketplace.orders.checkout import WantedLine, place_checkout
from marketplace.orders.models import Address, CartItem
from marketplace.payments import services as payments
from tests.conftest import PASSWORD, jpeg_bytes

COUNTY_X, COUNTY_Y = "Zhashui", "Shanyang"
ROLES = ("anonymous", "buyer", "other_buyer", "member_a", "member_b", "staff_x", "staff_y", "admin")

#: the buyer's shipping address: only the buyer, cooperative A (its order desk) and staff may read it
ADDRESS = {"name": "Mu Lanqing", "phone": "13912345678", "province": "Beijing", "city": "Beijing",
           "address": "7 Jade Lane, Building 9"}
#: the other buyer's (they buy from cooperative B)
OTHER_ADDRESS = {"name": "Zhao Hehe", "phone": "13700001111", "province": "Shanghai", "city": "Shanghai",
                 "address": "3 River Road"}
ID_NUMBER_X = with_check_digit("61042619770707123")

#: private text -> the roles that may read it anywhere (pages, JSON, exports)
MARKERS = {
    "Secret draft fungus": {"member_a", "staff_x", "admin"},  # a draft product of A (staff: of A's county)
    ADDRESS["name"]: {"buyer", "member_a", "staff_x", "admin"},  # staff: of the seller's county
    ADDRESS["phone"]: {"buyer", "member_a", "staff_x", "admin"},
    "Xu Mingyuan": {"member_a", "staff_x", "admin"},  # head of household X, linked to A
    ID_NUMBER_X: {"staff_x", "admin"},  # its full identity number: staff of its county only
    "Yang Feifei": {"member_b", "staff_y", "admin"},  # head of household Y, linked to B
    "PAYREF-A-7731": {"member_a", "staff_x", "admin"},  # A's payout to household X
    "Helper Qin Lanfang": {"staff_x", "admin"},  # the helper of household X's case
}


@dataclass
class World:
    users: dict = field(default_factory=dict)  #: role -> User (no entry for anonymous)
    ids: dict = field(default_factory=dict)  #: name -> id of an object of A / X / the buyer
    names: dict = field(default_factory=dict)  #: other values the requests need (emails, file numbers)
    tokens: dict = field(default_factory=dict)  #: role -> raw API token
    cookies: dict = field(default_factory=dict)  #: role -> session cookie of a logged-in browser


def _user(key, name, site_role=Role.buyer):
    return create_user(f"{key}@trust.example", PASSWORD, name, role=site_role)


def _coop(owner, n, county, reviewer):
    coop = apply_for_cooperative(owner, {
        "name": f"Cooperative {n}", "province": "Shaanxi", "county": county, "village": f"Village {n}",
        "registration_no": f"TRUST{n:05d}", "story": "We grow wood-ear fungus."})
    decide(reviewer, coop, "verify")
    return coop


def _product(owner, coop, title, status="active"):
    return create_product(owner, coop, {"title": title, "category": "fungi", "unit": "500 g bag",
                                        "price_fen": 1990, "stock": 80, "status": status, "description": "",
                                        "origin": "Shaanxi"})


def _household(staff, n, county, head):
    return create_household(staff, {
        "file_no": f"61042688{n:03d}", "head_name": head, "id_number": with_check_digit(f"61042619800101{n:03d}")
        if n != 1 else ID_NUMBER_X, "province": "Shaanxi", "county": county, "township": "Town",
        "village": "Village", "members": 3, "working_members": 1, "enrolled_at": "2020-05-01", "consent": True})


def _link(owner, coop, household, reviewer, approve=True):
    link = links.propose(owner, coop, {"household_id": household.id, "kind": "supplier", "share_bp": 1000,
                                       "valid_from": date(2020, 1, 1).isoformat()})
    if approve:
        links.decide(reviewer, link, approve=True)
    return link


def _paid_checkout(buyer, product, address=ADDRESS):
    checkout = place_checkout(buyer, [WantedLine(product.id, 2)], address, "demo")
    payments.start_payment(checkout)
    payments.confirm_demo(buyer, checkout)
    return checkout


def _unpaid_checkout(buyer, product):
    checkout = place_checkout(buyer, [WantedLine(product.id, 1)], ADDRESS, "demo")
    payments.start_payment(checkout)
    return checkout


def build() -> World:
    """Everything, committed. Call inside an app context on empty tables."""
    w = World()
    u = w.users
    u["buyer"] = _user("buyer", "Buyer One")
    u["other_buyer"] = _user("other", "Buyer Two")
    u["member_a"] = _user("owner-a", "Owner A")
    u["member_b"] = _user("owner-b", "Owner B")
    u["staff_x"] = _user("staff-x", "Staff X", Role.staff)
    u["staff_y"] = _user("staff-y", "Staff Y", Role.staff)
    u["admin"] = _user("admin", "Admin", Role.admin)
    programme = _user("programme", "Programme Staff", Role.staff)  # reviews; no county
    db.session.flush()
    db.session.add_all([StaffAssignment(user_id=u["staff_x"].id, county=COUNTY_X, level=StaffLevel.county),
                        StaffAssignment(user_id=u["staff_y"].id, county=COUNTY_Y, level=StaffLevel.county)])
    coop_a = _coop(u["member_a"], 1, COUNTY_X, programme)
    coop_b = _coop(u["member_b"], 2, COUNTY_Y, programme)
    db.session.flush()
    _catalog(w, coop_a, coop_b)
    _households(w, coop_a, coop_b, programme)
    _buying(w, coop_a, coop_b)
    _live(w, coop_a)
    _monitoring(w)
    w.ids.update(coop_id=coop_a.id, coop_b_id=coop_b.id)
    w.names.update(emails={role: user.email for role, user in u.items()}, programme=programme.id)
    db.session.commit()
    return w


def _catalog(w, coop_a, coop_b):
    owner = w.users["member_a"]
    product = _product(owner, coop_a, "Qinling wood-ear")
    image = add_image(owner, product, jpeg_bytes(), alt="wood-ear")
    draft = _product(owner, coop_a, "Secret draft fungus", status="draft")
    product_b = _product(w.users["member_b"], coop_b, "Datong day lily")
    db.session.flush()
    w.ids.update(product_id=product.id, image_id=image.id, draft_id=draft.id, product_b_id=product_b.id)
    w.names["media"] = f"{image.key}-thumb.webp"


def _households(w, coop_a, coop_b, programme):
    hx = _household(programme, 1, COUNTY_X, "Xu Mingyuan")
    hx2 = _household(programme, 2, COUNTY_X, "Xu Second")
    hy = _household(programme, 3, COUNTY_Y, "Yang Feifei")
    db.session.flush()
    _link(w.users["member_a"], coop_a, hx, programme)
    _link(w.users["member_b"], coop_b, hy, programme)
    proposed = _link(w.users["member_a"], coop_a, hx2, programme, approve=False)
    db.session.flush()
    w.ids.update(household_id=hx.id, household_y_id=hy.id, link_id=proposed.id)
    w.names.update(file_no=hx.file_no, file_no_2=hx2.file_no)


def _buying(w, coop_a, coop_b):
    buyer = w.users["buyer"]
    product = db.session.get(Product, w.ids["product_id"])
    paid = _paid_checkout(buyer, product)
    unpaid = _unpaid_checkout(buyer, product)
    other = _paid_checkout(w.users["other_buyer"], db.session.get(Product, w.ids["product_b_id"]), OTHER_ADDRESS)
    db.session.add(Address(user_id=buyer.id, **ADDRESS))
    db.session.add(CartItem(user_id=buyer.id, product_id=w.ids["product_id"], quantity=1, seen_price_fen=1990))
    db.session.flush()
    payout = record_payout(w.users["member_a"], coop_a, {"household_id": w.ids["household_id"], "amount_fen": 100,
                                                         "method": "cash", "reference": "PAYREF-A-7731"})
    db.session.flush()
    w.ids.update(order_id=paid.orders[0].id, line_id=paid.orders[0].lines[0].id, checkout_id=unpaid.id,
                 paid_checkout_id=paid.id, order_b_id=other.orders[0].id, payout_id=payout.id)


def _live(w, coop_a):
    owner = w.users["member_a"]
    now = utcnow()
    live = shows.schedule(owner, coop_a, {
        "title": "Wood-ear harvest live", "stream_url": "https://example.com/live/stream.m3u8",
        "starts_at": (now + timedelta(minutes=10)).isoformat(), "ends_at": (now + timedelta(hours=2)).isoformat()},
        [{"product_id": w.ids["product_id"], "live_price_fen": 1500, "quota": 10, "per_buyer_limit": 5}])
    shows.start(owner, live)
    message = chat.post(w.users["buyer"], live, "Is it dried in the sun?")
    db.session.flush()
    w.ids.update(show_id=live.id, message_id=message.id)


def _monitoring(w):
    from marketplace.households.models import Household

    household = db.session.get(Household, w.ids["household_id"])
    case = cases.open_case(household, [{"rule": "risk_event", "detail": {}}])
    measure = cases.add_measure(w.users["staff_x"], case, {"kind": "employment", "helper": "Helper Qin Lanfang",
                                                            "started_on": date.today().isoformat()})
    db.session.add(MonitoringLine(year=date.today().year, yuan_per_person=7000))
    db.session.flush()
    w.ids.update(case_id=case.id, measure_id=measure.id)


def issue_tokens(w: World) -> None:
    for role, user in w.users.items():
        w.tokens[role], _ = issue_api_token(user)
    db.session.commit()
