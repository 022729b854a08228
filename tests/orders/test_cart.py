"""Buying through the HTML pages: the visitor's cart follows them into their account,
the address is remembered for next time, a price that changed since it went into
the cart stops the checkout with a clear message, and the demo pay page."""
from sqlalchemy import select

from marketplace.catalog.services import update_product
from marketplace.coops.models import Cooperative
from marketplace.extensions import db
from marketplace.orders.models import Address, CartItem, Checkout
from tests.conftest import main_html, owner_of
from tests.orders.helpers import ADDRESS, count, stock


def add_to_cart(client, product, quantity=1):
    response = client.post("/cart/add", data={"product_id": product.id, "quantity": quantity})
    assert response.status_code == 302
    return response


def cart_quantities(user) -> dict:
    return {i.product_id: i.quantity for i in db.session.scalars(select(CartItem).where(CartItem.user_id == user.id))}


def test_visitors_cart_joins_the_account_at_login_and_quantities_add_up(client, make, login):
    fungus, lilies = make.product(title="Wood-ear fungus"), make.product(title="Day lilies")
    buyer = make.user()
    db.session.add(CartItem(user_id=buyer.id, product_id=fungus.id, quantity=1, seen_price_fen=fungus.price_fen))
    db.session.commit()
    add_to_cart(client, fungus, 2)
    add_to_cart(client, lilies, 1)
    assert 'value="2"' in main_html(client.get("/cart"))  # the visitor's own cart
    login(buyer)
    page = main_html(client.get("/cart"))
    assert f'id="qty-{fungus.id}" name="quantity" type="number" min="1" max="999" value="3"' in page
    assert f'id="qty-{lilies.id}" name="quantity" type="number" min="1" max="999" value="1"' in page
    assert cart_quantities(buyer) == {fungus.id: 3, lilies.id: 1}
    client.get("/cart")  # merged once, not again on every page
    assert cart_quantities(buyer) == {fungus.id: 3, lilies.id: 1}


def test_bad_quantities_in_the_cart_form_are_refused(client, make, login):
    product = make.product()
    login(make.user())
    for quantity in ("0", "-1", "1000", "two", "1.5"):
        response = client.post("/cart/add", data={"product_id": product.id, "quantity": quantity},
                               follow_redirects=True)
        assert "Choose a quantity from 1 to 999." in main_html(response)
    assert count(CartItem) == 0


def test_saved_address_is_offered_and_reused_on_the_next_checkout(client, make, login):
    product = make.product(stock=10)
    buyer = make.user()
    login(buyer)
    add_to_cart(client, product, 2)
    first = client.post("/checkout", data=ADDRESS)
    assert first.status_code == 302 and "/pay" in first.headers["Location"]
    saved = db.session.scalar(select(Address).where(Address.user_id == buyer.id))
    assert saved.as_dict() == ADDRESS
    assert cart_quantities(buyer) == {}  # the cart is emptied by the checkout

    add_to_cart(client, product, 1)
    page = main_html(client.get("/checkout"))
    assert f'name="saved_address" value="{saved.id}" checked' in page
    assert ADDRESS["address"] in page
    second = client.post("/checkout", data={"saved_address": str(saved.id)})
    assert second.status_code == 302
    checkouts = db.session.scalars(select(Checkout).order_by(Checkout.id)).all()
    assert [c.shipping_address for c in checkouts] == [ADDRESS, ADDRESS]
    assert count(Address) == 1  # reused, not copied
    assert stock(product) == 7


def test_missing_address_fields_are_shown_beside_the_form_and_nothing_is_placed(client, make, login):
    product = make.product(stock=10)
    login(make.user())
    add_to_cart(client, product)
    response = client.post("/checkout", data={**ADDRESS, "phone": "", "address": ""})
    assert response.status_code == 422
    page = main_html(response)
    assert 'id="phone-err">This field is required.' in page and 'id="address-err">This field is required.' in page
    assert count(Checkout) == 0 and stock(product) == 10


def test_a_price_change_since_the_cart_stops_the_checkout_with_a_clear_message(client, make, login):
    """The cart remembers the price the buyer saw; a different price at checkout is
    never charged silently."""
    product = make.product(title="Helan Mountain wine", price_fen=9900, stock=10)
    buyer = make.user()
    login(buyer)
    add_to_cart(client, product)
    owner = owner_of(db.session.get(Cooperative, product.cooperative_id))
    update_product(owner, product, {"price_fen": 12900})
    db.session.commit()

    response = client.post("/checkout", data=ADDRESS)
    assert response.status_code == 409
    assert "The price of “Helan Mountain wine” changed. Please check your cart." in main_html(response)
    assert count(Checkout) == 0 and stock(product) == 10
    assert "The price changed from ¥99.00 to ¥129.00." in main_html(client.get("/cart"))

    client.post(f"/cart/{product.id}", data={"action": "update", "quantity": "1"})  # the buyer accepts
    assert client.post("/checkout", data=ADDRESS).status_code == 302
    assert db.session.scalar(select(Checkout.amount_fen)) == 12900


def test_demo_pay_page_says_test_mode_and_loads_no_stripe(client, make, login):
    product = make.product(stock=10, price_fen=2500)
    login(make.user())
    add_to_cart(client, product, 2)
    pay = client.get(client.post("/checkout", data=ADDRESS).headers["Location"])
    assert pay.status_code == 200
    page = main_html(pay)
    assert "TEST MODE" in page and "¥50.00" in page
    body = pay.get_data(as_text=True)
    assert "js.stripe.com" not in body and "data-client-secret" not in body
    assert "js.stripe.com" not in pay.headers["Content-Security-Policy"]

    checkout_id = db.session.scalar(select(Checkout.id))
    done = client.post(f"/checkouts/{checkout_id}/demo-pay", follow_redirects=True)
    assert "Thank you! Your payment arrived." in main_html(done)
    assert client.get(f"/checkouts/{checkout_id}/pay").status_code == 302  # paid: nothing left to pay
