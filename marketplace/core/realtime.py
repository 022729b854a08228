"""Fan-out of live-room messages to the connections of this process, and between
processes through Redis pub/sub when REDIS_URL is set.

Messages are dicts; subscribers wait on a channel with a timeout. With Redis,
publish goes to Redis and one listener thread per process hands what arrives to
the local subscribers. If Redis goes away, publishing falls back to this process
(and says so in the log) and the listener reconnects on its own, then tells every
stream here to read what it missed from the database (RESYNC, see stream.py).

Under gunicorn's gevent workers `threading` is monkey-patched, so the listener and
counter "threads" are greenlets and a subscriber's wait parks only its own stream.
"""
import json
import logging
import os
import threading
import time
import uuid
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

    def local_count(self, channel) -> int:
        with self._lock:
            return len(self._subs.get(channel, ()))

    def count(self, channel) -> int:
        """Subscribers of the channel (viewers of a room) in every process."""
        return self.local_count(channel)

    def deliver_local(self, channel, message):
        with self._lock:
            targets = list(self._subs.get(channel, ()))
        for sub in targets:
            sub.deliver(message)

    def deliver_everywhere(self, message):
        """To every subscriber of every channel in this process."""
        with self._lock:
            targets = [sub for subs in self._subs.values() for sub in subs]
        for sub in targets:
            sub.deliver(message)

    def publish(self, channel, message):
        self.deliver_local(channel, message)


#: handed to every stream of this process when its Redis listener is back after losing its
#: connection: what was published meanwhile never reached this process, so each stream
#: reads what it missed from the database at once, rather than when the room's next event
#: shows it a gap (which in a quiet room may be never)
RESYNC = {"type": "resync"}
#: handed to every stream of this process when its Redis listener loses its connection: pins,
#: chat and stock from the other processes cannot arrive until it is back, so viewers are told
#: their room may lag (and RESYNC, later, brings what they missed)
DELAYED = {"type": "delayed"}


class RedisBroker(LocalBroker):
    COUNT_EVERY = 2.0  #: seconds between this process's reports of its subscriber counts
    COUNT_TTL = 10.0  #: a process that has not reported for this long (stopped, crashed) no longer counts

    def __init__(self, url: str):
        super().__init__()
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        # pub/sub channels belong to the whole Redis server, not to its numbered database:
        # the prefix keeps two sites (or test runs) sharing a server out of each other's rooms
        self.prefix = f"db{self.redis.connection_pool.connection_kwargs.get('db', 0)}:"
        self.process_key = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._others = {}  # channel -> subscribers in the other processes, as of the last report
        self._asked = {}  # channel -> when count() was last asked (a room with no viewer here yet)
        self.degraded = False
        threading.Thread(target=self._listen_forever, name="redis-listener", daemon=True).start()
        threading.Thread(target=self._count_forever, name="redis-counter", daemon=True).start()

    def publish(self, channel, message):
        try:
            self.redis.publish(self.prefix + channel, json.dumps(message))
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
        delay, lost = 0.5, False
        while True:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self.prefix + "live:*")
                if lost:
                    log.warning("Redis listener is back: live rooms here catch up from the database")
                    self.deliver_everywhere(RESYNC)
                delay, lost = 0.5, False
                for item in pubsub.listen():
                    if item.get("type") == "pmessage":
                        channel = item["channel"].decode()[len(self.prefix):]
                        self.deliver_local(channel, json.loads(item["data"]))
            except Exception as err:  # noqa: BLE001 - reconnect whatever went wrong
                if not lost:
                    self.deliver_everywhere(DELAYED)
                lost = True
                log.warning("Redis listener lost its connection (%s); retrying in %.1fs", err, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10)

    # --- viewers in every process -------------------------------------------------------

    def count(self, channel) -> int:
        """This process's subscribers now, plus the other processes' as they last reported
        (at most COUNT_EVERY seconds old); only this process's while Redis is away."""
        others = self._others.get(channel)
        if others is None:
            with self._lock:
                self._asked[channel] = time.monotonic()  # counted from the next report on
        return self.local_count(channel) + (others or 0)

    def _count_forever(self):
        while True:
            time.sleep(self.COUNT_EVERY)
            try:
                self._others = self._exchange_counts()
            except Exception:  # noqa: BLE001 - Redis away: the count falls back to this process's
                self._others = {}

    def _exchange_counts(self) -> dict:
        """Write this process's count of every room it serves (or was asked about) into
        the room's Redis hash, and read the other processes' fresh counts back."""
        now_mono, now = time.monotonic(), time.time()
        with self._lock:
            mine = {channel: len(subs) for channel, subs in self._subs.items()}
            self._asked = {c: t for c, t in self._asked.items() if now_mono - t < 60}
            asked = set(self._asked)
        channels = sorted(set(mine) | asked | set(self._others))
        pipe = self.redis.pipeline(transaction=False)
        for channel in channels:
            key = f"{self.prefix}viewers:{channel}"
            pipe.hset(key, self.process_key, f"{mine.get(channel, 0)} {now:.0f}")
            pipe.expire(key, int(self.COUNT_TTL * 3))
            pipe.hgetall(key)
        replies = pipe.execute()[2::3]
        return {channel: _fresh_sum(reply, self.process_key, now - self.COUNT_TTL)
                for channel, reply in zip(channels, replies) if mine.get(channel) or channel in asked}


def _fresh_sum(reply: dict, own_key: str, oldest: float) -> int:
    total = 0
    for field, value in reply.items():
        count, _, stamp = value.decode().partition(" ")
        if field.decode() != own_key and float(stamp or 0) >= oldest:
            total += int(count)
    return total


def make_broker(redis_url: str | None):
    return RedisBroker(redis_url) if redis_url else LocalBroker()
