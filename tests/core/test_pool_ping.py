"""Pooled connections are pinged before use only after sitting idle, and a dead one is
replaced before a request uses it."""
from sqlalchemy import create_engine, text

from marketplace.core.pool_ping import ping_after_idle


def _engine(tmp_path, idle_seconds, pings):
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.sqlite'}")
    ping_after_idle(engine, idle_seconds)
    real = engine.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(dbapi_connection)
        return real(dbapi_connection)

    engine.dialect.do_ping = counting
    return engine


def _use(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar_one()


def test_a_connection_back_a_moment_ago_is_not_pinged(tmp_path):
    pings = []
    engine = _engine(tmp_path, 3600, pings)
    for _ in range(3):
        assert _use(engine) == 1
    assert pings == []


def test_an_idle_connection_is_pinged(tmp_path):
    pings = []
    engine = _engine(tmp_path, 0, pings)  # every connection counts as idle
    _use(engine)
    assert pings == []  # a new connection needs no ping
    _use(engine)
    _use(engine)
    assert len(pings) == 2


def test_a_dead_idle_connection_is_replaced_before_use(tmp_path):
    engine = _engine(tmp_path, 0, [])
    with engine.connect() as conn:
        first = conn.connection.dbapi_connection
    first.close()  # died in the pool (the server restarted)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert conn.connection.dbapi_connection is not first


def test_the_app_pings_idle_connections_instead_of_every_checkout(app):
    assert not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")
    assert app.config["DB_PING_AFTER_IDLE_SECONDS"] > 0
