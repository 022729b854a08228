"""Private servers for the fault tests, which stop and restart them: a PostgreSQL
cluster of its own (initdb in a temp dir, a free loopback port) and a Redis server of
its own (tests/multiprocess/test_redis_outage.py's `own_redis`). The machine's shared
PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL) are never stopped.

The server processes themselves (gunicorn, `flask worker`) come from
tests/multiprocess/conftest.py: `server_env`, `start_process`, `start_gunicorn`.
"""
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest
from flask_migrate import upgrade

from marketplace.extensions import db
from tests.multiprocess.conftest import free_port, server_env, start_gunicorn, start_process  # noqa: F401
from tests.multiprocess.test_redis_outage import own_redis  # noqa: F401 - the fixture
from tests.payments.conftest import localstripe  # noqa: F401 - the fixture server_env needs

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def _as_postgres_user():
    """PostgreSQL refuses to run as root: under root (CI), run its programs as `postgres`."""
    if os.geteuid() != 0:
        return None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no `postgres` user to run a private PostgreSQL as")

    def switch():
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return switch, user


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<port>; `stop`, `start` and `restart`
    are pg_ctl's, in fast mode (open transactions are rolled back, clients cut off)."""

    def __init__(self, folder, port, switch_user):
        self.folder, self.port, self._switch = folder, port, switch_user
        self.data = os.path.join(folder, "data")
        self.log_path = os.path.join(folder, "postgres.log")
        self.url = f"postgresql://postgres@127.0.0.1:{port}/flash"

    def _run(self, program, *args, timeout=120):
        subprocess.run([os.path.join(PG_BIN, program), *args], check=True, preexec_fn=self._switch,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)

    def create(self):
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "flash")

    def _pg_ctl(self, action, *extra):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
        self._run("pg_ctl", action, "-D", self.data, "-l", self.log_path, "-w", "-t", "60", "-o", options, *extra)

    def start(self):
        self._pg_ctl("start")

    def stop(self):
        self._pg_ctl("stop", "-m", "fast")

    def restart(self):
        self._pg_ctl("restart", "-m", "fast")

    def destroy(self):
        try:
            self._pg_ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres(app_factory, server_env):  # noqa: F811 - server_env is the fixture imported above
    """A PostgreSQL of this test's own with the schema migrated, and an app (context pushed
    by the test) on it: `with private_postgres.app.app_context(): ...`."""
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        pytest.skip(f"PostgreSQL's programs are not in {PG_BIN} (apt-get install postgresql, or set PG_BIN)")
    switch, user = _as_postgres_user()
    folder = tempfile.mkdtemp(prefix="faults-pg-")
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    server = PrivatePostgres(folder, free_port(), switch)
    try:
        server.create()
        server.app = app_factory(SQLALCHEMY_DATABASE_URI=server.url)
        with server.app.app_context():
            upgrade()
            db.session.remove()
        yield server
    finally:
        server.destroy()
