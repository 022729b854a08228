"""Unbound extension objects; create_app() binds them to an app."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

from .core import rate_limit_storage  # noqa: F401 - registers inline-memory:// with limits

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))


#: PostgreSQL-only indexes made by hand in migrations, not in the models (besides *_trgm, *_cjk)
PG_ONLY_INDEXES = frozenset({"ix_products_coop_on_sale"})  # a partial index: 0011


def include_in_migrations(obj, name, type_, reflected, compare_to):
    """PostgreSQL-only indexes made by hand in migrations (trigram search, CJK grams:
    0001, 0007; goods on sale: 0011) and SQLite's search indexes, FTS5 tables with
    their shadow tables (0008), are not in the models; autogenerate must not try to
    drop them."""
    if type_ == "table" and name and name.startswith(("product_trigrams", "product_cjk")):
        return False
    return not (type_ == "index" and name and (name.endswith(("_trgm", "_cjk")) or name in PG_ONLY_INDEXES))


def render_migration_item(type_, obj, autogen_context):
    """Write our UTCDateTime columns as plain sa.DateTime(timezone=True) in migrations."""
    if type_ == "type" and obj.__class__.__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


migrate = Migrate(render_as_batch=True, compare_type=True, include_object=include_in_migrations,
                  render_item=render_migration_item)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
