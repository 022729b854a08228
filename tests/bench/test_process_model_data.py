"""The process-model benchmark reads its targets the same way from PostgreSQL and SQLite
(bench/process_model_data.py): the live show whose stream the viewers open, and the pages
the load requests. Run on the test database, SQLite by default, PostgreSQL with
TEST_DATABASE_URL."""
from datetime import timedelta

import pytest

from bench.process_model_data import targets
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.livestream.models import Show, ShowStatus, StreamKind


def _show(coop, status):
    host = next(m.user for m in coop.memberships if m.role.value == "owner")
    now = utcnow()
    show = Show(cooperative_id=coop.id, host_id=host.id, title=f"{status.value} show", starts_at=now,
                ends_at=now + timedelta(hours=1), stream_kind=StreamKind.hls,
                stream_url="https://video.example/live.m3u8", status=status)
    db.session.add(show)
    db.session.commit()
    return show.id


def test_targets_are_the_live_show_and_the_active_products(app, make, _schema):
    with app.app_context():
        coop = make.coop()
        active = [make.product(coop).id for _ in range(3)]
        draft = make.product(coop, status="draft").id
        _show(coop, ShowStatus.ended)
        live = _show(coop, ShowStatus.live)
    show_id, paths = targets(_schema)
    assert show_id == live
    assert paths == ["/products", "/"] + [f"/products/{i}" for i in sorted(active)]
    assert f"/products/{draft}" not in paths


def test_no_live_show_is_an_error_not_a_benchmark_of_nothing(app, make, _schema):
    with app.app_context():
        coop = make.coop()
        make.product(coop)
        _show(coop, ShowStatus.scheduled)
    with pytest.raises(RuntimeError, match="no live show"):
        targets(_schema)
