"""Small per-process caches of catalog figures that are costly and may lag a little.

The total behind "1,234 products" and the province list of the filter form cost a
scan of every visible product; a catalog page shows them on every view, yet a
product appearing in them a minute late does no harm. They are kept here for
CATALOG_MEMO_SECONDS (default 60) per app and per process, and emptied as soon as
this process commits a change to products or cooperatives (catalog.changes), so
whoever made the change sees it at once.
"""
import threading
import time

from flask import current_app

DEFAULT_SECONDS = 60
MAX_ENTRIES = 1000  #: filter combinations kept; the oldest goes first


class Memo:
    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES):
        self.seconds, self.max_entries = seconds, max_entries
        self._values: dict = {}  # key -> (value, expires at); dicts keep insertion order
        self._lock = threading.Lock()

    def get(self, key, compute):
        """The cached value of `key`, or compute() (then kept) when missing or expired."""
        now = time.monotonic()
        with self._lock:
            hit = self._values.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        value = compute()
        if self.seconds > 0:
            with self._lock:
                self._values.pop(key, None)
                self._values[key] = (value, now + self.seconds)
                while len(self._values) > self.max_entries:
                    self._values.pop(next(iter(self._values)))
        return value

    def clear(self):
        with self._lock:
            self._values.clear()


def catalog_memo() -> Memo:
    """The current app's memo (one per app, so test apps never share figures)."""
    memo = current_app.extensions.get("catalog_memo")
    if memo is None:
        memo = current_app.extensions.setdefault(
            "catalog_memo", Memo(current_app.config.get("CATALOG_MEMO_SECONDS", DEFAULT_SECONDS)))
    return memo
