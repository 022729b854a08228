"""A live show past its scheduled end ends by itself: the periodic job (and its
`flask live end-overdue` command for cron) ends it as the host's "end" would, and
the room learns it from a status event."""
from datetime import timedelta

from marketplace.catalog.models import Product
from marketplace.core.audit import AuditRecord
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.jobs.schedule import BY_NAME
from marketplace.livestream import services
from marketplace.livestream.cli import live_cli
from marketplace.livestream.jobs import end_overdue_shows
from marketplace.livestream.models import Pin, Show, ShowEvent, ShowStatus
from tests.livestream.test_sse import events_of, read
from tests.livestream.test_views import go_live, new_show, world  # noqa: F401 - the fixture


def overdue(show, minutes_ago=1):
    """The show's schedule moved so that it ended `minutes_ago` minutes ago."""
    show.starts_at = utcnow() - timedelta(minutes=60)
    show.ends_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()


def test_a_live_show_past_its_end_ends_by_itself(world):
    go_live(world)  # the product pinned, 20 units of its stock held for the show
    show_id, product_id = world.show.id, world.product.id
    stock_before = db.session.get(Product, product_id).stock
    overdue(world.show)
    assert end_overdue_shows() == {"ended": [show_id]}
    db.session.expire_all()
    show = db.session.get(Show, show_id)
    assert show.status == ShowStatus.ended and show.ended_at is not None
    assert db.session.get(Product, product_id).stock == stock_before + 20  # unsold quota back on sale
    assert db.session.query(Pin).filter_by(show_id=show_id, unpinned_at=None).count() == 0
    last = db.session.query(ShowEvent).filter_by(show_id=show_id).order_by(ShowEvent.seq.desc()).first()
    assert (last.type, last.data) == ("status", {"status": "ended"})
    record = db.session.query(AuditRecord).filter_by(action="show.end", object_id=show_id).one()
    assert record.actor_id is None and record.after["reason"] == "scheduled end passed"
    assert end_overdue_shows() == {"ended": []}  # a second run: nothing left, stock returned once
    assert db.session.get(Product, product_id).stock == stock_before + 20


def test_a_viewer_in_the_room_gets_the_end_as_a_status_event(client, world):
    go_live(world)
    overdue(world.show)
    end_overdue_shows()
    _, text = read(client, world.show.id, seconds=0.1, headers={"Last-Event-ID": "2"})
    assert events_of(text) == [(3, "status")]
    assert '"status": "ended"' in text


def test_only_live_shows_past_their_end_are_ended(make, world):
    go_live(world)  # live, ends in an hour
    later = new_show(world.coop, minutes=120, title="Tomorrow's harvest")  # scheduled
    assert end_overdue_shows() == {"ended": []}
    overdue(world.show, minutes_ago=0)  # ends_at is now: the live price is over, so is the show
    assert end_overdue_shows() == {"ended": [world.show.id]}
    db.session.expire_all()
    assert db.session.get(Show, later.id).status == ShowStatus.scheduled


def test_a_show_the_host_already_ended_is_left_alone(world):
    go_live(world)
    overdue(world.show)
    services.end(world.owner, world.show)
    db.session.commit()
    events = db.session.query(ShowEvent).filter_by(show_id=world.show.id).count()
    assert end_overdue_shows() == {"ended": []}
    assert db.session.query(ShowEvent).filter_by(show_id=world.show.id).count() == events  # no second "ended"


def test_cron_command_and_schedule(app, world):
    go_live(world)
    overdue(world.show)
    result = app.test_cli_runner().invoke(live_cli, ["end-overdue"])
    assert result.exit_code == 0 and result.output.strip() == f"ended 1 show(s): [{world.show.id}]"
    again = app.test_cli_runner().invoke(live_cli, ["end-overdue"])
    assert again.output.strip() == "ended 0 show(s)"
    assert BY_NAME["end_overdue_shows"].interval == 60  # the worker's schedule runs it every minute
