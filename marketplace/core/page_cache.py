"""Whole-page cache for anonymous storefront visitors.

A GET of a storefront page (CACHED_ENDPOINTS) from a visitor without a session
cookie, remember cookie or Authorization header is served from the cache when a
fresh copy is there, else rendered and kept. The key is the full URL and the
locale (from Accept-Language: such a visitor has no stored choice). Only 200
text/html answers that set no cookie and changed no session are kept: a page with
a flash, a login or anything else per visitor never goes in.

A copy is fresh for PAGE_CACHE_SECONDS (default 5) and while the generation it was
made at is current: catalog.changes bumps the generation when a commit touches
what these pages show (products, their price or stock, photos, cooperatives, live
shows, benefit links), so this process never serves a stale price; with the
in-process backend other processes may for at most PAGE_CACHE_SECONDS, with Redis
(REDIS_URL) the generation and the pages are shared by every process.

Forms on cached pages: the product page's "Add to cart" needs a CSRF token. While
a cacheable page renders, csrf_token() writes a placeholder; the copy keeps the
placeholder and every answer gets the visitor's own token put in its place on the
way out (which starts their session, as before). PAGE_CACHE_SECONDS=0 turns the
cache off; it is off in tests unless a test turns it on.
"""
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app, g, request, request_finished, session
from flask_babel import get_locale

log = logging.getLogger("marketplace.page_cache")

#: the pages every anonymous visitor sees alike
CACHED_ENDPOINTS = frozenset({"catalog.home", "catalog.catalog", "catalog.product", "coops.index", "coops.show"})
PLACEHOLDER = "__page-cache-csrf-token__"
DEFAULT_SECONDS = 5.0
DEFAULT_MAX_BYTES = 32 * 1024 * 1024  #: in-process backend: pages kept per process, least recently used go


@dataclass
class Page:
    generation: int
    content_type: str
    body: bytes
    expires: float = 0.0  # time.monotonic(); the Redis backend lets Redis expire keys


