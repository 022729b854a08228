"""Fan-out of live-room messages to the connections of this process, and between
processes through Redis pub/sub when REDIS_URL is set.

Messages are dicts; subscribers wait on a channel with a timeout. With Redis,
publish goes to Redis and one listener thread per process hands what arrives to
the local subscribers. If Redis goes away, publishing falls back to this process
(and says so in the log) and the listener reconnects on its own.
"""
import json
import logging
import threading
import time
from collections import defaultdict, deque

log = logging.getLogger("marketplace.realtime")


class Subscription:
    def __init__(self, broker, channel):
        self.broker, self.channel = broker, channel
        self.queue = deque(maxlen=1000)  # a viewer this far behind catches up from the database
        self.ready = threading.Event()

    def deliver(self, message):
        self.queue.append(message)
        self.ready.set()

    def wait(self, timeout: float) -> list:
        self.ready.wait(timeout)
        self.ready.clear()
        out = []
        while self.queue:
            out.append(self.queue.popleft())
        return out

    def close(self):
        self.broker._unsubscribe(self)


class LocalBroker:
    """In-process fan-out: the default, and the fallback when Redis is down."""

    def __init__(self):
        self._subs = defaultdict(set)
        self._lock = threading.Lock()

    def subscribe(self, channel) -> Subscription:
        sub = Subscription(self, channel)
        with self._lock:
            self._subs[channel].add(sub)
        return sub

    def _unsubscribe(self, sub):
        with self._lock:
            self._subs[sub.channel].discard(sub)
            if not self._subs[sub.channel]:
                del self._subs[sub.channel]

    def count(self, channel) -> int:
        with self._lock:
            return len(self._subs.get(channel, ()))

    def deliver_local(self, channel, message):
        with self._lock:
            targets = list(self._subs.get(channel, ()))
        for sub in targets:
            sub.deliver(message)

    def publish(self, channel, message):
        self.deliver_local(channel, message)


class RedisBroker(LocalBroker):
    PATTERN = "live:*"

    def __init__(self, url: str):
        super().__init__()
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self.degraded = False
        threading.Thread(target=self._listen_forever, name="redis-listener", daemon=True).start()

    def publish(self, channel, message):
        try:
            self.redis.publish(channel, json.dumps(message))
            self._recovered()
        except Exception as err:  # noqa: BLE001 - any Redis failure: keep the room working here
            if not self.degraded:
                log.warning("Redis unavailable (%s): live rooms fan out in this process only", err)
            self.degraded = True
            self.deliver_local(channel, message)

    def _recovered(self):
        if self.degraded:
            log.warning("Redis is back: live rooms fan out across processes again")
        self.degraded = False

    def _listen_forever(self):
        delay = 0.5
        while True:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self.PATTERN)
                delay = 0.5
                for item in pubsub.listen():
                    if item.get("type") == "pmessage":
                        self.deliver_local(item["channel"].decode(), json.loads(item["data"]))
            except Exception as err:  # noqa: BLE001 - reconnect whatever went wrong
                log.warning("Redis listener lost its connection (%s); retrying in %.1fs", err, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10)


def make_broker(redis_url: str | None):
    return RedisBroker(redis_url) if redis_url else LocalBroker()
