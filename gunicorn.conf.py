"""gunicorn settings for the marketplace (gunicorn reads ./gunicorn.conf.py by itself).

Two services run from this one file, chosen by GUNICORN_ROLE (docs/deploy.md):

    GUNICORN_ROLE=pages  gunicorn        # pages, forms, the JSON API: gthread, 127.0.0.1:8000
    GUNICORN_ROLE=events gunicorn        # live-room event streams and host controls: gevent, 127.0.0.1:8001

The reverse proxy sends /api/v1/livestreams/<id>/events, and the host's start / end / pin
(so a pin never queues behind a flash sale's checkouts), to `events` and all else to
`pages`. Why two pools and not one: an event stream holds its connection for as long
as the viewer watches. In a gthread worker that is a whole thread, so 2 workers x 4
threads would be full with 8 viewers and the pages behind them would wait. A gevent
worker holds thousands of idle streams, but in a gevent pool for everything, every
page render runs on the same hub as the streams (a slow page delays every viewer's
pins in that worker), page concurrency is bounded only by worker_connections rather
than by the database pool, and recycling a worker (max_requests, deploys) would cut
thousands of streams at once. Separate, each pool gets the settings it needs and
scales on its own measure (CPU for pages, open streams for events). GUNICORN_ROLE=all
is the single gevent pool, for a small one-host install; bench/run_process_model.py
measures both layouts.

Every setting can be changed from the environment (below) or the command line, which
wins over this file. WEB_CONCURRENCY sets the number of workers of the service started.
"""
import os
import shutil
import tempfile


def _int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


ROLE = os.environ.get("GUNICORN_ROLE", "pages")
ROLES = {
    # CPU-bound page rendering: about one worker per core, a few threads each to overlap
    # database waits. threads stay below the SQLAlchemy pool (5 + 10 overflow) per worker.
    "pages": {"worker_class": "gthread", "workers": max(2, _cpus()), "bind": "127.0.0.1:8000",
              "max_requests": 10_000, "graceful_timeout": 30},
    # Long-lived, mostly idle streams: gevent, up to worker_connections streams per worker.
    # max_requests 0: recycling would drop every viewer of the worker at once.
    # worker_connections 2500: two workers hold a 2,000-viewer room with room to spare when
    # the kernel hands new connections unevenly to the workers (gevent's 1,000 would be full
    # at exactly 2,000); an idle stream costs about 60 kB of a worker (docs/benchmarks.md).
    "events": {"worker_class": "gevent", "workers": max(2, _cpus() // 2), "bind": "127.0.0.1:8001",
               "max_requests": 0, "graceful_timeout": 10, "worker_connections": 2500},
    # one gevent pool for pages and streams (small installs)
    "all": {"worker_class": "gevent", "workers": max(2, _cpus()), "bind": "127.0.0.1:8000",
            "max_requests": 0, "graceful_timeout": 10},
}
if ROLE not in ROLES:
    raise RuntimeError(f"GUNICORN_ROLE must be one of {', '.join(ROLES)}, not {ROLE!r}")
_role = ROLES[ROLE]

wsgi_app = "wsgi:app"
proc_name = f"marketplace-{ROLE}"
bind = [a.strip() for a in os.environ.get("GUNICORN_BIND", _role["bind"]).split(",")]
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", _role["worker_class"])
workers = _int("WEB_CONCURRENCY", _role["workers"])
threads = _int("GUNICORN_THREADS", 4)  # gthread only
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", _role.get("worker_connections", 1000))  # gevent: open streams
# Each worker makes its own app: its own database pool and its own Redis listener
# thread for live rooms. A thread started in the master would not survive fork().
preload_app = False

# A worker that does not check in for `timeout` seconds is killed and replaced (a
# gevent worker checks in between greenlets, so a request hogging the CPU that long
# counts as hung). On SIGTERM a worker stops accepting and gets `graceful_timeout`
# to finish what it serves; event streams never finish, so they get less.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", _role["graceful_timeout"])
# longer than the proxy's upstream keepalive_timeout (nginx example: 60s), so the
# proxy never reuses a connection gunicorn is closing
keepalive = _int("GUNICORN_KEEPALIVE", 65)
# Recycle a worker after this many requests (plus up to 10% at random, so they do not
# all restart together): bounds memory growth from fragmentation or a leak.
max_requests = _int("GUNICORN_MAX_REQUESTS", _role["max_requests"])
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 10)

# Trust X-Forwarded-Proto (https) only from the proxy's address. The app's own
# ProxyFix (PROXY_FIX=number of proxies) takes the client address and host.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
limit_request_line = 8190
limit_request_fields = 100

# Logs: gunicorn's own messages to stderr (JSON too when the app logs JSON); the app
# writes one access line per request with its request id, so gunicorn's is off unless
# GUNICORN_ACCESS_LOG names a file ("-": stdout).
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
_json_logs = os.environ.get("LOG_FORMAT", "json" if os.environ.get("MARKETPLACE_CONFIG", "production")
                            == "production" else "text") == "json"

# gunicorn's control socket (gunicornc) defaults to one path per user: two services
# on a host would fight over it. Off unless GUNICORN_CONTROL_SOCKET names a path.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or None
control_socket_disable = control_socket is None


# --- JSON for gunicorn's own log lines ----------------------------------------------

def _json_logger_class():
    from gunicorn.glogging import Logger
    from pythonjsonlogger.json import JsonFormatter

    class JsonLogger(Logger):
        """gunicorn's logger, formatting its lines as the app does (LOG_FORMAT=json)."""

        def setup(self, cfg):
            super().setup(cfg)
            formatter = JsonFormatter(["levelname", "name", "message", "process"], timestamp="time",
                                      rename_fields={"levelname": "level", "name": "logger"})
            for handler in self.error_log.handlers:
                handler.setFormatter(formatter)

    return JsonLogger


if _json_logs:
    logger_class = _json_logger_class()



def post_worker_init(worker):
    """The worker has built its app: move everything made so far (modules, the app, compiled
    templates and SQL) out of the garbage collector's sight. A full collection otherwise
    walks those hundreds of thousands of objects again and again (0.4 s each, measured in
    the flash sale, docs/benchmarks.md) although they live as long as the worker."""
    import gc

    gc.collect()
    gc.freeze()

# --- Prometheus: one metrics directory per master, summed at /metrics -------------------
# prometheus_client reads PROMETHEUS_MULTIPROC_DIR when it is imported, which happens in
# each worker (preload_app is off) after on_starting has set it.

_OWN_METRICS_DIR = os.path.join(tempfile.gettempdir(), f"{proc_name}-metrics-")


def on_starting(server):
    """A new master (before any worker): the workers' metrics directory, which they
    inherit through the environment; samples of a previous run must not be summed in."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=os.path.basename(_OWN_METRICS_DIR))
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def child_exit(server, worker):
    """A worker ended: its gauges of live things (open streams) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the directory if on_starting made it (also after reloads, which re-read this file)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if path.startswith(_OWN_METRICS_DIR):
        shutil.rmtree(path, ignore_errors=True)
