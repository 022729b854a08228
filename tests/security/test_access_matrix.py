"""The access-control matrix: every route of the app (read from its URL map, so a new
route is covered the day it is added) called as each of eight roles on objects of
cooperative A, county X and "the buyer", against the table in expectations.py.

Each call also checks that
- the answer carries the security headers (CSP with object-src/base-uri/frame-ancestors,
  nosniff, a referrer policy), on every page and error page;
- no private text of the data set reaches a role that may not read it (world.MARKERS):
  cooperative B never sees A's draft products, orders' addresses, households or payouts,
  the other buyer never sees the buyer's address, staff of county Y never see county X's
  households or cases;
- a refused call changed nothing in the database, and no GET changed anything.

One data set serves the whole module: a call that changed something is undone by
writing the touched tables back (dbstate.py), so every call starts from the same state.
"""
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import _empty_tables
from tests.security import world as data_set
from tests.security.calls import build_call
from tests.security.dbstate import Snapshot
from tests.security.expectations import EXPECTED
from tests.security.harness import log_in_everyone, matrix_app, perform, route_key, routes
from tests.security.world import MARKERS, ROLES


def _route_keys():
    app = create_app("test", SQLALCHEMY_DATABASE_URI="sqlite://")  # only its URL map is read
    return [route_key(rule, method) for rule, method in routes(app)]


ROUTE_KEYS = _route_keys()


@pytest.fixture(scope="module")
def matrix(_schema, tmp_path_factory):
    app = matrix_app(_schema, str(tmp_path_factory.mktemp("matrix-uploads")))
    with app.app_context():
        _empty_tables()
        world = data_set.build()
        data_set.issue_tokens(world)
        log_in_everyone(app, world)
        by_key = {route_key(rule, method): (rule, method) for rule, method in routes(app)}
        yield SimpleNamespace(app=app, world=world, snapshot=Snapshot(), routes=by_key)
        db.session.remove()
        db.engine.dispose()


def _to_login(answer) -> bool:
    """Flask-Login's redirect of a visitor who must log in (it names the page to come back to)."""
    url = urlparse(answer.location)
    return 300 <= answer.status < 400 and url.path == "/login" and "next" in parse_qs(url.query)


def _got_through(answer) -> bool:
    return answer.status < 500 and answer.status not in (401, 403, 404) and not _to_login(answer)


def _status_problem(rule, role, answer) -> str | None:
    if answer.status >= 500:
        return f"server error {answer.status}"
    if role in rule.exact:
        ok, wanted = answer.status == rule.exact[role], f"exactly {rule.exact[role]}"
    elif role in rule.allowed:
        ok, wanted = _got_through(answer), "to get through"
    elif role in rule.bounced:
        ok, wanted = 300 <= answer.status < 400 and not _to_login(answer), "a redirect with a message"
    elif role == "anonymous":
        ok, wanted = answer.status == 401 or _to_login(answer), "401 or the login page"
    else:
        ok, wanted = answer.status in (403, 404), "403 or 404"
    if ok:
        return None
    return f"{role} got {answer.status} {answer.location}, expected {wanted} ({rule.why})"


def _leaks(role, answer) -> list[str]:
    return [marker for marker, readers in MARKERS.items() if role not in readers and marker in answer.body]


#: on every answer, HTML or not (error pages too): what a browser must be told
REQUIRED_CSP = ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'")


def _header_problems(answer) -> list[str]:
    csp = answer.headers.get("Content-Security-Policy", "")
    missing = [d for d in REQUIRED_CSP if d not in csp]
    if answer.headers.get("X-Content-Type-Options") != "nosniff":
        missing.append("nosniff")
    if answer.headers.get("Referrer-Policy") != "strict-origin-when-cross-origin":
        missing.append("Referrer-Policy")
    return missing


def _refused(rule, role) -> bool:
    return role not in rule.allowed and role not in rule.exact


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", ROUTE_KEYS)
def test_route_as_role(matrix, key, role):
    rule = EXPECTED.get(key)
    assert rule is not None, f"no expectation for {key}: add who may call it to tests/security/expectations.py"
    route, method = matrix.routes[key]
    answer = perform(matrix.app, matrix.world, build_call(matrix.app, route, method, matrix.world), role)
    changed = set(matrix.snapshot.changed_tables())
    matrix.snapshot.restore(changed)  # before any assertion: the next call starts from the data set
    problems = []
    status = _status_problem(rule, role, answer)
    if status:
        problems.append(status)
    leaked = _leaks(role, answer)
    if leaked:
        problems.append(f"{role} could read {leaked}")
    missing = _header_problems(answer)
    if missing:
        problems.append(f"headers missing {missing}")
    if changed and _refused(rule, role):
        problems.append(f"refused, yet changed {sorted(changed)}")
    if method == "GET" and changed - rule.get_writes:
        problems.append(f"a GET changed {sorted(changed - rule.get_writes)}")
    assert not problems, f"{key} as {role}: " + "; ".join(problems)


#: (role, method, path with {ids}, marker): each marker shows where it may, so its absence elsewhere means something
SHOWN = [
    ("member_a", "GET", "/my/products/{draft_id}", "Secret draft fungus"),
    ("member_a", "GET", "/my/orders/{order_id}", data_set.ADDRESS["phone"]),
    ("buyer", "GET", "/checkout", data_set.ADDRESS["name"]),  # the saved address is offered
    ("member_a", "GET", "/my/households/{household_id}", "PAYREF-A-7731"),
    ("member_a", "GET", "/my/households", "Xu Mingyuan"),
    ("member_b", "GET", "/my/households", "Yang Feifei"),
    ("staff_x", "POST", "/staff/households/{household_id}/unmask", data_set.ID_NUMBER_X),
    ("staff_x", "GET", "/staff/monitoring/cases/{case_id}", "Helper Qin Lanfang"),
]


@pytest.mark.parametrize("role,method,path,marker", SHOWN)
def test_the_private_texts_are_really_on_their_readers_pages(matrix, role, method, path, marker):
    from tests.security.calls import Call

    call = Call(method, path.format(**matrix.world.ids))
    answer = perform(matrix.app, matrix.world, call, role)
    matrix.snapshot.restore(matrix.snapshot.changed_tables())
    assert answer.status == 200 and marker in answer.body


def test_the_restore_puts_the_data_set_back(matrix):
    assert matrix.snapshot.changed_tables() == []


def test_no_expectation_names_a_route_that_is_gone():
    assert sorted(set(EXPECTED) - set(ROUTE_KEYS)) == []
