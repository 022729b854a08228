"""Commits that change what storefront pages show empty the caches in front of them.

Whenever a session writes to one of WATCHED_TABLES, through the unit of work
(create_product, update_product, photos, staff decisions on cooperatives, ...)
or by a bulk statement (take_stock and return_stock at checkout), the commit
that makes it visible invalidates the anonymous page cache (core.page_cache) and
the catalog memo (totals, provinces) and the rendered cards (catalog.fragments) of
the current app. A rollback forgets it.
Writes that bypass the session (raw SQL on a connection) are caught only by the
caches' time limits.
"""
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..core import page_cache
from .fragments import fragment_cache
from .memo import catalog_memo

#: what product cards, product pages, cooperative pages and the home page show
WATCHED_TABLES = frozenset({"products", "product_images", "cooperatives", "shows", "lineup_items",
                            "benefit_links"})
FLAG = "storefront_changed"


def _table_of(obj):
    table = getattr(type(obj), "__table__", None)
    return getattr(table, "name", None)


@event.listens_for(Session, "before_flush")
def _note_flushed_changes(session, flush_context, instances):
    added_or_deleted = (*session.new, *session.deleted)
    if any(_table_of(obj) in WATCHED_TABLES for obj in added_or_deleted) or any(
            _table_of(obj) in WATCHED_TABLES and session.is_modified(obj) for obj in session.dirty):
        session.info[FLAG] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state):
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in WATCHED_TABLES:
            state.session.info[FLAG] = True


def note_bulk_write(session) -> None:
    """A statement run on the session's connection wrote to WATCHED_TABLES (the checkout's
    stock in orders.placing_pg): the commit invalidates as for the session's own writes."""
    session.info[FLAG] = True


@event.listens_for(Session, "after_commit")
def _invalidate(session):
    if session.info.pop(FLAG, False) and has_app_context():
        page_cache.invalidate()
        catalog_memo().clear()
        fragment_cache().clear()  # (cards are keyed by what they show: this only frees memory)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(FLAG, None)
