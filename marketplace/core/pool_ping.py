"""Check a pooled database connection before use when it has been idle a while.

SQLAlchemy's pool_pre_ping runs `SELECT 1` every time a connection leaves the pool:
one more round trip for every request, about an eighth of a flash-sale checkout's
time (docs/benchmarks.md). What the ping guards against is a connection that died
while it sat in the pool (a database restart, a failover, an idle timeout on the
way). A connection given back less than PING_AFTER_IDLE_SECONDS ago was working then;
one idle longer is pinged as before, and a dead one is replaced before the request
uses it. Should the database go away within that second, the request that meets the
dead connection gets the 503 of web.database_unavailable and SQLAlchemy invalidates
the whole pool at once (a disconnect error), so the requests after it reconnect.
"""
import time

from sqlalchemy import event, exc

#: a connection idle at least this long (seconds) is pinged before use
DEFAULT_IDLE_SECONDS = 1.0
_RETURNED = "marketplace_returned_at"


def ping_after_idle(engine, idle_seconds: float = DEFAULT_IDLE_SECONDS) -> None:
    """Install the check on `engine` (instead of pool_pre_ping)."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, proxy):
        returned = record.info.pop(_RETURNED, None)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # new, or back in the pool only a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            # the pool throws this connection away and hands out another (a new one
            # for the whole pool: if one died with the server, they all did)
            raise exc.InvalidatePoolError(f"a connection idle {time.monotonic() - returned:.0f} s was dead") from err
