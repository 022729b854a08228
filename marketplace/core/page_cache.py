"""Whole-page cache for anonymous storefront visitors.

A GET of a storefront page (CACHED_ENDPOINTS) from a visitor without a session
(or whose session holds only a CSRF token: core.page_tokens), remember cookie or
Authorization header is answered from the cache when a
fresh copy is there, else rendered and kept. The key is the path with its query,
the visitor's Accept-Language (such a visitor has no stored language choice) and
Accept-Encoding: a page without a form is kept as sent, compressed the way that
header asked for (core/compression.py), so a hit costs no compression.
Only 200 text/html answers that set no cookie and changed no session are kept: a
page with a flash, a login or anything else per visitor never goes in. Hits are
answered by a WSGI middleware before Flask runs (ServeStoredPages).

A copy is fresh for PAGE_CACHE_SECONDS (default 5) and while the generation it was
made at is current: catalog.changes bumps the generation when a commit touches
what these pages show (products, their price or stock, photos, cooperatives, live
shows, benefit links), so this process never serves a stale price; with the
in-process backend other processes may, for at most PAGE_CACHE_SECONDS; with Redis
(REDIS_URL) the generation and the pages are shared by every process.

Forms on cached pages: the product page's "Add to cart" needs a CSRF token. While
a cacheable page renders, csrf_token() writes a placeholder; the copy keeps the
placeholder. The visitor who rendered it gets their token from Flask-WTF on the way
out; every later visitor gets the copy from the middleware with a token of their own
and the session cookie that holds it, made as Flask-WTF and Flask make them
(core.page_tokens), without running Flask. PAGE_CACHE_SECONDS=0 turns the cache off;
it is off in tests unless a test turns it on.
"""
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from blinker import Namespace
from flask import current_app, g, request, request_finished, session
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_cookie

from .page_tokens import TokenFiller

log = logging.getLogger("marketplace.page_cache")

#: the pages every anonymous visitor sees alike
CACHED_ENDPOINTS = frozenset({"catalog.home", "catalog.catalog", "catalog.product", "coops.index", "coops.show"})
PLACEHOLDER = "__page-cache-csrf-token__"
DEFAULT_SECONDS = 5.0
DEFAULT_MAX_BYTES = 32 * 1024 * 1024  #: in-process backend: pages kept per process, least recently used go
ENVIRON_KEY = "marketplace.page_cache"  #: the middleware's verdict, for the Flask side
SESSION_TOKEN = "marketplace.page_cache.token"  #: the raw CSRF token of a token-only session
#: headers that belong to one answer, never to the stored page
PER_ANSWER_HEADERS = frozenset({"set-cookie", "date", "server", "content-length", "x-request-id", "x-page-cache",
                                "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"})
#: ... and of a page with a token placeholder (kept uncompressed: page_tokens encodes each answer)
ENCODED_ANSWER_HEADERS = PER_ANSWER_HEADERS | {"content-encoding", "etag"}
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")
#: sent (sender: the app, environ=...) for every answer the middleware gives from the cache
served_from_cache = Namespace().signal("page-served-from-cache")


@dataclass
class Page:
    generation: int
    headers: list  #: [(name, value)] of the answer, without PER_ANSWER_HEADERS
    body: bytes
    expires: float = 0.0  #: time.monotonic(); the Redis backend lets Redis expire keys
    needs_token: bool = field(init=False)

    def __post_init__(self):
        self.needs_token = PLACEHOLDER.encode() in self.body


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
        head, body = raw.split(b"\n", 1)
        meta = json.loads(head)
        return Page(meta["generation"], [tuple(h) for h in meta["headers"]], body), generation

    def put(self, key, page: Page, seconds: float):
        import redis

        head = json.dumps({"generation": page.generation, "headers": page.headers}, ensure_ascii=True)
        value = head.encode() + b"\n" + page.body
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

    def keep(self, key, generation, headers, body):
        # Stored under the generation read before rendering: if a change was committed
        # meanwhile, the copy is already stale and is never served.
        self.backend.put(key, Page(generation, headers, body), self.seconds)

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
    cache = app.extensions["page_cache"] = PageCache(backend, seconds)
    real_csrf_token = app.jinja_env.globals["csrf_token"]

    def csrf_token():
        return PLACEHOLDER if g.get("page_cache") else real_csrf_token()

    # Flask-WTF offers csrf_token() both ways; a later context processor wins
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
    app.before_request(_mark_cacheable)
    app.after_request(_finish_page)
    request_finished.connect(_keep_page, app)
    app.wsgi_app = ServeStoredPages(app.wsgi_app, app, cache)


def invalidate():
    """Every cached page of the current app is stale (catalog.changes calls this on commit)."""
    cache = current_app.extensions.get("page_cache")
    if cache is not None:
        cache.invalidate()


