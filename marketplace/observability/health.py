"""Readiness: can this process serve? The database answers, and Redis too when it is
configured (live rooms across processes, rate limits and jobs depend on it).
A load balancer stops sending traffic to a process whose /readyz says 503."""
from flask import current_app
from sqlalchemy import text

from ..extensions import db

REDIS_TIMEOUT_SECONDS = 2


def database_state() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "up"
    except Exception:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
        return "down"


def redis_state() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not configured"
    try:
        return "up" if _client(url).ping() else "down"
    except Exception:  # noqa: BLE001 - refused, timed out, wrong password ... all mean not ready
        return "down"


def _client(url):
    client = current_app.extensions.get("readyz_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        current_app.extensions["readyz_redis"] = client
    return client


def readiness() -> tuple[dict, int]:
    checks = {"database": database_state(), "redis": redis_state()}
    ready = all(state in ("up", "not configured") for state in checks.values())
    return {"status": "ok" if ready else "unavailable", **checks}, 200 if ready else 503
