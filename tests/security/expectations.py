"""Who may call what: the access matrix's expectation table.

One entry per route and method ("POST /my/orders/<int:order_id>/ship"), naming the
roles that get through when the URL holds objects of cooperative A, county X or
"the buyer" (tests/security/world.py). Every other role is refused:

- anonymous: 401 (API, JSON endpoints) or a redirect to the login page;
- signed in: 403 or 404 (404 where an id must not reveal that the object exists);
- `bounced`: a redirect back with a message instead of an error page.

Refused calls change nothing in the database, and no GET changes anything (except
the tables named in `get_writes`, by design). "Gets through" means any answer that
is not a refusal and not a 5xx: a success, or a 400/409/422 about the request
itself (e.g. a live show cannot be started twice).

A route missing here fails the matrix: a new route needs a line saying who may use it.
"""
import os
from dataclasses import dataclass, field

from marketplace.livestream.views import HLS_DIR
from tests.security.world import ROLES

HLS_INSTALLED = os.path.exists(os.path.join(HLS_DIR, "dist", "hls.min.js"))
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
BUYER = frozenset({"buyer"})
A = frozenset({"member_a"})
MEMBERS = frozenset({"member_a", "member_b"})
STAFF = frozenset({"staff_x", "staff_y", "admin"})
COUNTY_X = frozenset({"staff_x", "admin"})  #: staff who may see county X's households and cases
ADMIN = frozenset({"admin"})


@dataclass(frozen=True)
class Rule:
    allowed: frozenset
    why: str
    bounced: frozenset = frozenset()  #: refused with a redirect and a message, not an error status
    exact: dict = field(default_factory=dict)  #: role -> the status it must get
    get_writes: frozenset = frozenset()  #: tables a GET changes by design


def public(why, **kw):
    return Rule(EVERYONE, why, **kw)


def signed_in(why, **kw):
    return Rule(SIGNED_IN, why, **kw)


def only(roles, why, **kw):
    return Rule(frozenset(roles), why, **kw)


NO_QUEUE = {"admin": 404}  # without REDIS_URL there is no queue, so no job to act on

