"""The yardstick of the live benchmark: the smallest Flask app that does the live
room's fan-out job, served by the same gunicorn gevent settings as the real app.

`GET /events` streams Server-Sent Events; `POST /pin` publishes a pin card of the same
size as the real one to Redis, and one listener per process hands it to that process's
streams. No database, no room state, no catch-up: what is left is Flask, gevent, Redis
pub/sub and the sockets, so the real app's figures beside these show what the room's
own work costs.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/3 gunicorn -k gevent bench.live_bare_app:app
"""
import json
import os
import threading
from collections import deque

import redis
from flask import Flask, Response

CHANNEL = "bench:bare:pin"
CARD = {"product_id": 1, "title": "Black wood-ear, flash sale", "unit": "500 g bag", "price_fen": 3980,
        "live_price_fen": 2990, "remaining": 100, "per_buyer_limit": 1,
        "image_urls": {"thumb": "/media/x-thumb.webp", "medium": "/media/x-medium.webp",
                       "large": "/media/x-large.webp"}}

app = Flask(__name__)
_redis = redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"))
_streams: set = set()
_lock = threading.Lock()


class _Stream:
    def __init__(self):
        self.queue, self.ready = deque(maxlen=1000), threading.Event()

    def wait(self, timeout):
        self.ready.wait(timeout)
        self.ready.clear()
        out = list(self.queue)
        self.queue.clear()
        return out


def _listen():
    pubsub = _redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANNEL)
    for item in pubsub.listen():
        text = item["data"].decode()
        with _lock:
            targets = list(_streams)
        for stream in targets:
            stream.queue.append(text)
            stream.ready.set()


threading.Thread(target=_listen, daemon=True).start()  # in each worker: gunicorn imports the app after fork


@app.get("/events")
def events():
    def generate():
        stream = _Stream()
        with _lock:
            _streams.add(stream)
        try:
            yield "retry: 3000\n\n"
            while True:
                texts = stream.wait(15)
                yield "".join(texts) if texts else ": keepalive\n\n"
        finally:
            with _lock:
                _streams.discard(stream)

    return Response(generate(), mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})


@app.post("/pin")
def pin():
    seq = _redis.incr("bench:bare:seq")
    _redis.publish(CHANNEL, f"id: {seq}\nevent: pin\ndata: {json.dumps(CARD, ensure_ascii=False)}\n\n")
    return {"id": seq}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
