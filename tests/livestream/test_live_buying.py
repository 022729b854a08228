"""Buying in the live room as a buyer without a saved address: an address step that
keeps the live price (while the show is live and the quota lasts), its mistakes
shown beside the boxes; a purchase after the quota is gone is at the regular price
and says so; and the report shows what the show paid each household."""
import re
from datetime import timedelta

from sqlalchemy import update

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.livestream import services
from marketplace.livestream.models import LineupItem, Show
from marketplace.orders.models import Address, Checkout, OrderLine
from tests.conftest import main_html
from tests.households.test_ledger import approved_link, household
from tests.livestream.test_api import buy as bought_in_show
from tests.livestream.test_views import ADDRESS, go_live, world  # noqa: F401 - the fixture


def press_buy(client, w, quantity=1):
    return client.post(f"/shows/{w.show.id}/buy", data={"product_id": w.product.id, "quantity": quantity})


def give_address(client, w, quantity=1, **change):
    data = {"product_id": w.product.id, "quantity": quantity, "with_address": "1", **ADDRESS, **change}
    return client.post(f"/shows/{w.show.id}/buy", data=data)


def test_a_buyer_without_an_address_gives_one_and_pays_the_live_price(client, login, world):
    go_live(world)
    login(world.buyer)
    step = press_buy(client, world, quantity=2)
    html = main_html(step)
    assert step.status_code == 200 and "Where should we ship it?" in html
    assert "Black wood-ear × 2" in html and "¥29.90" in html and "¥39.80" in html
    assert 'name="with_address" value="1"' in html and db.session.query(Checkout).count() == 0

    done = give_address(client, world, quantity=2)
    assert done.status_code == 302 and re.search(r"/checkouts/\d+/pay$", done.headers["Location"])
    line = db.session.query(OrderLine).one()
    assert (line.livestream_id, line.unit_price_fen, line.quantity) == (world.show.id, 2990, 2)
    assert db.session.query(Address).filter_by(user_id=world.buyer.id).one().city == "Beijing"
    assert db.session.get(LineupItem, world.show.items[0].id).sold == 2


def test_address_mistakes_are_shown_beside_the_boxes_and_nothing_is_bought(client, login, world):
    go_live(world)
    login(world.buyer)
    response = give_address(client, world, phone="12", address="")
    html = main_html(response)
    assert response.status_code == 422 and "Where should we ship it?" in html
    assert 'aria-describedby="phone-err"' in html and 'id="phone-err"' in html and 'id="address-err"' in html
    assert 'value="Wang Fang"' in html and 'value="12"' in html  # what was typed stays
    assert db.session.query(Checkout).count() == 0 and db.session.query(Address).count() == 0
    assert db.session.get(LineupItem, world.show.items[0].id).sold == 0


def test_the_next_purchase_uses_the_saved_address(client, login, world):
    go_live(world)
    login(world.buyer)
    give_address(client, world)
    again = press_buy(client, world)
    assert re.search(r"/checkouts/\d+/pay$", again.headers["Location"])  # no address step this time
    assert db.session.query(Checkout).count() == 2 and db.session.query(Address).count() == 1


def test_the_show_ending_during_the_address_step_keeps_nothing_at_the_live_price(client, login, world):
    go_live(world)
    login(world.buyer)
    assert press_buy(client, world).status_code == 200
    services.end(world.owner, db.session.get(Show, world.show.id))
    db.session.commit()
    late = give_address(client, world)
    assert late.headers["Location"].endswith(f"/products/{world.product.id}")
    assert db.session.query(Checkout).count() == 0


def test_after_the_quota_is_gone_the_order_is_at_the_regular_price_and_says_so(client, login, world):
    go_live(world)
    services.adjust_quota(world.owner, world.show, world.product.id, 0)
    db.session.commit()
    login(world.buyer)
    done = give_address(client, world)
    line = db.session.query(OrderLine).one()
    assert (line.livestream_id, line.unit_price_fen) == (None, 3980)
    pay = main_html(client.get(done.headers["Location"]))
    assert "this order is at the regular price" in pay and "¥39.80" in pay


def test_the_report_shows_each_household_the_show_paid(client, login, make, world):
    staff = make.staff()
    first, second = household(staff, 1), household(staff, 2)
    db.session.commit()
    approved_link(make, world.coop, first.id, share_bp=1000)
    approved_link(make, world.coop, second.id, share_bp=500)
    go_live(world)
    bought_in_show(make, world.show, [(world.product, 2)])  # 59.80: 5.98 and 2.99
    bought_in_show(make, world.show, [(world.other, 1)], pay=False)  # unpaid: nobody earned from it
    login(world.owner)
    html = main_html(client.get(f"/shows/{world.show.id}/report"))
    rows = html.split("Households paid by this show", 1)[1]
    assert rows.index(first.file_no) < rows.index(second.file_no)  # most first
    assert re.search(re.escape(first.file_no) + r".*?Jinmi.*?¥5\.98", rows, re.S)
    assert re.search(re.escape(second.file_no) + r".*?¥2\.99", rows, re.S)
    assert 'id="r-income">¥8.97<' in html


def test_a_show_running_past_its_scheduled_end_says_prices_are_regular_now(client, login, world):
    go_live(world)
    db.session.execute(update(Show).where(Show.id == world.show.id).values(
        starts_at=utcnow() - timedelta(hours=2), ends_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert "scheduled time is over: purchases are at the regular price now" in main_html(
        client.get(f"/shows/{world.show.id}"))
    login(world.buyer)
    give_address(client, world)
    line = db.session.query(OrderLine).one()
    assert (line.livestream_id, line.unit_price_fen) == (None, 3980)
    assert db.session.get(LineupItem, world.show.items[0].id).sold == 0
