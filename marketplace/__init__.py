"""The marketplace application factory."""
import gc
import os
from importlib import import_module

from flask import Flask

from .config import CONFIGS, from_environment
from .core.db import configure_sqlite
from .core.pool_ping import ping_after_idle

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def create_served_app(config=None, **overrides) -> Flask:
    """create_app for a server's worker process (`gunicorn wsgi:app`). The app's own
    objects (routes, templates, mappers, compiled statements) live as long as the
    process, so they are frozen out of the garbage collector's reach: a full collection
    then walks only what requests allocate. Unfrozen, each one stalled every thread of
    the worker for ~50 ms, a fifth of a flash sale's sell-out (bench/run_flash_sale.py);
    frozen, ~5 ms. (Tests build many apps in one process and do not freeze them.)"""
    app = create_app(config, **overrides)
    gc.freeze()
    return app


def create_app(config=None, **overrides) -> Flask:
    """Build the app. `config` is a name in CONFIGS (default: $MARKETPLACE_CONFIG or
    "production"); keyword overrides win over everything (tests use them)."""
    app = Flask(__name__, instance_path=os.path.join(ROOT, "instance"),
                template_folder=os.path.join(ROOT, "templates"),
                static_folder=os.path.join(ROOT, "static"))
    name = config or os.environ.get("MARKETPLACE_CONFIG", "production")
    app.config.from_object(CONFIGS[name])
    app.config.update({k: v for k, v in from_environment(CONFIGS[name]).items() if v is not None})
    app.config.update(overrides)
    _finish_config(app)

    from . import models, web  # noqa: F401 - models: the whole schema, for Alembic
    from .households import accrual  # noqa: F401 - accrues on the orders' paid/refunded signals
    from .livestream import purchase  # noqa: F401 - live prices and quotas for checkout
    from .extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
        if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            ping_after_idle(db.engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    from .core.rate_limits import check_in_views_only

    check_in_views_only(app, limiter)  # (every limit is a view's own)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale,
                   default_translation_directories=os.path.join(HERE, "translations"))
    web.init_app(app)
    from .core import template_speed

    template_speed.init_app(app)  # after babel: cheaper _() and url_for in templates
    from .livestream import events as live_events

    live_events.init_app(app)
    _register_blueprints(app)
    from .core import page_cache

    page_cache.init_app(app)  # after the blueprints: their ?lang= switch runs before the cache
    _register_cli(app)
    return app


def _finish_config(app):
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set. Set it in the environment, or run the demo "
                           "(MARKETPLACE_CONFIG=demo) which uses a built-in key.")
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "marketplace.db")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://") or uri.startswith("postgresql://"):
        # psycopg 3 is the driver we install
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")


#: modules (under marketplace/) whose `bp` blueprint serves HTML pages
BLUEPRINTS = (
    "catalog.views", "auth.views", "coops.views", "catalog.manage_views", "orders.views", "orders.desk_views",
    "staff.views", "households.views", "households.coop_views", "households.impact", "livestream.views",
    "livestream.host_views", "monitoring.views", "monitoring.audit_views", "jobs.views",
)
#: (module, attribute) of each `flask` command group
COMMANDS = (
    ("auth.cli", "users_cli"), ("demo.cli", "demo_cli"), ("households.cli", "ledger_cli"),
    ("livestream.cli", "live_cli"), ("monitoring.cli", "monitoring_cli"), ("orders.cli", "orders_cli"),
    ("jobs.cli", "worker_command"),
    ("ops.cli", "backup_cli"), ("ops.cli", "restore_cli"), ("ops.cli", "check_config_cli"),
)


def _register_blueprints(app):
    from .api import init_api

    for name in BLUEPRINTS:
        app.register_blueprint(import_module(f"{__name__}.{name}").bp)
    init_api(app)


def _register_cli(app):
    for name, attribute in COMMANDS:
        app.cli.add_command(getattr(import_module(f"{__name__}.{name}"), attribute))
