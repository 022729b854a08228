"""Rate limits are checked by the views they guard (core.rate_limits): the limiter's
check before every request is dropped only while no limit depends on it."""
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from marketplace.core.rate_limits import check_in_views_only
from marketplace.extensions import limiter


def test_pages_skip_the_limiter_and_limited_views_still_refuse(app, client):
    assert limiter._check_request_limit not in app.before_request_funcs[None]
    app.config["SIGNUP_RATE_LIMIT"] = "2 per minute"
    form = {"email": "new@example.com", "password": "short"}
    codes = [client.post("/signup", data=form).status_code for _ in range(3)]
    assert codes == [422, 422, 429]  # the form with its message twice, then refused
    assert client.get("/products").status_code == 200  # other pages are not limited


def _app_with(**limits):
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    own = Limiter(key_func=get_remote_address, **limits)
    own.init_app(app)

    @app.get("/")
    def index():
        return "ok"

    return app, own


def test_a_default_limit_keeps_the_check_before_every_request():
    app, own = _app_with(default_limits=["2 per minute"])
    assert check_in_views_only(app, own) is False
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]


def test_an_application_wide_limit_keeps_it_too():
    app, own = _app_with(application_limits=["1 per minute"])
    assert check_in_views_only(app, own) is False
    assert [app.test_client().get("/").status_code for _ in range(2)] == [200, 429]


def test_without_such_limits_it_is_dropped():
    app, own = _app_with()
    assert check_in_views_only(app, own) is True
    assert own._check_request_limit not in app.before_request_funcs[None]
    assert [app.test_client().get("/").status_code for _ in range(3)] == [200, 200, 200]
