"""Parts of the process-model benchmark: live-room viewers holding event streams open,
a publisher fanning messages out to them through Redis, and a worker memory sampler.

Viewers are raw non-blocking sockets in one selector thread (a few hundred bytes of
state each), sending the request an EventSource sends. The publisher puts a `viewers`
message on the show's Redis channel every so often, stamped with time.monotonic();
every stream forwards it (the app sends `viewers` messages on as they come, without a
database read), so the time from publish to arrival at each viewer is the fan-out
latency of the server under test, the same way a pin's would be.
"""
import json
import re
import selectors
import socket
import threading
import time

import psutil

SENT = re.compile(rb'"sent": ([0-9]+\.[0-9]+)')
TAIL = 64  #: bytes kept from the previous read, so a stamp split across two reads is still seen


class _Viewer:
    __slots__ = ("sock", "buffer", "status", "last_sent")

    def __init__(self, sock):
        self.sock, self.buffer, self.status, self.last_sent = sock, b"", None, 0.0


class Crowd(threading.Thread):
    """`count` viewers of `path` on 127.0.0.1:`port`, connecting at `rate` per second."""

    def __init__(self, port, path, count, rate=250.0):
        super().__init__(daemon=True, name="viewers")
        self.port, self.count, self.rate = port, count, rate
        self.request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                        "Cache-Control: no-cache\r\nUser-Agent: bench-viewer\r\n\r\n").encode()
        self.selector = selectors.DefaultSelector()
        self.viewers: list[_Viewer] = []
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.latencies: list[float] = []  #: seconds from publish to arrival, one per viewer per message
        self.failed = 0

    def streaming(self) -> int:
        """Viewers whose stream began (status 200 received)."""
        return sum(1 for v in self.viewers if v.status == 200)

    def take_latencies(self) -> list[float]:
        with self.lock:
            taken, self.latencies = self.latencies, []
        return taken

    def run(self):
        next_connect, interval = time.monotonic(), 1.0 / self.rate
        while not self.stop_event.is_set():
            while len(self.viewers) + self.failed < self.count and time.monotonic() >= next_connect:
                self._connect()
                next_connect += interval
            for key, _mask in self.selector.select(timeout=0.05):
                self._read(key.data)
        for viewer in self.viewers:
            viewer.sock.close()
        self.selector.close()

    def _connect(self):
        sock = socket.socket()
        try:
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(self.request)
        except OSError:
            sock.close()
            self.failed += 1
            return
        sock.setblocking(False)
        viewer = _Viewer(sock)
        self.viewers.append(viewer)
        self.selector.register(sock, selectors.EVENT_READ, viewer)

    def _read(self, viewer):
        try:
            data = viewer.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(viewer.sock)
            viewer.status = viewer.status if viewer.status == 200 else -1
            return
        now = time.monotonic()
        buffer = viewer.buffer + data
        if viewer.status is None and buffer.startswith(b"HTTP/1."):
            viewer.status = int(buffer[9:12])
        for match in SENT.finditer(buffer):
            sent = float(match.group(1))
            if sent > viewer.last_sent:
                viewer.last_sent = sent
                with self.lock:
                    self.latencies.append(now - sent)
        viewer.buffer = buffer[-TAIL:]

    def stop(self):
        self.stop_event.set()
        self.join(30)


class Publisher(threading.Thread):
    """Publishes a stamped `viewers` message on the show's channel `per_second` times a second."""

    def __init__(self, redis_url, show_id, per_second=2.0):
        super().__init__(daemon=True, name="publisher")
        import redis

        self.redis = redis.Redis.from_url(redis_url)
        # the app's RedisBroker prefixes its channels with the Redis database number
        prefix = f"db{self.redis.connection_pool.connection_kwargs.get('db', 0)}:"
        self.channel, self.interval = f"{prefix}live:show:{show_id}", 1.0 / per_second
        self.stop_event, self.published = threading.Event(), 0

    def run(self):
        while not self.stop_event.wait(self.interval):
            message = {"type": "viewers", "data": {"count": 0, "sent": round(time.monotonic(), 6)}}
            self.redis.publish(self.channel, json.dumps(message))
            self.published += 1

    def stop(self):
        self.stop_event.set()
        self.join(10)
        self.redis.close()


class MemorySampler(threading.Thread):
    """Peak resident memory (MB) of any worker of the given gunicorn masters."""

    def __init__(self, master_pids, every=0.5):
        super().__init__(daemon=True, name="memory")
        self.masters = [psutil.Process(pid) for pid in master_pids]
        self.every, self.peak_mb = every, 0.0
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.wait(self.every):
            for master in self.masters:
                try:
                    children = master.children()
                    for worker in children:
                        self.peak_mb = max(self.peak_mb, worker.memory_info().rss / 2**20)
                except psutil.Error:
                    pass

    def stop(self):
        self.stop_event.set()
        self.join(5)


def percentile(values, pct):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]
