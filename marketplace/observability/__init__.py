"""What operators see of a running app: the reverse proxy's client address, a request id
on every log line, JSON logs, and Prometheus metrics at /metrics.

`init_app(app)` wires all of it; docs/deploy.md shows how each part is used.
"""
from . import exposition, logs, metrics, proxy, request_log


def init_app(app):
    proxy.install(app)
    logs.configure(app)
    request_log.init_app(app)
    metrics.init_app(app)
    exposition.init_app(app)
