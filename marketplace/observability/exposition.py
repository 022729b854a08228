"""GET /metrics in Prometheus' text format, for the scraper only.

Access: from the networks in METRICS_ALLOW (default: loopback), or with
`Authorization: Bearer $METRICS_TOKEN`. Behind a proxy, set PROXY_FIX so the
address checked is the client's and not the proxy's (otherwise every request
through the proxy would look like loopback), and deny /metrics at the proxy too.

Job queue depth is read from Redis at scrape time, so it is the same whichever
worker answers.
"""
import hmac
import ipaddress
import os

from flask import Response, abort, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector


def parse_networks(value: str | None) -> tuple:
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in (value or "").split(",") if part.strip())
    except ValueError as err:
        raise RuntimeError(f"METRICS_ALLOW must list networks such as 10.0.0.0/8: {err}") from None


def init_app(app):
    app.extensions["metrics_allow"] = parse_networks(app.config.get("METRICS_ALLOW"))
    app.add_url_rule("/metrics", "metrics", metrics)


def may_read_metrics() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in current_app.extensions["metrics_allow"])


def metrics():
    if not may_read_metrics():
        abort(403)
    registry = CollectorRegistry()
    _collect_app(registry)
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        registry.register(QueueCollector(_redis(redis_url)))
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type, headers={"Cache-Control": "no-store"})


class _ThisProcess:
    """This process's own registry (metrics, and the process and GC collectors)."""

    def collect(self):
        return REGISTRY.collect()


def _collect_app(registry):
    """All workers' samples under gunicorn; this process's otherwise."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())


def _redis(url):
    client = current_app.extensions.get("metrics_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        current_app.extensions["metrics_redis"] = client
    return client


class QueueCollector:
    """RQ queue lengths, read when scraped."""

    def __init__(self, connection):
        self.connection = connection

    def collect(self):
        from redis import RedisError
        from rq import Queue

        depth = GaugeMetricFamily("marketplace_job_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"])
        failed = GaugeMetricFamily("marketplace_jobs_failed", "Jobs in each RQ queue's failed registry",
                                   labels=["queue"])
        up = GaugeMetricFamily("marketplace_job_queue_up", "1 when Redis answered this scrape, else 0")
        try:
            for queue in self.queues(Queue):
                depth.add_metric([queue.name], queue.count)
                failed.add_metric([queue.name], queue.failed_job_registry.count)
            up.add_metric([], 1)
        except RedisError:
            up.add_metric([], 0)
        yield from (depth, failed, up)

    def queues(self, queue_class):
        """The app's queues (reported even while empty) and any other queue rq knows."""
        from ..jobs.queue import QUEUES

        names = set(QUEUES) | {q.name for q in queue_class.all(connection=self.connection)}
        return [queue_class(name, connection=self.connection) for name in sorted(names)]
