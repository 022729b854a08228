"""The livestream API (API.md "Livestreams"): list, schedule, start, end, pin, chat,
reminders, the report, with every error in the error shape; clock edges; and the
report's figures against sums worked out by hand."""
from datetime import timedelta

import pytest

from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.livestream import chat, services
from marketplace.livestream.models import Reminder, Show, ShowViewer
from marketplace.orders.checkout import WantedLine, place_checkout
from marketplace.payments import services as payments
from tests.conftest import main_html, owner_of
from tests.households.test_ledger import approved_link, household
from tests.livestream.test_views import ADDRESS, go_live, new_show, world  # noqa: F401 - the fixture


def iso(minutes):
    return (utcnow() + timedelta(minutes=minutes)).isoformat()


def error(response, status, code=None):
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def test_list_filters_and_envelope(api, make, world):
    upcoming = new_show(world.coop, minutes=300, title="Later")
    go_live(world)
    other = make.coop()
    new_show(other, title="Elsewhere")
    body = api("get", "/livestreams").get_json()
    assert set(body) == {"items", "page", "per_page", "total"} and body["total"] == 3
    live = api("get", "/livestreams?status=live").get_json()["items"]
    assert [s["id"] for s in live] == [world.show.id] and live[0]["pinned_product_id"] == world.product.id
    assert live[0]["items"][0]["live_price_fen"] == 2990 and live[0]["events_url"].endswith("/events")
    mine = api("get", f"/livestreams?status=upcoming&cooperative_id={world.coop.id}").get_json()["items"]
    assert [s["id"] for s in mine] == [upcoming.id]
    assert api("get", "/livestreams?status=ended").get_json()["total"] == 0
    error(api("get", "/livestreams?status=someday"), 422)


