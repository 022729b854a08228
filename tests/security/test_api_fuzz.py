"""API fuzzing with schemathesis: every operation of the served OpenAPI document
(/api/v1/openapi.json), called with generated input as a buyer and as a
cooperative's owner, must never answer 5xx and must answer what its document says
(status, content type, body schema).

Bounded for CI: MAX_EXAMPLES per operation and user, derandomized (the same inputs
every run, so a failure is reproducible). In the environment, FUZZ_EXAMPLES=200 digs
deeper, FUZZ_PHASES=examples,coverage,fuzzing adds every boundary case of every field,
FUZZ_STRICT=1 also asks that the server accept exactly what the request schemas allow.
"""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from marketplace import create_app
from marketplace.auth.models import User
from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from tests.conftest import _empty_tables
from tests.security import world as data_set
from tests.security.harness import matrix_app

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
USERS = ("buyer", "member_a")

#: examples from the document, then generated input; not the "coverage" phase, which makes every
#: boundary case of every field whatever max_examples says (minutes per run: FUZZ_PHASES adds it)
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing").split(",")
CONFIG = schemathesis.Config.from_dict({"phases": {name: {"enabled": name in PHASES}
                                                   for name in ("examples", "coverage", "fuzzing", "stateful")}})
# the document is read from the app as served; the calls go to `fuzz`'s app (on the test database)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app("test", SQLALCHEMY_DATABASE_URI="sqlite://"),
                                        config=CONFIG)
#: query parameters added to an operation's calls
PARAMS = {"GET /api/v1/livestreams/{show_id}/events": {"max_seconds": "0"}}  # the test app ends the stream


#: what every answer must satisfy: no 5xx, and the status, content type, headers and body the
#: document gives for it. (Left out: whether the server accepts exactly what the request schemas
#: allow (positive/negative_data_acceptance) -- the services check more than JSON Schema can say:
#: a province of China, a strong password, text without control characters.) unsupported_method: a
#: method the document does not list gets 405 with an Allow header naming the ones it does.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance, checks.unsupported_method]
if os.environ.get("FUZZ_STRICT"):  # to list where the request schemas say less than the services check
    CHECKS += [checks.positive_data_acceptance, checks.negative_data_acceptance]


@pytest.fixture(scope="module")
def fuzz(_schema, tmp_path_factory):
    """The access matrix's data set, so generated ids often hit real objects. No app context
    stays pushed: each call gets its own, as in production (the test's would be shared)."""
    app = matrix_app(_schema, str(tmp_path_factory.mktemp("fuzz-uploads")))
    with app.app_context():
        _empty_tables()
        user_ids = {role: user.id for role, user in data_set.build().users.items()}
    yield app, user_ids
    with app.app_context():
        db.engine.dispose()


def bearer(app, user_id) -> dict:
    """A fresh token per call: a generated DELETE /auth/tokens/current revokes only its own."""
    with app.app_context():
        raw, _ = issue_api_token(db.session.get(User, user_id))
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize("who", USERS)
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented_and_never_5xx(fuzz, who, case):
    app, user_ids = fuzz
    case.call_and_validate(app=app, headers=bearer(app, user_ids[who]), params=PARAMS.get(case.operation.label),
                           checks=CHECKS)
