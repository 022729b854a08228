"""The access matrix's app, its logged-in roles and one call of a route as a role."""
import io
from dataclasses import dataclass

from marketplace import create_app
from tests.conftest import PASSWORD, IsolatedClient
from tests.security.calls import Call

#: every method a route may have that the matrix calls (HEAD and OPTIONS are Werkzeug's)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


#: the matrix makes hundreds of calls per role from one address. (Not RATELIMIT_ENABLED=False:
#: the limiter is one object for every app, and an app made later would inherit "off".)
NO_LIMITS = {name: "100000 per minute" for name in
             ("LOGIN_RATE_LIMIT", "SIGNUP_RATE_LIMIT", "CHECKOUT_RATE_LIMIT", "CHAT_RATE_LIMIT")}


def matrix_app(database_url, upload_folder):
    """CSRF off (tests/test_security.py checks it on every state-changing form route)
    and rate limits out of reach (tests/security/test_login_limits.py checks them)."""
    app = create_app("test", SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_FOLDER=upload_folder,
                     WTF_CSRF_ENABLED=False, **NO_LIMITS)
    app.test_client_class = IsolatedClient
    return app


def routes(app):
    """(rule, method) for every route of the app, in a stable order."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & set(METHODS)):
            found.append((rule, method))
    return sorted(found, key=lambda pair: (pair[0].rule, pair[1]))


def route_key(rule, method) -> str:
    return f"{method} {rule.rule}"


def log_in_everyone(app, world):
    """One browser session per role, kept as its cookie: each call starts from it afresh,
    so a call that logs out or piles up flash messages leaves the next one alone."""
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    for role, user in world.users.items():
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, (role, response.status_code)
        world.cookies[role] = client.get_cookie(cookie_name).value


@dataclass
class Answer:
    status: int
    location: str
    content_type: str
    body: str
    headers: dict


def perform(app, world, call: Call, role: str) -> Answer:
    client = app.test_client()
    headers = {}
    if role != "anonymous":
        if call.api:
            headers["Authorization"] = f"Bearer {world.tokens[role]}"
        else:
            client.set_cookie(app.config["SESSION_COOKIE_NAME"], world.cookies[role])
    # buffered: a streamed body (the live events) is read inside the request's own context
    kwargs = {"query_string": call.query, "headers": headers, "buffered": True}
    if call.json is not None:
        kwargs["json"] = call.json
    elif call.data is not None:  # a fresh file object per call: a request reads it to the end
        kwargs["data"] = {**call.data, **{name: (io.BytesIO(content), filename)
                                          for name, (content, filename) in call.files.items()}}
    response = client.open(call.path, method=call.method, **kwargs)
    body = response.get_data().decode("utf-8", "replace")  # (exports may be binary)
    return Answer(response.status_code, response.headers.get("Location", ""), response.mimetype, body,
                  dict(response.headers))