def test_schedule_via_the_api(api, make, world):
    body = {"title": "Honey live", "starts_at": iso(300), "ends_at": iso(360), "stream_url": "https://x.example/a.m3u8",
            "items": [{"product_id": world.other.id, "live_price_fen": 1800, "quota": 5, "per_buyer_limit": None}]}
    response = api("post", f"/cooperatives/{world.coop.id}/livestreams", user=world.owner, json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "scheduled" and created["stream_kind"] == "hls" and created["items"][0]["quota"] == 5
    assert api("get", f"/livestreams/{created['id']}").get_json()["title"] == "Honey live"
    error(api("post", f"/cooperatives/{world.coop.id}/livestreams", json=body), 401)
    error(api("post", f"/cooperatives/{world.coop.id}/livestreams", user=make.user(), json=body), 403)
    body.update(starts_at=iso(900), ends_at=iso(960))  # (not overlapping the show just scheduled)
    for change, status, code in [({"starts_at": iso(-1)}, 422, "start_in_past"),
                                 ({"ends_at": iso(899)}, 422, "end_before_start"),
                                 ({"ends_at": iso(900 + 12 * 60 + 1)}, 422, "too_long"),
                                 ({"starts_at": iso(330), "ends_at": iso(400)}, 409, "overlapping_show"),
                                 ({"items": [{"product_id": make.product().id, "live_price_fen": 1, "quota": 1}]},
                                  422, "not_your_product"),
                                 ({"items": [{"product_id": world.other.id, "live_price_fen": 2001, "quota": 1}]},
                                  422, "live_price_too_high"),
                                 ({"items": [{"product_id": world.other.id, "live_price_fen": 1, "quota": 26}]},
                                  409, "quota_above_stock"),
                                 ({"title": None}, 422, None)]:
        error(api("post", f"/cooperatives/{world.coop.id}/livestreams", user=world.owner, json={**body, **change}),
              status, code)
    assert db.session.query(Show).count() == 2


def test_start_pin_chat_end_and_their_errors(api, make, world):
    path = f"/livestreams/{world.show.id}"
    stranger = owner_of(make.coop())
    error(api("post", f"{path}/start", user=stranger), 403, "not_your_cooperative")
    error(api("post", f"{path}/pin", user=world.owner, json={"product_id": world.product.id}), 409, "not_live")
    assert api("post", f"{path}/start", user=world.owner).get_json()["status"] == "live"
    error(api("post", f"{path}/start", user=world.owner), 409, "invalid_transition")
    error(api("post", f"{path}/pin", user=world.owner, json={"product_id": make.product(world.coop).id}), 422,
          "not_in_lineup")
    error(api("post", f"{path}/pin", user=world.owner, json={}), 422)
    pinned = api("post", f"{path}/pin", user=world.owner, json={"product_id": world.product.id}).get_json()
    assert pinned["pinned_product_id"] == world.product.id
    assert api("post", f"{path}/pin", user=world.owner, json={"product_id": None}).get_json()["pinned_product_id"] is None
    posted = api("post", f"{path}/chat", user=world.buyer, json={"body": "<i>hi</i>"})
    assert posted.status_code == 201 and posted.get_json()["body"] == "<i>hi</i>"
    error(api("post", f"{path}/chat", user=world.buyer, json={"body": "again"}), 429, "rate_limited")
    error(api("post", f"{path}/chat", user=make.user(), json={"body": ""}), 422, "empty_message")
    ended = api("post", f"{path}/end", user=world.owner).get_json()
    assert ended["status"] == "ended" and ended["items"][0]["quota"] == 0
    error(api("post", f"{path}/chat", user=world.buyer, json={"body": "late"}), 409, "chat_closed")
    error(api("post", "/livestreams/999/start", user=world.owner), 404, "not_found")


def test_chat_flood_is_refused_by_the_rate_limit(app, api, make, world):
    app.config["CHAT_RATE_LIMIT"] = "1 per minute"
    buyer = make.user()
    assert api("post", f"/livestreams/{world.show.id}/chat", user=buyer, json={"body": "first"}).status_code == 201
    error(api("post", f"/livestreams/{world.show.id}/chat", user=buyer, json={"body": "second"}), 429, "rate_limited")


def test_reminders_subscribe_me_once(api, world):
    path = f"/livestreams/{world.show.id}/reminders"
    error(api("post", path), 401)
    first = api("post", path, user=world.buyer)
    assert first.status_code == 201 and first.get_json()["subscribed"] is True
    assert api("post", path, user=world.buyer).status_code == 201
    assert db.session.query(Reminder).count() == 1
    go_live(world)
    error(api("post", path, user=world.buyer), 409, "not_scheduled")


def test_start_is_allowed_from_30_minutes_before_the_start(world):
    host, show = world.owner, world.show
    with pytest.raises(DomainError) as info:
        services.start(host, show, now=show.starts_at - timedelta(minutes=30, seconds=1))
    assert info.value.code == "too_early"
    services.start(host, show, now=show.starts_at - timedelta(minutes=30))
    assert show.status.value == "live" and show.started_at == show.starts_at - timedelta(minutes=30)


def test_openapi_documents_the_event_stream(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    ok = spec["paths"]["/api/v1/livestreams/{show_id}/events"]["get"]["responses"]["200"]
    assert "text/event-stream" in ok["content"]


# --- the report -----------------------------------------------------------------------------

def buy(make, show, lines, pay=True):
    buyer = make.user()
    checkout = place_checkout(buyer, [WantedLine(p.id, q, livestream_id=show.id) for p, q in lines], ADDRESS, "demo")
    payments.start_payment(checkout)
    if pay:
        payments.confirm_demo(buyer, checkout)
    db.session.commit()
    return checkout.orders[0]


def test_report_figures_equal_hand_computed_sums(api, client, login, make, world):
    h1 = household(make.staff(), 1)
    db.session.commit()
    approved_link(make, world.coop, h1.id, share_bp=1000)  # 10% of each paid line to the household
    go_live(world)
    a, b = world.product, world.other
    first = buy(make, world.show, [(a, 2)])  # 2 x 29.90 = 59.80 -> household 5.98
    second = buy(make, world.show, [(a, 1), (b, 3)])  # 29.90 + 3 x 15.00 -> 2.99 + 4.50
    buy(make, world.show, [(b, 1)], pay=False)  # unpaid: not a sale
    place_checkout(make.user(), [WantedLine(a.id, 1)], ADDRESS, "demo")  # not bought in the show
    b_line = next(line for line in second.lines if line.product_id == b.id)
    payments.refund_order(world.owner, second, lines=[{"order_line_id": b_line.id, "quantity": 2}])
    db.session.commit()  # 30.00 refunded: the household's 4.50 becomes floor(450 * 1500 / 4500) = 1.50
    db.session.add_all([ShowViewer(show_id=world.show.id, viewer_key=key) for key in ("u:1", "u:2", "s:anon")])
    world.show.peak_viewers = 3
    chat.post(make.user(), world.show, "好")
    chat.post(make.user(), world.show, "买了")
    db.session.commit()

    expected = {"peak_viewers": 3, "unique_viewers": 3, "chat_messages": 2, "orders": 2, "buyers": 2, "units": 6,
                "gmv_fen": 2 * 2990 + 2990 + 3 * 1500, "refunded_fen": 3000, "conversion": round(2 / 3, 4),
                "household_income_fen": 598 + 299 + 150}
    report = api("get", f"/livestreams/{world.show.id}/report", user=world.owner).get_json()
    assert {k: report[k] for k in expected} == expected
    per = {p["product_id"]: (p["orders"], p["units"], p["gmv_fen"]) for p in report["products"]}
    assert per == {a.id: (2, 3, 3 * 2990), b.id: (1, 3, 4500)}
    assert first.lines[0].unit_price_fen == 2990
    assert report["households"] == [{"household_id": h1.id, "file_no": h1.file_no, "village": h1.village,
                                     "income_fen": 598 + 299 + 150}]

    error(api("get", f"/livestreams/{world.show.id}/report", user=world.buyer), 404)
    assert api("get", f"/livestreams/{world.show.id}/report", user=make.staff()).status_code == 200
    login(world.owner)
    html = main_html(client.get(f"/shows/{world.show.id}/report"))
    for figure in ("¥134.70", "¥10.47", "66.7%", ">6<"):
        assert figure in html, figure
    assert html.count('class="live-chart-bar"') == 2


def test_ids_beyond_the_database_integers_are_not_found(api, world):
    huge = 2**31
    error(api("get", f"/livestreams/{huge}"), 404, "not_found")
    error(api("get", f"/livestreams/{huge}/events"), 404, "not_found")
    error(api("post", f"/livestreams/{huge}/start", user=world.owner), 404, "not_found")
    body = {"title": "Big", "starts_at": iso(900), "ends_at": iso(960), "stream_url": "https://x.example/a.m3u8"}
    error(api("post", f"/cooperatives/{huge}/livestreams", user=world.owner, json=body), 404, "not_found")
    items = [{"product_id": huge, "live_price_fen": 1, "quota": 1}]
    error(api("post", f"/cooperatives/{world.coop.id}/livestreams", user=world.owner, json={**body, "items": items}),
          422)