EXPECTED = {
    # --- storefront and accounts --------------------------------------------------------
    "GET /": public("the home page"),
    "GET /products": public("the catalog"),
    "GET /products/<int:product_id>": public("an active product of a verified cooperative"),
    "GET /cooperatives": public("verified cooperatives"),
    "GET /cooperatives/<int:coop_id>": public("a verified cooperative's page"),
    "GET /impact": public("aggregate figures only (small counties pooled)"),
    "GET /media/<name>": public("product photos, by unguessable generated name"),
    "GET /static/<path:filename>": public("static files"),
    # served from node_modules when `npm ci` ran (optional: without it the room uses native HLS)
    "GET /vendor/hls.min.js": public("the live player's script") if HLS_INSTALLED else
    public("hls.js not installed: 404 for everyone", exact={role: 404 for role in ROLES}),
    "GET /healthz": public("liveness"),
    "GET /readyz": public("readiness"),
    "GET /metrics": public("gated by network (METRICS_ALLOW, loopback here) or METRICS_TOKEN, not by role"),
    "GET /login": public("the login form"),
    "POST /login": public("logging in (as the buyer)"),
    "GET /signup": public("the signup form"),
    "POST /signup": public("signing up"),
    "POST /logout": signed_in("ends one's own session"),
    "GET /account": signed_in("one's own account"),
    "POST /account": signed_in("changes one's own password"),
    "GET /password/forgot": public("the reset form"),
    "POST /password/forgot": public("same answer whether or not the email has an account"),
    "GET /password/reset/<token>": public("a bad token goes back to the form"),
    "POST /password/reset/<token>": public("a bad token goes back to the form"),
    "POST /language": public("the language choice"),
    # --- buying ---------------------------------------------------------------------------
    "GET /cart": public("one's own cart (session or account)"),
    "POST /cart/add": public("one's own cart"),
    "POST /cart/<int:product_id>": public("one's own cart"),
    "GET /checkout": signed_in("checks out one's own cart (an empty cart goes back to it)"),
    "POST /checkout": signed_in("checks out one's own cart"),
    "GET /checkouts/<int:checkout_id>": only(BUYER, "the buyer's checkout"),
    "GET /checkouts/<int:checkout_id>/pay": only(BUYER, "the buyer's checkout"),
    "POST /checkouts/<int:checkout_id>/demo-pay": only(BUYER, "the buyer's checkout"),
    "POST /checkouts/<int:checkout_id>/cancel": only(BUYER, "the buyer's checkout"),
    "GET /orders": signed_in("one's own orders"),
    "GET /orders/<int:order_id>": only(BUYER | A | COUNTY_X, "the buyer, the selling cooperative, staff of its county"),
    "POST /orders/<int:order_id>/<any(deliver, cancel):action>": only(
        BUYER, "the buyer's own order", bounced=A | COUNTY_X),
    # --- cooperatives and their desks -------------------------------------------------------
    "GET /cooperatives/apply": signed_in("members are sent to their dashboard"),
    "POST /cooperatives/apply": signed_in("a member cannot apply again"),
    "GET /my/cooperative": signed_in("one's own cooperative; others are sent to apply"),
    "GET /my/cooperative/edit": signed_in("one's own cooperative"),
    "POST /my/cooperative/edit": signed_in("one's own cooperative"),
    "POST /my/cooperative/members": signed_in("one's own cooperative"),
    "GET /my/products/new": signed_in("one's own cooperative; others are sent to apply"),
    "POST /my/products/new": signed_in("one's own cooperative"),
    "GET /my/products/import": signed_in("one's own cooperative"),
    "POST /my/products/import": signed_in("one's own cooperative"),
    "GET /my/products/<int:product_id>": only(A, "A's product"),
    "POST /my/products/<int:product_id>": only(A, "A's product"),
    "POST /my/products/<int:product_id>/archive": only(A, "A's product"),
    "POST /my/products/<int:product_id>/images/<int:image_id>/delete": only(A, "A's product"),
    "GET /my/orders": only(MEMBERS, "one's own cooperative's desk"),
    "GET /my/orders/export.csv": only(MEMBERS, "one's own cooperative's orders"),
    "GET /my/orders/<int:order_id>": only(A, "A's order"),
    "POST /my/orders/<int:order_id>/ship": only(A, "A's order"),
    "POST /my/orders/<int:order_id>/refund/<any(lines, amount):by>": only(A, "A's order"),
    "GET /my/sales": only(MEMBERS, "one's own cooperative's sales"),
    "GET /my/households": only(MEMBERS, "one's own linked households"),
    "POST /my/households/links": only(MEMBERS, "proposes a link for one's own cooperative"),
    "GET /my/households/<int:household_id>": only(A, "a household linked to A"),
    "POST /my/households/<int:household_id>/payouts": only(A, "A's payout to its linked household"),
    # --- live shows -----------------------------------------------------------------------------
    "GET /shows": public("public shows"),
    "GET /shows/<int:show_id>": public("a show of a verified cooperative"),
    "GET /shows/<int:show_id>/replay": public("a show of a verified cooperative"),
    "GET /livestreams/<int:show_id>.ics": public("a show of a verified cooperative"),
    "POST /shows/<int:show_id>/buy": signed_in("buying at the live price"),
    "POST /shows/<int:show_id>/chat": signed_in("chat (anonymous: 401 JSON)"),
    "POST /shows/<int:show_id>/remind": signed_in("one's own reminder"),
    "GET /shows/<int:show_id>/report": only(A | COUNTY_X, "the show's cooperative and its county's staff"),
    "GET /my/shows": only(MEMBERS, "one's own cooperative's shows"),
    "GET /my/shows/new": only(MEMBERS, "one's own cooperative's shows"),
    "POST /my/shows/new": only(MEMBERS, "one's own cooperative's shows"),
    "GET /my/shows/<int:show_id>": only(A, "A's show"),
    "GET /my/shows/<int:show_id>/edit": only(A, "A's show"),
    "POST /my/shows/<int:show_id>/edit": only(A, "A's show"),
    "POST /my/shows/<int:show_id>/cancel": only(A, "A's show"),
    "POST /my/shows/<int:show_id>/<any(start, end):action>": only(A, "A's show"),
    "POST /my/shows/<int:show_id>/pin": only(A, "A's show"),
    "POST /my/shows/<int:show_id>/quota": only(A, "A's show"),
    "POST /my/shows/<int:show_id>/replay": only(A, "A's show"),
    "POST /my/shows/<int:show_id>/chat/<int:message_id>/<any(delete, mute):action>": only(A, "A's show"),
    "GET /my/shows/<int:show_id>/orders.json": only(A, "A's show"),
    # --- programme staff ------------------------------------------------------------------------
    "GET /staff/cooperatives": only(STAFF, "cooperative applications"),
    "POST /staff/cooperatives/<int:coop_id>/<any(verify, reject, suspend):decision>": only(
        COUNTY_X, "staff of the cooperative's county (programme-level staff: all)"),
    "GET /staff/households": only(STAFF, "the register, each staff member's counties only"),
    "GET /staff/households/new": only(STAFF, "the register form"),
    "POST /staff/households/new": only(COUNTY_X, "registers a household of county X"),
    "GET /staff/households/import": only(STAFF, "the import form"),
    "POST /staff/households/import": only(STAFF, "rows of other counties are refused line by line"),
    "GET /staff/households/<int:household_id>": only(COUNTY_X, "a household of county X"),
    "GET /staff/households/<int:household_id>/edit": only(COUNTY_X, "a household of county X"),
    "POST /staff/households/<int:household_id>/edit": only(COUNTY_X, "a household of county X"),
    "POST /staff/households/<int:household_id>/unmask": only(COUNTY_X, "a household of county X"),
    "GET /staff/households/links": only(STAFF, "links of one's own counties"),
    "POST /staff/households/links/<int:link_id>/<any(approve, reject):decision>": only(
        COUNTY_X, "a link to a household of county X"),
    "GET /staff/monitoring": only(STAFF, "the dashboard of one's own counties"),
    "POST /staff/monitoring/scan": only(STAFF, "runs the monitoring rules"),
    "GET /staff/monitoring/cases": only(STAFF, "cases of one's own counties"),
    "GET /staff/monitoring/cases/overdue": only(STAFF, "cases of one's own counties"),
    "GET /staff/monitoring/cases/<int:case_id>": only(COUNTY_X, "a case of county X"),
    "POST /staff/monitoring/cases/<int:case_id>/transition": only(COUNTY_X, "a case of county X"),
    "POST /staff/monitoring/cases/<int:case_id>/measures": only(COUNTY_X, "a case of county X"),
    "POST /staff/monitoring/cases/<int:case_id>/measures/<int:measure_id>/outcome": only(
        COUNTY_X, "a case of county X"),
    "GET /staff/monitoring/households": only(STAFF, "a lookup; another county's file number is not found"),
    "GET /staff/monitoring/households/<int:household_id>/records": only(COUNTY_X, "a household of county X"),
    "POST /staff/monitoring/households/<int:household_id>/records": only(COUNTY_X, "a household of county X"),
    "GET /staff/monitoring/lines": only(STAFF, "the monitoring lines"),
    "POST /staff/monitoring/lines": only(ADMIN, "setting a line is for admins"),
    "GET /staff/audit": only(COUNTY_X, "reconciliation of cooperative A (county X)"),
    "GET /staff/audit/export.<any(csv, xlsx):fmt>": only(COUNTY_X, "reconciliation of cooperative A"),
    "GET /staff/audit/sample": only(COUNTY_X, "audit trails of cooperative A"),
    "GET /staff/audit/log": only(ADMIN, "programme-level staff and admins"),
    "POST /staff/audit/verify-ledger": only(ADMIN, "programme-level staff and admins"),
    "GET /admin/jobs": only(ADMIN, "admins"),
    "POST /admin/jobs/<queue>/<job_id>/retry": only(ADMIN, "admins", exact=NO_QUEUE),
    "POST /admin/jobs/<queue>/<job_id>/delete": only(ADMIN, "admins", exact=NO_QUEUE),
    # --- API: accounts and catalog ----------------------------------------------------------------
    "GET /api/v1/openapi.json": public("the API's description"),
    "POST /api/v1/auth/tokens": public("logging in (as the buyer)"),
    "POST /api/v1/auth/signup": public("signing up"),
    "DELETE /api/v1/auth/tokens/current": signed_in("revokes one's own token"),
    "GET /api/v1/me": signed_in("one's own account"),
    "GET /api/v1/products": public("the catalog"),
    "GET /api/v1/products/<int:product_id>": public("an active product"),
    "PATCH /api/v1/products/<int:product_id>": only(A, "A's product"),
    "POST /api/v1/products/<int:product_id>/images": only(A, "A's product"),
    "GET /api/v1/cooperatives": public("verified cooperatives"),
    "POST /api/v1/cooperatives": signed_in("applying (members: 409, already a member)"),
    "GET /api/v1/cooperatives/<int:coop_id>": public("a verified cooperative"),
    "POST /api/v1/cooperatives/<int:coop_id>/products": only(A, "A's catalog"),
    "POST /api/v1/cooperatives/<int:coop_id>/members": only(A, "A's owner"),
    "POST /api/v1/cooperatives/<int:coop_id>/verify": only(COUNTY_X, "staff of the cooperative's county"),
    "POST /api/v1/cooperatives/<int:coop_id>/reject": only(COUNTY_X, "staff of the cooperative's county"),
    "POST /api/v1/cooperatives/<int:coop_id>/suspend": only(COUNTY_X, "staff of the cooperative's county"),
    # --- API: buying ------------------------------------------------------------------------------
    "POST /api/v1/checkouts": signed_in("one's own checkout"),
    "GET /api/v1/checkouts/<int:checkout_id>": only(BUYER | COUNTY_X,
                                                   "the buyer's checkout; staff of a seller's county audit"),
    "POST /api/v1/checkouts/<int:checkout_id>/demo-confirm": only(BUYER, "the buyer pays"),
    "GET /api/v1/orders": signed_in("one's own orders, or one's cooperative's"),
    "GET /api/v1/orders/<int:order_id>": only(BUYER | A | COUNTY_X,
                                              "the buyer, the selling cooperative, its county's staff"),
    "POST /api/v1/orders/<int:order_id>/cancel": only(BUYER, "the buyer's order"),
    "POST /api/v1/orders/<int:order_id>/deliver": only(BUYER, "the buyer confirms delivery"),
    "POST /api/v1/orders/<int:order_id>/ship": only(A, "A ships"),
    "POST /api/v1/orders/<int:order_id>/refunds": only(A | COUNTY_X, "A or staff of A's county refund"),
    "POST /api/v1/payments/stripe/webhook": public("signed by Stripe, no user; 404 without Stripe",
                                                   exact={role: 404 for role in ROLES}),
    # --- API: live shows --------------------------------------------------------------------------
    "GET /api/v1/livestreams": public("public shows"),
    "GET /api/v1/livestreams/<int:show_id>": public("a show of a verified cooperative"),
    "GET /api/v1/livestreams/<int:show_id>/events": public(
        "the room's events", get_writes=frozenset({"shows", "show_viewers"})),  # counts the viewer
    "POST /api/v1/cooperatives/<int:coop_id>/livestreams": only(A, "A's shows"),
    "POST /api/v1/livestreams/<int:show_id>/start": only(A, "A's show"),
    "POST /api/v1/livestreams/<int:show_id>/end": only(A, "A's show"),
    "POST /api/v1/livestreams/<int:show_id>/pin": only(A, "A's show"),
    "POST /api/v1/livestreams/<int:show_id>/chat": signed_in("chat"),
    "POST /api/v1/livestreams/<int:show_id>/reminders": signed_in("one's own reminder"),
    "GET /api/v1/livestreams/<int:show_id>/report": only(A | COUNTY_X, "the show's cooperative and its county's staff"),
    # --- API: households, ledger, audit -----------------------------------------------------------
    "GET /api/v1/households": only(STAFF, "the register, each staff member's counties only"),
    "POST /api/v1/households": only(COUNTY_X, "registers a household of county X"),
    "GET /api/v1/households/<int:household_id>": only(
        A | COUNTY_X, "staff of its county (unmasked), A (linked, masked)",
        get_writes=frozenset({"audit_records"})),  # every unmasked read by staff is audited
    "PATCH /api/v1/households/<int:household_id>": only(COUNTY_X, "a household of county X"),
    "GET /api/v1/households/<int:household_id>/ledger": only(A | COUNTY_X, "A sees its own entries only"),
    "GET /api/v1/households/<int:household_id>/income": only(COUNTY_X, "a household of county X"),
    "GET /api/v1/cooperatives/<int:coop_id>/benefit-links": only(
        A | STAFF, "A's links; staff see those of their counties' households"),
    "POST /api/v1/cooperatives/<int:coop_id>/benefit-links": only(A, "A's owner proposes"),
    "POST /api/v1/benefit-links/<int:link_id>/approve": only(COUNTY_X, "a link to a household of county X"),
    "POST /api/v1/benefit-links/<int:link_id>/reject": only(COUNTY_X, "a link to a household of county X"),
    "POST /api/v1/cooperatives/<int:coop_id>/payouts": only(A, "A's payouts"),
    "GET /api/v1/audit/ledger/verify": only(STAFF, "the chain's integrity only, no household data"),
    "GET /api/v1/audit/reconciliation": only(COUNTY_X, "cooperative A is in county X"),
    "GET /api/v1/audit/log": only(ADMIN, "programme-level staff and admins"),
    "GET /api/v1/monitoring/lines": only(STAFF, "the monitoring lines"),
    "POST /api/v1/monitoring/lines": only(ADMIN, "admins"),
    "POST /api/v1/monitoring/scan": only(STAFF, "runs the monitoring rules"),
    "GET /api/v1/monitoring/cases": only(STAFF, "cases of one's own counties"),
    "GET /api/v1/monitoring/cases/<int:case_id>": only(COUNTY_X, "a case of county X"),
    "POST /api/v1/monitoring/cases/<int:case_id>/transition": only(COUNTY_X, "a case of county X"),
    "POST /api/v1/monitoring/cases/<int:case_id>/measures": only(COUNTY_X, "a case of county X"),
}
