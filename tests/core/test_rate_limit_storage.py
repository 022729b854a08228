"""The in-process rate-limit storage counts as limits' MemoryStorage does, without a
timer thread per hit, and still forgets the keys whose window has passed."""
import threading

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from marketplace.core.rate_limit_storage import InlineMemoryStorage


def test_limits_hold_and_no_thread_is_started_per_hit():
    storage = storage_from_string("inline-memory://")
    assert isinstance(storage, InlineMemoryStorage)
    limiter, three = FixedWindowRateLimiter(storage), parse("3 per minute")
    threads = threading.active_count()
    answers = [limiter.hit(three, "10.0.0.1") for _ in range(4)]
    assert answers == [True, True, True, False]
    assert limiter.hit(three, "10.0.0.2")  # another client counts on its own
    assert threading.active_count() <= threads


def test_expired_keys_are_dropped_by_a_later_hit():
    storage = InlineMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    limiter.hit(parse("5 per minute"), "gone")
    gone = next(key for key in storage.storage if "gone" in key)
    storage.expirations[gone] = 0  # its window has passed
    storage._next_sweep = 0  # and a sweep is due
    limiter.hit(parse("5 per minute"), "other")
    assert gone not in storage.storage and gone not in storage.expirations


def test_the_app_counts_in_it_when_redis_is_not_configured(app):
    from marketplace.extensions import limiter

    with app.app_context():
        assert isinstance(limiter.storage, InlineMemoryStorage)