class MemoryBackend:
    """Pages in this process, least recently used dropped beyond max_bytes."""

    def __init__(self, max_bytes=DEFAULT_MAX_BYTES):
        self.max_bytes, self.size, self.generation = max_bytes, 0, 0
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """(page or None, current generation)."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page, self.generation

    def put(self, key, page: Page, seconds: float):
        page.expires = time.monotonic() + seconds
        with self._lock:
            old = self._pages.pop(key, None)
            self.size += len(page.body) - (len(old.body) if old else 0)
            self._pages[key] = page
            while self.size > self.max_bytes and self._pages:
                self.size -= len(self._pages.popitem(last=False)[1].body)

    def bump(self):
        with self._lock:
            self.generation += 1
            self._pages.clear()
            self.size = 0


class RedisBackend:
    """Pages and the generation in Redis, shared by every process. When Redis is
    unreachable pages are simply not cached (and it is logged), never an error."""

    def __init__(self, url, prefix="marketplace:page:"):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix, self.generation_key = prefix, prefix + "generation"
        self._warned = 0.0

    def _failed(self, err):
        if time.monotonic() - self._warned > 60:  # once a minute, not once a request
            log.warning("page cache: Redis unavailable (%s); serving uncached pages", err)
            self._warned = time.monotonic()

    def get(self, key):
        import redis

        try:
            raw_generation, raw = self.redis.mget(self.generation_key, self.prefix + key)
        except redis.RedisError as err:
            self._failed(err)
            return None, None
        generation = int(raw_generation or 0)
        if raw is None:
            return None, generation
        head, content_type, body = raw.split(b"\n", 2)
        return Page(int(head), content_type.decode(), body), generation

    def put(self, key, page: Page, seconds: float):
        import redis

        value = b"%d\n%s\n" % (page.generation, page.content_type.encode()) + page.body
        try:
            self.redis.set(self.prefix + key, value, px=max(int(seconds * 1000), 1))
        except redis.RedisError as err:
            self._failed(err)

    def bump(self):
        import redis

        try:
            self.redis.incr(self.generation_key)
        except redis.RedisError as err:
            self._failed(err)


class PageCache:
    def __init__(self, backend, seconds):
        self.backend, self.seconds = backend, seconds

    def lookup(self, key):
        """(fresh page or None, generation to store a new copy under; None: do not store)."""
        page, generation = self.backend.get(key)
        if page is not None and page.generation == generation and (not page.expires or page.expires > time.monotonic()):
            return page, generation
        return None, generation

    def keep(self, key, generation, content_type, body):
        # Stored under the generation read before rendering: if a change was committed
        # meanwhile, the copy is already stale and is never served.
        self.backend.put(key, Page(generation, content_type, body), self.seconds)

    def invalidate(self):
        self.backend.bump()


def init_app(app):
    """Serve and keep anonymous storefront pages (call after the blueprints are registered)."""
    seconds = float(app.config.get("PAGE_CACHE_SECONDS", 0 if app.testing else
                                   os.environ.get("PAGE_CACHE_SECONDS") or DEFAULT_SECONDS))
    app.config["PAGE_CACHE_SECONDS"] = seconds
    if seconds <= 0:
        return
    redis_url = app.config.get("REDIS_URL")
    backend = (RedisBackend(redis_url) if redis_url
               else MemoryBackend(app.config.get("PAGE_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES)))
    app.extensions["page_cache"] = PageCache(backend, seconds)
    real_csrf_token = app.jinja_env.globals["csrf_token"]

    def csrf_token():
        return PLACEHOLDER if g.get("page_cache") else real_csrf_token()

    # Flask-WTF offers csrf_token() both ways; a later context processor wins
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
    app.before_request(_serve_from_cache)
    app.after_request(_finish_page)
    request_finished.connect(_keep_page, app)


def invalidate():
    """Every cached page of the current app is stale (catalog.changes calls this on commit)."""
    cache = current_app.extensions.get("page_cache")
    if cache is not None:
        cache.invalidate()


def _cacheable_request() -> bool:
    config = current_app.config
    return (request.method in ("GET", "HEAD") and request.endpoint in CACHED_ENDPOINTS
            and config["SESSION_COOKIE_NAME"] not in request.cookies
            and config.get("REMEMBER_COOKIE_NAME", "remember_token") not in request.cookies
            and "Authorization" not in request.headers and "lang" not in request.args)


def _serve_from_cache():
    cache = current_app.extensions["page_cache"]
    if not _cacheable_request():
        return None
    key = f"{get_locale()}|{request.url}"
    page, generation = cache.lookup(key)
    g.page_cache = {"key": key, "generation": generation, "hit": page is not None}
    if page is None:
        return None
    return current_app.response_class(page.body, status=200, content_type=page.content_type)


def _finish_page(response):
    """Set aside a keepable copy of a freshly rendered page, then put the visitor's own
    CSRF token where the placeholder is."""
    state = g.get("page_cache")
    if state is None:
        return response
    response.headers["X-Page-Cache"] = "hit" if state["hit"] else "miss"
    if response.direct_passthrough or response.is_streamed:
        return response
    body = response.get_data()
    if (not state["hit"] and state["generation"] is not None and response.status_code == 200
            and response.mimetype == "text/html" and not session.modified and "Set-Cookie" not in response.headers):
        state["body"] = body
    if PLACEHOLDER.encode() in body:
        from flask_wtf.csrf import generate_csrf

        response.set_data(body.replace(PLACEHOLDER.encode(), generate_csrf().encode()))
        state["token_given"] = True
    return response


def _keep_page(sender, response, **extra):
    """Keep the copy once the answer is final: only if nothing but the session that our
    token placement started sets a cookie."""
    state = g.get("page_cache")
    if not state or "body" not in state:
        return
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = current_app.config["SESSION_COOKIE_NAME"] + "="
    if cookies and not (state.get("token_given") and all(c.startswith(session_cookie) for c in cookies)):
        return
    current_app.extensions["page_cache"].keep(state["key"], state["generation"], response.content_type,
                                              state["body"])