class ServeStoredPages:
    """WSGI middleware in front of the app. It decides whether a request may be served
    from the cache (see the module's docstring), and answers it with a fresh stored page
    without entering Flask at all: no request context, hooks, locale or database, which
    makes a hit nearly as cheap as a bare "hello world"; a page with a form gets the
    visitor's own CSRF token and session cookie (core.page_tokens). Such hits skip the
    app's access log and request metrics (connect to `served_from_cache` to count them).
    Otherwise it passes the request on with its key in the environ (ENVIRON_KEY)."""

    def __init__(self, wsgi_app, flask_app, cache):
        self.wsgi_app, self.flask_app, self.cache = wsgi_app, flask_app, cache
        config = flask_app.config
        self.session_cookie = config["SESSION_COOKIE_NAME"]
        self.remember_cookie = config.get("REMEMBER_COOKIE_NAME", "remember_token")
        self.tokens = TokenFiller(flask_app, PLACEHOLDER.encode())

    def __call__(self, environ, start_response):
        key = self.key_for(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        page, generation = self.cache.lookup(key)
        if page is None:
            environ[ENVIRON_KEY] = {"key": key, "generation": generation}
            return self.wsgi_app(environ, start_response)
        headers, body = page.headers, page.body
        if page.needs_token:
            extra, body = self.tokens.answer(environ, page, environ.get(SESSION_TOKEN))
            headers = headers + extra
        start_response("200 OK", headers + [("Content-Length", str(len(body))), ("X-Page-Cache", "hit"),
                                            ("X-Request-ID", _request_id(environ))])
        if served_from_cache.receivers:
            served_from_cache.send(self.flask_app, environ=environ)
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def key_for(self, environ):
        """The cache key of a request that may be served from the cache, else None: the
        visitor's Accept-Language (their only say in the locale: they have no account,
        and no session beyond a CSRF token), their Accept-Encoding (the copy is kept
        compressed as they asked) and the path with its query. The host is left out on
        purpose: pages link with relative URLs, and a forged Host header must not make
        its own copy."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
            return None
        query = environ.get("QUERY_STRING", "")
        if "lang=" in query:
            return None
        try:
            endpoint, _ = self.flask_app.url_map.bind_to_environ(environ).match()
        except HTTPException:
            return None
        if endpoint not in CACHED_ENDPOINTS:
            return None
        cookies = environ.get("HTTP_COOKIE")
        if cookies:
            names = parse_cookie(cookies)
            if self.remember_cookie in names:
                return None
            if self.session_cookie in names:  # served alike only if it holds nothing but a token
                environ[SESSION_TOKEN] = self.tokens.session_token(environ)
                if environ[SESSION_TOKEN] is None:
                    return None
        path = environ.get("HTTP_X_FORWARDED_PREFIX", "") + environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        return (f"{environ.get('HTTP_ACCEPT_LANGUAGE', '')[:200]}|{environ.get('HTTP_ACCEPT_ENCODING', '')[:100]}"
                f"|{path}?{query}")


def _request_id(environ):
    """The proxy's X-Request-ID when sane, else a new one (as the app's own answers do)."""
    given = environ.get("HTTP_X_REQUEST_ID")
    return given if given and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _mark_cacheable():
    """In Flask: a request the middleware found no fresh copy for renders its page with
    the token placeholder (csrf_token above), so that the page can be kept."""
    state = request.environ.get(ENVIRON_KEY)
    if state is not None and request.endpoint in CACHED_ENDPOINTS:
        g.page_cache = state


def _finish_page(response):
    """Set aside a keepable copy of a freshly rendered page, then put the visitor's own
    CSRF token where the placeholder is."""
    state = g.get("page_cache")
    if state is None:
        return response
    response.headers["X-Page-Cache"] = "miss"
    if response.direct_passthrough or response.is_streamed:
        return response
    body = response.get_data()
    if (state["generation"] is not None and response.status_code == 200 and response.mimetype == "text/html"
            and not session.modified and "Set-Cookie" not in response.headers):
        state["body"] = body
    if PLACEHOLDER.encode() in body:
        from flask_wtf.csrf import generate_csrf

        response.set_data(body.replace(PLACEHOLDER.encode(), generate_csrf().encode()))
        state["token_given"] = True
    return response


def _keep_page(sender, response, **extra):
    """Keep the copy once the answer is final: only if nothing but the session that our
    token placement started sets a cookie. Headers of this answer alone stay out."""
    state = g.get("page_cache")
    if not state or "body" not in state:
        return
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = current_app.config["SESSION_COOKIE_NAME"] + "="
    if cookies and not (state.get("token_given") and all(c.startswith(session_cookie) for c in cookies)):
        return
    body, dropped = state["body"], PER_ANSWER_HEADERS
    if "Content-Encoding" in response.headers:
        if PLACEHOLDER.encode() in body or response.status_code != 200:
            dropped = ENCODED_ANSWER_HEADERS  # kept plain; page_tokens encodes each visitor's copy
        else:
            body = response.get_data()  # as compressed for this key's Accept-Encoding
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in dropped]
    current_app.extensions["page_cache"].keep(state["key"], state["generation"], headers, body)
