"""In-process rate-limit counters that expire without a timer thread.

limits' MemoryStorage starts a `threading.Timer` on every hit that finds the last one
finished (10 ms later), only to drop expired keys. Under a flash-sale crowd that is a
new thread for nearly every checkout: about an eighth of a checkout's CPU
(docs/benchmarks.md). The counts do not need it: `get()` already drops an expired key
when it is read, so a key is never counted past its window. What the thread did
besides is free the memory of keys nobody asks for again; here the hit that comes
after SWEEP_SECONDS does that, in the request, instead of a thread.

Used where Redis is not configured (REDIS_URL): `RATELIMIT_STORAGE_URI=inline-memory://`.
With Redis the counts are shared by every process and this class is not involved.
"""
import threading
import time

from limits.storage import MemoryStorage

#: how often a hit also drops the expired keys of every client
SWEEP_SECONDS = 1.0


class InlineMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["inline-memory"]  # registered with limits by defining the class

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        self._sweep_lock = threading.Lock()

    # MemoryStorage calls its private __schedule_expiry on every hit (name-mangled)
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()
        finally:
            self._sweep_lock.release()
