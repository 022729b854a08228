"""Shared fixtures: an app on a fresh database per test, factories, API and query helpers.

The database is SQLite (a file, so served-app tests in other threads share it)
unless TEST_DATABASE_URL points at PostgreSQL. The schema is built once per run
by the real migrations, and every table is emptied before each test.
"""
import contextvars
from contextlib import contextmanager
import io
import os
import threading

import pytest
from sqlalchemy import event, text
from flask import has_app_context
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from marketplace import create_app
from marketplace.auth.models import Role
from marketplace.auth.services import create_user, issue_api_token
from marketplace.catalog.services import create_product
from marketplace.coops.services import apply_for_cooperative, decide
from marketplace.extensions import db, limiter
from marketplace.households import triggers

PASSWORD = "wood-ear-harvest-2026"
PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if PG_URL:
        return PG_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Build the schema once with the migrations (which also tests them)."""
    from flask_migrate import upgrade

    app = create_app("test", SQLALCHEMY_DATABASE_URI=database_url,
                     UPLOAD_FOLDER=str(tmp_path_factory.mktemp("uploads")))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_tables():
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # the ledger refuses TRUNCATE (migration 0010); triggers do not fire for a replica's session
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:  # the ledger's append-only triggers are lifted only while emptying
            for sql in triggers.statements("sqlite", create=False):
                conn.execute(text(sql))
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))
            for sql in triggers.statements("sqlite", create=True):
                conn.execute(text(sql))


class IsolatedClient(FlaskClient):
    """A test client whose requests run as in production: each in its own app
    context, so `g`, the logged-in user and the database session of one request
    never leak into the next or into the test body."""

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()  # end the test body's transaction: SQLite has one writer at a time
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # (not inside a redirect followed by werkzeug)
            db.session.commit()  # a fresh snapshot: the test body sees what the request committed
        return response


@contextmanager
def fresh_context(app):
    """An app context for one test: empty tables and rate limits first, the session removed after."""
    with app.app_context():
        _empty_tables()
        limiter.reset()
        yield app
        db.session.remove()


@pytest.fixture
def app_factory(_schema, tmp_path):
    """Build an app on the test database; keyword arguments override config."""
    made = []

    def make(**overrides):
        config = {"SQLALCHEMY_DATABASE_URI": _schema, "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                  "WTF_CSRF_ENABLED": False, **overrides}
        app = create_app("test", **config)
        app.test_client_class = IsolatedClient
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _no_json_log_handler_left_behind():
    """A test that builds a production app switches JSON logs on for the root logger;
    take that handler off afterwards so later tests' output stays readable."""
    yield
    from marketplace.observability import logs

    logs.uninstall()


@pytest.fixture
def app(app_factory):
    app = app_factory()
    with fresh_context(app):
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


# --- factories ------------------------------------------------------------------

class Factory:
    def __init__(self):
        self.n = 0

    def _next(self):
        self.n += 1
        return self.n

    def user(self, role=Role.buyer, email=None, name=None, password=PASSWORD):
        n = self._next()
        user = create_user(email or f"user{n}@example.com", password, name or f"User {n}", role=role)
        db.session.commit()
        return user

    def staff(self):
        return self.user(role=Role.staff)

    def coop(self, owner=None, status="verified", **fields):
        n = self._next()
        owner = owner or self.user()
        data = dict(name=f"Cooperative {n}", province="Shaanxi", county="Zhashui", village=f"Village {n}",
                    registration_no=f"REG{n:08d}", story="We grow wood-ear fungus.")
        data.update(fields)
        coop = apply_for_cooperative(owner, data)
        if status != "pending":
            staff = self.staff()
            decide(staff, coop, "verify")
            if status == "suspended":
                decide(staff, coop, "suspend", "paperwork missing")
        db.session.commit()
        return coop

    def product(self, coop=None, owner=None, **fields):
        coop = coop or self.coop()
        owner = owner or next(m.user for m in coop.memberships if m.role.value == "owner")
        n = self._next()
        data = dict(title=f"Product {n}", category="fungi", unit="500 g bag", price_fen=1990, stock=50,
                    status="active", description="", origin="Shaanxi")
        data.update(fields)
        product = create_product(owner, coop, data)
        db.session.commit()
        return product


@pytest.fixture
def make(app):
    return Factory()


def owner_of(coop):
    return next(m.user for m in coop.memberships if m.role.value == "owner")


@pytest.fixture
def login(client):
    def do(user, password=PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response
    return do


@pytest.fixture
def api(client):
    """Call the JSON API, optionally as a user: api("get", "/products", user=u)."""
    def call(method, path, user=None, json=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if user is not None:
            raw, _ = issue_api_token(user)
            db.session.commit()
            headers["Authorization"] = f"Bearer {raw}"
        return getattr(client, method)("/api/v1" + path, json=json, headers=headers, **kwargs)
    return call


@pytest.fixture
def count_queries(app):
    """with count_queries() as q: ...; q.count is the number of SQL statements run."""
    class Counter:
        def __init__(self):
            self.count = 0
            self.statements = []

        def __call__(self, conn, cursor, statement, *args):
            self.count += 1
            self.statements.append(statement)

        def __enter__(self):
            event.listen(db.engine, "before_cursor_execute", self)
            return self

        def __exit__(self, *exc):
            event.remove(db.engine, "before_cursor_execute", self)

    return Counter


def main_html(response) -> str:
    """The page's <main> element only (the header's search hint holds sample words)."""
    html = response.get_data(as_text=True)
    return html.split('<main id="main">', 1)[1].split("</main>", 1)[0]


def jpeg_bytes(size=(64, 48), color=(120, 60, 20), exif=None, fmt="JPEG"):
    from PIL import Image

    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, color).save(out, fmt, **kwargs)
    return out.getvalue()


@pytest.fixture
def live_server(app_factory):
    """The app served over real HTTP on a free loopback port, in a thread."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        _empty_tables()
        limiter.reset()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join(timeout=5)
