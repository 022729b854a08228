"""API fuzzing with schemathesis: every operation of the served OpenAPI document
(/api/v1/openapi.json), called with generated input as a buyer and as a
cooperative's owner, must never answer 5xx and must answer what its document says
(status, content type, body schema).

Bounded for CI: MAX_EXAMPLES per operation and user, derandomized (the same inputs
every run, so a failure is reproducible). FUZZ_EXAMPLES=200 in the environment
digs deeper.
"""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from marketplace import create_app
from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from tests.conftest import _empty_tables
from tests.security import world as data_set
from tests.security.harness import matrix_app

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
USERS = ("buyer", "member_a")

# the document is read from the app as served; the calls go to `fuzz.app` (on the test database)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app("test", SQLALCHEMY_DATABASE_URI="sqlite://"))


@pytest.fixture(scope="module")
def fuzz(_schema, tmp_path_factory):
    """The access matrix's data set, so generated ids often hit real objects."""
    app = matrix_app(_schema, str(tmp_path_factory.mktemp("fuzz-uploads")))
    with app.app_context():
        _empty_tables()
        world = data_set.build()
        yield app, world
        db.session.remove()
        db.engine.dispose()


def bearer(user) -> dict:
    """A fresh token per call: a generated DELETE /auth/tokens/current revokes only its own."""
    raw, _ = issue_api_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize("who", USERS)
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented_and_never_5xx(fuzz, who, case):
    app, world = fuzz
    user = db.session.merge(world.users[who])
    case.call_and_validate(app=app, headers=bearer(user), excluded_checks=[checks.unsupported_method])
