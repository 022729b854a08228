"""Rendered product cards, kept by what they show.

A catalog page shows 24 cards; rendering them through the Jinja macro (an image URL,
the price, the province in the visitor's language, a few translated words) was most
of the page's cost. Pages that render for everyone (a logged-in buyer's catalog, the
first view after a change) reuse a card's HTML when nothing it shows has changed.

The key is the card's content, not a version number: the product's id, updated_at
and every field the card shows (title, unit, price, photo, surplus, sold out, the
cooperative's province), plus the language and the URL prefix. Whatever changes one
of them, in this process or another, through the ORM, a checkout's guarded UPDATE or
raw SQL, makes a new key, so a kept card never shows a stale price. Entries also
expire after FRAGMENT_CACHE_SECONDS (default 300), which bounds anything else a card
depends on (a presigned S3 image link stays valid for at least half of
S3_PRESIGN_SECONDS, see core.storage), and the least recently used go beyond
FRAGMENT_CACHE_MAX_BYTES (default 16 MB per process). Commits that change the storefront empty the cache of this
process anyway (catalog.changes), so memory is not held by superseded cards.

`cached_fragment` does the same for any block of a template whose view computes a key
of everything the block shows (the catalog page's listing: catalog.views).

Keep CARD_FIELDS and catalog.cards.CARD_COLUMNS in step with the `product_card` macro
(templates/macros.html): tests/catalog/test_fragments.py changes each of them and
checks the pages.
"""
import threading
import time
from collections import OrderedDict

from flask import current_app, has_request_context, request
from flask_babel import get_locale
from markupsafe import Markup

from .cards import Card

DEFAULT_SECONDS = 300.0
DEFAULT_MAX_BYTES = 16 * 1024 * 1024  #: per process: ~30,000 cards, or ~2,500 product pages
#: what the product_card macro shows of a product
CARD_FIELDS = ("id", "updated_at", "title", "unit", "price_fen", "cover_key", "surplus")


class FragmentCache:
    """key -> (Markup, expires at), least recently used dropped beyond max_bytes of HTML."""

    def __init__(self, seconds=DEFAULT_SECONDS, max_bytes=DEFAULT_MAX_BYTES):
        self.seconds, self.max_bytes, self.size = seconds, max_bytes, 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, render):
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[1] > now:
                self._items.move_to_end(key)
                return hit[0]
        html = Markup(render())
        if self.seconds > 0:
            with self._lock:
                old = self._items.pop(key, None)
                self.size += len(html) - (len(old[0]) if old else 0)
                self._items[key] = (html, now + self.seconds)
                while self.size > self.max_bytes and self._items:
                    self.size -= len(self._items.popitem(last=False)[1][0])
        return html

    def clear(self):
        with self._lock:
            self._items.clear()
            self.size = 0


def fragment_cache(app=None) -> FragmentCache:
    """The app's cache (one per app, so test apps never share cards)."""
    app = app or current_app
    cache = app.extensions.get("fragment_cache")
    if cache is None:
        cache = app.extensions.setdefault("fragment_cache", FragmentCache(
            float(app.config.get("FRAGMENT_CACHE_SECONDS", DEFAULT_SECONDS)),
            int(app.config.get("FRAGMENT_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))))
    return cache


def card_key(product) -> tuple:
    """Everything the card of `product` shows (its cooperative must be loaded). A Card
    (catalog.cards) is its own key: it holds only what a card shows, and updated_at."""
    if type(product) is Card:
        return product
    return (*(getattr(product, name) for name in CARD_FIELDS), product.stock == 0, product.cooperative.province)


def product_cards(products) -> Markup:
    """The <li> cards of `products`, each rendered by the product_card macro or reused.

    A Jinja global: `<ul class="grid">{{ product_cards(products) }}</ul>`."""
    env = current_app.jinja_env
    macro = None
    context = (str(get_locale()), request.script_root if has_request_context() else None)
    cache = fragment_cache()
    parts = []
    for product in products:
        def render(product=product):
            nonlocal macro
            if macro is None:  # the macros module: loaded once and kept by Jinja's template cache
                macro = env.get_template("macros.html").module.product_card
            return macro(product)
        parts.append(cache.get(("card", *context, *card_key(product)), render))
    return Markup("".join(parts))


def cached_fragment(*key, caller):
    """A Jinja call block kept by `key`, which must hold everything the block shows
    beyond the language and URL prefix (added here):
    `{% call cached_fragment("name", what, it, shows) %}...{% endcall %}`."""
    if not has_request_context():  # (a template rendered for a mail or a job)
        return caller()
    return fragment_cache().get((*key, str(get_locale()), request.script_root), caller)


def init_app(app):
    app.jinja_env.globals["product_cards"] = product_cards
    app.jinja_env.globals["cached_fragment"] = cached_fragment
