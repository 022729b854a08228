"""Behind the reverse proxy (PROXY_FIX) and the probes a load balancer sends (/healthz, /readyz)."""
import json

import pytest
from redis import Redis


REDIS_URL = "redis://127.0.0.1:6379/8"
VIA_PROXY = {"REMOTE_ADDR": "127.0.0.1"}  # nginx on the same host


def seen_client_address(capsys, client, **headers) -> str:
    client.get("/products", headers=headers, environ_base=VIA_PROXY)
    access = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"marketplace.access"' in line]
    return access[-1]["remote_addr"]


@pytest.fixture
def proxied(app_factory, app):
    """The app behind one proxy, logging JSON (the access line shows the client address it saw)."""
    return app_factory(PROXY_FIX="1", LOG_FORMAT="json")


def test_behind_one_proxy_the_client_address_is_the_one_the_proxy_saw(proxied, capsys):
    client = proxied.test_client()
    assert seen_client_address(capsys, client, **{"X-Forwarded-For": "198.51.100.7"}) == "198.51.100.7"
    # a client that sends its own X-Forwarded-For cannot choose its address: nginx appends the real one
    forged = {"X-Forwarded-For": "10.0.0.1, 198.51.100.7"}
    assert seen_client_address(capsys, client, **forged) == "198.51.100.7"


def test_behind_a_proxy_metrics_are_closed_to_outside_clients(proxied):
    client = proxied.test_client()
    outside = client.get("/metrics", environ_base=VIA_PROXY, headers={"X-Forwarded-For": "198.51.100.7"})
    assert outside.status_code == 403  # without PROXY_FIX every request through nginx would look like loopback
    assert client.get("/metrics", environ_base=VIA_PROXY).status_code == 200  # the scraper on the host itself


def test_behind_a_proxy_links_use_the_public_scheme_and_host(proxied, make):
    product_id = make.product().id
    public = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "market.example.org"}
    response = proxied.test_client().get(f"/api/v1/products/{product_id}", headers=public, environ_base=VIA_PROXY)
    assert response.get_json()["url"] == f"https://market.example.org/products/{product_id}"


def test_without_proxy_fix_forwarded_headers_are_ignored(app_factory, app, make, capsys):
    client = app_factory(LOG_FORMAT="json").test_client()
    assert seen_client_address(capsys, client, **{"X-Forwarded-For": "198.51.100.7"}) == "127.0.0.1"
    product_id = make.product().id
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    url = client.get(f"/api/v1/products/{product_id}", headers=forged).get_json()["url"]
    assert url == f"http://localhost/products/{product_id}"


@pytest.mark.parametrize("value", ["two", "-1", "9"])
def test_a_wrong_proxy_count_stops_the_app_with_a_clear_message(app_factory, value):
    with pytest.raises(RuntimeError, match="PROXY_FIX"):
        app_factory(PROXY_FIX=value)


def test_healthz_needs_nothing_but_the_process(app_factory, app):
    broken = app_factory(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert broken.test_client().get("/healthz").get_json() == {"status": "ok"}


def test_readyz_is_503_when_the_database_is_down(app_factory, app):
    broken = app_factory(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "down", "redis": "not configured"}


def test_readyz_checks_redis_when_it_is_configured(app_factory, app):
    with_redis = app_factory(REDIS_URL=REDIS_URL)
    client = with_redis.test_client()
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "up", "redis": "up"}
    with_redis.extensions["readyz_redis"] = Redis.from_url("redis://127.0.0.1:1/8", socket_connect_timeout=1)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["redis"] == "down"
    assert response.get_json()["database"] == "up"


def test_readyz_without_redis_configured_says_so(client):
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "up", "redis": "not configured"}


def test_with_redis_down_logins_still_answer_and_readyz_tells_the_balancer(app_factory, app, make):
    user = make.user()
    down = app_factory(REDIS_URL="redis://127.0.0.1:1/8", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/8")
    client = down.test_client()
    response = client.post("/login", data={"email": user.email, "password": "wrong-password-123"})
    assert response.status_code == 200 and "Email or password is wrong" in response.get_data(as_text=True)  # no 500
    assert client.get("/readyz").status_code == 503
