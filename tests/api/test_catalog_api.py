"""The catalog, cooperative and auth parts of API.md, and the error contract."""
import io

import pytest

from marketplace.catalog.models import Product
from marketplace.coops.models import CoopStatus, Cooperative
from marketplace.extensions import db
from tests.conftest import PASSWORD, jpeg_bytes, owner_of

NEW_PRODUCT = {"title": "Datong day lily", "category": "dried_vegetables", "unit": "500 g bag",
               "price_fen": 4580, "stock": 100, "status": "active", "surplus": True}


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


def test_token_lifecycle(api, client, make):
    user = make.user()
    response = api("post", "/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert response.get_json()["expires_at"].endswith("+00:00")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).get_json()["email"] == user.email
    assert client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and error_of(response)["code"] == "invalid_token"


def test_bad_credentials_are_401_with_the_error_shape(api, make):
    user = make.user()
    response = api("post", "/auth/tokens", json={"email": user.email, "password": "wrong"})
    assert response.status_code == 401 and error_of(response)["code"] == "invalid_credentials"


def test_signup_makes_a_buyer(api):
    response = api("post", "/auth/signup", json={"email": "b@example.com", "password": PASSWORD, "display_name": "B"})
    assert response.status_code == 201 and response.get_json()["role"] == "buyer"
    response = api("post", "/auth/signup", json={"email": "b@example.com", "password": PASSWORD, "display_name": "B"})
    assert response.status_code == 409 and error_of(response)["code"] == "email_taken"


@pytest.mark.parametrize("body,status", [
    ("not json", 400), ("[]", 422), ('{"email": 5, "password": []}', 422), ("{}", 422),
    ('{"email": "a@example.com", "password": "x", "extra": 1}', 422),
])
def test_malformed_bodies_get_4xx_not_500(client, body, status):
    response = client.post("/api/v1/auth/tokens", data=body, content_type="application/json")
    assert response.status_code == status
    error_of(response)


def test_product_list_item_shape(api, make):
    product = make.product(title="Black wood-ear", price_fen=3980)
    item = api("get", "/products").get_json()["items"][0]
    assert {"id", "url", "title", "price_fen", "currency", "stock", "unit", "category", "cooperative",
            "surplus", "image_urls"} <= set(item)
    assert item["url"].endswith(f"/products/{product.id}")
    assert (item["price_fen"], item["currency"]) == (3980, "CNY")
    assert set(item["cooperative"]) == {"id", "name", "province"}


def test_member_creates_patches_and_adds_a_photo(api, make):
    coop = make.coop()
    owner = owner_of(coop)
    response = api("post", f"/cooperatives/{coop.id}/products", user=owner, json=NEW_PRODUCT)
    assert response.status_code == 201, response.get_json()
    product_id = response.get_json()["id"]
    response = api("patch", f"/products/{product_id}", user=owner, json={"price_fen": 3990, "stock": 5})
    assert (response.get_json()["price_fen"], response.get_json()["stock"]) == (3990, 5)
    response = api("post", f"/products/{product_id}/images", user=owner,
                   data={"file": (io.BytesIO(jpeg_bytes()), "photo.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["medium"].endswith("-medium.webp")
    assert api("get", f"/products/{product_id}").get_json()["image_urls"]["thumb"].endswith("-thumb.webp")


@pytest.mark.parametrize("change,status", [
    ({"price_fen": 0}, 422), ({"price_fen": 1_000_000_000}, 422), ({"price_fen": 12.5}, 422),
    ({"price_fen": "12"}, 422), ({"stock": -1}, 422), ({"title": ""}, 422), ({"category": "x"}, 422),
    ({"status": "sold"}, 422), ({"title": "x" * 121}, 422),
])
def test_bad_product_values_are_422_and_change_nothing(api, make, change, status):
    coop = make.coop()
    product = make.product(coop, price_fen=1000, stock=5)
    response = api("patch", f"/products/{product.id}", user=owner_of(coop), json=change)
    assert response.status_code == status
    error_of(response)
    assert (db.session.get(Product, product.id).price_fen, db.session.get(Product, product.id).stock) == (1000, 5)


def test_another_cooperative_cannot_touch_a_product(api, make):
    product = make.product(price_fen=1000)
    stranger = owner_of(make.coop())
    assert api("patch", f"/products/{product.id}", user=stranger, json={"price_fen": 1}).status_code == 404
    assert api("post", f"/cooperatives/{product.cooperative_id}/products", user=stranger,
               json=NEW_PRODUCT).status_code == 403
    response = api("post", f"/products/{product.id}/images", user=stranger,
                   data={"file": (io.BytesIO(jpeg_bytes()), "p.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 404
    assert db.session.get(Product, product.id).price_fen == 1000


def test_writes_need_a_token(api, make):
    product = make.product()
    response = api("patch", f"/products/{product.id}", json={"price_fen": 1})
    assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"


def test_fake_image_upload_is_422(api, make):
    coop = make.coop()
    product = make.product(coop)
    response = api("post", f"/products/{product.id}/images", user=owner_of(coop),
                   data={"file": (io.BytesIO(b"MZ\x90\x00 not an image"), "a.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 422 and error_of(response)["code"] == "invalid_image"
    response = api("post", f"/products/{product.id}/images", user=owner_of(coop), data={},
                   content_type="multipart/form-data")
    assert response.status_code == 422


def test_cooperative_application_and_staff_decisions(api, make):
    applicant, staff = make.user(), make.staff()
    body = {"name": "Helan Wine Cooperative", "province": "宁夏", "county": "Yongning", "village": "Minning",
            "registration_no": "93640121MA76HL0003", "story": "Vineyards in the desert"}
    response = api("post", "/cooperatives", user=applicant, json=body)
    assert response.status_code == 201 and response.get_json()["status"] == "pending"
    coop_id = response.get_json()["id"]
    assert response.get_json()["province"] == "Ningxia"
    assert api("post", f"/cooperatives/{coop_id}/verify", user=applicant).status_code == 403
    assert api("post", f"/cooperatives/{coop_id}/reject", user=staff, json={}).status_code == 422
    assert api("post", f"/cooperatives/{coop_id}/verify", user=staff).get_json()["status"] == "verified"
    assert api("post", f"/cooperatives/{coop_id}/reject", user=staff, json={"reason": "late"}).status_code == 409
    assert api("post", f"/cooperatives/{coop_id}/suspend", user=staff).get_json()["status"] == "suspended"
    assert db.session.get(Cooperative, coop_id).status == CoopStatus.suspended


def test_owner_adds_members_by_email(api, make):
    coop = make.coop()
    make.user(email="host@example.com")
    response = api("post", f"/cooperatives/{coop.id}/members", user=owner_of(coop),
                   json={"email": "host@example.com", "role": "host"})
    assert response.status_code == 201 and response.get_json()["status"] == "member"
    response = api("post", f"/cooperatives/{coop.id}/members", user=owner_of(coop),
                   json={"email": "later@example.com", "role": "manager"})
    assert response.get_json()["status"] == "invited"
    response = api("post", f"/cooperatives/{coop.id}/members", user=owner_of(coop),
                   json={"email": "x@example.com", "role": "owner"})
    assert response.status_code == 422


def test_cooperative_list_and_detail(api, make):
    coop = make.coop(province="Shanxi")
    make.coop(status="pending")
    make.product(coop)
    body = api("get", "/cooperatives").get_json()
    assert body["total"] == 1 and body["items"][0]["product_count"] == 1
    assert "registration_no" not in api("get", f"/cooperatives/{coop.id}").get_json()
    assert api("get", "/cooperatives?province=Shanxi").get_json()["total"] == 1
    assert api("get", "/cooperatives/999999").status_code == 404


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
