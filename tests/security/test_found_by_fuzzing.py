"""What the API fuzzing found, pinned down so it stays fixed (run these on PostgreSQL too)."""
from tests.conftest import main_html

LONG_STRONG = "mountain honey from the Qinling slopes, " * 2 + "harvested by hand in 2026"  # 105 characters


def test_a_password_longer_than_72_characters_is_judged_not_a_server_error(api, client):
    """zxcvbn raises for passwords past 72 characters; the policy allows up to 128."""
    assert 72 < len(LONG_STRONG) <= 128
    created = api("post", "/auth/signup", json={"email": "long@example.com", "password": LONG_STRONG,
                                                "display_name": "Long"})
    assert created.status_code == 201
    weak = api("post", "/auth/signup", json={"email": "weak@example.com", "password": "a" * 100,
                                             "display_name": "Weak"})
    assert weak.status_code == 422 and weak.get_json()["error"]["code"] == "weak_password"
    page = client.post("/signup", data={"display_name": "Web", "email": "web@example.com", "password": "b" * 100})
    assert page.status_code == 422 and "too common or easy to guess" in main_html(page)


def test_the_room_event_stream_is_documented_event_by_event(client):
    document = client.get("/api/v1/openapi.json").get_json()
    answer = document["paths"]["/api/v1/livestreams/{show_id}/events"]["get"]["responses"]["200"]
    event = answer["content"]["text/event-stream"]["schema"]
    assert event["type"] == "object" and event["required"] == ["data"]
    assert set(event["properties"]["event"]["enum"]) == {"pin", "stock", "chat", "status", "viewers", "connection"}


def test_a_price_filter_beyond_32_bits_is_ignored_not_a_server_error(api, client):
    """PostgreSQL refuses to compare an integer column with a larger number (a 500 there)."""
    huge = 2**31 + 12345
    assert api("get", f"/products?min_price_fen={huge}").status_code == 200
    assert client.get(f"/products?min_price_fen={huge}").status_code == 200
    assert client.get(f"/products?cooperative_id={huge}").status_code == 200
