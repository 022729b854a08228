"""Rate limits with REDIS_URL are counted in Redis, so a client cannot multiply its
allowance by reaching several app processes. Two gunicorn processes, production
configuration; without Redis each process counts on its own (the control)."""
import pytest
import requests
from redis import Redis

from tests.jobs.servers import app_environment, gunicorns

LOGIN_LIMIT = 10  #: per minute: LOGIN_RATE_LIMIT = "10 per minute; 50 per hour"


def login_attempts(urls, count) -> list[int]:
    """Wrong-password API logins, alternating between the servers."""
    return [requests.post(urls[i % len(urls)] + "/api/v1/auth/tokens", timeout=10,
                          json={"email": "nobody@example.com", "password": "wrong-password-1"}).status_code
            for i in range(count)]


@pytest.fixture
def clean_limits(redis_url):
    client = Redis.from_url(redis_url)

    def clear():
        for key in client.scan_iter("LIMITS:*"):
            client.delete(key)
    clear()
    yield
    clear()
    client.close()


def test_login_limit_is_shared_by_two_processes_through_redis(app, _schema, tmp_path, redis_url, clean_limits):
    env = app_environment(_schema, tmp_path, REDIS_URL=redis_url)
    with gunicorns(env, tmp_path) as urls:
        statuses = login_attempts(urls, LOGIN_LIMIT + 2)
    assert 429 not in statuses[:LOGIN_LIMIT], statuses
    assert statuses[LOGIN_LIMIT:] == [429, 429]  # the 11th attempt, on either process, is refused


def test_without_redis_each_process_counts_alone(app, _schema, tmp_path):
    env = app_environment(_schema, tmp_path)
    with gunicorns(env, tmp_path) as urls:
        statuses = login_attempts(urls, LOGIN_LIMIT + 2)
    assert 429 not in statuses, statuses  # 6 attempts on each: under each one's own limit
