"""Staff assigned to counties act on those counties' cooperatives only: their
applications, private details, orders and refunds, as they see only those counties'
households. Another county's cooperative or order is a 404 and stays as it was;
programme-level staff (no assignment) act everywhere."""
from marketplace.extensions import db
from marketplace.monitoring.models import StaffAssignment, StaffLevel
from marketplace.orders.models import Order, OrderStatus
from tests.conftest import PASSWORD
from tests.orders.helpers import place_and_pay


def county_staff(make, county):
    user = make.staff()
    db.session.add(StaffAssignment(user_id=user.id, county=county, level=StaffLevel.county))
    db.session.commit()
    return user


def test_county_staff_decide_on_their_countys_applications_only(api, make):
    mine, other = make.coop(status="pending", county="Zhashui"), make.coop(status="pending", county="Yanggao")
    staff = county_staff(make, "Zhashui")
    refused = api("post", f"/cooperatives/{other.id}/verify", user=staff)
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_found"
    assert api("get", f"/cooperatives/{other.id}", user=staff).status_code == 404  # pending: not public
    db.session.refresh(other)
    assert other.status.value == "pending"
    assert api("post", f"/cooperatives/{mine.id}/verify", user=staff).get_json()["status"] == "verified"
    assert api("post", f"/cooperatives/{other.id}/verify", user=make.staff()).status_code == 200  # programme level


def test_county_staff_see_only_their_countys_private_details(api, make):
    other = make.coop(county="Yanggao")
    public = api("get", f"/cooperatives/{other.id}", user=county_staff(make, "Zhashui")).get_json()
    assert "registration_no" not in public
    private = api("get", f"/cooperatives/{other.id}", user=make.staff()).get_json()
    assert private["registration_no"] == other.registration_no


def test_the_staff_review_list_shows_their_countys_applications(client, login, make):
    make.coop(status="pending", county="Zhashui", name="Qinling Fungus Co-op")
    make.coop(status="pending", county="Yanggao", name="Datong Lily Co-op")
    login(county_staff(make, "Zhashui"))
    page = client.get("/staff/cooperatives?status=pending").get_data(as_text=True)
    assert "Qinling Fungus Co-op" in page and "Datong Lily Co-op" not in page


def test_county_staff_cannot_see_or_refund_another_countys_order(api, make):
    product = make.product(coop=make.coop(county="Yanggao"), stock=5)
    paid = place_and_pay(api, make.user(), (product, 2))
    order_id = paid["orders"][0]["id"]
    whole = {"amount_fen": paid["orders"][0]["subtotal_fen"], "reason": "asked by the buyer"}
    staff = county_staff(make, "Zhashui")
    assert api("get", f"/orders/{order_id}", user=staff).status_code == 404
    refused = api("post", f"/orders/{order_id}/refunds", user=staff, json=whole)
    assert refused.status_code == 404
    order = db.session.get(Order, order_id)
    db.session.refresh(order)
    assert order.status == OrderStatus.paid and order.refunded_fen == 0
    local = county_staff(make, "Yanggao")
    assert api("get", f"/orders/{order_id}", user=local).status_code == 200
    refunded = api("post", f"/orders/{order_id}/refunds", user=local, json=whole)
    assert refunded.status_code == 201, refunded.get_json()
    db.session.refresh(order)
    assert order.status == OrderStatus.refunded


def test_county_staff_see_drafts_of_their_countys_cooperatives_only(api, make):
    draft = make.product(coop=make.coop(county="Yanggao"), status="draft", title="Unlisted day lilies")
    assert api("get", f"/products/{draft.id}", user=county_staff(make, "Zhashui")).status_code == 404
    seen = api("get", f"/products/{draft.id}", user=county_staff(make, "Yanggao"))
    assert seen.status_code == 200 and seen.get_json()["title"] == "Unlisted day lilies"


def test_a_hidden_cooperatives_show_is_seen_by_its_countys_staff_only(app, api, make):
    from marketplace.coops.services import decide
    from tests.livestream.test_sse import events_of, read
    from tests.livestream.test_views import new_show

    coop = make.coop(county="Yanggao")
    show = new_show(coop, title="Day lily harvest live")
    decide(make.staff(), coop, "suspend", "paperwork missing")
    db.session.commit()
    for county, status in [("Yanggao", 200), ("Zhashui", 404)]:
        staff = app.test_client()
        user = county_staff(make, county)
        assert staff.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
        page = staff.get(f"/shows/{show.id}")
        assert page.status_code == status, county
        assert ("Day lily harvest live" in page.get_data(as_text=True)) == (status == 200)
        assert api("get", f"/livestreams/{show.id}", user=user).status_code == status
        response, text = read(staff, show.id)
        assert response.status_code == status and bool(events_of(text)) == (status == 200), county
    assert read(app.test_client(), show.id)[0].status_code == 404  # and nobody else
