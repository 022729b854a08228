"""The baseline: the least a Flask + SQLAlchemy page can do against the same data.

One query (24 active products joined to their verified cooperative, newest
first) and a small Jinja template string. No blueprints, sessions, login,
babel, CSRF or security headers: whatever the real pages cost beyond this is
the price of the framework features and the extra queries the storefront runs.
Served by gunicorn with the same settings as the real app:

    BENCH_DATABASE_URL=postgresql://... gunicorn bench.bare_app:app
    BENCH_DATABASE_URL=sqlite:////path/file.sqlite gunicorn bench.bare_app:app

On SQLite it reads the same file as the app under test with SQLAlchemy's defaults (no
pragmas, no BEGIN of its own): the file is already in WAL mode (bench/sqlite_copy.py and
the app set it, and it persists), so its reads never wait for a writer.

`hello` is the floor below that: Flask answering "Hello, World!" with no database,
template or extension at all (issue 7 compares the cached catalog page with it):

    gunicorn bench.bare_app:hello
"""
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, contains_eager, mapped_column, relationship

from marketplace.core.pool_ping import ping_after_idle

db = SQLAlchemy()


class Cooperative(db.Model):
    __tablename__ = "cooperatives"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    province: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))


class Product(db.Model):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"))
    title: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(40))
    price_fen: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    cooperative = relationship(Cooperative, lazy="raise")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Products</title></head>
<body><h1>Products</h1><ul>
{% for p in products %}
  <li><a href="/products/{{ p.id }}">{{ p.title }}</a> ¥{{ '%.2f' % (p.price_fen / 100) }} / {{ p.unit }}
      <small>{{ p.cooperative.name }} · {{ p.cooperative.province }}</small></li>
{% endfor %}
</ul></body></html>"""


def create_app(url=None):
    app = Flask(__name__)
    url = url or os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench")
    app.config["SQLALCHEMY_DATABASE_URI"] = url.replace("postgresql://", "postgresql+psycopg://", 1)
    db.init_app(app)
    with app.app_context():  # connections checked as the real app checks them (marketplace/__init__.py)
        ping_after_idle(db.engine)
    page = app.jinja_env.from_string(PAGE)  # compiled once, as render_template caches files

    @app.get("/bare")
    def bare():
        products = db.session.scalars(
            select(Product).join(Product.cooperative)
            .where(Product.status == "active", Cooperative.status == "verified")
            .options(contains_eager(Product.cooperative))
            .order_by(Product.id.desc()).limit(24)).all()
        return page.render(products=products)

    return app


def create_hello():
    hello_app = Flask("hello")

    @hello_app.get("/hello")
    def hello_world():
        return "Hello, World!"

    return hello_app


app = create_app()
hello = create_hello()
